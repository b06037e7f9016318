/**
 * Stream family, part one (t_stream.c): XADD, XRANGE, XREVRANGE, XLEN,
 * XDEL, XTRIM, XSETID, and the reads XREAD / XREADGROUP with their
 * blocking forms. Groups are in stream-groups.ts, XINFO in stream-info.ts.
 */
import { register } from './registry.js';
import { cmd } from './spec.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import { Reply } from '../protocol/reply.js';
import type { CommandContext } from '../server/context.js';
import type { Database } from '../keyspace/db.js';
import { blockOnKeys, mayBlock } from '../server/blocking.js';
import { NODE_MAX_SIZE, StreamValue, nodeLimits, type TrimArgs } from '../types/stream.js';
import { MAX_ID, ZERO_ID, addU64, cmpId, cmpU64, decrId, incrId, isMax, isZero, parseId, type StreamID } from '../types/stream-id.js';
import type { Group } from '../types/stream-groups.js';
import { NONDETERMINISTIC, keysAfterStreams, llArg, noGroupError, replyConsumerHistory, replyNewEntries, replyId, streamForRead, streamForWrite } from './stream-common.js';
import { keyAt } from './spec.js';
import { notify, NOTIFY_STREAM } from '../keyspace/notify.js';

const G = { group: 'stream', since: '5.0.0' };

interface AddTrim {
  trim: TrimArgs | null;
  /** Index of the ID argument (XADD). */
  idPos: number;
  id: StreamID | null;
  seqGiven: boolean;
  noMkStream: boolean;
}

/** `XADD key * field value...`, the usual form: nothing to parse, nothing to allocate. */
const PLAIN_ADD: Readonly<AddTrim> = Object.freeze({ trim: null, idPos: 2, id: null, seqGiven: true, noMkStream: false });

/**
 * The last XADD's options (its arguments from 2 up to an ID of `*`) and what
 * they parsed to: BullMQ sends the same `MAXLEN ~ 10000 *` with every event,
 * four times per job. Valid while the node limits (which an approximate
 * trim's LIMIT derives from) are the same object: CONFIG SET replaces it.
 */
let lastOpts: string[] = [];
let lastParsed: AddTrim | null = null;
let lastLimits: object | null = null;

/** streamParseAddOrTrimArgsOrReply */
function parseAddTrim(args: string[], xadd: boolean): AddTrim {
  if (xadd && args[2] === '*') return PLAIN_ADD;
  if (xadd && lastParsed !== null && lastLimits === nodeLimits()) {
    const n = lastOpts.length;
    let same = args.length > n + 2 && args[n + 2] === '*';
    for (let k = 0; same && k < n; k++) same = args[k + 2] === lastOpts[k];
    if (same) return lastParsed;
  }
  const parsed = parseAddTrimArgs(args, xadd);
  if (xadd && parsed.id === null) {
    lastOpts = args.slice(2, parsed.idPos);
    if (parsed.trim !== null) Object.freeze(parsed.trim);
    lastParsed = Object.freeze(parsed);
    lastLimits = nodeLimits();
  }
  return parsed;
}

function parseAddTrimArgs(args: string[], xadd: boolean): AddTrim {
  const out: AddTrim = { trim: null, idPos: 0, id: null, seqGiven: true, noMkStream: false };
  let strategy: 'maxlen' | 'minid' | null = null;
  let approx = false;
  let maxlen = 0;
  let minid: StreamID = ZERO_ID;
  let limit = 0;
  let limitGiven = false;
  let i = 2;
  for (; i < args.length; i++) {
    const more = args.length - 1 - i;
    const opt = args[i];
    const lo = opt.toLowerCase();
    if (xadd && opt === '*') break;
    if ((lo === 'maxlen' || lo === 'minid') && more > 0) {
      if (strategy !== null) throw new ReplyError('ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
      approx = false;
      const next = args[i + 1];
      if (more >= 2 && next === '~') {
        approx = true;
        i++;
      } else if (more >= 2 && next === '=') i++;
      if (lo === 'maxlen') {
        maxlen = llArg(args[i + 1]);
        if (maxlen < 0) throw new ReplyError('ERR The MAXLEN argument must be >= 0.');
      } else {
        minid = parseId(args[i + 1], 0, true).id;
      }
      i++;
      strategy = lo;
    } else if (lo === 'limit' && more > 0) {
      limit = llArg(args[i + 1]);
      if (limit < 0) throw new ReplyError('ERR The LIMIT argument must be >= 0.');
      limitGiven = true;
      i++;
    } else if (xadd && lo === 'nomkstream') {
      out.noMkStream = true;
    } else if (xadd) {
      const p = parseId(opt, 0, true, true);
      out.id = p.id;
      out.seqGiven = p.seqGiven;
      break;
    } else throw new ReplyError(ERR.syntax);
  }
  out.idPos = i;
  if (limit !== 0 && strategy === null) throw new ReplyError('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
  if (!xadd && strategy === null) throw new ReplyError('ERR syntax error, XTRIM must be called with a trimming strategy');
  if (limitGiven) {
    if (!approx) throw new ReplyError('ERR syntax error, LIMIT cannot be used without the special ~ option');
  } else if (approx) {
    limit = 100 * nodeLimits().entries;
    if (limit <= 0) limit = 10000;
    if (limit > 1000000) limit = 1000000;
  } else limit = 0;
  if (strategy !== null) out.trim = { strategy, approx, limit, maxlen, minid };
  return out;
}

function xadd(ctx: CommandContext, args: string[]): void {
  const a = parseAddTrim(args, true);
  const fieldPos = a.idPos + 1;
  const n = args.length - fieldPos;
  if (n < 2 || n % 2 === 1) throw new ReplyError(ERR.arity('xadd'));
  if (a.id !== null && a.seqGiven && isZero(a.id)) throw new ReplyError('ERR The ID specified in XADD must be greater than 0-0');
  const db = ctx.db;
  const key = args[1];
  let s = streamForWrite(db, key);
  if (s === undefined) {
    if (a.noMkStream) return ctx.r.null();
    s = new StreamValue();
    db.set(key, s);
  }
  const last = s.lastId;
  if (isMax(last.ms) && isMax(last.seq)) throw new ReplyError('ERR The stream has exhausted the last possible ID, unable to add more items');
  let id: StreamID;
  const tooSmall = 'ERR The ID specified in XADD is equal or smaller than the target stream top item';
  if (a.id !== null) {
    if (a.seqGiven) id = a.id;
    else if (cmpU64(last.ms, a.id.ms) === 0) {
      // Redis fails here without setting errno, and so answers with its other error text.
      if (isMax(last.seq)) throw new ReplyError('ERR Elements are too large to be stored');
      id = { ms: last.ms, seq: addU64(last.seq, 1) };
    } else id = a.id;
  } else {
    // The batch clock (read when the client's input arrived, and every 32
    // commands): Date.now() per XADD was 2.5% of XADD's time. A script's
    // clock is frozen at its start, so there it reads the time as Redis
    // 7.0's mstime() does.
    const ks = ctx.ks;
    const ms = ks.clockFrozen ? Date.now() : ks.now;
    id = cmpU64(ms, last.ms) > 0 ? { ms, seq: 0 } : incrId(last)!;
  }
  if (cmpId(id, last) <= 0) throw new ReplyError(tooSmall);
  let total = 0;
  for (let i = fieldPos; i < args.length; i++) total += args[i].length;
  if (total > NODE_MAX_SIZE) throw new ReplyError('ERR Elements are too large to be stored');
  s.append(id, args, fieldPos);
  replyId(ctx.r, id);
  notify(NOTIFY_STREAM, 'xadd', key, db.id);
  if (a.trim !== null && s.trim(a.trim) > 0) notify(NOTIFY_STREAM, 'xtrim', key, db.id);
  db.modified(key);
  db.signalReady(key);
}

/** streamParseIntervalIDOrReply: `(` makes the bound exclusive. */
function intervalId(s: string, missingSeq: number | bigint, start: boolean): StreamID {
  if (s.length > 1 && s[0] === '(') {
    const id = parseId(s.slice(1), missingSeq, true).id;
    const moved = start ? incrId(id) : decrId(id);
    if (moved === null) throw new ReplyError(start ? 'ERR invalid start ID for the interval' : 'ERR invalid end ID for the interval');
    return moved;
  }
  return parseId(s, missingSeq, false).id;
}
export { intervalId };

function xrange(ctx: CommandContext, args: string[], rev: boolean): void {
  const start = intervalId(rev ? args[3] : args[2], 0, true);
  const end = intervalId(rev ? args[2] : args[3], MAX_ID.seq, false);
  let count = -1;
  for (let j = 4; j < args.length; j++) {
    const o = args[j];
    if ((o === 'COUNT' || o.toLowerCase() === 'count') && j + 1 < args.length) {
      count = llArg(args[++j]);
      if (count < 0) count = 0;
    } else throw new ReplyError(ERR.syntax);
  }
  const s = streamForRead(ctx.db, args[1]);
  if (s === undefined) return ctx.r.array(0);
  if (count === 0) return ctx.r.nullArray();
  s.writeRange(ctx.r, start, end, rev, count === -1 ? 0 : count);
}

function xdel(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  const key = args[1];
  const s = streamForWrite(db, key);
  if (s === undefined) return ctx.r.int(0);
  const ids = args.slice(2).map((a) => parseId(a, 0, true).id);
  let deleted = 0;
  let firstGone = false;
  for (const id of ids) {
    if (!s.deleteId(id)) continue;
    if (cmpId(id, s.firstId) === 0) firstGone = true;
    if (cmpId(id, s.maxDeletedId) > 0) s.maxDeletedId = id;
    deleted++;
  }
  if (deleted > 0) {
    if (s.length === 0) s.firstId = ZERO_ID;
    else if (firstGone) s.firstId = s.edgeId(false)!;
    db.modified(key);
    notify(NOTIFY_STREAM, 'xdel', key, db.id);
  }
  ctx.r.int(deleted);
}

function xtrim(ctx: CommandContext, args: string[]): void {
  const a = parseAddTrim(args, false);
  const db = ctx.db;
  const s = streamForWrite(db, args[1]);
  if (s === undefined) return ctx.r.int(0);
  const n = s.trim(a.trim!);
  if (n > 0) {
    db.modified(args[1]);
    notify(NOTIFY_STREAM, 'xtrim', args[1], db.id);
  }
  ctx.r.int(n);
}

function xsetid(ctx: CommandContext, args: string[]): void {
  const id = parseId(args[2], 0, true).id;
  let entriesAdded = -1;
  let maxDel: StreamID = ZERO_ID;
  for (let i = 3; i < args.length; i++) {
    const more = args.length - 1 - i;
    const opt = args[i].toLowerCase();
    if (opt === 'entriesadded' && more > 0) {
      entriesAdded = llArg(args[i + 1]);
      if (entriesAdded < 0) throw new ReplyError('ERR entries_added must be positive');
      i++;
    } else if (opt === 'maxdeletedid' && more > 0) {
      maxDel = parseId(args[i + 1], 0, true).id;
      if (cmpId(id, maxDel) < 0) throw new ReplyError('ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
      i++;
    } else throw new ReplyError(ERR.syntax);
  }
  const db = ctx.db;
  const s = streamForWrite(db, args[1]);
  if (s === undefined) throw new ReplyError(ERR.noSuchKey);
  if (s.length > 0) {
    if (cmpId(id, s.lastValidId()) < 0) throw new ReplyError('ERR The ID specified in XSETID is smaller than the target stream top item');
    if (entriesAdded !== -1 && s.length > entriesAdded) throw new ReplyError('ERR The entries_added specified in XSETID is smaller than the target stream length');
  }
  s.lastId = id;
  if (entriesAdded !== -1) s.entriesAdded = entriesAdded;
  if (!isZero(maxDel)) s.maxDeletedId = maxDel;
  db.modified(args[1]);
  notify(NOTIFY_STREAM, 'xsetid', args[1], db.id);
  ctx.r.ok();
}

// ---- XREAD / XREADGROUP ----

const XREAD_BLOCKED_DEFAULT_COUNT = 1000;
/** Per-stream parts of a reply are written here first: how many streams answer is known only after serving them. */
let scratch = new Reply();

function xread(ctx: CommandContext, args: string[]): void {
  const isGroup = args[0].length === 10;
  let timeout = -1;
  let count = 0;
  let streamsArg = 0;
  let nstreams = 0;
  let noack = false;
  let groupName: string | null = null;
  let consumerName = '';
  for (let i = 1; i < args.length; i++) {
    const more = args.length - i - 1;
    const o = args[i].toLowerCase();
    if (o === 'block' && more > 0) {
      // Redis keeps this refusal for scripts (CLIENT_DENY_BLOCKING alone would make BLOCK a no-op there).
      if (ctx.client.fromScript) throw new ReplyError(`ERR ${args[0]} command is not allowed with BLOCK option from scripts`);
      i++;
      timeout = llArg(args[i], 'timeout is not an integer or out of range');
      if (timeout < 0) throw new ReplyError('ERR timeout is negative');
    } else if (o === 'count' && more > 0) {
      i++;
      count = llArg(args[i]);
      if (count < 0) count = 0;
    } else if (o === 'streams' && more > 0) {
      streamsArg = i + 1;
      nstreams = args.length - streamsArg;
      if (nstreams % 2 !== 0) throw new ReplyError("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      nstreams /= 2;
      break;
    } else if (o === 'group' && more >= 2) {
      if (!isGroup) throw new ReplyError('ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.');
      groupName = args[i + 1];
      consumerName = args[i + 2];
      i += 2;
    } else if (o === 'noack') {
      if (!isGroup) throw new ReplyError('ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.');
      noack = true;
    } else throw new ReplyError(ERR.syntax);
  }
  if (streamsArg === 0) throw new ReplyError(ERR.syntax);
  if (isGroup && groupName === null) throw new ReplyError('ERR Missing GROUP option for XREADGROUP');
  const db = ctx.db;
  const keys = args.slice(streamsArg, streamsArg + nstreams);
  const ids: StreamID[] = new Array(nstreams);
  const groups: (Group | null)[] = new Array(nstreams).fill(null);
  for (let k = 0; k < nstreams; k++) {
    const key = keys[k];
    const idArg = args[streamsArg + nstreams + k];
    const s = streamForRead(db, key);
    if (groupName !== null) {
      const g = s?.group(groupName);
      if (g === undefined) throw noGroupError(key, groupName, ' in XREADGROUP with GROUP option');
      groups[k] = g;
    }
    if (idArg === '$') {
      if (isGroup) throw new ReplyError('ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.');
      ids[k] = s !== undefined ? s.lastId : ZERO_ID;
    } else if (idArg === '>') {
      if (!isGroup) throw new ReplyError('ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.');
      ids[k] = MAX_ID;
    } else ids[k] = parseId(idArg, 0, true).id;
  }
  const out = scratch;
  out.proto = ctx.r.proto;
  out.drop();
  let served = 0;
  try {
    for (let k = 0; k < nstreams; k++) {
      const key = keys[k];
      const s = streamForRead(db, key);
      if (s === undefined) continue;
      const gt = ids[k];
      const g = groups[k];
      let now = false;
      let history = false;
      if (g !== null) {
        if (!(isMax(gt.ms) && isMax(gt.seq))) now = history = true;
        else if (s.length > 0 && cmpId(s.lastValidId(), g.lastId) > 0) now = true;
      } else if (s.length > 0 && cmpId(s.lastValidId(), gt) > 0) now = true;
      if (!now) continue;
      served++;
      if (out.proto === 2) out.array(2);
      out.bulk(key);
      if (g !== null) {
        const consumer = consumerFor(g, consumerName, db, key);
        if (history) {
          // The ID is exclusive: history after it (a full ID can have no successor, then nothing).
          const from = incrId(gt);
          if (from === null) out.array(0);
          else replyConsumerHistory(out, s, from, count, consumer);
        }
        else replyNewEntries(out, s, g.lastId, count, g, consumer, noack);
        db.modified(key);
      } else replyNewEntries(out, s, gt, count, null, null, false);
    }
    if (served > 0) {
      if (ctx.r.proto === 2) ctx.r.array(served);
      else ctx.r.map(served);
      ctx.r.rawBuffer(out.pendingBytes());
      return;
    }
  } finally {
    out.drop();
    // Do not keep the slab a huge reply grew.
    if (served > 0 && ctx.r.pending > 1 << 20) scratch = new Reply();
  }
  if (timeout === -1 || !mayBlock(ctx)) return ctx.r.nullArray();
  const gts = new Map<string, StreamID>();
  for (let k = 0; k < nstreams; k++) if (!gts.has(keys[k])) gts.set(keys[k], ids[k]);
  const blockCount = count !== 0 ? count : XREAD_BLOCKED_DEFAULT_COUNT;
  blockOnKeys(ctx, keys, timeout, (r, bdb, key) => serveBlocked(r, bdb, key, gts.get(key)!, groupName, consumerName, noack, blockCount));
}

/** streamLookupConsumer (refreshing seen-time) or streamCreateConsumer, which announces it. */
export function consumerFor(g: Group, name: string, db: Database, key: string) {
  const now = Date.now();
  const c = g.consumers.get(name);
  if (c !== undefined) {
    c.seenTime = now;
    return c;
  }
  notify(NOTIFY_STREAM, 'xgroup-createconsumer', key, db.id);
  return g.addConsumer(name, now)!;
}

/** serveClientsBlockedOnStreamKey and unblockDeletedStreamReadgroupClients, for one client. */
function serveBlocked(r: Reply, db: Database, key: string, gt: StreamID, groupName: string | null, consumerName: string, noack: boolean, count: number): boolean {
  const s = db.peek(key);
  if (!(s instanceof StreamValue)) {
    // A deleted or retyped key: XREADGROUP's group is gone with it.
    if (groupName === null) return false;
    r.error('UNBLOCKED the stream key no longer exists');
    return true;
  }
  let g: Group | null = null;
  if (groupName !== null) {
    g = s.group(groupName) ?? null;
    if (g === null) {
      r.error('NOGROUP the consumer group this client was blocked on no longer exists');
      return true;
    }
    gt = g.lastId;
  }
  if (cmpId(s.lastId, gt) <= 0) return false;
  const consumer = g !== null ? consumerFor(g, consumerName, db, key) : null;
  if (r.proto === 2) {
    r.array(1);
    r.array(2);
  } else r.map(1);
  r.bulk(key);
  replyNewEntries(r, s, gt, count, g, consumer, noack);
  if (g !== null) db.modified(key);
  return true;
}

/** XREAD/XREADGROUP keys: the arguments after STREAMS, first half. */
function xreadKeys(args: string[]): number[] {
  for (let i = 1; i < args.length; i++) {
    if (args[i].toLowerCase() === 'streams') {
      const n = Math.floor((args.length - i - 1) / 2);
      const out: number[] = [];
      for (let k = 0; k < n; k++) out.push(i + 1 + k);
      return out;
    }
  }
  return [];
}

const ks1 = [1, 1, 1] as [number, number, number];
register(
  cmd('xadd', -5, 'write denyoom fast', ks1, 'write stream fast', { ...G, summary: 'Appends a new entry to a stream', keySpec: keyAt(1, 'RW update', 'UPDATE instead of INSERT because of the optional trimming feature'), tips: NONDETERMINISTIC, complexity: 'O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.', history: [['6.2.0', 'Added the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` option.'], ['7.0.0', 'Added support for the `<ms>-*` explicit ID form.']] }, xadd),
  cmd('xrange', -4, 'readonly', ks1, 'read stream slow', { ...G, summary: 'Return a range of elements in a stream, with IDs matching the specified IDs interval', keySpec: keyAt(1, 'RO access'), complexity: 'O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).', history: [['6.2.0', 'Added exclusive ranges.']] }, (ctx, args) => xrange(ctx, args, false)),
  cmd('xrevrange', -4, 'readonly', ks1, 'read stream slow', { ...G, summary: 'Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE', keySpec: keyAt(1, 'RO access'), complexity: 'O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).', history: [['6.2.0', 'Added exclusive ranges.']] }, (ctx, args) => xrange(ctx, args, true)),
  cmd('xlen', 2, 'readonly fast', ks1, 'read stream fast', { ...G, summary: 'Return the number of entries in a stream', keySpec: keyAt(1, 'RO'), complexity: 'O(1)' }, (ctx, args) => {
    const s = streamForRead(ctx.db, args[1]);
    ctx.r.int(s === undefined ? 0 : s.length);
  }),
  cmd('xdel', -3, 'write fast', ks1, 'write stream fast', { ...G, summary: 'Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.', keySpec: keyAt(1, 'RW delete'), complexity: 'O(1) for each single item to delete in the stream, regardless of the stream size.' }, xdel),
  cmd('xtrim', -4, 'write', ks1, 'write stream slow', { ...G, summary: "Trims the stream to (approximately if '~' is passed) a certain size", keySpec: keyAt(1, 'RW delete'), tips: NONDETERMINISTIC, complexity: 'O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.', history: [['6.2.0', 'Added the `MINID` trimming strategy and the `LIMIT` option.']] }, xtrim),
  cmd('xsetid', -3, 'write denyoom fast', ks1, 'write stream fast', { ...G, summary: 'An internal command for replicating stream values', keySpec: keyAt(1, 'RW update'), complexity: 'O(1)', history: [['7.0.0', 'Added the `entries_added` and `max_deleted_entry_id` arguments.']] }, xsetid),
  cmd('xread', -4, 'readonly blocking', [0, 0, 0], 'read stream slow blocking', { ...G, summary: 'Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.', getKeys: xreadKeys, keySpec: keysAfterStreams(1), complexity: 'For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.' }, xread),
  cmd('xreadgroup', -7, 'write blocking', [0, 0, 0], 'write stream slow blocking', { ...G, summary: 'Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.', getKeys: xreadKeys, keySpec: keysAfterStreams(4), complexity: 'For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.' }, xread),
);
