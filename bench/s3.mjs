#!/usr/bin/env node
/**
 * S3 snapshot backend throughput against the raw SDK on the same store:
 *   upload:  S3Backend writer (lib-storage Upload underneath) vs a bare Upload
 *   restore: S3Backend.open (If-Match-pinned parallel ranges) vs bare parallel ranged GETs
 * and the peak RSS growth of each, which should stay near part size x concurrency.
 *
 *   npm run build && node bench/s3.mjs [MiB=200]
 * Uses S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY (+S3_BUCKET) if set, else
 * starts a throw-away Swift with test/s3/start-swift.sh and stops it after.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { S3Backend } from '../dist/storage/s3.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;
const SIZE = Number(process.argv[2] ?? 200) * MiB;
const PART = 8 * MiB;
const CONC = 4;

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
const client = new S3Client({
  endpoint: env.S3_ENDPOINT, region, forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
});
const bucket = env.S3_BUCKET ?? `dfly-bench-${randomBytes(4).toString('hex')}`;
if (!env.S3_BUCKET) await client.send(new CreateBucketCommand({ Bucket: bucket }));
const prefix = `bench-${randomBytes(4).toString('hex')}`;

const block = randomBytes(MiB);
function source() {
  let sent = 0;
  return new Readable({ read() { if (sent >= SIZE) return this.push(null); sent += MiB; this.push(block); } });
}

async function measure(name, fn) {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = process.hrtime.bigint();
  await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(timer);
  console.log(`${name.padEnd(34)} ${(SIZE / MiB / s).toFixed(1).padStart(7)} MiB/s   peak RSS +${((peak - base) / MiB).toFixed(0)} MiB`);
}

const backend = new S3Backend({ bucket, prefix: prefix + '/' }, {
  endpoint: env.S3_ENDPOINT, region, ec2Metadata: false, signPayload: true, checksum: 'auto',
  partSize: PART, concurrency: CONC, requestTimeoutMs: 60000,
});
console.log(`${SIZE / MiB} MiB, part ${PART / MiB} MiB, concurrency ${CONC}, ${env.S3_ENDPOINT}`);
try {
  let etag;
  await measure('upload: raw lib-storage Upload', async () => {
    const r = await new Upload({ client, params: { Bucket: bucket, Key: `${prefix}/raw`, Body: source() }, partSize: PART, queueSize: CONC }).done();
    etag = r.ETag;
  });
  let manifest;
  await measure('upload: S3Backend writer', async () => {
    const w = await backend.create('bench');
    const { size, etag: e } = await w.upload(source());
    manifest = { format: 1, id: 'bench', seq: 1, createdAt: Date.now(), serverId: 'bench', dataName: w.dataName, size, checksum: '', keys: [0], etag: e };
  });
  await measure('restore: raw parallel ranged GETs', async () => {
    const n = Math.ceil(SIZE / PART);
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/raw`, Range: `bytes=${i * PART}-${Math.min(SIZE, (i + 1) * PART) - 1}`, IfMatch: etag }));
        await r.Body.transformToByteArray();
      }
    };
    await Promise.all(Array.from({ length: CONC }, worker));
  });
  await measure('restore: S3Backend.open (pinned)', async () => {
    let got = 0;
    for await (const c of await backend.open(manifest)) got += c.length;
    if (got !== SIZE) throw new Error(`read ${got} of ${SIZE}`);
  });
} finally {
  if (swiftDir) execFileSync(path.join(ROOT, 'test/s3/stop-swift.sh'), [swiftDir, '--rm']);
}
