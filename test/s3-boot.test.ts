/**
 * Safe boot from S3, row by row of the --snapshot_strict table, with the
 * real server process, a real S3 server, and failures injected by the proxy.
 */
import { beforeAll, describe, expect, it, vi, type TestContext } from 'vitest';
import Redis from 'ioredis';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Proxy, on } from './helpers/s3-proxy.js';
import { credentialEnv, directClient, freshLocation, randomName, s3Env, type S3TestEnv } from './helpers/s3-env.js';
import { directBackend, fatalExit, fenceCause, fenceUp, infoFields, keyspaceWith, ready, startS3Server, writeSnapshotS3 } from './helpers/s3-server.js';
import { until, type TestServer } from './helpers/server.js';

// Concurrent server starts on a shared 2-core machine: give each test room.
vi.setConfig({ testTimeout: 90_000 });

let env: S3TestEnv;
let direct: S3Client;

beforeAll(async () => {
  env = await s3Env();
  direct = directClient(env);
  Object.assign(process.env, credentialEnv(env));
});

/**
 * Per test: its own proxy, servers and clients (released when the test ends),
 * so the tests of this file run concurrently: most of their time is spent
 * waiting on timeouts, backoff and server start-up.
 */
async function setup(t: TestContext) {
  const proxy = await S3Proxy.start(env.endpoint);
  const servers: TestServer[] = [];
  const clients: Redis[] = [];
  // The test's own hook: concurrent tests are not tracked by the global one.
  t.onTestFinished(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
    await proxy.close();
  });
  const start = async (url: string, extra: string[] = [], envExtra: NodeJS.ProcessEnv = {}): Promise<TestServer> => {
    const s = await startS3Server(url, proxy, env, extra, envExtra);
    servers.push(s);
    return s;
  };
  const client = (s: TestServer): Redis => {
    const c = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableReadyCheck: false });
    clients.push(c);
    return c;
  };
  const expectFenced = (s: TestServer, causeRe: RegExp) => expectFencedWith(client, s, causeRe);
  return { proxy, start, client, expectFenced };
}

/** A location holding two committed snapshots: seq 1 (10 keys) and seq 2 (20 keys). */
async function twoSnapshots(): Promise<{ url: string; bucket: string; prefix: string; m1: import('../src/storage/backend.js').Manifest; m2: import('../src/storage/backend.js').Manifest }> {
  const loc = await freshLocation(env, direct);
  const b = directBackend(loc.url, env);
  const m1 = await writeSnapshotS3(keyspaceWith(10, 'one'), b, 1);
  const m2 = await writeSnapshotS3(keyspaceWith(20, 'two'), b, 2);
  return { ...loc, m1, m2 };
}

async function expectFencedWith(client: (s: TestServer) => Redis, s: TestServer, causeRe: RegExp): Promise<Redis> {
  await ready(s);
  const r = client(s);
  expect(await fenceUp(r)).toBe(true);
  const f = await infoFields(r);
  if (f) {
    expect(f.snapshot_fenced).toBe('1');
    expect(f.snapshot_fence_cause).toMatch(causeRe);
  }
  await expect(r.bgsave()).rejects.toThrow(/snapshots are fenced.*CONFIG SET snapshot-fence no/);
  const saveErr = await r.save().then(() => null, (e: Error) => e.message);
  expect(saveErr).toMatch(/snapshots are fenced/);
  expect(saveErr).toMatch(causeRe);
  return r;
}

describe.concurrent('boot: nothing to load', () => {
  it('an empty prefix in an existing bucket starts empty and unfenced, and logs it', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const loc = await freshLocation(env, direct);
    const s = await start(loc.url);
    await ready(s);
    expect(s.logs.some((l) => /no snapshot found: starting with an empty dataset/.test(l.msg))).toBe(true);
    const r = client(s);
    expect(await r.dbsize()).toBe(0);
    expect(await fenceUp(r)).toBe(false);
    expect(await r.save()).toBe('OK');
    expect((await directBackend(loc.url, env).list()).length).toBe(1);
  });
});

describe.concurrent('boot: loads the newest complete snapshot', () => {
  it('reads the newest snapshot with If-Match-pinned ranged GETs and serves its keys', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url, m2 } = await twoSnapshots();
    const s = await start(url);
    await ready(s);
    const r = client(s);
    expect(await r.dbsize()).toBe(20);
    await r.select(3);
    expect(await r.dbsize()).toBe(1);
    const gets = proxy.seen(on.rangedGet(/data\//));
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.every((g) => g.headers['if-match'] === m2.etag)).toBe(true);
    expect(proxy.seen((q) => q.query.has('location')).length).toBe(0);
  });

  it('without --s3_region or AWS_REGION the region comes from HeadBucket', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url } = await twoSnapshots();
    const before = proxy.requests.length;
    const s = await start(url, ['--s3_region', '']);
    await ready(s);
    expect(await client(s).dbsize()).toBe(20);
    expect(s.logs.some((l) => l.msg === 'S3 bucket region discovered' && l.region === env.region)).toBe(true);
    expect(proxy.requests.slice(before).some((q) => q.query.has('location'))).toBe(false);
  });
});

describe.concurrent('boot: bucket missing', () => {
  it('strict: exits non-zero naming bucket, prefix, code and a hint', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const bucket = randomName('dfly-missing');
    const s = await start(`s3://${bucket}/some/prefix`, ['--snapshot_strict']);
    const { code, message } = await fatalExit(s);
    expect(code).not.toBe(0);
    expect(message).toContain(`bucket '${bucket}'`);
    expect(message).toContain("prefix 'some/prefix/'");
    expect(message).toMatch(/NotFound|NoSuchBucket/);
    expect(message).toMatch(/Hint: create the bucket/);
  });

  it('not strict: serves empty and fenced; lifting re-checks the backend first', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const bucket = randomName('dfly-missing');
    const s = await start(`s3://${bucket}/p`, ['--nosnapshot_strict']);
    const r = await expectFenced(s, /missing: .*does not exist/);
    // Lifting while the bucket is still missing fails and keeps the fence up.
    expect(await r.call('config', 'set', 'snapshot-fence', 'no')).toBe('OK');
    await until(async () => (await fenceCause(r)).includes('lifting failed'), 'the fence to report the failed lift', 10000);
    expect(await fenceUp(r)).toBe(true);
    // Once the bucket exists the operator can lift it, and saves work.
    await direct.send(new CreateBucketCommand({ Bucket: bucket }));
    await r.call('config', 'set', 'snapshot-fence', 'no');
    await until(async () => !(await fenceUp(r)), 'the fence to lift', 10000);
    expect(await r.save()).toBe('OK');
    expect((await directBackend(`s3://${bucket}/p`, env).list()).length).toBe(1);
  });
});

describe.concurrent('boot: credentials refused', () => {
  // SignatureDoesNotMatch is classified in s3-backend.test.ts; one server start per row here.
  for (const code of ['AccessDenied', 'InvalidAccessKeyId']) {
    it(`strict: 403 ${code} is fatal`, async (t) => {
      const { proxy, start, client, expectFenced } = await setup(t);
      const { url } = await twoSnapshots();
      proxy.rejectKey(env.accessKey, code);
      const s = await start(url);
      const { code: exit, message } = await fatalExit(s);
      expect(exit).not.toBe(0);
      expect(message).toContain(code);
      expect(message).toMatch(/Hint: check the credentials/);
    });
  }

  it('strict: an expired token is refreshed once, then fatal', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url } = await twoSnapshots();
    proxy.rejectKey(env.accessKey, 'ExpiredToken');
    const s = await start(url);
    const { code, message } = await fatalExit(s);
    expect(code).not.toBe(0);
    expect(message).toContain('ExpiredToken');
    expect(s.logs.some((l) => /refreshing them and retrying once/.test(l.msg))).toBe(true);
    // One retry after the refresh, not a loop.
    expect(proxy.seen((q) => q.fault === 'reject-key:ExpiredToken' && on.list()(q)).length).toBe(2);
  });

  it('not strict: serves empty and fenced; snapshots in the bucket are untouched', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url } = await twoSnapshots();
    proxy.rejectKey(env.accessKey, 'AccessDenied');
    const before = proxy.requests.length;
    const s = await start(url, ['--nosnapshot_strict']);
    const r = await expectFenced(s, /auth: .*AccessDenied/);
    expect(await r.dbsize()).toBe(0);
    const sent = proxy.requests.slice(before);
    expect(sent.filter((q) => q.method === 'DELETE' || q.method === 'PUT' || q.method === 'POST').length).toBe(0);
    // The keys are still there for a correctly configured server.
    proxy.reset();
    const s2 = await start(url);
    await ready(s2);
    expect(await client(s2).dbsize()).toBe(20);
  });
});

describe.concurrent('boot: transient failures', () => {
  it('retries 5xx/SlowDown with backoff and loads once S3 recovers', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url } = await twoSnapshots();
    proxy.add(on.any(), { status: 503, code: 'SlowDown' }, 5);
    proxy.add(on.any(), { status: 500, code: 'InternalError' }, 2);
    proxy.add(on.any(), { reset: true }, 2);
    const s = await start(url, ['--snapshot_load_timeout', '20']);
    await ready(s);
    expect(await client(s).dbsize()).toBe(20);
    expect(s.logs.some((l) => /snapshot backend unavailable: retrying/.test(l.msg))).toBe(true);
  });

  it('a stall longer than the request timeout is retried too', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url } = await twoSnapshots();
    proxy.add(on.rangedGet(/data\//), { delayMs: 4000 }, 1);
    const s = await start(url, ['--s3_request_timeout', '500']);
    await ready(s);
    expect(await client(s).dbsize()).toBe(20);
  });

  it('strict: still failing at --snapshot_load_timeout is fatal', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url } = await twoSnapshots();
    proxy.add(on.any(), { status: 503, code: 'SlowDown' });
    const t0 = Date.now();
    const s = await start(url, ['--snapshot_load_timeout', '2']);
    const { code, message } = await fatalExit(s);
    expect(code).not.toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(message).toMatch(/still failing after .*snapshot_load_timeout/);
    expect(message).toMatch(/SlowDown|503/);
  });

  it('not strict: connection refused until the timeout starts empty and fenced', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const loc = await freshLocation(env, direct);
    const dead = await S3Proxy.start(env.endpoint);
    const port = dead.hostPort;
    await dead.close();
    const s = await start(loc.url, ['--nosnapshot_strict', '--snapshot_load_timeout', '1', '--s3_endpoint', port]);
    await expectFenced(s, /transient: .*(ECONNREFUSED|connect)/);
  });
});

describe.concurrent('boot: damaged snapshots', () => {
  it('strict: a manifest without data is fatal', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url, bucket, prefix, m2 } = await twoSnapshots();
    await direct.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}/${m2.dataName}` }));
    const s = await start(url);
    const { code, message } = await fatalExit(s);
    expect(code).not.toBe(0);
    expect(message).toMatch(/manifest without data/);
    expect(message).toContain(m2.id);
  });

  it('not strict: a manifest without data falls back to the previous complete snapshot, unfenced', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url, bucket, prefix, m2 } = await twoSnapshots();
    await direct.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}/${m2.dataName}` }));
    const s = await start(url, ['--nosnapshot_strict']);
    await ready(s);
    const r = client(s);
    expect(await r.dbsize()).toBe(10);
    expect(await fenceUp(r)).toBe(false);
    expect(s.logs.some((l) => /FELL BACK TO AN OLDER SNAPSHOT/.test(l.msg))).toBe(true);
  });

  it('strict: corrupt data (checksum mismatch) is fatal; not strict falls back', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url, bucket, prefix, m2 } = await twoSnapshots();
    // Same size, one byte flipped, and the manifest re-pointed at it (as bit rot under a valid ETag would be).
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const got = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/${m2.dataName}` }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    bytes[Math.floor(bytes.length / 2)] ^= 0x55;
    const put = await direct.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${m2.dataName}`, Body: bytes }));
    const mKey = `${prefix}/manifests/${String(m2.seq).padStart(16, '0')}-${m2.id}.json`;
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: mKey, Body: JSON.stringify({ ...m2, etag: put.ETag }) }));
    const s = await start(url);
    const { code, message } = await fatalExit(s);
    expect(code).not.toBe(0);
    expect(message).toContain(m2.id);
    const s2 = await start(url, ['--nosnapshot_strict']);
    await ready(s2);
    expect(await client(s2).dbsize()).toBe(10);
  });

  it('strict: a manifest whose key counts disagree with the data is fatal', async (t) => {
    const { start } = await setup(t);
    const { url, bucket, prefix, m2 } = await twoSnapshots();
    const mKey = `${prefix}/manifests/${String(m2.seq).padStart(16, '0')}-${m2.id}.json`;
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: mKey, Body: JSON.stringify({ ...m2, keys: [19, 0, 0, 1] }) }));
    const s = await start(url);
    const { code, message } = await fatalExit(s);
    expect(code).not.toBe(0);
    expect(message).toMatch(/db 0 has 20 keys, the manifest says 19/);
  });

  it('strict: an unreadable newer manifest is fatal; not strict loads the readable one', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url, bucket, prefix } = await twoSnapshots();
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/manifests/0000000000000003-dump-x.json`, Body: '{"format":1,"id":' }));
    const s = await start(url);
    const { code, message } = await fatalExit(s);
    expect(code).not.toBe(0);
    expect(message).toMatch(/damaged snapshot manifest.*0000000000000003-dump-x/);
    const s2 = await start(url, ['--nosnapshot_strict']);
    await ready(s2);
    expect(await client(s2).dbsize()).toBe(20);
  });

  it('not strict: the only snapshot damaged starts empty and fenced', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const loc = await freshLocation(env, direct);
    const m = await writeSnapshotS3(keyspaceWith(5, 'only'), directBackend(loc.url, env), 1);
    await direct.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: `${loc.prefix}/${m.dataName}` }));
    const s = await start(loc.url, ['--nosnapshot_strict']);
    await expectFenced(s, /damaged/);
  });
});

describe.concurrent('boot: snapshot replaced while loading', () => {
  it('restarts the load from a fresh listing and loads the consistent version', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url, bucket, prefix, m2 } = await twoSnapshots();
    const key = `${prefix}/${m2.dataName}`;
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const original = Buffer.from(await (await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    // First ranged GET: the object is overwritten just before it is read (412) ...
    proxy.add(
      on.rangedGet(/data\//),
      {
        before: async () => {
          await direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('something else') }));
          // ... and by the fresh listing of the restart the original is back (same MD5 ETag: single-part object).
          proxy.add(on.list(), { before: async () => void (await direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: original }))) }, 1);
        },
      },
      1,
    );
    const s = await start(url);
    await ready(s);
    expect(await client(s).dbsize()).toBe(20);
    expect(s.logs.some((l) => /snapshot changed while loading/.test(l.msg))).toBe(true);
    expect(proxy.seen(on.list()).length).toBeGreaterThanOrEqual(2);
  });

  it('strict: an object that keeps changing is fatal after bounded restarts; not strict fences', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url, bucket, prefix, m2 } = await twoSnapshots();
    const key = `${prefix}/${m2.dataName}`;
    let n = 0;
    proxy.add(on.rangedGet(/data\//), { before: async () => void (await direct.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `v${n++}` }))) });
    const s = await start(url);
    const { code, message } = await fatalExit(s);
    expect(code).not.toBe(0);
    expect(message).toMatch(/kept changing while it was loaded \(5 restarts\)/);
    const s2 = await start(url, ['--nosnapshot_strict']);
    await expectFenced(s2, /changed: /);
  });
});

describe.concurrent('saving to S3', () => {
  it('a failed upload reports err in INFO and MISCONF on writes; earlier snapshots stay; the next save recovers', async (t) => {
    const { proxy, start, client, expectFenced } = await setup(t);
    const { url, bucket, prefix } = await twoSnapshots();
    const s = await start(url, ['--save', '3600 1']);
    await ready(s);
    const r = client(s);
    proxy.add(on.method('PUT'), { status: 500, code: 'InternalError' });
    // A failed SAVE answers an error only; a failed background save sets err and MISCONF (as in Redis).
    await expect(r.save()).rejects.toThrow(/ERR/);
    expect((await infoFields(r))?.rdb_last_bgsave_status).toBe('ok');
    expect(await r.bgsave()).toBe('Background saving started');
    await until(async () => (await infoFields(r))?.rdb_bgsave_in_progress === '0', 'the background save to end', 30_000);
    expect((await infoFields(r))?.rdb_last_bgsave_status).toBe('err');
    await expect(r.set('k', 'v')).rejects.toThrow(/^MISCONF/);
    expect(proxy.seen(on.method('DELETE')).filter((q) => !q.query.has('uploadId')).length).toBe(0);
    proxy.reset();
    expect(await r.save()).toBe('OK');
    // With save rules, FLUSHALL saves the empty dataset before answering.
    expect(await r.flushall()).toBe('OK');
    // Retention (default keep 5) deleted nothing; the failed saves' seqs (3, 4) are not reused.
    const list = await directBackend(url, env).list();
    expect(list.map((m) => m.seq)).toEqual([6, 5, 2, 1]);
    // No multipart upload left behind by the failed save.
    const { ListMultipartUploadsCommand } = await import('@aws-sdk/client-s3');
    const mpu = await direct.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix + '/' }));
    expect(mpu.Uploads ?? []).toEqual([]);
    // Retention runs only after a new manifest is committed, and keeps the newest.
    await r.call('config', 'set', 'snapshot_keep', '2');
    expect(await r.save()).toBe('OK');
    await until(async () => (await directBackend(url, env).list()).length === 2, 'two committed snapshots', 10000);
    expect((await directBackend(url, env).list()).map((m) => m.seq)).toEqual([7, 6]);
  });
});

