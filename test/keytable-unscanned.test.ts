/**
 * A KeyTable's segments hold numbers only (handles, references, hash and
 * meta words: src/keyspace/ref-store.ts), so V8 keeps them as double arrays
 * that its major GC marks without reading. One pointer stored in a segment
 * would turn it back into an array of tagged words for good; at 20M keys
 * the marking of those arrays stalled clients for 100-220 ms.
 */
import { describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { KeyTable } from '../src/keyspace/table.js';

v8.setFlagsFromString('--allow-natives-syntax');
const hasDoubleElements = new Function('a', 'return %HasDoubleElements(a)') as (a: unknown) => boolean;
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function allDouble(t: KeyTable): { laidOut: number; tagged: number } {
  let laidOut = 0;
  let tagged = 0;
  for (const seg of t.segments()) {
    if (seg.length === 0) continue; // a lazy segment, no slots yet
    laidOut++;
    if (!hasDoubleElements(seg)) tagged++;
  }
  return { laidOut, tagged };
}

describe('KeyTable segments', () => {
  it('stay double arrays whatever the table holds, through growth, splits, deletes and shrinking', () => {
    const t = new KeyTable();
    const put = (k: string, v: unknown) => t.put(t.segmentOf(k), k, v as never);
    for (let i = 0; i < 20_000; i++) {
      switch (i % 6) {
        case 0: put(`k${i}`, 'v'.repeat(20)); break; // value store
        case 1: put(`k${i}`, String(i)); break; // short string: a reference
        case 2: put(`k${i}`, new Map([['f', 'x']])); break; // a collection
        case 3: put(`k${i}`, 'x'.repeat(70_000)); break; // too long for the store
        case 4: put('y'.repeat(70_000) + i, 'v'); break; // a key too long for the key store
        default: put(`k${i}`, ''); break;
      }
      if (i % 7 === 0) t.setExpiry(t.segmentOf(`k${i}`), `k${i}`, Date.now() + 1e6);
    }
    expect(t.dir.length).toBeGreaterThan(64); // it split
    let r = allDouble(t);
    expect(r.laidOut).toBeGreaterThan(64);
    expect(r.tagged).toBe(0);
    for (let i = 0; i < 20_000; i += 4) {
      const k = i % 6 === 4 ? 'y'.repeat(70_000) + i : `k${i}`;
      t.willMutate(t.segmentOf(k));
      expect(t.remove(t.segmentOf(k), k)).toBe(true);
    }
    t.shrinkSome(Infinity);
    r = allDouble(t);
    expect(r.tagged).toBe(0);
    expect(t.get('k3')).toBe('x'.repeat(70_000));
    expect(t.get('k1')).toBe('1');
    expect(t.get('k5')).toBe('');
    expect(t.get('k6')).toBe('v'.repeat(20));
    expect(t.get('y'.repeat(70_000) + 10)).toBe('v');
    expect((t.get('k2') as Map<string, string>).get('f')).toBe('x');
    expect(t.get('k8')).toBeUndefined();
  });

  it('keep no object alive once its key is deleted or its value replaced', async () => {
    const t = new KeyTable();
    const refs = new WeakRef(new Map([['a', 'b']]));
    t.put(t.segmentOf('a'), 'a', refs.deref()!);
    t.put(t.segmentOf('b'), 'b', new Set(['x']));
    expect(t.refs.live).toBe(2);
    // A 20-byte string goes to the value store: the Map's reference is freed.
    t.put(t.segmentOf('a'), 'a', 'v'.repeat(20));
    expect(t.refs.live).toBe(1);
    t.remove(t.segmentOf('b'), 'b');
    expect(t.refs.live).toBe(0);
    // A WeakRef keeps its target for the rest of the job that made or read it.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.deref()).toBeUndefined();
  });

  it('give the reference array back after mass deletes (memory purges trim it)', () => {
    const t = new KeyTable();
    for (let i = 0; i < 10_000; i++) t.put(t.segmentOf(`h${i}`), `h${i}`, new Map([['f', String(i)]]));
    const refs = t.stores.find((s) => s === t.refs)!;
    expect(refs.trim()).toBe(0); // all in use
    // Delete all but the first 100 keys: the tail of the array is free.
    for (let i = 100; i < 10_000; i++) t.remove(t.segmentOf(`h${i}`), `h${i}`);
    expect(refs.trim()).toBe((10_000 - 100) * 8);
    expect(t.refs.live).toBe(100);
    // What is left is intact, and new references reuse no index in use.
    for (let i = 0; i < 100; i++) expect((t.get(`h${i}`) as Map<string, string>).get('f')).toBe(String(i));
    for (let i = 0; i < 50; i++) t.put(t.segmentOf(`n${i}`), `n${i}`, new Set([String(i)]));
    for (let i = 0; i < 100; i++) expect((t.get(`h${i}`) as Map<string, string>).get('f')).toBe(String(i));
    for (let i = 0; i < 50; i++) expect((t.get(`n${i}`) as Set<string>).has(String(i))).toBe(true);
  });
});
