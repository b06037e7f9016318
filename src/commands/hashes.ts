/**
 * Hash family (t_hash.c): HSET and friends, HINCRBY(FLOAT), HRANDFIELD, HSCAN.
 */
import { replyHash, replyOwned } from '../memory/collection-replies.js';
import { INLINE_PICKS, RandomPicks, pairPicks } from '../memory/random-reply.js';
import { register } from './registry.js';
import { keyAt, cmd } from './spec.js';
import { ERR, ReplyError, parseInt64, toFloat, toSafeInt } from '../protocol/errors.js';
import { HashValue } from '../types/hash.js';
import { fitsInt64, parseStoredInt } from '../types/string.js';
import type { Database } from '../keyspace/db.js';
import type { CommandContext } from '../server/context.js';
import { globMatch } from '../keyspace/glob.js';
import { notify, NOTIFY_GENERIC, NOTIFY_HASH } from '../keyspace/notify.js';

const G = { group: 'hash' };

function hashForRead(db: Database, key: string): HashValue | undefined {
  const v = db.get(key);
  if (v === undefined || v instanceof HashValue) return v;
  throw new ReplyError(ERR.wrongType);
}

function hashForWrite(db: Database, key: string): HashValue | undefined {
  const v = db.getForWrite(key);
  if (v === undefined || v instanceof HashValue) return v;
  throw new ReplyError(ERR.wrongType);
}

/** The hash at key, created (not yet stored: call `store`) if missing. */
function hashOrNew(db: Database, key: string): { h: HashValue; isNew: boolean } {
  const h = hashForWrite(db, key);
  return h === undefined ? { h: new HashValue(), isNew: true } : { h, isNew: false };
}

function store(db: Database, key: string, h: HashValue, isNew: boolean, event: string): void {
  if (isNew) db.set(key, h);
  else db.modified(key);
  notify(NOTIFY_HASH, event, key, db.id);
}

function hset(ctx: CommandContext, args: string[], legacy: boolean): void {
  if (args.length % 2 !== 0) throw new ReplyError(ERR.arity(legacy ? 'hmset' : 'hset'));
  const db = ctx.db;
  const { h, isNew } = hashOrNew(db, args[1]);
  h.checkLengths(args, 2);
  let created = 0;
  for (let i = 2; i < args.length; i += 2) if (h.set(args[i], args[i + 1])) created++;
  store(db, args[1], h, isNew, 'hset');
  if (legacy) ctx.r.ok();
  else ctx.r.int(created);
}

function hdel(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  const h = hashForWrite(db, args[1]);
  if (h === undefined) return ctx.r.int(0);
  let n = 0;
  for (let i = 2; i < args.length; i++) {
    if (h.delete(args[i])) n++;
    if (h.size === 0) break;
  }
  if (n > 0) {
    notify(NOTIFY_HASH, 'hdel', args[1], db.id);
    if (h.size === 0) {
      db.delete(args[1]);
      notify(NOTIFY_GENERIC, 'del', args[1], db.id);
    } else db.modified(args[1]);
  }
  ctx.r.int(n);
}

/** HKEYS / HVALS / HGETALL. */
function hgetall(ctx: CommandContext, args: string[], keys: boolean, vals: boolean): void {
  const h = hashForRead(ctx.db, args[1]);
  const r = ctx.r;
  if (h === undefined) return keys && vals ? r.map(0) : r.array(0);
  replyHash(ctx, h, keys, vals);
}

function hincrby(ctx: CommandContext, args: string[]): void {
  const incr = parseStoredInt(args[3]);
  if (incr === null) throw new ReplyError(ERR.notInt);
  const db = ctx.db;
  const { h, isNew } = hashOrNew(db, args[1]);
  const cur = h.get(args[2]);
  let value: number | bigint = 0;
  if (cur !== undefined) {
    const p = parseStoredInt(cur);
    if (p === null) throw new ReplyError('ERR hash value is not an integer');
    value = p;
  }
  // Numbers while exact (BullMQ's attempt counters), int64 arithmetic past that, as INCRBY does.
  let s: string;
  let reply: number | bigint;
  const sum = typeof value === 'number' && typeof incr === 'number' ? value + incr : NaN;
  if (Number.isSafeInteger(sum)) s = String((reply = sum));
  else {
    const next = BigInt(value) + BigInt(incr);
    if (!fitsInt64(next)) throw new ReplyError(ERR.overflow);
    s = (reply = next).toString();
  }
  h.set(args[2], s);
  store(db, args[1], h, isNew, 'hincrby');
  // As an integer reply (the same bytes as ':' + s): a script's redis.call takes it without parsing RESP.
  ctx.r.int(reply);
}

/**
 * Redis's ld2string(LD_STR_HUMAN): plain decimal, no exponent. Redis adds in
 * long double and prints 17 decimals, which hides the last-bit noise a double
 * sum shows (0.1+0.2 is "0.3" there); rounding to 15 digits when that is
 * within a few ulps gives the same text.
 */
export function humanFloat(n: number): string {
  if (Object.is(n, -0)) n = 0;
  const r = Number(n.toPrecision(15));
  if (Math.abs(r - n) <= Math.abs(n) * Number.EPSILON * 4) n = r;
  const s = String(n);
  if (!/e/i.test(s)) return s;
  if (Math.abs(n) >= 1) return BigInt(n).toString();
  return n.toFixed(17).replace(/\.?0+$/, '') || '0';
}

function hincrbyfloat(ctx: CommandContext, args: string[]): void {
  const incr = toFloat(args[3]);
  if (incr === null) throw new ReplyError(ERR.notFloat);
  if (!Number.isFinite(incr)) throw new ReplyError('ERR value is NaN or Infinity');
  const db = ctx.db;
  const { h, isNew } = hashOrNew(db, args[1]);
  const cur = h.get(args[2]);
  let value = 0;
  if (cur !== undefined) {
    const p = toFloat(cur);
    if (p === null) throw new ReplyError('ERR hash value is not a float');
    value = p;
  }
  const next = value + incr;
  if (!Number.isFinite(next)) throw new ReplyError('ERR increment would produce NaN or Infinity');
  const s = humanFloat(next);
  h.set(args[2], s);
  store(db, args[1], h, isNew, 'hincrbyfloat');
  ctx.r.bulk(s);
}

const LONG_MAX = 9223372036854775807n;

/** A streamed HRANDFIELD with a negative count, from a copy of the fields (see memory/random-reply.ts). */
function hashPicks(m: ReadonlyMap<string, string>, count: number, withValues: boolean, proto: 2 | 3): RandomPicks {
  const fields = [...m.keys()];
  // No O(1) random access into a Map: the pool is always a copy, picked from lazily.
  if (!withValues) return new RandomPicks(count, fields.length, false, (r) => r.array(count), (r, i) => r.bulk(fields[i]));
  return pairPicks(count, fields, [...m.values()], false, proto);
}

function hrandfield(ctx: CommandContext, args: string[]): void {
  const r = ctx.r;
  if (args.length === 2) {
    const h = hashForRead(ctx.db, args[1]);
    if (h === undefined) return r.null();
    return r.bulk(pick(h)[0]);
  }
  const big = parseInt64(args[2]);
  if (big === null) throw new ReplyError(ERR.notInt);
  if (big < -LONG_MAX) throw new ReplyError('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  if (args.length > 4 || (args.length === 4 && args[3].toLowerCase() !== 'withvalues')) throw new ReplyError(ERR.syntax);
  const withValues = args.length === 4;
  if (withValues && (big < -LONG_MAX / 2n || big > LONG_MAX / 2n)) throw new ReplyError('ERR value is out of range');
  const h = hashForRead(ctx.db, args[1]);
  if (h === undefined || big === 0n) return r.array(0);
  const size = h.size;
  if (big < 0n) {
    // Repetitions allowed: |count| independent picks.
    const count = Number(-big);
    if (count > INLINE_PICKS) return ctx.stream(hashPicks(h.m, count, withValues, r.proto));
    if (withValues && r.proto === 2) r.array(count * 2);
    else r.array(count);
    const entries = count > 8 ? [...h.m] : null;
    for (let i = 0; i < count; i++) {
      const e = entries ? entries[(Math.random() * size) | 0] : pick(h);
      if (withValues) {
        if (r.proto === 3) r.array(2);
        r.bulk(e[0]);
        r.bulk(e[1]);
      } else r.bulk(e[0]);
    }
    return;
  }
  const count = big >= BigInt(size) ? size : Number(big);
  let out: [string, string][];
  if (count === size) out = [...h.m];
  else {
    // Distinct picks: a partial Fisher-Yates shuffle of the entries.
    const all = [...h.m];
    for (let i = 0; i < count; i++) {
      const j = i + ((Math.random() * (all.length - i)) | 0);
      const t = all[i];
      all[i] = all[j];
      all[j] = t;
    }
    out = all.slice(0, count);
  }
  const nested = r.proto === 3;
  replyOwned(
    ctx,
    out.length,
    (w, n) => w.array(withValues && !nested ? n * 2 : n),
    (w, i) => {
      const [f, v] = out[i];
      if (!withValues) return w.bulk(f);
      if (nested) w.array(2);
      w.bulk(f);
      w.bulk(v);
    },
  );
}

/** One random entry (uniform); the hash is non-empty. */
function pick(h: HashValue): [string, string] {
  let k = (Math.random() * h.size) | 0;
  for (const e of h.m) if (k-- === 0) return e;
  return h.m.entries().next().value as [string, string];
}

function hscan(ctx: CommandContext, args: string[]): void {
  if (!/^\d+$/.test(args[2]) || BigInt(args[2]) > 2n ** 64n - 1n) throw new ReplyError('ERR invalid cursor');
  const cursor = Number(args[2]);
  let count = 10;
  let pattern: string | null = null;
  for (let i = 3; i < args.length; i += 2) {
    const opt = args[i].toLowerCase();
    if (i + 1 >= args.length) throw new ReplyError(ERR.syntax);
    if (opt === 'count') {
      const n = toSafeInt(args[i + 1]);
      if (n === null) {
        if (parseInt64(args[i + 1]) === null) throw new ReplyError(ERR.notInt);
        count = Number.MAX_SAFE_INTEGER;
      } else count = n;
      if (count < 1) throw new ReplyError(ERR.syntax);
    } else if (opt === 'match') {
      pattern = args[i + 1];
      if (pattern === '*') pattern = null;
    } else throw new ReplyError(ERR.syntax);
  }
  const r = ctx.r;
  const h = hashForRead(ctx.db, args[1]);
  const out: string[] = [];
  const next = h === undefined ? 0 : h.scan(cursor, count, out);
  r.array(2);
  r.bulk(String(next));
  if (pattern === null) return r.bulks(out);
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (globMatch(pattern, out[i])) kept.push(out[i], out[i + 1]);
  r.bulks(kept);
}

const RF = 'read hash fast';
const WF = 'write hash fast';
register(
  cmd('hset', -4, 'write denyoom fast', [1, 1, 1], WF, { ...G, since: '2.0.0', summary: 'Set the string value of a hash field', complexity: 'O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.', history: [['4.0.0', 'Accepts multiple `field` and `value` arguments.']] }, (ctx, args) => hset(ctx, args, false)),
  cmd('hmset', -4, 'write denyoom fast', [1, 1, 1], WF, { ...G, since: '2.0.0', summary: 'Set multiple hash fields to multiple values', complexity: 'O(N) where N is the number of fields being set.', docFlags: ['deprecated'], deprecatedSince: '4.0.0', replacedBy: '`HSET` with multiple field-value pairs' }, (ctx, args) => hset(ctx, args, true)),
  cmd('hsetnx', 4, 'write denyoom fast', [1, 1, 1], WF, { ...G, since: '2.0.0', keySpec: keyAt(1, 'RW insert'), summary: 'Set the value of a hash field, only if the field does not exist', complexity: 'O(1)' }, (ctx, args) => {
    const db = ctx.db;
    const { h, isNew } = hashOrNew(db, args[1]);
    // Redis converts on long arguments even when the field already exists.
    h.checkLengths(args, 2);
    if (h.get(args[2]) !== undefined) return ctx.r.int(0);
    h.set(args[2], args[3]);
    store(db, args[1], h, isNew, 'hset');
    ctx.r.int(1);
  }),
  cmd('hget', 3, 'readonly fast', [1, 1, 1], RF, { ...G, since: '2.0.0', summary: 'Get the value of a hash field', complexity: 'O(1)' }, (ctx, args) => {
    const h = hashForRead(ctx.db, args[1]);
    ctx.r.bulkOrNull(h?.get(args[2]));
  }),
  cmd('hmget', -3, 'readonly fast', [1, 1, 1], RF, { ...G, since: '2.0.0', summary: 'Get the values of all the given hash fields', complexity: 'O(N) where N is the number of fields being requested.' }, (ctx, args) => {
    const h = hashForRead(ctx.db, args[1]);
    const r = ctx.r;
    r.array(args.length - 2);
    for (let i = 2; i < args.length; i++) r.bulkOrNull(h?.get(args[i]));
  }),
  cmd('hdel', -3, 'write fast', [1, 1, 1], WF, { ...G, since: '2.0.0', keySpec: keyAt(1, 'RW delete'), summary: 'Delete one or more hash fields', complexity: 'O(N) where N is the number of fields to be removed.', history: [['2.4.0', 'Accepts multiple `field` arguments.']] }, hdel),
  cmd('hlen', 2, 'readonly fast', [1, 1, 1], RF, { ...G, since: '2.0.0', keySpec: keyAt(1, 'RO'), summary: 'Get the number of fields in a hash', complexity: 'O(1)' }, (ctx, args) => {
    ctx.r.int(hashForRead(ctx.db, args[1])?.size ?? 0);
  }),
  cmd('hstrlen', 3, 'readonly fast', [1, 1, 1], RF, { ...G, since: '3.2.0', keySpec: keyAt(1, 'RO'), summary: 'Get the length of the value of a hash field', complexity: 'O(1)' }, (ctx, args) => {
    ctx.r.int(hashForRead(ctx.db, args[1])?.get(args[2])?.length ?? 0);
  }),
  cmd('hexists', 3, 'readonly fast', [1, 1, 1], RF, { ...G, since: '2.0.0', keySpec: keyAt(1, 'RO'), summary: 'Determine if a hash field exists', complexity: 'O(1)' }, (ctx, args) => {
    ctx.r.int(hashForRead(ctx.db, args[1])?.get(args[2]) !== undefined ? 1 : 0);
  }),
  cmd('hkeys', 2, 'readonly', [1, 1, 1], 'read hash slow', { ...G, since: '2.0.0', tips: ['nondeterministic_output_order'], summary: 'Get all the fields in a hash', complexity: 'O(N) where N is the size of the hash.' }, (ctx, args) => hgetall(ctx, args, true, false)),
  cmd('hvals', 2, 'readonly', [1, 1, 1], 'read hash slow', { ...G, since: '2.0.0', tips: ['nondeterministic_output_order'], summary: 'Get all the values in a hash', complexity: 'O(N) where N is the size of the hash.' }, (ctx, args) => hgetall(ctx, args, false, true)),
  cmd('hgetall', 2, 'readonly', [1, 1, 1], 'read hash slow', { ...G, since: '2.0.0', tips: ['nondeterministic_output_order'], summary: 'Get all the fields and values in a hash', complexity: 'O(N) where N is the size of the hash.' }, (ctx, args) => hgetall(ctx, args, true, true)),
  cmd('hincrby', 4, 'write denyoom fast', [1, 1, 1], WF, { ...G, since: '2.0.0', keySpec: keyAt(1, 'RW access update'), summary: 'Increment the integer value of a hash field by the given number', complexity: 'O(1)' }, hincrby),
  cmd('hincrbyfloat', 4, 'write denyoom fast', [1, 1, 1], WF, { ...G, since: '2.6.0', keySpec: keyAt(1, 'RW access update'), summary: 'Increment the float value of a hash field by the given amount', complexity: 'O(1)' }, hincrbyfloat),
  cmd('hrandfield', -2, 'readonly', [1, 1, 1], 'read hash slow', { ...G, since: '6.2.0', tips: ['nondeterministic_output'], summary: 'Get one or multiple random fields from a hash', complexity: 'O(N) where N is the number of fields returned' }, hrandfield),
  cmd('hscan', -3, 'readonly', [1, 1, 1], 'read hash slow', { ...G, since: '2.8.0', tips: ['nondeterministic_output'], summary: 'Incrementally iterate hash fields and associated values', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..' }, hscan),
);
