/**
 * ValueStore's slabs and V8's view of them (src/keyspace/value-store.ts):
 * V8 starts a full marking of the heap each time its external memory grows
 * by 64 MB, so slabs must not count there (SharedArrayBuffers), while node's
 * ArrayBuffer total and the store's own figures still see them.
 */
import { describe, expect, it } from 'vitest';
import { offHeapSlabBytes, ValueStore } from '../src/keyspace/value-store.js';

const MB = 1024 * 1024;

describe('ValueStore slabs', () => {
  it('are not V8 external memory, yet are counted by node and by the store', () => {
    const before = process.memoryUsage();
    const slabsBefore = offHeapSlabBytes();
    const store = new ValueStore();
    const v = 'v'.repeat(1000);
    const handles: number[] = [];
    for (let i = 0; i < 100_000; i++) handles.push(store.put(v + String(i % 10)));
    const after = process.memoryUsage();
    const slabs = offHeapSlabBytes() - slabsBefore;
    expect(slabs).toBeGreaterThan(95 * MB);
    // ArrayBuffer slabs would have raised V8's external memory by all of it.
    expect(after.external - before.external).toBeLessThan(16 * MB);
    expect(after.arrayBuffers - before.arrayBuffers).toBeGreaterThan(slabs - 16 * MB);
    expect(store.get(handles[12345])).toBe(v + '5');
    store.forget();
  });
});
