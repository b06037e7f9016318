/**
 * MEMORY: USAGE (an estimate of a key's footprint), STATS, DOCTOR, PURGE,
 * MALLOC-STATS, HELP.
 */
import { cmd, NO_KEYS, type CommandSpec } from './spec.js';
import { ERR, ReplyError, parseInt64 } from '../protocol/errors.js';
import { usedMemory } from './server-info.js';
import { purgeMemory } from '../memory/idle-release.js';
import type { Value } from '../types/value.js';

const G = { group: 'server' };

/**
 * Bytes a key costs us, roughly: Map entry and string headers for the key,
 * the value's chars (latin1 strings take one byte each in V8), and a flat
 * per-element cost for collections, whose layout each type keeps private.
 */
export function estimateUsage(key: string, v: Value): number {
  const base = 48 + key.length;
  if (typeof v === 'string') return base + 16 + v.length;
  return base + 64 + v.size * 48;
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

const sub = (name: string, arity: number, flags: string, keys: [number, number, number], acl: string, summary: string, handler: CommandSpec['handler']) =>
  cmd(`memory|${name}`, arity, flags, keys, acl, { ...G, summary, since: '4.0.0' }, handler);

export const memoryCommand: CommandSpec = {
  ...cmd('memory', -2, '', NO_KEYS, 'slow', { ...G, summary: 'A container for memory diagnostics commands.', since: '4.0.0' }),
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
    }),
    sub('doctor', 2, '', [0, 0, 0], 'slow', 'Outputs a memory problems report.', (ctx) =>
      ctx.r.verbatim('Hi Sam, I can\'t find any memory issue in your instance. I can only account for what occurs on this base.'),
    ),
    sub('purge', 2, '', [0, 0, 0], 'slow', 'Asks the allocator to release memory.', (ctx) => {
      purgeMemory();
      ctx.r.ok();
    }),
    sub('malloc-stats', 2, '', [0, 0, 0], 'slow', 'Returns the allocator statistics.', (ctx) => ctx.r.verbatim('Stats not supported for the current allocator')),
    sub('stats', 2, '', [0, 0, 0], 'slow', 'Returns details about memory usage.', (ctx) => {
      const used = usedMemory();
      const m = process.memoryUsage();
      let keys = 0;
      for (const db of ctx.ks.dbs) keys += db.size;
      const pairs: [string, number][] = [
        ['peak.allocated', used],
        ['total.allocated', used],
        ['startup.allocated', 0],
        ['keys.count', keys],
        ['dataset.bytes', used],
        ['rss-overhead.bytes', m.rss - used],
      ];
      ctx.r.map(pairs.length);
      for (const [k, v] of pairs) {
        ctx.r.bulk(k);
        ctx.r.int(v);
      }
    }),
    sub('help', 2, 'loading stale', [0, 0, 0], 'slow', 'Returns helpful text about the different subcommands.', (ctx) => ctx.r.bulks(HELP)),
  ],
};
