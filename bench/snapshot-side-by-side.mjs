#!/usr/bin/env node
/**
 * Snapshot targets (issue 4), side by side with a real redis-server:
 *   npm run build && node bench/snapshot-side-by-side.mjs [--no-write] [--scale 0.1]
 *
 * Both servers get the same dataset (1M keys: 900k strings of 80 bytes named
 * like redis-benchmark's keys, so its GETs hit, plus 25k each of hashes,
 * lists, sets and zsets; ~115 MB of keys and values), loaded by the same
 * pipelined raw-RESP loader. The servers run one after the other, never at
 * the same time, and for each we measure:
 *
 *   1. a BGSAVE on an idle server: wall time from BGSAVE to INFO showing it
 *      finished (polled every 20 ms), file size, MB/s;
 *   3. p99 of redis-benchmark GETs before, then spanning, a BGSAVE;
 *   2. RSS (VmRSS, every 20 ms) during a BGSAVE while redis-benchmark SETs
 *      and GETs; for redis the fork child's RSS is added (and its private,
 *      i.e. copied-on-write, memory from smaps_rollup is shown too);
 *   4. restart on a hard-linked copy of the data folder taken before step 2
 *      (so both load the snapshot of the untouched dataset) and time from
 *      spawn to ready (damselfly: the "ready to accept connections" log
 *      line; redis: INFO loading:0 and PING answered, polled every 10 ms).
 *
 * Prints a markdown table and appends (or replaces) the section
 * "## Snapshots (issue 4)" in bench/RESULTS.md.
 */
import { spawn, execFileSync } from 'node:child_process';
import { linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient } from './resp.mjs';
import { NODE_FLAGS, bgsave, parseInfo, startDamselfly, startRedis } from './servers.mjs';
import { snapshotDataset } from './snapshot-dataset.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i < 0 ? def : argv[i + 1];
};
const WRITE = !argv.includes('--no-write');
/** --scale shrinks the dataset for a quick trial of the harness itself. */
const SCALE = Number(opt('scale', 1));
const { N_STRINGS, N_EACH, N_KEYS, command, loadDataset } = snapshotDataset(SCALE);
const SECTION = '## Snapshots (issue 4)';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

// ---------------------------------------------------------------- processes
function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // exited
  }
}

/** Private (copied or newly allocated) memory of a process: what a fork child really adds. */
function privateOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
    const num = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) * 1024;
    return num('Private_Dirty') + num('Private_Clean');
  } catch {
    return 0;
  }
}

function childrenOf(pid) {
  const out = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1').trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

/** Spawn a server; resolves once it is ready. `ready` decides from its stdout lines / by polling. */
// ---------------------------------------------------------------- INFO / BGSAVE
// ---------------------------------------------------------------- redis-benchmark
function benchmark(port, args) {
  const full = ['-h', '127.0.0.1', '-p', String(port), '-c', '50', '-P', '1', '--csv', ...args];
  const p = spawn('redis-benchmark', full, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const t0 = performance.now();
  const done = new Promise((resolve) => p.on('close', (code, sig) => resolve({ code, sig, out, err, ms: performance.now() - t0 })));
  return { p, done, t0 };
}

/** Redis 7 CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms" */
function parseBench(out, test) {
  const rows = out.trim().split('\n').map((l) => l.split('","').map((c) => c.replace(/^"|"$/g, '')));
  const head = rows[0];
  const row = rows.find((r) => r[0] === test);
  if (!row) return null;
  const col = (name) => Number(row[head.indexOf(name)]);
  return { rps: col('rps'), p50: col('p50_latency_ms'), p99: col('p99_latency_ms'), max: col('max_latency_ms') };
}

// ---------------------------------------------------------------- one server
async function measureServer(kind) {
  const start = kind === 'damselfly' ? startDamselfly : startRedis;
  const dir = mkdtempSync(path.join(os.tmpdir(), `snapbench-${kind}-`));
  const loadDir = mkdtempSync(path.join(os.tmpdir(), `snapbench-${kind}-boot-`));
  const r = { kind };
  let s = await start(dir);
  try {
    await sleep(500);
    r.rssEmpty = rssOf(s.pid);
    let t = performance.now();
    await loadDataset(s.port);
    r.loadSec = (performance.now() - t) / 1000;
    const c = await RespClient.connect(s.port);
    r.dbsize = await c.call('DBSIZE');
    c.close();
    if (r.dbsize !== N_KEYS) throw new Error(`${kind}: DBSIZE ${r.dbsize}, expected ${N_KEYS}`);
    await sleep(2000); // let GC / the allocator settle alike for both
    r.rssLoaded = rssOf(s.pid);
    r.dataset = r.rssLoaded - r.rssEmpty;
    log(`${kind}: loaded ${r.dbsize} keys in ${r.loadSec.toFixed(1)} s, RSS ${mb(r.rssEmpty)} -> ${mb(r.rssLoaded)} MiB`);

    // 1. idle snapshot
    const snap = await bgsave(s);
    r.snapMs = snap.ms;
    r.snapSize = snap.size;
    r.snapSelfMs = kind === 'damselfly' ? Number(snap.info.snapshot_last_duration_ms) : Number(snap.info.rdb_last_bgsave_time_sec) * 1000;
    log(`${kind}: idle BGSAVE ${snap.ms.toFixed(0)} ms, ${mb(snap.size)} MiB`);

    // 3. GET p99 before, then spanning a BGSAVE
    const base = benchmark(s.port, ['-t', 'get', '-r', '1000000', '-n', String(Math.round(200_000 * Math.max(SCALE, 0.25)))]);
    const b = await base.done;
    r.before = parseBench(b.out, 'GET');
    if (!r.before) throw new Error(`${kind}: baseline redis-benchmark: ${b.err}`);
    // Enough requests to outlast the snapshot under load (about 2x the idle time + 1.5 s).
    const nDuring = Math.max(100_000, Math.round(r.before.rps * (2 * snap.ms / 1000 + 1.5)));
    const dur = benchmark(s.port, ['-t', 'get', '-r', '1000000', '-n', String(nDuring)]);
    await sleep(300);
    const snapL = await bgsave(s);
    const d = await dur.done;
    r.during = parseBench(d.out, 'GET');
    if (!r.during) throw new Error(`${kind}: redis-benchmark during BGSAVE: ${d.err}`);
    r.latSnapMs = snapL.ms;
    r.latBenchMs = d.ms;
    // Share of the benchmark's run that the snapshot covered, and whether it ended before the snapshot did.
    const benchEnd = dur.t0 + d.ms;
    r.latCovered = Math.min(1, (Math.min(benchEnd, snapL.t0 + snapL.ms) - snapL.t0) / snapL.ms);
    r.latShare = snapL.ms / d.ms;
    log(`${kind}: GET p99 before ${r.before.p99} ms, during ${r.during.p99} ms (snapshot ${snapL.ms.toFixed(0)} ms of a ${d.ms.toFixed(0)} ms run)`);

    // Keep the snapshot of the untouched dataset for the boot test: hard links
    // (snapshot files are never rewritten in place; redis replaces dump.rdb by rename).
    for (const f of readdirSync(dir)) if (!f.startsWith('.') && !f.startsWith('temp-')) linkSync(path.join(dir, f), path.join(loadDir, f));

    // 2. RSS during a BGSAVE under SET/GET load
    const load = benchmark(s.port, ['-t', 'set,get', '-r', '1000000', '-n', '2000000', '-d', '80']);
    await sleep(1000);
    const pre = rssOf(s.pid);
    let peak = pre;
    let peakParent = pre;
    let peakChildPrivate = 0;
    let peakParentPlusPrivate = pre;
    let samples = 0;
    const sample = () => {
      samples++;
      const p = rssOf(s.pid);
      let kids = 0;
      let kidsPriv = 0;
      for (const k of childrenOf(s.pid)) {
        kids += rssOf(k);
        kidsPriv += privateOf(k);
      }
      peak = Math.max(peak, p + kids);
      peakParent = Math.max(peakParent, p);
      peakChildPrivate = Math.max(peakChildPrivate, kidsPriv);
      peakParentPlusPrivate = Math.max(peakParentPlusPrivate, p + kidsPriv);
    };
    const timer = setInterval(sample, 20);
    let snapM;
    try {
      snapM = await bgsave(s, sample);
    } finally {
      clearInterval(timer);
    }
    const loadStillRunning = load.p.exitCode === null;
    load.p.kill('SIGKILL');
    await load.done;
    const after = parseInfo(await (async () => {
      const c2 = await RespClient.connect(s.port);
      const x = await c2.call('INFO', 'persistence');
      c2.close();
      return x;
    })());
    Object.assign(r, {
      memPre: pre,
      memPeak: peak,
      memPeakParent: peakParent,
      memPeakChildPrivate: peakChildPrivate,
      memPeakParentPlusPrivate: peakParentPlusPrivate,
      memSnapMs: snapM.ms,
      memSamples: samples,
      memLoadRunning: loadStillRunning,
      cowSize: Number(after.rdb_last_cow_size ?? 0),
    });
    log(`${kind}: RSS before ${mb(pre)} MiB, peak ${mb(peak)} MiB (+${pct(peak - pre, r.dataset)} of dataset), ${samples} samples over ${snapM.ms.toFixed(0)} ms`);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  // 4. boot from the snapshot of the untouched dataset
  try {
    s = await start(loadDir);
    try {
      r.bootMs = s.boot.readyMs;
      r.bootLoaded = s.boot.loaded;
      const c = await RespClient.connect(s.port);
      r.bootKeys = await c.call('DBSIZE');
      c.close();
      log(`${kind}: boot ${r.bootMs.toFixed(0)} ms to ready, ${r.bootKeys} keys`);
    } finally {
      await s.stop();
    }
  } finally {
    rmSync(loadDir, { recursive: true, force: true });
  }
  return r;
}

// ---------------------------------------------------------------- report
const mb = (b) => (b / 2 ** 20).toFixed(1);
const pct = (a, b) => ((a / b) * 100).toFixed(1) + '%';
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const verdict = (ok) => (ok ? '**met**' : '**missed**');

function report(d, r, meta) {
  const extra = (x) => x.memPeak - x.memPre;
  const latRatio = (x) => x.during.p99 / x.before.p99;
  const rows = [
    ['dataset (RSS loaded − RSS empty)', `${mb(d.dataset)} MiB (${mb(d.rssEmpty)} → ${mb(d.rssLoaded)})`, `${mb(r.dataset)} MiB (${mb(r.rssEmpty)} → ${mb(r.rssLoaded)})`, '', ''],
    ['1. idle BGSAVE time (server\'s own figure)', `${(d.snapMs / 1000).toFixed(2)} s (${d.snapSelfMs} ms)`, `${(r.snapMs / 1000).toFixed(2)} s (${r.snapSelfMs / 1000} s)`, f2(d.snapMs / r.snapMs), ''],
    ['1. snapshot file size', `${mb(d.snapSize)} MiB`, `${mb(r.snapSize)} MiB`, f2(d.snapSize / r.snapSize), ''],
    ['1. snapshot MB/s (file MiB / time)', (d.snapSize / 2 ** 20 / (d.snapMs / 1000)).toFixed(0), (r.snapSize / 2 ** 20 / (r.snapMs / 1000)).toFixed(0), f2(d.snapSize / d.snapMs / (r.snapSize / r.snapMs)), ''],
    ['1. dataset MiB/s (dataset RSS / time)', (d.dataset / 2 ** 20 / (d.snapMs / 1000)).toFixed(0), (r.dataset / 2 ** 20 / (r.snapMs / 1000)).toFixed(0), f2(d.dataset / d.snapMs / (r.dataset / r.snapMs)), ''],
    [
      '2. extra RSS during BGSAVE under SET/GET load (peak − before)',
      `${mb(extra(d))} MiB = **${pct(extra(d), d.dataset)}** of dataset (before ${mb(d.memPre)}, peak ${mb(d.memPeak)}; snapshot ${(d.memSnapMs / 1000).toFixed(2)} s)`,
      `${mb(extra(r))} MiB = **${pct(extra(r), r.dataset)}** of dataset, parent + fork child RSS (before ${mb(r.memPre)}, peak ${mb(r.memPeak)}; snapshot ${(r.memSnapMs / 1000).toFixed(2)} s)`,
      '',
      `≤ 10%: ${verdict(extra(d) <= 0.1 * d.dataset)}`,
    ],
    [
      '2. … counting only the child\'s private (copied) pages',
      '—',
      `${mb(r.memPeakParentPlusPrivate - r.memPre)} MiB = ${pct(r.memPeakParentPlusPrivate - r.memPre, r.dataset)} (child private peak ${mb(r.memPeakChildPrivate)} MiB; INFO rdb_last_cow_size ${mb(r.cowSize)} MiB)`,
      '',
      '',
    ],
    [
      '3. GET p99 before → during BGSAVE (ms)',
      `${d.before.p99} → ${d.during.p99} (p50 ${d.before.p50} → ${d.during.p50}; max ${d.before.max} → ${d.during.max})`,
      `${r.before.p99} → ${r.during.p99} (p50 ${r.before.p50} → ${r.during.p50}; max ${r.before.max} → ${r.during.max})`,
      '',
      '',
    ],
    ['3. p99 during / p99 before', `**${f2(latRatio(d))}**`, f2(latRatio(r)), '', `≤ 2×: ${verdict(latRatio(d) <= 2)}`],
    [
      '3. GET ops/s before → during; snapshot share of the GET run',
      `${Math.round(d.before.rps)} → ${Math.round(d.during.rps)}; ${pct(d.latSnapMs, d.latBenchMs)} (${(d.latSnapMs / 1000).toFixed(2)} s of ${(d.latBenchMs / 1000).toFixed(2)} s${d.latCovered < 1 ? `, run ended at ${pct(d.latCovered, 1)} of the snapshot` : ''})`,
      `${Math.round(r.before.rps)} → ${Math.round(r.during.rps)}; ${pct(r.latSnapMs, r.latBenchMs)} (${(r.latSnapMs / 1000).toFixed(2)} s of ${(r.latBenchMs / 1000).toFixed(2)} s${r.latCovered < 1 ? `, run ended at ${pct(r.latCovered, 1)} of the snapshot` : ''})`,
      '',
      '',
    ],
    [
      '4. boot: spawn → ready (keys loaded)',
      `${(d.bootMs / 1000).toFixed(2)} s (${d.bootKeys} keys${d.bootLoaded ? `; "snapshot loaded" ms ${d.bootLoaded.ms}` : ''})`,
      `${(r.bootMs / 1000).toFixed(2)} s (${r.bootKeys} keys${r.bootLoaded ? `; "DB loaded from disk" ${r.bootLoaded.seconds} s` : ''})`,
      `**${f2(d.bootMs / r.bootMs)}**`,
      `≤ 2×: ${verdict(d.bootMs / r.bootMs <= 2)}`,
    ],
  ];
  const lines = [
    SECTION,
    '',
    `\`node bench/snapshot-side-by-side.mjs\` — ${meta.date}, run took ${meta.took} s; load average (1/5/15 min) at start ${meta.load0}, at end ${meta.load1}; ${os.cpus().length} cores, shared with other workloads.`,
    `node ${process.version} ${NODE_FLAGS.join(' ')} (dist/main.js --save ''); redis-server ${meta.redisVersion} (Debian, --save '' --appendonly no). Servers run one after the other (damselfly first), never at the same time.`,
    '',
    `Dataset, identical for both (pipelined raw-RESP loader, DBSIZE checked: ${d.dbsize} on both): ${N_STRINGS.toLocaleString('en-US')} strings (\`key:%012d\`, 80-byte incompressible values, the keys redis-benchmark -r 1000000 hits) and ${N_EACH.toLocaleString('en-US')} each of hashes (10 fields × 16 B), lists, sets and zsets (20 × 12 B); ~${Math.round(meta.rawBytes / 1e6)} MB as RESP commands (about 115 MB of keys and values). Load took ${d.loadSec.toFixed(1)} s (damselfly) / ${r.loadSec.toFixed(1)} s (redis).`,
    '',
    '| measure | damselfly | redis-server | damselfly / redis | target |',
    '|---|---|---|---|---|',
    ...rows.map((x) => '| ' + x.join(' | ') + ' |'),
    '',
    'How each figure is taken:',
    '1. BGSAVE on the idle server, then INFO persistence every 20 ms until `rdb_bgsave_in_progress:0`, `rdb_saves` moved on and `rdb_last_bgsave_status:ok`; time is wall time from sending BGSAVE (so it includes up to 20 ms of polling). Size: INFO `snapshot_last_size` (damselfly), dump.rdb (redis).',
    `2. \`redis-benchmark -t set,get -r 1000000 -n 2000000 -d 80 -c 50 -P 1\` runs in the background (80-byte values, so overwrites neither grow nor shrink the dataset); after 1 s, RSS is read ("before"), BGSAVE is sent and VmRSS is sampled every 20 ms until it finishes (${d.memSamples} / ${r.memSamples} samples); the load is then killed. For redis, "extra RSS" adds the fork child's VmRSS as the brief asks, which counts every page the child shares with the parent; the row below counts only the child's private pages (smaps_rollup Private_Dirty+Private_Clean), i.e. the copies copy-on-write really made.`,
    '3. `redis-benchmark -t get -r 1000000 -n 200000 -c 50 -P 1 --csv` (baseline), then the same with enough requests to outlast the snapshot, BGSAVE sent 300 ms after it starts; p99 from its CSV. The run also contains time outside the snapshot (share shown), so p99 is over a mix of both.',
    '4. Before step 2 the data folder is hard-linked to a second folder (snapshot of the untouched dataset); after the server is killed a new one is spawned on that folder. Damselfly: spawn → the "ready to accept connections" log line. Redis: spawn → INFO persistence `loading:0` and PING answered, polled every 10 ms (includes process start and up to 10 ms of polling).',
    '',
  ];
  return lines.join('\n');
}

// ---------------------------------------------------------------- main
async function main() {
  const started = new Date();
  const load0 = os.loadavg();
  const redisVersion = /v=(\S+)/.exec(execFileSync('redis-server', ['--version']).toString())?.[1];
  let rawBytes = 0;
  for (let i = 0; i < N_KEYS; i += 97) rawBytes += command(i).length * 97; // estimate (RESP framing included)
  log(`dataset: ${N_KEYS} keys, ~${(rawBytes / 1e6).toFixed(0)} MB of RESP; load average ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const d = await measureServer('damselfly');
  const r = await measureServer('redis');
  const load1 = os.loadavg();
  const fmtLoad = (l) => l.map((x) => x.toFixed(2)).join(' / ');
  const md = report(d, r, {
    date: started.toISOString(),
    took: Math.round((Date.now() - started) / 1000),
    load0: fmtLoad(load0),
    load1: fmtLoad(load1),
    redisVersion,
    rawBytes,
  });
  process.stdout.write(md + '\n');
  writeFileSync(path.join(os.tmpdir(), 'snapbench-raw.json'), JSON.stringify({ d, r, load0, load1 }, null, 1));
  if (WRITE) {
    const file = path.join(ROOT, 'bench/RESULTS.md');
    let cur = readFileSync(file, 'utf8');
    const at = cur.indexOf('\n' + SECTION + '\n');
    if (at >= 0) {
      // Replace only our own section (up to the next "## " heading).
      const next = cur.indexOf('\n## ', at + 1 + SECTION.length);
      cur = cur.slice(0, at + 1) + md + (next >= 0 ? cur.slice(next + 1) : '');
    } else {
      cur = cur.replace(/\n*$/, '\n\n') + md;
    }
    writeFileSync(file, cur);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
