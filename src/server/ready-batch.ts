/**
 * Clients that one poll found readable run together, after all of them
 * were read, so that their keys can be warmed as one batch (KeyTable.warm).
 *
 * At -P 1 every client brings one command per read, so read-ahead.ts has
 * nothing to batch: each lookup in a table far larger than the CPU cache
 * was a chain of dependent misses, one client after another (at 20M keys
 * the table's misses were a tenth of the server's CPU per request). Valkey
 * batches across clients the same way (memory_prefetch.c). The commands
 * are parsed as they are read (the shared read buffer is only valid then);
 * they run in the check phase of the same turn of the event loop, in the
 * order the clients were read, and their replies go out right after.
 *
 * Only clients whose database is big enough for warm() to pay and which
 * have nothing parsed ahead already take this path (read-ahead.ts mayBatch).
 */
import { WARM_MAX } from '../keyspace/table.js';
import type { Database } from '../keyspace/db.js';
import type { Client } from './client.js';
import { readAheadKeys } from './read-ahead.js';
import { flushHeld } from './write-batch.js';

let clients: Client[] = [];
/** Where each client's keys end in `keys`. */
let ends: number[] = [];
let keys: string[] = [];
/** What runs each client's parsed commands (its server's processInput). */
let runs: ((c: Client) => void)[] = [];
let spare = { clients: [] as Client[], ends: [] as number[], keys: [] as string[], runs: [] as ((c: Client) => void)[] };
let scheduled = false;

/** Parse what c sent; `run` runs it with the other clients read in this turn. */
export function addToBatch(c: Client, run: (c: Client) => void): void {
  const n = readAheadKeys(c, keys, keys.length);
  clients.push(c);
  ends.push(n);
  runs.push(run);
  if (!scheduled) {
    scheduled = true;
    setImmediate(runBatch);
  }
}

function runBatch(): void {
  scheduled = false;
  // Clients read while this batch runs (none: reads happen in the poll phase) start a new one.
  const cs = clients;
  const es = ends;
  const ks = keys;
  const rs = runs;
  clients = spare.clients;
  ends = spare.ends;
  keys = spare.keys;
  runs = spare.runs;
  let failure: { e: unknown } | null = null;
  try {
    let i = 0;
    let from = 0;
    while (i < cs.length) {
      // A group: consecutive clients on one database with at most WARM_MAX keys in all (a client brings at most that many).
      const db: Database = cs[i].db;
      let j = i + 1;
      while (j < cs.length && cs[j].db === db && es[j] - from <= WARM_MAX) j++;
      const to = es[j - 1];
      if (to - from > 1) db.warm(ks, from, to, 1);
      for (let k = i; k < j; k++) {
        const c = cs[k];
        if (c.closing || c.closeAsap) continue;
        // One client's failure must not strand the others' parsed commands: the first error is rethrown at the end.
        try {
          rs[k](c);
        } catch (e) {
          failure ??= { e };
        }
      }
      i = j;
      from = to;
    }
  } finally {
    cs.length = 0;
    es.length = 0;
    ks.length = 0;
    rs.length = 0;
    spare = { clients: cs, ends: es, keys: ks, runs: rs };
    flushHeld();
  }
  if (failure !== null) throw failure.e;
}
