#!/usr/bin/env node
/**
 * Realistic-keyspace bench (issue 9, "Scale"): redis-benchmark's default
 * tests hit one key, which keeps the whole working set in cache and every
 * replaced value young. Here each server first holds ~1M keys, then random
 * SET/GET over them: every SET replaces a value that has long been promoted
 * (old-space garbage for V8, a free() for Redis) and every lookup walks a
 * table far bigger than the CPU caches.
 *
 * Per repetition and server (fresh process each time, order alternating):
 *   fill:  redis-benchmark -t set -r 1000000 -n 3000000 -P 16 -d 16
 *   then:  redis-benchmark -t set / -t get -r 1000000 -d 16 at -P 16 and -P 1
 *   RSS (VmRSS, and VmHWM = peak) after the churn.
 * Ratios are taken per repetition (both servers back to back) and the median
 * shown with [min-max], as in run.mjs.
 *
 * Alone: node bench/keyspace-1m.mjs [--reps 3] [--write] [--node-flags "..."]
 *        [--server path/to/main.js] [--trace-gc]
 * --write replaces this bench's section of bench/RESULTS.md (between its
 * markers) and keeps every other section. run.mjs runs it as part of
 * `npm run bench`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient } from './resp.mjs';
import { cpuSeconds, redisBenchmark as redisBenchmarkCsv, startDamselfly, startRedis, statusKiB } from './servers.mjs';
import { resultsSection } from './results-file.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const KEYSPACE = 1_000_000;
const FILL_N = 3_000_000;
const CLIENTS = 50;
/** -P 16 runs long enough (≥ 2 s) that 10 ms CPU ticks and start-up don't matter. */
export const KS_CONFIGS = [
  { id: 'P16', pipeline: 16, n: 2_000_000 },
  { id: 'P1', pipeline: 1, n: 300_000 },
];
const TESTS = ['set', 'get'];

async function startServer(kind, { nodeFlags, serverMain, traceGc }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ks-${kind}-`));
  const gcLines = [];
  const onLine = (line) => {
    if (/\b(Scavenge|Mark-Compact|Mark-sweep|Minor)/.test(line)) gcLines.push(line);
  };
  const s =
    kind === 'damselfly'
      ? await startDamselfly(dir, { main: serverMain, nodeFlags: [...nodeFlags, ...(traceGc ? ['--trace-gc'] : [])], args: ['--loglevel', 'warning'], onLine })
      : await startRedis(dir);
  return {
    ...s,
    gcLines,
    async stop() {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const redisBenchmark = (port, args) => redisBenchmarkCsv(port, args, { clients: CLIENTS });

/** redis-benchmark 7.0 --csv: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms" */
export function parseCsvRow(out, label) {
  for (const line of out.split('\n')) {
    const cells = line.split('","').map((c) => c.replace(/^"|"$/g, '').trim());
    if (cells[0] === label) {
      const [rps, avg, min, p50, p95, p99, max] = cells.slice(1).map(Number);
      return { rps, avg, min, p50, p95, p99, max };
    }
  }
  return null;
}

async function dbsize(port) {
  const c = await RespClient.connect(port);
  try {
    return await c.call('DBSIZE');
  } finally {
    c.close();
  }
}

/** One server, fresh: fill, then every test × config, then RSS. */
async function oneServer(kind, o, log) {
  const s = await startServer(kind, o);
  try {
    const rssEmpty = statusKiB(s.pid, 'VmRSS');
    let t0 = performance.now();
    let c0 = cpuSeconds(s.pid);
    await redisBenchmark(s.port, ['-t', 'set', '-r', String(KEYSPACE), '-n', String(FILL_N), '-P', '16', '-d', '16']);
    const fill = { s: (performance.now() - t0) / 1000, cpu: cpuSeconds(s.pid) - c0, keys: await dbsize(s.port), rssKiB: statusKiB(s.pid, 'VmRSS') };
    log(`${kind.padEnd(9)} fill ${fill.keys} keys in ${fill.s.toFixed(1)} s (${Math.round(FILL_N / fill.s)} ops/s, cpu ${fill.cpu.toFixed(1)} s), RSS ${(fill.rssKiB / 1024).toFixed(0)} MiB`);
    const runs = {};
    for (const cfg of KS_CONFIGS) {
      for (const t of TESTS) {
        c0 = cpuSeconds(s.pid);
        t0 = performance.now();
        const out = await redisBenchmark(s.port, ['-t', t, '-r', String(KEYSPACE), '-n', String(cfg.n), '-P', String(cfg.pipeline), '-d', '16']);
        const wall = (performance.now() - t0) / 1000;
        const cpu = cpuSeconds(s.pid) - c0;
        const row = parseCsvRow(out, t.toUpperCase());
        if (!row) throw new Error(`${kind}: no ${t} row in redis-benchmark output: ${out}`);
        runs[`${cfg.id}:${t}`] = { ...row, cpu, wall, opsPerCpu: cfg.n / Math.max(cpu, 0.01) };
        log(`${kind.padEnd(9)} -P ${String(cfg.pipeline).padEnd(2)} ${t.toUpperCase()} ${Math.round(row.rps).toString().padStart(8)} ops/s  cpu ${cpu.toFixed(2)} s  ${Math.round(cfg.n / cpu)} ops/cpu-s  p50 ${row.p50} p99 ${row.p99} max ${row.max} ms`);
      }
    }
    const rssKiB = statusKiB(s.pid, 'VmRSS');
    const hwmKiB = statusKiB(s.pid, 'VmHWM');
    const keys = await dbsize(s.port);
    log(`${kind.padEnd(9)} after churn: ${keys} keys, RSS ${(rssKiB / 1024).toFixed(1)} MiB (peak ${(hwmKiB / 1024).toFixed(1)})`);
    return { kind, fill, runs, rssEmptyKiB: rssEmpty, rssKiB, hwmKiB, keys, gc: s.gcLines.length ? summariseGc(s.gcLines) : null };
  } finally {
    await s.stop();
  }
}

/** Counts and longest pauses from --trace-gc lines ("... 12.3 / 0.0 ms ..."). */
export function summariseGc(lines) {
  const kinds = {};
  for (const l of lines) {
    const m = /(Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact|Minor Mark-Sweep)[^,]*?,?.*?\s([\d.]+) \/ ([\d.]+) ms/.exec(l);
    if (!m) continue;
    const k = m[1];
    const ms = Number(m[2]);
    const e = (kinds[k] ??= { count: 0, totalMs: 0, maxMs: 0 });
    e.count++;
    e.totalMs += ms;
    e.maxMs = Math.max(e.maxMs, ms);
  }
  return kinds;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function keyspaceRun(opts = {}) {
  const o = {
    reps: 3,
    nodeFlags: [],
    serverMain: path.join(ROOT, 'dist/main.js'),
    traceGc: false,
    log: (s) => process.stderr.write(s + '\n'),
    ...opts,
  };
  const load0 = os.loadavg();
  const started = new Date();
  const reps = [];
  for (let rep = 0; rep < o.reps; rep++) {
    const order = rep % 2 === 0 ? ['damselfly', 'redis'] : ['redis', 'damselfly'];
    const r = {};
    for (const kind of order) {
      o.log(`-- rep ${rep + 1}/${o.reps} ${kind}`);
      r[kind] = await oneServer(kind, o, o.log);
    }
    reps.push(r);
  }
  return { reps, opts: o, load0, load1: os.loadavg(), started, seconds: (Date.now() - started) / 1000 };
}

const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fx = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const mib = (kib) => (kib / 1024).toFixed(1);
const spread = (xs) => `**${fx(median(xs))}** [${fx(Math.min(...xs))}-${fx(Math.max(...xs))}]`;

export function keyspaceSection(res) {
  const { reps, opts } = res;
  const lines = [];
  lines.push(`## Realistic keyspace: ~1M keys resident, random SET/GET (issue 9)\n`);
  lines.push(
    `\`node bench/keyspace-1m.mjs\` (also part of \`npm run bench\`) — ${res.started.toISOString()}, took ${Math.round(res.seconds)} s; ` +
      `load average (1/5/15 min) at start ${res.load0.map((x) => x.toFixed(2)).join(' / ')}, at end ${res.load1.map((x) => x.toFixed(2)).join(' / ')}; ` +
      `${os.cpus().length} cores, shared with other workloads.\n` +
      `node ${process.version} ${opts.nodeFlags.join(' ')} ${path.relative(ROOT, opts.serverMain)} --save ''; redis-server --save '' --appendonly no. ` +
      `${opts.reps} repetition(s); in each, a fresh process of each server (order alternating) is filled with ` +
      `\`redis-benchmark -t set -r ${KEYSPACE} -n ${FILL_N} -P 16 -d 16\`, then measured with ` +
      KS_CONFIGS.map((c) => `\`-t set\` / \`-t get -r ${KEYSPACE} -n ${c.n} -P ${c.pipeline} -d 16\``).join(', ') +
      ` (-c ${CLIENTS}); ratios per repetition, median [min-max]. CPU = server utime+stime from /proc/PID/stat.\n`,
  );
  const head = ['test', 'damselfly ops/s', 'redis ops/s', 'ratio', 'damselfly ops/CPU-s', 'redis ops/CPU-s', 'CPU ratio', 'p99 ms (d / r)', 'target ≥ 0.75'];
  lines.push('| ' + head.join(' | ') + ' |');
  lines.push('|' + head.map(() => '---').join('|') + '|');
  const fillD = reps.map((r) => FILL_N / r.damselfly.fill.s);
  const fillR = reps.map((r) => FILL_N / r.redis.fill.s);
  const fillRatio = reps.map((r) => r.redis.fill.s / r.damselfly.fill.s);
  const fillCpu = reps.map((r) => r.redis.fill.cpu / r.damselfly.fill.cpu);
  lines.push(
    `| fill (SET -P 16, keys growing) | ${fmt(median(fillD))} | ${fmt(median(fillR))} | ${spread(fillRatio)} | ${fmt(median(reps.map((r) => FILL_N / r.damselfly.fill.cpu)))} | ${fmt(median(reps.map((r) => FILL_N / r.redis.fill.cpu)))} | ${spread(fillCpu)} |  |  |`,
  );
  const verdicts = [];
  for (const cfg of KS_CONFIGS) {
    for (const t of TESTS) {
      const k = `${cfg.id}:${t}`;
      const d = reps.map((r) => r.damselfly.runs[k]);
      const rr = reps.map((r) => r.redis.runs[k]);
      const ratios = d.map((m, i) => m.rps / rr[i].rps);
      const cpuRatios = d.map((m, i) => m.opsPerCpu / rr[i].opsPerCpu);
      const met = median(ratios) >= 0.75;
      verdicts.push(`${t.toUpperCase()} -P ${cfg.pipeline} ${fx(median(ratios))} (${met ? 'met' : 'missed'})`);
      lines.push(
        `| ${t.toUpperCase()} -P ${cfg.pipeline} | ${fmt(median(d.map((m) => m.rps)))} | ${fmt(median(rr.map((m) => m.rps)))} | ${spread(ratios)} | ` +
          `${fmt(median(d.map((m) => m.opsPerCpu)))} | ${fmt(median(rr.map((m) => m.opsPerCpu)))} | ${spread(cpuRatios)} | ` +
          `${fx(median(d.map((m) => m.p99)))} / ${fx(median(rr.map((m) => m.p99)))} | ${met ? 'met' : 'missed'} |`,
      );
    }
  }
  lines.push('');
  lines.push('| server | keys after fill (DBSIZE) | RSS empty (MiB) | RSS after fill | RSS after churn | peak RSS (VmHWM) |');
  lines.push('|---|---|---|---|---|---|');
  for (const kind of ['damselfly', 'redis']) {
    const xs = reps.map((r) => r[kind]);
    lines.push(
      `| ${kind} | ${xs.map((x) => x.fill.keys).join(', ')} | ${mib(median(xs.map((x) => x.rssEmptyKiB)))} | ${mib(median(xs.map((x) => x.fill.rssKiB)))} | ` +
        `${xs.map((x) => mib(x.rssKiB)).join(', ')} | ${mib(median(xs.map((x) => x.hwmKiB)))} |`,
    );
  }
  const rssRatios = reps.map((r) => r.damselfly.rssKiB / r.redis.rssKiB);
  const rssMet = median(rssRatios) <= 1.5;
  lines.push(`\nRSS after churn, damselfly / redis: ${spread(rssRatios)} (target ≤ 1.5: ${rssMet ? 'met' : 'missed'}). Throughput ≥ 0.75×: ${verdicts.join('; ')}.`);
  const gcs = reps.map((r) => r.damselfly.gc).filter(Boolean);
  if (gcs.length) {
    const all = {};
    for (const g of gcs) for (const [k, v] of Object.entries(g)) {
      const e = (all[k] ??= { count: 0, totalMs: 0, maxMs: 0 });
      e.count += v.count;
      e.totalMs += v.totalMs;
      e.maxMs = Math.max(e.maxMs, v.maxMs);
    }
    lines.push(
      `\ndamselfly --trace-gc over all ${gcs.length} repetition(s): ` +
        Object.entries(all).map(([k, v]) => `${k} ×${v.count} (total ${Math.round(v.totalMs)} ms, longest ${v.maxMs.toFixed(1)} ms)`).join('; ') + '.',
    );
  }
  return lines.join('\n') + '\n';
}

const section = resultsSection('keyspace-1m');
/** The section wrapped in markers, so a rerun replaces only it. */
export const wrapSection = section.wrap;
export const writeSection = section.write;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const opt = (name, def) => {
    const i = argv.indexOf('--' + name);
    return i < 0 ? def : argv[i + 1];
  };
  const res = await keyspaceRun({
    reps: Number(opt('reps', 3)),
    nodeFlags: opt('node-flags', '').split(/\s+/).filter(Boolean),
    serverMain: path.resolve(opt('server', path.join(ROOT, 'dist/main.js'))),
    traceGc: argv.includes('--trace-gc'),
  });
  const md = keyspaceSection(res);
  process.stdout.write(md);
  if (argv.includes('--write')) writeSection(md);
  if (opt('json', null)) writeFileSync(opt('json'), JSON.stringify(res, null, 1));
}
