/**
 * Server family: INFO, CONFIG, FLUSHDB/FLUSHALL, DBSIZE, SWAPDB, TIME,
 * LATENCY, SHUTDOWN, DEBUG, MEMORY, FUNCTION (empty library).
 */

import { replyHelp } from './help.js';
import { resetErrorStats } from '../server/error-stats.js';
import { register } from './registry.js';
import { cmd, NO_KEYS, type CommandSpec, type CmdOptions } from './spec.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import { allParams, ConfigError, getBool, getString, paramByName, setParamsAtRuntime } from '../config/params.js';
import { freeKeysLazily, resetLazyfreeStats } from '../memory/lazyfree.js';
import { globMatch } from '../keyspace/glob.js';
import { commandStats, scriptBusy } from '../server/dispatch.js';
import type { CommandContext } from '../server/context.js';
import { infoText } from '../server/info.js';
import { resetInfoStats } from './server-info.js';
import { debugCommand } from './debug.js';
import { flushAllAndReply, replyLater } from './persistence.js';
import { memoryCommand } from './memory.js';
import { monitorCommand } from './monitor.js';
import { shutdown } from '../server/lifecycle.js';
import { blockedKeysOf } from '../server/blocking.js';
import type { Database } from '../keyspace/db.js';

const G = { group: 'server' };

function configGet(ctx: CommandContext, args: string[]): void {
  const out = new Map<string, string>();
  for (let i = 2; i < args.length; i++) {
    const pat = args[i].toLowerCase();
    for (const d of allParams()) {
      if (d.flagOnly) continue;
      if (globMatch(pat, d.name, true)) out.set(d.name, getString(d.name));
    }
  }
  ctx.r.map(out.size);
  for (const [k, v] of out) {
    ctx.r.bulk(k);
    ctx.r.bulk(v);
  }
}

function configSet(ctx: CommandContext, args: string[]): void {
  if ((args.length - 2) % 2 !== 0) throw new ReplyError(ERR.arity('config|set'));
  const pairs: [ReturnType<typeof paramByName>, string, string][] = [];
  const seen = new Set<string>();
  for (let i = 2; i < args.length; i += 2) {
    const def = paramByName(args[i]);
    if (def === undefined) throw new ReplyError(`ERR Unknown option or number of arguments for CONFIG SET - '${args[i]}'`);
    if (seen.has(def.name)) throw new ReplyError(`ERR CONFIG SET failed (possibly related to argument '${args[i]}') - duplicate parameter`);
    seen.add(def.name);
    pairs.push([def, args[i + 1], args[i]]);
  }
  const failed = (thrown: unknown): Error => {
    if (!Array.isArray(thrown)) return thrown as Error;
    const [i, e] = thrown as [number, unknown];
    if (e instanceof ConfigError) return new ReplyError(`ERR CONFIG SET failed (possibly related to argument '${pairs[i][2]}') - ${e.message}`);
    return e as Error;
  };
  let pending: Promise<void> | null;
  try {
    if (ctx.client.inExec && pairs.some(([d]) => d!.applyAsync !== undefined)) {
      // Listening on a new port takes I/O, and EXEC cannot wait for it.
      throw new ReplyError(`ERR CONFIG SET ${pairs.find(([d]) => d!.applyAsync !== undefined)![2]} cannot be used inside MULTI`);
    }
    pending = setParamsAtRuntime(pairs.map(([d, v]) => [d!, v]));
  } catch (thrown) {
    throw failed(thrown);
  }
  if (pending === null) return ctx.r.ok();
  // The client waits for the new listeners, as Redis answers once it listens.
  replyLater(
    ctx,
    pending.then(
      () => (r) => r.ok(),
      (thrown) => {
        const e = failed(thrown);
        return (r) => r.error(e instanceof ReplyError ? e.message : 'ERR ' + e.message);
      },
    ),
  );
}

/** FLUSHALL/FLUSHDB's mode: true for ASYNC (the default with lazyfree-lazy-user-flush). */
function flushArgs(args: string[], first: number): boolean {
  if (args.length > first + 1) throw new ReplyError(ERR.syntax);
  if (args.length === first + 1) {
    const m = args[first].toLowerCase();
    if (m !== 'sync' && m !== 'async') throw new ReplyError(ERR.syntax);
    return m === 'async';
  }
  return getBool('lazyfree-lazy-user-flush');
}

/** Redis's getIntFromObject with a custom error text. */
function int32(s: string, err: string): number {
  if (!/^(-?[1-9][0-9]*|0)$/.test(s)) throw new ReplyError(err);
  const n = Number(s);
  if (n < -2147483648 || n > 2147483647) throw new ReplyError(err);
  return n;
}

/** WATCHers of a key that exists on either side of a SWAPDB see it change (touchAllWatchedKeysInDb). */
function touchWatchedForSwap(a: Database, b: Database): void {
  for (const [k, ws] of a.watched) {
    if (a.exists(k) || b.exists(k)) for (const w of ws) w.watchedKeyTouched();
  }
}

function swapdb(ctx: CommandContext, args: string[]): void {
  const a = int32(args[1], 'ERR invalid first DB index');
  const b = int32(args[2], 'ERR invalid second DB index');
  const n = ctx.ks.dbs.length;
  if (a < 0 || a >= n || b < 0 || b >= n) throw new ReplyError(ERR.dbIndex);
  const da = ctx.ks.dbs[a];
  const db = ctx.ks.dbs[b];
  if (a !== b) {
    touchWatchedForSwap(da, db);
    touchWatchedForSwap(db, da);
    ctx.ks.swap(a, b);
    ctx.ks.dirty++;
    // Clients blocked on a key that the swap brought in can be served now;
    // XREADGROUP clients whose stream went away are answered (Redis's
    // scanDatabaseForDeletedStreams), so every blocked key is looked at again.
    for (const d of [da, db]) for (const k of blockedKeysOf(d)) d.signalReady(k);
  }
  ctx.r.ok();
}

function info(ctx: CommandContext, args: string[]): void {
  ctx.r.verbatim(infoText(ctx.server, args.slice(1)) + '\r\n');
}

function shutdownCmd(ctx: CommandContext, args: string[]): void {
  let save: boolean | null = null;
  let now = false;
  let force = false;
  let abort = false;
  let any = false;
  for (let i = 1; i < args.length; i++) {
    const o = args[i].toLowerCase();
    if (o === 'nosave') {
      if (save === true) throw new ReplyError(ERR.syntax);
      save = false;
    } else if (o === 'save') {
      if (save === false) throw new ReplyError(ERR.syntax);
      save = true;
    } else if (o === 'now') now = true;
    else if (o === 'force') force = true;
    else if (o === 'abort') abort = true;
    else throw new ReplyError(ERR.syntax);
    if (o !== 'abort') any = true;
  }
  if (abort && any) throw new ReplyError(ERR.syntax);
  // Our shutdown never waits for replicas, so there is never one to abort.
  if (abort) throw new ReplyError('ERR No shutdown in progress.');
  // While a script is busy only SHUTDOWN NOSAVE goes through: a save would
  // capture half a script (Redis answers the busy error too).
  const busy = scriptBusy.error();
  if (busy !== null && save !== false) throw new ReplyError(busy);
  const c = ctx.client;
  const server = ctx.server;
  // The process exits on success; on failure the client gets the error and
  // its pipeline continues.
  c.suspended = true;
  shutdown(server, { save, force, now }).then(
    (done) => {
      if (!done) {
        c.send((r) => r.error('ERR Errors trying to SHUTDOWN. Check logs.'));
        server.resume(c);
      }
    },
    () => {
      c.send((r) => r.error('ERR Errors trying to SHUTDOWN. Check logs.'));
      server.resume(c);
    },
  );
}


/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  'config|get': { summary: 'Get the values of configuration parameters', since: '2.0.0', complexity: 'O(N) when N is the number of configuration parameters provided', history: [['7.0.0', 'Added the ability to pass multiple pattern parameters in one call']] },
  'config|set': { summary: 'Set configuration parameters to the given values', since: '2.0.0', complexity: 'O(N) when N is the number of configuration parameters provided', history: [['7.0.0', 'Added the ability to set multiple parameters in one call.']] },
  'config|resetstat': { summary: 'Reset the stats returned by INFO', since: '2.0.0', complexity: 'O(1)' },
  'config|rewrite': { summary: 'Rewrite the configuration file with the in memory configuration', since: '2.8.0', complexity: 'O(1)' },
  'config|help': { since: '5.0.0', complexity: 'O(1)' },
};

const sub = (parent: string, name: string, arity: number, flags: string, acl: string, summary: string, handler: CommandSpec['handler'], tips?: string[]) =>
  cmd(`${parent}|${name}`, arity, flags, NO_KEYS, acl, { ...G, summary, tips, ...DOCS[`${parent}|${name}`] }, handler);

register(
  {
    ...cmd('config', -2, '', NO_KEYS, 'slow', { ...G, since: '2.0.0', summary: 'A container for server configuration commands', complexity: 'Depends on subcommand.' }),
    subcommands: [
      sub('config', 'get', -3, 'admin noscript loading stale', 'admin slow dangerous', 'Returns the effective values of configuration parameters.', configGet),
      sub('config', 'set', -4, 'admin noscript loading stale', 'admin slow dangerous', 'Sets configuration parameters in-flight.', configSet, ['request_policy:all_nodes', 'response_policy:all_succeeded']),
      sub('config', 'resetstat', 2, 'admin noscript loading stale', 'admin slow dangerous', 'Resets the server\'s statistics.', (ctx) => {
        commandStats().clear();
        resetLazyfreeStats();
        resetErrorStats();
        const s = ctx.ks.stats;
        s.hits = s.misses = s.expiredKeys = s.evictedKeys = 0;
        ctx.server.stats.connectionsReceived = ctx.server.stats.commands = ctx.server.stats.rejectedConnections = 0;
        ctx.server.stats.netInputBytes = ctx.server.stats.netOutputBytes = 0;
        resetInfoStats();
        ctx.r.ok();
      }),
      sub('config', 'rewrite', 2, 'admin noscript loading stale', 'admin slow dangerous', 'Persists the effective configuration to file.', () => {
        throw new ReplyError('ERR The server is running without a config file');
      }),
      sub('config', 'help', 2, 'loading stale', 'slow', 'Show helpful text about the different subcommands', (ctx) =>
        replyHelp(ctx.r, 'CONFIG', [
          'GET <pattern>',
          '    Return parameters matching the glob-like <pattern> and their values.',
          'SET <directive> <value>',
          '    Set the configuration <directive> to <value>.',
          'RESETSTAT',
          '    Reset statistics reported by the INFO command.',
          'REWRITE',
          '    Rewrite the configuration file.',
        ]),
      ),
    ],
  },
  cmd('flushall', -1, 'write', NO_KEYS, 'keyspace write slow dangerous', { ...G, tips: ['request_policy:all_shards', 'response_policy:all_succeeded'], summary: 'Remove all keys from all databases', complexity: 'O(N) where N is the total number of keys in all databases', history: [['4.0.0', 'Added the `ASYNC` flushing mode modifier.'], ['6.2.0', 'Added the `SYNC` flushing mode modifier.']] }, (ctx, args) => {
    if (flushArgs(args, 1)) for (const db of ctx.ks.dbs) freeKeysLazily(db.size);
    ctx.ks.flushAll();
    flushAllAndReply(ctx);
  }),
  cmd('flushdb', -1, 'write', NO_KEYS, 'keyspace write slow dangerous', { ...G, tips: ['request_policy:all_shards', 'response_policy:all_succeeded'], summary: 'Remove all keys from the current database', complexity: 'O(N) where N is the number of keys in the selected database', history: [['4.0.0', 'Added the `ASYNC` flushing mode modifier.'], ['6.2.0', 'Added the `SYNC` flushing mode modifier.']] }, (ctx, args) => {
    if (flushArgs(args, 1)) freeKeysLazily(ctx.db.size);
    ctx.db.flush();
    ctx.r.ok();
  }),
  cmd('info', -1, 'loading stale sentinel', NO_KEYS, 'slow dangerous', {
    ...G,
    args: [{ name: 'section', type: 'string', optional: true, multiple: true }], tips: ['nondeterministic_output', 'request_policy:all_shards', 'response_policy:special'], summary: 'Get information and statistics about the server', complexity: 'O(1)', history: [['7.0.0', 'Added support for taking multiple section arguments.']],
  }, info),
  cmd('swapdb', 3, 'write fast', NO_KEYS, 'keyspace write fast dangerous', {
    ...G,
    since: '4.0.0',
    args: [{ name: 'index1', type: 'integer' }, { name: 'index2', type: 'integer' }], summary: 'Swaps two Redis databases', complexity: 'O(N) where N is the count of clients watching or blocking on keys from both databases.',
  }, swapdb),
  cmd('time', 1, 'loading stale fast', NO_KEYS, 'fast', { ...G, since: '2.6.0', tips: ['nondeterministic_output'], summary: 'Return the current server time', complexity: 'O(1)' }, (ctx) => {
    const us = BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
    ctx.r.array(2);
    ctx.r.bulk(String(us / 1000000n));
    ctx.r.bulk(String(us % 1000000n));
  }),
  cmd('shutdown', -1, 'admin noscript loading stale no_multi sentinel allow_busy', NO_KEYS, 'admin slow dangerous', {
    ...G, summary: 'Synchronously save the dataset to disk and then shut down the server', complexity: 'O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)', history: [['7.0.0', 'Added the `NOW`, `FORCE` and `ABORT` modifiers.']], args: [{ name: 'nosave_save', type: 'oneof', optional: true, arguments: [{ name: 'nosave', type: 'pure-token', token: 'NOSAVE' }, { name: 'save', type: 'pure-token', token: 'SAVE' }] }, { name: 'now', type: 'pure-token', token: 'NOW', since: '7.0.0', optional: true }, { name: 'force', type: 'pure-token', token: 'FORCE', since: '7.0.0', optional: true }, { name: 'abort', type: 'pure-token', token: 'ABORT', since: '7.0.0', optional: true }],
  }, shutdownCmd),
  cmd('debug', -2, 'admin noscript loading stale', NO_KEYS, 'admin slow dangerous', { ...G, summary: 'A container for debugging commands', complexity: 'Depends on subcommand.', docFlags: ['syscmd'] }, debugCommand),
  memoryCommand,
  monitorCommand,
  cmd('dbsize', 1, 'readonly fast', NO_KEYS, 'keyspace read fast', { ...G, tips: ['request_policy:all_shards', 'response_policy:agg_sum'], summary: 'Return the number of keys in the selected database', complexity: 'O(1)' }, (ctx) => ctx.r.int(ctx.db.size)),
);
