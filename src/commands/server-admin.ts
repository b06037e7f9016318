/**
 * Server family: CONFIG, FLUSHDB/FLUSHALL, DBSIZE, FUNCTION (empty library).
 */
import { register } from './registry.js';
import { cmd, NO_KEYS, type CommandSpec } from './spec.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import { allParams, ConfigError, getString, paramByName, setParam } from '../config/params.js';
import { globMatch } from '../keyspace/glob.js';
import { commandStats } from '../server/dispatch.js';
import type { CommandContext } from '../server/context.js';

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
  // All or nothing, as Redis 7: validate everything, then apply, restoring on failure.
  const old = pairs.map(([d]) => getString(d!.name));
  let applied = 0;
  try {
    for (const [d, v] of pairs) {
      setParam(d!, v, true);
      applied++;
    }
  } catch (e) {
    for (let j = 0; j < applied; j++) setParam(pairs[j][0]!, old[j], false);
    const name = pairs[applied][2];
    if (e instanceof ConfigError) throw new ReplyError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${e.message}`);
    throw e;
  }
  ctx.r.ok();
}

function flushArgs(args: string[], first: number): void {
  if (args.length > first + 1) throw new ReplyError(ERR.syntax);
  if (args.length === first + 1) {
    const m = args[first].toLowerCase();
    if (m !== 'sync' && m !== 'async') throw new ReplyError(ERR.syntax);
  }
}

const sub = (parent: string, name: string, arity: number, flags: string, acl: string, summary: string, handler: CommandSpec['handler']) =>
  cmd(`${parent}|${name}`, arity, flags, NO_KEYS, acl, { ...G, summary }, handler);

register(
  {
    ...cmd('config', -2, '', NO_KEYS, 'slow', { ...G, summary: 'A container for server configuration commands.', since: '2.0.0' }),
    subcommands: [
      sub('config', 'get', -3, 'admin noscript loading stale', 'admin slow dangerous', 'Returns the effective values of configuration parameters.', configGet),
      sub('config', 'set', -4, 'admin noscript loading stale', 'admin slow dangerous', 'Sets configuration parameters in-flight.', configSet),
      sub('config', 'resetstat', 2, 'admin noscript loading stale', 'admin slow dangerous', 'Resets the server\'s statistics.', (ctx) => {
        commandStats().clear();
        const s = ctx.ks.stats;
        s.hits = s.misses = s.expiredKeys = s.evictedKeys = 0;
        ctx.server.stats.connectionsReceived = ctx.server.stats.commands = ctx.server.stats.rejectedConnections = 0;
        ctx.server.stats.netInputBytes = ctx.server.stats.netOutputBytes = 0;
        ctx.r.ok();
      }),
      sub('config', 'rewrite', 2, 'admin noscript loading stale', 'admin slow dangerous', 'Persists the effective configuration to file.', () => {
        throw new ReplyError('ERR The server is running without a config file');
      }),
    ],
  },
  cmd('flushall', -1, 'write', NO_KEYS, 'keyspace write slow dangerous', { ...G, summary: 'Removes all keys from all databases.' }, (ctx, args) => {
    flushArgs(args, 1);
    ctx.ks.flushAll();
    ctx.r.ok();
  }),
  cmd('flushdb', -1, 'write', NO_KEYS, 'keyspace write slow dangerous', { ...G, summary: 'Remove all keys from the current database.' }, (ctx, args) => {
    flushArgs(args, 1);
    ctx.db.flush();
    ctx.r.ok();
  }),
  cmd('dbsize', 1, 'readonly fast', NO_KEYS, 'keyspace read fast', { ...G, summary: 'Returns the number of keys in the database.' }, (ctx) => ctx.r.int(ctx.db.size)),
  {
    ...cmd('function', -2, '', NO_KEYS, 'slow', { group: 'scripting', summary: 'A container for function commands.', since: '7.0.0' }),
    subcommands: [
      // No scripting yet: the function library is always empty.
      cmd('function|flush', -2, 'write noscript', NO_KEYS, 'write slow scripting', { group: 'scripting', summary: 'Deletes all libraries and functions.', since: '7.0.0' }, (ctx, args) => {
        flushArgs(args, 2);
        ctx.r.ok();
      }),
      cmd('function|list', -2, 'noscript', NO_KEYS, 'slow scripting', { group: 'scripting', summary: 'Returns information about all libraries.', since: '7.0.0' }, (ctx) => ctx.r.array(0)),
    ],
  },
);
