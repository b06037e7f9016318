/**
 * Servers for the side-by-side benches: damselfly (dist/main.js, as
 * `npm start` runs it) and Debian's redis-server, each started on a free
 * port with snapshots off unless asked, and the BGSAVE-and-wait both need.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient } from './resp.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const NODE_FLAGS = ['--max-semi-space-size=2'];
const SERVER_MAIN = path.join(ROOT, 'dist/main.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `main`: another build's dist/main.js (to compare builds). */
export async function startDamselfly(dir, main = SERVER_MAIN) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...NODE_FLAGS, main, '--port', '0', '--dir', dir, '--save', ''], { stdio: ['ignore', 'pipe', 'inherit'] });
  let port = 0;
  let loaded = null;
  let buf = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('damselfly not ready within 120 s')), 120_000);
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
        if (j.msg === 'snapshot loaded') loaded = j;
        if (j.msg === 'ready to accept connections') {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      }
    });
  });
  const readyMs = await ready;
  proc.stdout.resume();
  if (!port) throw new Error('damselfly: no "listening" line with a port');
  return server('damselfly', proc, port, dir, { readyMs, loaded });
}

export async function startRedis(dir) {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  // Ready = INFO persistence says loading:0 and PING answers PONG (polled every 10 ms).
  const deadline = Date.now() + 120_000;
  let readyMs = null;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${out}`);
    try {
      const c = await RespClient.connect(port);
      try {
        for (;;) {
          const info = await c.call('INFO', 'persistence');
          if (typeof info === 'string' && /\bloading:0\b/.test(info) && (await c.call('PING')) === 'PONG') {
            readyMs = performance.now() - t0;
            break;
          }
          await sleep(10);
        }
      } finally {
        c.close();
      }
      break;
    } catch {
      await sleep(10);
    }
  }
  if (readyMs === null) throw new Error('redis-server not ready within 120 s');
  const loadedLine = /DB loaded from disk: ([\d.]+) seconds/.exec(out);
  return server('redis', proc, port, dir, { readyMs, loaded: loadedLine ? { seconds: Number(loadedLine[1]) } : null });
}

/**
 * The process that serves: dist/main.js is a launcher that re-executes node
 * with a heap limit sized for the job and stays as a thin supervisor, so
 * RSS and CPU are the child's. Called once the server answers.
 */
export function serverPidOf(pid) {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean);
    return kids.length > 0 ? Number(kids[0]) : pid;
  } catch {
    return pid;
  }
}

export function server(kind, proc, port, dir, boot) {
  return {
    kind,
    proc,
    pid: kind === 'damselfly' ? serverPidOf(proc.pid) : proc.pid,
    port,
    dir,
    boot,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        process.kill(proc.pid, 'SIGKILL');
        await exited;
      }
    },
  };
}

export function parseInfo(s) {
  const o = {};
  for (const line of String(s).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
  }
  return o;
}

/**
 * BGSAVE and poll INFO persistence every 20 ms until it is over: not in
 * progress, rdb_saves (or rdb_last_save_time) moved on, status ok.
 * `during` is called every 20 ms while it runs (RSS sampling).
 */
export async function bgsave(s, during = () => {}) {
  const c = await RespClient.connect(s.port);
  try {
    const before = parseInfo(await c.call('INFO', 'persistence'));
    const t0 = performance.now();
    const r = await c.call('BGSAVE');
    if (r instanceof Error) throw new Error(`${s.kind} BGSAVE: ${r.message}`);
    let info;
    for (;;) {
      during();
      await sleep(20);
      info = parseInfo(await c.call('INFO', 'persistence'));
      const moved = Number(info.rdb_saves) > Number(before.rdb_saves) || info.rdb_last_save_time !== before.rdb_last_save_time;
      if (info.rdb_bgsave_in_progress === '0' && moved) break;
      if (performance.now() - t0 > 180_000) throw new Error(`${s.kind} BGSAVE not done after 180 s`);
    }
    const ms = performance.now() - t0;
    during();
    if (info.rdb_last_bgsave_status !== 'ok') throw new Error(`${s.kind} BGSAVE status ${info.rdb_last_bgsave_status}`);
    let size;
    if (s.kind === 'damselfly') size = Number(info.snapshot_last_size);
    else size = statSync(path.join(s.dir, 'dump.rdb')).size;
    return { ms, size, info, t0 };
  } finally {
    c.close();
  }
}
