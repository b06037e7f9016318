#!/usr/bin/env node
/**
 * Side-by-side benchmark: damselfly (dist/main.js) and a real redis-server,
 * both started here on free ports in temp dirs, driven by redis-benchmark in
 * the same run so that ratios are taken under the same machine load.
 *
 * For every run we also read each server's CPU time (utime+stime from
 * /proc/PID/stat, all threads) so throughput can be normalised per server
 * CPU-second: on a shared 2-core box wall-clock ops/s mostly measures who
 * got the cores, CPU-normalised ops/s measures the server's own cost.
 *
 * Usage: npm run bench [-- --reps 3 --quick --no-mem --no-types --no-keyspace --no-big-replies --out bench/RESULTS.md
 *                          --node-flags "--max-semi-space-size=16" --only set,get --server path/to/main.js]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient, encode } from './resp.mjs';
import { cpuSeconds, runRedisBenchmark, startDamselfly, startRedis, statusKiB } from './servers.mjs';
import { keyspaceRun, keyspaceSection, wrapSection } from './keyspace-1m.mjs';
import { bigRepliesRun, bigRepliesSection, wrapBigReplies } from './big-replies.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i < 0 ? def : argv[i + 1];
};
const flag = (name) => argv.includes('--' + name);
const REPS = Number(opt('reps', flag('quick') ? 1 : 3));
const OUT = opt('out', flag('quick') ? null : path.join(ROOT, 'bench/RESULTS.md'));
/**
 * V8 flags for the damselfly process; none by default: the launcher
 * (src/main.ts) sizes the heap and the young generation as it does for
 * every user (src/memory/heap-limit.ts).
 */
const DEFAULT_NODE_FLAGS = '';
const NODE_FLAGS = opt('node-flags', process.env.DAMSELFLY_NODE_FLAGS ?? DEFAULT_NODE_FLAGS).split(/\s+/).filter(Boolean);
const ONLY = opt('only', null)?.split(',');
/** The damselfly entry point; --server lets a scratch build (e.g. a trial merge) be measured. */
const SERVER_MAIN = path.resolve(opt('server', path.join(ROOT, 'dist/main.js')));
const CLIENTS = 50;

// ---------------------------------------------------------------- workloads
/**
 * A workload is one redis-benchmark test. `label` is the CSV test name,
 * `probe` the command names that must exist on a server (checked with an
 * arity-error probe, harmless to data) — a missing one makes redis-benchmark
 * count error replies as successes, so it is skipped instead.
 * Add data-type targets here as families land.
 */
const CORE = [
  { test: 'set', label: 'SET', probe: ['set'], target: true },
  { test: 'get', label: 'GET', probe: ['get'], target: true },
  { test: 'incr', label: 'INCR', probe: ['incr'], target: true },
  { test: 'mset', label: 'MSET (10 keys)', probe: ['mset'], target: false },
];
const TYPES = [
  { test: 'lpush', label: 'LPUSH', probe: ['lpush'] },
  { test: 'rpop', label: 'RPOP', probe: ['rpop'] },
  { test: 'sadd', label: 'SADD', probe: ['sadd'] },
  { test: 'hset', label: 'HSET', probe: ['hset'] },
  { test: 'spop', label: 'SPOP', probe: ['spop'] },
  { test: 'zadd', label: 'ZADD', probe: ['zadd'] },
  { test: 'zpopmin', label: 'ZPOPMIN', probe: ['zpopmin'] },
  { test: 'lrange_100', label: 'LRANGE_100 (first 100 elements)', probe: ['lpush', 'lrange'] },
  { test: 'lrange_600', label: 'LRANGE_600 (first 600 elements)', probe: ['lpush', 'lrange'] },
];
/**
 * Pipeline/size configurations. -P 16 runs 1M requests instead of 200k:
 * the server spends ~0.3 s of CPU on 200k pipelined requests, and CPU time
 * is only counted in 10 ms ticks.
 */
const CONFIGS = [
  { id: 'P1', args: ['-P', '1'], n: 200000, title: '-P 1' },
  { id: 'P16', args: ['-P', '16'], n: 1000000, title: '-P 16' },
  { id: 'P1d1024', args: ['-P', '1', '-d', '1024'], n: 200000, title: '-P 1 -d 1024', tests: ['set', 'get'] },
  { id: 'P16d1024', args: ['-P', '16', '-d', '1024'], n: 1000000, title: '-P 16 -d 1024', tests: ['set', 'get'] },
];
const TYPE_CONFIGS = [
  { id: 'P1', args: ['-P', '1'], n: 100000, title: '-P 1' },
  { id: 'P16', args: ['-P', '16'], n: 500000, title: '-P 16' },
];

// ---------------------------------------------------------------- servers

async function startServer(kind) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bench-${kind}-`));
  const s = kind === 'damselfly' ? await startDamselfly(dir, { main: SERVER_MAIN, nodeFlags: NODE_FLAGS, args: ['--loglevel', 'warning'] }) : await startRedis(dir);
  return {
    ...s,
    async stop() {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const rssBytes = (pid) => statusKiB(pid, 'VmRSS') * 1024;

/** True if every command exists (an arity probe answers "wrong number", not "unknown command"). */
async function supports(port, names) {
  const c = await RespClient.connect(port);
  try {
    for (const n of names) {
      const r = await c.call(n);
      if (r instanceof Error && /unknown command/i.test(r.message)) return false;
    }
    return true;
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------- running
// A stuck run (seen once on the overloaded box) must not hang the whole bench.
const runBenchmark = (port, test, extra, n) => runRedisBenchmark(port, ['-n', String(n), '-t', test, ...extra], { clients: CLIENTS, timeoutMs: 240_000 });

function parseCsv(out, label) {
  for (const line of out.split('\n')) {
    const cells = line.split('","').map((c) => c.replace(/^"|"$/g, ''));
    if (cells[0] === label) return Number(cells[1]);
  }
  return NaN;
}

async function measure(server, w, cfg) {
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  let out = '';
  let err = '';
  try {
    ({ out, err } = await runBenchmark(server.port, w.test, cfg.args, cfg.n));
  } catch (e) {
    // redis-benchmark stops at the first error reply (e.g. WRONGTYPE, a bug).
    err = String(e.message);
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(server.pid) - cpu0;
  const rps = parseCsv(out, w.label);
  const errors = /Error from server/.test(err) || !Number.isFinite(rps);
  return { rps, cpu, wall, opsPerCpu: cfg.n / Math.max(cpu, 1 / CLK_TCK), errors };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Run every workload×config on both servers, alternating who goes first per repetition. */
async function runSuite(servers, workloads, configs) {
  const results = [];
  const usable = {};
  for (const w of workloads) {
    usable[w.test] = (await supports(servers[0].port, w.probe)) && (await supports(servers[1].port, w.probe));
  }
  for (const cfg of configs) {
    for (const w of workloads) {
      if (cfg.tests && !cfg.tests.includes(w.test)) continue;
      if (ONLY && !ONLY.includes(w.test)) continue;
      const row = { w, cfg, skipped: !usable[w.test], runs: { damselfly: [], redis: [] } };
      results.push(row);
    }
  }
  for (let rep = 0; rep < REPS; rep++) {
    for (const row of results) {
      if (row.skipped) continue;
      const order = rep % 2 === 0 ? servers : [servers[1], servers[0]];
      for (const s of order) {
        const m = await measure(s, row.w, row.cfg);
        row.runs[s.kind].push(m);
        process.stderr.write(
          `rep ${rep + 1}/${REPS} ${row.cfg.title.padEnd(14)} ${row.w.test.padEnd(10)} ${s.kind.padEnd(9)} ` +
            `${Math.round(m.rps).toString().padStart(8)} ops/s  cpu ${m.cpu.toFixed(2)}s  ${Math.round(m.opsPerCpu)} ops/cpu-s${m.errors ? '  ERRORS' : ''}\n`,
        );
      }
    }
  }
  return results;
}

function summarise(row) {
  const d = row.runs.damselfly;
  const r = row.runs.redis;
  // Ratios per repetition: both servers measured back to back, same load.
  const ratios = d.map((m, i) => m.rps / r[i].rps);
  const cpuRatios = d.map((m, i) => m.opsPerCpu / r[i].opsPerCpu);
  return {
    dRps: median(d.map((m) => m.rps)),
    rRps: median(r.map((m) => m.rps)),
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    dCpu: median(d.map((m) => m.opsPerCpu)),
    rCpu: median(r.map((m) => m.opsPerCpu)),
    cpuRatio: median(cpuRatios),
    cpuMin: Math.min(...cpuRatios),
    cpuMax: Math.max(...cpuRatios),
    errors: d.some((m) => m.errors) || r.some((m) => m.errors),
  };
}

const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fx = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');

function table(results, withTargets) {
  const head = ['workload', 'config', 'damselfly ops/s', 'redis ops/s', 'ratio (median [min-max])', 'damselfly ops/CPU-s', 'redis ops/CPU-s', 'CPU ratio (median [min-max])'];
  if (withTargets) head.push('target');
  const lines = ['| ' + head.join(' | ') + ' |', '|' + head.map(() => '---').join('|') + '|'];
  for (const row of results) {
    const name = row.w.test.toUpperCase();
    if (row.skipped) {
      lines.push(`| ${name} | ${row.cfg.title} | not implemented |  |  |  |  |  |${withTargets ? '  |' : ''}`);
      continue;
    }
    const s = summarise(row);
    const cells = [
      name + (s.errors ? ' (error replies!)' : ''),
      row.cfg.title,
      fmt(s.dRps),
      fmt(s.rRps),
      `**${fx(s.ratio)}** [${fx(s.ratioMin)}-${fx(s.ratioMax)}]`,
      fmt(s.dCpu),
      fmt(s.rCpu),
      `**${fx(s.cpuRatio)}** [${fx(s.cpuMin)}-${fx(s.cpuMax)}]`,
    ];
    if (withTargets) {
      let t = '';
      if (row.w.target && (row.cfg.id === 'P1' || row.cfg.id === 'P16')) {
        const want = row.cfg.id === 'P1' ? 0.95 : 0.75;
        t = `ops ≥${want}: ${s.ratio >= want ? 'met' : 'missed'}; CPU ≥0.7: ${s.cpuRatio >= 0.7 ? 'met' : 'missed'}`;
      }
      cells.push(t);
    }
    lines.push('| ' + cells.join(' | ') + ' |');
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- memory
const MEM_KEYS = 1_000_000;
const memKey = (i) => 'key:' + String(i).padStart(12, '0');
const memVal = (i) => 'v' + String(i).padStart(15, '0'); // 16 bytes

async function loadKeys(port) {
  const c = await RespClient.connect(port);
  const BATCH = 5000;
  for (let i = 0; i < MEM_KEYS; i += BATCH) {
    let payload = '';
    const end = Math.min(MEM_KEYS, i + BATCH);
    for (let j = i; j < end; j++) payload += encode(['SET', memKey(j), memVal(j)]);
    await c.pipeline(payload, end - i);
  }
  const n = await c.call('DBSIZE');
  c.close();
  return n;
}

async function memoryRun() {
  const out = [];
  const servers = [await startServer('damselfly'), await startServer('redis')];
  try {
    const base = Object.fromEntries(servers.map((s) => [s.kind, rssBytes(s.pid)]));
    for (const s of servers) {
      const n = await loadKeys(s.port);
      if (n !== MEM_KEYS) throw new Error(`${s.kind} holds ${n} keys after loading ${MEM_KEYS}`);
    }
    // Let a lazy GC/allocator settle the same way for both.
    await new Promise((r) => setTimeout(r, 3000));
    for (const s of servers) out.push({ kind: s.kind, keys: MEM_KEYS, base: base[s.kind], rss: rssBytes(s.pid) });
  } finally {
    for (const s of servers) await s.stop();
  }
  return out;
}

// ---------------------------------------------------------------- main
async function main() {
  const nodeVersion = process.version;
  const redisVersion = /v=(\S+)/.exec(execFileSync('redis-server', ['--version']).toString())?.[1];
  const load0 = os.loadavg();
  const started = new Date();
  const sections = [];

  let core = null;
  let types = null;
  const servers = flag('no-core') ? [] : [await startServer('damselfly'), await startServer('redis')];
  if (servers.length) try {
    // Warm-up: lets V8 optimise the hot path before anything is measured.
    for (const s of servers) await runBenchmark(s.port, 'set,get', ['-P', '16'], 200000);
    core = await runSuite(servers, CORE, CONFIGS);
    if (!flag('no-types')) types = await runSuite(servers, TYPES, TYPE_CONFIGS);
  } finally {
    for (const s of servers) await s.stop();
  }
  const mem = flag('no-mem') ? null : await memoryRun();
  // ~1M keys resident, random keys: the workload the single-key tests above miss (bench/keyspace-1m.mjs).
  const keyspace = flag('no-keyspace') ? null : await keyspaceRun({ reps: REPS, nodeFlags: NODE_FLAGS, serverMain: SERVER_MAIN });
  // Other clients' PING latency while one reads a ~700 MB reply (bench/big-replies.mjs); --quick reads ~100 MB.
  const big = flag('no-big-replies') ? null : await bigRepliesRun({ reps: 1, mb: flag('quick') ? 100 : 700, serverMain: SERVER_MAIN });
  const load1 = os.loadavg();

  sections.push(`# Benchmark results\n`);
  sections.push(
    [
      `- date: ${started.toISOString()} (run took ${Math.round((Date.now() - started) / 1000)} s)`,
      `- machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, shared with other workloads`,
      `- load average (1/5/15 min) at start: ${load0.map((x) => x.toFixed(2)).join(' / ')}, at end: ${load1.map((x) => x.toFixed(2)).join(' / ')}`,
      `- node ${nodeVersion}${NODE_FLAGS.length ? ' with ' + NODE_FLAGS.join(' ') : ''}; redis-server ${redisVersion} (Debian, --save '' --appendonly no)`,
      `- damselfly: ${path.relative(ROOT, SERVER_MAIN)}`,
      `- redis-benchmark -c ${CLIENTS} --csv, one test per invocation, ${REPS} repetition(s); in each repetition both servers run back to back (order alternates), ratios are taken per repetition and the median is shown with [min-max]`,
      `- CPU = utime+stime of the server process (all threads) from /proc/PID/stat during the run; ops/CPU-s = requests / server CPU seconds`,
    ].join('\n') + '\n',
  );
  if (core) sections.push(`## GET/SET/INCR targets (and MSET)\n\nTargets: ops/s ratio ≥ 0.95 at -P 1 and ≥ 0.75 at -P 16; ops per CPU-second ratio ≥ 0.7 at both.\n\n${table(core, true)}\n`);
  if (types) sections.push(`## Data-type workloads\n\n${table(types, false)}\n`);
  if (mem) {
    const d = mem.find((m) => m.kind === 'damselfly');
    const r = mem.find((m) => m.kind === 'redis');
    const mb = (b) => (b / 2 ** 20).toFixed(1);
    sections.push(
      `## Memory: ${MEM_KEYS.toLocaleString('en-US')} keys, 16-byte keys and 16-byte values\n\n` +
        `| server | RSS empty (MiB) | RSS loaded (MiB) | bytes/key (loaded-empty) |\n|---|---|---|---|\n` +
        mem.map((m) => `| ${m.kind} | ${mb(m.base)} | ${mb(m.rss)} | ${((m.rss - m.base) / m.keys).toFixed(1)} |`).join('\n') +
        `\n\nRSS ratio damselfly/redis: **${(d.rss / r.rss).toFixed(2)}** (target ≤ 1.5: ${d.rss / r.rss <= 1.5 ? 'met' : 'missed'}); DBSIZE checked equal (${MEM_KEYS}) on both.\n`,
    );
  }
  if (keyspace) sections.push(wrapSection(keyspaceSection(keyspace)));
  if (big) sections.push(wrapBigReplies(bigRepliesSection(big)));
  const md = sections.join('\n');
  process.stdout.write(md + '\n');
  if (OUT) writeFileSync(OUT, md + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
