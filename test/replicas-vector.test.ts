/**
 * Version-vector rules (src/replicas/vector.ts) as a model: thousands of
 * restarts, each a new incarnation that adopts the loaded vector and saves,
 * keep the vector bounded by folding, and folding never turns a concurrent
 * history into a dominated one.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compare, fold, merge, vectorSum, type Versioned } from '../src/replicas/vector.js';

const MAX = 32;

/** One save by incarnation `me` after loading `from`, folding against the live manifests as the lineage does. */
function save(from: Versioned, me: string, live: Versioned[]): Versioned {
  const vv = { ...(from.vv ?? {}) };
  vv[me] = (vv[me] ?? 0) + 1;
  let v: Versioned = { vv, ...(from.vvFolded ? { vvFolded: from.vvFolded } : {}) };
  if (Object.keys(vv).length > MAX) v = fold(v, live, me);
  return v;
}

describe('version vectors', () => {
  it('orders descendants after ancestors and tells concurrent saves apart', () => {
    expect(compare({ vv: { a: 1 } }, { vv: { a: 1, b: 1 } })).toBe('before');
    expect(compare({ vv: { a: 2 } }, { vv: { a: 1, b: 1 } })).toBe('concurrent');
    expect(compare({}, { vv: { a: 1 } })).toBe('before');
    expect(compare({}, {})).toBe('equal');
    expect(vectorSum(merge([{ vv: { a: 2 } }, { vv: { a: 1, b: 3 } }]))).toBe(5);
  });

  it('3000 restarts with --snapshot_keep=5 stay bounded; each save dominates every live one; a branch from a live ancestor is concurrent', () => {
    const live: Versioned[] = [];
    let head: Versioned = {};
    for (let i = 0; i < 3000; i++) {
      const next = save(head, `srv/${i.toString(16).padStart(12, '0')}`, live);
      for (const l of live) expect(compare(next, l)).toBe('after');
      // A second process from the same ancestor (a blue/green overlap) is never ordered against it.
      if (i % 97 === 0 && live.length > 0) {
        const branch = save(live[live.length - 1], `other/${i}`, live);
        expect(compare(branch, next)).toBe('concurrent');
        expect(compare(next, branch)).toBe('concurrent');
      }
      live.push(next);
      if (live.length > 5) live.shift();
      head = next;
      expect(Object.keys(head.vv ?? {}).length).toBeLessThanOrEqual(MAX + 1);
    }
    expect(head.vvFolded!.n).toBeGreaterThan(2900);
  });

  it('folding keeps compare antisymmetric over random histories', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(40), fc.nat(3)), { minLength: 1, maxLength: 80 }), (steps) => {
        const all: Versioned[] = [{}];
        steps.forEach(([pick, who], i) => {
          const from = all[pick % all.length];
          all.push(save(from, `w${who}-${i}`, all.slice(-5)));
        });
        for (const a of all.slice(-10)) {
          for (const b of all.slice(-10)) {
            const ab = compare(a, b);
            const ba = compare(b, a);
            const flip = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const;
            expect(ba).toBe(flip[ab]);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
