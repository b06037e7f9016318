/**
 * MEMORY: USAGE (an estimate of a key's footprint), STATS, DOCTOR, PURGE,
 * MALLOC-STATS, HELP.
 */
import { cmd, keyAt, NO_KEYS, type CmdOptions, type CommandSpec } from './spec.js';
import { ERR, ReplyError, parseInt64 } from '../protocol/errors.js';
import { memoryFacts, memoryOverhead, valueCost } from '../memory/usage.js';
import { cellBytes, fitsOffHeap, keyFitsOffHeap } from '../keyspace/value-store.js';
import { memoryDoctor } from '../memory/doctor.js';
import { purgeMemory } from '../memory/idle-release.js';
import type { CommandContext } from '../server/context.js';
import type { Value } from '../types/value.js';

const G = { group: 'server' };

/** What a key costs: the same estimate used_memory accounts for it (src/memory/usage.ts). */
export function estimateUsage(key: string, v: Value): number {
  // A key or string kept outside the heap costs its cell there besides its entry.
  const keyCell = keyFitsOffHeap(key.length) ? cellBytes(key.length) : 0;
  return valueCost(key, v) + keyCell + (typeof v === 'string' && fitsOffHeap(v.length) ? cellBytes(v.length) : 0);
}

const HELP = [
  'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DOCTOR',
  '    Return memory problems reports.',
  'MALLOC-STATS',
  '    Return internal statistics report from the memory allocator.',
  'PURGE',
  '    Attempt to purge dirty pages for reclamation by the allocator.',
  'STATS',
  '    Return information about the memory usage of the server.',
  'USAGE <key> [SAMPLES <count>]',
  '    Return memory in bytes used by <key> and its value. Nested values are',
  '    sampled up to <count> times (default: 5, 0 means sample all).',
  'HELP',
  '    Prints this help.',
];

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  usage: { summary: 'Estimate the memory usage of a key', complexity: 'O(N) where N is the number of samples.' },
  doctor: { summary: 'Outputs memory problems report', complexity: 'O(1)' },
  purge: { summary: 'Ask the allocator to release memory', complexity: 'Depends on how much memory is allocated, could be slow' },
  'malloc-stats': { summary: 'Show allocator internal stats', complexity: 'Depends on how much memory is allocated, could be slow' },
  stats: { summary: 'Show memory usage details', complexity: 'O(1)' },
  help: { summary: 'Show helpful text about the different subcommands', complexity: 'O(1)' },
};

const sub = (name: string, arity: number, flags: string, keys: [number, number, number], acl: string, summary: string, handler: CommandSpec['handler'], extra: Partial<CmdOptions> = {}) =>
  cmd(`memory|${name}`, arity, flags, keys, acl, { ...G, summary, since: '4.0.0', ...extra, ...DOCS[name] }, handler);
/** Redis's tips: each shard reports on itself. */
const REPORT = { tips: ['nondeterministic_output', 'request_policy:all_shards', 'response_policy:special'] };

export const memoryCommand: CommandSpec = {
  ...cmd('memory', -2, '', NO_KEYS, 'slow', { ...G, since: '4.0.0', summary: 'A container for memory diagnostics commands', complexity: 'Depends on subcommand.' }),
  subcommands: [
    sub('usage', -3, 'readonly', [2, 2, 1], 'read slow', 'Estimates the memory usage of a key.', (ctx, args) => {
      for (let i = 3; i < args.length; i++) {
        if (args[i].toLowerCase() === 'samples' && i + 1 < args.length) {
          const n = parseInt64(args[++i]);
          if (n === null) throw new ReplyError(ERR.notInt);
          if (n < 0n) throw new ReplyError(ERR.syntax);
        } else throw new ReplyError(ERR.syntax);
      }
      const v = ctx.db.peek(args[2]);
      if (v === undefined) return ctx.r.null();
      ctx.r.int(estimateUsage(args[2], v));
    }, { keySpec: keyAt(2, 'RO') }),
    sub('doctor', 2, '', [0, 0, 0], 'slow', 'Outputs a memory problems report.', (ctx) => ctx.r.verbatim(memoryDoctor(ctx.server)), REPORT),
    sub('purge', 2, '', [0, 0, 0], 'slow', 'Asks the allocator to release memory.', (ctx) => {
      // V8 has no purge of its own: full GCs free the garbage and let the heap shrink.
      purgeMemory(ctx.ks.dbs.flatMap((db) => db.table.stores));
      ctx.r.ok();
    }, { tips: ['request_policy:all_shards', 'response_policy:all_succeeded'] }),
    sub('malloc-stats', 2, '', [0, 0, 0], 'slow', 'Returns the allocator statistics.', (ctx) => ctx.r.verbatim('Stats not supported for the current allocator'), REPORT),
    sub('stats', 2, '', [0, 0, 0], 'slow', 'Returns details about memory usage.', memoryStats, REPORT),
    sub('help', 2, 'loading stale', [0, 0, 0], 'slow', 'Returns helpful text about the different subcommands.', (ctx) => ctx.r.bulks(HELP)),
  ],
};

/** MEMORY STATS with Redis 7.0's fields, in its order. */
function memoryStats(ctx: CommandContext): void {
  const f = memoryFacts();
  let keys = 0;
  for (const db of ctx.ks.dbs) keys += db.size;
  const o = memoryOverhead(f, keys);
  const r = ctx.r;
  const dbs = ctx.ks.dbs.filter((db) => db.size > 0);
  const allocated = f.allocated;
  const active = f.active;
  const ratio = (a: number, b: number) => a / Math.max(b, 1);
  const fields: [string, number, 'int' | 'double'][] = [
    ['peak.allocated', f.peak, 'int'],
    ['total.allocated', f.used, 'int'],
    ['startup.allocated', f.startup, 'int'],
    ['replication.backlog', 0, 'int'],
    ['clients.slaves', 0, 'int'],
    ['clients.normal', o.clients, 'int'],
    ['cluster.links', 0, 'int'],
    ['aof.buffer', 0, 'int'],
    ['lua.caches', 0, 'int'],
    ['functions.caches', 0, 'int'],
  ];
  const after: [string, number, 'int' | 'double'][] = [
    ['overhead.total', o.overhead, 'int'],
    ['keys.count', keys, 'int'],
    ['keys.bytes-per-key', keys === 0 ? 0 : Math.floor((f.used - f.startup) / keys), 'int'],
    ['dataset.bytes', o.dataset, 'int'],
    ['dataset.percentage', (ratio(o.dataset, f.used - f.startup) * 100), 'double'],
    ['peak.percentage', ratio(f.used, f.peak) * 100, 'double'],
    ['allocator.allocated', allocated, 'int'],
    ['allocator.active', active, 'int'],
    ['allocator.resident', f.rss, 'int'],
    ['allocator-fragmentation.ratio', ratio(active, allocated), 'double'],
    ['allocator-fragmentation.bytes', active - allocated, 'int'],
    ['allocator-rss.ratio', ratio(f.rss, active), 'double'],
    ['allocator-rss.bytes', f.rss - active, 'int'],
    ['rss-overhead.ratio', 1, 'double'],
    ['rss-overhead.bytes', 0, 'int'],
    ['fragmentation', ratio(f.rss, f.used), 'double'],
    ['fragmentation.bytes', f.rss - f.used, 'int'],
  ];
  const put = ([k, v, t]: [string, number, 'int' | 'double']) => {
    r.bulk(k);
    if (t === 'int') r.int(Math.round(v));
    else r.double(v);
  };
  r.map(fields.length + dbs.length + after.length);
  fields.forEach(put);
  for (const db of dbs) {
    r.bulk(`db.${db.id}`);
    r.map(2);
    // The key table's entries (the share of valueCost that is not key or value).
    put(['overhead.hashtable.main', db.size * o.table / Math.max(keys, 1), 'int']);
    put(['overhead.hashtable.expires', db.table.expiresCount * 32, 'int']);
  }
  after.forEach(put);
}
