/**
 * The sorted set type (t_zset.c): a Map member -> score for O(1) ZSCORE plus
 * an indexable skiplist for O(log n) rank and range queries. Redis 7.0
 * reports "listpack" while the set is small (zset-max-listpack-entries
 * members, none longer than zset-max-listpack-value bytes) and "skiplist"
 * once it grew past that; we track that answer without changing layout.
 */
import { defineParam, getInt, paramByName, setParam } from '../config/params.js';
import { registerCodec } from '../snapshot/codec.js';
import type { CollectionValue } from './value.js';
import { SkipList, type SkipNode } from './skiplist.js';

defineParam({
  name: 'zset-max-listpack-entries',
  type: 'int',
  default: '128',
  min: 0,
  help: 'Sorted sets up to this many members report the listpack encoding.',
  mutable: true,
  onChange: (v) => setAlias('zset-max-ziplist-entries', v),
});
defineParam({
  name: 'zset-max-ziplist-entries',
  type: 'int',
  default: '128',
  min: 0,
  help: 'Old name of zset-max-listpack-entries.',
  mutable: true,
  onChange: (v) => setAlias('zset-max-listpack-entries', v),
});
defineParam({
  name: 'zset-max-listpack-value',
  type: 'memory',
  default: '64',
  min: 0,
  help: 'Sorted sets whose members are all at most this long report the listpack encoding.',
  mutable: true,
  onChange: (v) => setAlias('zset-max-ziplist-value', v),
});
defineParam({
  name: 'zset-max-ziplist-value',
  type: 'memory',
  default: '64',
  min: 0,
  help: 'Old name of zset-max-listpack-value.',
  mutable: true,
  onChange: (v) => setAlias('zset-max-listpack-value', v),
});

/** Redis keeps the ziplist names as aliases: setting either sets both. */
function setAlias(name: string, v: string): void {
  setParam(paramByName(name)!, v, false);
}

export const ZSET_NAN_ERR = 'ERR resulting score is not a number (NaN)';

export class SortedSet implements CollectionValue {
  readonly type = 'zset' as const;
  readonly dict = new Map<string, number>();
  readonly sl = new SkipList();
  /** Grew past the listpack limits (Redis never converts back on its own). */
  private big = false;

  /** A new empty zset; `firstMember` decides the initial encoding as ZADD does. */
  constructor(firstMemberLen = 0) {
    if (getInt('zset-max-listpack-entries') === 0 || firstMemberLen > getInt('zset-max-listpack-value')) this.big = true;
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
    if (cur === undefined) {
      this.dict.set(member, score);
      this.sl.insert(score, member);
      if (!this.big && (this.dict.size > getInt('zset-max-listpack-entries') || member.length > getInt('zset-max-listpack-value'))) this.big = true;
      return true;
    }
    if (cur !== score) {
      this.dict.set(member, score);
      this.sl.updateScore(cur, member, score);
    }
    return false;
  }

  delete(member: string): boolean {
    const cur = this.dict.get(member);
    if (cur === undefined) return false;
    this.dict.delete(member);
    this.sl.delete(cur, member);
    return true;
  }

  /** 0-based rank, or -1. */
  rank(member: string, rev = false): number {
    const s = this.dict.get(member);
    if (s === undefined) return -1;
    const r = this.sl.rank(s, member) - 1;
    return rev ? this.dict.size - 1 - r : r;
  }

  /** Node at 0-based rank from the low end. */
  at(rank: number): SkipNode | null {
    return this.sl.byRank(rank + 1);
  }

  /**
   * After a STORE variant built this set whole: Redis then picks the
   * encoding from the final contents (zsetConvertToListpackIfNeeded).
   */
  fixEncoding(): void {
    const maxLen = getInt('zset-max-listpack-value');
    let fits = this.dict.size <= getInt('zset-max-listpack-entries');
    if (fits) for (const m of this.dict.keys()) if (m.length > maxLen) fits = false;
    this.big = !fits;
  }

  clone(): SortedSet {
    const c = new SortedSet();
    for (let n = this.sl.first(); n !== null; n = n.next[0]) c.set(n.member, n.score);
    c.big = this.big;
    return c;
  }

  *entries(): IterableIterator<SkipNode> {
    for (let n = this.sl.first(); n !== null; n = n.next[0]) yield n;
  }
}

registerCodec({
  type: 'zset',
  *pieces(v, maxItems) {
    const z = v as SortedSet;
    let piece: unknown[] = [];
    const per = Math.max(2, maxItems - (maxItems % 2));
    for (let n = z.sl.first(); n !== null; n = n.next[0]) {
      piece.push(n.member, n.score);
      if (piece.length >= per) {
        yield piece;
        piece = [];
      }
    }
    if (piece.length > 0) yield piece;
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
