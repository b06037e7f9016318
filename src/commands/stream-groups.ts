/**
 * Stream family, consumer groups (t_stream.c): XGROUP and its
 * subcommands, XACK, XPENDING, XCLAIM, XAUTOCLAIM.
 */
import { replyHelp } from './help.js';
import { register } from './registry.js';
import { cmd, type CommandSpec, type CmdOptions } from './spec.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import type { CommandContext } from '../server/context.js';
import { StreamValue } from '../types/stream.js';
import { Group, Nack, type Consumer } from '../types/stream-groups.js';
import { MAX_ID, ZERO_ID, cmpId, parseId, type StreamID } from '../types/stream-id.js';
import { NONDETERMINISTIC, llArg, noGroupError, replyEntry, replyId, streamForRead, streamForWrite, subcommandSyntax } from './stream-common.js';
import { keyAt } from './spec.js';
import { consumerFor, intervalId } from './streams.js';
import { notify, NOTIFY_STREAM } from '../keyspace/notify.js';

const G = { group: 'stream', since: '5.0.0' };

// ---- XGROUP ----

interface XGroupArgs {
  s: StreamValue | undefined;
  group: Group | undefined;
  mkstream: boolean;
  entriesRead: number;
}

/** The checks xgroupCommand makes before dispatching on the subcommand. */
function xgroupPrelude(ctx: CommandContext, args: string[]): XGroupArgs {
  const sub = args[1].toLowerCase();
  let mkstream = false;
  let entriesRead = -1;
  const create = sub === 'create';
  const setid = sub === 'setid';
  for (let i = 5; i < args.length; ) {
    const a = args[i].toLowerCase();
    if (create && a === 'mkstream') {
      mkstream = true;
      i++;
    } else if ((create || setid) && a === 'entriesread' && i + 1 < args.length) {
      entriesRead = llArg(args[i + 1]);
      if (entriesRead < 0 && entriesRead !== -1) throw new ReplyError('ERR value for ENTRIESREAD must be positive or -1');
      i += 2;
    } else throw subcommandSyntax(args);
  }
  const s = streamForWrite(ctx.db, args[2]);
  const name = args[3];
  let group: Group | undefined;
  if (!mkstream) {
    if (s === undefined) throw new ReplyError('ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.');
    group = s.group(name);
    if (group === undefined && (setid || sub === 'createconsumer' || sub === 'delconsumer')) {
      throw new ReplyError(`NOGROUP No such consumer group '${name}' for key name '${args[2]}'`);
    }
  } else group = s?.group(name);
  return { s, group, mkstream, entriesRead };
}

function xgroupCreate(ctx: CommandContext, args: string[]): void {
  if (args.length > 8) throw subcommandSyntax(args);
  const p = xgroupPrelude(ctx, args);
  let id: StreamID;
  if (args[4] === '$') id = p.s !== undefined ? p.s.lastId : ZERO_ID;
  else id = parseId(args[4], 0, true).id;
  let s = p.s;
  if (s === undefined) {
    s = new StreamValue();
    ctx.db.set(args[2], s);
  }
  s.groups ??= new Map();
  if (s.groups.has(args[3])) throw new ReplyError('BUSYGROUP Consumer Group name already exists');
  s.groups.set(args[3], new Group(args[3], id, p.entriesRead));
  ctx.db.modified(args[2]);
  notify(NOTIFY_STREAM, 'xgroup-create', args[2], ctx.db.id);
  ctx.r.ok();
}

function xgroupSetid(ctx: CommandContext, args: string[]): void {
  if (args.length !== 5 && args.length !== 7) throw subcommandSyntax(args);
  const p = xgroupPrelude(ctx, args);
  let id: StreamID;
  if (args[4] === '$') id = p.s!.lastId;
  else id = parseId(args[4], 0, false).id;
  p.group!.lastId = id;
  p.group!.entriesRead = p.entriesRead;
  ctx.db.modified(args[2]);
  notify(NOTIFY_STREAM, 'xgroup-setid', args[2], ctx.db.id);
  ctx.r.ok();
}

function xgroupDestroy(ctx: CommandContext, args: string[]): void {
  const p = xgroupPrelude(ctx, args);
  if (p.group === undefined) return ctx.r.int(0);
  p.s!.groups!.delete(args[3]);
  ctx.db.modified(args[2]);
  notify(NOTIFY_STREAM, 'xgroup-destroy', args[2], ctx.db.id);
  // Clients blocked in XREADGROUP on this group get -NOGROUP.
  ctx.db.signalReady(args[2]);
  ctx.r.int(1);
}

function xgroupCreateConsumer(ctx: CommandContext, args: string[]): void {
  const p = xgroupPrelude(ctx, args);
  const c = p.group!.addConsumer(args[4], Date.now());
  if (c !== null) {
    ctx.db.modified(args[2]);
    notify(NOTIFY_STREAM, 'xgroup-createconsumer', args[2], ctx.db.id);
  }
  ctx.r.int(c !== null ? 1 : 0);
}

function xgroupDelConsumer(ctx: CommandContext, args: string[]): void {
  const p = xgroupPrelude(ctx, args);
  const c = p.group!.consumers.get(args[4]);
  let pending = 0;
  if (c !== undefined) {
    pending = p.group!.deleteConsumer(c);
    ctx.db.modified(args[2]);
    notify(NOTIFY_STREAM, 'xgroup-delconsumer', args[2], ctx.db.id);
  }
  ctx.r.int(pending);
}

function xgroupHelp(ctx: CommandContext): void {
  replyHelp(ctx.r, 'XGROUP', [
    'CREATE <key> <groupname> <id|$> [option]',
    '    Create a new consumer group. Options are:',
    '    * MKSTREAM',
    '      Create the empty stream if it does not exist.',
    '    * ENTRIESREAD entries_read',
    "      Set the group's entries_read counter (internal use).",
    'CREATECONSUMER <key> <groupname> <consumer>',
    '    Create a new consumer in the specified group.',
    'DELCONSUMER <key> <groupname> <consumer>',
    '    Remove the specified consumer.',
    'DESTROY <key> <groupname>',
    '    Remove the specified group.',
    'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
    '    Set the current group ID and entries_read counter.',
  ]);
}

// ---- XACK ----

function xack(ctx: CommandContext, args: string[]): void {
  const s = streamForRead(ctx.db, args[1]);
  const g = s?.group(args[2]);
  if (g === undefined) return ctx.r.int(0);
  const ids = args.slice(3).map((a) => parseId(a, 0, true).id);
  let acked = 0;
  for (const id of ids) if (g.ack(id)) acked++;
  if (acked > 0) ctx.db.modified(args[1]);
  ctx.r.int(acked);
}

// ---- XPENDING ----

function xpending(ctx: CommandContext, args: string[]): void {
  const justInfo = args.length === 3;
  let consumerName: string | null = null;
  let start: StreamID = ZERO_ID;
  let end: StreamID = MAX_ID;
  let count = 0;
  let minIdle = 0;
  if (args.length !== 3 && (args.length < 6 || args.length > 9)) throw new ReplyError(ERR.syntax);
  if (args.length >= 6) {
    let si = 3;
    if (args[3].toLowerCase() === 'idle') {
      minIdle = llArg(args[4]);
      if (args.length < 8) throw new ReplyError(ERR.syntax);
      si += 2;
    }
    count = llArg(args[si + 2]);
    if (count < 0) count = 0;
    start = intervalId(args[si], 0, true);
    end = intervalId(args[si + 1], MAX_ID.seq, false);
    if (si + 3 < args.length) consumerName = args[si + 3];
  }
  const s = streamForRead(ctx.db, args[1]);
  const g = s?.group(args[2]);
  if (g === undefined) throw noGroupError(args[1], args[2]);
  const r = ctx.r;
  if (justInfo) {
    r.array(4);
    r.int(g.pel.size);
    if (g.pel.size === 0) {
      r.null();
      r.null();
      r.nullArray();
      return;
    }
    replyId(r, g.pel.first()![0]);
    replyId(r, g.pel.last()![0]);
    const cs = g.sortedConsumers().filter((c) => c.pel.size > 0);
    r.array(cs.length);
    for (const c of cs) {
      r.array(2);
      r.bulk(c.name);
      r.bulk(String(c.pel.size));
    }
    return;
  }
  let pel = g.pel;
  if (consumerName !== null) {
    const c = g.consumers.get(consumerName);
    if (c === undefined) return r.array(0);
    pel = c.pel;
  }
  const now = Date.now();
  const rows: [StreamID, Nack][] = [];
  if (count > 0) {
    for (const [id, nack] of pel.from(start)) {
      if (cmpId(id, end) > 0) break;
      if (minIdle !== 0 && now - nack.deliveryTime < minIdle) continue;
      rows.push([id, nack]);
      if (rows.length >= count) break;
    }
  }
  r.array(rows.length);
  for (const [id, nack] of rows) {
    r.array(4);
    replyId(r, id);
    r.bulk(nack.consumer!.name);
    r.int(Math.max(0, now - nack.deliveryTime));
    r.int(nack.deliveryCount);
  }
}

// ---- XCLAIM / XAUTOCLAIM ----

/** Give nack (pending id) to consumer, as both claim commands do. */
function claimOne(g: Group, id: StreamID, nack: Nack, consumer: Consumer, time: number, retry: number, justid: boolean): void {
  if (nack.consumer !== consumer) nack.consumer?.pel.delete(id);
  nack.deliveryTime = time;
  if (retry >= 0) nack.deliveryCount = retry;
  else if (!justid) nack.deliveryCount++;
  if (nack.consumer !== consumer) {
    consumer.pel.set(id, nack);
    nack.consumer = consumer;
  }
}

function tryParseId(s: string): StreamID | null {
  try {
    return parseId(s, 0, true).id;
  } catch {
    return null;
  }
}

function xclaim(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  const s = streamForRead(db, args[1]);
  const g = s?.group(args[2]);
  if (g === undefined) throw noGroupError(args[1], args[2]);
  let minIdle = llArg(args[4], 'Invalid min-idle-time argument for XCLAIM');
  if (minIdle < 0) minIdle = 0;
  const ids: StreamID[] = [];
  let j = 5;
  for (; j < args.length; j++) {
    const id = tryParseId(args[j]);
    if (id === null) break;
    ids.push(id);
  }
  const now = Date.now();
  let retry = -1;
  let time = -1;
  let force = false;
  let justid = false;
  let lastId: StreamID = ZERO_ID;
  for (; j < args.length; j++) {
    const more = args.length - 1 - j;
    const opt = args[j].toLowerCase();
    if (opt === 'force') force = true;
    else if (opt === 'justid') justid = true;
    else if (opt === 'idle' && more > 0) time = now - llArg(args[++j], 'Invalid IDLE option argument for XCLAIM');
    else if (opt === 'time' && more > 0) time = llArg(args[++j], 'Invalid TIME option argument for XCLAIM');
    else if (opt === 'retrycount' && more > 0) retry = llArg(args[++j], 'Invalid RETRYCOUNT option argument for XCLAIM');
    else if (opt === 'lastid' && more > 0) lastId = parseId(args[++j], 0, true).id;
    else throw new ReplyError(`ERR Unrecognized XCLAIM option '${args[j]}'`);
  }
  const st = s!;
  let changed = false;
  if (cmpId(lastId, g.lastId) > 0) {
    g.lastId = lastId;
    changed = true;
  }
  if (time !== -1) {
    if (time < 0 || time > now) time = now;
  } else time = now;
  let consumer: Consumer | null = null;
  const out: (() => void)[] = [];
  const r = ctx.r;
  for (const id of ids) {
    let nack = g.pel.get(id);
    const e = st.entry(id);
    if (e === null) {
      // Deleted from the stream: drop it from the PEL too.
      if (nack !== undefined) {
        g.ack(id);
        changed = true;
      }
      continue;
    }
    if (force && nack === undefined) {
      nack = new Nack(null, now, 1);
      g.pel.set(id, nack);
    }
    if (nack === undefined) continue;
    if (nack.consumer !== null && minIdle !== 0 && now - nack.deliveryTime < minIdle) continue;
    consumer ??= consumerFor(g, args[3], db, args[1]);
    claimOne(g, id, nack, consumer, time, retry, justid);
    changed = true;
    out.push(justid ? () => replyId(r, id) : () => replyEntry(r, e));
  }
  if (changed) db.modified(args[1]);
  r.array(out.length);
  for (const f of out) f();
}

function xautoclaim(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  let minIdle = llArg(args[4], 'Invalid min-idle-time argument for XAUTOCLAIM');
  if (minIdle < 0) minIdle = 0;
  const start = intervalId(args[5], 0, true);
  let count = 100;
  let justid = false;
  for (let j = 6; j < args.length; j++) {
    const more = args.length - 1 - j;
    const opt = args[j].toLowerCase();
    if (opt === 'count' && more > 0) {
      const max = Math.floor(9223372036854775807 / 16);
      const c = (() => {
        try {
          return llArg(args[j + 1], 'COUNT must be > 0');
        } catch {
          throw new ReplyError('ERR COUNT must be > 0');
        }
      })();
      if (c < 1 || c > max) throw new ReplyError('ERR COUNT must be > 0');
      count = c;
      j++;
    } else if (opt === 'justid') justid = true;
    else throw new ReplyError(ERR.syntax);
  }
  const s = streamForRead(db, args[1]);
  const g = s?.group(args[2]);
  if (g === undefined) throw noGroupError(args[1], args[2]);
  let attempts = count * 10;
  const now = Date.now();
  let consumer: Consumer | null = null;
  const claimed: (() => void)[] = [];
  const deleted: StreamID[] = [];
  const r = ctx.r;
  let next: StreamID = ZERO_ID;
  let changed = false;
  const it = g.pel.from(start);
  for (;;) {
    const step = it.next();
    if (step.done) break;
    const [id, nack] = step.value;
    if (!(attempts-- > 0 && count > 0)) {
      next = id;
      break;
    }
    const e = s!.entry(id);
    if (e === null) {
      g.ack(id);
      deleted.push(id);
      count--;
      changed = true;
      continue;
    }
    if (minIdle !== 0 && now - nack.deliveryTime < minIdle) continue;
    consumer ??= consumerFor(g, args[3], db, args[1]);
    claimOne(g, id, nack, consumer, now, -1, justid);
    claimed.push(justid ? () => replyId(r, id) : () => replyEntry(r, e));
    count--;
    changed = true;
  }
  it.return(undefined);
  if (changed) db.modified(args[1]);
  r.array(3);
  replyId(r, next);
  r.array(claimed.length);
  for (const f of claimed) f();
  r.array(deleted.length);
  for (const id of deleted) replyId(r, id);
}

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  create: { complexity: 'O(1)', history: [['7.0.0', 'Added the `entries_read` named argument.']] },
  delconsumer: { complexity: 'O(1)' },
  setid: { complexity: 'O(1)', history: [['7.0.0', 'Added the optional `entries_read` argument.']] },
  createconsumer: { complexity: 'O(1)' },
  destroy: { complexity: 'O(N) where N is the number of entries in the group\'s pending entries list (PEL).' },
  help: { complexity: 'O(1)' },
};

const sub = (name: string, arity: number, flags: string, acl: string, summary: string, handler: (ctx: CommandContext, args: string[]) => void, keyFlags: string | null, since = '5.0.0'): CommandSpec =>
  cmd('xgroup|' + name, arity, flags, keyFlags === null ? [0, 0, 0] : [2, 2, 1], acl, { ...G, since, summary, keySpec: keyFlags === null ? undefined : keyAt(2, keyFlags), ...DOCS[name] }, handler);

register(
  {
    ...cmd('xgroup', -2, '', [0, 0, 0], 'slow', { ...G, summary: 'A container for consumer groups commands', complexity: 'Depends on subcommand.' }),
    // In the order redis-server lists them.
    subcommands: [
      sub('create', -5, 'write denyoom', 'write stream slow', 'Create a consumer group.', xgroupCreate, 'RW insert'),
      sub('delconsumer', 5, 'write', 'write stream slow', 'Delete a consumer from a consumer group.', xgroupDelConsumer, 'RW delete'),
      sub('setid', -5, 'write', 'write stream slow', 'Set a consumer group to an arbitrary last delivered ID value.', xgroupSetid, 'RW update'),
      sub('createconsumer', 5, 'write denyoom', 'write stream slow', 'Create a consumer in a consumer group.', xgroupCreateConsumer, 'RW insert', '6.2.0'),
      sub('destroy', 4, 'write', 'write stream slow', 'Destroy a consumer group.', xgroupDestroy, 'RW delete'),
      sub('help', 2, 'loading stale', 'stream slow', 'Show helpful text about the different subcommands', xgroupHelp, null),
    ],
  },
  cmd('xack', -4, 'write fast', [1, 1, 1], 'write stream fast', { ...G, summary: 'Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.', keySpec: keyAt(1, 'RW update'), complexity: 'O(1) for each message ID processed.' }, xack),
  cmd('xpending', -3, 'readonly', [1, 1, 1], 'read stream slow', { ...G, summary: 'Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.', keySpec: keyAt(1, 'RO access'), tips: NONDETERMINISTIC, complexity: 'O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.', history: [['6.2.0', 'Added the `IDLE` option and exclusive range intervals.']] }, xpending),
  cmd('xclaim', -6, 'write fast', [1, 1, 1], 'write stream fast', { ...G, summary: 'Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.', keySpec: keyAt(1, 'RW update'), tips: NONDETERMINISTIC, complexity: 'O(log N) with N being the number of messages in the PEL of the consumer group.' }, xclaim),
  cmd('xautoclaim', -6, 'write fast', [1, 1, 1], 'write stream fast', { ...G, since: '6.2.0', summary: 'Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.', keySpec: keyAt(1, 'RW delete'), tips: NONDETERMINISTIC, complexity: 'O(1) if COUNT is small.', history: [['7.0.0', 'Added an element to the reply array, containing deleted entries the command cleared from the PEL']] }, xautoclaim),
);
