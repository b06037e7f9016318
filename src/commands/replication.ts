/**
 * The replication commands of a server that has no replicas and is never
 * one: WAIT counts no acknowledgements, ROLE says master, REPLICAOF is
 * refused (durability here comes from snapshots, not replicas) except
 * NO ONE, which is already the case. LOLWUT, a server command of the same
 * vintage, is here too.
 */
import { register } from './registry.js';
import { cmd, NO_KEYS } from './spec.js';
import { ERR, ReplyError, parseInt64 } from '../protocol/errors.js';
import { blockOnKeys, mayBlock } from '../server/blocking.js';
import { VERSION } from '../version.js';
import type { CommandContext } from '../server/context.js';

const G = { group: 'server' as const };

/** WAIT numreplicas timeout: 0 replicas acknowledge; asked for more, it waits the timeout out (0: forever), as Redis. */
function wait(ctx: CommandContext, args: string[]): void {
  const want = parseInt64(args[1]);
  if (want === null) throw new ReplyError(ERR.notInt);
  const ms = parseInt64(args[2]);
  if (ms === null) throw new ReplyError('ERR timeout is not an integer or out of range');
  if (ms < 0n) throw new ReplyError('ERR timeout is negative');
  if (want <= 0n || !mayBlock(ctx)) return ctx.r.int(0);
  blockOnKeys(ctx, [], Number(ms > 2147483647n ? 0n : ms), () => false, (r) => r.int(0));
}

function replicaof(ctx: CommandContext, args: string[]): void {
  if (args[1].toLowerCase() === 'no' && args[2].toLowerCase() === 'one') return ctx.r.ok();
  throw new ReplyError('ERR REPLICAOF is not supported: this server has no replication; its data is kept by snapshots (see --dir and --snapshot_replicas)');
}

register(
  cmd('wait', 3, 'noscript', NO_KEYS, 'slow connection', { ...G, group: 'generic', summary: 'Wait for the synchronous replication of all the write commands sent in the context of the current connection', since: '3.0.0', tips: ['request_policy:all_shards', 'response_policy:agg_min'], complexity: 'O(1)' }, wait),
  cmd('role', 1, 'noscript loading stale fast', NO_KEYS, 'admin fast dangerous', { ...G, summary: 'Return the role of the instance in the context of replication', since: '2.8.12', complexity: 'O(1)' }, (ctx) => {
    ctx.r.array(3);
    ctx.r.bulk('master');
    ctx.r.int(0);
    ctx.r.array(0);
  }),
  cmd('replicaof', 3, 'no_async_loading admin noscript stale', NO_KEYS, 'admin slow dangerous', { ...G, summary: 'Make the server a replica of another instance, or promote it as master.', since: '5.0.0', complexity: 'O(1)' }, replicaof),
  cmd('slaveof', 3, 'no_async_loading admin noscript stale', NO_KEYS, 'admin slow dangerous', { ...G, summary: 'Make the server a replica of another instance, or promote it as master.', since: '1.0.0', complexity: 'O(1)', docFlags: ['deprecated'], deprecatedSince: '5.0.0', replacedBy: '`REPLICAOF`' }, replicaof),
  // Redis 7.0's own rendering; the art of VERSION 5 and 6 is not reproduced.
  cmd('lolwut', -1, 'readonly fast', NO_KEYS, 'read fast', { ...G, summary: 'Display some computer art and the Redis version', since: '5.0.0' }, (ctx, args) => {
    if (args.length >= 3 && args[1].toLowerCase() === 'version' && parseInt64(args[2]) === null) throw new ReplyError(ERR.notInt);
    ctx.r.verbatim(`Redis ver. ${VERSION.redis}\n`);
  }),
);
