#!/usr/bin/env node
/**
 * HyperLogLog and geo side by side with redis-server, through
 * redis-benchmark custom commands with -r 1000000 at -P 1 and -P 16:
 *   PFADD hll __rand_int__        (one key: sparse, then dense past ~1,800 elements)
 *   PFCOUNT hll                   (after the PFADDs: the cached cardinality)
 *   PFCOUNT hll hll2              (two keys: the register merge each time)
 *   GEOADD geo <lon> <lat> m:__rand_int__   (lon 0..100, lat 0..10 degrees)
 *   GEOSEARCH geo FROMLONLAT <lon> <lat> BYRADIUS 50 km ASC COUNT 10
 * Coordinates come from the placeholder with an exponent (__rand_int__e-4
 * is 0..99.9999), so the points spread over a 100 x 10 degree area and a
 * 50 km search finds ~100 of the ~260,000 points.
 *
 * usage: node bench/hll-geo.mjs [--reps 3] [--n 100000] [--write]
 * Both servers run back to back per repetition (order alternates); ratios
 * are per repetition, the median is reported with [min-max].
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startDamselfly, startRedis, redisBenchmark } from './servers.mjs';
import { resultsSection } from './results-file.mjs';

const { values: opt } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    n: { type: 'string', default: '100000' },
    write: { type: 'boolean', default: false },
  },
});
const REPS = Number(opt.reps);
const N = Number(opt.n);

const LON = '__rand_int__e-4';
const LAT = '__rand_int__e-5';
const WORKLOADS = [
  { name: 'PFADD hll r', args: ['PFADD', 'hll', '__rand_int__'] },
  { name: 'PFCOUNT hll', args: ['PFCOUNT', 'hll'] },
  { name: 'PFCOUNT hll hll2', args: ['PFCOUNT', 'hll', 'hll2'], n: N / 10 },
  { name: 'GEOADD geo lon lat m', args: ['GEOADD', 'geo', LON, LAT, 'm:__rand_int__'] },
  { name: 'GEOSEARCH 50 km ASC COUNT 10', args: ['GEOSEARCH', 'geo', 'FROMLONLAT', LON, LAT, 'BYRADIUS', '50', 'km', 'ASC', 'COUNT', '10'], n: N / 5 },
];

function rps(csv) {
  const line = csv.trim().split('\n').pop();
  return Number(JSON.parse('[' + line + ']')[1]);
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function withServer(kind, fn) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-hll-geo-'));
  const srv = kind === 'damselfly' ? await startDamselfly(dir) : await startRedis(dir);
  try {
    return await fn(srv);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(port) {
  const out = {};
  // The second HLL and a few warm-up rounds (node's JIT), not measured.
  await redisBenchmark(port, ['-P', '16', '-n', '20000', '-r', '1000000', 'PFADD', 'hll2', '__rand_int__']);
  await redisBenchmark(port, ['-P', '16', '-n', '20000', '-r', '1000000', 'PFADD', 'warm', '__rand_int__']);
  await redisBenchmark(port, ['-P', '16', '-n', '20000', '-r', '1000000', 'GEOADD', 'warmgeo', LON, LAT, 'm:__rand_int__']);
  for (const p of ['1', '16']) {
    for (const w of WORKLOADS) {
      const n = String(Math.round((w.n ?? N) * (p === '1' ? 0.5 : 1)));
      out[`${w.name}|${p}`] = rps(await redisBenchmark(port, ['-P', p, '-n', n, '-r', '1000000', ...w.args]));
    }
  }
  return out;
}

const results = {};
const load0 = loadavg();
const start = Date.now();
for (let rep = 0; rep < REPS; rep++) {
  const order = rep % 2 === 0 ? ['damselfly', 'redis'] : ['redis', 'damselfly'];
  const got = {};
  for (const kind of order) got[kind] = await withServer(kind, (srv) => run(srv.port));
  for (const k of Object.keys(got.damselfly)) (results[k] ??= []).push({ d: got.damselfly[k], r: got.redis[k], ratio: got.damselfly[k] / got.redis[k] });
  console.error(`rep ${rep + 1}/${REPS}:`, JSON.stringify(got));
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const lines = [
  `- date: ${new Date().toISOString()} (run took ${Math.round((Date.now() - start) / 1000)} s), ${REPS} repetition(s), order alternating; redis-benchmark -c 50 -r 1000000`,
  `- load average at start: ${load0.map((x) => x.toFixed(2)).join(' / ')}, at end: ${loadavg().map((x) => x.toFixed(2)).join(' / ')} (2 cores, shared with other helpers' test runs: a loaded machine)`,
  '',
  '| workload | config | damselfly ops/s | redis ops/s | ratio (median [min-max]) |',
  '|---|---|---|---|---|',
];
for (const [k, rs] of Object.entries(results)) {
  const [name, p] = k.split('|');
  const ratios = rs.map((x) => x.ratio);
  lines.push(`| ${name} | -P ${p} | ${fmt(median(rs.map((x) => x.d)))} | ${fmt(median(rs.map((x) => x.r)))} | **${median(ratios).toFixed(2)}** [${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}] |`);
}
const md = lines.join('\n') + '\n';
console.log(md);
if (opt.write) resultsSection('hll-geo').write('## HyperLogLog and geo\n\n' + md);
