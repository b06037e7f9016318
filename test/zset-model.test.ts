/**
 * The sorted-set structure (map + indexable skiplist) against a plain sorted
 * array: after any sequence of adds, score updates and deletes, every rank,
 * by-rank, score, score-range and lex-range query must agree. Also the
 * OBJECT ENCODING answers Redis 7.0 gives by size and config limits.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SortedSet } from '../src/types/zset.js';
import { RedisSet } from '../src/types/set.js';
import type { LexRange, ScoreRange } from '../src/types/skiplist.js';
import { gteMin, lteMax, lexGteMin, lexLteMax } from '../src/types/skiplist.js';
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
  const back: Entry[] = [];
  for (let n = z.sl.tail; n !== null; n = n.back) back.push({ member: n.member, score: n.score });
  expect(back).toEqual([...want].reverse());
  // Rank and by-rank.
  want.forEach((e, i) => {
    expect(z.rank(e.member)).toBe(i);
    expect(z.rank(e.member, true)).toBe(want.length - 1 - i);
    expect(z.at(i)?.member).toBe(e.member);
    expect(z.score(e.member)).toBe(e.score);
  });
  expect(z.at(want.length)).toBe(null);
  // Score range ends.
  const inScore = want.filter((e) => gteMin(e.score, sr) && lteMax(e.score, sr));
  expect(z.sl.firstInRange(sr)?.member ?? null).toBe(inScore[0]?.member ?? null);
  expect(z.sl.lastInRange(sr)?.member ?? null).toBe(inScore.at(-1)?.member ?? null);
  // Lex range ends (lex commands assume equal scores; check on member order only then).
  if (want.every((e) => e.score === want[0].score)) {
    const inLex = want.filter((e) => lexGteMin(e.member, lr) && lexLteMax(e.member, lr));
    expect(z.sl.firstInLex(lr)?.member ?? null).toBe(inLex[0]?.member ?? null);
    expect(z.sl.lastInLex(lr)?.member ?? null).toBe(inLex.at(-1)?.member ?? null);
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
