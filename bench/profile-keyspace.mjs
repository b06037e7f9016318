#!/usr/bin/env node
/**
 * Where damselfly's time goes on the keyspace-1m workload: one server run
 * under `node --cpu-prof --trace-gc`, filled with ~1M keys, then one phase
 * per redis-benchmark test; the CPU profile's samples are cut into those
 * phases by time, and each phase gets its top functions (self time), its
 * GC share and a count of its GC lines.
 *
 * node bench/profile-keyspace.mjs [--node-flags "--max-semi-space-size=16"]
 *   [--phases set16,get16,set1,get1] [--top 25] [--keep-profile /tmp/x.cpuprofile]
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, copyFileSync, statSync } from 'node:fs';

import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisBenchmark, startDamselfly, statusKiB } from './servers.mjs';

const rssMiB = (pid) => statusKiB(pid, 'VmRSS') / 1024;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i < 0 ? def : argv[i + 1];
};
const NODE_FLAGS = opt('node-flags', '').split(/\s+/).filter(Boolean);
const SERVER_MAIN = path.resolve(opt('server', path.join(ROOT, 'dist/main.js')));
const TOP = Number(opt('top', 25));
const PHASES = {
  fill: ['-t', 'set', '-r', '1000000', '-n', '3000000', '-P', '16', '-d', '16'],
  set16: ['-t', 'set', '-r', '1000000', '-n', '2000000', '-P', '16', '-d', '16'],
  get16: ['-t', 'get', '-r', '1000000', '-n', '2000000', '-P', '16', '-d', '16'],
  set1: ['-t', 'set', '-r', '1000000', '-n', '300000', '-P', '1', '-d', '16'],
  get1: ['-t', 'get', '-r', '1000000', '-n', '300000', '-P', '1', '-d', '16'],
};
const wanted = ['fill', ...opt('phases', 'set16,get16,set1,get1').split(',')];

const bench = (port, args) => redisBenchmark(port, args);

const profDir = mkdtempSync(path.join(os.tmpdir(), 'prof-'));
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'prof-data-'));
const t0 = Date.now();
const gc = [];
const onLine = (line) => {
  const m = /\s(\d+) ms: (Scavenge|Mark-Compact|Mark-Compact \(reduce\)|Minor Mark-Sweep)\b.*?MB, ([\d.]+) \/ ([\d.]+) ms(?:.*?biggest step ([\d.]+) ms)?/.exec(line);
  if (m) gc.push({ at: Number(m[1]), kind: m[2], ms: Number(m[3]), step: Number(m[5] ?? 0), line });
};
const srv = await startDamselfly(dataDir, { main: SERVER_MAIN, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profDir, '--trace-gc', ...NODE_FLAGS], args: ['--loglevel', 'warning'], onLine });
const { port, proc } = srv;
const windows = [];
for (const ph of wanted) {
  const a = Date.now() - t0;
  const out = await bench(port, PHASES[ph]);
  const b = Date.now() - t0;
  windows.push({ ph, a, b, out: out.trim().split('\n').pop(), rss: rssMiB(srv.pid) });
  process.stderr.write(`${ph}: ${out.trim().split('\n').pop()}\n`);
}
process.kill(proc.pid, 'SIGINT');
await new Promise((r) => proc.once('exit', r));
// The launcher re-executes node with the heap flags and passes --cpu-prof on,
// so two profiles are written: the server's is the big one.
const file = readdirSync(profDir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort((x, y) => statSync(path.join(profDir, y)).size - statSync(path.join(profDir, x)).size)[0];
const prof = JSON.parse(readFileSync(path.join(profDir, file), 'utf8'));
if (opt('keep-profile', null)) copyFileSync(path.join(profDir, file), opt('keep-profile'));
rmSync(profDir, { recursive: true, force: true });
rmSync(dataDir, { recursive: true, force: true });

// Sample times are µs from the profile's start, which is ~process start (same clock origin as t0 within a few ms).
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const name = (n) => {
  const cf = n.callFrame;
  const f = cf.url ? path.basename(cf.url) + ':' + (cf.lineNumber + 1) : '';
  return `${cf.functionName || '(anonymous)'} ${f}`.trim();
};
const times = [];
let t = 0;
for (const d of prof.timeDeltas) times.push((t += d));
const startOffsetMs = 0;
for (const w of windows) {
  const self = new Map();
  let total = 0;
  let idle = 0;
  let gcSamples = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const ms = times[i] / 1000 + startOffsetMs;
    if (ms < w.a || ms >= w.b) continue;
    const n = byId.get(prof.samples[i]);
    const nm = name(n);
    const dt = (prof.timeDeltas[i + 1] ?? 0) / 1000;
    total += dt;
    if (nm.startsWith('(idle)')) idle += dt;
    if (nm.startsWith('(garbage collector)')) gcSamples += dt;
    self.set(nm, (self.get(nm) ?? 0) + dt);
  }
  const busy = total - idle;
  const g = gc.filter((e) => e.at >= w.a && e.at < w.b);
  const kinds = {};
  for (const e of g) {
    const k = (kinds[e.kind] ??= { n: 0, ms: 0, max: 0, step: 0 });
    k.n++;
    k.ms += e.ms;
    k.max = Math.max(k.max, e.ms);
    k.step = Math.max(k.step, e.step);
  }
  console.log(`\n## ${w.ph}: ${((w.b - w.a) / 1000).toFixed(1)} s wall; ${w.out}; RSS after ${w.rss.toFixed(0)} MiB`);
  console.log(`profile: busy ${(busy / 1000).toFixed(2)} s of ${(total / 1000).toFixed(2)} s; GC (sampled) ${((100 * gcSamples) / busy).toFixed(1)}% of busy`);
  console.log(
    `trace-gc: ` +
      Object.entries(kinds)
        .map(([k, v]) => `${k} ×${v.n} total ${v.ms.toFixed(0)} ms max ${v.max.toFixed(1)} ms${v.step ? ` biggest step ${v.step}` : ''}`)
        .join('; '),
  );
  const top = [...self.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, TOP);
  for (const [k, v] of top) console.log(`${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
}
