#!/usr/bin/env node
/**
 * Two damselfly builds (and redis-server) on the EVALSHA workloads of
 * bench/scripting.mjs, interleaved: each repetition starts each server in
 * turn (the order rotates) and runs every workload on it. Reported per
 * workload: server CPU per request (utime+stime of the server process from
 * /proc, in microseconds; on a shared 2-core machine steadier than ops/s)
 * and ops/s, medians with [min-max], and each build's CPU ratio to
 * redis-server's.
 *
 * BullMQ (--jobs N > 0): one Worker at concurrency 50 over N jobs, as in
 * bench/scripting.mjs; its "request" is a job (server CPU per job).
 *
 * usage: node bench/scripting-ab.mjs --a OLD/dist/main.js --b NEW/dist/main.js [--reps 5] [--n 100000] [--jobs 0] [--only evalsha|bullmq] [--no-redis]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startDamselfly, startRedis, redisBenchmark, cpuSeconds } from './servers.mjs';
import { RespClient } from './resp.mjs';
import { RATE_LIMITER, bullmqSized, bullmqWorker } from './scripting-workloads.mjs';

const { values: opt } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    reps: { type: 'string', default: '5' },
    n: { type: 'string', default: '100000' },
    'no-redis': { type: 'boolean', default: false },
    jobs: { type: 'string', default: '0' },
    only: { type: 'string' },
  },
});
if (!opt.a || !opt.b) throw new Error('--a and --b: the two builds (dist/main.js paths)');
const REPS = Number(opt.reps);
const N = Number(opt.n);

const big = await bullmqSized();
const WORKLOADS = [];
if (opt.only !== 'bullmq') {
  for (const [name, body] of [
    ['rate limiter', RATE_LIMITER],
    [`BullMQ-sized (${(big.length / 1024).toFixed(0)} KB)`, big],
  ]) {
    for (const P of [1, 16]) WORKLOADS.push({ label: `EVALSHA ${name}, -P ${P}`, run: (srv) => evalsha(srv, body, P) });
  }
}
const JOBS = Number(opt.jobs);
if (JOBS > 0 && opt.only !== 'evalsha') {
  WORKLOADS.push({
    label: `BullMQ jobs, one Worker, concurrency 50 (${JOBS} jobs)`,
    run: async (srv) => {
      const r = await bullmqWorker(srv, JOBS);
      return { ops: r.ops, us: 1e6 / r.perCpu };
    },
  });
}

/** One redis-benchmark run after a warm-up: ops/s and server CPU microseconds per request. */
async function evalsha(srv, body, P) {
  const sha = await scriptLoad(srv.port, body);
  const args = ['-P', String(P), '-r', '1000000', 'EVALSHA', sha, '1', 'key:__rand_int__', 'arg'];
  await redisBenchmark(srv.port, ['-n', String(Math.min(N, 20000)), ...args]);
  const cpu0 = cpuSeconds(srv.pid);
  const ops = rps(await redisBenchmark(srv.port, ['-n', String(N), ...args]));
  return { ops, us: ((cpuSeconds(srv.pid) - cpu0) * 1e6) / N };
}

const SERVERS = [
  { name: 'A', start: (dir) => startDamselfly(dir, { main: path.resolve(opt.a) }) },
  { name: 'B', start: (dir) => startDamselfly(dir, { main: path.resolve(opt.b) }) },
  ...(opt['no-redis'] ? [] : [{ name: 'redis', start: (dir) => startRedis(dir) }]),
];

async function scriptLoad(port, body) {
  const c = await RespClient.connect(port);
  try {
    const sha = await c.call('SCRIPT', 'LOAD', body);
    if (sha instanceof Error) throw sha;
    return sha;
  } finally {
    c.close();
  }
}

function rps(csv) {
  const line = csv.trim().split('\n').pop();
  return Number(JSON.parse('[' + line + ']')[1]);
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const range = (a, d = 2) => `${median(a).toFixed(d)} [${Math.min(...a).toFixed(d)}-${Math.max(...a).toFixed(d)}]`;

// res[server][workload] = { us: [], ops: [] }
const res = Object.fromEntries(SERVERS.map((s) => [s.name, WORKLOADS.map(() => ({ us: [], ops: [] }))]));
const load0 = loadavg();
const t0 = Date.now();
for (let rep = 0; rep < REPS; rep++) {
  const order = SERVERS.map((_, i) => SERVERS[(i + rep) % SERVERS.length]);
  for (const s of order) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-scripting-ab-'));
    const srv = await s.start(dir);
    try {
      for (const [i, w] of WORKLOADS.entries()) {
        const { ops, us } = await w.run(srv);
        res[s.name][i].us.push(us);
        res[s.name][i].ops.push(ops);
        console.log(`rep ${rep + 1} ${s.name}: ${w.label}: ${us.toFixed(2)} us CPU/request, ${ops.toFixed(0)} ops/s (load ${loadavg()[0].toFixed(1)})`);
      }
    } finally {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const load1 = loadavg();
let md = `${new Date(t0).toISOString().slice(0, 16)}Z, ${REPS} repetitions, ${N.toLocaleString('en-US')} requests per run (50 clients, -r 1000000), load average ${load0[0].toFixed(1)} before, ${load1[0].toFixed(1)} after (2 cores). A: ${opt.a}, B: ${opt.b}.\n\n`;
const hasRedis = !opt['no-redis'];
md += `| workload | A us CPU/req | B us CPU/req | B/A CPU | A ops/s | B ops/s |${hasRedis ? ' redis us CPU/req | redis ops/s | A ratio per CPU | B ratio per CPU | B ratio ops/s |' : ''}\n`;
md += `|---|---|---|---|---|---|${hasRedis ? '---|---|---|---|---|' : ''}\n`;
WORKLOADS.forEach((w, i) => {
  const a = res.A[i];
  const b = res.B[i];
  const ba = b.us.map((x, k) => x / a.us[k]);
  let row = `| ${w.label} | ${range(a.us)} | ${range(b.us)} | ${range(ba)} | ${median(a.ops).toFixed(0)} | ${median(b.ops).toFixed(0)} |`;
  if (hasRedis) {
    const r = res.redis[i];
    const ra = r.us.map((x, k) => x / a.us[k]);
    const rb = r.us.map((x, k) => x / b.us[k]);
    const ob = b.ops.map((x, k) => x / r.ops[k]);
    row += ` ${range(r.us)} | ${median(r.ops).toFixed(0)} | ${range(ra)} | ${range(rb)} | ${range(ob)} |`;
  }
  md += row + '\n';
});
console.log('\n' + md);
