/**
 * The S3 snapshot backend against a real S3 server (Swift + s3api, or
 * S3_ENDPOINT) through the fault-injecting proxy.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Backend, parseS3Url } from '../src/storage/s3.js';
import { BackendError, type Manifest } from '../src/storage/backend.js';
import type { S3Settings } from '../src/storage/s3-params.js';
import { WRITER_ID } from '../src/storage/writer.js';
import { S3Proxy, on } from './helpers/s3-proxy.js';
import { credentialEnv, directClient, freshLocation, s3Env, type S3TestEnv } from './helpers/s3-env.js';

const MiB = 1024 * 1024;
let env: S3TestEnv;
let direct: S3Client;
let proxy: S3Proxy;

beforeAll(async () => {
  env = await s3Env();
  direct = directClient(env);
  proxy = await S3Proxy.start(env.endpoint);
  Object.assign(process.env, credentialEnv(env));
});
afterAll(async () => {
  await proxy?.close();
});

function settings(over: Partial<S3Settings> = {}): S3Settings {
  return {
    endpoint: proxy.url,
    region: env.region,
    ec2Metadata: false,
    signPayload: true,
    checksum: 'auto',
    partSize: 5 * MiB,
    concurrency: 3,
    requestTimeoutMs: 3000,
    ...over,
  };
}

async function backendAt(over: Partial<S3Settings> = {}): Promise<{ b: S3Backend; bucket: string; prefix: string }> {
  const loc = await freshLocation(env, direct);
  return { b: new S3Backend(parseS3Url(loc.url), settings(over)), bucket: loc.bucket, prefix: loc.prefix };
}

function pattern(size: number, seed: number): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) buf.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return buf;
}

/** A stream of `data` in 1 MiB pieces, optionally waiting before each. */
function streamOf(data: Buffer, beforeChunk?: (i: number) => Promise<void>): Readable {
  let i = 0;
  return new Readable({
    async read() {
      if (i * MiB >= data.length) return this.push(null);
      try {
        await beforeChunk?.(i);
      } catch (e) {
        this.destroy(e as Error);
        return;
      }
      this.push(data.subarray(i * MiB, (i + 1) * MiB));
      i++;
    },
  });
}

async function save(b: S3Backend, seq: number, data: Buffer): Promise<Manifest> {
  const id = `snap-${seq}`;
  const w = await b.create(id);
  const { size, etag } = await w.upload(streamOf(data));
  const m: Manifest = {
    format: 1,
    id,
    seq,
    createdAt: Date.now(),
    serverId: 'test',
    dataName: w.dataName,
    size,
    checksum: createHash('sha256').update(data).digest('hex'),
    keys: [1],
    etag,
  };
  await w.commit(m);
  return m;
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function failureOf(p: Promise<unknown>): Promise<BackendError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(BackendError);
  return e as BackendError;
}

describe('S3 backend: writing and reading', () => {
  it('uploads multipart, commits a manifest, lists it, reads it back with If-Match-pinned parallel ranges', async () => {
    const { b, bucket, prefix } = await backendAt();
    const data = pattern(12 * MiB + 12345, 1);
    const m = await save(b, 1, data);
    expect(m.size).toBe(data.length);
    expect(m.etag).toMatch(/-3"$/); // three parts
    const list = await b.list();
    expect(list.map((x) => x.id)).toEqual(['snap-1']);
    expect(list[0].etag).toBe(m.etag);

    const before = proxy.requests.length;
    const back = await readAll(await b.open(list[0]));
    expect(back.equals(data)).toBe(true);
    const gets = proxy.requests.slice(before).filter(on.rangedGet(/data\//));
    expect(gets.length).toBe(3);
    for (const g of gets) expect(g.headers['if-match']).toBe(m.etag);

    // Objects are where the layout says, under the prefix.
    const objs = await direct.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix + '/' }));
    const keys = (objs.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1)).sort();
    // The data name carries this process's writer id (src/storage/writer.ts).
    expect(keys).toEqual([`data/snap-1.${WRITER_ID}.dfs`, 'manifests/0000000000000001-snap-1.json']);
    expect(proxy.requests.some((r) => r.query.has('location'))).toBe(false);
  });

  it('writes the manifest create-only: committing the same snapshot twice fails and keeps the first', async () => {
    const { b } = await backendAt();
    const m = await save(b, 1, pattern(1000, 2));
    const w = await b.create('snap-1b');
    const e = await failureOf(w.commit({ ...m, checksum: 'other' }));
    expect(e.code).toBe('PreconditionFailed');
    expect((await b.list())[0].checksum).toBe(m.checksum);
  });

  it('lists newest first across pages and skips malformed manifests, reporting them', async () => {
    const { b, bucket, prefix } = await backendAt({ listPageSize: 2 });
    for (let s = 1; s <= 5; s++) await save(b, s, pattern(100, s));
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/manifests/0000000000000009-broken.json`, Body: '{"format":1,' }));
    const before = proxy.requests.length;
    const list = await b.list();
    expect(list.map((m) => m.seq)).toEqual([5, 4, 3, 2, 1]);
    expect(proxy.requests.slice(before).filter(on.list()).length).toBe(3);
    expect(b.lastListProblems.map((p) => p.name)).toEqual(['manifests/0000000000000009-broken.json']);
  });

  it('deletes manifest first, then data', async () => {
    const { b, bucket, prefix } = await backendAt();
    const m1 = await save(b, 1, pattern(100, 1));
    await save(b, 2, pattern(100, 2));
    const before = proxy.requests.length;
    await b.delete(m1);
    const dels = proxy.requests.slice(before).filter(on.method('DELETE')).map((r) => r.path);
    expect(dels[0]).toContain('/manifests/');
    expect(dels[1]).toContain('/data/');
    expect((await b.list()).map((m) => m.seq)).toEqual([2]);
    const objs = await direct.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix + '/' }));
    expect(objs.KeyCount).toBe(2);
  });

  it('keeps memory bounded: never more than concurrency parts in flight', async () => {
    const { b } = await backendAt({ concurrency: 2 });
    let inFlight = 0;
    let peak = 0;
    proxy.add(on.uploadPart(), {
      before: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 150));
        inFlight--;
      },
    });
    try {
      await save(b, 1, pattern(21 * MiB, 3));
    } finally {
      proxy.reset();
    }
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBeGreaterThanOrEqual(1);
  });
});

describe('S3 backend: request options', () => {
  it('--nos3_sign_payload sends UNSIGNED-PAYLOAD and the store accepts it', async () => {
    const { b } = await backendAt({ signPayload: false });
    const before = proxy.requests.length;
    const data = pattern(6 * MiB, 11);
    const m = await save(b, 1, data);
    const puts = proxy.requests.slice(before).filter(on.method('PUT'));
    expect(puts.length).toBeGreaterThan(0);
    for (const p of puts) expect(p.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect((await readAll(await b.open(m))).equals(data)).toBe(true);
  });

  it('signs payloads by default and sends no aws-chunked/CRC32 framing to a custom endpoint', async () => {
    const { b } = await backendAt();
    const before = proxy.requests.length;
    await save(b, 1, pattern(6 * MiB, 12));
    const puts = proxy.requests.slice(before).filter(on.method('PUT'));
    for (const p of puts) {
      expect(p.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
      expect(String(p.headers['content-encoding'] ?? '')).not.toContain('aws-chunked');
      expect(p.headers['x-amz-checksum-crc32']).toBeUndefined();
    }
  });
});

describe('S3 backend: failed uploads', () => {
  it('a part that keeps failing aborts the multipart upload: no parts, no manifest, earlier snapshots stay', async () => {
    const { b, bucket, prefix } = await backendAt();
    await save(b, 1, pattern(1000, 1));
    proxy.add((r) => on.uploadPart()(r) && r.query.get('partNumber') === '2', { status: 500, code: 'InternalError' });
    const w = await b.create('snap-2');
    try {
      const e = await failureOf(w.upload(streamOf(pattern(11 * MiB, 2))));
      expect(e.failure).toBe('transient');
      await w.abort();
    } finally {
      proxy.reset();
    }
    const mpu = await direct.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix + '/' }));
    expect(mpu.Uploads ?? []).toEqual([]);
    expect((await b.list()).map((m) => m.id)).toEqual(['snap-1']);
    expect(proxy.requests.some((r) => r.method === 'DELETE' && r.query.has('uploadId'))).toBe(true);
  });

  it('a source stream that fails mid-upload aborts too', async () => {
    const { b, bucket, prefix } = await backendAt();
    const src = streamOf(pattern(12 * MiB, 4), async (i) => {
      if (i === 7) throw new Error('serializer exploded');
    });
    const w = await b.create('snap-1');
    await expect(w.upload(src)).rejects.toThrow();
    await w.abort();
    const mpu = await direct.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix + '/' }));
    expect(mpu.Uploads ?? []).toEqual([]);
    expect(await b.list()).toEqual([]);
  });

  it('survives a transient 503 on one part (the SDK retries it)', async () => {
    const { b } = await backendAt();
    proxy.add(on.uploadPart(), { status: 503, code: 'SlowDown' }, 1);
    try {
      const m = await save(b, 1, pattern(11 * MiB, 5));
      expect(m.size).toBe(11 * MiB);
    } finally {
      proxy.reset();
    }
  });
});

describe('S3 backend: loading under faults', () => {
  it('an object replaced mid-load fails the stream with "changed" (412), never mixing versions', async () => {
    const { b, bucket, prefix } = await backendAt({ concurrency: 1 });
    const data = pattern(11 * MiB, 6);
    const m = await save(b, 1, data);
    let replaced = false;
    proxy.add(
      (r) => on.rangedGet(/data\//)(r) && String(r.headers.range).startsWith(`bytes=${5 * MiB}-`),
      {
        before: async () => {
          await direct.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${m.dataName}`, Body: pattern(11 * MiB, 7) }));
          replaced = true;
        },
      },
      1,
    );
    try {
      const e = await failureOf(readAll(await b.open(m)));
      expect(replaced).toBe(true);
      expect(e.failure).toBe('changed');
    } finally {
      proxy.reset();
    }
  });

  it('a manifest without data is corrupt', async () => {
    const { b } = await backendAt();
    const m = await save(b, 1, pattern(1000, 8));
    await b.delete({ ...m, dataName: 'nothing' }).catch(() => {});
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await direct.send(new DeleteObjectCommand({ Bucket: b.where.bucket, Key: b.where.prefix + m.dataName }));
    const e = await failureOf(b.open(m).then(readAll));
    expect(e.failure).toBe('corrupt');
    expect(e.message).toMatch(/manifest without data/);
  });

  it('a truncated data object is corrupt', async () => {
    const { b, bucket, prefix } = await backendAt();
    const m = await save(b, 1, pattern(3000, 9));
    const put = await direct.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${m.dataName}`, Body: pattern(2000, 9) }));
    const e = await failureOf(b.open({ ...m, etag: put.ETag }).then(readAll));
    expect(e.failure).toBe('corrupt');
  });

  it('a reset mid-load is retried per range', async () => {
    const { b } = await backendAt();
    const data = pattern(6 * MiB, 10);
    const m = await save(b, 1, data);
    proxy.add(on.rangedGet(/data\//), { reset: true }, 1);
    try {
      expect((await readAll(await b.open(m))).equals(data)).toBe(true);
    } finally {
      proxy.reset();
    }
  });
});

describe('S3 backend: error classification', () => {
  it('missing bucket: check() is "missing" and names bucket, prefix, code and a hint', async () => {
    const b = new S3Backend(parseS3Url('s3://dfly-no-such-bucket-xyz/some/prefix'), settings());
    const e = await failureOf(b.check());
    expect(e.failure).toBe('missing');
    expect(e.message).toContain("bucket 'dfly-no-such-bucket-xyz'");
    expect(e.message).toContain("prefix 'some/prefix/'");
    expect(e.message).toMatch(/NotFound|NoSuchBucket/);
    expect(e.message).toMatch(/Hint:/);
    const l = await failureOf(b.list());
    expect(l.failure).toBe('missing');
    expect(l.code).toBe('NoSuchBucket');
  });

  it('403 AccessDenied / SignatureDoesNotMatch are "auth"', async () => {
    const { b } = await backendAt();
    for (const code of ['AccessDenied', 'SignatureDoesNotMatch']) {
      proxy.add(on.any(), { status: 403, code });
      try {
        const e = await failureOf(b.list());
        expect(e.failure).toBe('auth');
        expect(e.code).toBe(code);
      } finally {
        proxy.reset();
      }
    }
  });

  it('a wrong secret key against the real server is "auth"', async () => {
    const { b } = await backendAt();
    process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret';
    try {
      await b.refreshCredentials();
      const e = await failureOf(b.list());
      expect(e.failure).toBe('auth');
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = env.secretKey;
    }
  });

  it('5xx, SlowDown, resets and timeouts are "transient" after the SDK retries', async () => {
    const { b } = await backendAt({ requestTimeoutMs: 300 });
    const faults = [{ status: 503, code: 'SlowDown' }, { status: 500, code: 'InternalError' }, { reset: true as const }, { delayMs: 1500 }];
    for (const f of faults) {
      proxy.add(on.list(), f);
      try {
        const before = proxy.requests.length;
        const e = await failureOf(b.list());
        expect(e.failure, JSON.stringify(f) + ' ' + e.message).toBe('transient');
        expect(proxy.requests.slice(before).filter(on.list()).length).toBe(3);
      } finally {
        proxy.reset();
      }
    }
  });
});

describe('S3 backend: region', () => {
  it('discovers the region with HeadBucket (also from a 403 response), never GetBucketLocation', async () => {
    const loc = await freshLocation(env, direct);
    const b = new S3Backend(parseS3Url(loc.url), settings({ region: undefined }));
    proxy.add(on.bucket('HEAD'), { status: 403, code: 'AccessDenied', headers: { 'x-amz-bucket-region': env.region } }, 1);
    try {
      await b.list();
    } finally {
      proxy.reset();
    }
    expect(proxy.requests.some((r) => r.query.has('location'))).toBe(false);
    expect(proxy.requests.filter((r) => on.bucket('HEAD')(r) && r.path.startsWith(`/${loc.bucket}`)).length).toBeGreaterThanOrEqual(1);
  });

  it('a 301 with x-amz-bucket-region later switches the signing region and retries once', async () => {
    const loc = await freshLocation(env, direct);
    const b = new S3Backend(parseS3Url(loc.url), settings({ region: undefined }));
    // First discovery says eu-west-3 (as if the bucket lived there) ...
    proxy.add(on.bucket('HEAD'), { status: 403, code: 'AccessDenied', headers: { 'x-amz-bucket-region': 'eu-west-3' } }, 1);
    proxy.add(on.bucket('HEAD'), { status: 200, code: 'OK' }, 1);
    await b.check();
    // ... then the bucket "moves back": a 301 names the real region.
    proxy.reset();
    proxy.add(on.list(), { redirectRegion: env.region }, 1);
    const before = proxy.requests.length;
    try {
      await b.list();
    } finally {
      proxy.reset();
    }
    const lists = proxy.requests.slice(before).filter(on.list());
    expect(lists.length).toBe(2);
    expect(String(lists[0].headers.authorization)).toContain('/eu-west-3/s3/');
    expect(String(lists[1].headers.authorization)).toContain(`/${env.region}/s3/`);
  });
});
