#!/usr/bin/env node
/**
 * Boot time from a snapshot (issue 4, target 4), without the rest of the
 * side-by-side run: builds the snapshot-side-by-side dataset once into a
 * folder that is kept between runs, then boots the server on it several
 * times, and optionally redis-server on an RDB of the same data.
 *
 *   npm run build && node bench/snapshot-boot.mjs [--runs 3] [--redis]
 *       [--dir /tmp/damselfly-bootbench] [--server path/to/main.js]
 *
 * Damselfly: spawn -> the "ready to accept connections" log line (and the
 * "snapshot loaded" line's own ms); redis: spawn -> INFO `loading:0` and
 * PING answered, polled every 10 ms, as snapshot-side-by-side.mjs does.
 * Prints each run, the medians and the load average (the machine is shared:
 * compare medians taken close together). Delete the folder to rebuild the
 * dataset (e.g. after a format change).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient } from './resp.mjs';
import { snapshotDataset } from './snapshot-dataset.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i < 0 ? def : argv[i + 1];
};
const RUNS = Number(opt('runs', 3));
const DIR = opt('dir', path.join(os.tmpdir(), 'damselfly-bootbench'));
const SERVER_MAIN = path.resolve(opt('server', path.join(ROOT, 'dist/main.js')));
const NODE_FLAGS = ['--max-semi-space-size=2'];
const { N_KEYS, loadDataset } = snapshotDataset(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const median = (a) => [...a].sort((x, y) => x - y)[(a.length - 1) >> 1];
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' / ');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function stop(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', resolve);
    process.kill(proc.pid, 'SIGKILL');
  });
}

/** Resolves once the "ready to accept connections" line is logged. */
function startDamselfly(dir) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...NODE_FLAGS, SERVER_MAIN, '--port', '0', '--dir', dir, '--save', ''], { stdio: ['ignore', 'pipe', 'inherit'] });
  let port = 0;
  let loadedMs = null;
  let buf = '';
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`damselfly exited with ${code}`)));
    proc.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let j;
        try {
          j = JSON.parse(line);
        } catch {
          continue;
        }
        if (j.msg === 'listening') port = j.port;
        if (j.msg === 'snapshot loaded') loadedMs = j.ms;
        if (j.msg === 'ready to accept connections') {
          proc.stdout.resume();
          resolve({ proc, port, ms: performance.now() - t0, loadedMs, keys: j.keys });
        }
      }
    });
  });
}

/** Resolves once INFO says loading:0 and PING answers. */
async function startRedis(dir) {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', ''], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
    try {
      const c = await RespClient.connect(port);
      try {
        const info = await c.call('INFO', 'persistence');
        if (/\bloading:0\b/.test(info) && (await c.call('PING')) === 'PONG') return { proc, port, ms: performance.now() - t0 };
      } finally {
        c.close();
      }
    } catch {
      /* not listening yet */
    }
    await sleep(10);
  }
  throw new Error('redis-server not ready within 120 s');
}

/** Fill a server with the dataset and save it (SAVE returns once the snapshot is committed). */
async function build(kind, dir) {
  mkdirSync(dir, { recursive: true });
  log(`${kind}: building the dataset in ${dir}`);
  const s = kind === 'damselfly' ? await startDamselfly(dir) : await startRedis(dir);
  try {
    await loadDataset(s.port);
    const c = await RespClient.connect(s.port);
    const n = await c.call('DBSIZE');
    if (n !== N_KEYS) throw new Error(`${kind}: DBSIZE ${n}, expected ${N_KEYS}`);
    const r = await c.call('SAVE');
    c.close();
    if (r !== 'OK') throw new Error(`${kind}: SAVE answered ${r}`);
  } finally {
    await stop(s.proc);
  }
}

async function boots(kind, dir) {
  const start = kind === 'damselfly' ? startDamselfly : startRedis;
  const ms = [];
  const loaded = [];
  for (let i = 0; i < RUNS; i++) {
    const s = await start(dir);
    await stop(s.proc);
    ms.push(s.ms);
    if (s.loadedMs != null) loaded.push(s.loadedMs);
    if (kind === 'damselfly' && s.keys !== N_KEYS) throw new Error(`damselfly booted with ${s.keys} keys, expected ${N_KEYS}`);
    log(`${kind}: boot ${s.ms.toFixed(0)} ms${s.loadedMs != null ? ` ("snapshot loaded" ${s.loadedMs} ms)` : ''}; load average ${loadavg()}`);
    await sleep(300);
  }
  return { ms: median(ms), loaded: loaded.length ? median(loaded) : null };
}

const dDir = path.join(DIR, 'damselfly');
const rDir = path.join(DIR, 'redis');
if (!existsSync(dDir) || !readdirSync(dDir).some((f) => f.endsWith('.manifest.json'))) await build('damselfly', dDir);
if (argv.includes('--redis') && !existsSync(path.join(rDir, 'dump.rdb'))) await build('redis', rDir);
log(`load average before the boots ${loadavg()}`);
const d = await boots('damselfly', dDir);
let line = `damselfly boot median ${d.ms.toFixed(0)} ms ("snapshot loaded" ${d.loaded} ms) over ${RUNS} runs`;
if (argv.includes('--redis')) {
  const r = await boots('redis', rDir);
  line += `; redis-server ${r.ms.toFixed(0)} ms; ratio ${(d.ms / r.ms).toFixed(2)}`;
}
console.log(`${line}; load average ${loadavg()}`);
