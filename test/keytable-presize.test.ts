/**
 * KeyTable's size hint (used when a snapshot is loaded): a pre-sized table
 * must behave exactly like one grown key by key: lookups, SCAN coverage,
 * segment walks, and further growth past the hint.
 */
import { describe, expect, it } from 'vitest';
import { KeyTable } from '../src/keyspace/table.js';

function fill(t: KeyTable, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) t.put(t.segmentOf(`k${i}`), `k${i}`, `v${i}`);
}

function scanAll(t: KeyTable): Set<string> {
  const seen = new Set<string>();
  let cursor = 0;
  do cursor = t.scan(cursor, 100, (k) => seen.add(k));
  while (cursor !== 0);
  return seen;
}

describe('KeyTable size hint', () => {
  it('starts with enough segments and then behaves like a grown table', () => {
    const hinted = new KeyTable(5000);
    expect(hinted.dir.length).toBeGreaterThan(1);
    expect(new KeyTable().dir.length).toBe(1);
    fill(hinted, 5000);
    expect(hinted.size).toBe(5000);
    for (let i = 0; i < 5000; i++) expect(hinted.get(`k${i}`)).toBe(`v${i}`);
    expect(scanAll(hinted).size).toBe(5000);
    let inSegments = 0;
    for (const seg of hinted.segments()) inSegments += seg.size;
    expect(inSegments).toBe(5000);
    // Past the hint it splits as usual.
    fill(hinted, 20_000, 5000);
    expect(hinted.size).toBe(25_000);
    expect(scanAll(hinted).size).toBe(25_000);
    for (const seg of hinted.segments()) expect(seg.size).toBeLessThan(64);
  });

  it('keeps expiries and caps an absurd hint', () => {
    const t = new KeyTable(1e15);
    expect(t.dir.length).toBeLessThanOrEqual(1 << 20);
    fill(t, 100);
    t.setExpiry(t.segmentOf('k1'), 'k1', 123);
    expect(t.getExpiry(t.segmentOf('k1'), 'k1')).toBe(123);
    expect(t.expiresCount).toBe(1);
    expect(t.randomKey()).toMatch(/^k\d+$/);
  });
});
