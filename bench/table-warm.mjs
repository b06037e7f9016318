#!/usr/bin/env node
/**
 * Standalone: what KeyTable.warm buys on a table that has left the CPU
 * cache. Random lookups of fresh key strings (half of them misses) in a 2M-key
 * table, one by one and after a warm() of each batch of WARM_MAX keys, in
 * alternating rounds; then, for scale, the machine's cost of a random load
 * issued alone (a dependent chain) and of many issued at once.
 *   npm run build && node bench/table-warm.mjs [--keys 2000000] [--rounds 10]
 */
import { KeyTable, WARM_MAX } from '../dist/keyspace/table.js';

const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes('--' + name) ? Number(argv[argv.indexOf('--' + name) + 1]) : def);
const N = opt('keys', 2_000_000);
const ROUNDS = opt('rounds', 10);
const M = 500_000;

const key = (i) => 'key:' + String(i).padStart(12, '0');
const t = new KeyTable();
for (let i = 0; i < N; i++) {
  const k = key(i);
  t.put(t.segmentOf(k), k, 'v' + String(i).padStart(15, '0'));
}
// Fresh flat strings, as the parser makes them; keys up to 2N so half miss.
const probes = new Array(M);
for (let i = 0; i < M; i++) probes[i] = Buffer.from(key((Math.random() * 2 * N) | 0), 'latin1').latin1Slice(0, 16);

function round(warm) {
  const c0 = process.cpuUsage();
  let sum = 0;
  for (let i = 0; i < M; i++) {
    if (warm && i % WARM_MAX === 0) t.warm(probes, i, M, 1);
    const v = t.get(probes[i]);
    if (v !== undefined) sum += v.charCodeAt(7);
  }
  const u = process.cpuUsage(c0);
  return { ns: ((u.user + u.system) * 1e3) / M, sum };
}

// Between rounds, evict the caches with a 64 MB sweep.
const sweep = new Float64Array(8 << 20);
const res = { plain: [], warm: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const w of ['plain', 'warm']) {
    sweep.fill(r);
    res[w].push(round(w === 'warm').ns);
  }
}
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(`KeyTable of ${N} keys, ${M} random lookups (half misses), CPU per lookup, median of ${ROUNDS}:`);
console.log(`  one by one:            ${med(res.plain).toFixed(0)} ns`);
console.log(`  warm() every ${WARM_MAX} keys:  ${med(res.warm).toFixed(0)} ns`);

// The machine: random 8-byte loads over 512 MB, dependent (a chain) and independent.
const A = 1 << 26;
const a = new Float64Array(A);
for (let i = 0; i < A; i++) a[i] = (Math.random() * A) | 0;
const L = 2_000_000;
const idx = new Int32Array(L);
for (let i = 0; i < L; i++) idx[i] = (Math.random() * A) | 0;
let t0 = performance.now();
let p = 0;
for (let i = 0; i < L; i++) p = a[(p + i) & (A - 1)];
const dep = ((performance.now() - t0) * 1e6) / L;
t0 = performance.now();
let s = 0;
for (let i = 0; i < L; i++) s += a[idx[i]];
const ind = ((performance.now() - t0) * 1e6) / L;
console.log(`random load over 512 MB: ${dep.toFixed(0)} ns in a dependent chain, ${ind.toFixed(0)} ns each when independent ${(p + s) % 1 === 0.5 ? '' : ''}`);
