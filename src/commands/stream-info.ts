/**
 * XINFO STREAM [FULL [COUNT n]] / GROUPS / CONSUMERS / HELP, with the 7.0
 * fields (entries-added, max-deleted-entry-id, recorded-first-entry-id,
 * entries-read, lag).
 */
import { replyHelp } from './help.js';
import { register } from './registry.js';
import { cmd } from './spec.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import type { CommandContext } from '../server/context.js';
import type { Reply } from '../protocol/reply.js';
import type { StreamValue } from '../types/stream.js';
import type { Group } from '../types/stream-groups.js';
import { NONDETERMINISTIC, llArg, replyEntries, replyEntry, replyId, streamForRead, subcommandSyntax } from './stream-common.js';
import { keyAt } from './spec.js';

const G = { group: 'stream', since: '5.0.0' };

function stream(ctx: CommandContext, args: string[]): StreamValue {
  const s = streamForRead(ctx.db, args[2]);
  if (s === undefined) throw new ReplyError(ERR.noSuchKey);
  return s;
}

function replyLag(r: Reply, s: StreamValue, g: Group): void {
  const lag = s.lag(g);
  if (lag === null) r.null();
  else r.int(lag);
}

function entriesRead(r: Reply, g: Group): void {
  if (g.entriesRead !== -1) r.int(g.entriesRead);
  else r.null();
}

/** Redis reports its radix tree's node count; ours has no tree, so the keys plus a root (2 for one node, as Redis). */
function radixNodes(s: StreamValue): number {
  const k = s.radixKeys;
  return k + 1;
}

function xinfoStream(ctx: CommandContext, args: string[]): void {
  let full = false;
  let count = 10;
  const optc = args.length - 3;
  if (optc > 0) {
    if (optc !== 1 && optc !== 3) throw subcommandSyntax(args);
    if (args[3].toLowerCase() !== 'full') throw subcommandSyntax(args);
    if (optc === 3) {
      if (args[4].toLowerCase() !== 'count') throw subcommandSyntax(args);
      count = llArg(args[5]);
      if (count < 0) count = 10;
    }
    full = true;
  }
  const s = stream(ctx, args);
  const r = ctx.r;
  r.map(full ? 9 : 10);
  r.bulk('length');
  r.int(s.length);
  r.bulk('radix-tree-keys');
  r.int(s.radixKeys);
  r.bulk('radix-tree-nodes');
  r.int(radixNodes(s));
  r.bulk('last-generated-id');
  replyId(r, s.lastId);
  r.bulk('max-deleted-entry-id');
  replyId(r, s.maxDeletedId);
  r.bulk('entries-added');
  r.int(s.entriesAdded);
  r.bulk('recorded-first-entry-id');
  replyId(r, s.firstId);
  if (!full) {
    r.bulk('groups');
    r.int(s.groups?.size ?? 0);
    const first = s.range(null, null, false, 1);
    r.bulk('first-entry');
    if (first.length > 0) replyEntry(r, first[0]);
    else r.null();
    const last = s.range(null, null, true, 1);
    r.bulk('last-entry');
    if (last.length > 0) replyEntry(r, last[0]);
    else r.null();
    return;
  }
  r.bulk('entries');
  replyEntries(r, s.range(null, null, false, count));
  r.bulk('groups');
  const groups = s.sortedGroups();
  r.array(groups.length);
  for (const g of groups) {
    r.map(7);
    r.bulk('name');
    r.bulk(g.name);
    r.bulk('last-delivered-id');
    replyId(r, g.lastId);
    r.bulk('entries-read');
    entriesRead(r, g);
    r.bulk('lag');
    replyLag(r, s, g);
    r.bulk('pel-count');
    r.int(g.pel.size);
    r.bulk('pending');
    const pel = firstPending(g.pel.entries(), count);
    r.array(pel.length);
    for (const [id, nack] of pel) {
      r.array(4);
      replyId(r, id);
      r.bulk(nack.consumer!.name);
      r.int(nack.deliveryTime);
      r.int(nack.deliveryCount);
    }
    r.bulk('consumers');
    const cs = g.sortedConsumers();
    r.array(cs.length);
    for (const c of cs) {
      r.map(4);
      r.bulk('name');
      r.bulk(c.name);
      r.bulk('seen-time');
      r.int(c.seenTime);
      r.bulk('pel-count');
      r.int(c.pel.size);
      r.bulk('pending');
      const cp = firstPending(c.pel.entries(), count);
      r.array(cp.length);
      for (const [id, nack] of cp) {
        r.array(3);
        replyId(r, id);
        r.int(nack.deliveryTime);
        r.int(nack.deliveryCount);
      }
    }
  }
}

function xinfoGroups(ctx: CommandContext, args: string[]): void {
  const s = stream(ctx, args);
  const r = ctx.r;
  const groups = s.sortedGroups();
  r.array(groups.length);
  for (const g of groups) {
    r.map(6);
    r.bulk('name');
    r.bulk(g.name);
    r.bulk('consumers');
    r.int(g.consumers.size);
    r.bulk('pending');
    r.int(g.pel.size);
    r.bulk('last-delivered-id');
    replyId(r, g.lastId);
    r.bulk('entries-read');
    entriesRead(r, g);
    r.bulk('lag');
    replyLag(r, s, g);
  }
}

function xinfoConsumers(ctx: CommandContext, args: string[]): void {
  const s = stream(ctx, args);
  const g = s.group(args[3]);
  if (g === undefined) throw new ReplyError(`NOGROUP No such consumer group '${args[3]}' for key name '${args[2]}'`);
  const r = ctx.r;
  const now = Date.now();
  const cs = g.sortedConsumers();
  r.array(cs.length);
  for (const c of cs) {
    r.map(3);
    r.bulk('name');
    r.bulk(c.name);
    r.bulk('pending');
    r.int(c.pel.size);
    r.bulk('idle');
    r.int(Math.max(0, now - c.seenTime));
  }
}

function xinfoHelp(ctx: CommandContext): void {
  replyHelp(ctx.r, 'XINFO', ['CONSUMERS <key> <groupname>', '    Show consumers of <groupname>.', 'GROUPS <key>', '    Show the stream consumer groups.', 'STREAM <key> [FULL [COUNT <count>]', '    Show information about the stream.']);
}

register({
  ...cmd('xinfo', -2, '', [0, 0, 0], 'slow', { ...G, summary: 'A container for stream introspection commands', complexity: 'Depends on subcommand.' }),
  // In the order redis-server lists them.
  subcommands: [
    cmd('xinfo|help', 2, 'loading stale', [0, 0, 0], 'stream slow', { ...G, summary: 'Show helpful text about the different subcommands', complexity: 'O(1)' }, xinfoHelp),
    cmd('xinfo|stream', -3, 'readonly', [2, 2, 1], 'read stream slow', { ...G, summary: 'Get information about a stream', keySpec: keyAt(2, 'RO access'), complexity: 'O(1)', history: [['6.0.0', 'Added the `FULL` modifier.'], ['7.0.0', 'Added the `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields']] }, xinfoStream),
    cmd('xinfo|groups', 3, 'readonly', [2, 2, 1], 'read stream slow', { ...G, summary: 'List the consumer groups of a stream', keySpec: keyAt(2, 'RO access'), complexity: 'O(1)', history: [['7.0.0', 'Added the `entries-read` and `lag` fields']] }, xinfoGroups),
    cmd('xinfo|consumers', 4, 'readonly', [2, 2, 1], 'read stream slow', { ...G, summary: 'List the consumers in a consumer group', keySpec: keyAt(2, 'RO access'), tips: NONDETERMINISTIC, complexity: 'O(1)' }, xinfoConsumers),
  ],
});

/** XINFO STREAM FULL's COUNT: the first `count` pending entries (0 = all). */
function firstPending<T>(entries: Iterable<T>, count: number): T[] {
  const out: T[] = [];
  for (const e of entries) {
    if (count !== 0 && out.length >= count) break;
    out.push(e);
  }
  return out;
}
