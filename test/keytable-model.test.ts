/**
 * KeyTable against a plain Map model: after any sequence of puts, removes,
 * expiry and meta changes (with the segment splits, grows and shrinks they
 * cause), every key's value, expiry and meta agree with the model, the
 * counters and per-segment walks agree, SCAN returns every key present for
 * the whole scan while the table grows and shrinks, and sample /
 * sampleVolatile return only live entries with their current meta/expiry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyTable, type Segment } from '../src/keyspace/table.js';

interface Entry {
  value: string;
  exp: number | undefined;
  meta: number;
}

type Op =
  | { t: 'put'; k: number; v: number }
  | { t: 'remove'; k: number }
  | { t: 'setExpiry'; k: number; at: number }
  | { t: 'dropExpiry'; k: number }
  | { t: 'setMeta'; k: number; meta: number }
  | { t: 'newKeyMeta'; meta: number }
  /** The cron's pass over segments deletes emptied. */
  | { t: 'shrink' };

const META_MAX = 0xffffff;

/**
 * Short values stay strings in the slots; every other one is long enough
 * (16 B to 64 KiB, any byte) to be kept in the table's ValueStore, so
 * overwrites, removes, grows and splits move and free its handles.
 */
function valueFor(v: number): string {
  if (v % 2 === 0) return `v${v}`;
  const len = v % 7 === 1 ? 65535 : 64 + ((v * 37) % 3000);
  return `v${v}:`.padEnd(len, String.fromCharCode(v % 256));
}

/**
 * Keys of every shape the key store must hold byte for byte (kept outside
 * the heap up to 64 KiB, as strings past it): short and empty, any byte
 * including 0 and 255, a few hundred bytes, and over 64 KiB.
 */
function keyOfAnyShape(k: number): string {
  switch (k % 5) {
    case 0:
      return `key:${k}`;
    case 1:
      return `\0b${k}\xff`.padEnd(17 + (k % 40), String.fromCharCode(128 + (k % 128)));
    case 2:
      return k === 2 ? '' : String(k);
    case 3:
      return `long:${k}:`.padEnd(200 + (k % 300), String.fromCharCode(k % 256));
    default:
      return k % 97 === 4 ? `huge:${k}:`.padEnd(70_000, 'h') : `k${k}`.padEnd(16, '-');
  }
}

afterEach(() => {
  KeyTable.newKeyMeta = 0;
});

/** The table's contract, on both sides; willMutate as every real caller does. */
function apply(t: KeyTable, model: Map<string, Entry>, op: Op, keyName: (k: number) => string): void {
  if (op.t === 'newKeyMeta') {
    KeyTable.newKeyMeta = op.meta;
    return;
  }
  if (op.t === 'shrink') {
    expect(t.shrinkSome(Infinity)).toBe(false);
    expect(t.shrinkPending).toBe(0);
    return;
  }
  const key = keyName(op.k);
  const seg = t.segmentOf(key);
  const cur = model.get(key);
  switch (op.t) {
    case 'put': {
      t.willMutate(seg);
      t.put(seg, key, valueFor(op.v));
      if (cur === undefined) model.set(key, { value: valueFor(op.v), exp: undefined, meta: KeyTable.newKeyMeta });
      else cur.value = valueFor(op.v);
      break;
    }
    case 'remove':
      t.willMutate(seg);
      expect(t.remove(seg, key)).toBe(cur !== undefined);
      model.delete(key);
      break;
    case 'setExpiry':
      if (cur === undefined) return;
      t.willMutate(seg);
      t.setExpiry(seg, key, op.at);
      cur.exp = op.at;
      break;
    case 'dropExpiry':
      t.willMutate(seg);
      expect(t.dropExpiry(seg, key)).toBe(cur?.exp !== undefined);
      if (cur !== undefined) cur.exp = undefined;
      break;
    case 'setMeta':
      t.setMeta(seg, key, op.meta);
      if (cur !== undefined) cur.meta = op.meta;
      break;
  }
}

/** Every disagreement with the model, as text (plain comparisons: expect() per key is too slow at 60k keys). */
function check(t: KeyTable, model: Map<string, Entry>, absent: string[]): void {
  const bad: string[] = [];
  const same = (what: string, got: unknown, want: unknown) => {
    if (got !== want) bad.push(`${what}: got ${String(got)}, want ${String(want)}`);
  };
  same('size', t.size, model.size);
  let expires = 0;
  for (const [k, e] of model) {
    const seg = t.segmentOf(k);
    same(`get ${k}`, t.get(k), e.value);
    same(`lookup ${k}`, t.lookup(seg, k), e.value);
    same(`getExpiry ${k}`, t.getExpiry(seg, k), e.exp);
    same(`getMeta ${k}`, t.getMeta(seg, k), e.meta);
    if (e.exp !== undefined) expires++;
  }
  for (const k of absent) {
    if (model.has(k)) continue;
    const seg = t.segmentOf(k);
    same(`get absent ${k}`, t.get(k), undefined);
    same(`has absent ${k}`, t.has(seg, k), false);
    same(`getExpiry absent ${k}`, t.getExpiry(seg, k), undefined);
    same(`getMeta absent ${k}`, t.getMeta(seg, k), 0);
  }
  same('expiresCount', t.expiresCount, expires);
  // Walking the segments gives exactly the model, each key in its own segment.
  const walked = new Set<string>();
  let inSegments = 0;
  let expInSegments = 0;
  for (const seg of t.segments()) {
    inSegments += seg.size;
    expInSegments += seg.expiresSize;
    seg.forEachKey((k, v, exp) => {
      if (walked.has(k)) bad.push(`walked twice: ${k}`);
      walked.add(k);
      if (t.segmentOf(k) !== seg) bad.push(`${k} in the wrong segment`);
      const e = model.get(k);
      if (e === undefined) bad.push(`walked ${k}, not in the model`);
      else {
        same(`walked value ${k}`, v, e.value);
        same(`walked expiry ${k}`, exp, e.exp);
      }
    });
  }
  same('walked', walked.size, model.size);
  same('sum of segment sizes', inSegments, model.size);
  same('sum of segment expiries', expInSegments, expires);
  // The segments listed as holding expiries: each once, exactly those with some.
  const volatile = new Set<Segment>();
  for (let i = 0; i < t.volatileCount; i++) {
    const seg = t.volatileSegment(i)!;
    if (volatile.has(seg)) bad.push(`volatile segment listed twice at ${i}`);
    if (seg.expiresSize === 0) bad.push(`volatile segment ${i} has no expiry`);
    volatile.add(seg);
  }
  for (const seg of t.segments()) if (volatile.has(seg) !== seg.expiresSize > 0) bad.push('segment with expiries not listed');
  expect(bad.slice(0, 20)).toEqual([]);
}

function checkSamples(t: KeyTable, model: Map<string, Entry>, count: number): void {
  const seen = new Set<string>();
  t.sample(count, (seg, k, v, meta) => {
    const e = model.get(k);
    expect(e).toBeDefined();
    expect(seen.has(k)).toBe(false);
    seen.add(k);
    expect(t.segmentOf(k)).toBe(seg);
    expect(v).toBe(e!.value);
    expect(meta).toBe(e!.meta);
  });
  expect(seen.size).toBeLessThanOrEqual(count);
  if (model.size <= count) expect(seen.size).toBe(model.size);
  else if (count > 0) expect(seen.size).toBeGreaterThan(0);

  const volatileKeys = [...model].filter(([, e]) => e.exp !== undefined).length;
  const vseen = new Set<string>();
  t.sampleVolatile(count, (seg, k, v, meta, at) => {
    const e = model.get(k);
    expect(e).toBeDefined();
    expect(vseen.has(k)).toBe(false);
    vseen.add(k);
    expect(t.segmentOf(k)).toBe(seg);
    expect(v).toBe(e!.value);
    expect(meta).toBe(e!.meta);
    expect(at).toBe(e!.exp);
  });
  expect(vseen.size).toBeLessThanOrEqual(count);
  if (volatileKeys <= count) expect(vseen.size).toBe(volatileKeys);
  else if (count > 0) expect(vseen.size).toBeGreaterThan(0);
}

function opArb(keys: number): fc.Arbitrary<Op> {
  const k = fc.integer({ min: 0, max: keys - 1 });
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('put' as const), k, v: fc.nat(1000) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('remove' as const), k }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('setExpiry' as const), k, at: fc.integer({ min: 1, max: 2 ** 45 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('dropExpiry' as const), k }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('setMeta' as const), k, meta: fc.integer({ min: 0, max: META_MAX }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('newKeyMeta' as const), meta: fc.integer({ min: 0, max: META_MAX }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('shrink' as const) }) },
  );
}

/** A deterministic generator for the long runs. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

function scanAll(t: KeyTable, between?: () => void): Set<string> {
  const seen = new Set<string>();
  let cursor = 0;
  do {
    cursor = t.scan(cursor, 10, (k) => seen.add(k));
    between?.();
  } while (cursor !== 0);
  return seen;
}

describe('KeyTable model', () => {
  it('agrees with a Map after random operations (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.array(opArb(3000), { maxLength: 4000, size: 'max' }), fc.integer({ min: 0, max: 20 }), fc.nat(), (keys, ops, count, hint) => {
        const name = (k: number) => keyOfAnyShape(k % keys);
        const t = new KeyTable(hint % 5000);
        const model = new Map<string, Entry>();
        for (const op of ops) apply(t, model, op, name);
        check(t, model, Array.from({ length: 50 }, (_, i) => name(i)));
        checkSamples(t, model, count);
        const r = t.randomKey();
        if (model.size === 0) expect(r).toBeUndefined();
        else expect(model.has(r!)).toBe(true);
        expect(scanAll(t)).toEqual(new Set(model.keys()));
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('agrees with a Map through growth to 30k keys and shrinking back', () => {
    const rand = rng(9);
    const t = new KeyTable();
    const model = new Map<string, Entry>();
    const name = (k: number) => `user:${k}`;
    const N = 30_000;
    const pick = () => Math.floor(rand() * N);
    // Mostly inserts, then mostly removes: segments split, grow and shrink.
    for (const [steps, putShare] of [
      [60_000, 0.8],
      [60_000, 0.2],
      [20_000, 0.6],
    ] as const) {
      for (let s = 0; s < steps; s++) {
        const r = rand();
        let op: Op;
        if (r < putShare) op = { t: 'put', k: pick(), v: s };
        else if (r < putShare + 0.05) op = { t: 'setExpiry', k: pick(), at: 1 + Math.floor(rand() * 2 ** 44) };
        else if (r < putShare + 0.07) op = { t: 'dropExpiry', k: pick() };
        else if (r < putShare + 0.1) op = { t: 'setMeta', k: pick(), meta: Math.floor(rand() * (META_MAX + 1)) };
        else if (r < putShare + 0.101) op = { t: 'newKeyMeta', meta: Math.floor(rand() * (META_MAX + 1)) };
        else if (r < putShare + 0.102) op = { t: 'shrink' };
        else op = { t: 'remove', k: pick() };
        apply(t, model, op, name);
      }
      check(t, model, Array.from({ length: 1000 }, (_, i) => name(i)));
      for (const count of [0, 1, 5, 16, 64]) checkSamples(t, model, count);
      expect(scanAll(t)).toEqual(new Set(model.keys()));
    }
    expect(t.dir.length).toBeGreaterThan(256);
  }, 120_000);

  it('shrinks the segments deletes emptied only when asked, within the deadline, and not those that filled again', () => {
    const t = new KeyTable();
    const N = 20_000;
    for (let i = 0; i < N; i++) t.put(t.segmentOf(`d${i}`), `d${i}`, 'v');
    const slots = () => [...t.segments()].reduce((n, seg) => n + seg.cap, 0);
    const full = slots();
    for (let i = 0; i < N; i++) if (i % 10 !== 0) t.remove(t.segmentOf(`d${i}`), `d${i}`);
    // Deletes only queue the work: the DEL's client does not wait for it.
    expect(slots()).toBe(full);
    const queued = t.shrinkPending;
    expect(queued).toBeGreaterThan([...t.segments()].length / 2);
    // A deadline already past still makes progress (a batch), and stops.
    expect(t.shrinkSome(0)).toBe(true);
    expect(t.shrinkPending).toBeLessThan(queued);
    expect(t.shrinkPending).toBeGreaterThan(0);
    expect(t.shrinkSome(Infinity)).toBe(false);
    expect(slots()).toBeLessThan(full / 3);
    for (let i = 0; i < N; i += 10) expect(t.get(`d${i}`)).toBe('v');
    expect(t.size).toBe(N / 10);
    // Queued, then refilled: left as it is.
    for (let i = 0; i < N; i++) if (i % 10 === 0) t.remove(t.segmentOf(`d${i}`), `d${i}`);
    for (let i = 0; i < N; i++) t.put(t.segmentOf(`d${i}`), `d${i}`, 'w');
    const refilled = slots();
    expect(t.shrinkSome(Infinity)).toBe(false);
    expect(slots()).toBe(refilled);
    expect(t.size).toBe(N);
  });

  it('SCAN returns every key present for the whole scan while the table splits and shrinks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 40 }), fc.nat(), (initial, addPerStep, delPerStep, seed) => {
        const rand = rng(seed);
        const t = new KeyTable();
        const present = new Set<string>();
        for (let i = 0; i < initial; i++) {
          const k = `s${i}`;
          t.put(t.segmentOf(k), k, 'x');
          present.add(k);
        }
        // Keys that stay the whole scan: the initial ones never deleted below.
        const stable = new Set([...present].filter((_, i) => i % 2 === 0));
        let next = initial;
        const seen = scanAll(t, () => {
          // Bounded: a table growing faster than the cursor advances would never let it finish.
          for (let i = 0; i < addPerStep && next < initial + 20_000; i++) {
            const k = `s${next++}`;
            t.put(t.segmentOf(k), k, 'x');
          }
          for (let i = 0; i < delPerStep && next > 0; i++) {
            const j = Math.floor(rand() * next);
            if (j % 2 === 0 && j < initial) continue;
            const k = `s${j}`;
            t.remove(t.segmentOf(k), k);
          }
          t.shrinkSome(Infinity);
        });
        for (const k of stable) expect(seen.has(k)).toBe(true);
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it('keeps meta through splits, resets it only for new keys, and never stores more than 24 bits', () => {
    const t = new KeyTable();
    KeyTable.newKeyMeta = 0xabcdef;
    for (let i = 0; i < 5000; i++) t.put(t.segmentOf(`m${i}`), `m${i}`, 'v');
    for (let i = 0; i < 5000; i += 2) t.setMeta(t.segmentOf(`m${i}`), `m${i}`, i);
    KeyTable.newKeyMeta = 7;
    // Overwrites keep meta; more keys force splits.
    for (let i = 0; i < 5000; i++) t.put(t.segmentOf(`m${i}`), `m${i}`, 'w');
    for (let i = 5000; i < 20000; i++) t.put(t.segmentOf(`m${i}`), `m${i}`, 'v');
    for (let i = 0; i < 5000; i++) expect(t.getMeta(t.segmentOf(`m${i}`), `m${i}`)).toBe(i % 2 === 0 ? i : 0xabcdef);
    for (let i = 5000; i < 20000; i += 97) expect(t.getMeta(t.segmentOf(`m${i}`), `m${i}`)).toBe(7);
    t.setMeta(t.segmentOf('m1'), 'm1', 0xffffff);
    expect(t.getMeta(t.segmentOf('m1'), 'm1')).toBe(0xffffff);
    expect(t.get('m1')).toBe('w');
    // A removed key comes back with fresh meta.
    t.remove(t.segmentOf('m1'), 'm1');
    expect(t.getMeta(t.segmentOf('m1'), 'm1')).toBe(0);
    t.setMeta(t.segmentOf('m1'), 'm1', 5);
    expect(t.has(t.segmentOf('m1'), 'm1')).toBe(false);
    t.put(t.segmentOf('m1'), 'm1', 'x');
    expect(t.getMeta(t.segmentOf('m1'), 'm1')).toBe(7);
  });

  it('lets the sample callback change the table', () => {
    const t = new KeyTable();
    for (let i = 0; i < 2000; i++) {
      const k = `e${i}`;
      t.put(t.segmentOf(k), k, 'v');
      if (i % 3 === 0) t.setExpiry(t.segmentOf(k), k, 1000 + i);
    }
    // Evict as an eviction loop would: remove what was sampled, right away.
    let removed = 0;
    while (t.expiresCount > 0) {
      t.sampleVolatile(5, (seg, k, _v, _m, at) => {
        expect(t.getExpiry(t.segmentOf(k), k)).toBe(at);
        expect(t.remove(seg, k)).toBe(true);
        removed++;
      });
    }
    expect(removed).toBe(667);
    while (t.size > 0) t.sample(16, (seg, k) => expect(t.remove(seg, k)).toBe(true));
    expect(t.volatileCount).toBe(0);
    expect(scanAll(t).size).toBe(0);
  });
});
