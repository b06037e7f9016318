/**
 * Transactions family: MULTI EXEC DISCARD WATCH UNWATCH, as Redis 7.0.
 *
 * Queueing itself happens in the dispatcher (it answers +QUEUED and marks
 * the transaction failed when it refuses a command); this file owns the
 * state changes and EXEC. WATCH registers the client in db.watched, so any
 * db.modified(key) — a write, a lazy or active expiry, FLUSHDB/FLUSHALL —
 * sets client.dirtyCas through Client.watchedKeyTouched.
 */
import { ACL_OK, checkCommand, DENIED_CHANNEL, DENIED_CMD, DENIED_KEY } from '../acl/check.js';
import { addLogEntry } from '../acl/log.js';
import { register } from './registry.js';
import { keyAt, cmd, type CommandSpec } from './spec.js';
import { ReplyError } from '../protocol/errors.js';
import { call, transactionHooks } from '../server/dispatch.js';
import type { CommandContext } from '../server/context.js';
import type { Client } from '../server/client.js';
import type { Database } from '../keyspace/db.js';
import { resetHooks } from './connection.js';
import { NOREPLICAS, tooFewReplicas } from '../server/min-replicas.js';

const G = { group: 'transactions' };

const EXECABORT = 'EXECABORT Transaction discarded because of previous errors.';

/** Forget every WATCHed key of c (EXEC, DISCARD, UNWATCH, RESET). */
export function unwatchAll(c: Client): void {
  if (c.watching !== null) {
    for (const [db, keys] of c.watching) {
      for (const k of keys) {
        const ws = db.watched.get(k);
        if (ws === undefined) continue;
        ws.delete(c);
        if (ws.size === 0) db.watched.delete(k);
      }
    }
    c.watching = null;
  }
  c.dirtyCas = false;
}

function discardTransaction(c: Client): void {
  c.multi = null;
  unwatchAll(c);
}

/** True if key is still in the table but logically expired (not yet reclaimed). */
function isStale(db: Database, key: string): boolean {
  // Only a key that is present can have an expiry.
  return !db.isLive(db.table.segmentOf(key), key);
}

function watchKey(ctx: CommandContext, key: string): void {
  const c = ctx.client;
  const db = ctx.db;
  let mine = c.watching?.get(db);
  if (mine?.has(key)) return;
  // A key already expired at WATCH time is watched as absent: reclaim it
  // first (before we listen), so its deletion is not a change we see — as
  // Redis 7.0 treats stale keys ("WATCH stale keys should not fail EXEC").
  if (isStale(db, key)) db.peek(key);
  if (c.watching === null) c.watching = new Map();
  if (mine === undefined) c.watching.set(db, (mine = new Set()));
  mine.add(key);
  let ws = db.watched.get(key);
  if (ws === undefined) db.watched.set(key, (ws = new Set()));
  ws.add(c);
}

/** Redis checks at EXEC whether a watched key expired since WATCH without being reclaimed. */
function watchedKeyExpired(c: Client): boolean {
  if (c.watching === null) return false;
  for (const [db, keys] of c.watching) for (const k of keys) if (isStale(db, k)) return true;
  return false;
}

const EXEC_DENIED: Record<number, string> = {
  [DENIED_CMD]: 'no permission to execute the command or subcommand',
  [DENIED_KEY]: 'no permission to touch the specified keys',
  [DENIED_CHANNEL]: 'no permission to access one of the channels used as arguments',
};

/** A queued command the user may no longer run: answered with Redis's error, logged, not run. */
function execDenied(ctx: CommandContext, spec: CommandSpec, args: string[]): boolean {
  const c = ctx.client;
  const v = checkCommand(c.user, spec, args);
  if (v.res === ACL_OK) return false;
  addLogEntry(c, v.res, 'multi', v.res === DENIED_CMD ? spec.name : args[v.pos], c.user.name);
  ctx.r.error(
    'NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ' +
      (EXEC_DENIED[v.res] ?? 'no permission'),
  );
  return true;
}

function exec(ctx: CommandContext): void {
  const c = ctx.client;
  const m = c.multi;
  if (m === null) throw new ReplyError('ERR EXEC without MULTI');
  if (m.failed) {
    discardTransaction(c);
    throw new ReplyError(EXECABORT);
  }
  if (c.dirtyCas || watchedKeyExpired(c)) {
    discardTransaction(c);
    ctx.r.nullArray();
    return;
  }
  // The server state may have changed since the commands were queued
  // (a failed save now refuses writes; memory is checked by the dispatcher): abort as Redis does.
  const denied = ctx.server.writesDenied ?? (tooFewReplicas() ? NOREPLICAS : null);
  if (denied !== null && m.queue.some((q) => q.spec.flags.includes('write'))) {
    discardTransaction(c);
    throw new ReplyError('EXECABORT Transaction discarded because of: ' + denied);
  }
  // Unwatch first so the transaction's own writes do not mark us dirty.
  discardTransaction(c);
  c.inExec = true;
  try {
    ctx.r.array(m.queue.length);
    // SELECT inside the transaction switches ctx.db for what follows and
    // stays in effect after EXEC, as in Redis.
    for (const q of m.queue) {
      // Permissions may have changed since the command was queued (Redis checks again here).
      if (!c.user.unrestricted && execDenied(ctx, q.spec, q.args)) continue;
      call(ctx, q.spec, q.args);
    }
  } finally {
    c.inExec = false;
    c.lastCommand = 'exec';
  }
}

resetHooks.push((ctx) => discardTransaction(ctx.client));
transactionHooks.discard = discardTransaction;

const T = 'noscript loading stale fast allow_busy';

register(
  cmd('multi', 1, T, [0, 0, 0], 'fast transaction', { ...G, summary: 'Mark the start of a transaction block', since: '1.2.0', complexity: 'O(1)' }, (ctx) => {
    const c = ctx.client;
    if (c.multi !== null) throw new ReplyError('ERR MULTI calls can not be nested');
    c.multi = { queue: [], failed: false };
    ctx.r.ok();
  }),
  cmd('exec', 1, 'noscript loading stale skip_slowlog', [0, 0, 0], 'slow transaction', { ...G, summary: 'Execute all commands issued after MULTI', since: '1.2.0', complexity: 'Depends on commands in the transaction' }, exec),
  cmd('discard', 1, T, [0, 0, 0], 'fast transaction', { ...G, since: '2.0.0', summary: 'Discard all commands issued after MULTI', complexity: 'O(N), when N is the number of queued commands' }, (ctx) => {
    if (ctx.client.multi === null) throw new ReplyError('ERR DISCARD without MULTI');
    discardTransaction(ctx.client);
    ctx.r.ok();
  }),
  cmd(
    'watch',
    -2,
    T,
    [1, -1, 1],
    'fast transaction',
    { ...G, since: '2.2.0', args: [{ name: 'key', type: 'key', multiple: true }], keySpec: keyAt(1, 'RO', undefined, -1, 1), summary: 'Watch the given keys to determine execution of the MULTI/EXEC block', complexity: 'O(1) for every key.' },
    (ctx, args) => {
      if (ctx.client.multi !== null) throw new ReplyError('ERR WATCH inside MULTI is not allowed');
      for (let i = 1; i < args.length; i++) watchKey(ctx, args[i]);
      ctx.r.ok();
    },
  ),
  cmd('unwatch', 1, T, [0, 0, 0], 'fast transaction', { ...G, since: '2.2.0', summary: 'Forget about all watched keys', complexity: 'O(1)' }, (ctx) => {
    unwatchAll(ctx.client);
    ctx.r.ok();
  }),
);
