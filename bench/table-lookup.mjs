#!/usr/bin/env node
/**
 * Standalone: the cost of a KeyTable lookup against the table's size (10k
 * keys fit in cache, 1M do not) next to the cost of hashing the key, with
 * fresh flat probe strings as the parser makes them.
 *   node bench/table-lookup.mjs
 */
import { KeyTable } from '../dist/keyspace/table.js';
import { hashKey } from '../dist/keyspace/hash.js';
const key = (i) => 'key:' + String(i).padStart(12, '0');
function build(n) { const t = new KeyTable(); for (let i = 0; i < n; i++) { const k = key(i); t.put(t.segmentOf(k), k, 'v' + String(i).padStart(15, '0')); } return t; }
function probes(n, range) { const a = new Array(n); for (let i = 0; i < n; i++) a[i] = Buffer.from(key((Math.random() * range) | 0), 'latin1').latin1Slice(0, 16); return a; }
const M = 2_000_000;
for (const n of [10_000, 1_000_000]) {
  const t = build(n);
  for (let rep = 0; rep < 2; rep++) {
    let ks = probes(M, n); let t0 = performance.now(); let x = 0;
    for (const k of ks) x ^= hashKey(k);
    const th = performance.now() - t0;
    ks = probes(M, n); t0 = performance.now(); let hit = 0;
    for (const k of ks) if (t.get(k) !== undefined) hit++;
    const tg = performance.now() - t0;
    // value deref: read the value's first char (what the reply encoder does)
    ks = probes(M, n); t0 = performance.now(); let c = 0;
    for (const k of ks) { const v = t.get(k); c += v.charCodeAt(7); }
    const tv = performance.now() - t0;
    // a plain Map for comparison
    console.log(`table ${n} keys: hashKey ${(th*1e6/M).toFixed(0)} ns/key; get ${(tg*1e6/M).toFixed(0)} ns/key; get+value read ${(tv*1e6/M).toFixed(0)} ns/key  (${hit} ${x&1} ${c&1})`);
  }
}
{ const n = 1_000_000; const m = new Map(); for (let i = 0; i < n; i++) m.set(key(i), 'v' + String(i).padStart(15, '0'));
  const ks = probes(M, n); const t0 = performance.now(); let h = 0; for (const k of ks) if (m.get(k) !== undefined) h++;
  console.log(`one Map of 1M: get ${((performance.now()-t0)*1e6/M).toFixed(0)} ns/key`); }
