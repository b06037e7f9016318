#!/usr/bin/env node
/**
 * Giant requests side by side (issue 10): variadic commands with 10^5 to
 * 4x10^6 arguments, and 400 arguments of 100 KB, written to damselfly
 * (dist/main.js) and to a real redis-server in 16 KiB writes, as a client
 * streaming a big request does. For each request: the time from its first
 * byte written to its reply, each server's CPU time for it, and the PING
 * latency another client sees meanwhile.
 *
 * The PING client runs in a worker thread (its own event loop, so our
 * writes do not delay it) and sends one PING every 5 ms whether or not the
 * previous one was answered: a server stalled for 300 ms then shows ~60
 * slow PINGs, not one (no coordinated omission). p99/max are over the PINGs
 * sent while the request was in flight.
 *
 * Usage: npm run build && node bench/variadic.mjs [--sizes 100000,1000000,4000000]
 *        [--only sadd,hset,zadd,rpush,mset,del,xadd,pfadd,sunionstore,big] [--reps 1] [--warmup 2]
 *        [--server path/to/main.js]
 *        [--node-flags "--max-semi-space-size=16"]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import RedisParser from 'redis-parser';
import { startDamselfly, startRedis } from './servers.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i < 0 ? def : argv[i + 1];
};
const SIZES = opt('sizes', '100000,1000000,4000000').split(',').map(Number);
const ONLY = opt('only', 'sadd,hset,zadd,rpush,mset,del,xadd,pfadd,sunionstore,big').split(',');
const WARMUP = Number(opt('warmup', 2));
const REPS = Number(opt('reps', 1));
const SERVER = opt('server', undefined);
const NODE_FLAGS = opt('node-flags', '').split(/\s+/).filter(Boolean);
const WRITE = 16 * 1024;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// ------------------------------------------------------------- requests
/** A RESP request from a count and a generator of latin1 args (written straight into one buffer). */
function request(args) {
  let size = 16;
  for (const a of args) size += 16 + a.length;
  const buf = Buffer.allocUnsafe(size);
  let o = buf.latin1Write(`*${args.length}\r\n`, 0);
  for (const a of args) {
    o += buf.latin1Write(`$${a.length}\r\n`, o);
    o += buf.latin1Write(a, o);
    buf[o++] = 13;
    buf[o++] = 10;
  }
  return buf.subarray(0, o);
}

function* range(n, f) {
  for (let i = 0; i < n; i++) yield* f(i);
}
const arr = (n, f) => Array.from(range(n, f));

const WORKLOADS = {
  sadd: (n) => ['SADD', 'set', ...arr(n, (i) => [`m${i}`])],
  hset: (n) => ['HSET', 'hash', ...arr(n / 2, (i) => [`f${i}`, `v${i}`])],
  zadd: (n) => ['ZADD', 'zset', ...arr(n / 2, (i) => [String(i % 1000), `m${i}`])],
  rpush: (n) => ['RPUSH', 'list', ...arr(n, (i) => [`e${i}`])],
  mset: (n) => ['MSET', ...arr(n / 2, (i) => [`k${i}`, `v${i}`])],
  // After MSET: half of these keys exist.
  del: (n) => ['DEL', ...arr(n, (i) => [`k${i}`])],
  // One entry of N/2 fields (an explicit ID, so that both servers reply the same).
  xadd: (n) => ['XADD', 'stream', '1-1', ...arr(n / 2, (i) => [`f${i}`, `v${i}`])],
  pfadd: (n) => ['PFADD', 'hll', ...arr(n, (i) => [`e${i}`])],
  // N source keys that do not exist: the request and N lookups.
  sunionstore: (n) => ['SUNIONSTORE', 'dest', ...arr(n, (i) => [`s${i}`])],
};
const BIG_ARGS = 400;
const BIG_SIZE = 100 * 1000;
function bigRequest() {
  const args = ['RPUSH', 'biglist'];
  for (let i = 0; i < BIG_ARGS; i++) args.push(String(i).padStart(8, '0') + 'x'.repeat(BIG_SIZE - 8));
  return request(args);
}

// ------------------------------------------------------------- measuring
function cpuMs(pid) {
  let ticks = 0;
  for (const t of readFileSync(`/proc/${pid}/stat`, 'latin1').slice(0).split(') ')[1].split(' ').slice(11, 13)) ticks += Number(t);
  return (ticks * 1000) / CLK_TCK;
}

/** Write `req` in 16 KiB writes on a fresh connection; resolves with the reply and timings. */
async function send(port, req) {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((r) => sock.once('connect', r));
  let reply;
  const done = new Promise((resolve, reject) => {
    const p = new RedisParser({
      returnReply: (r) => resolve((reply = r)),
      returnError: (e) => resolve((reply = e)),
      returnFatalError: reject,
    });
    sock.on('data', (d) => p.execute(d));
    sock.once('error', reject);
    sock.once('close', () => reject(new Error('closed before replying')));
  });
  const t0 = performance.now();
  for (let o = 0; o < req.length; o += WRITE) {
    if (!sock.write(req.subarray(o, o + WRITE))) await new Promise((r) => sock.once('drain', r));
  }
  const tWritten = performance.now();
  await done;
  const ms = performance.now() - t0;
  sock.removeAllListeners('close');
  sock.destroy();
  if (reply instanceof Error) throw new Error(`error reply: ${reply.message}`);
  return { ms, writeMs: tWritten - t0, reply };
}

const PINGER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const sock = net.connect(workerData.port, '127.0.0.1');
sock.setNoDelay(true);
const sent = [];
let got = 0, buf = '', lat = [], timer = null, recording = false;
sock.on('data', (d) => {
  buf += d.toString('latin1');
  let i;
  while ((i = buf.indexOf('\\r\\n')) >= 0) {
    buf = buf.slice(i + 2);
    const s = sent[got++];
    if (s.rec) lat.push(performance.now() - s.t);
  }
});
parentPort.on('message', (m) => {
  if (m === 'start') {
    lat = []; recording = true;
    timer = setInterval(() => { sent.push({ t: performance.now(), rec: recording }); sock.write('PING\\r\\n'); }, 5);
  } else if (m === 'stop') {
    recording = false; clearInterval(timer);
    const wait = () => (got === sent.length ? parentPort.postMessage(lat) : setTimeout(wait, 5));
    wait();
  } else if (m === 'exit') { sock.destroy(); process.exit(0); }
});
sock.on('connect', () => parentPort.postMessage('ready'));
`;

async function pinger(port) {
  const w = new Worker(PINGER, { eval: true, workerData: { port } });
  await new Promise((r) => w.once('message', r));
  return {
    start: () => w.postMessage('start'),
    stop: () =>
      new Promise((r) => {
        w.once('message', r);
        w.postMessage('stop');
      }),
    close: () => w.postMessage('exit'),
  };
}

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const TRACE_GC = NODE_FLAGS.some((f) => f.startsWith('--trace-gc'));
async function measure(srv, ping, req) {
  const c0 = cpuMs(srv.pid);
  // Marks to place V8's GC lines (ms since its start, roughly ours since spawning it).
  if (TRACE_GC && srv === df) console.error(`[bench] request starts at ~${(performance.now() - spawnedAt).toFixed(0)} ms`);
  ping.start();
  const r = await send(srv.port, req);
  if (TRACE_GC && srv === df) console.error(`[bench] reply at ~${(performance.now() - spawnedAt).toFixed(0)} ms`);
  const lat = await ping.stop();
  return { ms: r.ms, cpu: cpuMs(srv.pid) - c0, p99: pct(lat, 99), max: Math.max(...lat), pings: lat.length, reply: r.reply };
}

async function call(port, ...args) {
  return (await send(port, request(args))).reply;
}

// ------------------------------------------------------------- main
const dirs = [mkdtempSync(path.join(os.tmpdir(), 'var-df-')), mkdtempSync(path.join(os.tmpdir(), 'var-rd-'))];
// With --trace-gc in --node-flags, V8's GC lines go to stderr.
const spawnedAt = performance.now();
const df = await startDamselfly(dirs[0], { main: SERVER, nodeFlags: NODE_FLAGS, onLine: (line) => process.stderr.write(line + '\n') });
const rd = await startRedis(dirs[1]);
const servers = [df, rd];
const pings = [await pinger(df.port), await pinger(rd.port)];
const load0 = os.loadavg();
const rows = [];
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
try {
  const cases = [];
  for (const n of SIZES) {
    for (const w of Object.keys(WORKLOADS)) {
      if (!ONLY.includes(w)) continue;
      cases.push({
        label: `${w.toUpperCase()} ${n.toLocaleString('en')} args`,
        make: () => request(WORKLOADS[w](n)),
        // Each repetition of DEL starts from MSET's keys (half of DEL's keys exist).
        setup: w === 'del' ? () => request(WORKLOADS.mset(n)) : null,
        flushAfter: w === 'del' || w === 'xadd' || (!ONLY.includes('del') && w === 'mset'),
      });
    }
  }
  if (ONLY.includes('big')) cases.push({ label: `RPUSH ${BIG_ARGS} args of ${BIG_SIZE / 1000} KB`, make: bigRequest, flushAfter: true });
  // Warm-up, not measured: each workload at 10^5 arguments, WARMUP times on both servers. A
  // fresh node process runs a command's code cold (interpreted, then compiled as it gets
  // hot): the first 10^5-argument MSET took 2-4x as long as the fourth on the same server.
  // A server in service has long compiled its command paths; redis-server has nothing to warm.
  for (let i = 0; i < WARMUP; i++) {
    for (const w of Object.keys(WORKLOADS).filter((k) => ONLY.includes(k))) {
      const req = request(WORKLOADS[w](Math.min(100_000, ...SIZES)));
      for (const srv of servers) await send(srv.port, req);
    }
    for (const srv of servers) await call(srv.port, 'FLUSHALL');
  }
  for (const c of cases) {
    let req = c.make();
    const res = [[], []];
    for (let rep = 0; rep < REPS; rep++) {
      for (let s = 0; s < 2; s++) {
        // Repetitions start from the same state: undo what the request did.
        if (rep > 0 || c.setup) {
          await call(servers[s].port, 'FLUSHALL');
          if (c.setup) await send(servers[s].port, c.setup());
        }
        res[s].push(await measure(servers[s], pings[s], req));
      }
    }
    if (String(res[0][0].reply) !== String(res[1][0].reply)) console.error(`${c.label}: replies differ: ${res[0][0].reply} vs ${res[1][0].reply}`);
    const med = (xs, k) => pct(xs.map((x) => x[k]), 50);
    const row = {
      label: c.label,
      mb: req.length / 1e6,
      df: { ms: med(res[0], 'ms'), cpu: med(res[0], 'cpu'), p99: med(res[0], 'p99'), max: med(res[0], 'max') },
      rd: { ms: med(res[1], 'ms'), cpu: med(res[1], 'cpu'), p99: med(res[1], 'p99'), max: med(res[1], 'max') },
    };
    rows.push(row);
    console.log(
      `${row.label} (${row.mb.toFixed(1)} MB): damselfly ${fmt(row.df.ms)} ms (cpu ${fmt(row.df.cpu)}, ping p99 ${fmt(row.df.p99)} max ${fmt(row.df.max)}) | ` +
        `redis ${fmt(row.rd.ms)} ms (cpu ${fmt(row.rd.cpu)}, ping p99 ${fmt(row.rd.p99)} max ${fmt(row.rd.max)}) | ratio ${(row.df.ms / row.rd.ms).toFixed(2)}`,
    );
    req = null;
    if (c.flushAfter) for (const s of servers) await call(s.port, 'FLUSHALL');
  }
} finally {
  for (const p of pings) p.close();
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
const load1 = os.loadavg();
console.log(`\nload average (1/5/15 min) before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}; ${os.cpus().length} cores`);
console.log('\n| request | MB | damselfly ms | redis ms | ratio | CPU ms damselfly / redis | PING p99 ms damselfly / redis | PING max ms damselfly / redis |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.label} | ${r.mb.toFixed(1)} | ${fmt(r.df.ms)} | ${fmt(r.rd.ms)} | ${(r.df.ms / r.rd.ms).toFixed(2)} | ${fmt(r.df.cpu)} / ${fmt(r.rd.cpu)} | ${fmt(r.df.p99)} / ${fmt(r.rd.p99)} | ${fmt(r.df.max)} / ${fmt(r.rd.max)} |`,
  );
}
