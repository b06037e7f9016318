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
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient } from './resp.mjs';
import { snapshotDataset } from './snapshot-dataset.mjs';
import { startDamselfly, startRedis } from './servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i < 0 ? def : argv[i + 1];
};
const RUNS = Number(opt('runs', 3));
const DIR = opt('dir', path.join(os.tmpdir(), 'damselfly-bootbench'));
const SERVER_MAIN = path.resolve(opt('server', path.join(ROOT, 'dist/main.js')));
const { N_KEYS, loadDataset } = snapshotDataset(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const median = (a) => [...a].sort((x, y) => x - y)[(a.length - 1) >> 1];
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' / ');

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
    await s.stop();
  }
}

async function boots(kind, dir) {
  const ms = [];
  const loaded = [];
  for (let i = 0; i < RUNS; i++) {
    const s = kind === 'damselfly' ? await startDamselfly(dir, SERVER_MAIN) : await startRedis(dir);
    await s.stop();
    const b = s.boot;
    const loadedMs = b.loaded?.ms ?? (b.loaded?.seconds != null ? Math.round(b.loaded.seconds * 1000) : null);
    ms.push(b.readyMs);
    if (loadedMs != null) loaded.push(loadedMs);
    if (kind === 'damselfly' && b.loaded?.keys !== N_KEYS) throw new Error(`damselfly booted with ${b.loaded?.keys} keys, expected ${N_KEYS}`);
    log(`${kind}: boot ${b.readyMs.toFixed(0)} ms${loadedMs != null ? ` (loaded ${loadedMs} ms)` : ''}; load average ${loadavg()}`);
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
