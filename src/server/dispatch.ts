/**
 * From a parsed request to a reply, in the order Redis's processCommand
 * checks things: unknown command, arity, auth, transaction context,
 * memory (eviction, OOM), MISCONF, pub/sub context, loading, then MULTI queueing or the call itself.
 */
import { performance } from 'node:perf_hooks';
import { arityOk, lookup, lookupSub } from '../commands/registry.js';
import { precompute, type CommandSpec } from '../commands/spec.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import type { CommandContext } from './context.js';
import { log } from '../log.js';
import { blockedCall, handleReadyKeys, hasReadyKeys } from './blocking.js';
import { slowlogPush, slowlogSettings } from './slowlog.js';
import { mustWait, pauseState, postpone } from './pause.js';
import { luaState, needsLua, waitForLua } from './lua-start.js';
import { LatencyHistogram, latencyTracking } from './latency-histogram.js';
import { latencySample, latencySettings } from './latency-monitor.js';
import './latency-params.js';
import { trackingActive, trackingAfterCall, trackingBegin, trackingEndCommand, trackingLimitUsedSlots } from './tracking.js';
import { memoryGuard } from '../memory/guard.js';
import { heapTick } from '../memory/heap.js';
import { refreshUsageIfStale } from '../memory/usage.js';
import { errorStats, errorsSinceLastLook } from './error-stats.js';
import { defaultNeedsAuth } from '../acl/users.js';
import { ACL_OK, checkCommand, DENIED_CMD, nopermError } from '../acl/check.js';
import { addLogEntry } from '../acl/log.js';
import { NOREPLICAS, tooFewReplicas } from './min-replicas.js';

export interface CommandStats {
  calls: number;
  usec: number;
  rejected: number;
  failed: number;
  /** Created on the first timed call while latency-tracking is on; dropped with the stats by CONFIG RESETSTAT. */
  hist: LatencyHistogram | null;
}

/**
 * Per-command stats by name. Each spec also caches its entry (a Map lookup
 * per call showed in profiles); clear() (CONFIG RESETSTAT) bumps `epoch` so
 * the cached entries are dropped.
 */
class StatsMap extends Map<string, CommandStats> {
  epoch = 0;
  override clear(): void {
    this.epoch++;
    super.clear();
  }
}

const stats = new StatsMap();

/** Called after every executed command (MONITOR feeds its clients from here). */
export const commandObservers: ((ctx: CommandContext, spec: CommandSpec, args: string[]) => void)[] = [];

export function commandStats(): Map<string, CommandStats> {
  return stats;
}

function statsOf(spec: CommandSpec): CommandStats {
  const pre = spec.pre ?? (spec.pre = precompute(spec));
  if (pre.statsEpoch === stats.epoch) return pre.stats as CommandStats;
  let s = stats.get(spec.name);
  if (s === undefined) {
    s = { calls: 0, usec: 0, rejected: 0, failed: 0, hist: null };
    stats.set(spec.name, s);
  }
  pre.stats = s;
  pre.statsEpoch = stats.epoch;
  return s;
}

/**
 * Command timing (commandstats usec) takes one clock read per command: in a
 * batch of pipelined commands one command's end is the next one's start
 * (so a command's time includes parsing it, as in Redis's call() it
 * includes nothing else). Outside a batch a command reads its own start.
 */
let batchClock = -1;
/** t0 of the command call() is running for a client (not one a script calls). */
let commandT0 = 0;

/**
 * When the running command started, as its commandstats time counts it: a
 * script run takes it as its own start (one clock read less per EVALSHA).
 */
export function commandStart(): number {
  return commandT0;
}

/** The server calls this before running a batch of commands from one read... */
export function beginBatch(ks: { tick(): number }): void {
  batchClock = performance.now();
  ks.tick();
  sinceTick = 0;
  heapTick(batchClock);
  refreshUsageIfStale(batchClock);
}
/**
 * Inside a batch the command clock (ks.now) is read at the start and then
 * every 32 commands, not per command: Date.now() per command was ~7% of the
 * busy time at -P 16. A batch is one read's worth of commands, so the
 * clock a command sees is at most a few hundred microseconds old.
 */
let sinceTick = 0;
/** ...and this after it. */
export function endBatch(): void {
  batchClock = -1;
}

/** Commands a RESP2 client may send while subscribed. */
const PUBSUB_ALLOWED = new Set(['ping', 'subscribe', 'ssubscribe', 'unsubscribe', 'sunsubscribe', 'psubscribe', 'punsubscribe', 'quit', 'reset']);
/** Commands that run immediately inside MULTI instead of being queued. */
const MULTI_IMMEDIATE = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

/** Set by the scripting module: the -BUSY error while a script is past busy-reply-threshold, else null. */
export const scriptBusy = { error: (): string | null => null };

/** Set by the transactions module: ends c's transaction (EXEC refused before it ran). */
export const transactionHooks = { discard: (_c: CommandContext['client']): void => {} };

/** A command refused before it ran (commandstats rejected_calls). */
export function rejectedCall(spec: CommandSpec): void {
  statsOf(spec).rejected++;
}

/** A command that answered with an error after call() returned (a blocked client served later). */
export function failedCall(name: string): void {
  let s = stats.get(name);
  if (s === undefined) stats.set(name, (s = { calls: 0, usec: 0, rejected: 0, failed: 0, hist: null }));
  s.failed++;
}

function reject(ctx: CommandContext, msg: string, spec?: CommandSpec): void {
  if (spec) statsOf(spec).rejected++;
  const c = ctx.client;
  // A refused EXEC ends the transaction, saying why (Redis's execCommandAbort,
  // which rejectCommand calls for EXEC even outside MULTI).
  if (spec?.name === 'exec') {
    if (c.multi !== null) transactionHooks.discard(c);
    ctx.r.error('EXECABORT Transaction discarded because of: ' + msg);
    return;
  }
  // A command refused while queueing makes EXEC fail (EXECABORT).
  if (c.multi !== null) c.multi.failed = true;
  ctx.r.error(msg);
}

function unknownCommand(ctx: CommandContext, args: string[]): void {
  let rest = '';
  for (let i = 1; i < args.length && rest.length < 128; i++) rest += `'${args[i].slice(0, 128 - rest.length)}' `;
  reject(ctx, `ERR unknown command '${args[0].slice(0, 128)}', with args beginning with: ${rest}`);
}

/** Resolve a command (and subcommand) or answer the error; returns null if answered. */
export function resolve(ctx: CommandContext, args: string[]): CommandSpec | null {
  let spec = lookup(args[0]);
  if (spec === undefined) {
    unknownCommand(ctx, args);
    return null;
  }
  if (spec.subcommands !== undefined && args.length >= 2) {
    const sub = lookupSub(spec, args[1]);
    if (sub === undefined) {
      // Not counted against the container: Redis found no command to count.
      reject(ctx, `ERR unknown subcommand '${args[1].slice(0, 128)}'. Try ${args[0].toUpperCase()} HELP.`);
      return null;
    }
    spec = sub;
  }
  if (!arityOk(spec, args.length)) {
    reject(ctx, ERR.arity(spec.name), spec);
    return null;
  }
  return spec;
}

export function processCommand(ctx: CommandContext, args: string[]): void {
  const c = ctx.client;
  const spec = resolve(ctx, args);
  if (spec === null) return;
  const pre = spec.pre ?? (spec.pre = precompute(spec));
  // Redis's authRequired: a connection that never authenticated may still run as a default user without password.
  if (!c.authenticated && !pre.noAuth && defaultNeedsAuth()) return reject(ctx, ERR.noAuth, spec);
  if (c.multi !== null && pre.noMulti) return reject(ctx, 'ERR Command not allowed inside a transaction', spec);
  // A user allowed everything (the default user, usually) costs this one read.
  if (!c.user.unrestricted) {
    const v = checkCommand(c.user, spec, args);
    if (v.res !== ACL_OK) {
      addLogEntry(c, v.res, c.multi !== null ? 'multi' : 'toplevel', v.res === DENIED_CMD ? spec.name : args[v.pos], c.user.name);
      return reject(ctx, nopermError(v.res, spec), spec);
    }
  }
  const server = ctx.server;
  // Redis evicts (or refuses with -OOM) here: after auth, before MISCONF.
  if (!server.loading) {
    const oom = memoryGuard(ctx.ks, c, spec);
    if (oom !== null) return reject(ctx, oom, spec);
  }
  if (server.writesDenied !== null && pre.denyOnMisconf) {
    return reject(ctx, server.writesDenied, spec);
  }
  if (pre.write && tooFewReplicas()) return reject(ctx, NOREPLICAS, spec);
  if (c.subs !== null && c.proto === 2 && !PUBSUB_ALLOWED.has(spec.name)) {
    return reject(ctx, `ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`, spec);
  }
  if (server.loading && !pre.allowLoading) return reject(ctx, ERR.loading, spec);
  // A script past busy-reply-threshold is suspended between time slices:
  // only SCRIPT KILL, SHUTDOWN NOSAVE and the like get through (Redis's order).
  if (!pre.allowBusy) {
    const busy = scriptBusy.error();
    if (busy !== null) return reject(ctx, busy, spec);
  }
  // CLIENT PAUSE holds the command (Redis's BLOCKED_POSTPONE), checked before MULTI queues it.
  if (pauseState.type !== 'off' && !c.fromScript && mustWait(c, spec, args)) return postpone(c, args);
  if (!luaState.loaded && needsLua(c, spec)) return waitForLua(server, c, args);
  if (c.multi !== null && !MULTI_IMMEDIATE.has(spec.name)) {
    c.multi.queue.push({ spec, args });
    ctx.r.raw('+QUEUED\r\n');
    return;
  }
  if (trackingActive.on) {
    trackingLimitUsedSlots();
    trackingBegin(c, spec, args);
    call(ctx, spec, args);
    trackingEndCommand(c, spec);
  } else call(ctx, spec, args);
  // Like Redis, clients blocked on keys this command filled are served
  // once the command (or the whole EXEC) is done.
  if (hasReadyKeys()) handleReadyKeys(ctx.server);
}

/**
 * Run one command (no checks: EXEC calls this for its queue). Handler errors
 * thrown as ReplyError become the reply; anything else is a bug, logged, and
 * answered as an error without taking the server down.
 */
export function call(ctx: CommandContext, spec: CommandSpec, args: string[]): void {
  if (batchClock < 0 || ++sinceTick >= 32) {
    ctx.ks.tick();
    sinceTick = 0;
  }
  const c = ctx.client;
  // A command a script runs reads its own start: the batch clock would
  // charge it the Lua time since the script's previous command.
  const nested = c.fromScript;
  const t0 = batchClock >= 0 && !nested ? batchClock : performance.now();
  if (!nested) commandT0 = t0;
  c.lastCommand = spec.name;
  errorsSinceLastLook();
  const uncounted0 = errorStats.uncounted;
  try {
    spec.handler!(ctx, args);
  } catch (e) {
    if (e instanceof ReplyError) ctx.r.error(e.message);
    else {
      log.error({ err: e, command: spec.name }, 'command failed with an internal error');
      ctx.r.error(`ERR internal error in '${spec.name}': ${(e as Error).message}`);
    }
  }
  // Looked up after the command: CONFIG RESETSTAT counts itself in the new stats, as in Redis.
  const s = statsOf(spec);
  // Failed: it answered with an error (Redis's incrCommandStatsOnError), or
  // passed on errors already counted (a script's redis.call error).
  if (errorsSinceLastLook()) s.failed++;
  if (errorStats.uncounted !== uncounted0) {
    s.failed += errorStats.uncounted - uncounted0;
    errorStats.uncounted = uncounted0; // they are this command's, not an enclosing EXEC's
  }
  s.calls++;
  const t1 = performance.now();
  const us = (t1 - t0) * 1000;
  s.usec += us;
  if (batchClock >= 0 && !nested) batchClock = t1;
  if (latencyTracking.on) (s.hist ??= new LatencyHistogram()).record(us);
  if (latencySettings.thresholdMs !== 0 && us >= latencySettings.thresholdMs * 1000) latencySample(spec.pre!.fast ? 'fast-command' : 'command', us / 1000);
  // A command that blocked is logged when it is answered, with its whole time.
  if (!(c.suspended && blockedCall(c, spec, args, us)) && slowlogSettings.slowerThan >= 0 && us >= slowlogSettings.slowerThan) {
    slowlogPush(c, spec, args, us);
  }
  if (trackingActive.on) trackingAfterCall(c, spec, args);
  ctx.server.stats.commands++;
  for (let i = 0; i < commandObservers.length; i++) commandObservers[i](ctx, spec, args);
}
