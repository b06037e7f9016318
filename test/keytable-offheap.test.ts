/**
 * Keys live outside the V8 heap (KeyTable's key store, src/keyspace/table.ts):
 * a key string per key was one heap object the major GC had to mark and the
 * young GC's page walk had to pass, for every key of a multi-GB keyspace.
 */
import { describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { KeyTable } from '../src/keyspace/table.js';
import { offHeapLiveBytes } from '../src/keyspace/value-store.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return v8.getHeapStatistics().used_heap_size;
}

describe('KeyTable keys', () => {
  it('cost the heap their slot only: the key bytes are in the key store', () => {
    const N = 200_000;
    // Values of 20 bytes go to the value store too, so the heap holds only the table.
    const value = 'v'.repeat(20);
    const before = heapAfterGc();
    const offBefore = offHeapLiveBytes();
    const t = new KeyTable(N);
    for (let i = 0; i < N; i++) {
      // A fresh flat string per key, as the protocol parser makes them.
      const key = Buffer.from(`key:${String(i).padStart(12, '0')}`).latin1Slice();
      t.put(t.segmentOf(key), key, value);
    }
    const perKey = (heapAfterGc() - before) / N;
    // Slots and segments take ~40 bytes a key; a 16-byte key string would add 32 more.
    expect(perKey).toBeLessThan(56);
    // 16-byte cells for the keys and 32-byte cells for the values.
    expect(offHeapLiveBytes() - offBefore).toBe(N * (16 + 32));
    expect(t.get('key:000000123456')).toBe(value);
    let n = 0;
    for (const seg of t.segments()) seg.forEachKeyName((k) => void (k.startsWith('key:') && n++));
    expect(n).toBe(N);
    t.forget();
  });
});
