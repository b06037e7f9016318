/**
 * SORT and SORT_RO (sort.c) over lists, sets and sorted sets: BY patterns
 * (a pattern without '*' means "don't sort"), GET patterns with '#' and
 * hash fields ("key*->field"), LIMIT, ASC/DESC, ALPHA and STORE.
 */
import { lookup, register } from './registry.js';
import { allowedWithAllKeys } from '../acl/check.js';
import { READ } from '../acl/selector.js';
import { cmd, keyAt } from './spec.js';
import { ERR, ReplyError, parseInt64, toFloat } from '../protocol/errors.js';
import type { Database } from '../keyspace/db.js';
import type { CommandContext } from '../server/context.js';
import { RedisSet } from '../types/set.js';
import { SortedSet } from '../types/zset.js';
import { ListValue } from '../types/list.js';
import { HashValue } from '../types/hash.js';
import { notify, NOTIFY_GENERIC, NOTIFY_LIST } from '../keyspace/notify.js';

/**
 * lookupKeyByPattern: '#' is the element itself; otherwise the first '*'
 * is replaced by the element and the string key (or hash field after
 * "->") is read. Null when missing or of another type.
 */
function byPattern(db: Database, pattern: string, elem: string): string | null {
  if (pattern === '#') return elem;
  const star = pattern.indexOf('*');
  if (star < 0) return null;
  let field: string | null = null;
  let keyPat = pattern;
  const arrow = pattern.indexOf('->', star + 1);
  if (arrow >= 0 && arrow + 2 < pattern.length) {
    field = pattern.slice(arrow + 2);
    keyPat = pattern.slice(0, arrow);
  }
  const key = keyPat.slice(0, star) + elem + keyPat.slice(star + 1);
  const v = db.get(key);
  if (v === undefined) return null;
  if (field !== null) return v instanceof HashValue ? (v.get(field) ?? null) : null;
  return typeof v === 'string' ? v : null;
}

/** strtod as SORT uses it: leading spaces allowed, nothing after the number; "" is 0. */
function sortScore(s: string): number | null {
  if (s === '') return 0;
  const t = s.replace(/^[ \t\n\v\f\r]+/, '');
  if (t === '') return null;
  return toFloat(t);
}

function byteCmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Item {
  elem: string;
  score: number;
  cmp: string | null;
}

function sortCommand(ctx: CommandContext, args: string[], readonly: boolean): void {
  let desc = false;
  let alpha = false;
  let limitStart = 0;
  let limitCount = -1;
  let store: string | null = null;
  let by: string | null = null;
  let dontsort = false;
  const gets: string[] = [];
  // BY and GET read keys no key spec names: only a user who may read every key can use them (Redis 7.0).
  const u = ctx.client.user;
  const fullKeyAccess = u.unrestricted || allowedWithAllKeys(u, lookup(args[0])!, args, READ);
  for (let j = 2; j < args.length; j++) {
    const o = args[j].toLowerCase();
    const left = args.length - j - 1;
    if (o === 'asc') desc = false;
    else if (o === 'desc') desc = true;
    else if (o === 'alpha') alpha = true;
    else if (o === 'limit' && left >= 2) {
      const a = parseInt64(args[j + 1]);
      const b = parseInt64(args[j + 2]);
      if (a === null || b === null) throw new ReplyError(ERR.notInt);
      limitStart = Number(a);
      limitCount = Number(b);
      j += 2;
    } else if (!readonly && o === 'store' && left >= 1) store = args[++j];
    else if (o === 'by' && left >= 1) {
      by = args[++j];
      dontsort = !by.includes('*');
      if (!dontsort && !fullKeyAccess) throw new ReplyError('ERR BY option of SORT denied due to insufficient ACL permissions.');
    } else if (o === 'get' && left >= 1) {
      if (!fullKeyAccess) throw new ReplyError('ERR GET option of SORT denied due to insufficient ACL permissions.');
      gets.push(args[++j]);
    }
    else throw new ReplyError(ERR.syntax);
  }

  const db = ctx.db;
  const v = db.get(args[1]);
  if (v !== undefined && !(v instanceof ListValue) && !(v instanceof RedisSet) && !(v instanceof SortedSet)) throw new ReplyError(ERR.wrongType);
  // A set has no order of its own: when the result is stored or goes to a
  // script, sort it so neither depends on hash iteration order (Redis's rule).
  if (dontsort && v instanceof RedisSet && (store !== null || ctx.client.fromScript)) {
    dontsort = false;
    alpha = true;
    by = null;
  }

  const len = v === undefined ? 0 : v.size;
  let start = Math.min(Math.max(limitStart, 0), len);
  const count = Math.min(Math.max(limitCount, -1), len);
  let end = count < 0 ? len - 1 : start + count - 1;
  if (start >= len) {
    start = len - 1;
    end = len - 2;
  }
  if (end >= len) end = len - 1;

  let elems: string[];
  if (v === undefined) elems = [];
  else if (dontsort && v instanceof ListValue) {
    elems = [];
    if (end >= start) {
      const all = v.toArray();
      if (desc) all.reverse();
      elems = all.slice(start, end + 1);
    }
    end -= start;
    start = 0;
  } else if (dontsort && v instanceof SortedSet) {
    elems = [];
    if (end >= start) elems = v.tree.collect(desc ? len - 1 - start : start, end - start + 1, desc).map((e) => e.member);
    end -= start;
    start = 0;
  } else if (v instanceof ListValue) elems = v.toArray();
  else if (v instanceof RedisSet) elems = v.members();
  else elems = [...(v as SortedSet).dict.keys()];

  if (!dontsort) {
    const items: Item[] = elems.map((elem) => ({ elem, score: 0, cmp: null }));
    let convError = false;
    for (const it of items) {
      const byval = by !== null ? byPattern(db, by, it.elem) : it.elem;
      if (byval === null) continue;
      if (alpha) {
        if (by !== null) it.cmp = byval;
      } else {
        const s = sortScore(byval);
        if (s === null) convError = true;
        else it.score = s;
      }
    }
    if (convError) throw new ReplyError("ERR One or more scores can't be converted into double");
    const sign = desc ? -1 : 1;
    items.sort((a, b) => {
      let c: number;
      if (!alpha) c = a.score > b.score ? 1 : a.score < b.score ? -1 : byteCmp(a.elem, b.elem);
      else if (by !== null) {
        if (a.cmp === null || b.cmp === null) c = a.cmp === b.cmp ? 0 : a.cmp === null ? -1 : 1;
        else c = byteCmp(a.cmp, b.cmp);
      } else c = byteCmp(a.elem, b.elem);
      return sign * c;
    });
    elems = items.map((i) => i.elem);
  }

  const out: (string | null)[] = [];
  for (let j = start; j <= end; j++) {
    if (gets.length === 0) out.push(elems[j]);
    else for (const g of gets) out.push(byPattern(db, g, elems[j]));
  }
  if (store === null) return ctx.r.bulks(out);
  if (out.length === 0) {
    if (db.delete(store)) notify(NOTIFY_GENERIC, 'del', store, db.id);
  } else {
    const l = new ListValue();
    for (const s of out) l.pushTail(s ?? '');
    db.set(store, l);
    db.signalReady(store);
    notify(NOTIFY_LIST, 'sortstore', store, db.id);
  }
  ctx.r.int(out.length);
}

/** SORT's keys: the sorted key and the last STORE destination (the one SORT uses). */
function sortKeys(args: string[]): number[] {
  let store = -1;
  const skip: Record<string, number> = { limit: 2, get: 1, by: 1 };
  for (let j = 2; j < args.length; j++) {
    const o = args[j].toLowerCase();
    if (o === 'store' && j + 1 < args.length) store = ++j;
    else j += skip[o] ?? 0;
  }
  return store < 0 ? [1] : [1, store];
}

register(
  cmd('sort', -2, 'write denyoom', [1, 1, 1], 'write set sortedset list slow dangerous', { group: 'generic', getKeys: sortKeys, keySpec: [keyAt(1, 'RO access'), { flags: ['RO', 'access'], notes: 'For the optional BY/GET keyword. It is marked \'unknown\' because the key names derive from the content of the key we sort', begin: { unknown: true }, find: { unknown: true } }, { flags: ['OW', 'update'], notes: 'For the optional STORE keyword. It is marked \'unknown\' because the keyword can appear anywhere in the argument array', begin: { unknown: true }, find: { unknown: true } }], summary: 'Sort the elements in a list, set or sorted set', complexity: 'O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).' }, (ctx, args) =>
    sortCommand(ctx, args, false),
  ),
  cmd('sort_ro', -2, 'readonly', [1, 1, 1], 'read set sortedset list slow dangerous', { group: 'generic', since: '7.0.0', getKeys: () => [1], keySpec: [keyAt(1, 'RO access'), { flags: ['RO', 'access'], notes: 'For the optional BY/GET keyword. It is marked \'unknown\' because the key names derive from the content of the key we sort', begin: { unknown: true }, find: { unknown: true } }], summary: 'Sort the elements in a list, set or sorted set. Read-only variant of SORT.', complexity: 'O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).' }, (ctx, args) =>
    sortCommand(ctx, args, true),
  ),
);

// SORT's keys come from sortKeys (its specs are unknown): the sorted key is read, the STORE destination overwritten (Redis's sortGetKeys).
lookup('sort')!.keyFlags = (_argv, p) => (p === 1 ? ['RO', 'access'] : ['OW', 'update']);
lookup('sort_ro')!.keyFlags = () => ['RO', 'access'];
