/**
 * The sorted-set structure (map + order-statistic B+tree) against a plain sorted
 * array: after any sequence of adds, score updates and deletes, every rank,
 * by-rank, score, score-range and lex-range query must agree. Also the
 * OBJECT ENCODING answers Redis 7.0 gives by size and config limits.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SortedSet } from '../src/types/zset.js';
import { RedisSet } from '../src/types/set.js';
import { OrderTree } from '../src/types/ordertree.js';
import type { LexRange, ScoreRange } from '../src/types/zrange.js';
import { gteMin, lteMax, lexGteMin, lexLteMax } from '../src/types/zrange.js';
import { setParam, paramByName } from '../src/config/params.js';

type Entry = { member: string; score: number };

function cmp(a: Entry, b: Entry): number {
  if (a.score !== b.score) return a.score < b.score ? -1 : 1;
  return a.member < b.member ? -1 : a.member > b.member ? 1 : 0;
}

class Model {
  m = new Map<string, number>();
  set(member: string, score: number): void {
    this.m.set(member, score);
  }
  delete(member: string): void {
    this.m.delete(member);
  }
  sorted(): Entry[] {
    return [...this.m].map(([member, score]) => ({ member, score })).sort(cmp);
  }
}

// Few distinct members and scores so that updates, ties and deletes of
// present members are common.
const member = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\x00', '\xff'), minLength: 0, maxLength: 3 });
const score = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(Infinity, -Infinity, 0.5, -0.25));
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), member, score }),
  fc.record({ kind: fc.constant('del' as const), member, score }),
);
const scoreRange = fc.record({ min: score, max: score, minex: fc.boolean(), maxex: fc.boolean() });
const lexBound = fc.option(member, { nil: null });
const lexRange = fc.record({ min: lexBound, max: lexBound, minex: fc.boolean(), maxex: fc.boolean(), empty: fc.constant(false) });

function checkAgainst(z: SortedSet, model: Model, sr: ScoreRange, lr: LexRange): void {
  const want = model.sorted();
  expect(z.size).toBe(want.length);
  // Whole order, both directions.
  const got = [...z.entries()].map((n) => ({ member: n.member, score: n.score }));
  expect(got).toEqual(want);
  expect(z.tree.collect(want.length - 1, want.length, true)).toEqual([...want].reverse());
  // Partial walks from the middle, both ways.
  const mid = want.length >> 1;
  expect(z.tree.collect(mid, 7)).toEqual(want.slice(mid, mid + 7));
  expect(z.tree.collect(mid, 7, true)).toEqual(want.slice(Math.max(0, mid - 6), mid + 1).reverse());
  // Rank and by-rank.
  want.forEach((e, i) => {
    expect(z.rank(e.member)).toBe(i);
    expect(z.rank(e.member, true)).toBe(want.length - 1 - i);
    expect(z.at(i)?.member).toBe(e.member);
    expect(z.score(e.member)).toBe(e.score);
  });
  expect(z.at(want.length)).toBe(null);
  // Score range: the rank span of the members inside.
  const inScore = want.map((e, i) => [e, i] as const).filter(([e]) => gteMin(e.score, sr) && lteMax(e.score, sr));
  const [slo, shi] = z.scoreSpan(sr);
  expect(shi - slo).toBe(inScore.length);
  if (inScore.length > 0) expect(slo).toBe(inScore[0][1]);
  // Lex ranges assume equal scores (as Redis's lex commands do): check only then.
  if (want.every((e) => e.score === want[0].score)) {
    const inLex = want.map((e, i) => [e, i] as const).filter(([e]) => !lr.empty && lexGteMin(e.member, lr) && lexLteMax(e.member, lr));
    const [llo, lhi] = z.lexSpan(lr);
    expect(lhi - llo).toBe(inLex.length);
    if (inLex.length > 0) expect(llo).toBe(inLex[0][1]);
  }
}

describe('sorted set structure vs sorted-array model', () => {
  it('agrees on rank, by-rank, score and ranges after random edits', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), scoreRange, lexRange, (ops, sr, lr) => {
        const z = new SortedSet();
        const model = new Model();
        for (const o of ops) {
          if (o.kind === 'set') {
            z.set(o.member, o.score);
            model.set(o.member, o.score);
          } else {
            expect(z.delete(o.member)).toBe(model.m.has(o.member));
            model.delete(o.member);
          }
        }
        checkAgainst(z, model, sr, lr);
        // A clone is equal and independent.
        const c = z.clone();
        checkAgainst(c, model, sr, lr);
        if (z.size > 0) {
          c.delete(z.at(0)!.member);
          expect(z.size).toBe(model.m.size);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a tree with tiny nodes (deep, many splits and merges) agrees with the model', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 2, max: 4 }), (ops, leafMax, innerMax) => {
        const t = new OrderTree(leafMax, innerMax);
        const model = new Model();
        for (const o of ops) {
          const cur = model.m.get(o.member);
          if (cur !== undefined) expect(t.delete(cur, o.member)).toBe(true);
          if (o.kind === 'set') {
            t.insert(o.score, o.member);
            model.set(o.member, o.score);
          } else model.delete(o.member);
          expect(t.length).toBe(model.m.size);
        }
        const want = model.sorted();
        expect([...t.entries()]).toEqual(want);
        expect(t.collect(want.length - 1, want.length, true)).toEqual([...want].reverse());
        want.forEach((e, i) => {
          expect(t.rank(e.score, e.member)).toBe(i);
          expect(t.at(i)).toEqual(e);
          expect(t.lowerBound((s, m) => s < e.score || (s === e.score && m < e.member))).toBe(i);
        });
        expect(t.delete(12345, 'absent')).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('equal-score lex ranges agree', () => {
    fc.assert(
      fc.property(fc.uniqueArray(member, { maxLength: 40 }), lexRange, (members, lr) => {
        const z = new SortedSet();
        const model = new Model();
        for (const m of members) {
          z.set(m, 0);
          model.set(m, 0);
        }
        checkAgainst(z, model, { min: 0, max: 0, minex: false, maxex: false }, lr);
      }),
      { numRuns: 300 },
    );
  });

  it('stays consistent at scale (20k members, many updates)', () => {
    const z = new SortedSet();
    const model = new Model();
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 40000; i++) {
      const m = 'm' + Math.floor(rnd() * 20000);
      if (rnd() < 0.15) {
        z.delete(m);
        model.delete(m);
      } else {
        const s = Math.floor(rnd() * 1000);
        z.set(m, s);
        model.set(m, s);
      }
    }
    const want = model.sorted();
    for (let i = 0; i < want.length; i += 97) {
      expect(z.rank(want[i].member)).toBe(i);
      expect(z.at(i)!.member).toBe(want[i].member);
    }
    expect([...z.entries()]).toEqual(want);
    // Drain from both ends as ZPOPMIN/ZPOPMAX do, checking order throughout.
    let lo = 0;
    let hi = want.length - 1;
    while (z.size > 0) {
      const e = z.size % 2 === 0 ? z.at(0)! : z.at(z.size - 1)!;
      expect(e).toEqual(z.size % 2 === 0 ? want[lo++] : want[hi--]);
      z.delete(e.member);
    }
    expect(z.at(0)).toBe(null);
  });
});

describe('OBJECT ENCODING answers', () => {
  const setP = (name: string, v: string) => setParam(paramByName(name)!, v, true);

  it('zset: listpack while small and short, skiplist after', () => {
    const z = new SortedSet(1);
    for (let i = 0; i < 128; i++) z.set('m' + i, i);
    expect(z.encoding()).toBe('listpack');
    z.set('one-more', 1);
    expect(z.encoding()).toBe('skiplist');
    z.delete('one-more');
    expect(z.encoding()).toBe('skiplist');
    const long = new SortedSet(1);
    long.set('x'.repeat(65), 1);
    expect(long.encoding()).toBe('skiplist');
    expect(new SortedSet(65).encoding()).toBe('skiplist');
    setP('zset-max-ziplist-entries', '0');
    expect(new SortedSet(1).encoding()).toBe('skiplist');
    setP('zset-max-listpack-entries', '128');
  });

  it('set: intset for small integer sets, hashtable otherwise', () => {
    const s = RedisSet.from(['1', '2', '-9223372036854775808']);
    expect(s.encoding()).toBe('intset');
    s.add('9223372036854775808');
    expect(s.encoding()).toBe('hashtable');
    expect(RedisSet.from(['a']).encoding()).toBe('hashtable');
    expect(RedisSet.from(['01']).encoding()).toBe('hashtable');
    const big = new RedisSet();
    for (let i = 0; i < 512; i++) big.add(String(i));
    expect(big.encoding()).toBe('intset');
    big.add('512');
    expect(big.encoding()).toBe('hashtable');
  });
});
