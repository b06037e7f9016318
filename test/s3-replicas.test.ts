/**
 * Snapshot replicas with S3 locations (issue 13): two buckets of the real
 * S3 (Swift) the tests start, each behind its own fault proxy (the replica
 * reaches its proxy through its own `?endpoint=` setting), plus a local
 * folder. A location "goes down" by its proxy answering 503 to everything.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3Proxy, type Matcher } from './helpers/s3-proxy.js';
import { credentialEnv, directClient, freshLocation, s3Env, type S3TestEnv } from './helpers/s3-env.js';
import { directBackend } from './helpers/s3-server.js';
import { until, type TestServer } from './helpers/server.js';
import { client, exitOf, folderManifests, locationLine, persistenceInfo, snapshotsCli, startOn, tempDir } from './helpers/replicas.js';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

vi.setConfig({ testTimeout: 120_000 });

let env: S3TestEnv;
let p1: S3Proxy;
let p2: S3Proxy;
const servers: TestServer[] = [];

beforeAll(async () => {
  env = await s3Env();
  p1 = await S3Proxy.start(env.endpoint);
  p2 = await S3Proxy.start(env.endpoint);
  Object.assign(process.env, credentialEnv(env));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await p1?.close();
  await p2?.close();
});

interface Layout {
  /** --dir (bucket 1 through proxy 1), the replica bucket's URL with its own settings (proxy 2), a folder. */
  locs: string[];
  urls: string[];
  folder: string;
  buckets: string[];
}

async function layout(): Promise<Layout> {
  const c = directClient(env);
  const a = await freshLocation(env, c);
  const b = await freshLocation(env, c);
  const folder = tempDir('damselfly-s3-replicas-');
  const replica = `${b.url}?endpoint=${p2.hostPort}&https=no&region=${env.region}`;
  return { locs: [a.url, replica, folder], urls: [a.url, b.url], folder, buckets: [a.bucket, b.bucket] };
}

const s3flags = () => ['--s3_endpoint', p1.hostPort, '--nos3_use_https', '--s3_region', env.region, '--s3_request_timeout', '2000'];

async function on(locs: string[], extra: string[] = [], opts: Parameters<typeof startOn>[2] = {}): Promise<TestServer> {
  const s = await startOn(locs, [...s3flags(), ...extra], { env: credentialEnv(env), ...opts });
  servers.push(s);
  return s;
}

const bucketIs = (bucket: string): Matcher => (r) => r.path === `/${bucket}` || r.path.startsWith(`/${bucket}/`);

function cliFlags(l: Layout, locs = l.locs): string[] {
  return ['--dir', locs[0], `--snapshot_replicas=${locs.slice(1).join(',')}`, ...s3flags()];
}

describe('S3 replicas', () => {
  it('a save goes to both buckets and the folder; each S3 location is probed for If-None-Match; a restart loads it', async () => {
    const l = await layout();
    const s = await on(l.locs);
    const r = client(s);
    await r.set('k', 'v');
    expect(await r.call('save')).toBe('OK');
    const info = await persistenceInfo(r);
    expect(info.snapshot_locations).toBe('3');
    for (let i = 0; i < 3; i++) expect(locationLine(info, i).status).toBe('ok');
    // Swift s3api passes If-None-Match: * through to its object servers, which refuse the second PUT.
    expect(locationLine(info, 0).create_only).toBe('enforced');
    expect(locationLine(info, 1).create_only).toBe('enforced');
    // The replica bucket was reached through its own endpoint setting.
    expect(p2.seen(bucketIs(l.buckets[1])).some((x) => x.method === 'PUT' && /manifests\//.test(x.path))).toBe(true);
    expect(p1.seen(bucketIs(l.buckets[1]))).toHaveLength(0);
    const id = (await directBackend(l.urls[0], env).list())[0].id;
    expect((await directBackend(l.urls[1], env).list())[0].id).toBe(id);
    expect(folderManifests(l.folder)[0].id).toBe(id);
    r.disconnect();
    await s.stop();
    const s2 = await on(l.locs);
    const r2 = client(s2);
    expect(await r2.get('k')).toBe('v');
    r2.disconnect();
  });

  it('a bucket down during a save, quorum met: the save succeeds and the bucket is caught up once it is back', async () => {
    const l = await layout();
    const s = await on(l.locs, ['--snapshot_write_quorum=2']);
    const r = client(s);
    await r.set('k', 'v1');
    expect(await r.call('save')).toBe('OK');
    p2.add(bucketIs(l.buckets[1]), { status: 503, code: 'ServiceUnavailable' });
    await r.set('k', 'v2');
    expect(await r.call('save')).toBe('OK');
    expect(locationLine(await persistenceInfo(r), 1).status).toBe('behind');
    const newest = (await directBackend(l.urls[0], env).list())[0];
    expect((await directBackend(l.urls[1], env).list()).some((m) => m.id === newest.id)).toBe(false);
    p2.reset();
    await until(async () => (await directBackend(l.urls[1], env).list()).some((m) => m.id === newest.id), 'the bucket to be caught up', 60_000);
    await until(async () => locationLine(await persistenceInfo(r), 1).status === 'ok', 'INFO to show it ok', 10_000);
    r.disconnect();
    await s.stop();
    // The copy in bucket 2 alone is a complete snapshot.
    const alone = await on([l.locs[1].replace(/\?.*/, '')], ['--s3_endpoint', p2.hostPort]);
    const ra = client(alone);
    expect(await ra.get('k')).toBe('v2');
    ra.disconnect();
  });

  it('two buckets on one endpoint with the same credentials: catch-up has the store copy the data (CopyObject / UploadPartCopy), nothing streams through the server', async () => {
    const l = await layout();
    // Both buckets through proxy 1: one endpoint, so the store can copy between them.
    const sameEndpoint = [l.locs[0], `${l.urls[1]}?endpoint=${p1.hostPort}&https=no&region=${env.region}`];
    const s = await on(sameEndpoint, ['--snapshot_write_quorum=1', '--s3_part_size=5mb']);
    const r = client(s);
    p1.add(bucketIs(l.buckets[1]), { status: 503, code: 'ServiceUnavailable' });
    // About 12 MB of incompressible values: a copy in three parts of 5 MB.
    const { randomBytes } = await import('node:crypto');
    for (let i = 0; i < 12; i++) await r.set(`big${i}`, randomBytes(1 << 20).toString('base64').slice(0, 1 << 20));
    expect(await r.call('save')).toBe('OK');
    const newest = (await directBackend(l.urls[0], env).list())[0];
    expect(newest.size).toBeGreaterThan(10 << 20);
    const from = p1.requests.length;
    p1.reset();
    await until(async () => (await directBackend(l.urls[1], env).list()).some((m) => m.id === newest.id), 'the bucket to be caught up', 20_000);
    const after = p1.requests.slice(from);
    const copies = after.filter((x) => x.method === 'PUT' && x.path.startsWith(`/${l.buckets[1]}/`) && x.headers['x-amz-copy-source'] !== undefined);
    expect(copies.filter((x) => x.query.has('partNumber') && x.status === 200).length).toBe(Math.ceil(newest.size / (5 << 20)));
    // An attempt refused part-way leaves no multipart upload behind.
    for (const u of new Set(copies.filter((x) => x.status !== 200).map((x) => x.query.get('uploadId')))) expect(after.some((x) => x.method === 'DELETE' && x.query.get('uploadId') === u)).toBe(true);
    // Pinned to the source's ETag: by the copy's condition where the store honours it, else by a pinned HEAD after it (Swift's s3api refuses the condition on multipart objects).
    const pinnedHeads = after.filter((x) => x.method === 'HEAD' && x.path.endsWith(newest.dataName) && x.headers['if-match'] === newest.etag && x.status === 200);
    expect(copies.every((c) => c.headers['x-amz-copy-source-if-match'] === newest.etag && c.status === 200) || pinnedHeads.length > 0).toBe(true);
    // The source's data was never read by the server.
    expect(after.filter((x) => x.method === 'GET' && x.path.includes(newest.dataName))).toHaveLength(0);
    r.disconnect();
    await s.stop();
    const alone = await on([l.urls[1]]);
    const ra = client(alone);
    expect(await ra.strlen('big11')).toBe(1 << 20);
    ra.disconnect();
  });

  it('a snapshot smaller than a part is caught up by one CopyObject on one endpoint', async () => {
    const l = await layout();
    const sameEndpoint = [l.locs[0], `${l.urls[1]}?endpoint=${p1.hostPort}&https=no&region=${env.region}`];
    const s = await on(sameEndpoint, ['--snapshot_write_quorum=1']);
    const r = client(s);
    p1.add(bucketIs(l.buckets[1]), { status: 503, code: 'ServiceUnavailable' });
    await r.set('k', 'small');
    expect(await r.call('save')).toBe('OK');
    const newest = (await directBackend(l.urls[0], env).list())[0];
    const from = p1.requests.length;
    p1.reset();
    await until(async () => (await directBackend(l.urls[1], env).list()).some((m) => m.id === newest.id), 'the bucket to be caught up', 60_000);
    const after = p1.requests.slice(from);
    const copies = after.filter((x) => x.method === 'PUT' && x.path.startsWith(`/${l.buckets[1]}/`) && x.headers['x-amz-copy-source'] !== undefined && x.status === 200);
    expect(copies).toHaveLength(1);
    expect(copies[0].query.has('partNumber')).toBe(false);
    expect(after.filter((x) => x.method === 'GET' && x.path.includes(newest.dataName))).toHaveLength(0);
    r.disconnect();
    await s.stop();
    const alone = await on([l.urls[1]]);
    const ra = client(alone);
    expect(await ra.get('k')).toBe('small');
    ra.disconnect();
  });

  it('a bucket down during a save, quorum not met: BGSAVE fails, writes get MISCONF', async () => {
    const l = await layout();
    const s = await on(l.locs, ['--save', '3600 1']);
    const r = client(s);
    await r.set('k', 'v');
    p2.add(bucketIs(l.buckets[1]), { status: 503, code: 'ServiceUnavailable' });
    try {
      await r.call('bgsave');
      await until(async () => (await persistenceInfo(r)).rdb_last_bgsave_status === 'err', 'the background save to fail', 60_000);
      await expect(r.set('k', 'w')).rejects.toThrow(/MISCONF/);
      expect(locationLine(await persistenceInfo(r), 1).status).toBe('behind');
    } finally {
      p2.reset();
    }
    expect(await r.call('save')).toBe('OK');
    expect(await r.set('k', 'w')).toBe('OK');
    r.disconnect();
  });

  it('read quorum: with W = 1 of 2, a bucket that keeps failing stops a strict boot and fences a lenient one', async () => {
    const l = await layout();
    const two = l.locs.slice(0, 2);
    const s0 = await on(two);
    const r0 = client(s0);
    await r0.set('k', 'v');
    expect(await r0.call('save')).toBe('OK');
    r0.disconnect();
    await s0.stop();
    p2.add(bucketIs(l.buckets[1]), { status: 503, code: 'ServiceUnavailable' });
    try {
      const strict = await on(two, ['--snapshot_write_quorum=1', '--snapshot_load_timeout=2'], { noWait: true });
      const { code, message } = await exitOf(strict, 60_000);
      expect(code).not.toBe(0);
      expect(message).toMatch(/only 1 of 2 snapshot locations could be read, and 2 are needed/);
      const lenient = await on(two, ['--snapshot_write_quorum=1', '--snapshot_load_timeout=2', '--nosnapshot_strict']);
      const r = client(lenient);
      expect(await r.get('k')).toBe('v');
      expect((await persistenceInfo(r)).snapshot_fenced).toBe('1');
      r.disconnect();
      const ls = await snapshotsCli(['ls', ...cliFlags(l, two), '--snapshot_write_quorum=1'], credentialEnv(env));
      expect(ls.stdout).toMatch(/\[1\] s3:\/\/\S+: UNREADABLE: transient/);
      expect(ls.stdout).toMatch(/boot \(--snapshot_strict, the default\): refuses to start: only 1 of 2 locations could be read, 2 needed/);
    } finally {
      p2.reset();
    }
  });

  it('kill -9 during a multi-location save: each location holds the old or the new snapshot committed, never a manifest without data; the next boot loads the new one', async () => {
    const l = await layout();
    const s = await on(l.locs);
    const r = client(s);
    await r.set('k', 'old');
    expect(await r.call('save')).toBe('OK');
    await r.set('k', 'new');
    // Bucket 2 never answers its manifest PUT: bucket 1 and the folder commit, then the server dies.
    p2.add((x) => bucketIs(l.buckets[1])(x) && x.method === 'PUT' && /\/manifests\//.test(x.path), { delayMs: 120_000 });
    await r.call('bgsave');
    try {
      await until(async () => (await directBackend(l.urls[0], env).list()).length === 2 && folderManifests(l.folder).length === 2, 'bucket 1 and the folder to commit', 60_000);
      await until(async () => p2.seen((x) => x.fault?.startsWith('delay') === true).length > 0, 'the stalled manifest PUT', 30_000);
      r.disconnect();
      await s.stop();
    } finally {
      p2.reset();
    }
    const lists = [await directBackend(l.urls[0], env).list(), await directBackend(l.urls[1], env).list(), folderManifests(l.folder)];
    expect(lists.map((x) => x.length)).toEqual([2, 1, 2]);
    const c = directClient(env);
    for (const [i, url] of l.urls.entries()) {
      const prefix = url.replace(/^s3:\/\/[^/]+\//, '');
      for (const m of lists[i]) await c.send(new HeadObjectCommand({ Bucket: l.buckets[i], Key: `${prefix}/${m.dataName}` }));
    }
    const newId = lists[0][0].id;
    const s2 = await on(l.locs);
    const r2 = client(s2);
    expect(await r2.get('k')).toBe('new');
    expect((await persistenceInfo(r2)).snapshot_boot_decision).toContain(`loaded ${newId}`);
    await until(async () => (await directBackend(l.urls[1], env).list()).some((m) => m.id === newId), 'bucket 2 to be caught up', 60_000);
    r2.disconnect();
  });

  it('a store that ignores If-None-Match (the second create-only PUT succeeds) is reported in INFO and the log', async () => {
    const l = await layout();
    let probes = 0;
    // The replica's store "accepts" the second probe PUT, as Incus or an old SeaweedFS would.
    p2.add((x) => x.method === 'PUT' && /\/probes\//.test(x.path) && ++probes === 2, { fakeOk: true });
    try {
      const s = await on(l.locs.slice(0, 2));
      const r = client(s);
      const info = await persistenceInfo(r);
      expect(locationLine(info, 0).create_only).toBe('enforced');
      expect(locationLine(info, 1).create_only).toBe('ignored');
      expect(s.logs.some((x) => x.level >= 50 && /IGNORES If-None-Match/.test(x.msg) && String(x.location).includes(l.buckets[1]))).toBe(true);
      r.disconnect();
    } finally {
      p2.reset();
    }
  });

  it("a replica's profile= setting signs its requests with that profile's keys, the primary keeps the default chain's", async (t) => {
    if (!env.altAccessKey || !env.altSecretKey) return t.skip();
    const l = await layout();
    const dir = tempDir('damselfly-aws-');
    const credentials = path.join(dir, 'credentials');
    writeFileSync(credentials, `[dr]\naws_access_key_id = ${env.altAccessKey}\naws_secret_access_key = ${env.altSecretKey}\n`);
    const replica = `${l.locs[1]}&profile=dr`;
    const s = await startOn([l.locs[0], replica], s3flags(), { env: credentialEnv(env, { AWS_SHARED_CREDENTIALS_FILE: credentials }) });
    servers.push(s);
    const r = client(s);
    await r.set('k', 'v');
    expect(await r.call('save')).toBe('OK');
    const replicaKeys = new Set(p2.seen(bucketIs(l.buckets[1])).map((x) => x.accessKey));
    const primaryKeys = new Set(p1.seen(bucketIs(l.buckets[0])).map((x) => x.accessKey));
    expect([...replicaKeys]).toEqual([env.altAccessKey]);
    expect([...primaryKeys]).toEqual([env.accessKey]);
    r.disconnect();
  });
});
