/**
 * Servers for the side-by-side benches: damselfly (dist/main.js, as
 * `npm start` runs it) and Debian's redis-server, each started on a free
 * port with snapshots off unless asked, and the BGSAVE-and-wait both need.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient } from './resp.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const NODE_FLAGS = [];
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

/** Calls `onLine` for each line of a child's stdout. */
export function eachLine(stream, onLine) {
  let buf = '';
  stream.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line);
    }
  });
}

/** Polls every 10 ms until INFO persistence says loading:0 and PING answers PONG; ms since t0. */
export async function waitReady(port, proc, kind, t0 = performance.now(), timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${kind} exited with ${proc.exitCode}`);
    try {
      const c = await RespClient.connect(port);
      try {
        for (;;) {
          const info = await c.call('INFO', 'persistence');
          if (typeof info === 'string' && /\bloading:0\b/.test(info) && (await c.call('PING')) === 'PONG') return performance.now() - t0;
          await sleep(10);
        }
      } finally {
        c.close();
      }
    } catch {
      await sleep(10);
    }
  }
  throw new Error(`${kind} not ready within ${timeoutMs / 1000} s`);
}

/**
 * dist/main.js as `npm start` runs it. Options: `main` (another build's
 * dist/main.js, to compare builds; a string is taken as it), `nodeFlags`,
 * extra server `args`, `onLine` for stdout lines that are not the JSON log
 * (--trace-gc output). Ready is the "ready to accept connections" log line,
 * or, when `args` lower the log level below info, INFO/PING polling.
 */
export async function startDamselfly(dir, opts = {}) {
  const { main = SERVER_MAIN, nodeFlags = NODE_FLAGS, args = [], onLine = null, readyTimeoutMs = 120_000 } = typeof opts === 'string' ? { main: opts } : opts;
  const level = args[args.indexOf('--loglevel') + 1];
  const logsReady = !args.includes('--loglevel') || level === 'info' || level === 'debug';
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...nodeFlags, main, '--port', String(port), '--dir', dir, '--save', '', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let loaded = null;
  let readyLine;
  const readyByLog = new Promise((resolve) => (readyLine = resolve));
  eachLine(proc.stdout, (line) => {
    if (line[0] !== '{') return onLine?.(line);
    let j;
    try {
      j = JSON.parse(line);
    } catch {
      return;
    }
    if (j.msg === 'snapshot loaded') loaded = j;
    if (j.msg === 'ready to accept connections') readyLine(performance.now() - t0);
  });
  const exited = new Promise((_, reject) => proc.once('exit', (code) => reject(new Error(`damselfly exited with ${code}`))));
  exited.catch(() => {});
  let readyMs;
  if (logsReady) {
    let timer;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`damselfly not ready within ${readyTimeoutMs / 1000} s`)), readyTimeoutMs)));
    readyMs = await Promise.race([readyByLog, exited, timeout]).finally(() => clearTimeout(timer));
  } else {
    readyMs = await waitReady(port, proc, 'damselfly', t0, readyTimeoutMs);
  }
  return server('damselfly', proc, port, dir, { readyMs, loaded });
}

export async function startRedis(dir, args = []) {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', '', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  const readyMs = await waitReady(port, proc, 'redis-server', t0).catch((e) => {
    throw new Error(`${e.message}: ${out}`);
  });
  const loadedLine = /DB loaded from disk: ([\d.]+) seconds/.exec(out);
  return server('redis', proc, port, dir, { readyMs, loaded: loadedLine ? { seconds: Number(loadedLine[1]) } : null });
}

/** redis-benchmark --csv against 127.0.0.1:port: its stdout and stderr; rejects on a non-zero exit (or a run stuck past the timeout). */
export function runRedisBenchmark(port, args, { clients = 50, timeoutMs = 300_000 } = {}) {
  return new Promise((resolve, reject) => {
    const all = ['-h', '127.0.0.1', '-p', String(port), '-c', String(clients), '--csv', ...args];
    const p = spawn('redis-benchmark', all, { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`redis-benchmark ${all.join(' ')} exited ${code}: ${err}`));
      resolve({ out, err });
    });
  });
}

/** The same, stdout only, and a reply error from the server is a failure. */
export async function redisBenchmark(port, args, opts) {
  const { out, err } = await runRedisBenchmark(port, args, opts);
  if (/Error from server/.test(err)) throw new Error(`redis-benchmark ${args.join(' ')}: ${err}`);
  return out;
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

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User + system CPU seconds a process has used (/proc/PID/stat). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** A kB field of /proc/PID/status (VmRSS, VmHWM, ...); 0 once the process is gone. */
export function statusKiB(pid, field) {
  try {
    const m = new RegExp(field + ':\\s+(\\d+) kB').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
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
