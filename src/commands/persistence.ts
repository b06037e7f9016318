/**
 * Persistence family: SAVE, BGSAVE, LASTSAVE, and FLUSHALL's save.
 *
 * Deliberate difference: Redis's SAVE blocks the whole server until the dump
 * is written. Ours suspends only its own client until the snapshot is
 * durable; the snapshot is the keyspace at the instant SAVE ran (forkless
 * point-in-time), so its content and the reply are what Redis gives, and
 * other clients keep being served meanwhile. A write by another client
 * during that time is simply after the snapshot, as if it had come right
 * after Redis's SAVE returned. What Redis clients could observe is kept:
 * another client's SAVE or BGSAVE waits for it (instead of failing with
 * "already in progress") and INFO shows no bgsave in progress.
 */
import { register } from './registry.js';
import { cmd, NO_KEYS } from './spec.js';
import type { CommandContext } from '../server/context.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import { persistence, type Persistence } from '../persistence/snapshotter.js';
import '../persistence/module.js';
import { fenced, fenceMessage } from '../persistence/fence.js';
import { debugReload } from '../persistence/reload.js';
import { debugSubcommands } from './debug.js';

const G = { group: 'server' };

type Answer = Parameters<CommandContext['client']['send']>[0];

/** Suspend the client until `answer` settles, then send it and go on with its pipeline. */
export function replyLater(ctx: CommandContext, answer: Promise<Answer>): void {
  const c = ctx.client;
  const server = ctx.server;
  c.suspended = true;
  answer
    .then((a) => c.send(a), () => c.send((r) => r.error('ERR')))
    .finally(() => server.resume(c));
}

/**
 * FLUSHALL (after the flush): cancel a background save and, when save rules
 * or a cron schedule are set, answer once the empty dataset is saved, so a
 * restart cannot bring the flushed keys back (Redis saves only for save
 * rules; a cron schedule is our other way of "saving is configured", and it
 * decides the shutdown save too). Inside MULTI the save starts at once and
 * EXEC does not wait for it.
 */
export function flushAllAndReply(ctx: CommandContext): void {
  const pending = persistence()?.afterFlushAll() ?? null;
  if (pending === null || ctx.client.inExec) {
    ctx.r.ok();
    return;
  }
  replyLater(ctx, pending.then(() => (r) => r.ok()));
}

const IN_PROGRESS = 'ERR Background save already in progress';

function get(): Persistence {
  const p = persistence();
  if (p === null) throw new ReplyError(ERR.loading);
  // Every save attempt while fenced gets the reason and the way out.
  if (fenced()) throw new ReplyError(fenceMessage());
  return p;
}

const answerError = (msg: string): Answer => (r) => r.error(msg);

/**
 * SAVE or BGSAVE while a foreground save runs (another client's SAVE,
 * FLUSHALL's): Redis would have kept this client waiting until that save
 * was over, then run the command; so do we.
 */
function afterForeground(ctx: CommandContext, p: Persistence, run: () => Answer | Promise<Answer>): void {
  replyLater(
    ctx,
    p.foregroundDone().then(() => {
      if (p.inProgress) return answerError(IN_PROGRESS);
      if (fenced()) return answerError(fenceMessage());
      return run();
    }),
  );
}

/** A failed SAVE answers -ERR but leaves rdb_last_bgsave_status (and MISCONF) alone, as Redis's rdbSave. */
function save(p: Persistence): Promise<Answer> {
  return p.start('SAVE', 'save').then(
    () => (r) => r.ok(),
    () => answerError('ERR'),
  );
}

function bgsave(p: Persistence): Answer {
  p.start('BGSAVE');
  return (r) => r.simple('Background saving started');
}

register(
  cmd('save', 1, 'admin noscript no_async_loading no_multi', NO_KEYS, 'admin slow dangerous', { ...G, summary: 'Synchronously save the dataset to disk', complexity: 'O(N) where N is the total number of keys in all databases' }, (ctx) => {
    const p = get();
    if (p.backgroundInProgress) throw new ReplyError(IN_PROGRESS);
    if (p.inProgress) return afterForeground(ctx, p, () => save(p));
    replyLater(ctx, save(p));
  }),
  cmd('bgsave', -1, 'admin noscript no_async_loading', NO_KEYS, 'admin slow dangerous', { ...G, summary: 'Asynchronously save the dataset to disk', complexity: 'O(1)', history: [['3.2.2', 'Added the `SCHEDULE` option.']], args: [{ name: 'schedule', type: 'pure-token', token: 'SCHEDULE', since: '3.2.2', optional: true }] }, (ctx, args) => {
    if (args.length > 2 || (args.length === 2 && args[1].toLowerCase() !== 'schedule')) throw new ReplyError(ERR.syntax);
    const p = get();
    if (p.backgroundInProgress) throw new ReplyError(IN_PROGRESS);
    if (ctx.client.inExec) {
      // Redis never starts a save in the middle of EXEC: it runs from cron.
      p.scheduled = true;
      ctx.r.simple('Background saving scheduled');
      return;
    }
    if (p.inProgress) return afterForeground(ctx, p, () => bgsave(p));
    bgsave(p)(ctx.r);
  }),
  cmd('lastsave', 1, 'loading stale fast', NO_KEYS, 'admin fast dangerous', { ...G, tips: ['nondeterministic_output'], summary: 'Get the UNIX time stamp of the last successful save to disk', complexity: 'O(1)' }, (ctx) => {
    const p = persistence();
    ctx.r.int(p?.lastSave ?? Math.floor(ctx.server.stats.startTime / 1000));
  }),
);

/** DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE] (see src/persistence/reload.ts for the differences from Redis). */
debugSubcommands.set('reload', (ctx, args) => {
  const opts = { save: true, flush: true, merge: false };
  for (const a of args.slice(2)) {
    const o = a.toLowerCase();
    if (o === 'merge') opts.merge = true;
    else if (o === 'noflush') opts.flush = false;
    else if (o === 'nosave') opts.save = false;
    else throw new ReplyError('ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.');
  }
  const p = persistence();
  if (p === null || p.server.loading || p.loading.active) throw new ReplyError(ERR.loading);
  if (opts.save && fenced()) throw new ReplyError(fenceMessage());
  // EXEC cannot wait for the save and the load.
  if (ctx.client.inExec) throw new ReplyError('ERR DEBUG RELOAD is not supported inside MULTI');
  replyLater(ctx, debugReload(p, opts).then((err) => (r) => (err === null ? r.ok() : r.error(err))));
});
