#!/usr/bin/env node
/**
 * Scale bench (issue 9): N keys (default 20M; 16-byte keys `key:%012d`, the
 * names redis-benchmark -r uses; 45% 1 KiB values and 55% 100-byte values,
 * ≈ 10 GiB of data) loaded into each server in turn, never both at once.
 * Per server:
 *   1. load through our own pipelined writer (several connections, many
 *      SETs per write): time, keys/s, RSS per key, DBSIZE;
 *   2. latency with the dataset resident: redis-benchmark -t get / -t set
 *      -r N at -P 1 (its CSV: p50/p99/max), then a -P 16 SET churn; during
 *      all three a separate connection sends one GET at a time and records
 *      every round trip (p50/p99/max and how many took > 100 ms: a stall of
 *      the whole server, e.g. a GC pause, shows there);
 *   3. BGSAVE on the idle server: time, and extra memory during it (RSS
 *      sampled every 50 ms; redis: parent + the fork child's private pages);
 *   4. kill, restart on the same folder: boot (load) time, RSS after it.
 * Damselfly runs with --trace-gc; its GC lines are counted per phase with the
 * longest pause (issue target: no pause > 100 ms).
 *
 * node bench/scale-20m.mjs [--keys 20000000] [--only damselfly|redis]
 *   [--heap 20000] [--json out.json] [--write] [--server dist/main.js]
 *   [--min-free-gib 2] [--load-seconds S] [--latency-only] [--server-log FILE] [--report]
 * --write puts the section into bench/RESULTS.md between this bench's
 * markers (a run with --only fills its half and keeps the other half's
 * figures, from bench/scale-20m.json).
 * The loader stops (and the run reports what it has) if MemAvailable falls
 * under --min-free-gib: the machine is shared.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient } from './resp.mjs';
import { cpuSeconds, parseInfo, redisBenchmark, startDamselfly, startRedis, statusKiB } from './servers.mjs';
import { parseCsvRow } from './keyspace-1m.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i < 0 ? def : argv[i + 1];
};
const KEYS = Number(opt('keys', 20_000_000));
const ONLY = opt('only', null);
const HEAP_MB = Number(opt('heap', 20000));
const SERVER_MAIN = path.resolve(opt('server', path.join(ROOT, 'dist/main.js')));
const MIN_FREE = Number(opt('min-free-gib', 2)) * 2 ** 30;
/** Stop loading after this many seconds and measure the rest on what is loaded (a slow load on a busy machine still yields figures). */
const LOAD_SECONDS = Number(opt('load-seconds', Infinity));
/** Stop after the latency phase (no BGSAVE, no boot): for experiments on the loaded dataset. */
const LATENCY_ONLY = argv.includes('--latency-only');
const JSON_OUT = opt('json', path.join(ROOT, 'bench/scale-20m.json'));
/** Every line damselfly writes to stderr (the GC trace, its log), prefixed by the phase, appended to this file. */
const SERVER_LOG = opt('server-log', null);
// With --max-old-space-size the launcher keeps the process: give it the launcher's semi-space (LAUNCHER_SEMI_MB)
// and the old-generation floor it would give with it (initialOldSpaceMb).
const { initialOldSpaceMb } = await import(path.join(path.dirname(path.resolve(opt('server', path.join(ROOT, 'dist/main.js')))), 'memory/heap-limit.js'));
const NODE_FLAGS = ['--max-semi-space-size=8', `--initial-old-space-size=${initialOldSpaceMb(8)}`, `--max-old-space-size=${HEAP_MB}`, '--trace-gc', ...opt('node-flags', '').split(/\s+/).filter(Boolean)];
const BIG = 1024;
const SMALL = 100;
/** 9 keys in 20 get 1 KiB: ≈ 516 bytes of value a key on average, ≈ 10 GiB with the keys at 20M. */
const isBig = (i) => i % 20 < 9;

const log = (s) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

// ------------------------------------------------------------------ /proc
const rss = (pid) => statusKiB(pid, 'VmRSS') * 1024;
function memAvailable() {
  return Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'latin1'))[1]) * 1024;
}
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
/** Pages the process has that are not shared with anyone (for a fork child: what copy-on-write copied). */
function privateBytes(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
    const get = (f) => Number(new RegExp(f + ':\\s+(\\d+) kB').exec(s)?.[1] ?? 0) * 1024;
    return get('Private_Dirty') + get('Private_Clean');
  } catch {
    return 0;
  }
}
function duBytes(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? duBytes(p) : statSync(p).size;
  }
  return n;
}

// ------------------------------------------------------------------ GC log
/** --trace-gc lines with the phase they happened in. */
class GcLog {
  constructor() {
    this.phase = 'start';
    this.events = [];
  }
  line(l) {
    if (SERVER_LOG) appendFileSync(SERVER_LOG, `${this.phase} ${l}\n`);
    // "[pid:0x..]   12345 ms: Mark-Compact 9000.1 (9100.0) -> 8000.2 (9050.0) MB, 123.4 / 0.0 ms  (+ 45.6 ms in 210 steps since start of marking, biggest step 3.2 ms, walltime since start of marking 900 ms) ..."
    const m = /ms: (Scavenge|Mark-Compact \(reduce\)|Mark-Compact|Mark-Sweep|Minor Mark-Compact|Minor Mark-Sweep)\b.*?MB, ([\d.]+) \/ ([\d.]+) ms(?:.*?biggest step ([\d.]+) ms)?/.exec(l);
    if (!m) return;
    this.events.push({ phase: this.phase, kind: m[1], ms: Number(m[2]), step: m[4] ? Number(m[4]) : 0, line: l.trim() });
    // Long ones with the wall time they were seen, to match with the sampler's stalls.
    if (this.phase === 'latency' && Number(m[2]) > 30) log(`gc: ${l.trim().slice(0, 160)}`);
  }
  summary() {
    const out = {};
    for (const e of this.events) {
      const p = (out[e.phase] ??= {});
      const k = (p[e.kind] ??= { count: 0, totalMs: 0, maxMs: 0, maxStepMs: 0 });
      k.count++;
      k.totalMs += e.ms;
      k.maxMs = Math.max(k.maxMs, e.ms);
      k.maxStepMs = Math.max(k.maxStepMs, e.step);
    }
    const longest = [...this.events].sort((a, b) => b.ms - a.ms).slice(0, 5).map((e) => ({ phase: e.phase, kind: e.kind, ms: e.ms, line: e.line }));
    // An incremental-marking step runs on the main thread too: a step over 100 ms is a pause.
    return { byPhase: out, longest, over100: this.events.filter((e) => e.ms > 100).length, stepsOver100: this.events.filter((e) => e.step > 100).length };
  }
}

// ------------------------------------------------------------------ servers
/**
 * The boot's flags: the semi-space the launcher picks for the snapshot in
 * `dir` (src/memory/heap-limit.ts decideSemiSpace) and the old-generation
 * floor that goes with it, which it would pass itself were the heap limit
 * not given here.
 */
async function bootFlags(dir) {
  const { decideSemiSpace } = await import(path.join(path.dirname(SERVER_MAIN), 'memory/heap-limit.js'));
  const most = Math.max(0, ...readdirSync(dir).filter((f) => f.endsWith('.dfs')).map((f) => statSync(path.join(dir, f)).size));
  const semi = decideSemiSpace([], undefined, most);
  return NODE_FLAGS.map((f) =>
    f.startsWith('--max-semi-space-size=') ? `--max-semi-space-size=${semi}` : f.startsWith('--initial-old-space-size=') ? `--initial-old-space-size=${initialOldSpaceMb(semi)}` : f,
  );
}

async function startServer(kind, dir, gc, nodeFlags = NODE_FLAGS) {
  // A boot loads the whole dataset first: at 20M keys that took 506 s (2026-12-07), past servers.mjs's default 120 s.
  const readyTimeoutMs = Math.max(120_000, KEYS / 10);
  const s = kind === 'damselfly' ? await startDamselfly(dir, { main: SERVER_MAIN, nodeFlags, onLine: (line) => gc.line(line), readyTimeoutMs }) : await startRedis(dir);
  return { ...s, readyMs: s.boot.readyMs, loadedLine: s.boot.loaded };
}

async function call(port, ...args) {
  const c = await RespClient.connect(port);
  try {
    return await c.call(...args);
  } finally {
    c.close();
  }
}

// ------------------------------------------------------------------ loader
const keyOf = (i) => 'key:' + String(i).padStart(12, '0');
/** Value bytes: a fixed random-looking filler with the key number at the front, so values differ. */
const FILL = Buffer.from(Array.from({ length: BIG }, (_, i) => 33 + ((i * 7919 + 13) % 94)));

/** Per value size, the bytes of a SET up to the key digits, and from them to the value. */
const HEAD = Buffer.from('*3\r\n$3\r\nSET\r\n$16\r\nkey:', 'latin1');
const MID = { [BIG]: Buffer.from(`\r\n$${BIG}\r\n`, 'latin1'), [SMALL]: Buffer.from(`\r\n$${SMALL}\r\n`, 'latin1') };

/** Writes i as 12 zero-padded decimal digits at o. */
function digits12(b, o, i) {
  for (let p = o + 11; p >= o; p--) {
    b[p] = 48 + (i % 10);
    i = Math.floor(i / 10);
  }
}

/**
 * RESP SETs for keys [from, to) into one buffer, written byte by byte (the
 * loader must outrun redis-server, so no per-command strings). A value starts
 * with its key's 12 digits, so values differ.
 */
function encodeBatch(from, to) {
  let size = 0;
  for (let i = from; i < to; i++) size += HEAD.length + 12 + MID[isBig(i) ? BIG : SMALL].length + (isBig(i) ? BIG : SMALL) + 2;
  const b = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = from; i < to; i++) {
    const len = isBig(i) ? BIG : SMALL;
    o += HEAD.copy(b, o);
    digits12(b, o, i);
    o += 12;
    o += MID[len].copy(b, o);
    digits12(b, o, i);
    o += 12;
    o += FILL.copy(b, o, 0, len - 12);
    b[o++] = 13;
    b[o++] = 10;
  }
  return b;
}

/**
 * CONNS connections, each owning an interleaved share of the batches, with
 * up to WINDOW batches in flight; a reply is "+OK\r\n" (5 bytes), anything
 * else is an error. Stops early if the machine runs short of memory.
 */
async function load(port, pid, keys) {
  const CONNS = 4;
  const BATCH = 2000;
  const WINDOW = 4;
  const nBatches = Math.ceil(keys / BATCH);
  let next = 0;
  let done = 0;
  let bytes = 0;
  let stopped = null;
  const t0 = performance.now();
  let lastLog = t0;
  const one = () =>
    new Promise((resolve, reject) => {
      const sock = net.connect({ port, host: '127.0.0.1' });
      sock.setNoDelay(true);
      const pending = []; // reply bytes expected per in-flight batch
      let got = 0;
      const pump = () => {
        while (pending.length < WINDOW && next < nBatches && !stopped) {
          const bi = next++;
          const from = bi * BATCH;
          const to = Math.min(keys, from + BATCH);
          const buf = encodeBatch(from, to);
          bytes += buf.length;
          pending.push((to - from) * 5);
          sock.write(buf);
        }
        if (!pending.length) {
          sock.end();
          resolve();
        }
      };
      sock.on('connect', pump);
      sock.on('data', (d) => {
        if (d[0] !== 43 /* + */ || d.includes(45 /* - */)) {
          const s = d.toString('latin1');
          if (/^-|\r\n-/.test(s)) {
            stopped = `server error: ${s.slice(s.indexOf('-'), s.indexOf('-') + 120)}`;
            sock.destroy();
            return resolve();
          }
        }
        got += d.length;
        while (pending.length && got >= pending[0]) {
          got -= pending.shift();
          done++;
        }
        const now = performance.now();
        if (now - lastLog > 5000) {
          lastLog = now;
          const k = done * BATCH;
          log(`  loaded ${(k / 1e6).toFixed(1)}M keys, ${Math.round(k / ((now - t0) / 1000))} keys/s, RSS ${(rss(pid) / 2 ** 30).toFixed(2)} GiB, MemAvailable ${(memAvailable() / 2 ** 30).toFixed(1)} GiB`);
          if (memAvailable() < MIN_FREE) stopped = `MemAvailable under ${MIN_FREE / 2 ** 30} GiB`;
          if ((now - t0) / 1000 > LOAD_SECONDS) stopped = `--load-seconds ${LOAD_SECONDS} reached`;
        }
        pump();
      });
      sock.on('error', reject);
    });
  await Promise.all(Array.from({ length: CONNS }, one));
  const s = (performance.now() - t0) / 1000;
  return { s, bytes, stopped };
}

// ------------------------------------------------------------------ latency
/** One GET at a time over its own connection until stop() is called; every round trip in ms. */
function sampler(port, keys) {
  const lat = [];
  let running = true;
  const done = (async () => {
    const c = await RespClient.connect(port);
    let i = 0;
    while (running) {
      const k = keyOf((i++ * 7919) % keys);
      const t = performance.now();
      await c.call('GET', k);
      const ms = performance.now() - t;
      lat.push(ms);
      // When, so a stall can be matched with the server's GC trace or /proc samples.
      if (ms > 100) log(`sampler: ${ms.toFixed(1)} ms round trip ending at ${new Date().toISOString()}`);
    }
    c.close();
  })();
  return {
    async stop() {
      running = false;
      await done;
      return pct(lat);
    },
  };
}
function pct(xs) {
  const s = Float64Array.from(xs).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s[s.length - 1], over100: xs.filter((x) => x > 100).length };
}

const LAT_RUNS = [
  { id: 'GET -P 1', args: ['-t', 'get', '-P', '1', '-n', '400000'], label: 'GET' },
  { id: 'SET -P 1 (100 B)', args: ['-t', 'set', '-P', '1', '-n', '400000', '-d', '100'], label: 'SET' },
  { id: 'SET -P 16 (1 KiB)', args: ['-t', 'set', '-P', '16', '-n', '2000000', '-d', '1024'], label: 'SET' },
];

// ------------------------------------------------------------------ BGSAVE
async function bgsaveMeasured(s) {
  const c = await RespClient.connect(s.port);
  try {
    const before = parseInfo(await c.call('INFO', 'persistence'));
    const rss0 = rss(s.pid);
    let peakParent = rss0;
    let peakChildRss = 0;
    let peakChildPrivate = 0;
    let peakTotal = rss0;
    const t0 = performance.now();
    const r = await c.call('BGSAVE');
    if (r instanceof Error) throw new Error(`${s.kind} BGSAVE: ${r.message}`);
    let info;
    for (;;) {
      const p = rss(s.pid);
      let childRss = 0;
      let childPriv = 0;
      for (const ch of childrenOf(s.pid)) {
        childRss += rss(ch);
        childPriv += privateBytes(ch);
      }
      peakParent = Math.max(peakParent, p);
      peakChildRss = Math.max(peakChildRss, childRss);
      peakChildPrivate = Math.max(peakChildPrivate, childPriv);
      peakTotal = Math.max(peakTotal, p + childPriv);
      await sleep(50);
      info = parseInfo(await c.call('INFO', 'persistence'));
      const moved = Number(info.rdb_saves) > Number(before.rdb_saves) || info.rdb_last_save_time !== before.rdb_last_save_time;
      if (info.rdb_bgsave_in_progress === '0' && moved) break;
      if (performance.now() - t0 > 1_800_000) throw new Error(`${s.kind} BGSAVE not done after 30 min`);
    }
    const ms = performance.now() - t0;
    if (info.rdb_last_bgsave_status !== 'ok') throw new Error(`${s.kind} BGSAVE status ${info.rdb_last_bgsave_status}`);
    return { ms, rssBefore: rss0, peakParent, peakChildRss, peakChildPrivate, extra: peakTotal - rss0, fileBytes: duBytes(s.dir), info };
  } finally {
    c.close();
  }
}

// ------------------------------------------------------------------ one server
/**
 * The machine is shared: if MemAvailable falls under the floor at any point
 * (a GC-bloated heap, the fork's copies), kill the server under test rather
 * than let the kernel's OOM killer pick another helper's process.
 */
function watchdog(getServer, onKill) {
  const t = setInterval(() => {
    const s = getServer();
    if (s && memAvailable() < MIN_FREE * 0.75) {
      onKill(`MemAvailable ${(memAvailable() / 2 ** 30).toFixed(1)} GiB: server killed by the bench's watchdog`);
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }, 250);
  return () => clearInterval(t);
}

async function runServer(kind) {
  const gc = new GcLog();
  const dir = mkdtempSync(path.join(os.tmpdir(), `scale-${kind}-`));
  const res = { kind, keys: KEYS, started: new Date().toISOString(), load0: os.loadavg() };
  let s;
  const stopWatch = watchdog(
    () => s,
    (why) => {
      res.killed = why;
      log(`${kind}: ${why}`);
    },
  );
  try {
    s = await startServer(kind, dir, gc);
    res.rssEmpty = rss(s.pid);
    log(`${kind}: up (pid ${s.pid}, port ${s.port}), RSS ${(res.rssEmpty / 2 ** 20).toFixed(1)} MiB; loading ${KEYS} keys`);

    gc.phase = 'load';
    let c0 = cpuSeconds(s.pid);
    const l = await load(s.port, s.pid, KEYS);
    res.load = { ...l, cpu: cpuSeconds(s.pid) - c0, mbPerS: l.bytes / 2 ** 20 / l.s };
    res.dbsize = await call(s.port, 'DBSIZE');
    // What was loaded, not what was asked for: --load-seconds or the memory floor may stop it early.
    res.load.keysPerS = res.dbsize / l.s;
    await sleep(2000);
    res.rssLoaded = rss(s.pid);
    res.bytesPerKey = (res.rssLoaded - res.rssEmpty) / res.dbsize;
    log(`${kind}: loaded ${res.dbsize} keys in ${l.s.toFixed(1)} s (${Math.round(res.load.keysPerS)} keys/s, ${res.load.mbPerS.toFixed(0)} MiB/s), RSS ${(res.rssLoaded / 2 ** 30).toFixed(2)} GiB, ${res.bytesPerKey.toFixed(0)} B/key${l.stopped ? `; STOPPED: ${l.stopped}` : ''}`);
    if (l.stopped) res.stopped = l.stopped;

    gc.phase = 'latency';
    res.latency = [];
    for (const run of LAT_RUNS) {
      const smp = sampler(s.port, res.dbsize);
      c0 = cpuSeconds(s.pid);
      const out = await redisBenchmark(s.port, [...run.args, '-r', String(res.dbsize)]);
      const cpu = cpuSeconds(s.pid) - c0;
      const sample = await smp.stop();
      const row = parseCsvRow(out, run.label);
      res.latency.push({ id: run.id, bench: row, cpu, sampler: sample });
      log(`${kind}: ${run.id}: ${Math.round(row.rps)} ops/s p50 ${row.p50} p99 ${row.p99} max ${row.max} ms; sampler n ${sample.n} p50 ${sample.p50.toFixed(2)} p99 ${sample.p99.toFixed(2)} max ${sample.max.toFixed(1)} ms (${sample.over100} > 100 ms)`);
    }
    res.rssAfterChurn = rss(s.pid);
    res.hwm = statusKiB(s.pid, 'VmHWM') * 1024;
    if (LATENCY_ONLY) {
      // A clean exit, so that a --cpu-prof in --node-flags gets written.
      const exited = new Promise((r) => (s.proc.exitCode !== null ? r() : s.proc.once('exit', r)));
      // SHUTDOWN answers nothing when it succeeds: the exit is the reply.
      void call(s.port, 'SHUTDOWN', 'NOSAVE').catch(() => {});
      await exited;
      s = null;
      return res;
    }

    gc.phase = 'bgsave';
    res.bgsave = await bgsaveMeasured(s);
    log(`${kind}: BGSAVE ${(res.bgsave.ms / 1000).toFixed(1)} s, extra ${(res.bgsave.extra / 2 ** 20).toFixed(0)} MiB (parent peak ${(res.bgsave.peakParent / 2 ** 30).toFixed(2)} GiB from ${(res.bgsave.rssBefore / 2 ** 30).toFixed(2)}; child RSS ${(res.bgsave.peakChildRss / 2 ** 30).toFixed(2)} GiB, private ${(res.bgsave.peakChildPrivate / 2 ** 20).toFixed(0)} MiB), files ${(res.bgsave.fileBytes / 2 ** 30).toFixed(2)} GiB`);
    res.dbsizeSaved = await call(s.port, 'DBSIZE');
    await s.stop();
    s = null;

    gc.phase = 'boot';
    s = await startServer(kind, dir, gc, await bootFlags(dir));
    res.boot = { readyMs: s.readyMs, loaded: s.loadedLine, dbsize: await call(s.port, 'DBSIZE') };
    await sleep(1000);
    res.boot.rss = rss(s.pid);
    log(`${kind}: boot ${(s.readyMs / 1000).toFixed(1)} s, ${res.boot.dbsize} keys, RSS ${(res.boot.rss / 2 ** 30).toFixed(2)} GiB`);
    if (res.boot.dbsize !== res.dbsizeSaved) throw new Error(`${kind}: ${res.boot.dbsize} keys after boot, ${res.dbsizeSaved} saved`);
  } catch (e) {
    res.error = String(e?.stack ?? e);
    log(`${kind}: FAILED: ${res.error}`);
  } finally {
    stopWatch();
    if (s) await s.stop();
    rmSync(dir, { recursive: true, force: true });
    res.gc = kind === 'damselfly' ? gc.summary() : null;
    res.load1 = os.loadavg();
    res.finished = new Date().toISOString();
  }
  return res;
}

// ------------------------------------------------------------------ report
const gib = (b) => (b / 2 ** 30).toFixed(2);
const mibs = (b) => (b / 2 ** 20).toFixed(0);
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b ? (a / b).toFixed(2) : 'n/a');

export function section(all) {
  const d = all.damselfly ?? {};
  const r = all.redis ?? {};
  const L = [];
  L.push(`## Scale: ${(KEYS / 1e6).toFixed(0)}M keys, 16-byte keys, 45% 1 KiB / 55% 100-byte values (issue 9)\n`);
  for (const x of [d, r]) {
    if (!x.kind) continue;
    L.push(
      `- ${x.kind}: ${x.started} → ${x.finished}; load average at start ${x.load0.map((v) => v.toFixed(2)).join(' / ')}, at end ${x.load1.map((v) => v.toFixed(2)).join(' / ')}` +
        (x.stopped ? `; **load stopped early: ${x.stopped}**` : '') +
        (x.killed ? `; **${x.killed}**` : '') +
        (x.error ? `; **failed: ${x.error.split('\n')[0]}**` : ''),
    );
  }
  L.push(
    `- command: \`node bench/scale-20m.mjs --keys ${KEYS}\` (one server at a time; \`--only damselfly|redis\` runs one half). ` +
      `damselfly: \`node ${NODE_FLAGS.join(' ')} dist/main.js --dir <tmp> --save ''\`; redis-server 7.0.15 \`--save '' --appendonly no --dir <tmp>\`. ` +
      `Machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, shared with other helpers' tests.`,
  );
  L.push(
    `- load: own pipelined writer, 4 connections × 4 batches of 2,000 SETs in flight; latency: redis-benchmark -c 50 -r <keys> (CSV percentiles) ` +
      `while a separate connection sends one GET at a time (the "sampler"); BGSAVE on the idle server, RSS sampled every 50 ms; boot = spawn → ready (damselfly's "ready to accept connections", redis INFO loading:0 + PING).\n`,
  );
  const row = (name, fd, fr, rat = '', target = '') => L.push(`| ${name} | ${fd} | ${fr} | ${rat} | ${target} |`);
  // A partial run (--load-seconds, memory floor, a kill) leaves the two servers with different key counts:
  // then sizes and times are compared per key, and the table says so.
  const same = d.dbsize && r.dbsize && d.dbsize === r.dbsize;
  const perKey = (a, na, b, nb) => (same ? ratio(a, b) : Number.isFinite(a / na / (b / nb)) ? (a / na / (b / nb)).toFixed(2) + ' per key' : 'n/a');
  if (!same && d.dbsize && r.dbsize) L.push(`**The servers hold different key counts (${d.dbsize} vs ${r.dbsize}): ratios are per key.**\n`);
  L.push('| measure | damselfly | redis-server | damselfly / redis | target |');
  L.push('|---|---|---|---|---|');
  row('keys held (DBSIZE)', d.dbsize ?? 'n/a', r.dbsize ?? 'n/a');
  row('load time (s); keys/s', d.load ? `${f1(d.load.s)}; ${Math.round(d.load.keysPerS).toLocaleString('en-US')}` : 'n/a', r.load ? `${f1(r.load.s)}; ${Math.round(r.load.keysPerS).toLocaleString('en-US')}` : 'n/a', d.load && r.load ? ratio(d.load.keysPerS, r.load.keysPerS) + ' (keys/s)' : '');
  row('load: server CPU s (µs per key)', d.load ? `${f1(d.load.cpu)} (${((1e6 * d.load.cpu) / d.dbsize).toFixed(1)})` : 'n/a', r.load ? `${f1(r.load.cpu)} (${((1e6 * r.load.cpu) / r.dbsize).toFixed(1)})` : 'n/a', d.load && r.load ? perKey(d.load.cpu, d.dbsize, r.load.cpu, r.dbsize) : '');
  const bpk = d.bytesPerKey && r.bytesPerKey ? d.bytesPerKey / r.bytesPerKey : NaN;
  row('RSS empty → loaded (GiB)', d.rssLoaded ? `${gib(d.rssEmpty)} → ${gib(d.rssLoaded)}` : 'n/a', r.rssLoaded ? `${gib(r.rssEmpty)} → ${gib(r.rssLoaded)}` : 'n/a', same ? ratio(d.rssLoaded, r.rssLoaded) : '');
  row('RSS per key (bytes, loaded − empty)', f1(d.bytesPerKey), f1(r.bytesPerKey), f2(bpk), Number.isFinite(bpk) ? `≤ 1.5: ${bpk <= 1.5 ? 'met' : 'missed'}${same ? '' : ' (per key)'}` : '');
  row('RSS after the latency runs / peak (GiB)', d.rssAfterChurn ? `${gib(d.rssAfterChurn)} / ${gib(d.hwm)}` : 'n/a', r.rssAfterChurn ? `${gib(r.rssAfterChurn)} / ${gib(r.hwm)}` : 'n/a', same ? ratio(d.rssAfterChurn, r.rssAfterChurn) : '');
  for (let i = 0; i < LAT_RUNS.length; i++) {
    const a = d.latency?.[i];
    const b = r.latency?.[i];
    const cell = (x) => (x ? `${Math.round(x.bench.rps).toLocaleString('en-US')} ops/s; p50 ${x.bench.p50}, p99 ${x.bench.p99}, max ${x.bench.max}` : 'n/a');
    const p99ok = a && b ? (a.bench.p99 <= 2 * b.bench.p99 ? 'met' : 'missed') : '';
    row(`${LAT_RUNS[i].id}: redis-benchmark ops/s; latency ms`, cell(a), cell(b), a && b ? `ops ${ratio(a.bench.rps, b.bench.rps)}; p99 ${ratio(a.bench.p99, b.bench.p99)}` : '', `p99 ≤ 2×: ${p99ok}`);
    const sc = (x) => (x ? `n ${x.sampler.n}; p50 ${f2(x.sampler.p50)}, p99 ${f2(x.sampler.p99)}, max ${f1(x.sampler.max)}; > 100 ms: ${x.sampler.over100}` : 'n/a');
    row(`… sampler GET during it (ms)`, sc(a), sc(b), a && b ? `p99 ${ratio(a.sampler.p99, b.sampler.p99)}` : '', a ? `no pause > 100 ms: ${a.sampler.max <= 100 ? 'met' : 'missed'}` : '');
  }
  const bg = (x) =>
    x.bgsave
      ? `${f1(x.bgsave.ms / 1000)} s; +${mibs(x.bgsave.extra)} MiB (${((100 * x.bgsave.extra) / (x.rssLoaded - x.rssEmpty)).toFixed(1)}% of dataset)` +
        (x.kind === 'redis' ? `; child RSS ${gib(x.bgsave.peakChildRss)} GiB, of it private ${mibs(x.bgsave.peakChildPrivate)} MiB` : '') +
        `; file ${gib(x.bgsave.fileBytes)} GiB`
      : 'n/a';
  row('BGSAVE (idle): time; extra memory (peak parent RSS + child private − before)', bg(d), bg(r), d.bgsave && r.bgsave ? `time ${perKey(d.bgsave.ms, d.dbsize, r.bgsave.ms, r.dbsize)}` : '');
  const boot = (x) => (x.boot ? `${f1(x.boot.readyMs / 1000)} s (${x.boot.dbsize} keys; RSS after ${gib(x.boot.rss)} GiB)` : 'n/a');
  const bootRatio = d.boot && r.boot ? d.boot.readyMs / d.boot.dbsize / (r.boot.readyMs / r.boot.dbsize) : NaN;
  row('boot: spawn → ready with the snapshot loaded', boot(d), boot(r), d.boot && r.boot ? perKey(d.boot.readyMs, d.boot.dbsize, r.boot.readyMs, r.boot.dbsize) : '', Number.isFinite(bootRatio) ? `≤ 2×: ${bootRatio <= 2 ? 'met' : 'missed'}${same ? '' : ' (per key)'}` : '');
  if (d.gc) {
    L.push('');
    L.push(`damselfly --trace-gc, per phase (count, total, longest pause; for mark-compacts also the biggest incremental-marking step):\n`);
    L.push('| phase | GC | count | total ms | longest ms | biggest step ms |');
    L.push('|---|---|---|---|---|---|');
    for (const [ph, kinds] of Object.entries(d.gc.byPhase)) {
      for (const [k, v] of Object.entries(kinds)) L.push(`| ${ph} | ${k} | ${v.count} | ${Math.round(v.totalMs)} | ${f1(v.maxMs)} | ${v.maxStepMs ? f1(v.maxStepMs) : ''} |`);
    }
    L.push(`\nGC pauses > 100 ms: **${d.gc.over100}**, mark-compacts whose biggest incremental step was > 100 ms: **${d.gc.stepsOver100}** (target: none). Longest: ${d.gc.longest.map((e) => `${e.kind} ${e.ms} ms (${e.phase})`).join('; ')}.`);
  }
  return L.join('\n') + '\n';
}

const BEGIN = '<!-- scale-20m: begin (rewritten by bench/scale-20m.mjs --write) -->';
const END = '<!-- scale-20m: end -->';
function writeSection(md, file = path.join(ROOT, 'bench/RESULTS.md')) {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const i = old.indexOf(BEGIN);
  const j = old.indexOf(END);
  const block = `${BEGIN}\n${md}${END}\n`;
  writeFileSync(file, i >= 0 && j > i ? old.slice(0, i) + block + old.slice(j + END.length + 1) : old + '\n' + block);
}

async function main() {
  const prev = existsSync(JSON_OUT) ? JSON.parse(readFileSync(JSON_OUT, 'utf8')) : {};
  const all = prev.keys === KEYS ? prev : { keys: KEYS };
  // --report: only rewrite the section from the JSON of earlier runs.
  if (argv.includes('--report')) {
    for (const x of [all.damselfly, all.redis]) if (x?.load && x.dbsize) x.load.keysPerS = x.dbsize / x.load.s;
  }
  for (const kind of argv.includes('--report') ? [] : ['damselfly', 'redis']) {
    if (ONLY && ONLY !== kind) continue;
    all[kind] = await runServer(kind);
    writeFileSync(JSON_OUT, JSON.stringify(all, null, 1));
  }
  const md = section(all);
  process.stdout.write(md);
  if (argv.includes('--write')) writeSection(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
