#!/usr/bin/env node
/**
 * Loading a Redis RDB file (issue 14): redis-server writes an RDB of the
 * snapshot benchmarks' dataset (snapshot-dataset.mjs; --scale 10 is about
 * 9M strings of 80 bytes plus 250k each of hashes, lists, sets and zsets,
 * a file of about 1 GB), then redis-server boots on it and damselfly boots
 * on the same file (--dbfilename dump.rdb in a folder with no snapshot),
 * alternately, --runs times. The figure is each server's own load time
 * (redis: "DB loaded from disk"; damselfly: the "snapshot loaded" line's
 * ms), and spawn-to-ready beside it. The RDB is kept in --dir between runs.
 *
 *   npm run build && node bench/rdb-load.mjs [--scale 10] [--runs 2] [--dir /tmp/damselfly-rdbbench] [--skip-redis]
 *        [--node-flags "--max-semi-space-size=16"] (V8's --trace-gc lines go to stderr)
 *        [--server path/to/main.js] (another build; default dist/main.js)
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RespClient } from './resp.mjs';
import { snapshotDataset } from './snapshot-dataset.mjs';
import { startDamselfly, startRedis } from './servers.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i < 0 ? def : argv[i + 1];
};
const SCALE = Number(opt('scale', 10));
const RUNS = Number(opt('runs', 2));
const DIR = opt('dir', path.join(os.tmpdir(), 'damselfly-rdbbench'));
const log = (s) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const median = (a) => [...a].sort((x, y) => x - y)[(a.length - 1) >> 1];
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' / ');
const { N_KEYS, loadDataset } = snapshotDataset(SCALE);

const rDir = path.join(DIR, `redis-scale${SCALE}`);
const rdb = path.join(rDir, 'dump.rdb');
if (!existsSync(rdb)) {
  mkdirSync(rDir, { recursive: true });
  log(`redis-server: building the dataset (${N_KEYS} keys) in ${rDir}`);
  const s = await startRedis(rDir, ['--dbfilename', 'dump.rdb']);
  try {
    await loadDataset(s.port);
    const c = await RespClient.connect(s.port);
    if ((await c.call('SAVE')) !== 'OK') throw new Error('SAVE failed');
    c.close();
  } finally {
    await s.stop();
  }
}
const size = statSync(rdb).size;
log(`RDB file ${rdb}: ${(size / 1e9).toFixed(2)} GB, ${N_KEYS} keys; load average ${loadavg()}`);

const SKIP_REDIS = argv.includes('--skip-redis');
const SERVER = opt('server', undefined);
const NODE_FLAGS = opt('node-flags', '').split(/\s+/).filter(Boolean);
const redisMs = [];
const redisReady = [];
const ourMs = [];
const ourReady = [];
for (let i = 0; i < RUNS; i++) {
  if (!SKIP_REDIS) {
    const r = await startRedis(rDir, ['--dbfilename', 'dump.rdb']);
    const c = await RespClient.connect(r.port);
    const rn = await c.call('DBSIZE');
    c.close();
    await r.stop();
    if (rn !== N_KEYS) throw new Error(`redis-server loaded ${rn} keys`);
    redisMs.push(r.boot.loaded.seconds * 1000);
    redisReady.push(r.boot.readyMs);
    log(`redis-server: loaded in ${(r.boot.loaded.seconds * 1000).toFixed(0)} ms, ready ${r.boot.readyMs.toFixed(0)} ms; load average ${loadavg()}`);
  }

  // A folder with no snapshot of ours, holding (a link to) the RDB file.
  const dDir = mkdtempSync(path.join(DIR, 'damselfly-'));
  symlinkSync(rdb, path.join(dDir, 'dump.rdb'));
  try {
    const d = await startDamselfly(dDir, { ...(SERVER ? { main: path.resolve(SERVER) } : {}), nodeFlags: NODE_FLAGS, args: ['--dbfilename', 'dump.rdb'], readyTimeoutMs: 30 * 60_000, onLine: (line) => process.stderr.write(line + '\n') });
    const c2 = await RespClient.connect(d.port);
    const dn = await c2.call('DBSIZE');
    c2.close();
    await d.stop();
    if (dn !== N_KEYS) throw new Error(`damselfly loaded ${dn} keys`);
    ourMs.push(d.boot.loaded.ms);
    ourReady.push(d.boot.readyMs);
    log(`damselfly: loaded in ${d.boot.loaded.ms} ms, ready ${d.boot.readyMs.toFixed(0)} ms; load average ${loadavg()}`);
  } finally {
    rmSync(dDir, { recursive: true, force: true });
  }
}
if (SKIP_REDIS) {
  console.log(`damselfly only: ${median(ourMs).toFixed(0)} ms (ready ${median(ourReady).toFixed(0)}); load average ${loadavg()}`);
  process.exit(0);
}
const ratio = median(ourMs) / median(redisMs);
console.log(
  `| ${(size / 1e9).toFixed(2)} GB, ${N_KEYS.toLocaleString('en')} keys (scale ${SCALE}) | ${median(ourMs).toFixed(0)} ms (ready ${median(ourReady).toFixed(0)}) | ${median(redisMs).toFixed(0)} ms (ready ${median(redisReady).toFixed(0)}) | **${ratio.toFixed(2)}** | ${RUNS} runs, load average at end ${loadavg()} |`,
);
