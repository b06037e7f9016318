/**
 * String family (t_string.c): GET SET and friends, counters, ranges, LCS.
 *
 * GET, SET (without options), INCR and MSET are the hot path: they do one
 * lookup and one `db.set` and allocate nothing else. SET's options are
 * parsed only when present.
 */
import { lookup, register } from './registry.js';
import { cmd, keyAt, type ArgDoc } from './spec.js';
import { ERR, ReplyError, int64AsNumber, parseInt64, toSafeInt } from '../protocol/errors.js';
import { getInt } from '../config/params.js';
import type { CommandContext } from '../server/context.js';
import type { Value } from '../types/value.js';
import { addLongDouble, fitsInt64, formatLongDouble, parseLongDouble, parseStoredInt, type LongDouble } from '../types/string.js';
import { notify, NOTIFY_GENERIC, NOTIFY_STRING } from '../keyspace/notify.js';
import { WARM_MAX } from '../keyspace/table.js';

const S = 'string';

const INT64_MAX = 2n ** 63n - 1n;
/** V8 cannot build a longer string; past it we answer as if proto-max-bulk-len said no. */
const MAX_JS_STRING = 2 ** 29 - 24;

const TOO_BIG = 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';

/** The value as a string, or undefined; any other type is WRONGTYPE. */
function asString(v: Value | undefined): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  throw new ReplyError(ERR.wrongType);
}

/** Redis checkStringLength: a string may not grow past proto-max-bulk-len. */
export function checkStringLength(total: number): void {
  if (total > getInt('proto-max-bulk-len') || total > MAX_JS_STRING) throw new ReplyError(TOO_BIG);
}

/** A signed 64-bit argument as a number (getLongLongFromObject); precision past 2^53 does not matter to callers. */
function int64Arg(s: string): number {
  const n = int64AsNumber(s);
  if (n === null) throw new ReplyError(ERR.notInt);
  return n;
}

// ---- SET / GETEX options ----

const NX = 1,
  XX = 2,
  EX = 4,
  PX = 8,
  KEEPTTL = 16,
  GET = 32,
  EXAT = 64,
  PXAT = 128,
  PERSIST = 256;
const ANY_EXPIRE = EX | PX | EXAT | PXAT;

interface ExtendedOptions {
  flags: number;
  expire: string | undefined;
}

/**
 * SET's and GETEX's options, with Redis's rule that conflicting ones
 * (NX with XX, two expiries, KEEPTTL or PERSIST with an expiry) are a
 * syntax error, as is an expiry token without its value.
 */
function parseExtended(args: string[], isSet: boolean): ExtendedOptions {
  let flags = 0;
  let expire: string | undefined;
  for (let j = isSet ? 3 : 2; j < args.length; j++) {
    const opt = args[j].toLowerCase();
    const hasNext = j + 1 < args.length;
    let unitFlag = 0;
    if (opt === 'nx' && isSet && !(flags & XX)) flags |= NX;
    else if (opt === 'xx' && isSet && !(flags & NX)) flags |= XX;
    else if (opt === 'get' && isSet) flags |= GET;
    else if (opt === 'keepttl' && isSet && !(flags & (PERSIST | ANY_EXPIRE))) flags |= KEEPTTL;
    else if (opt === 'persist' && !isSet && !(flags & (ANY_EXPIRE | KEEPTTL))) flags |= PERSIST;
    else if (opt === 'ex') unitFlag = EX;
    else if (opt === 'px') unitFlag = PX;
    else if (opt === 'exat') unitFlag = EXAT;
    else if (opt === 'pxat') unitFlag = PXAT;
    else throw new ReplyError(ERR.syntax);
    if (unitFlag !== 0) {
      if (flags & (KEEPTTL | PERSIST | (ANY_EXPIRE & ~unitFlag)) || !hasNext) throw new ReplyError(ERR.syntax);
      flags |= unitFlag;
      expire = args[++j];
    }
  }
  return { flags, expire };
}

/** Expiry arguments up to this (in s or ms) stay far inside 2^53 once in ms and added to now. */
const SMALL_EXPIRE = 1e12;

/** The absolute expiry in ms an EX/PX/EXAT/PXAT argument means, or Redis's error. */
function expireAtMs(arg: string, flags: number, cmdName: string, now: number): number {
  // Usual values (positive, up to 10^12) cannot overflow: number arithmetic is exact.
  const small = toSafeInt(arg);
  if (small !== null && small > 0 && small <= SMALL_EXPIRE) {
    const ms = (flags & (EX | EXAT)) !== 0 ? small * 1000 : small;
    return flags & (EX | PX) ? ms + now : ms;
  }
  const n = parseInt64(arg);
  if (n === null) throw new ReplyError(ERR.notInt);
  const inSeconds = (flags & (EX | EXAT)) !== 0;
  if (n <= 0n || (inSeconds && n > INT64_MAX / 1000n)) throw new ReplyError(ERR.invalidExpire(cmdName));
  let ms = inSeconds ? n * 1000n : n;
  if (flags & (EX | PX)) ms += BigInt(now);
  if (ms > INT64_MAX) throw new ReplyError(ERR.invalidExpire(cmdName));
  return Number(ms);
}

function setWithOptions(ctx: CommandContext, args: string[]): void {
  const { flags, expire } = parseExtended(args, true);
  const key = args[1];
  const db = ctx.db;
  const at = expire === undefined ? undefined : expireAtMs(expire, flags, 'set', ctx.ks.now);
  let old: string | undefined;
  let found: boolean;
  if (flags & GET) {
    old = asString(db.get(key));
    found = old !== undefined;
  } else {
    found = db.peek(key) !== undefined;
  }
  if ((flags & NX && found) || (flags & XX && !found)) {
    if (flags & GET) ctx.r.bulkOrNull(old);
    else ctx.r.null();
    return;
  }
  db.set(key, args[2], (flags & KEEPTTL) !== 0, at);
  notify(NOTIFY_STRING, 'set', key, db.id);
  if (at !== undefined) notify(NOTIFY_GENERIC, 'expire', key, db.id);
  if (flags & GET) ctx.r.bulkOrNull(old);
  else ctx.r.ok();
}

/** SETEX / PSETEX. */
function setWithTtl(ctx: CommandContext, args: string[], unit: number, cmdName: string): void {
  const at = expireAtMs(args[2], unit, cmdName, ctx.ks.now);
  ctx.db.set(args[1], args[3], false, at);
  notify(NOTIFY_STRING, 'set', args[1], ctx.db.id);
  notify(NOTIFY_GENERIC, 'expire', args[1], ctx.db.id);
  ctx.r.ok();
}

function getex(ctx: CommandContext, args: string[]): void {
  const { flags, expire } = parseExtended(args, false);
  const key = args[1];
  const db = ctx.db;
  const v = asString(db.get(key));
  if (v === undefined) return ctx.r.null();
  const at = expire === undefined ? undefined : expireAtMs(expire, flags, 'getex', ctx.ks.now);
  ctx.r.bulk(v);
  // setExpire deletes the key when an EXAT/PXAT time has already passed.
  if (at !== undefined) {
    const gone = at <= ctx.ks.now;
    db.setExpire(key, at);
    notify(NOTIFY_GENERIC, gone ? 'del' : 'expire', key, db.id);
  } else if (flags & PERSIST && db.persist(key)) notify(NOTIFY_GENERIC, 'persist', key, db.id);
}

// ---- counters ----

function incrBy(ctx: CommandContext, key: string, by: number | bigint): void {
  const db = ctx.db;
  const v = asString(db.peek(key));
  let cur: number | bigint = 0;
  if (v !== undefined) {
    const n = parseStoredInt(v);
    if (n === null) throw new ReplyError(ERR.notInt);
    cur = n;
  }
  if (typeof cur === 'number' && typeof by === 'number') {
    const r = cur + by;
    if (Number.isSafeInteger(r)) {
      db.set(key, String(r), true);
      notify(NOTIFY_STRING, 'incrby', key, db.id);
      ctx.r.int(r);
      return;
    }
  }
  const r = BigInt(cur) + BigInt(by);
  if (!fitsInt64(r)) throw new ReplyError(ERR.overflow);
  db.set(key, r.toString(), true);
  notify(NOTIFY_STRING, 'incrby', key, db.id);
  ctx.r.int(r);
}

/** An INCRBY/DECRBY amount: a number when exact, else a bigint. */
function incrementArg(s: string): number | bigint {
  const n = parseStoredInt(s);
  if (n === null) throw new ReplyError(ERR.notInt);
  return n;
}

function incrByFloat(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  const key = args[1];
  const v = asString(db.peek(key));
  let cur: LongDouble | null = { neg: false, m: 0n, e: 0, inf: false };
  if (v !== undefined) cur = parseLongDouble(v);
  const incr = cur === null ? null : parseLongDouble(args[2]);
  if (cur === null || incr === null) throw new ReplyError(ERR.notFloat);
  const sum = addLongDouble(cur, incr);
  if (sum === null || sum.inf) throw new ReplyError('ERR increment would produce NaN or Infinity');
  const text = formatLongDouble(sum);
  db.set(key, text, true);
  notify(NOTIFY_STRING, 'incrbyfloat', key, db.id);
  ctx.r.bulk(text);
}

// ---- ranges ----

function getRange(ctx: CommandContext, args: string[]): void {
  let start = int64Arg(args[2]);
  let end = int64Arg(args[3]);
  const v = asString(ctx.db.get(args[1]));
  if (v === undefined) return ctx.r.bulk('');
  const len = v.length;
  if (start < 0 && end < 0 && start > end) return ctx.r.bulk('');
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return ctx.r.bulk('');
  ctx.r.bulk(v.slice(start, end + 1));
}

function setRange(ctx: CommandContext, args: string[]): void {
  const offset = int64Arg(args[2]);
  if (offset < 0) throw new ReplyError('ERR offset is out of range');
  const key = args[1];
  const value = args[3];
  const db = ctx.db;
  const v = asString(db.peek(key));
  if (value.length === 0) return ctx.r.int(v === undefined ? 0 : v.length);
  checkStringLength(offset + value.length);
  let next: string;
  if (v === undefined) next = '\0'.repeat(offset) + value;
  else if (offset >= v.length) next = v + '\0'.repeat(offset - v.length) + value;
  else next = v.slice(0, offset) + value + v.slice(offset + value.length);
  db.set(key, next, true);
  notify(NOTIFY_STRING, 'setrange', key, db.id);
  ctx.r.int(next.length);
}

// ---- LCS ----

function lcs(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  const va = db.get(args[1]);
  const vb = db.get(args[2]);
  if ((va !== undefined && typeof va !== 'string') || (vb !== undefined && typeof vb !== 'string')) {
    throw new ReplyError('ERR The specified keys must contain string values');
  }
  const a = va ?? '';
  const b = vb ?? '';
  let getLen = false;
  let getIdx = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  for (let j = 3; j < args.length; j++) {
    const opt = args[j].toLowerCase();
    if (opt === 'idx') getIdx = true;
    else if (opt === 'len') getLen = true;
    else if (opt === 'withmatchlen') withMatchLen = true;
    else if (opt === 'minmatchlen' && j + 1 < args.length) {
      minMatchLen = Math.max(0, int64Arg(args[++j]));
    } else throw new ReplyError(ERR.syntax);
  }
  if (getLen && getIdx) throw new ReplyError('ERR If you want both the length and indexes, please just use IDX.');
  const alen = a.length;
  const blen = b.length;
  const cells = (alen + 1) * (blen + 1);
  if (cells * 4 > getInt('proto-max-bulk-len')) {
    throw new ReplyError('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  }
  // table[i*(blen+1)+j] = LCS length of a[0..i) and b[0..j).
  const w = blen + 1;
  let table: Uint32Array;
  try {
    table = new Uint32Array(cells);
  } catch {
    throw new ReplyError('ERR Insufficient memory, failed allocating transient memory for LCS');
  }
  for (let i = 1; i <= alen; i++) {
    const ca = a.charCodeAt(i - 1);
    const row = i * w;
    const prev = row - w;
    for (let j = 1; j <= blen; j++) {
      if (ca === b.charCodeAt(j - 1)) table[row + j] = table[prev + j - 1] + 1;
      else {
        const up = table[prev + j];
        const left = table[row + j - 1];
        table[row + j] = up > left ? up : left;
      }
    }
  }
  const total = table[alen * w + blen];
  if (getLen) return ctx.r.int(total);

  // Walk back from the end, collecting the common string and the matching ranges.
  const out = Buffer.allocUnsafe(total);
  const ranges: number[][] = [];
  let idx = total;
  let i = alen;
  let j = blen;
  let aStart = -1,
    aEnd = 0,
    bStart = 0,
    bEnd = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a.charCodeAt(i - 1) === b.charCodeAt(j - 1)) {
      out[--idx] = a.charCodeAt(i - 1);
      if (aStart === -1) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      i--;
      j--;
    } else {
      if (table[(i - 1) * w + j] > table[i * w + j - 1]) i--;
      else j--;
      if (aStart !== -1) emit = true;
    }
    if (emit) {
      const len = aEnd - aStart + 1;
      if (minMatchLen === 0 || len >= minMatchLen) ranges.push([aStart, aEnd, bStart, bEnd, len]);
      aStart = -1;
    }
  }
  if (!getIdx) return ctx.r.bulk(out.latin1Slice(0, total));
  const r = ctx.r;
  r.map(2);
  r.bulk('matches');
  r.array(ranges.length);
  for (const [as, ae, bs, be, len] of ranges) {
    r.array(withMatchLen ? 3 : 2);
    r.array(2);
    r.int(as);
    r.int(ae);
    r.array(2);
    r.int(bs);
    r.int(be);
    if (withMatchLen) r.int(len);
  }
  r.bulk('len');
  r.int(total);
}

// ---- table ----

const KEY: ArgDoc = { name: 'key', type: 'key' };
const EXPIRY_TOKENS: ArgDoc[] = [
  { name: 'seconds', type: 'integer', token: 'EX' },
  { name: 'milliseconds', type: 'integer', token: 'PX' },
  { name: 'unix-time-seconds', type: 'unix-time', token: 'EXAT' },
  { name: 'unix-time-milliseconds', type: 'unix-time', token: 'PXAT' },
];
const KEY_VALUE: ArgDoc[] = [{ name: 'key_value', type: 'block', multiple: true, arguments: [KEY, { name: 'value', type: 'string' }] }];
const RANGE_COMPLEXITY =
  'O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.';

register(
  cmd('get', 2, 'readonly fast', [1, 1, 1], 'string read fast', { group: S, summary: 'Get the value of a key', complexity: 'O(1)', args: [KEY] }, (ctx, args) => {
    const v = ctx.db.get(args[1]);
    if (v === undefined) ctx.r.null();
    else if (typeof v === 'string') ctx.r.bulk(v);
    else throw new ReplyError(ERR.wrongType);
  }),
  cmd(
    'set',
    -3,
    'write denyoom',
    [1, 1, 1],
    'string write slow',
    {
      group: S,
      summary: 'Set the string value of a key',
      complexity: 'O(1)',
      // VARIABLE_FLAGS: an overwrite (OW) without GET, a read too with it (setGetKeys; see COMMAND GETKEYSANDFLAGS).
      keySpec: keyAt(1, 'RW access update variable_flags', 'RW and ACCESS due to the optional `GET` argument'), history: [['2.6.12', 'Added the `EX`, `PX`, `NX` and `XX` options.'], ['6.0.0', 'Added the `KEEPTTL` option.'], ['6.2.0', 'Added the `GET`, `EXAT` and `PXAT` option.'], ['7.0.0', 'Allowed the `NX` and `GET` options to be used together.']], args: [{ name: 'key', type: 'key' }, { name: 'value', type: 'string' }, { name: 'condition', type: 'oneof', since: '2.6.12', optional: true, arguments: [{ name: 'nx', type: 'pure-token', token: 'NX' }, { name: 'xx', type: 'pure-token', token: 'XX' }] }, { name: 'get', type: 'pure-token', token: 'GET', since: '6.2.0', optional: true }, { name: 'expiration', type: 'oneof', optional: true, arguments: [{ name: 'seconds', type: 'integer', token: 'EX', since: '2.6.12' }, { name: 'milliseconds', type: 'integer', token: 'PX', since: '2.6.12' }, { name: 'unix-time-seconds', type: 'unix-time', token: 'EXAT', since: '6.2.0' }, { name: 'unix-time-milliseconds', type: 'unix-time', token: 'PXAT', since: '6.2.0' }, { name: 'keepttl', type: 'pure-token', token: 'KEEPTTL', since: '6.0.0' }] }],
    },
    (ctx, args) => {
      if (args.length === 3) {
        ctx.db.set(args[1], args[2]);
        notify(NOTIFY_STRING, 'set', args[1], ctx.db.id);
        ctx.r.ok();
      } else setWithOptions(ctx, args);
    },
  ),
  cmd('setnx', 3, 'write denyoom fast', [1, 1, 1], 'string write fast', { group: S, summary: 'Set the value of a key, only if the key does not exist', complexity: 'O(1)', args: [KEY, { name: 'value', type: 'string' }], keySpec: keyAt(1, 'OW insert') }, (ctx, args) => {
    if (ctx.db.peek(args[1]) !== undefined) return ctx.r.int(0);
    ctx.db.set(args[1], args[2]);
    notify(NOTIFY_STRING, 'set', args[1], ctx.db.id);
    ctx.r.int(1);
  }),
  cmd('setex', 4, 'write denyoom', [1, 1, 1], 'string write slow', { group: S, summary: 'Set the value and expiration of a key', since: '2.0.0', complexity: 'O(1)', args: [KEY, { name: 'seconds', type: 'integer' }, { name: 'value', type: 'string' }], keySpec: keyAt(1, 'OW update') }, (ctx, args) =>
    setWithTtl(ctx, args, EX, 'setex'),
  ),
  cmd('psetex', 4, 'write denyoom', [1, 1, 1], 'string write slow', { group: S, summary: 'Set the value and expiration in milliseconds of a key', since: '2.6.0', complexity: 'O(1)', args: [KEY, { name: 'milliseconds', type: 'integer' }, { name: 'value', type: 'string' }], keySpec: keyAt(1, 'OW update') }, (ctx, args) =>
    setWithTtl(ctx, args, PX, 'psetex'),
  ),
  cmd('mget', -2, 'readonly fast', [1, -1, 1], 'string read fast', { group: S, summary: 'Get the values of all the given keys', complexity: 'O(N) where N is the number of keys to retrieve.', args: [{ ...KEY, multiple: true }], tips: ['request_policy:multi_shard'] }, (ctx, args) => {
    const r = ctx.r;
    const db = ctx.db;
    r.array(args.length - 1);
    for (let i = 1; i < args.length; i++) {
      if (i % WARM_MAX === 1) db.warm(args, i, args.length, 1);
      const v = db.get(args[i]);
      if (typeof v === 'string') r.bulk(v);
      else r.null();
    }
  }),
  cmd('mset', -3, 'write denyoom', [1, -1, 2], 'string write slow', { group: S, summary: 'Set multiple keys to multiple values', since: '1.0.1', complexity: 'O(N) where N is the number of keys to set.', args: KEY_VALUE, keySpec: keyAt(1, 'OW update', undefined, -1, 2), tips: ['request_policy:multi_shard', 'response_policy:all_succeeded'] }, (ctx, args) => {
    if (args.length % 2 === 0) throw new ReplyError(ERR.arity('mset'));
    const db = ctx.db;
    for (let i = 1; i < args.length; i += 2) {
      if (i % (2 * WARM_MAX) === 1) db.warm(args, i, args.length, 2);
      db.set(args[i], args[i + 1]);
      notify(NOTIFY_STRING, 'set', args[i], db.id);
    }
    ctx.r.ok();
  }),
  cmd('msetnx', -3, 'write denyoom', [1, -1, 2], 'string write slow', { group: S, summary: 'Set multiple keys to multiple values, only if none of the keys exist', since: '1.0.1', complexity: 'O(N) where N is the number of keys to set.', args: KEY_VALUE, keySpec: keyAt(1, 'OW insert', undefined, -1, 2), tips: ['request_policy:multi_shard', 'response_policy:agg_min'] }, (ctx, args) => {
    if (args.length % 2 === 0) throw new ReplyError(ERR.arity('msetnx'));
    const db = ctx.db;
    for (let i = 1; i < args.length; i += 2) {
      if (i % (2 * WARM_MAX) === 1) db.warm(args, i, args.length, 2);
      if (db.peek(args[i]) !== undefined) return ctx.r.int(0);
    }
    for (let i = 1; i < args.length; i += 2) {
      db.set(args[i], args[i + 1]);
      notify(NOTIFY_STRING, 'set', args[i], db.id);
    }
    ctx.r.int(1);
  }),
  cmd('getset', 3, 'write denyoom fast', [1, 1, 1], 'string write fast', { group: S, summary: 'Set the string value of a key and return its old value', complexity: 'O(1)', args: [KEY, { name: 'value', type: 'string' }], keySpec: keyAt(1, 'RW access update'), docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`SET` with the `!GET` argument' }, (ctx, args) => {
    const old = asString(ctx.db.get(args[1]));
    ctx.db.set(args[1], args[2]);
    notify(NOTIFY_STRING, 'set', args[1], ctx.db.id);
    ctx.r.bulkOrNull(old);
  }),
  cmd('getdel', 2, 'write fast', [1, 1, 1], 'string write fast', { group: S, summary: 'Get the value of a key and delete the key', since: '6.2.0', complexity: 'O(1)', args: [KEY], keySpec: keyAt(1, 'RW access delete') }, (ctx, args) => {
    const v = asString(ctx.db.get(args[1]));
    if (v === undefined) return ctx.r.null();
    ctx.r.bulk(v);
    ctx.db.delete(args[1]);
    notify(NOTIFY_GENERIC, 'del', args[1], ctx.db.id);
  }),
  cmd(
    'getex',
    -2,
    'write fast',
    [1, 1, 1],
    'string write fast',
    {
      group: S,
      summary: 'Get the value of a key and optionally set its expiration',
      since: '6.2.0',
      complexity: 'O(1)',
      args: [KEY, { name: 'expiration', type: 'oneof', optional: true, arguments: [...EXPIRY_TOKENS, { name: 'persist', type: 'pure-token', token: 'PERSIST' }] }], keySpec: keyAt(1, 'RW access update', 'RW and UPDATE because it changes the TTL'),
    },
    getex,
  ),
  cmd(
    'append',
    3,
    'write denyoom fast',
    [1, 1, 1],
    'string write fast',
    {
      group: S,
      summary: 'Append a value to a key',
      since: '2.0.0',
      complexity:
        'O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.',
      args: [KEY, { name: 'value', type: 'string' }], keySpec: keyAt(1, 'RW insert'),
    },
    (ctx, args) => {
      const db = ctx.db;
      const v = asString(db.peek(args[1]));
      if (v === undefined) {
        db.set(args[1], args[2]);
        notify(NOTIFY_STRING, 'append', args[1], db.id);
        return ctx.r.int(args[2].length);
      }
      checkStringLength(v.length + args[2].length);
      const next = v + args[2];
      db.set(args[1], next, true);
      notify(NOTIFY_STRING, 'append', args[1], db.id);
      ctx.r.int(next.length);
    },
  ),
  cmd('strlen', 2, 'readonly fast', [1, 1, 1], 'string read fast', { group: S, summary: 'Get the length of the value stored in a key', since: '2.2.0', complexity: 'O(1)', args: [KEY], keySpec: keyAt(1, 'RO') }, (ctx, args) => {
    const v = asString(ctx.db.get(args[1]));
    ctx.r.int(v === undefined ? 0 : v.length);
  }),
  cmd('incr', 2, 'write denyoom fast', [1, 1, 1], 'string write fast', { group: S, summary: 'Increment the integer value of a key by one', complexity: 'O(1)', args: [KEY], keySpec: keyAt(1, 'RW access update') }, (ctx, args) => incrBy(ctx, args[1], 1)),
  cmd('decr', 2, 'write denyoom fast', [1, 1, 1], 'string write fast', { group: S, summary: 'Decrement the integer value of a key by one', complexity: 'O(1)', args: [KEY], keySpec: keyAt(1, 'RW access update') }, (ctx, args) => incrBy(ctx, args[1], -1)),
  cmd('incrby', 3, 'write denyoom fast', [1, 1, 1], 'string write fast', { group: S, summary: 'Increment the integer value of a key by the given amount', complexity: 'O(1)', args: [KEY, { name: 'increment', type: 'integer' }], keySpec: keyAt(1, 'RW access update') }, (ctx, args) =>
    incrBy(ctx, args[1], incrementArg(args[2])),
  ),
  cmd('decrby', 3, 'write denyoom fast', [1, 1, 1], 'string write fast', { group: S, summary: 'Decrement the integer value of a key by the given number', complexity: 'O(1)', args: [KEY, { name: 'decrement', type: 'integer' }], keySpec: keyAt(1, 'RW access update') }, (ctx, args) => {
    const n = incrementArg(args[2]);
    // -INT64_MIN does not fit: Redis refuses before looking at the key.
    if (typeof n === 'bigint' && n === -(2n ** 63n)) throw new ReplyError('ERR decrement would overflow');
    incrBy(ctx, args[1], -n);
  }),
  cmd('incrbyfloat', 3, 'write denyoom fast', [1, 1, 1], 'string write fast', { group: S, summary: 'Increment the float value of a key by the given amount', since: '2.6.0', complexity: 'O(1)', args: [KEY, { name: 'increment', type: 'double' }], keySpec: keyAt(1, 'RW access update') }, incrByFloat),
  cmd('getrange', 4, 'readonly', [1, 1, 1], 'string read slow', { group: S, summary: 'Get a substring of the string stored at a key', since: '2.4.0', complexity: RANGE_COMPLEXITY, args: [KEY, { name: 'start', type: 'integer' }, { name: 'end', type: 'integer' }] }, getRange),
  cmd('substr', 4, 'readonly', [1, 1, 1], 'string read slow', { group: S, summary: 'Get a substring of the string stored at a key', complexity: RANGE_COMPLEXITY, args: [KEY, { name: 'start', type: 'integer' }, { name: 'end', type: 'integer' }], docFlags: ['deprecated'], deprecatedSince: '2.0.0', replacedBy: '`GETRANGE`' }, getRange),
  cmd(
    'setrange',
    4,
    'write denyoom',
    [1, 1, 1],
    'string write slow',
    {
      group: S,
      summary: 'Overwrite part of a string at key starting at the specified offset',
      since: '2.2.0',
      complexity:
        'O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.',
      args: [KEY, { name: 'offset', type: 'integer' }, { name: 'value', type: 'string' }],
    },
    setRange,
  ),
  cmd(
    'lcs',
    -3,
    'readonly',
    [1, 2, 1],
    'string read slow',
    {
      group: S,
      summary: 'Find longest common substring',
      since: '7.0.0',
      complexity: 'O(N*M) where N and M are the lengths of s1 and s2, respectively',
      args: [
        { name: 'key1', type: 'key' },
        { name: 'key2', type: 'key' },
        { name: 'len', type: 'pure-token', token: 'LEN', optional: true },
        { name: 'idx', type: 'pure-token', token: 'IDX', optional: true },
        { name: 'len', type: 'integer', token: 'MINMATCHLEN', optional: true },
        { name: 'withmatchlen', type: 'pure-token', token: 'WITHMATCHLEN', optional: true },
      ],
    },
    lcs,
  ),
);

// SET's key spec has VARIABLE_FLAGS (Redis's setGetKeys): an overwrite
// without GET, a read-modify with it.
lookup('set')!.keyFlags = (argv) => (argv.some((a, i) => i > 2 && a.toLowerCase() === 'get') ? ['RW', 'access', 'update'] : ['OW', 'update']);
