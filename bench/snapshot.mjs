#!/usr/bin/env node
/**
 * Snapshot benchmark, in-process (build first: npm run build):
 *   node bench/snapshot.mjs [keys=1000000]
 * Measures how long a forkless snapshot of N string keys plus some large
 * collections takes, the worst event-loop stall while it runs (what a client
 * would feel as added latency), and how fast the result loads back.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Keyspace } from '../dist/keyspace/keyspace.js';
import { SnapshotJob } from '../dist/snapshot/serializer.js';
import { SnapshotReader } from '../dist/snapshot/reader.js';
import { SortedSet } from '../dist/types/zset.js';
import '../dist/config/server-params.js';

const N = Number(process.argv[2] ?? 1_000_000);
const ks = new Keyspace(16);
const db = ks.dbs[0];
let t = performance.now();
for (let i = 0; i < N; i++) db.set(`key:${i}`, `value:${i}:${'x'.repeat(16)}`);
for (let z = 0; z < 4; z++) {
  const zs = new SortedSet(10);
  for (let i = 0; i < 250_000; i++) zs.set(`member:${i}`, i / 3);
  db.set(`zset:${z}`, zs);
}
console.log(`populate: ${N} strings + 4 zsets of 250k in ${(performance.now() - t).toFixed(0)} ms`);

const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
t = performance.now();
const job = new SnapshotJob(ks, { serverId: 'bench', seq: 1 });
const chunks = [];
// A concurrent writer, as clients would be.
let writes = 0;
const writer = setInterval(() => {
  for (let i = 0; i < 200; i++, writes++) db.set(`key:${(Math.random() * N) | 0}`, 'changed');
}, 1);
for await (const c of job.stream) chunks.push(c);
clearInterval(writer);
h.disable();
const data = Buffer.concat(chunks);
const ms = performance.now() - t;
console.log(`snapshot: ${(data.length / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms (${((data.length / 1e6 / ms) * 1000).toFixed(0)} MB/s), ${writes} concurrent writes`);
console.log(`event-loop delay during snapshot: p50 ${(h.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`);

t = performance.now();
let keys = 0;
await SnapshotReader.read(Readable.from((function* () {
  for (let i = 0; i < data.length; i += 256 * 1024) yield data.subarray(i, i + 256 * 1024);
})()), { key() { keys++; } });
const rms = performance.now() - t;
console.log(`read: ${keys} keys in ${rms.toFixed(0)} ms (${((keys / rms) * 1000 / 1e6).toFixed(2)} M keys/s)`);
