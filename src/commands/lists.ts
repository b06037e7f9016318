/**
 * List family (t_list.c): pushes, pops, ranges, LPOS, LMOVE, LMPOP and the
 * blocking variants (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP).
 */
import { replyListRange } from '../memory/collection-replies.js';
import { register } from './registry.js';
import { keyAt, cmd } from './spec.js';
import { ERR, ReplyError, toFloat, toSafeInt } from '../protocol/errors.js';
import { ListValue } from '../types/list.js';
import type { Database } from '../keyspace/db.js';
import type { CommandContext } from '../server/context.js';
import type { Reply } from '../protocol/reply.js';
import { blockOnKeys, mayBlock } from '../server/blocking.js';
import { notify, NOTIFY_GENERIC, NOTIFY_LIST } from '../keyspace/notify.js';

const G = { group: 'list' };
const LONG_MAX = 9223372036854775807n;

/** A list to change in place, undefined if missing; WRONGTYPE otherwise. */
function listForWrite(db: Database, key: string): ListValue | undefined {
  const v = db.getForWrite(key);
  if (v === undefined || v instanceof ListValue) return v;
  throw new ReplyError(ERR.wrongType);
}

function listForRead(db: Database, key: string): ListValue | undefined {
  const v = db.get(key);
  if (v === undefined || v instanceof ListValue) return v;
  throw new ReplyError(ERR.wrongType);
}

/** A C `long` argument (getLongFromObjectOrReply); values past 2^53 saturate, which list indexes never notice. */
function longArg(s: string, err: string = ERR.notInt): number {
  const n = toSafeInt(s);
  if (n !== null) return n;
  if (!/^-?[1-9][0-9]*$/.test(s) || s.length > 20) throw new ReplyError(err);
  const b = BigInt(s);
  if (b > LONG_MAX || b < -LONG_MAX - 1n) throw new ReplyError(err);
  return Number(b);
}

/** getPositiveLongFromObjectOrReply with Redis's texts. */
function positiveArg(s: string, msg?: string): number {
  const n = longArg(s, msg ? 'ERR ' + msg : ERR.notInt);
  if (n < 0) throw new ReplyError('ERR ' + (msg ?? 'value is out of range, must be positive'));
  return n;
}

/** LEFT/RIGHT: true for the head. */
function whereArg(s: string): boolean {
  const l = s.toLowerCase();
  if (l === 'left') return true;
  if (l === 'right') return false;
  throw new ReplyError(ERR.syntax);
}

/** Blocking timeout in seconds (float) to ms; 0 = forever. */
export function timeoutArg(s: string): number {
  const f = toFloat(s);
  if (f === null || Number.isNaN(f)) throw new ReplyError('ERR timeout is not a float or out of range');
  const ms = Math.ceil(f * 1000);
  if (ms < 0) throw new ReplyError('ERR timeout is negative');
  if (!Number.isFinite(ms) || ms > 9.2e18) throw new ReplyError('ERR timeout is out of range');
  // Node timers cap at 2^31-1 ms (~24 days); longer waits are as good as forever.
  return ms > 2147483647 ? 0 : ms;
}

function push(ctx: CommandContext, args: string[], head: boolean, onlyExisting: boolean): void {
  const db = ctx.db;
  const key = args[1];
  let l = listForWrite(db, key);
  if (l === undefined) {
    if (onlyExisting) return ctx.r.int(0);
    l = new ListValue(args.length - 2);
    fill(l, args, head);
    db.set(key, l);
  } else {
    fill(l, args, head);
    db.modified(key);
  }
  db.signalReady(key);
  notify(NOTIFY_LIST, head ? 'lpush' : 'rpush', key, db.id);
  ctx.r.int(l.size);
}

function fill(l: ListValue, args: string[], head: boolean): void {
  if (head) for (let i = 2; i < args.length; i++) l.pushHead(args[i]);
  else for (let i = 2; i < args.length; i++) l.pushTail(args[i]);
}

/** After elements left a list by `event`: announce it, drop the key if empty, else note the change. */
function removed(db: Database, key: string, l: ListValue, event: string): void {
  notify(NOTIFY_LIST, event, key, db.id);
  if (l.size === 0) {
    db.delete(key);
    notify(NOTIFY_GENERIC, 'del', key, db.id);
  } else db.modified(key);
}

const popEvent = (head: boolean) => (head ? 'lpop' : 'rpop');

/** Pop up to count elements from one end, in pop order. */
function popMany(l: ListValue, head: boolean, count: number): string[] {
  const n = Math.min(count, l.size);
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = (head ? l.popHead() : l.popTail()) as string;
  return out;
}

function pop(ctx: CommandContext, args: string[], head: boolean): void {
  if (args.length > 3) throw new ReplyError(ERR.arity(args[0].toLowerCase()));
  const hasCount = args.length === 3;
  const count = hasCount ? positiveArg(args[2]) : 0;
  const db = ctx.db;
  const key = args[1];
  const l = listForWrite(db, key);
  if (l === undefined) return hasCount ? ctx.r.nullArray() : ctx.r.null();
  if (hasCount) {
    if (count === 0) return ctx.r.array(0);
    ctx.r.bulks(popMany(l, head, count));
  } else {
    ctx.r.bulk((head ? l.popHead() : l.popTail()) as string);
  }
  removed(db, key, l, popEvent(head));
}

/** Clamp LRANGE/LTRIM-style indexes; returns null for an empty range. */
function clampRange(len: number, start: number, end: number): [number, number] | null {
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (start > end || start >= len) return null;
  if (end >= len) end = len - 1;
  return [start, end];
}

function lrange(ctx: CommandContext, args: string[]): void {
  const start = longArg(args[2]);
  const end = longArg(args[3]);
  const l = listForRead(ctx.db, args[1]);
  if (l === undefined) return ctx.r.array(0);
  const rg = clampRange(l.size, start, end);
  if (rg === null) return ctx.r.array(0);
  replyListRange(ctx, l, rg[0], rg[1]);
}

function lindex(ctx: CommandContext, args: string[]): void {
  const l = listForRead(ctx.db, args[1]);
  let i = longArg(args[2]);
  if (l === undefined) return ctx.r.null();
  if (i < 0) i += l.size;
  if (i < 0 || i >= l.size) return ctx.r.null();
  ctx.r.bulk(l.at(i));
}

function lset(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  const l = listForWrite(db, args[1]);
  let i = longArg(args[2]);
  if (l === undefined) throw new ReplyError(ERR.noSuchKey);
  if (i < 0) i += l.size;
  if (i < 0 || i >= l.size) throw new ReplyError('ERR index out of range');
  l.setAt(i, args[3]);
  db.modified(args[1]);
  notify(NOTIFY_LIST, 'lset', args[1], db.id);
  ctx.r.ok();
}

function linsert(ctx: CommandContext, args: string[]): void {
  const where = args[2].toLowerCase();
  if (where !== 'before' && where !== 'after') throw new ReplyError(ERR.syntax);
  const db = ctx.db;
  const l = listForWrite(db, args[1]);
  if (l === undefined) return ctx.r.int(0);
  const i = l.indexOf(args[3]);
  if (i < 0) return ctx.r.int(-1);
  l.insertAt(where === 'before' ? i : i + 1, args[4]);
  db.modified(args[1]);
  notify(NOTIFY_LIST, 'linsert', args[1], db.id);
  ctx.r.int(l.size);
}

function lrem(ctx: CommandContext, args: string[]): void {
  const count = longArg(args[2]);
  const db = ctx.db;
  const l = listForWrite(db, args[1]);
  if (l === undefined) return ctx.r.int(0);
  const n = l.remove(args[3], count);
  if (n > 0) removed(db, args[1], l, 'lrem');
  ctx.r.int(n);
}

function ltrim(ctx: CommandContext, args: string[]): void {
  const start = longArg(args[2]);
  const end = longArg(args[3]);
  const db = ctx.db;
  const l = listForWrite(db, args[1]);
  if (l === undefined) return ctx.r.ok();
  const rg = clampRange(l.size, start, end);
  if (rg === null) l.trim(1, 0);
  else l.trim(rg[0], rg[1]);
  removed(db, args[1], l, 'ltrim');
  ctx.r.ok();
}

function lpos(ctx: CommandContext, args: string[]): void {
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  for (let j = 3; j < args.length; j++) {
    const opt = args[j].toLowerCase();
    const more = j < args.length - 1;
    if (opt === 'rank' && more) {
      rank = longArg(args[++j]);
      if (rank === 0) throw new ReplyError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
    } else if (opt === 'count' && more) {
      count = positiveArg(args[++j], "COUNT can't be negative");
    } else if (opt === 'maxlen' && more) {
      maxlen = positiveArg(args[++j], "MAXLEN can't be negative");
    } else {
      throw new ReplyError(ERR.syntax);
    }
  }
  // Redis negates RANK, so LONG_MIN cannot be expressed.
  if (rank < -9223372036854775807) throw new ReplyError('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  const l = listForRead(ctx.db, args[1]);
  if (l === undefined) return count !== -1 ? ctx.r.array(0) : ctx.r.null();
  const fromTail = rank < 0;
  if (fromTail) rank = -rank;
  const ele = args[2];
  const len = l.size;
  const scan = maxlen === 0 ? len : Math.min(maxlen, len);
  const found: number[] = [];
  let matches = 0;
  for (let k = 0; k < scan; k++) {
    const idx = fromTail ? len - 1 - k : k;
    if (l.at(idx) !== ele) continue;
    matches++;
    if (matches < rank) continue;
    found.push(idx);
    if (count === -1 || (count !== 0 && found.length >= count)) break;
  }
  if (count !== -1) {
    ctx.r.array(found.length);
    for (const i of found) ctx.r.int(i);
  } else if (found.length > 0) ctx.r.int(found[0]);
  else ctx.r.null();
}

/**
 * Move one element from src (already checked non-empty) to dst; writes the
 * element as a bulk reply. Throws WRONGTYPE (nothing moved) if dst is not a list.
 */
function moveOne(db: Database, r: Reply, src: string, l: ListValue, dst: string, fromHead: boolean, toHead: boolean): void {
  let d = src === dst ? l : listForWrite(db, dst);
  const v = (fromHead ? l.popHead() : l.popTail()) as string;
  if (d === undefined) {
    d = new ListValue();
    d.pushHead(v);
    db.set(dst, d);
  } else {
    if (toHead) d.pushHead(v);
    else d.pushTail(v);
    db.modified(dst);
  }
  notify(NOTIFY_LIST, toHead ? 'lpush' : 'rpush', dst, db.id);
  if (src !== dst) removed(db, src, l, popEvent(fromHead));
  else notify(NOTIFY_LIST, popEvent(fromHead), src, db.id);
  db.signalReady(dst);
  r.bulk(v);
}

function lmove(ctx: CommandContext, src: string, dst: string, fromHead: boolean, toHead: boolean): void {
  const db = ctx.db;
  const l = listForWrite(db, src);
  if (l === undefined) return ctx.r.null();
  if (src !== dst) listForWrite(db, dst);
  moveOne(db, ctx.r, src, l, dst, fromHead, toHead);
}

function blmove(ctx: CommandContext, src: string, dst: string, fromHead: boolean, toHead: boolean, timeoutMs: number): void {
  const l = listForWrite(ctx.db, src);
  if (l !== undefined) return lmove(ctx, src, dst, fromHead, toHead);
  if (!mayBlock(ctx)) return ctx.r.null();
  blockOnKeys(ctx, [src], timeoutMs, (r, db, key) => {
    const v = db.getForWrite(key);
    if (!(v instanceof ListValue) || v.size === 0) return false;
    if (key !== dst) {
      const d = db.getForWrite(dst);
      if (d !== undefined && !(d instanceof ListValue)) {
        // Redis answers the error and unblocks; the element stays.
        r.error(ERR.wrongType);
        return true;
      }
    }
    moveOne(db, r, key, v, dst, fromHead, toHead);
    return true;
  });
}

/** LMPOP/BLMPOP reply: [key, [elements]]. */
function replyKeyElements(r: Reply, key: string, els: string[]): void {
  r.array(2);
  r.bulk(key);
  r.bulks(els);
}

/** Parse `numkeys key... LEFT|RIGHT [COUNT n]` from index i. */
function parseMpop(args: string[], i: number): { keys: string[]; head: boolean; count: number } {
  const numkeys = longArg(args[i], 'ERR numkeys should be greater than 0');
  if (numkeys < 1) throw new ReplyError('ERR numkeys should be greater than 0');
  const whereIdx = i + numkeys + 1;
  if (whereIdx >= args.length) throw new ReplyError(ERR.syntax);
  const head = whereArg(args[whereIdx]);
  let count = -1;
  for (let j = whereIdx + 1; j < args.length; j++) {
    if (count === -1 && args[j].toLowerCase() === 'count' && j < args.length - 1) {
      count = longArg(args[++j], 'ERR count should be greater than 0');
      if (count < 1) throw new ReplyError('ERR count should be greater than 0');
    } else throw new ReplyError(ERR.syntax);
  }
  return { keys: args.slice(i + 1, whereIdx), head, count: count === -1 ? 1 : count };
}

/**
 * BLPOP/BRPOP (count -1: reply [key, element]) and BLMPOP (count >= 1:
 * reply [key, [elements]]): pop from the first non-empty key, or block.
 */
function blockingPop(ctx: CommandContext, keys: string[], head: boolean, timeoutMs: number, count: number): void {
  const db = ctx.db;
  for (const key of keys) {
    const l = listForWrite(db, key);
    if (l === undefined || l.size === 0) continue;
    popReply(db, ctx.r, key, l, head, count);
    return;
  }
  if (!mayBlock(ctx)) return ctx.r.nullArray();
  blockOnKeys(ctx, keys, timeoutMs, (r, bdb, key) => {
    const v = bdb.getForWrite(key);
    if (!(v instanceof ListValue) || v.size === 0) return false;
    popReply(bdb, r, key, v, head, count);
    return true;
  });
}

function popReply(db: Database, r: Reply, key: string, l: ListValue, head: boolean, count: number): void {
  if (count === -1) {
    r.array(2);
    r.bulk(key);
    r.bulk((head ? l.popHead() : l.popTail()) as string);
  } else {
    replyKeyElements(r, key, popMany(l, head, count));
  }
  removed(db, key, l, popEvent(head));
}

function mpopKeys(numkeysIdx: number) {
  return (args: string[]): number[] => {
    const n = toSafeInt(args[numkeysIdx] ?? '');
    if (n === null || n < 1) return [];
    const out: number[] = [];
    for (let i = 0; i < n && numkeysIdx + 1 + i < args.length; i++) out.push(numkeysIdx + 1 + i);
    return out;
  };
}

const W = 'write list';
register(
  cmd('lpush', -3, 'write denyoom fast', [1, 1, 1], 'write list fast', { ...G, keySpec: keyAt(1, 'RW insert'), summary: 'Prepend one or multiple elements to a list', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', history: [['2.4.0', 'Accepts multiple `element` arguments.']] }, (ctx, args) => push(ctx, args, true, false)),
  cmd('rpush', -3, 'write denyoom fast', [1, 1, 1], 'write list fast', { ...G, keySpec: keyAt(1, 'RW insert'), summary: 'Append one or multiple elements to a list', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', history: [['2.4.0', 'Accepts multiple `element` arguments.']] }, (ctx, args) => push(ctx, args, false, false)),
  cmd('lpushx', -3, 'write denyoom fast', [1, 1, 1], 'write list fast', { ...G, since: '2.2.0', keySpec: keyAt(1, 'RW insert'), summary: 'Prepend an element to a list, only if the list exists', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', history: [['4.0.0', 'Accepts multiple `element` arguments.']] }, (ctx, args) => push(ctx, args, true, true)),
  cmd('rpushx', -3, 'write denyoom fast', [1, 1, 1], 'write list fast', { ...G, since: '2.2.0', keySpec: keyAt(1, 'RW insert'), summary: 'Append an element to a list, only if the list exists', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', history: [['4.0.0', 'Accepts multiple `element` arguments.']] }, (ctx, args) => push(ctx, args, false, true)),
  cmd('lpop', -2, 'write fast', [1, 1, 1], 'write list fast', { ...G, keySpec: keyAt(1, 'RW access delete'), summary: 'Remove and get the first elements in a list', complexity: 'O(N) where N is the number of elements returned', history: [['6.2.0', 'Added the `count` argument.']] }, (ctx, args) => pop(ctx, args, true)),
  cmd('rpop', -2, 'write fast', [1, 1, 1], 'write list fast', { ...G, keySpec: keyAt(1, 'RW access delete'), summary: 'Remove and get the last elements in a list', complexity: 'O(N) where N is the number of elements returned', history: [['6.2.0', 'Added the `count` argument.']] }, (ctx, args) => pop(ctx, args, false)),
  cmd('llen', 2, 'readonly fast', [1, 1, 1], 'read list fast', { ...G, keySpec: keyAt(1, 'RO'), summary: 'Get the length of a list', complexity: 'O(1)' }, (ctx, args) => {
    const l = listForRead(ctx.db, args[1]);
    ctx.r.int(l === undefined ? 0 : l.size);
  }),
  cmd('lrange', 4, 'readonly', [1, 1, 1], 'read list slow', { ...G, summary: 'Get a range of elements from a list', complexity: 'O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.' }, lrange),
  cmd('lindex', 3, 'readonly', [1, 1, 1], 'read list slow', { ...G, summary: 'Get an element from a list by its index', complexity: 'O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).' }, lindex),
  cmd('lset', 4, 'write denyoom', [1, 1, 1], 'write list slow', { ...G, summary: 'Set the value of an element in a list by its index', complexity: 'O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).' }, lset),
  cmd('linsert', 5, 'write denyoom', [1, 1, 1], 'write list slow', { ...G, since: '2.2.0', keySpec: keyAt(1, 'RW insert'), summary: 'Insert an element before or after another element in a list', complexity: 'O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).' }, linsert),
  cmd('lrem', 4, 'write', [1, 1, 1], 'write list slow', { ...G, keySpec: keyAt(1, 'RW delete'), summary: 'Remove elements from a list', complexity: 'O(N+M) where N is the length of the list and M is the number of elements removed.' }, lrem),
  cmd('ltrim', 4, 'write', [1, 1, 1], 'write list slow', { ...G, keySpec: keyAt(1, 'RW delete'), summary: 'Trim a list to the specified range', complexity: 'O(N) where N is the number of elements to be removed by the operation.' }, ltrim),
  cmd('lpos', -3, 'readonly', [1, 1, 1], 'read list slow', { ...G, since: '6.0.6', summary: 'Return the index of matching elements on a list', complexity: 'O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.' }, lpos),
  cmd('lmove', 5, 'write denyoom', [1, 2, 1], W + ' slow', { ...G, keySpec: [keyAt(1, 'RW access delete'), keyAt(2, 'RW insert')], since: '6.2.0', summary: 'Pop an element from a list, push it to another list and return it', complexity: 'O(1)' }, (ctx, args) =>
    lmove(ctx, args[1], args[2], whereArg(args[3]), whereArg(args[4])),
  ),
  cmd('rpoplpush', 3, 'write denyoom', [1, 2, 1], W + ' slow', { ...G, keySpec: [keyAt(1, 'RW access delete'), keyAt(2, 'RW insert')], since: '1.2.0', summary: 'Remove the last element in a list, prepend it to another list and return it', complexity: 'O(1)', docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`LMOVE` with the `RIGHT` and `LEFT` arguments' }, (ctx, args) =>
    lmove(ctx, args[1], args[2], false, true),
  ),
  cmd('lmpop', -4, 'write', [0, 0, 0], W + ' slow', { ...G, since: '7.0.0', getKeys: mpopKeys(1), keySpec: { flags: ['RW', 'access', 'delete'], begin: { index: 1 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }, summary: 'Pop elements from a list', complexity: 'O(N+M) where N is the number of provided keys and M is the number of elements returned.' }, (ctx, args) => {
    const p = parseMpop(args, 1);
    const db = ctx.db;
    for (const key of p.keys) {
      const l = listForWrite(db, key);
      if (l === undefined || l.size === 0) continue;
      return popReply(db, ctx.r, key, l, p.head, p.count);
    }
    ctx.r.nullArray();
  }),
  cmd('blpop', -3, 'write noscript blocking', [1, -2, 1], W + ' slow blocking', { ...G, since: '2.0.0', keySpec: keyAt(1, 'RW access delete', undefined, -2, 1), summary: 'Remove and get the first element in a list, or block until one is available', complexity: 'O(N) where N is the number of provided keys.', history: [['6.0.0', '`timeout` is interpreted as a double instead of an integer.']] }, (ctx, args) =>
    blockingPop(ctx, args.slice(1, -1), true, timeoutArg(args[args.length - 1]), -1),
  ),
  cmd('brpop', -3, 'write noscript blocking', [1, -2, 1], W + ' slow blocking', { ...G, since: '2.0.0', keySpec: keyAt(1, 'RW access delete', undefined, -2, 1), summary: 'Remove and get the last element in a list, or block until one is available', complexity: 'O(N) where N is the number of provided keys.', history: [['6.0.0', '`timeout` is interpreted as a double instead of an integer.']] }, (ctx, args) =>
    blockingPop(ctx, args.slice(1, -1), false, timeoutArg(args[args.length - 1]), -1),
  ),
  cmd('blmpop', -5, 'write blocking', [0, 0, 0], W + ' slow blocking', { ...G, since: '7.0.0', getKeys: mpopKeys(2), keySpec: { flags: ['RW', 'access', 'delete'], begin: { index: 2 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }, summary: 'Pop elements from a list, or block until one is available', complexity: 'O(N+M) where N is the number of provided keys and M is the number of elements returned.' }, (ctx, args) => {
    const p = parseMpop(args, 2);
    blockingPop(ctx, p.keys, p.head, timeoutArg(args[1]), p.count);
  }),
  cmd('blmove', 6, 'write denyoom noscript blocking', [1, 2, 1], W + ' slow blocking', { ...G, keySpec: [keyAt(1, 'RW access delete'), keyAt(2, 'RW insert')], since: '6.2.0', summary: 'Pop an element from a list, push it to another list and return it; or block until one is available', complexity: 'O(1)' }, (ctx, args) => {
    const from = whereArg(args[3]);
    const to = whereArg(args[4]);
    blmove(ctx, args[1], args[2], from, to, timeoutArg(args[5]));
  }),
  cmd('brpoplpush', 4, 'write denyoom noscript blocking', [1, 2, 1], W + ' slow blocking', { ...G, keySpec: [keyAt(1, 'RW access delete'), keyAt(2, 'RW insert')], since: '2.2.0', summary: 'Pop an element from a list, push it to another list and return it; or block until one is available', complexity: 'O(1)', docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`BLMOVE` with the `RIGHT` and `LEFT` arguments', history: [['6.0.0', '`timeout` is interpreted as a double instead of an integer.']] }, (ctx, args) =>
    blmove(ctx, args[1], args[2], false, true, timeoutArg(args[3])),
  ),
);
