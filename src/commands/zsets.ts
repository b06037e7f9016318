/**
 * Sorted set family (t_zset.c): ZADD and friends, ranges by rank, score and
 * lex, pops (blocking ones too), set algebra, ZRANDMEMBER and ZSCAN.
 */
import { INLINE_PICKS, RandomPicks, pairPicks } from '../memory/random-reply.js';
import { replyOwned, streamZsetSpan } from '../memory/collection-replies.js';
import { register } from './registry.js';
import { keyAt, cmd } from './spec.js';
import { ERR, ReplyError, int64AsNumber, parseIntArg, toFloat, toSafeInt } from '../protocol/errors.js';
import type { Database } from '../keyspace/db.js';
import type { CommandContext } from '../server/context.js';
import { formatDouble as formatScore, type Reply } from '../protocol/reply.js';
import { SortedSet, ZSET_NAN_ERR } from '../types/zset.js';
import { RedisSet } from '../types/set.js';
import type { LexRange, ScoreRange } from '../types/zrange.js';
import type { Entry } from '../types/ordertree.js';
import { blockOnKeys, mayBlock } from '../server/blocking.js';
import { scanArgs, replyScan } from './scan-collection.js';
import { ERR_POSITIVE, parseCount } from './sets.js';
import { notify, NOTIFY_GENERIC, NOTIFY_ZSET } from '../keyspace/notify.js';

const G = { group: 'sorted-set' };
const ERR_MINMAX_FLOAT = 'ERR min or max is not a float';
const ERR_MINMAX_LEX = 'ERR min or max not valid string range item';

// ---------- lookups and argument parsing ----------

export function readZset(db: Database, key: string, write = false): SortedSet | undefined {
  const v = write ? db.getForWrite(key) : db.get(key);
  if (v === undefined) return undefined;
  if (!(v instanceof SortedSet)) throw new ReplyError(ERR.wrongType);
  return v;
}

/**
 * A score (string2d): also refuses what strtod reports as ERANGE, i.e. a
 * literal that overflows to infinity ("1e400") or underflows to zero.
 */
function parseScore(s: string, err: string = ERR.notFloat): number {
  const n = toFloat(s);
  if (n === null) throw new ReplyError(err);
  if (n === Infinity || n === -Infinity) {
    if (!/inf/i.test(s)) throw new ReplyError(err);
  } else if (n === 0 && underflowed(s)) throw new ReplyError(err);
  return n;
}

/** Whether a literal that parsed as 0 has a nonzero digit in its mantissa ("1e-400": strtod's underflow). */
function underflowed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 101 || c === 69) return false; // e, E: the exponent follows
    if (c >= 49 && c <= 57) return true;
  }
  return false;
}

/**
 * A long argument (getLongFromObjectOrReply): any int64; values past 2^53
 * lose precision, which only matters for ranks and counts no set reaches.
 */
function long(s: string, err: string = ERR.notInt): number {
  const n = int64AsNumber(s);
  if (n === null) throw new ReplyError(err);
  return n;
}

function parseScoreBound(s: string): [number, boolean] {
  const ex = s.startsWith('(');
  const n = toFloat(ex ? s.slice(1) : s);
  if (n === null) throw new ReplyError(ERR_MINMAX_FLOAT);
  return [n, ex];
}

export function parseScoreRange(min: string, max: string): ScoreRange {
  const [a, minex] = parseScoreBound(min);
  const [b, maxex] = parseScoreBound(max);
  return { min: a, max: b, minex, maxex };
}

/** One lex bound: [x, (x, - or +. Returns [value or null (infinite), exclusive, side]. */
function parseLexBound(s: string): { v: string | null; ex: boolean; inf: -1 | 0 | 1 } {
  if (s === '+') return { v: null, ex: false, inf: 1 };
  if (s === '-') return { v: null, ex: false, inf: -1 };
  if (s.startsWith('(')) return { v: s.slice(1), ex: true, inf: 0 };
  if (s.startsWith('[')) return { v: s.slice(1), ex: false, inf: 0 };
  throw new ReplyError(ERR_MINMAX_LEX);
}

export function parseLexRange(min: string, max: string): LexRange {
  const a = parseLexBound(min);
  const b = parseLexBound(max);
  return { min: a.v, max: b.v, minex: a.ex, maxex: b.ex, empty: a.inf === 1 || b.inf === -1 };
}

/** BZPOP/BZMPOP timeout in seconds (may be fractional) -> ms. */
function parseTimeout(s: string): number {
  const n = toFloat(s);
  if (n === null || !Number.isFinite(n)) throw new ReplyError('ERR timeout is not a float or out of range');
  const ms = Math.ceil(n * 1000);
  if (ms < 0) throw new ReplyError('ERR timeout is negative');
  return ms;
}

function positive(s: string): number {
  const n = parseIntArg(s);
  if (n < 0) throw new ReplyError(ERR_POSITIVE);
  return n;
}

/** After members left by `event`: announce it, delete key if its zset emptied, else record the change. */
function settle(db: Database, key: string, z: SortedSet, event: string): void {
  notify(NOTIFY_ZSET, event, key, db.id);
  if (z.size === 0) {
    db.delete(key);
    notify(NOTIFY_GENERIC, 'del', key, db.id);
  } else db.modified(key);
}

// ---------- replies ----------

/** Member/score pairs: flat in RESP2, [member, score] arrays in RESP3. */
function replyPairs(ctx: CommandContext, nodes: { member: string; score: number }[], withscores: boolean): void {
  if (!withscores) return replyOwned(ctx, nodes.length, (r, n) => r.array(n), (r, i) => r.bulk(nodes[i].member));
  const nested = ctx.r.proto === 3;
  replyOwned(
    ctx,
    nodes.length,
    (r, n) => r.array(nested ? n : n * 2),
    (r, i) => {
      if (nested) r.array(2);
      r.bulk(nodes[i].member);
      r.double(nodes[i].score);
    },
  );
}

// ---------- ZADD ----------

interface AddFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
  incr: boolean;
}

const ADDED = 0;
const UPDATED = 1;
const NOP = 2;
const SAME = 3;
/** The resulting score of the last zsetAdd (a variable, not an object per call). */
let addScore = 0;

/**
 * zsetAdd: ADDED, UPDATED, NOP (a condition refused it) or SAME (present
 * with that score already); addScore holds the resulting score.
 */
function zsetAdd(z: SortedSet, member: string, score: number, f: AddFlags): number {
  const cur = z.score(member);
  if (cur !== undefined) {
    addScore = cur;
    if (f.nx) return NOP;
    let next = score;
    if (f.incr) {
      next = cur + score;
      if (Number.isNaN(next)) throw new ReplyError(ZSET_NAN_ERR);
    }
    if ((f.gt && next <= cur) || (f.lt && next >= cur)) return NOP;
    addScore = next;
    if (next !== cur || Object.is(next, -0) !== Object.is(cur, -0)) {
      z.set(member, next);
      return UPDATED;
    }
    return SAME;
  }
  addScore = score;
  if (f.xx) return NOP;
  z.set(member, score);
  return ADDED;
}

const NO_FLAGS: AddFlags = { nx: false, xx: false, gt: false, lt: false, incr: false };
const INCR_FLAGS: AddFlags = { nx: false, xx: false, gt: false, lt: false, incr: true };

function zadd(ctx: CommandContext, args: string[], incrCmd: boolean): void {
  let f = incrCmd ? INCR_FLAGS : NO_FLAGS;
  let ch = false;
  let i = 2;
  // Options are words; a score never starts with a letter other than i/I (inf).
  // (A char-code test first: a regex per ZADD showed in BullMQ's profile.)
  const c0 = args[2].charCodeAt(0) | 32;
  if (!incrCmd && c0 >= 97 && c0 <= 122 && !/^[+-]?inf/i.test(args[2])) {
    f = { ...NO_FLAGS };
    for (; i < args.length; i++) {
      const o = args[i].toLowerCase();
      if (o === 'nx') f.nx = true;
      else if (o === 'xx') f.xx = true;
      else if (o === 'ch') ch = true;
      else if (o === 'incr') f.incr = true;
      else if (o === 'gt') f.gt = true;
      else if (o === 'lt') f.lt = true;
      else break;
    }
  }
  const elements = args.length - i;
  if (elements % 2 !== 0 || elements === 0) throw new ReplyError(ERR.syntax);
  if (f.nx && f.xx) throw new ReplyError('ERR XX and NX options at the same time are not compatible');
  if ((f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt)) throw new ReplyError('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (f.incr && elements > 2) throw new ReplyError('ERR INCR option supports a single increment-element pair');
  // Every score is checked before anything changes: all or nothing.
  const n = elements / 2;
  const scores = n === 1 ? null : new Array<number>(n);
  let score0 = 0;
  for (let j = 0; j < n; j++) {
    const sc = parseScore(args[i + 2 * j]);
    if (scores === null) score0 = sc;
    else scores[j] = sc;
  }

  const db = ctx.db;
  const key = args[1];
  let z = readZset(db, key, true);
  const fresh = z === undefined;
  if (z === undefined) {
    if (f.xx) {
      if (f.incr) ctx.r.null();
      else ctx.r.int(0);
      return;
    }
    z = new SortedSet(args[i + 1].length);
  }
  let added = 0;
  let updated = 0;
  let processed = 0;
  let last = 0;
  try {
    for (let j = 0; j < n; j++) {
      const res = zsetAdd(z, args[i + 1 + 2 * j], scores === null ? score0 : scores[j], f);
      if (res === ADDED) added++;
      else if (res === UPDATED) updated++;
      if (res !== NOP) processed++;
      last = addScore;
    }
  } finally {
    if (added + updated > 0) {
      if (fresh) db.set(key, z);
      else db.modified(key);
      db.signalReady(key);
      notify(NOTIFY_ZSET, f.incr ? 'zincr' : 'zadd', key, db.id);
    }
  }
  if (f.incr) {
    if (processed > 0) ctx.r.double(last);
    else ctx.r.null();
  } else {
    ctx.r.int(ch ? added + updated : added);
  }
}

// ---------- ranges ----------

type RangeKind = 'rank' | 'score' | 'lex';

interface RangeQuery {
  kind: RangeKind;
  rev: boolean;
  start: number;
  end: number;
  score: ScoreRange;
  lex: LexRange;
  offset: number;
  limit: number;
}

/** Where the entries a ZRANGE-style query selects are: `count` from `rank`, going down when rev. */
interface Span {
  rank: number;
  count: number;
  rev: boolean;
}

function selectSpan(z: SortedSet, q: RangeQuery): Span | null {
  const len = z.size;
  if (q.kind === 'rank') {
    let start = q.start;
    let end = q.end;
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) return null;
    if (end >= len) end = len - 1;
    const n = end - start + 1;
    return q.rev ? { rank: len - 1 - start, count: n, rev: true } : { rank: start, count: n, rev: false };
  }
  if (q.offset < 0 || (q.offset > 0 && q.offset >= len)) return null;
  const [lo, hi] = q.kind === 'score' ? z.scoreSpan(q.score) : z.lexSpan(q.lex, q.rev);
  const avail = hi - lo - q.offset;
  if (avail <= 0) return null;
  const take = q.limit < 0 ? avail : Math.min(avail, q.limit);
  return q.rev ? { rank: hi - 1 - q.offset, count: take, rev: true } : { rank: lo + q.offset, count: take, rev: false };
}

/** The entries a ZRANGE-style query selects, in reply order. */
function selectRange(z: SortedSet, q: RangeQuery): Entry[] {
  const sp = selectSpan(z, q);
  return sp === null ? [] : z.tree.collect(sp.rank, sp.count, sp.rev);
}

const NO_SCORE: ScoreRange = { min: 0, max: 0, minex: false, maxex: false };
const NO_LEX: LexRange = { min: null, max: null, minex: false, maxex: false, empty: false };

/**
 * zrangeGenericCommand: `at` is the index of the source key; kind/rev are
 * fixed by the legacy commands or null when options choose (ZRANGE).
 */
function zrangeGeneric(ctx: CommandContext, args: string[], at: number, store: string | null, kind0: RangeKind | null, rev0: boolean | null): void {
  let kind = kind0;
  let rev = rev0;
  let withscores = false;
  let offset = 0;
  let limit = -1;
  for (let j = at + 3; j < args.length; j++) {
    const o = args[j].toLowerCase();
    const left = args.length - j - 1;
    if (store === null && o === 'withscores') withscores = true;
    else if (o === 'limit' && left >= 2) {
      offset = long(args[j + 1]);
      limit = long(args[j + 2]);
      j += 2;
    } else if (rev0 === null && o === 'rev') rev = true;
    else if (kind0 === null && o === 'bylex') kind = 'lex';
    else if (kind0 === null && o === 'byscore') kind = 'score';
    else throw new ReplyError(ERR.syntax);
  }
  rev ??= false;
  kind ??= 'rank';
  if (limit !== -1 && kind === 'rank') throw new ReplyError('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (withscores && kind === 'lex') throw new ReplyError('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  let minArg = args[at + 1];
  let maxArg = args[at + 2];
  if (rev && kind !== 'rank') [minArg, maxArg] = [maxArg, minArg];
  const q: RangeQuery = { kind, rev, start: 0, end: 0, score: NO_SCORE, lex: NO_LEX, offset, limit };
  if (kind === 'rank') {
    q.start = long(minArg);
    q.end = long(maxArg);
  } else if (kind === 'score') q.score = parseScoreRange(minArg, maxArg);
  else q.lex = parseLexRange(minArg, maxArg);

  const z = readZset(ctx.db, args[at]);
  if (store === null && z !== undefined) {
    // A long range is streamed from the tree, not collected first.
    const sp = selectSpan(z, q);
    if (sp !== null && streamZsetSpan(ctx, z, sp.rank, sp.count, sp.rev, withscores)) return;
  }
  const nodes = z === undefined ? [] : selectRange(z, q);
  if (store === null) return replyPairs(ctx, nodes, withscores);
  storeResult(ctx, store, nodes, 'zrangestore');
}

/** Write a computed zset to dst (or delete dst if empty) and reply its size. */
function storeResult(ctx: CommandContext, dst: string, nodes: Iterable<{ member: string; score: number }>, event: string): void {
  const out = new SortedSet();
  const db = ctx.db;
  for (const n of nodes) out.set(n.member, n.score);
  if (out.size === 0) {
    if (db.delete(dst)) notify(NOTIFY_GENERIC, 'del', dst, db.id);
    ctx.r.int(0);
    return;
  }
  out.fixEncoding();
  db.set(dst, out);
  db.signalReady(dst);
  notify(NOTIFY_ZSET, event, dst, db.id);
  ctx.r.int(out.size);
}

function zremrange(ctx: CommandContext, args: string[], kind: RangeKind): void {
  const q: RangeQuery = { kind, rev: false, start: 0, end: 0, score: NO_SCORE, lex: NO_LEX, offset: 0, limit: -1 };
  if (kind === 'rank') {
    q.start = long(args[2]);
    q.end = long(args[3]);
  } else if (kind === 'score') q.score = parseScoreRange(args[2], args[3]);
  else q.lex = parseLexRange(args[2], args[3]);
  const z = readZset(ctx.db, args[1], true);
  if (z === undefined) return ctx.r.int(0);
  const nodes = selectRange(z, q);
  for (const n of nodes) z.delete(n.member);
  if (nodes.length > 0) settle(ctx.db, args[1], z, 'zremrangeby' + kind);
  ctx.r.int(nodes.length);
}

// ---------- pops ----------

/** Pop up to count from one end of z at key; deletes the key when emptied. */
function popNodes(db: Database, key: string, z: SortedSet, max: boolean, count: number): { member: string; score: number }[] {
  const out: { member: string; score: number }[] = [];
  while (out.length < count && z.size > 0) {
    const n = z.at(max ? z.size - 1 : 0)!;
    out.push(n);
    z.delete(n.member);
  }
  settle(db, key, z, max ? 'zpopmax' : 'zpopmin');
  return out;
}

/** ZMPOP/BZMPOP reply: [key, [[member, score], ...]]. */
function replyKeyNested(r: Reply, key: string, items: { member: string; score: number }[]): void {
  r.array(2);
  r.bulk(key);
  r.array(items.length);
  for (const it of items) {
    r.array(2);
    r.bulk(it.member);
    r.double(it.score);
  }
}

/** BZPOPMIN/BZPOPMAX reply: [key, member, score]. */
function replyKeyFlat(r: Reply, key: string, it: { member: string; score: number }): void {
  r.array(3);
  r.bulk(key);
  r.bulk(it.member);
  r.double(it.score);
}

function zpop(ctx: CommandContext, args: string[], max: boolean): void {
  if (args.length > 3) throw new ReplyError(ERR.syntax);
  const count = args.length === 3 ? positive(args[2]) : -1;
  const z = readZset(ctx.db, args[1], true);
  if (z === undefined || count === 0) return ctx.r.array(0);
  const items = popNodes(ctx.db, args[1], z, max, count === -1 ? 1 : count);
  const nested = ctx.r.proto === 3 && count !== -1;
  ctx.r.array(nested ? items.length : items.length * 2);
  for (const it of items) {
    if (nested) ctx.r.array(2);
    ctx.r.bulk(it.member);
    ctx.r.double(it.score);
  }
}

/** Parse `numkeys key... MIN|MAX [COUNT c]` starting at args[at]. */
function parseMpop(args: string[], at: number): { keys: string[]; max: boolean; count: number } {
  const numkeys = toSafeInt(args[at]);
  if (numkeys === null || numkeys < 1) throw new ReplyError('ERR numkeys should be greater than 0');
  const whereIdx = at + numkeys + 1;
  if (whereIdx >= args.length) throw new ReplyError(ERR.syntax);
  const where = args[whereIdx].toLowerCase();
  if (where !== 'min' && where !== 'max') throw new ReplyError(ERR.syntax);
  let count = -1;
  for (let j = whereIdx + 1; j < args.length; j++) {
    if (count === -1 && args[j].toLowerCase() === 'count' && j + 1 < args.length) {
      const c = toSafeInt(args[++j]);
      if (c === null || c < 1) throw new ReplyError('ERR count should be greater than 0');
      count = c;
    } else throw new ReplyError(ERR.syntax);
  }
  return { keys: args.slice(at + 1, whereIdx), max: where === 'max', count: count === -1 ? 1 : count };
}

/** The first key of keys holding a non-empty zset (WRONGTYPE stops the search). */
function firstZset(db: Database, keys: string[]): { key: string; z: SortedSet } | null {
  for (const key of keys) {
    const z = readZset(db, key, true);
    if (z !== undefined && z.size > 0) return { key, z };
  }
  return null;
}

function bzpop(ctx: CommandContext, args: string[], max: boolean): void {
  const timeout = parseTimeout(args[args.length - 1]);
  const keys = args.slice(1, -1);
  const found = firstZset(ctx.db, keys);
  if (found !== null) {
    const [it] = popNodes(ctx.db, found.key, found.z, max, 1);
    return replyKeyFlat(ctx.r, found.key, it);
  }
  if (!mayBlock(ctx)) return ctx.r.nullArray();
  blockOnKeys(ctx, keys, timeout, (r, db, key) => {
    const v = db.getForWrite(key);
    if (!(v instanceof SortedSet) || v.size === 0) return false;
    const [it] = popNodes(db, key, v, max, 1);
    replyKeyFlat(r, key, it);
    return true;
  });
}

function bzmpop(ctx: CommandContext, args: string[]): void {
  const timeout = parseTimeout(args[1]);
  const { keys, max, count } = parseMpop(args, 2);
  const found = firstZset(ctx.db, keys);
  if (found !== null) return replyKeyNested(ctx.r, found.key, popNodes(ctx.db, found.key, found.z, max, count));
  if (!mayBlock(ctx)) return ctx.r.nullArray();
  blockOnKeys(ctx, keys, timeout, (r, db, key) => {
    const v = db.getForWrite(key);
    if (!(v instanceof SortedSet) || v.size === 0) return false;
    replyKeyNested(r, key, popNodes(db, key, v, max, count));
    return true;
  });
}

// ---------- set algebra ----------

type SetOp = 'union' | 'inter' | 'diff';

/** An input of ZUNION & co: a zset, or a set whose members all score 1. */
interface Source {
  size: number;
  get(member: string): number | undefined;
  entries(): Iterable<[string, number]>;
  weight: number;
  id: unknown;
}

function sourceOf(v: SortedSet | RedisSet | undefined): Source {
  if (v === undefined) return { size: 0, get: () => undefined, entries: () => [], weight: 1, id: null };
  if (v instanceof SortedSet) {
    return {
      size: v.size,
      get: (m) => v.score(m),
      entries: function* () {
        for (const n of v.entries()) yield [n.member, n.score] as [string, number];
      },
      weight: 1,
      id: v,
    };
  }
  return {
    size: v.size,
    get: (m) => (v.has(m) ? 1 : undefined),
    entries: function* () {
      for (const m of v.members()) yield [m, 1] as [string, number];
    },
    weight: 1,
    id: v,
  };
}

type Aggregate = 'sum' | 'min' | 'max';

function aggregate(acc: number, v: number, how: Aggregate): number {
  if (how === 'sum') {
    const s = acc + v;
    return Number.isNaN(s) ? 0 : s;
  }
  if (how === 'min') return v < acc ? v : acc;
  return v > acc ? v : acc;
}

function weighted(score: number, w: number): number {
  const s = score * w;
  return Number.isNaN(s) ? 0 : s;
}

/**
 * zunionInterDiffGenericCommand. `numAt` indexes numkeys; `dst` is the
 * STORE destination; `cardOnly` is ZINTERCARD.
 */
function zsetOp(ctx: CommandContext, args: string[], numAt: number, op: SetOp, dst: string | null, cardOnly = false): void {
  const name = args[0].toLowerCase();
  const setnum = long(args[numAt]);
  if (setnum < 1) throw new ReplyError(`ERR at least 1 input key is needed for '${name}' command`);
  if (setnum > args.length - numAt - 1) throw new ReplyError(ERR.syntax);
  const srcs: Source[] = [];
  for (let i = 0; i < setnum; i++) {
    const v = ctx.db.get(args[numAt + 1 + i]);
    if (v !== undefined && !(v instanceof SortedSet) && !(v instanceof RedisSet)) throw new ReplyError(ERR.wrongType);
    srcs.push(sourceOf(v as SortedSet | RedisSet | undefined));
  }
  let how: Aggregate = 'sum';
  let withscores = false;
  let limit = 0;
  for (let j = numAt + 1 + setnum; j < args.length; ) {
    const o = args[j].toLowerCase();
    const left = args.length - j;
    if (op !== 'diff' && !cardOnly && left >= setnum + 1 && o === 'weights') {
      j++;
      for (let i = 0; i < setnum; i++, j++) srcs[i].weight = parseScore(args[j], 'ERR weight value is not a float');
    } else if (op !== 'diff' && !cardOnly && left >= 2 && o === 'aggregate') {
      const a = args[j + 1].toLowerCase();
      if (a !== 'sum' && a !== 'min' && a !== 'max') throw new ReplyError(ERR.syntax);
      how = a;
      j += 2;
    } else if (dst === null && !cardOnly && o === 'withscores') {
      withscores = true;
      j++;
    } else if (cardOnly && left >= 2 && o === 'limit') {
      const n = toSafeInt(args[j + 1]);
      if (n === null) throw new ReplyError("ERR LIMIT can't be negative");
      if (n < 0) throw new ReplyError("ERR LIMIT can't be negative");
      limit = n;
      j += 2;
    } else throw new ReplyError(ERR.syntax);
  }

  const result = new Map<string, number>();
  if (op === 'inter') {
    const order = srcs.slice().sort((a, b) => a.size - b.size);
    if (order[0].size > 0) {
      const [first, ...rest] = order;
      for (const [m, s] of first.entries()) {
        let score = weighted(s, first.weight);
        let all = true;
        for (const o of rest) {
          const v = o.get(m);
          if (v === undefined) {
            all = false;
            break;
          }
          score = aggregate(score, weighted(v, o.weight), how);
        }
        if (!all) continue;
        result.set(m, score);
        if (cardOnly && limit > 0 && result.size >= limit) break;
      }
    }
  } else if (op === 'union') {
    for (const src of srcs) {
      for (const [m, s] of src.entries()) {
        const score = weighted(s, src.weight);
        const cur = result.get(m);
        result.set(m, cur === undefined ? score : aggregate(cur, score, how));
      }
    }
  } else {
    const [first, ...rest] = srcs;
    for (const [m, s] of first.entries()) if (!rest.some((o) => o.get(m) !== undefined)) result.set(m, s);
  }

  if (cardOnly) return ctx.r.int(result.size);
  const out = new SortedSet();
  for (const [m, s] of result) out.set(m, s);
  if (dst !== null) return storeResult(ctx, dst, out.entries(), `z${op}store`);
  replyPairs(ctx, [...out.entries()], withscores);
}

function numkeysAt(at: number, extraFirst = false): (args: string[]) => number[] {
  return (args) => {
    const out: number[] = extraFirst ? [1] : [];
    const n = toSafeInt(args[at] ?? '');
    if (n === null || n < 1) return out;
    for (let i = 0; i < n && at + 1 + i < args.length; i++) out.push(at + 1 + i);
    return out;
  };
}

// ---------- ZRANDMEMBER ----------

/**
 * A streamed ZRANDMEMBER with a negative count (memory/random-reply.ts):
 * members and scores are copied (a score may change under a pinned entry)
 * — the picks themselves when the zset is larger than the count, else the
 * whole zset, picked from lazily.
 */
function zsetPicks(z: NonNullable<ReturnType<typeof readZset>>, count: number, withscores: boolean, proto: 2 | 3): RandomPicks {
  const size = z.size;
  const drawn = size > count;
  const n = drawn ? count : size;
  const members = new Array<string>(n);
  const scores = withscores ? new Float64Array(n) : null;
  if (drawn) {
    for (let i = 0; i < n; i++) {
      const e = z.at(Math.floor(Math.random() * size))!;
      members[i] = e.member;
      if (scores !== null) scores[i] = e.score;
    }
  } else {
    let i = 0;
    for (const e of z.entries()) {
      members[i] = e.member;
      if (scores !== null) scores[i] = e.score;
      i++;
    }
  }
  if (scores !== null) return pairPicks(count, members, scores, drawn, proto);
  return new RandomPicks(count, n, drawn, (r) => r.array(count), (r, i) => r.bulk(members[i]));
}

function zrandmember(ctx: CommandContext, args: string[]): void {
  if (args.length === 2) {
    const z = readZset(ctx.db, args[1]);
    if (z === undefined) return ctx.r.null();
    return ctx.r.bulk(z.at(Math.floor(Math.random() * z.size))!.member);
  }
  const l = parseCount(args[2]);
  let withscores = false;
  if (args.length > 4 || (args.length === 4 && args[3].toLowerCase() !== 'withscores')) throw new ReplyError(ERR.syntax);
  if (args.length === 4) {
    withscores = true;
    if (l < -(2 ** 62) || l > 2 ** 62) throw new ReplyError('ERR value is out of range');
  }
  const z = readZset(ctx.db, args[1]);
  if (z === undefined || l === 0) return ctx.r.array(0);
  const size = z.size;
  const picked: Entry[] = [];
  if (l < 0) {
    if (-l > INLINE_PICKS) return ctx.stream(zsetPicks(z, -l, withscores, ctx.r.proto));
    for (let i = 0; i < -l; i++) picked.push(z.at(Math.floor(Math.random() * size))!);
  } else if (l >= size) {
    if (streamZsetSpan(ctx, z, 0, size, false, withscores)) return;
    for (const n of z.entries()) picked.push(n);
  } else {
    // Distinct ranks by a partial Fisher-Yates over rank indexes.
    const idx = new Map<number, number>();
    for (let i = 0; i < l; i++) {
      const j = i + Math.floor(Math.random() * (size - i));
      const vj = idx.get(j) ?? j;
      idx.set(j, idx.get(i) ?? i);
      picked.push(z.at(vj)!);
    }
  }
  replyPairs(ctx, picked, withscores);
}

// ---------- the table ----------

register(
  cmd('zadd', -4, 'write denyoom fast', [1, 1, 1], 'write sortedset fast', { ...G, since: '1.2.0', summary: 'Add one or more members to a sorted set, or update its score if it already exists', complexity: 'O(log(N)) for each item added, where N is the number of elements in the sorted set.', history: [['2.4.0', 'Accepts multiple elements.'], ['3.0.2', 'Added the `XX`, `NX`, `CH` and `INCR` options.'], ['6.2.0', 'Added the `GT` and `LT` options.']] }, (ctx, args) =>
    zadd(ctx, args, false),
  ),
  cmd('zincrby', 4, 'write denyoom fast', [1, 1, 1], 'write sortedset fast', { ...G, since: '1.2.0', keySpec: keyAt(1, 'RW access update'), summary: 'Increment the score of a member in a sorted set', complexity: 'O(log(N)) where N is the number of elements in the sorted set.' }, (ctx, args) => {
    zadd(ctx, args, true);
  }),
  cmd('zrem', -3, 'write fast', [1, 1, 1], 'write sortedset fast', { ...G, since: '1.2.0', keySpec: keyAt(1, 'RW delete'), summary: 'Remove one or more members from a sorted set', complexity: 'O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.', history: [['2.4.0', 'Accepts multiple elements.']] }, (ctx, args) => {
    const z = readZset(ctx.db, args[1], true);
    let n = 0;
    if (z !== undefined) {
      for (let i = 2; i < args.length; i++) if (z.delete(args[i])) n++;
      if (n > 0) settle(ctx.db, args[1], z, 'zrem');
    }
    ctx.r.int(n);
  }),
  cmd('zcard', 2, 'readonly fast', [1, 1, 1], 'read sortedset fast', { ...G, since: '1.2.0', keySpec: keyAt(1, 'RO'), summary: 'Get the number of members in a sorted set', complexity: 'O(1)' }, (ctx, args) => {
    ctx.r.int(readZset(ctx.db, args[1])?.size ?? 0);
  }),
  cmd('zscore', 3, 'readonly fast', [1, 1, 1], 'read sortedset fast', { ...G, since: '1.2.0', summary: 'Get the score associated with the given member in a sorted set', complexity: 'O(1)' }, (ctx, args) => {
    const s = readZset(ctx.db, args[1])?.score(args[2]);
    if (s === undefined) ctx.r.null();
    else ctx.r.double(s);
  }),
  cmd('zmscore', -3, 'readonly fast', [1, 1, 1], 'read sortedset fast', { ...G, since: '6.2.0', summary: 'Get the score associated with the given members in a sorted set', complexity: 'O(N) where N is the number of members being requested.' }, (ctx, args) => {
    const z = readZset(ctx.db, args[1]);
    ctx.r.array(args.length - 2);
    for (let i = 2; i < args.length; i++) {
      const s = z?.score(args[i]);
      if (s === undefined) ctx.r.null();
      else ctx.r.double(s);
    }
  }),
  cmd('zcount', 4, 'readonly fast', [1, 1, 1], 'read sortedset fast', { ...G, since: '2.0.0', summary: 'Count the members in a sorted set with scores within the given values', complexity: 'O(log(N)) with N being the number of elements in the sorted set.' }, (ctx, args) => {
    const r = parseScoreRange(args[2], args[3]);
    const z = readZset(ctx.db, args[1]);
    if (z === undefined) return ctx.r.int(0);
    const [lo, hi] = z.scoreSpan(r);
    ctx.r.int(hi - lo);
  }),
  cmd('zlexcount', 4, 'readonly fast', [1, 1, 1], 'read sortedset fast', { ...G, since: '2.8.9', summary: 'Count the number of members in a sorted set between a given lexicographical range', complexity: 'O(log(N)) with N being the number of elements in the sorted set.' }, (ctx, args) => {
    const r = parseLexRange(args[2], args[3]);
    const z = readZset(ctx.db, args[1]);
    if (z === undefined) return ctx.r.int(0);
    const [lo, hi] = z.lexSpan(r);
    ctx.r.int(hi - lo);
  }),
  cmd('zrank', 3, 'readonly fast', [1, 1, 1], 'read sortedset fast', { ...G, since: '2.0.0', summary: 'Determine the index of a member in a sorted set', complexity: 'O(log(N))' }, (ctx, args) => {
    const z = readZset(ctx.db, args[1]);
    const r = z === undefined ? -1 : z.rank(args[2]);
    if (r < 0) ctx.r.null();
    else ctx.r.int(r);
  }),
  cmd('zrevrank', 3, 'readonly fast', [1, 1, 1], 'read sortedset fast', { ...G, since: '2.0.0', summary: 'Determine the index of a member in a sorted set, with scores ordered from high to low', complexity: 'O(log(N))' }, (ctx, args) => {
    const z = readZset(ctx.db, args[1]);
    const r = z === undefined ? -1 : z.rank(args[2], true);
    if (r < 0) ctx.r.null();
    else ctx.r.int(r);
  }),
  cmd('zrange', -4, 'readonly', [1, 1, 1], 'read sortedset slow', { ...G, since: '1.2.0', summary: 'Return a range of members in a sorted set', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.', history: [['6.2.0', 'Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options.']] }, (ctx, args) =>
    zrangeGeneric(ctx, args, 1, null, null, null),
  ),
  cmd('zrangestore', -5, 'write denyoom', [1, 2, 1], 'write sortedset slow', { ...G, since: '6.2.0', keySpec: [keyAt(1, 'OW update'), keyAt(2, 'RO access')], summary: 'Store a range of members from sorted set into another key', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.' }, (ctx, args) =>
    zrangeGeneric(ctx, args, 2, args[1], null, null),
  ),
  cmd('zrevrange', -4, 'readonly', [1, 1, 1], 'read sortedset slow', { ...G, since: '1.2.0', summary: 'Return a range of members in a sorted set, by index, with scores ordered from high to low', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.', docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`ZRANGE` with the `REV` argument' }, (ctx, args) =>
    zrangeGeneric(ctx, args, 1, null, 'rank', true),
  ),
  cmd('zrangebyscore', -4, 'readonly', [1, 1, 1], 'read sortedset slow', { ...G, since: '1.0.5', summary: 'Return a range of members in a sorted set, by score', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).', docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`ZRANGE` with the `BYSCORE` argument', history: [['2.0.0', 'Added the `WITHSCORES` modifier.']] }, (ctx, args) =>
    zrangeGeneric(ctx, args, 1, null, 'score', false),
  ),
  cmd('zrevrangebyscore', -4, 'readonly', [1, 1, 1], 'read sortedset slow', { ...G, since: '2.2.0', summary: 'Return a range of members in a sorted set, by score, with scores ordered from high to low', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).', docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`ZRANGE` with the `REV` and `BYSCORE` arguments', history: [['2.1.6', '`min` and `max` can be exclusive.']] }, (ctx, args) =>
    zrangeGeneric(ctx, args, 1, null, 'score', true),
  ),
  cmd('zrangebylex', -4, 'readonly', [1, 1, 1], 'read sortedset slow', { ...G, since: '2.8.9', summary: 'Return a range of members in a sorted set, by lexicographical range', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).', docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`ZRANGE` with the `BYLEX` argument' }, (ctx, args) =>
    zrangeGeneric(ctx, args, 1, null, 'lex', false),
  ),
  cmd('zrevrangebylex', -4, 'readonly', [1, 1, 1], 'read sortedset slow', { ...G, since: '2.8.9', summary: 'Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).', docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`ZRANGE` with the `REV` and `BYLEX` arguments' }, (ctx, args) =>
    zrangeGeneric(ctx, args, 1, null, 'lex', true),
  ),
  cmd('zremrangebyrank', 4, 'write', [1, 1, 1], 'write sortedset slow', { ...G, since: '2.0.0', keySpec: keyAt(1, 'RW delete'), summary: 'Remove all members in a sorted set within the given indexes', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.' }, (ctx, args) =>
    zremrange(ctx, args, 'rank'),
  ),
  cmd('zremrangebyscore', 4, 'write', [1, 1, 1], 'write sortedset slow', { ...G, since: '1.2.0', keySpec: keyAt(1, 'RW delete'), summary: 'Remove all members in a sorted set within the given scores', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.' }, (ctx, args) =>
    zremrange(ctx, args, 'score'),
  ),
  cmd('zremrangebylex', 4, 'write', [1, 1, 1], 'write sortedset slow', { ...G, since: '2.8.9', keySpec: keyAt(1, 'RW delete'), summary: 'Remove all members in a sorted set between the given lexicographical range', complexity: 'O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.' }, (ctx, args) =>
    zremrange(ctx, args, 'lex'),
  ),
  cmd('zpopmin', -2, 'write fast', [1, 1, 1], 'write sortedset fast', { ...G, since: '5.0.0', keySpec: keyAt(1, 'RW access delete'), summary: 'Remove and return members with the lowest scores in a sorted set', complexity: 'O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.' }, (ctx, args) =>
    zpop(ctx, args, false),
  ),
  cmd('zpopmax', -2, 'write fast', [1, 1, 1], 'write sortedset fast', { ...G, since: '5.0.0', keySpec: keyAt(1, 'RW access delete'), summary: 'Remove and return members with the highest scores in a sorted set', complexity: 'O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.' }, (ctx, args) =>
    zpop(ctx, args, true),
  ),
  cmd(
    'zmpop',
    -4,
    'write', [0, 0, 0],
    'write sortedset slow',
    { ...G, since: '7.0.0', getKeys: numkeysAt(1), keySpec: { flags: ['RW', 'access', 'delete'], begin: { index: 1 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }, summary: 'Remove and return members with scores in a sorted set', complexity: 'O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.' },
    (ctx, args) => {
      const { keys, max, count } = parseMpop(args, 1);
      const found = firstZset(ctx.db, keys);
      if (found === null) return ctx.r.nullArray();
      replyKeyNested(ctx.r, found.key, popNodes(ctx.db, found.key, found.z, max, count));
    },
  ),
  cmd('bzpopmin', -3, 'write noscript blocking fast', [1, -2, 1], 'write sortedset fast blocking', { ...G, since: '5.0.0', keySpec: keyAt(1, 'RW access delete', undefined, -2, 1), summary: 'Remove and return the member with the lowest score from one or more sorted sets, or block until one is available', complexity: 'O(log(N)) with N being the number of elements in the sorted set.', history: [['6.0.0', '`timeout` is interpreted as a double instead of an integer.']] }, (ctx, args) =>
    bzpop(ctx, args, false),
  ),
  cmd('bzpopmax', -3, 'write noscript blocking fast', [1, -2, 1], 'write sortedset fast blocking', { ...G, since: '5.0.0', keySpec: keyAt(1, 'RW access delete', undefined, -2, 1), summary: 'Remove and return the member with the highest score from one or more sorted sets, or block until one is available', complexity: 'O(log(N)) with N being the number of elements in the sorted set.', history: [['6.0.0', '`timeout` is interpreted as a double instead of an integer.']] }, (ctx, args) =>
    bzpop(ctx, args, true),
  ),
  cmd(
    'bzmpop',
    -5,
    'write blocking', [0, 0, 0],
    'write sortedset slow blocking',
    { ...G, since: '7.0.0', getKeys: numkeysAt(2), keySpec: { flags: ['RW', 'access', 'delete'], begin: { index: 2 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }, summary: 'Remove and return members with scores in a sorted set or block until one is available', complexity: 'O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.' },
    bzmpop,
  ),
  cmd('zrandmember', -2, 'readonly', [1, 1, 1], 'read sortedset slow', { ...G, since: '6.2.0', tips: ['nondeterministic_output'], summary: 'Get one or multiple random elements from a sorted set', complexity: 'O(N) where N is the number of elements returned' }, zrandmember),
  cmd('zunion', -3, 'readonly', [0, 0, 0], 'read sortedset slow', { ...G, since: '6.2.0', getKeys: numkeysAt(1), keySpec: { flags: ['RO', 'access'], begin: { index: 1 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }, summary: 'Add multiple sorted sets', complexity: 'O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.' }, (ctx, args) =>
    zsetOp(ctx, args, 1, 'union', null),
  ),
  cmd('zinter', -3, 'readonly', [0, 0, 0], 'read sortedset slow', { ...G, since: '6.2.0', getKeys: numkeysAt(1), keySpec: { flags: ['RO', 'access'], begin: { index: 1 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }, summary: 'Intersect multiple sorted sets', complexity: 'O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.' }, (ctx, args) =>
    zsetOp(ctx, args, 1, 'inter', null),
  ),
  cmd('zdiff', -3, 'readonly', [0, 0, 0], 'read sortedset slow', { ...G, since: '6.2.0', getKeys: numkeysAt(1), keySpec: { flags: ['RO', 'access'], begin: { index: 1 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }, summary: 'Subtract multiple sorted sets', complexity: 'O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.' }, (ctx, args) =>
    zsetOp(ctx, args, 1, 'diff', null),
  ),
  cmd('zintercard', -3, 'readonly', [0, 0, 0], 'read sortedset slow', { ...G, since: '7.0.0', getKeys: numkeysAt(1), keySpec: { flags: ['RO', 'access'], begin: { index: 1 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }, summary: 'Intersect multiple sorted sets and return the cardinality of the result', complexity: 'O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.' }, (ctx, args) =>
    zsetOp(ctx, args, 1, 'inter', null, true),
  ),
  cmd('zunionstore', -4, 'write denyoom', [1, 1, 1], 'write sortedset slow', { ...G, since: '2.0.0', getKeys: numkeysAt(2, true), keySpec: [keyAt(1, 'OW update'), { flags: ['RO', 'access'], begin: { index: 2 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }], summary: 'Add multiple sorted sets and store the resulting sorted set in a new key', complexity: 'O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.' }, (ctx, args) =>
    zsetOp(ctx, args, 2, 'union', args[1]),
  ),
  cmd('zinterstore', -4, 'write denyoom', [1, 1, 1], 'write sortedset slow', { ...G, since: '2.0.0', getKeys: numkeysAt(2, true), keySpec: [keyAt(1, 'OW update'), { flags: ['RO', 'access'], begin: { index: 2 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }], summary: 'Intersect multiple sorted sets and store the resulting sorted set in a new key', complexity: 'O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.' }, (ctx, args) =>
    zsetOp(ctx, args, 2, 'inter', args[1]),
  ),
  cmd('zdiffstore', -4, 'write denyoom', [1, 1, 1], 'write sortedset slow', { ...G, since: '6.2.0', getKeys: numkeysAt(2, true), keySpec: [keyAt(1, 'OW update'), { flags: ['RO', 'access'], begin: { index: 2 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }], summary: 'Subtract multiple sorted sets and store the resulting sorted set in a new key', complexity: 'O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.' }, (ctx, args) =>
    zsetOp(ctx, args, 2, 'diff', args[1]),
  ),
  cmd('zscan', -3, 'readonly', [1, 1, 1], 'read sortedset slow', { ...G, since: '2.8.0', tips: ['nondeterministic_output'], summary: 'Incrementally iterate sorted sets elements and associated scores', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..' }, (ctx, args) => {
    const opts = scanArgs(args, 2);
    const z = readZset(ctx.db, args[1]);
    const items: string[] = [];
    if (z !== undefined) for (const n of z.entries()) items.push(n.member, formatScore(n.score));
    replyScan(ctx, opts, items, 2);
  }),
);
