#!/usr/bin/env node
/**
 * Other clients' latency while one client receives a reply of hundreds of
 * megabytes (issue 10): damselfly and redis-server side by side, as ratios.
 *
 * For each workload one key holds a collection whose full read is ~`--mb`
 * MB of RESP2 (LRANGE 0 -1, SMEMBERS, HGETALL, ZRANGE 0 -1 WITHSCORES).
 * A reader sends the command and reads as fast as it can; meanwhile a
 * pinger in a worker thread (its own event loop, so the reader's parsing
 * does not delay it) sends PING, waits for PONG, pauses `--gap` ms, again.
 * We record the reply's total time (command sent to last byte) and the
 * PING latencies whose PING was sent while the reply was in flight (p50,
 * p99, max), plus the server's peak RSS during the reply.
 *
 * Both servers run side by side, idle but for the workload at hand: each
 * workload is filled and read on one, then on the other (order alternating),
 * so the two sides of a ratio see about the same machine load; only one
 * holds the big collection at a time.
 *
 * Usage: node bench/big-replies.mjs [--mb 700] [--reps 1] [--gap 2] [--only list,set] [--write]
 */
import { Worker } from 'node:worker_threads';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient, encode } from './resp.mjs';
import { startDamselfly, startRedis } from './servers.mjs';
import { resultsSection } from './results-file.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Workloads: `elem(i)` gives the arguments that add element i, `size(i)`
 * its bytes in the reply (RESP2), `header` the reply's array length.
 * Elements are fixed-width so the reply size is known without parsing it.
 */
const pad = (i, w) => String(i).padStart(10, '0') + 'x'.repeat(w - 10);
const bulkLen = (n) => String(n).length + 3 + n + 2;
export const WORKLOADS = [
  { id: 'list', cmd: ['LRANGE', 'big', '0', '-1'], add: 'RPUSH', per: 1, args: (i) => [pad(i, 128)], elemBytes: () => bulkLen(128), arrayLen: (n) => n },
  { id: 'set', cmd: ['SMEMBERS', 'big'], add: 'SADD', per: 1, args: (i) => [pad(i, 128)], elemBytes: () => bulkLen(128), arrayLen: (n) => n },
  { id: 'hash', cmd: ['HGETALL', 'big'], add: 'HSET', per: 2, args: (i) => [pad(i, 64), pad(i, 64)], elemBytes: () => 2 * bulkLen(64), arrayLen: (n) => 2 * n },
  {
    id: 'zset',
    cmd: ['ZRANGE', 'big', '0', '-1', 'WITHSCORES'],
    add: 'ZADD',
    per: 2,
    args: (i) => [String(i), pad(i, 120)],
    elemBytes: (i) => bulkLen(120) + bulkLen(String(i).length),
    arrayLen: (n) => 2 * n,
  },
];

function elementsFor(w, mb) {
  // Element sizes are fixed but for zset scores: estimate with the mean.
  const each = w.id === 'zset' ? bulkLen(120) + bulkLen(7) : w.elemBytes(0);
  return Math.round((mb * 1e6) / each);
}

function expectedBytes(w, n) {
  let total = `*${w.arrayLen(n)}\r\n`.length;
  if (w.id === 'zset') for (let i = 0; i < n; i++) total += w.elemBytes(i);
  else total += n * w.elemBytes(0);
  return total;
}

async function fill(port, w, n) {
  const c = await RespClient.connect(port);
  try {
    await c.call('DEL', 'big');
    const PER_CMD = 1000;
    const CMDS = 20;
    for (let i = 0; i < n; ) {
      let payload = '';
      let cmds = 0;
      for (; cmds < CMDS && i < n; cmds++) {
        const args = ['big'];
        const end = Math.min(n, i + PER_CMD);
        for (; i < end; i++) args.push(...w.args(i));
        payload += encode([w.add, ...args]);
      }
      await c.pipeline(payload, cmds);
    }
    const len = await c.call(w.id === 'list' ? 'LLEN' : w.id === 'set' ? 'SCARD' : w.id === 'hash' ? 'HLEN' : 'ZCARD', 'big');
    if (Number(len) !== n) throw new Error(`${w.id}: ${len} elements after the fill, expected ${n}`);
  } finally {
    c.close();
  }
}

const PINGER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const sock = net.connect({ port: workerData.port, host: '127.0.0.1' });
sock.setNoDelay(true);
let sentAt = 0, stop = false, buf = '';
const out = [];
function send() { if (stop) { parentPort.postMessage(out); sock.destroy(); return; } sentAt = performance.now(); sock.write('*1\\r\\n$4\\r\\nPING\\r\\n'); }
sock.on('connect', send);
sock.on('data', (d) => {
  buf += d.toString('latin1');
  while (buf.startsWith('+PONG\\r\\n')) {
    buf = buf.slice(7);
    const t = performance.now();
    out.push([sentAt + performance.timeOrigin, t - sentAt]);
    setTimeout(send, workerData.gap);
  }
});
parentPort.on('message', () => { stop = true; });
`;

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** One big read with the pinger running; times in ms. */
async function measure(s, w, n, gap) {
  const expect = expectedBytes(w, n);
  const pinger = new Worker(PINGER, { eval: true, workerData: { port: s.port, gap } });
  const pings = new Promise((resolve) => pinger.once('message', resolve));
  // Let the pinger settle (and the machine's own noise show) before the read.
  await new Promise((r) => setTimeout(r, 500));
  const sock = net.connect({ port: s.port, host: '127.0.0.1' });
  await new Promise((r) => sock.once('connect', r));
  let got = 0;
  let peak = rssKiB(s.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(s.pid))), 50);
  const t0 = performance.now();
  const wall0 = performance.timeOrigin + t0;
  let firstByte = 0;
  await new Promise((resolve, reject) => {
    sock.on('data', (d) => {
      if (got === 0) firstByte = performance.now() - t0;
      got += d.length;
      if (got >= expect) resolve();
    });
    sock.once('error', reject);
    sock.once('close', () => (got < expect ? reject(new Error(`${s.kind} ${w.id}: connection closed after ${got} of ${expect} bytes`)) : resolve()));
    sock.write(encode(w.cmd), 'latin1');
  });
  const totalMs = performance.now() - t0;
  const wall1 = performance.timeOrigin + performance.now();
  clearInterval(sampler);
  sock.destroy();
  await new Promise((r) => setTimeout(r, 300));
  pinger.postMessage('stop');
  const all = await pings;
  await pinger.terminate();
  if (got !== expect) throw new Error(`${s.kind} ${w.id}: ${got} bytes, expected ${expect}`);
  const quiet = all.filter(([at]) => at < wall0).map(([, ms]) => ms);
  const during = all.filter(([at]) => at >= wall0 && at <= wall1).map(([, ms]) => ms);
  return { bytes: got, totalMs, firstByteMs: firstByte, during: stats(during), quiet: stats(quiet), peakRssKiB: peak };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN);
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: s.length ? s[s.length - 1] : NaN };
}

async function oneWorkload(s, w, o) {
  const n = elementsFor(w, o.mb);
  o.log(`   ${s.kind} ${w.id}: filling ${n.toLocaleString('en-US')} elements`);
  const f0 = performance.now();
  await fill(s.port, w, n);
  o.log(`   ${s.kind} ${w.id}: filled in ${((performance.now() - f0) / 1000).toFixed(1)} s, reading`);
  const m = { n, load: os.loadavg()[0], ...(await measure(s, w, n, o.gap)) };
  o.log(`   ${s.kind} ${w.id}: ${(m.bytes / 1e6).toFixed(0)} MB in ${m.totalMs.toFixed(0)} ms; PING during p99 ${m.during.p99.toFixed(2)} max ${m.during.max.toFixed(2)} ms (${m.during.n} pings); load ${m.load.toFixed(1)}`);
  const c = await RespClient.connect(s.port);
  await c.call('DEL', 'big');
  c.close();
  return m;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function bigRepliesRun(opts = {}) {
  const o = {
    reps: 1,
    mb: 700,
    gap: 2,
    only: null,
    serverMain: path.join(ROOT, 'dist/main.js'),
    log: (s) => process.stderr.write(s + '\n'),
    ...opts,
  };
  o.workloads = WORKLOADS.filter((w) => !o.only || o.only.includes(w.id));
  const load0 = os.loadavg();
  const started = new Date();
  const reps = [];
  // Both servers stay up; each workload is measured on one then the other
  // (order alternating), so a ratio's two sides see about the same machine
  // load. Only one server holds the big collection at a time.
  const dirs = ['damselfly', 'redis'].map((k) => mkdtempSync(path.join(os.tmpdir(), `big-replies-${k}-`)));
  const servers = { damselfly: await startDamselfly(dirs[0], o.serverMain), redis: await startRedis(dirs[1]) };
  try {
    for (let rep = 0; rep < o.reps; rep++) {
      const r = { damselfly: {}, redis: {} };
      o.workloads.forEach((w, i) => (r.order ??= []).push((rep + i) % 2 === 0 ? ['damselfly', 'redis'] : ['redis', 'damselfly']));
      for (let i = 0; i < o.workloads.length; i++) {
        const w = o.workloads[i];
        for (const kind of r.order[i]) {
          o.log(`-- big replies rep ${rep + 1}/${o.reps} ${w.id} ${kind}`);
          r[kind][w.id] = await oneWorkload(servers[kind], w, o);
        }
      }
      reps.push(r);
    }
  } finally {
    for (const s of Object.values(servers)) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return { reps, opts: o, load0, load1: os.loadavg(), started, seconds: (Date.now() - started) / 1000 };
}

const fx = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const f0 = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

export function bigRepliesSection(res) {
  const { reps, opts } = res;
  const lines = [];
  lines.push(`## Big replies: other clients' PING latency during a ~${opts.mb} MB reply (issue 10)\n`);
  lines.push(
    `\`node bench/big-replies.mjs\` (also part of \`npm run bench\`) — ${res.started.toISOString()}, took ${Math.round(res.seconds)} s; ` +
      `load average (1/5/15 min) at start ${res.load0.map((x) => x.toFixed(2)).join(' / ')}, at end ${res.load1.map((x) => x.toFixed(2)).join(' / ')}; ` +
      `${os.cpus().length} cores, shared with other workloads. ${opts.reps} repetition(s); per workload the two servers are measured back to back (1-min load average at each read in the last column). ` +
      `A reader sends the command and reads the whole RESP2 reply as fast as it can; a pinger (its own thread) sends PING, waits for PONG, ` +
      `pauses ${opts.gap} ms, and so on. "PING during" = the PINGs sent while the reply was in flight; "quiet" = the 0.5 s before. ` +
      `Ratios are damselfly / redis (lower is better for both); median over repetitions.\n`,
  );
  const head = ['reply', 'MB', 'total s (d / r)', 'time ratio', 'PING p50 ms (d / r)', 'PING p99 ms (d / r)', 'p99 ratio', 'PING max ms (d / r)', 'max ratio', 'pings during (d / r)', 'quiet p99 ms (d / r)', 'peak RSS MiB (d / r)', 'load (d / r)'];
  lines.push('| ' + head.join(' | ') + ' |');
  lines.push('|' + head.map(() => '---').join('|') + '|');
  for (const w of opts.workloads) {
    const d = reps.map((r) => r.damselfly[w.id]);
    const r = reps.map((x) => x.redis[w.id]);
    const med = (xs, f) => median(xs.map(f));
    lines.push(
      `| ${w.cmd.join(' ')} (${f0(d[0].n)} elements) | ${f0(d[0].bytes / 1e6)} | ${fx(med(d, (m) => m.totalMs) / 1000)} / ${fx(med(r, (m) => m.totalMs) / 1000)} | **${fx(median(d.map((m, i) => m.totalMs / r[i].totalMs)))}** | ` +
        `${fx(med(d, (m) => m.during.p50))} / ${fx(med(r, (m) => m.during.p50))} | ${fx(med(d, (m) => m.during.p99))} / ${fx(med(r, (m) => m.during.p99))} | **${fx(median(d.map((m, i) => m.during.p99 / r[i].during.p99)))}** | ` +
        `${fx(med(d, (m) => m.during.max))} / ${fx(med(r, (m) => m.during.max))} | **${fx(median(d.map((m, i) => m.during.max / r[i].during.max)))}** | ` +
        `${f0(med(d, (m) => m.during.n))} / ${f0(med(r, (m) => m.during.n))} | ${fx(med(d, (m) => m.quiet.p99))} / ${fx(med(r, (m) => m.quiet.p99))} | ` +
        `${f0(med(d, (m) => m.peakRssKiB) / 1024)} / ${f0(med(r, (m) => m.peakRssKiB) / 1024)} | ${fx(med(d, (m) => m.load))} / ${fx(med(r, (m) => m.load))} |`,
    );
  }
  return lines.join('\n') + '\n';
}

const section = resultsSection('big-replies');
/** The section wrapped in markers, so a rerun replaces only it. */
export const wrapBigReplies = section.wrap;
export const writeBigReplies = section.write;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const opt = (name, def) => {
    const i = argv.indexOf('--' + name);
    return i < 0 ? def : argv[i + 1];
  };
  const res = await bigRepliesRun({
    reps: Number(opt('reps', 1)),
    mb: Number(opt('mb', 700)),
    gap: Number(opt('gap', 2)),
    only: opt('only', null)?.split(','),
    serverMain: path.resolve(opt('server', path.join(ROOT, 'dist/main.js'))),
  });
  const md = bigRepliesSection(res);
  process.stdout.write(md);
  if (argv.includes('--write')) writeBigReplies(md);
  if (opt('json', null)) writeFileSync(opt('json'), JSON.stringify(res, null, 1));
}
