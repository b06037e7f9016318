/**
 * A KeyTable's segments hold numbers only (handles, references, hash and
 * meta words: src/keyspace/ref-store.ts), in views into the table's slot
 * pool (src/keyspace/slot-pool.ts): memory outside V8's heap, which no GC
 * reads and which does not lengthen the old generation every scavenge walks.
 * As V8 arrays, at 20M keys, the slots made ~730 MB of old generation:
 * 4-6 ms scavenges, and major GCs that stalled clients for 100-220 ms.
 */
import { describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { KeyTable } from '../src/keyspace/table.js';
import { slotsChunkBytes } from '../src/keyspace/slot-pool.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Laid-out segments, those whose slots or expiries are not in a pooled
 * chunk, the chunks in use, the distinct arrays segments hold (one per
 * chunk: no view object per segment), and whether any two runs (slots or
 * expiries) overlap.
 */
function offHeap(t: KeyTable): { laidOut: number; onHeap: number; chunks: number; arrays: number; overlaps: boolean } {
  let laidOut = 0;
  let onHeap = 0;
  const chunks = new Set<ArrayBufferLike>();
  const arrays = new Set<Float64Array>();
  const runs = new Map<Float64Array, [number, number][]>();
  for (const seg of t.segments()) {
    if (seg.words === 0) continue; // a lazy segment, no slots yet
    laidOut++;
    const buf = seg.s.buffer;
    if (!(seg.s instanceof Float64Array) || !(buf instanceof SharedArrayBuffer) || buf.byteLength !== 1 << 20) onHeap++;
    chunks.add(buf);
    arrays.add(seg.s);
    if (!runs.has(seg.s)) runs.set(seg.s, []);
    runs.get(seg.s)!.push([seg.o, seg.o + seg.words]);
    // Its expiries, if any key here has one: a run of the same pool.
    const e = seg.es;
    if (e !== null) {
      if (!(e.buffer instanceof SharedArrayBuffer) || e.buffer.byteLength !== 1 << 20) onHeap++;
      if (!runs.has(e)) runs.set(e, []);
      runs.get(e)!.push([seg.eo, seg.eo + seg.cap]);
    }
  }
  let overlaps = false;
  for (const list of runs.values()) {
    list.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < list.length; i++) if (list[i][0] < list[i - 1][1]) overlaps = true;
  }
  return { laidOut, onHeap, chunks: chunks.size, arrays: arrays.size, overlaps };
}

describe('KeyTable segments', () => {
  it('keep their slots in pooled chunks, one array per chunk and no two runs overlapping, whatever the table holds, through growth, splits, deletes and shrinking', () => {
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
    let r = offHeap(t);
    expect(r.laidOut).toBeGreaterThan(64);
    expect(r.onHeap).toBe(0);
    expect(r.arrays).toBe(r.chunks);
    expect(r.overlaps).toBe(false);
    const grown = r.chunks;
    for (let i = 0; i < 20_000; i += 4) {
      const k = i % 6 === 4 ? 'y'.repeat(70_000) + i : `k${i}`;
      t.willMutate(t.segmentOf(k));
      expect(t.remove(t.segmentOf(k), k)).toBe(true);
    }
    t.shrinkSome(Infinity);
    r = offHeap(t);
    expect(r.onHeap).toBe(0);
    expect(r.arrays).toBe(r.chunks);
    expect(r.overlaps).toBe(false);
    expect(t.get('k3')).toBe('x'.repeat(70_000));
    expect(t.get('k1')).toBe('1');
    expect(t.get('k5')).toBe('');
    expect(t.get('k6')).toBe('v'.repeat(20));
    expect(t.get('y'.repeat(70_000) + 10)).toBe('v');
    expect((t.get('k2') as Map<string, string>).get('f')).toBe('x');
    expect(t.get('k8')).toBeUndefined();
    // Growing back takes the views shrinking gave back, not new chunks.
    for (let i = 0; i < 20_000; i += 4) if (i % 6 !== 4) t.put(t.segmentOf(`k${i}`), `k${i}`, 'w'.repeat(20));
    r = offHeap(t);
    expect(r.onHeap).toBe(0);
    expect(r.overlaps).toBe(false);
    expect(r.chunks).toBeLessThanOrEqual(grown + 1);
    expect(t.get('k8')).toBe('w'.repeat(20));
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

  it('give slot chunks back after mass deletes (memory purges trim them)', () => {
    const base = slotsChunkBytes(); // other tables' (earlier tests)
    const t = new KeyTable();
    const key = (i: number) => `s${i}`;
    for (let i = 0; i < 200_000; i++) {
      t.put(t.segmentOf(key(i)), key(i), 'v'.repeat(20));
      // Expiries are runs of the pool too: they must go back with their keys.
      if (i % 2 === 0) t.setExpiry(t.segmentOf(key(i)), key(i), 1e13 + i);
    }
    expect(t.trimSlots()).toBe(0); // every chunk holds slots in use
    const full = slotsChunkBytes() - base;
    for (let i = 100; i < 200_000; i++) {
      t.willMutate(t.segmentOf(key(i)));
      t.remove(t.segmentOf(key(i)), key(i));
    }
    t.shrinkSome(Infinity);
    const before = slotsChunkBytes();
    const freed = t.trimSlots();
    expect(freed).toBeGreaterThan(0);
    expect(slotsChunkBytes()).toBe(before - freed);
    // The segments left (~5,000 of 8 slots, 192 bytes each, and a few
    // expiries) fit in one chunk or two: the runs left were moved together
    // (one in 8-11 chunks each was left in use without the move).
    expect(full).toBeGreaterThanOrEqual(8 * (1 << 20));
    expect(slotsChunkBytes() - base).toBeLessThanOrEqual(3 * (1 << 20));
    for (let i = 0; i < 100; i++) expect(t.get(key(i))).toBe('v'.repeat(20));
    for (let i = 0; i < 100; i++) expect(t.getExpiry(t.segmentOf(key(i)), key(i))).toBe(i % 2 === 0 ? 1e13 + i : undefined);
    // Growing again takes fresh chunks and loses nothing.
    for (let i = 100; i < 50_000; i++) t.put(t.segmentOf(key(i)), key(i), 'w'.repeat(20));
    for (let i = 0; i < 100; i++) expect(t.get(key(i))).toBe('v'.repeat(20));
    for (let i = 100; i < 50_000; i += 97) expect(t.get(key(i))).toBe('w'.repeat(20));
    expect(t.size).toBe(50_000);
    const r = offHeap(t);
    expect(r.overlaps).toBe(false);
    expect(r.arrays).toBe(r.chunks);
    t.forget();
  });
});
