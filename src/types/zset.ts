/**
 * The sorted set type (t_zset.c): a Map member -> score for O(1) ZSCORE plus
 * an order-statistic B+tree (ordertree.ts) for O(log n) rank and range
 * queries. Redis 7.0
 * reports "listpack" while the set is small (zset-max-listpack-entries
 * members, none longer than zset-max-listpack-value bytes) and "skiplist"
 * once it grew past that; we track that answer without changing layout.
 */
import { defineParam, getInt, paramByName, setParam } from '../config/params.js';
import { registerCodec } from '../snapshot/codec.js';
import type { CollectionValue } from './value.js';
import { piecesAtStart, recordBefore, type BeforeImages } from './before-images.js';
import { OrderTree, type Entry } from './ordertree.js';
import { type LexRange, type ScoreRange, gteMin, lexGteMin, lexLteMax, lexRangeEmpty, lteMax, scoreRangeEmpty } from './zrange.js';

defineParam({
  name: 'zset-max-listpack-entries',
  type: 'int',
  default: '128',
  min: 0,
  help: 'Sorted sets up to this many members report the listpack encoding.',
  mutable: true,
  onChange: (v) => {
    setAlias('zset-max-ziplist-entries', v);
    limits.entries = Number(v);
  },
});
defineParam({
  name: 'zset-max-ziplist-entries',
  type: 'int',
  default: '128',
  min: 0,
  help: 'Old name of zset-max-listpack-entries.',
  mutable: true,
  onChange: (v) => {
    setAlias('zset-max-listpack-entries', v);
    limits.entries = Number(v);
  },
});
defineParam({
  name: 'zset-max-listpack-value',
  type: 'memory',
  default: '64',
  min: 0,
  help: 'Sorted sets whose members are all at most this long report the listpack encoding.',
  mutable: true,
  onChange: (v) => {
    setAlias('zset-max-ziplist-value', v);
    limits.value = Number(v);
  },
});
defineParam({
  name: 'zset-max-ziplist-value',
  type: 'memory',
  default: '64',
  min: 0,
  help: 'Old name of zset-max-listpack-value.',
  mutable: true,
  onChange: (v) => {
    setAlias('zset-max-listpack-value', v);
    limits.value = Number(v);
  },
});

/** Redis keeps the ziplist names as aliases: setting either sets both. */
function setAlias(name: string, v: string): void {
  setParam(paramByName(name)!, v, false);
}

/**
 * The limits, read once (after start-up flags) and then kept current by
 * CONFIG SET's onChange: getInt normalizes the name on every call, too slow
 * for every ZADD.
 */
const limits = { entries: -1, value: -1 };
function maxEntries(): number {
  if (limits.entries < 0) limits.entries = getInt('zset-max-listpack-entries');
  return limits.entries;
}
function maxValue(): number {
  if (limits.value < 0) limits.value = getInt('zset-max-listpack-value');
  return limits.value;
}

export const ZSET_NAN_ERR = 'ERR resulting score is not a number (NaN)';

export class SortedSet implements CollectionValue, BeforeImages<number> {
  readonly type = 'zset' as const;
  readonly dict = new Map<string, number>();
  readonly tree = new OrderTree();
  /** Grew past the listpack limits (Redis never converts back on its own). */
  private big = false;
  /** Before-images while a snapshot writes this zset (before-images.ts): member -> score. */
  undo: Map<string, number | undefined> | null = null;

  /** A new empty zset; `firstMember` decides the initial encoding as ZADD does. */
  constructor(firstMemberLen = 0) {
    if (maxEntries() === 0 || firstMemberLen > maxValue()) this.big = true;
  }

  get size(): number {
    return this.dict.size;
  }

  encoding(): string {
    return this.big ? 'skiplist' : 'listpack';
  }

  score(member: string): number | undefined {
    return this.dict.get(member);
  }

  /** Insert or update; returns true if member was new. */
  set(member: string, score: number): boolean {
    const cur = this.dict.get(member);
    if (this.undo !== null) recordBefore(this, member, cur);
    if (cur === undefined) {
      this.dict.set(member, score);
      this.tree.insert(score, member);
      if (!this.big && (this.dict.size > maxEntries() || member.length > maxValue())) this.big = true;
      return true;
    }
    if (cur !== score) {
      this.dict.set(member, score);
      this.tree.delete(cur, member);
      this.tree.insert(score, member);
    }
    return false;
  }

  delete(member: string): boolean {
    const cur = this.dict.get(member);
    if (cur === undefined) return false;
    if (this.undo !== null) recordBefore(this, member, cur);
    this.dict.delete(member);
    this.tree.delete(cur, member);
    return true;
  }

  /** 0-based rank, or -1. */
  rank(member: string, rev = false): number {
    const s = this.dict.get(member);
    if (s === undefined) return -1;
    const r = this.tree.rank(s, member);
    return rev ? this.dict.size - 1 - r : r;
  }

  /** Entry at 0-based rank from the low end, or null. */
  at(rank: number): Entry | null {
    return this.tree.at(rank);
  }

  /** Ranks [lo, hi) of the members whose score is in r. */
  scoreSpan(r: ScoreRange): [number, number] {
    if (scoreRangeEmpty(r)) return [0, 0];
    const lo = this.tree.lowerBound((s) => !gteMin(s, r));
    const hi = this.tree.lowerBound((s) => lteMax(s, r));
    return [lo, Math.max(lo, hi)];
  }

  /**
   * Ranks [lo, hi) of the members in the lex range. Lex ranges are only
   * meaningful when all scores are equal; when they are not, a small
   * (listpack) set answers as Redis's listpack scan does: the first member
   * >= min from the start (from the end for `rev`: the first <= max), then
   * neighbours while they stay in range.
   */
  lexSpan(r: LexRange, rev = false): [number, number] {
    if (lexRangeEmpty(r)) return [0, 0];
    const t = this.tree;
    if (!this.big && t.length > 0) {
      const n = t.length;
      if (!lexGteMin(t.at(n - 1)!.member, r) || !lexLteMax(t.at(0)!.member, r)) return [0, 0];
      const all = t.collect(0, n);
      if (!rev) {
        let lo = 0;
        while (lo < n && !lexGteMin(all[lo].member, r)) lo++;
        let hi = lo;
        while (hi < n && lexLteMax(all[hi].member, r)) hi++;
        return [lo, hi];
      }
      let hi = n - 1;
      while (hi >= 0 && !lexLteMax(all[hi].member, r)) hi--;
      let lo = hi;
      while (lo >= 0 && lexGteMin(all[lo].member, r)) lo--;
      return [lo + 1, hi + 1];
    }
    const lo = t.lowerBound((_s, m) => !lexGteMin(m, r));
    const hi = t.lowerBound((_s, m) => lexLteMax(m, r));
    return [lo, Math.max(lo, hi)];
  }

  /**
   * After a STORE variant built this set whole: Redis then picks the
   * encoding from the final contents (zsetConvertToListpackIfNeeded).
   */
  fixEncoding(): void {
    const maxLen = maxValue();
    let fits = this.dict.size <= maxEntries();
    if (fits) for (const m of this.dict.keys()) if (m.length > maxLen) fits = false;
    this.big = !fits;
  }

  /**
   * After loading a listpack from an RDB: Redis keeps it a listpack unless
   * it has too many entries, whatever the members' lengths.
   */
  fixEncodingByCount(): void {
    this.big = this.dict.size > maxEntries();
  }

  clone(): SortedSet {
    const c = new SortedSet();
    for (const e of this.tree.entries()) c.set(e.member, e.score);
    c.big = this.big;
    return c;
  }

  /** Members in order; the set must not change while this runs. */
  entries(): IterableIterator<Entry> {
    return this.tree.entries();
  }
}

registerCodec({
  type: 'zset',
  pieces(v, maxItems) {
    // From the member -> score Map, which (unlike the tree) may change
    // under an open iterator; the builder does not need order.
    const z = v as SortedSet;
    return piecesAtStart(z, z.dict, Math.max(2, maxItems - (maxItems % 2)), true);
  },
  builder() {
    const z = new SortedSet();
    return {
      add(piece) {
        for (let i = 0; i + 1 < piece.length; i += 2) z.set(piece[i] as string, piece[i + 1] as number);
      },
      done: () => {
        z.fixEncoding();
        return z;
      },
    };
  },
});
