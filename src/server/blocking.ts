/**
 * Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...), as Redis does them:
 * a client that finds nothing to pop is suspended on its keys; a write that
 * makes one of those keys non-empty calls db.signalReady(key); after that
 * command (or after EXEC) completes, the clients blocked on ready keys are
 * served in FIFO order, each through its command's own `serve` function.
 *
 * Families use `blockOnKeys`; nothing else here is their concern.
 */
import type { Client } from './client.js';
import type { CommandContext } from './context.js';
import type { Database } from '../keyspace/db.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Reply } from '../protocol/reply.js';
import type { Server } from './server.js';
import { errorStats } from './error-stats.js';
import { failedCall } from './dispatch.js';
import type { CommandSpec } from '../commands/spec.js';
import { slowlogPush, slowlogSettings } from './slowlog.js';
import { trackingActive, trackingServing } from './tracking.js';

/** Try to serve the blocked client from key; write its reply to r and return true if served. */
export type ServeFn = (r: Reply, db: Database, key: string) => boolean;

interface Blocked {
  client: Client;
  db: Database;
  keys: string[];
  serve: ServeFn;
  timer: NodeJS.Timeout | null;
  /** Reply on timeout (default: null array). */
  onTimeout: (r: Reply) => void;
  /** The blocking command, for the slow log once it is answered (as Redis's updateStatsOnUnblock). */
  spec: CommandSpec | null;
  args: string[] | null;
  /** Microseconds the call took before it blocked. */
  callUs: number;
}

/** db -> key -> FIFO of blocked clients */
const waiting = new Map<Database, Map<string, Blocked[]>>();
const byClient = new Map<Client, Blocked>();
let ready: { db: Database; key: string }[] = [];
const readySet = new Set<string>();

export function installBlocking(ks: Keyspace): void {
  ks.keyReady = (db, key) => {
    // Every write to a list, zset or stream comes here: nobody blocked is one load.
    if (waiting.size === 0) return;
    const m = waiting.get(db);
    if (m === undefined || !m.has(key)) return;
    const id = db.id + '\0' + key;
    if (readySet.has(id)) return;
    readySet.add(id);
    ready.push({ db, key });
  };
  ks.blockedKeys = blockedKeysOf;
}

/**
 * Suspend the current client until `serve` succeeds on one of keys, or
 * timeoutMs passes (0 = forever). The handler must have checked that nothing
 * can be served right now, and must not block inside MULTI/EXEC (see
 * `mayBlock`).
 */
export function blockOnKeys(
  ctx: CommandContext,
  keys: string[],
  timeoutMs: number,
  serve: ServeFn,
  onTimeout: (r: Reply) => void = (r) => r.nullArray(),
): void {
  const client = ctx.client;
  const server = ctx.server;
  const b: Blocked = { client, db: ctx.db, keys: [...new Set(keys)], serve, timer: null, onTimeout, spec: null, args: null, callUs: 0 };
  let m = waiting.get(b.db);
  if (m === undefined) waiting.set(b.db, (m = new Map()));
  for (const k of b.keys) {
    let q = m.get(k);
    if (q === undefined) m.set(k, (q = []));
    q.push(b);
  }
  byClient.set(client, b);
  client.suspended = true;
  client.onClose = () => unregister(b);
  if (timeoutMs > 0) {
    b.timer = setTimeout(() => {
      unregister(b);
      client.send(b.onTimeout);
      answered(b, 0);
      server.resume(client);
    }, timeoutMs);
  }
}

/** False inside EXEC (a blocking command then answers as if it timed out at once). */
export function mayBlock(ctx: CommandContext): boolean {
  return !ctx.client.inExec;
}

function unregister(b: Blocked): void {
  if (b.timer) clearTimeout(b.timer);
  b.timer = null;
  byClient.delete(b.client);
  b.client.onClose = null;
  const m = waiting.get(b.db);
  if (m === undefined) return;
  for (const k of b.keys) {
    const q = m.get(k);
    if (q === undefined) continue;
    const i = q.indexOf(b);
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) m.delete(k);
  }
  if (m.size === 0) waiting.delete(b.db);
}

export function isBlocked(c: Client): boolean {
  return byClient.has(c);
}

export function blockedCount(): number {
  return byClient.size;
}

/** CLIENT UNBLOCK: answer as on timeout, or with an -UNBLOCKED error. */
export function unblockClient(server: Server, c: Client, withError: boolean): boolean {
  const b = byClient.get(c);
  if (b === undefined) return false;
  unregister(b);
  sendCounted(c, (r) => (withError ? r.error('UNBLOCKED client unblocked via CLIENT UNBLOCK') : b.onTimeout(r)));
  server.resume(c);
  return true;
}

/**
 * A blocked client's late answer: an error in it makes its command failed
 * (Redis's updateStatsOnUnblock), though call() has long returned.
 */
function sendCounted(c: Client, write: (r: Reply) => void): void {
  const before = errorStats.total;
  c.send(write);
  if (errorStats.total !== before) failedCall(c.lastCommand);
}

/** Serve clients blocked on keys that became ready; called after each top-level command. */
export function handleReadyKeys(server: Server): void {
  while (ready.length > 0) {
    const batch = ready;
    ready = [];
    readySet.clear();
    for (const { db, key } of batch) {
      const q = waiting.get(db)?.get(key);
      if (q === undefined) continue;
      for (const b of [...q]) {
        let served = false;
        server.ks.tick();
        const t0 = performance.now();
        const answer = () =>
          sendCounted(b.client, (r) => {
            served = b.serve(r, db, key);
          });
        if (trackingActive.on) trackingServing(b.client, answer);
        else answer();
        // Not servable by this client (key emptied, or a type other than the
        // one it waits for): later clients may still be, as in Redis.
        if (!served) continue;
        unregister(b);
        answered(b, (performance.now() - t0) * 1000);
        server.resume(b.client);
      }
    }
  }
}

/**
 * The dispatcher's word that the command it just ran left `c` blocked: the
 * call's arguments and time wait on the record, to be logged when answered.
 * False if c is not blocked on keys (the caller logs the call itself).
 */
export function blockedCall(c: Client, spec: CommandSpec, args: string[], us: number): boolean {
  const b = byClient.get(c);
  if (b === undefined || b.spec !== null) return false;
  b.spec = spec;
  b.args = args;
  b.callUs = us;
  return true;
}

function answered(b: Blocked, serveUs: number): void {
  const us = b.callUs + serveUs;
  if (b.spec !== null && slowlogSettings.slowerThan >= 0 && us >= slowlogSettings.slowerThan) slowlogPush(b.client, b.spec, b.args!, us);
}

export function hasReadyKeys(): boolean {
  return ready.length > 0;
}

/** Keys of db that clients are blocked on (SWAPDB re-checks them against the new contents). */
export function blockedKeysOf(db: Database): string[] {
  return [...(waiting.get(db)?.keys() ?? [])];
}
