/**
 * The set type (t_set.c). Members live in a JS Set of latin1 strings; the
 * encoding Redis 7.0 would report is tracked beside it: "intset" while every
 * member is a canonical 64-bit integer and there are at most
 * set-max-intset-entries of them, "hashtable" once that stops holding (Redis
 * never converts back).
 */
import { defineParam, getInt } from '../config/params.js';
import { registerCodec } from '../snapshot/codec.js';
import type { CollectionValue } from './value.js';
import { piecesAtStart, recordBefore, type BeforeImages } from './before-images.js';
import { parseInt64 } from '../protocol/errors.js';

defineParam({
  name: 'set-max-intset-entries',
  type: 'int',
  default: '512',
  min: 0,
  help: 'Sets of integers up to this many members report the intset encoding.',
  mutable: true,
  onChange: (v) => (maxIntset = Number(v)),
});

/** Read once after start-up flags, then kept current by onChange (getInt is too slow per SADD). */
let maxIntset = -1;
function maxIntsetEntries(): number {
  if (maxIntset < 0) maxIntset = getInt('set-max-intset-entries');
  return maxIntset;
}

/** Would Redis store s in an intset (string2ll accepts it)? */
export function isIntsetMember(s: string): boolean {
  return s.length <= 20 && parseInt64(s) !== null;
}

export class RedisSet implements CollectionValue, BeforeImages<number> {
  readonly type = 'set' as const;
  /**
   * Members in a dense array plus member -> position, so SPOP and
   * SRANDMEMBER pick a random member in O(1) (a JS Set has no index access)
   * and a delete swaps the last member into the hole.
   */
  private readonly pos = new Map<string, number>();
  private readonly arr: string[] = [];
  /** Still an intset as Redis would keep it. */
  private intset = true;
  /** Before-images while a snapshot writes this set (before-images.ts): member -> its position if it existed. */
  undo: Map<string, number | undefined> | null = null;

  get size(): number {
    return this.arr.length;
  }

  encoding(): string {
    return this.intset ? 'intset' : 'hashtable';
  }

  has(s: string): boolean {
    return this.pos.has(s);
  }

  add(s: string): boolean {
    if (this.pos.has(s)) return false;
    if (this.undo !== null) recordBefore(this, s, undefined);
    if (this.intset && (!isIntsetMember(s) || this.arr.length + 1 > maxIntsetEntries())) this.intset = false;
    this.pos.set(s, this.arr.length);
    this.arr.push(s);
    return true;
  }

  delete(s: string): boolean {
    const i = this.pos.get(s);
    if (i === undefined) return false;
    if (this.undo !== null) recordBefore(this, s, i);
    this.pos.delete(s);
    const last = this.arr.pop()!;
    if (i < this.arr.length) {
      this.arr[i] = last;
      this.pos.set(last, i);
    }
    return true;
  }

  /** The members, unordered; the caller must not change the array. */
  values(): readonly string[] {
    return this.arr;
  }

  /**
   * Members in the order Redis would list them: an intset is sorted
   * numerically (SMEMBERS of a small integer set comes out ascending).
   */
  members(): string[] {
    const a = this.arr.slice();
    if (this.intset) a.sort((x, y) => cmpIntStrings(x, y));
    return a;
  }

  /** A uniformly random member (the set must not be empty). */
  random(): string {
    return this.arr[Math.floor(Math.random() * this.arr.length)];
  }

  /** Members as of the first next(), in pieces, while the set keeps changing (snapshots). */
  piecesAtStart(per: number): Generator<unknown[], void, undefined> {
    return piecesAtStart(this, this.pos, per, false);
  }

  clone(): RedisSet {
    const c = new RedisSet();
    for (const s of this.arr) {
      c.pos.set(s, c.arr.length);
      c.arr.push(s);
    }
    c.intset = this.intset;
    return c;
  }

  /** A new set from members, with the encoding Redis would pick for them. */
  static from(members: Iterable<string>): RedisSet {
    const s = new RedisSet();
    for (const x of members) s.add(x);
    return s;
  }
}

function cmpIntStrings(a: string, b: string): number {
  // Up to 15 digits a double is exact; only longer ones need BigInt.
  if (a.length < 16 && b.length < 16) return Number(a) - Number(b);
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A random element of a JS Set. Sets have no index access, so a random
 * position is walked to; for large sets a sampled array cache would be
 * faster, but SPOP/SRANDMEMBER on huge sets are rare and this stays O(n)
 * worst case like a single dictGetFairRandomKey scan.
 */
export function randomMember(m: Set<string>): string {
  let i = Math.floor(Math.random() * m.size);
  for (const s of m) if (i-- === 0) return s;
  throw new Error('random member of an empty set');
}

registerCodec({
  type: 'set',
  pieces(v, maxItems) {
    return (v as RedisSet).piecesAtStart(maxItems);
  },
  builder() {
    const s = new RedisSet();
    return {
      add(piece) {
        for (const x of piece) s.add(x as string);
      },
      done: () => s,
    };
  },
});
