/**
 * Set family (t_set.c): SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SPOP
 * SRANDMEMBER SMOVE SINTER[CARD|STORE] SUNION[STORE] SDIFF[STORE] SSCAN.
 */
import { STREAM_MIN_ITEMS, replySetMembers, replyStrings } from '../memory/collection-replies.js';
import { INLINE_PICKS, stringPicks } from '../memory/random-reply.js';
import { register } from './registry.js';
import { keyAt, cmd } from './spec.js';
import { ERR, ReplyError, parseInt64, parseIntArg, toSafeInt } from '../protocol/errors.js';
import type { Database } from '../keyspace/db.js';
import type { CommandContext } from '../server/context.js';
import { RedisSet } from '../types/set.js';
import { scanArgs, replyScan } from './scan-collection.js';
import { notify, NOTIFY_GENERIC, NOTIFY_SET } from '../keyspace/notify.js';
import { deferArgs, eachArg } from '../protocol/deferred-args.js';

const G = { group: 'set' };
// Giant requests of these keep their source keys as bytes until loadSets reads them.
deferArgs('sunion', 'sinter', 'sdiff', 'sunionstore', 'sinterstore', 'sdiffstore');
export const ERR_POSITIVE = 'ERR value is out of range, must be positive';

/** The set at key, undefined if missing; WRONGTYPE for other types. */
export function readSet(db: Database, key: string, write = false): RedisSet | undefined {
  const v = write ? db.getForWrite(key) : db.get(key);
  if (v === undefined) return undefined;
  if (!(v instanceof RedisSet)) throw new ReplyError(ERR.wrongType);
  return v;
}

/**
 * SRANDMEMBER/ZRANDMEMBER count: a long in [-LONG_MAX, LONG_MAX]. Counts past
 * 2^53 cannot be served anyway; they are clamped (the reply would not fit).
 */
export function parseCount(s: string): number {
  const n = parseInt64(s);
  if (n === null) throw new ReplyError(ERR.notInt);
  if (n < -(2n ** 63n - 1n)) throw new ReplyError('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  return Number(n);
}

function positive(s: string): number {
  const n = parseIntArg(s);
  if (n < 0) throw new ReplyError(ERR_POSITIVE);
  return n;
}

function replySet(ctx: CommandContext, members: Iterable<string>, n: number): void {
  if (n > STREAM_MIN_ITEMS) return replyStrings(ctx, Array.isArray(members) ? members : Array.from(members), (r, k) => r.set(k));
  ctx.r.set(n);
  for (const m of members) ctx.r.bulk(m);
}

/** After members left by `event`: announce it, remove key if its set emptied, else record the change. */
function settle(db: Database, key: string, s: RedisSet, event: string): void {
  notify(NOTIFY_SET, event, key, db.id);
  if (s.size === 0) {
    db.delete(key);
    notify(NOTIFY_GENERIC, 'del', key, db.id);
  } else db.modified(key);
}

/** The sets named by args[from..] (null for a missing key), in order, checking every type first as Redis does. */
function loadSets(db: Database, args: string[], from: number): (RedisSet | null)[] {
  const out: (RedisSet | null)[] = [];
  // A giant request's keys are made a batch at a time (deferArgs above): only the sets stay.
  eachArg(args, from, (k) => {
    out.push(readSet(db, k) ?? null);
  });
  return out;
}

function inter(sets: (RedisSet | null)[], limit = 0): string[] {
  if (sets.some((s) => s === null || s.size === 0)) return [];
  const sorted = (sets as RedisSet[]).slice().sort((a, b) => a.size - b.size);
  const out: string[] = [];
  const [first, ...rest] = sorted;
  for (const m of first.members()) {
    if (rest.every((s) => s.has(m))) {
      out.push(m);
      if (limit > 0 && out.length >= limit) break;
    }
  }
  return out;
}

function union(sets: (RedisSet | null)[]): string[] {
  const acc = new Set<string>();
  for (const s of sets) if (s !== null) for (const m of s.values()) acc.add(m);
  return [...acc];
}

function diff(sets: (RedisSet | null)[]): string[] {
  const [first, ...rest] = sets;
  if (first === null) return [];
  const out: string[] = [];
  for (const m of first.members()) if (!rest.some((s) => s !== null && s.has(m))) out.push(m);
  return out;
}

/** Replace dst with the result (or delete it when empty); reply its size. */
function store(ctx: CommandContext, dst: string, members: string[], event: string): void {
  const db = ctx.db;
  if (members.length === 0) {
    if (db.delete(dst)) notify(NOTIFY_GENERIC, 'del', dst, db.id);
    ctx.r.int(0);
    return;
  }
  const s = RedisSet.from(members);
  db.set(dst, s);
  notify(NOTIFY_SET, event, dst, db.id);
  ctx.r.int(s.size);
}

function numkeysKeys(args: string[], at: number): number[] {
  const n = Number(args[at]);
  const out: number[] = [];
  if (!Number.isInteger(n) || n < 1) return out;
  for (let i = 0; i < n && at + 1 + i < args.length; i++) out.push(at + 1 + i);
  return out;
}

register(
  cmd('sadd', -3, 'write denyoom fast', [1, 1, 1], 'write set fast', { ...G, keySpec: keyAt(1, 'RW insert'), summary: 'Add one or more members to a set', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', history: [['2.4.0', 'Accepts multiple `member` arguments.']] }, (ctx, args) => {
    const db = ctx.db;
    const key = args[1];
    let s = readSet(db, key, true);
    let added = 0;
    if (s === undefined) {
      s = new RedisSet();
      for (let i = 2; i < args.length; i++) if (s.add(args[i])) added++;
      db.set(key, s);
    } else {
      for (let i = 2; i < args.length; i++) if (s.add(args[i])) added++;
      if (added > 0) db.modified(key);
    }
    if (added > 0) notify(NOTIFY_SET, 'sadd', key, db.id);
    ctx.r.int(added);
  }),
  cmd('srem', -3, 'write fast', [1, 1, 1], 'write set fast', { ...G, keySpec: keyAt(1, 'RW delete'), summary: 'Remove one or more members from a set', complexity: 'O(N) where N is the number of members to be removed.', history: [['2.4.0', 'Accepts multiple `member` arguments.']] }, (ctx, args) => {
    const s = readSet(ctx.db, args[1], true);
    let n = 0;
    if (s !== undefined) {
      for (let i = 2; i < args.length; i++) if (s.delete(args[i])) n++;
      if (n > 0) settle(ctx.db, args[1], s, 'srem');
    }
    ctx.r.int(n);
  }),
  cmd('scard', 2, 'readonly fast', [1, 1, 1], 'read set fast', { ...G, keySpec: keyAt(1, 'RO'), summary: 'Get the number of members in a set', complexity: 'O(1)' }, (ctx, args) => {
    ctx.r.int(readSet(ctx.db, args[1])?.size ?? 0);
  }),
  cmd('sismember', 3, 'readonly fast', [1, 1, 1], 'read set fast', { ...G, keySpec: keyAt(1, 'RO'), summary: 'Determine if a given value is a member of a set', complexity: 'O(1)' }, (ctx, args) => {
    ctx.r.int(readSet(ctx.db, args[1])?.has(args[2]) ? 1 : 0);
  }),
  cmd('smismember', -3, 'readonly fast', [1, 1, 1], 'read set fast', { ...G, since: '6.2.0', summary: 'Returns the membership associated with the given elements for a set', complexity: 'O(N) where N is the number of elements being checked for membership' }, (ctx, args) => {
    const s = readSet(ctx.db, args[1]);
    ctx.r.array(args.length - 2);
    for (let i = 2; i < args.length; i++) ctx.r.int(s?.has(args[i]) ? 1 : 0);
  }),
  cmd('smembers', 2, 'readonly', [1, 1, 1], 'read set slow', { ...G, tips: ['nondeterministic_output_order'], summary: 'Get all the members in a set', complexity: 'O(N) where N is the set cardinality.' }, (ctx, args) => {
    const s = readSet(ctx.db, args[1]);
    if (s === undefined) return ctx.r.set(0);
    replySetMembers(ctx, s);
  }),
  cmd('spop', -2, 'write fast', [1, 1, 1], 'write set fast', { ...G, keySpec: keyAt(1, 'RW access delete'), tips: ['nondeterministic_output'], summary: 'Remove and return one or multiple random members from a set', complexity: 'Without the count argument O(1), otherwise O(N) where N is the value of the passed count.', history: [['3.2.0', 'Added the `count` argument.']] }, (ctx, args) => {
    const db = ctx.db;
    const key = args[1];
    if (args.length > 3) throw new ReplyError(ERR.syntax);
    if (args.length === 3) {
      const count = positive(args[2]);
      const s = readSet(db, key, true);
      if (s === undefined || count === 0) return ctx.r.set(0);
      if (count >= s.size) {
        const all = s.members();
        notify(NOTIFY_SET, 'spop', key, db.id);
        db.delete(key);
        notify(NOTIFY_GENERIC, 'del', key, db.id);
        return replySet(ctx, all, all.length);
      }
      const out: string[] = [];
      for (let i = 0; i < count; i++) {
        const m = s.random();
        s.delete(m);
        out.push(m);
      }
      settle(db, key, s, 'spop');
      return replySet(ctx, out, out.length);
    }
    const s = readSet(db, key, true);
    if (s === undefined) return ctx.r.null();
    const m = s.random();
    s.delete(m);
    settle(db, key, s, 'spop');
    ctx.r.bulk(m);
  }),
  cmd('srandmember', -2, 'readonly', [1, 1, 1], 'read set slow', { ...G, tips: ['nondeterministic_output'], summary: 'Get one or multiple random members from a set', complexity: 'Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.', history: [['2.6.0', 'Added the optional `count` argument.']] }, (ctx, args) => {
    if (args.length > 3) throw new ReplyError(ERR.syntax);
    if (args.length === 2) {
      const s = readSet(ctx.db, args[1]);
      if (s === undefined) return ctx.r.null();
      return ctx.r.bulk(s.random());
    }
    const l = parseCount(args[2]);
    const s = readSet(ctx.db, args[1]);
    if (s === undefined || l === 0) return ctx.r.array(0);
    if (l < 0) {
      if (-l > INLINE_PICKS) return ctx.stream(stringPicks(-l, s.size, () => s.random(), () => s.values()));
      ctx.r.array(-l);
      for (let i = 0; i < -l; i++) ctx.r.bulk(s.random());
      return;
    }
    // Unlike SPOP, SRANDMEMBER answers a plain array even in RESP3.
    if (l >= s.size) return replyStrings(ctx, s.members(), (r, n) => r.array(n));
    const picked = new Set<string>();
    if (l * 3 > s.size) {
      // Many of them: a partial shuffle of a copy.
      const pool = s.values().slice();
      for (let i = 0; i < l; i++) {
        const j = i + Math.floor(Math.random() * (pool.length - i));
        const t = pool[i];
        pool[i] = pool[j];
        pool[j] = t;
        picked.add(pool[i]);
      }
    } else {
      while (picked.size < l) picked.add(s.random());
    }
    replyStrings(ctx, [...picked], (r, n) => r.array(n));
  }),
  cmd('smove', 4, 'write fast', [1, 2, 1], 'write set fast', { ...G, keySpec: [keyAt(1, 'RW access delete'), keyAt(2, 'RW insert')], summary: 'Move a member from one set to another', complexity: 'O(1)' }, (ctx, args) => {
    const db = ctx.db;
    const [, src, dst, member] = args;
    const from = readSet(db, src, true);
    // Redis answers 0 for a missing source before it looks at dst's type.
    if (from === undefined) return ctx.r.int(0);
    const to = readSet(db, dst, true);
    if (src === dst) return ctx.r.int(from.has(member) ? 1 : 0);
    if (!from.delete(member)) return ctx.r.int(0);
    settle(db, src, from, 'srem');
    let added = true;
    if (to === undefined) db.set(dst, RedisSet.from([member]));
    else if ((added = to.add(member))) db.modified(dst);
    if (added) notify(NOTIFY_SET, 'sadd', dst, db.id);
    ctx.r.int(1);
  }),
  cmd('sinter', -2, 'readonly', [1, -1, 1], 'read set slow', { ...G, tips: ['nondeterministic_output_order'], summary: 'Intersect multiple sets', complexity: 'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.' }, (ctx, args) => {
    const out = inter(loadSets(ctx.db, args, 1));
    replySet(ctx, out, out.length);
  }),
  cmd(
    'sintercard',
    -3,
    'readonly', [0, 0, 0],
    'read set slow',
    { ...G, since: '7.0.0', getKeys: (a) => numkeysKeys(a, 1), keySpec: { flags: ['RO', 'access'], begin: { index: 1 }, find: { keynumidx: 0, firstkey: 1, keystep: 1 } }, summary: 'Intersect multiple sets and return the cardinality of the result', complexity: 'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.' },
    (ctx, args) => {
      const n = parseIntArg(args[1], 'ERR numkeys should be greater than 0');
      if (n < 1) throw new ReplyError('ERR numkeys should be greater than 0');
      if (n > args.length - 2) throw new ReplyError("ERR Number of keys can't be greater than number of args");
      let limit = 0;
      for (let j = 2 + n; j < args.length; j++) {
        if (args[j].toLowerCase() === 'limit' && j + 1 < args.length) {
          const n = toSafeInt(args[++j]);
          if (n === null || n < 0) throw new ReplyError("ERR LIMIT can't be negative");
          limit = n;
        } else throw new ReplyError(ERR.syntax);
      }
      ctx.r.int(inter(loadSets(ctx.db, args.slice(0, 2 + n), 2), limit).length);
    },
  ),
  cmd('sinterstore', -3, 'write denyoom', [1, -1, 1], 'write set slow', { ...G, keySpec: [keyAt(1, 'RW update'), keyAt(2, 'RO access', undefined, -1, 1)], summary: 'Intersect multiple sets and store the resulting set in a key', complexity: 'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.' }, (ctx, args) => {
    store(ctx, args[1], inter(loadSets(ctx.db, args, 2)), 'sinterstore');
  }),
  cmd('sunion', -2, 'readonly', [1, -1, 1], 'read set slow', { ...G, tips: ['nondeterministic_output_order'], summary: 'Add multiple sets', complexity: 'O(N) where N is the total number of elements in all given sets.' }, (ctx, args) => {
    const out = union(loadSets(ctx.db, args, 1));
    replySet(ctx, out, out.length);
  }),
  cmd('sunionstore', -3, 'write denyoom', [1, -1, 1], 'write set slow', { ...G, keySpec: [keyAt(1, 'OW update'), keyAt(2, 'RO access', undefined, -1, 1)], summary: 'Add multiple sets and store the resulting set in a key', complexity: 'O(N) where N is the total number of elements in all given sets.' }, (ctx, args) => {
    store(ctx, args[1], union(loadSets(ctx.db, args, 2)), 'sunionstore');
  }),
  cmd('sdiff', -2, 'readonly', [1, -1, 1], 'read set slow', { ...G, tips: ['nondeterministic_output_order'], summary: 'Subtract multiple sets', complexity: 'O(N) where N is the total number of elements in all given sets.' }, (ctx, args) => {
    const out = diff(loadSets(ctx.db, args, 1));
    replySet(ctx, out, out.length);
  }),
  cmd('sdiffstore', -3, 'write denyoom', [1, -1, 1], 'write set slow', { ...G, keySpec: [keyAt(1, 'OW update'), keyAt(2, 'RO access', undefined, -1, 1)], summary: 'Subtract multiple sets and store the resulting set in a key', complexity: 'O(N) where N is the total number of elements in all given sets.' }, (ctx, args) => {
    store(ctx, args[1], diff(loadSets(ctx.db, args, 2)), 'sdiffstore');
  }),
  cmd('sscan', -3, 'readonly', [1, 1, 1], 'read set slow', { ...G, since: '2.8.0', tips: ['nondeterministic_output'], summary: 'Incrementally iterate Set elements', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..' }, (ctx, args) => {
    const opts = scanArgs(args, 2);
    const s = readSet(ctx.db, args[1]);
    const items = s === undefined ? [] : s.members();
    replyScan(ctx, opts, items, 1);
  }),
);
