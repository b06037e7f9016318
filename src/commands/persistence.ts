/**
 * Persistence family: SAVE, BGSAVE, LASTSAVE. Snapshots are forkless and
 * never block the server: SAVE suspends only its own client until the
 * snapshot is durable (Redis blocks everyone; the reply is the same).
 */
import { register } from './registry.js';
import { cmd, NO_KEYS } from './spec.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import { persistence, type Persistence } from '../snapshot/snapshotter.js';
import '../snapshot/module.js';
import { fenced, fenceMessage } from '../snapshot/fence.js';

const G = { group: 'server' };
const IN_PROGRESS = 'ERR Background save already in progress';

function get(): Persistence {
  const p = persistence();
  if (p === null) throw new ReplyError(ERR.loading);
  // Every save attempt while fenced gets the reason and the way out.
  if (fenced()) throw new ReplyError(fenceMessage());
  return p;
}

register(
  cmd('save', 1, 'admin noscript no_multi', NO_KEYS, 'admin slow dangerous', { ...G, summary: 'Synchronously saves the database(s) to disk.' }, (ctx) => {
    const p = get();
    if (p.inProgress) throw new ReplyError(IN_PROGRESS);
    const c = ctx.client;
    const server = ctx.server;
    const done = p.start('SAVE');
    c.suspended = true;
    done.then(
      () => c.send((r) => r.ok()),
      () => c.send((r) => r.error('ERR')),
    ).finally(() => server.resume(c));
  }),
  cmd('bgsave', -1, 'admin noscript', NO_KEYS, 'admin slow dangerous', { ...G, summary: 'Asynchronously saves the database(s) to disk.', args: [{ name: 'schedule', type: 'pure-token', token: 'SCHEDULE', optional: true }] }, (ctx, args) => {
    if (args.length > 2 || (args.length === 2 && args[1].toLowerCase() !== 'schedule')) throw new ReplyError(ERR.syntax);
    const p = get();
    if (p.inProgress) throw new ReplyError(IN_PROGRESS);
    if (ctx.client.inExec) {
      // Redis never starts a save in the middle of EXEC: it runs from cron.
      p.scheduled = true;
      ctx.r.simple('Background saving scheduled');
      return;
    }
    p.start('BGSAVE');
    ctx.r.simple('Background saving started');
  }),
  cmd('lastsave', 1, 'loading stale fast', NO_KEYS, 'admin fast dangerous', { ...G, summary: 'Returns the Unix timestamp of the last successful save to disk.' }, (ctx) => {
    const p = persistence();
    ctx.r.int(p?.lastSave ?? Math.floor(ctx.server.stats.startTime / 1000));
  }),
);
