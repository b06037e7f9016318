/**
 * Pipelines against a big keyspace: parse a few commands ahead and warm the
 * cache lines their keys will touch before running them (KeyTable.warm).
 *
 * A pipelined batch of GETs or SETs on random keys of a table far larger
 * than the CPU cache costs a chain of dependent misses per command; warming
 * the batch's keys level by level overlaps those misses (Redis 8 and Valkey
 * do the same for their batches, memory_prefetch.c). Only the cache is
 * touched: commands still run one at a time, in order, each seeing what the
 * one before it did.
 *
 * Parsing ahead must not change what a command sees. So it happens only
 * when it can pay (the client's database is big enough for warm() to do
 * anything, the client is authenticated, so the parser's limits cannot
 * change with an AUTH in the batch), and it stops after any command that
 * takes no keys - CONFIG SET of a parser limit, HELLO, SELECT, MULTI and
 * the like run before anything after them is parsed. A protocol
 * error found while reading ahead is held until the commands before it
 * have run, then answered as it would have been.
 */
import { lookup } from '../commands/registry.js';
import { WARM_MAX } from '../keyspace/table.js';
import type { Database } from '../keyspace/db.js';
import type { Client } from './client.js';

/** Keys of the commands read ahead, for one warm() call (reused: the server is single-threaded). */
const keys: string[] = new Array<string>(WARM_MAX).fill('');

/**
 * The client's next command: one read ahead earlier, else the parser's.
 * Throws the parser's ProtocolError in its turn, after the commands before it.
 */
export function nextCommand(c: Client, db: Database): string[] | null {
  const q = c.ahead;
  if (c.aheadPos < q.length) return takeAhead(c);
  if (c.aheadError !== null) {
    const e = c.aheadError;
    c.aheadError = null;
    throw e;
  }
  if (!db.table.warmPays || !c.authenticated) return c.parser.next();
  readAhead(c, db);
  if (c.aheadPos < q.length) return takeAhead(c);
  const e = c.aheadError;
  if (e !== null) {
    c.aheadError = null;
    throw e;
  }
  return null;
}

function takeAhead(c: Client): string[] {
  const q = c.ahead;
  const args = q[c.aheadPos];
  q[c.aheadPos++] = EMPTY;
  if (c.aheadPos === q.length) {
    q.length = 0;
    c.aheadPos = 0;
  }
  return args;
}

const EMPTY: string[] = [];

/** Put back a command taken with nextCommand (CLIENT PAUSE holds it): it runs first when the client resumes. */
export function putBack(c: Client, args: string[]): void {
  if (c.aheadPos > 0) c.ahead[--c.aheadPos] = args;
  else c.ahead.unshift(args);
}

/** Commands read ahead and not yet run, or a held protocol error. */
export function hasAhead(c: Client): boolean {
  return c.aheadPos < c.ahead.length || c.aheadError !== null;
}

function firstMovableKey(getKeys: (args: string[]) => number[], args: string[]): number {
  try {
    const at = getKeys(args);
    return at.length > 0 ? at[0] : -1;
  } catch {
    return -1; // malformed: the command itself will say so when it runs
  }
}

/**
 * Parse up to WARM_MAX of the client's commands into c.ahead and put the
 * first key of each into `into` from `at` on (warm() then reads them);
 * returns the new end of `into`.
 */
export function readAheadKeys(c: Client, into: string[], at: number): number {
  const q = c.ahead;
  let n = at;
  while (q.length < WARM_MAX) {
    let args: string[] | null;
    try {
      args = c.parser.next();
    } catch (e) {
      c.aheadError = e;
      break;
    }
    if (args === null) break;
    q.push(args);
    if (args.length === 0) continue;
    const spec = lookup(args[0]);
    if (spec === undefined || spec.subcommands !== undefined) break;
    let first = spec.keys.first;
    if (first <= 0) {
      // EVALSHA, FCALL, ZUNIONSTORE...: keys wherever their arguments say.
      if (spec.getKeys === undefined) break;
      first = firstMovableKey(spec.getKeys, args);
    }
    if (first > 0 && first < args.length) into[n++] = args[first];
  }
  return n;
}

function readAhead(c: Client, db: Database): void {
  const n = readAheadKeys(c, keys, 0);
  if (n > 1) db.warm(keys, 0, n, 1);
  for (let i = 0; i < n; i++) keys[i] = '';
}

/** Whether this client's next read may be parsed now and run with other clients' (server/ready-batch.ts). */
export function mayBatch(c: Client): boolean {
  return c.db.table.warmPays && c.authenticated && !c.suspended && c.aheadPos >= c.ahead.length && c.aheadError === null;
}
