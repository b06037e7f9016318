#!/usr/bin/env node
/**
 * Server CPU per operation, interleaved across builds (and redis-server):
 * on a shared 2-core machine ops/s swings by +-20% with the neighbours'
 * load, while the CPU time the server itself spends per operation
 * (/proc/PID/stat utime + stime) barely moves. Each repetition starts
 * every server fresh, in rotating order, and runs the same
 * redis-benchmark workloads against each.
 *
 * usage: node bench/cpu-ab.mjs [--build name=path/to/dist/main.js ...] [--redis]
 *          [--reps 3] [--n 1000000] [--pipeline 16] [--clients 50]
 *          [--workloads xadd,xrange,incr] [--node-flags name=--flag,--flag]
 * Without --build, the build in this tree (dist/main.js) is measured as "new".
 * Prints, per workload and server: median user and system CPU seconds per
 * 1M ops, write syscalls and minor page faults per 1000 ops, and ops/s, with
 * the load average at each measurement.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { NODE_FLAGS, startDamselfly, startRedis, redisBenchmark } from './servers.mjs';
import { RATE_LIMITER } from './scripting-workloads.mjs';

const { values: opt } = parseArgs({
  options: {
    build: { type: 'string', multiple: true, default: [] },
    // name=--flag,--flag: extra node flags for that build (V8 experiments)
    'node-flags': { type: 'string', multiple: true, default: [] },
    redis: { type: 'boolean', default: false },
    reps: { type: 'string', default: '3' },
    n: { type: 'string', default: '1000000' },
    pipeline: { type: 'string', default: '16' },
    clients: { type: 'string', default: '50' },
    workloads: { type: 'string', default: 'xadd,xrange' },
  },
});

const WORKLOADS = {
  xadd: ['XADD', 's', '*', 'f', 'v'],
  xrange: ['XRANGE', 's', '-', '+', 'COUNT', '10'],
  incr: ['INCR', 'key:__rand_int__'],
  get: ['GET', 'key:__rand_int__'],
  set: ['SET', 'key:__rand_int__', 'xxx'],
  del: ['DEL', 'key:__rand_int__'],
  exists: ['EXISTS', 'key:__rand_int__'],
  ping: ['PING'],
  lrange: ['LRANGE', 'l', '0', '9'],
  rpush: ['RPUSH', 'l', 'v'],
  // EVAL, not EVALSHA: no SCRIPT LOAD step; EVAL also hashes the script body on every call, so it costs a little more than EVALSHA
  ratelimit: ['EVAL', RATE_LIMITER, '1', 'rl:__rand_int__'],
};
const names = opt.workloads.split(',');
for (const w of names) if (!WORKLOADS[w]) throw new Error(`unknown workload ${w}; known: ${Object.keys(WORKLOADS).join(', ')}`);
const builds = opt.build.length > 0 ? opt.build.map((b) => b.split('=')) : [['new', path.resolve('dist/main.js')]];
const extraFlags = Object.fromEntries(opt['node-flags'].map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1).split(',')]));
const servers = [...builds.map(([name, main]) => ({ name, main })), ...(opt.redis ? [{ name: 'redis', main: null }] : [])];
const N = Number(opt.n);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function usage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = readFileSync(`/proc/${pid}/io`, 'latin1');
  return { user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK, minflt: Number(f[7]), syscw: Number(/syscw: (\d+)/.exec(io)[1]) };
}

function rps(csv) {
  // The last row's first number (the test name may hold a script's newlines and quotes).
  const m = /"([\d.]+)"(?:,"[\d.]+"){6}\s*$/.exec(csv.trim());
  return m === null ? NaN : Number(m[1]);
}

const bench = (port, n, cmd) => redisBenchmark(port, ['-P', opt.pipeline, '-n', String(n), '-r', '100000', ...cmd], { clients: Number(opt.clients) });

const results = {}; // workload -> server -> [{user, sys, writes, rps, load}]
for (let rep = 0; rep < Number(opt.reps); rep++) {
  const order = servers.map((_, i) => servers[(i + rep) % servers.length]);
  for (const s of order) {
    const dir = mkdtempSync(path.join(tmpdir(), 'cpu-ab-'));
    const srv = s.main === null ? await startRedis(dir) : await startDamselfly(dir, { main: s.main, nodeFlags: [...NODE_FLAGS, ...(extraFlags[s.name] ?? [])] });
    try {
      // Warm-up: the JIT and both allocators; also leaves entries in the list and stream.
      for (const w of names) await bench(srv.port, Math.min(N, 200000), WORKLOADS[w]);
      for (const w of names) {
        const u0 = usage(srv.pid);
        const out = await bench(srv.port, N, WORKLOADS[w]);
        const u1 = usage(srv.pid);
        const per = 1e6 / N;
        const row = { user: (u1.user - u0.user) * per, sys: (u1.sys - u0.sys) * per, writes: ((u1.syscw - u0.syscw) * 1000) / N, faults: ((u1.minflt - u0.minflt) * 1000) / N, rps: rps(out), load: loadavg()[0] };
        ((results[w] ??= {})[s.name] ??= []).push(row);
        console.error(`rep ${rep + 1} ${w} ${s.name}: ${JSON.stringify(row)}`);
      }
    } finally {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`${new Date().toISOString()}, ${opt.reps} rep(s), -P ${opt.pipeline} -c ${opt.clients} -n ${N}; load average now ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
console.log('| workload | server | CPU s / 1M ops (user + sys) | user | sys | writes / 1000 ops | page faults / 1000 ops | ops/s | load avg (1 min) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const w of names) {
  for (const s of servers) {
    const rs = results[w][s.name];
    const cpu = rs.map((r) => r.user + r.sys);
    console.log(
      `| ${WORKLOADS[w].join(' ')} | ${s.name} | ${median(cpu).toFixed(2)} [${Math.min(...cpu).toFixed(2)}-${Math.max(...cpu).toFixed(2)}] | ${median(rs.map((r) => r.user)).toFixed(2)} | ${median(rs.map((r) => r.sys)).toFixed(2)} | ${median(rs.map((r) => r.writes)).toFixed(1)} | ${median(rs.map((r) => r.faults)).toFixed(1)} | ${Math.round(median(rs.map((r) => r.rps))).toLocaleString('en-US')} | ${rs.map((r) => r.load.toFixed(1)).join(', ')} |`,
    );
  }
}
