#!/usr/bin/env node
/**
 * A 1M-key snapshot to one location against the same snapshot to three
 * (issue 13): SAVE time and the server's peak RSS growth during the save,
 * with redis-server's SAVE of the same keys (to its local disk) beside it
 * as the reference ratio.
 *
 *   npm run build && node bench/replicas-save.mjs [keys=1000000] [runs=3]
 *
 * Layouts: s3 x1 (--dir s3://b1/p) vs s3 x3 (+ s3://b2/p, s3://b3/p on the
 * same store), and folder x1 vs folder x3. S3 is a throw-away Swift
 * (test/s3/start-swift.sh) unless S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY are
 * set. Keys come from DEBUG POPULATE (value size 100) on both servers.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { RespClient } from './resp.mjs';
import { startDamselfly, startRedis, statusKiB } from './servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KEYS = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 3);

let swiftDir = null;
let env = process.env;
if (!env.S3_ENDPOINT) {
  const out = execFileSync(path.join(ROOT, 'test/s3/start-swift.sh'), { encoding: 'utf8' });
  env = { ...env, ...Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) };
  swiftDir = env.S3_DIR;
}
process.env.AWS_ACCESS_KEY_ID = env.S3_ACCESS_KEY;
process.env.AWS_SECRET_ACCESS_KEY = env.S3_SECRET_KEY;
const region = env.S3_REGION ?? 'us-east-1';
const endpoint = env.S3_ENDPOINT.replace(/^https?:\/\//, '');
const client = new S3Client({ endpoint: env.S3_ENDPOINT, region, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });

async function bucket() {
  const b = `dfly-bench-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: b }));
  return `s3://${b}/snaps`;
}

/** SAVE on a populated server: ms and peak RSS growth (MiB) of the serving process, sampled every 10 ms. */
async function timedSave(srv) {
  const c = await RespClient.connect(srv.port);
  try {
    const base = statusKiB(srv.pid, 'VmRSS');
    let peak = base;
    const t = setInterval(() => (peak = Math.max(peak, statusKiB(srv.pid, 'VmRSS'))), 10);
    const t0 = performance.now();
    const r = await c.call('SAVE');
    const ms = performance.now() - t0;
    clearInterval(t);
    if (r !== 'OK') throw new Error(`SAVE: ${r}`);
    return { ms, rssMiB: (peak - base) / 1024 };
  } finally {
    c.close();
  }
}

async function populate(port) {
  const c = await RespClient.connect(port);
  try {
    const r = await c.call('DEBUG', 'POPULATE', String(KEYS), 'key', '100');
    if (r !== 'OK') throw new Error(`DEBUG POPULATE: ${r}`);
  } finally {
    c.close();
  }
}

async function damselfly(locs) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dfly-bench-'));
  const args = ['--s3_endpoint', endpoint, '--nos3_use_https', '--s3_region', region, '--snapshot_keep', '1', '--enable-debug-command', 'yes'];
  if (locs.length > 1) args.push(`--snapshot_replicas=${locs.slice(1).join(',')}`);
  const srv = await startDamselfly(locs[0], { args });
  try {
    await populate(srv.port);
    const out = [];
    for (let i = 0; i < RUNS; i++) out.push(await timedSave(srv));
    return out;
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function redis() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redis-bench-'));
  const srv = await startRedis(dir, ['--enable-debug-command', 'yes']);
  try {
    await populate(srv.port);
    const out = [];
    for (let i = 0; i < RUNS; i++) out.push(await timedSave(srv));
    return out;
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const folder = () => mkdtempSync(path.join(os.tmpdir(), 'dfly-bench-loc-'));

try {
  console.log(`${KEYS} keys (DEBUG POPULATE, 100-byte values), ${RUNS} SAVEs each, medians; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const rows = [];
  const ref = await redis();
  const refMs = median(ref.map((x) => x.ms));
  rows.push(['redis-server SAVE (local disk)', refMs, median(ref.map((x) => x.rssMiB))]);
  const layouts = [
    ['damselfly folder x1', async () => [folder()]],
    ['damselfly folder x3', async () => [folder(), folder(), folder()]],
    ['damselfly s3 x1', async () => [await bucket()]],
    ['damselfly s3 x3', async () => [await bucket(), await bucket(), await bucket()]],
  ];
  for (const [name, make] of layouts) {
    const r = await damselfly(await make());
    rows.push([name, median(r.map((x) => x.ms)), median(r.map((x) => x.rssMiB))]);
  }
  console.log('| layout | SAVE ms | vs redis-server | peak RSS growth MiB |');
  console.log('|---|---:|---:|---:|');
  for (const [name, ms, rss] of rows) console.log(`| ${name} | ${ms.toFixed(0)} | ${(ms / refMs).toFixed(2)}x | ${rss.toFixed(0)} |`);
  console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  if (swiftDir) execFileSync(path.join(ROOT, 'test/s3/stop-swift.sh'), [swiftDir, '--rm']);
}
