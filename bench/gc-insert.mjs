#!/usr/bin/env node
/**
 * Standalone (no server): inserts N keys (16-byte keys, 45% 1 KiB / 55% 100 B
 * values) into a KeyTable from dist as the server does, printing seconds per
 * million keys; run it under /usr/bin/time and --trace-gc to compare GC
 * pause figures with the CPU the process actually got.
 *   node --max-semi-space-size=2 --trace-gc bench/gc-insert.mjs 1000000 [table|map|array]
 */
import { KeyTable } from '../dist/keyspace/table.js';
const N = Number(process.argv[2] ?? 2e6);
const mode = process.argv[3] ?? 'table';
const FILL = Buffer.alloc(1024, 97);
const buf = Buffer.allocUnsafe(2048);
const t = new KeyTable(); const m = new Map(); const arr = [];
const t0 = performance.now(); let last = t0;
for (let i = 0; i < N; i++) {
  const k = 'key:' + String(i).padStart(12, '0');
  const len = i % 20 < 9 ? 1024 : 100;
  FILL.copy(buf, 0, 0, len); buf.latin1Write(String(i), 0);
  const key = Buffer.from(k, 'latin1').latin1Slice(0, 16);
  const v = buf.latin1Slice(0, len);
  if (mode === 'table') t.put(t.segmentOf(key), key, v); else if (mode === 'map') m.set(key, v); else arr.push(v);
  if ((i & 0xfffff) === 0xfffff) { const now = performance.now(); console.error(`${(i+1)/1e6}M ${((now-last)/1000).toFixed(2)} s/1M heap ${(process.memoryUsage().heapUsed/2**30).toFixed(2)} GiB`); last = now; }
}
console.error(`total ${((performance.now()-t0)/1000).toFixed(1)} s`);
