/**
 * S3: nothing billed is left behind by a crash. A server SIGKILLed in the
 * middle of a multipart upload leaves the upload; the next server aborts it
 * once it is older than --snapshot_orphan_grace, never before; the upload of
 * a concurrent writer that is alive is never touched, however old; and
 * `damselfly snapshots ls|gc` show and remove orphans with the same rules.
 */
import { execFile } from 'node:child_process';
import { beforeAll, describe, expect, it, vi, type TestContext } from 'vitest';
import Redis from 'ioredis';
import { CreateMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Proxy, on, type SeenRequest } from './helpers/s3-proxy.js';
import { credentialEnv, directClient, freshLocation, s3Env, type S3TestEnv } from './helpers/s3-env.js';
import { directBackend, fatalExit, infoFields, keyspaceWith, ready, startS3Server, writeSnapshotS3 } from './helpers/s3-server.js';
import { MAIN, until, type LogLine, type TestServer } from './helpers/server.js';

// Server starts, an 18 MB upload and a grace to wait out, on a shared 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

let env: S3TestEnv;
let direct: S3Client;

beforeAll(async () => {
  env = await s3Env();
  direct = directClient(env);
  Object.assign(process.env, credentialEnv(env));
});

async function setup(t: TestContext) {
  const proxies: S3Proxy[] = [];
  const servers: TestServer[] = [];
  const clients: Redis[] = [];
  const gates: (() => void)[] = [];
  t.onTestFinished(async () => {
    for (const open of gates) open();
    for (const c of clients) c.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(proxies.map((p) => p.close()));
  });
  const proxy = async () => {
    const p = await S3Proxy.start(env.endpoint);
    proxies.push(p);
    return p;
  };
  const start = async (url: string, p: S3Proxy, extra: string[] = []): Promise<{ s: TestServer; r: Redis }> => {
    // No faults here but held parts: a loaded machine must not turn slow requests into failed saves.
    const s = await startS3Server(url, p, env, ['--s3_request_timeout', '30000', ...extra]);
    servers.push(s);
    await ready(s);
    const r = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableReadyCheck: false, retryStrategy: () => null });
    r.on('error', () => {});
    clients.push(r);
    return { s, r };
  };
  /**
   * Parts after the first wait at the proxy until opened: an upload that is
   * started, has bytes stored, and stays unfinished for as long as the test
   * needs. Resolves `arrived` when the first held part reaches the proxy.
   */
  const holdUpload = (p: S3Proxy) => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    gates.push(open);
    let arrived!: (req: SeenRequest) => void;
    const first = new Promise<SeenRequest>((r) => (arrived = r));
    p.add((r) => on.uploadPart()(r) && r.query.get('partNumber') !== '1', {
      before: async (req) => {
        arrived(req);
        await gate;
      },
    });
    return { arrived: first, open };
  };
  return { proxy, start, holdUpload };
}

async function uploads(bucket: string, prefix: string) {
  const r = await direct.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
  return r.Uploads ?? [];
}

async function objects(bucket: string, prefix: string) {
  const r = await direct.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
  return (r.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1));
}

/** About 18 MB of keys: a snapshot of four 5 MiB parts. */
const BIG = ['--enable-debug-command', 'yes', '--s3_part_size', '5mb', '--s3_upload_concurrency', '1'];
async function fill(r: Redis): Promise<void> {
  await r.call('debug', 'populate', '150000', 'key', '100');
}

function cli(url: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const flags = ['--dir', url, '--s3_endpoint', env.endpoint, '--s3_region', env.region];
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'snapshots', ...args, ...flags], { timeout: 150_000, env: { ...process.env, ...credentialEnv(env) } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const removedUpload = (name: string) => (l: LogLine) => l.msg === 'removed orphan' && l.kind === 'upload' && l.name === name;

describe.concurrent('S3 orphans', () => {
  it('a server killed mid-upload: the next one aborts the upload after the grace, never before; the CLI shows it meanwhile', async (t) => {
    const { proxy, start, holdUpload } = await setup(t);
    const { bucket, prefix, url } = await freshLocation(env, direct);
    const p1 = await proxy();
    const a = await start(url, p1, BIG);
    await fill(a.r);
    const held = holdUpload(p1);
    expect(await a.r.bgsave()).toBe('Background saving started');
    await held.arrived;
    process.kill(a.s.pid, 'SIGKILL');
    await a.s.exited;
    held.open();

    // One upload, or more if a CreateMultipartUpload timed out client-side and was retried: all the dead writer's.
    const ups = await uploads(bucket, prefix);
    expect(ups.length).toBeGreaterThanOrEqual(1);
    const up = ups.find((u) => u.Key === ups[0].Key)!;
    expect(up.Key).toMatch(/\/data\/.*\.[0-9a-f]{12}\.dfs$/);
    expect(ups.every((u) => u.Key === up.Key)).toBe(true);
    const name = up.Key!.slice(prefix.length + 1);
    const initiated = Math.min(...ups.map((u) => u.Initiated!.getTime()));

    // The operator's view meanwhile: an orphan upload, kept (its writer's lease is fresh, or it is too young).
    const ls = await cli(url, ['ls', '--snapshot_orphan_grace', '1h']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`orphans: ${ups.length}, 5\\.0 MiB`));
    expect(ls.stdout).toMatch(new RegExp(`upload +${name.replace(/\./g, '\\.')} +5\\.0 MiB .*keeps: `));

    // A grace that has not passed yet when the next server boots, whatever the machine's pace.
    const graceMs = Date.now() - initiated + 15_000;
    const b = await start(url, await proxy(), ['--snapshot_orphan_grace', `${graceMs}ms`]);
    const kept = await b.s.waitForLog((l) => l.msg === 'orphans kept for now' && JSON.stringify(l.pending).includes(name), 30_000);
    expect(kept.time as number).toBeLessThan(initiated + graceMs);
    expect((await uploads(bucket, prefix)).length).toBe(ups.length);
    const f0 = (await infoFields(b.r))!;
    expect(Number(f0.snapshot_orphans_pending)).toBeGreaterThanOrEqual(1);
    expect(Number(f0.snapshot_orphan_bytes_pending)).toBeGreaterThanOrEqual(5 * 1024 * 1024);

    const removed = await b.s.waitForLog(removedUpload(name), 60_000);
    expect(removed.time as number).toBeGreaterThanOrEqual(initiated + graceMs);
    await until(async () => (await uploads(bucket, prefix)).length === 0, 'every upload of the dead writer to be aborted', 60_000);
    for (const l of b.s.logs.filter(removedUpload(name))) expect(l.time as number).toBeGreaterThanOrEqual(initiated + graceMs);
    expect(b.s.logs.filter(removedUpload(name)).reduce((a, l) => a + (l.bytes as number), 0)).toBe(5 * 1024 * 1024);
    // INFO counts a run's removals once it is over.
    await b.s.waitForLog((l) => l.msg === 'removed orphans of crashed or failed saves' && (l.time as number) >= (removed.time as number), 30_000);
    const f = (await infoFields(b.r))!;
    expect(Number(f.snapshot_orphans_removed)).toBeGreaterThanOrEqual(1);
    expect(Number(f.snapshot_orphan_bytes_removed)).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    // The dead writer's lease goes with it; nothing else is left.
    await until(async () => (await objects(bucket, prefix)).length === 0, 'the dead writer lease to be collected', 30_000);
  });

  it("a live writer's upload is never touched, however much older than the grace; it completes and commits", async (t) => {
    const { proxy, start, holdUpload } = await setup(t);
    const { bucket, prefix, url } = await freshLocation(env, direct);
    // Short, for the test; the lease is refreshed every 500 ms and counts as alive for 2 s.
    const graceMs = 2000;
    const pw = await proxy();
    // Its held parts must wait at the proxy, not time out and fail the save.
    const w = await start(url, pw, [...BIG, '--snapshot_orphan_grace', `${graceMs}ms`, '--s3_request_timeout', '120000']);
    await fill(w.r);
    const held = holdUpload(pw);
    expect(await w.r.bgsave()).toBe('Background saving started');
    await held.arrived;
    const [up] = await uploads(bucket, prefix);
    const name = up.Key!.slice(prefix.length + 1);
    // Old enough that only the writer's lease can keep it.
    await until(async () => Date.now() > up.Initiated!.getTime() + 2 * graceMs, 'the upload to be well past the grace', 10_000);

    const g = await start(url, await proxy(), ['--snapshot_orphan_grace', `${graceMs}ms`]);
    const kept = await g.s.waitForLog((l) => l.msg === 'orphans kept for now' && JSON.stringify(l.pending).includes(name), 30_000);
    expect(JSON.stringify(kept.pending)).toMatch(/writer [0-9a-f]{12} is alive/);
    const gc = await cli(url, ['gc', '--snapshot_orphan_grace', `${graceMs}ms`]);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(new RegExp(`kept upload ${name.replace(/\./g, '\\.')} .*is alive`));
    expect((await uploads(bucket, prefix)).map((u) => u.UploadId)).toEqual([up.UploadId]);

    held.open();
    await w.s.waitForLog((l) => l.msg === 'snapshot saved', 60_000);
    expect(await uploads(bucket, prefix)).toEqual([]);
    expect((await directBackend(url, env).list()).map((m) => m.dataName)).toEqual([name]);
    expect(g.s.logs.some((l) => l.msg === 'removed orphan' && l.name === name)).toBe(false);
    expect(await w.r.dbsize()).toBe(150000);
  });

  it('`snapshots gc` removes an unfinished upload and a data object no manifest names once past the grace; committed snapshots stay', async () => {
    const { bucket, prefix, url } = await freshLocation(env, direct);
    const b = directBackend(url, env);
    const m = await writeSnapshotS3(keyspaceWith(10, 'kept'), b, 1);
    const dataKey = `${prefix}/data/dump-x-000007.0123456789ab.dfs`;
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: dataKey, Body: Buffer.alloc(3000, 1) }));
    const upKey = `${prefix}/data/dump-x-000008.0123456789ab.dfs`;
    const { UploadId } = await direct.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: upKey }));
    await direct.send(new UploadPartCommand({ Bucket: bucket, Key: upKey, UploadId, PartNumber: 1, Body: Buffer.alloc(2000, 2) }));
    const started = Date.now();

    const young = await cli(url, ['gc', '--snapshot_orphan_grace', '1h']);
    expect(young.code, young.stderr).toBe(0);
    expect(young.stdout).toMatch(/removed 0 orphan\(s\), 0 B; 2 kept/);
    const ls = await cli(url, ['ls']);
    expect(ls.stdout).toMatch(/orphans: 2, 4\.9 KiB \(grace 6h\)/);
    expect(ls.stdout).toMatch(/boot loads this/);

    await until(async () => Date.now() > started + 2000, 'the orphans to be 2 s old', 10_000);
    const dry = await cli(url, ['gc', '--dry-run', '--snapshot_orphan_grace', '1s']);
    expect(dry.stdout).toMatch(/dry run: 2 orphan\(s\), 4\.9 KiB, would be removed; 0 kept/);
    expect(await uploads(bucket, prefix)).toHaveLength(1);
    const gc = await cli(url, ['gc', '--snapshot_orphan_grace', '1s']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(/removed 2 orphan\(s\), 4\.9 KiB; 0 kept/);
    expect(await uploads(bucket, prefix)).toEqual([]);
    expect((await objects(bucket, prefix)).sort()).toEqual([m.dataName, `manifests/${'1'.padStart(16, '0')}-${m.id}.json`].sort());
  });

  it('a bit flipped in the newest manifest: strict names a damaged manifest; not strict falls back and, through saves and retention, every byte stays', async (t) => {
    const { proxy, start } = await setup(t);
    const { bucket, prefix, url } = await freshLocation(env, direct);
    const p = await proxy();
    const a = await start(url, p);
    await a.r.set('v', 'old');
    expect(await a.r.save()).toBe('OK');
    await a.r.set('v', 'new');
    expect(await a.r.save()).toBe('OK');
    a.r.disconnect();
    await a.s.stop();
    const get = async (key: string) => Buffer.from(await (await direct.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}` }))).Body!.transformToByteArray());
    const manifestKey = (await objects(bucket, prefix)).filter((k) => k.startsWith('manifests/')).sort().at(-1)!;
    const raw = await get(manifestKey);
    const dataName = JSON.parse(raw.toString()).dataName as string;
    // One bit of the id part of dataName: still valid JSON, now naming nothing.
    raw[raw.indexOf(Buffer.from(dataName)) + 'data/dump-'.length] ^= 0x01;
    JSON.parse(raw.toString());
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${manifestKey}`, Body: raw }));
    const before = new Map([[manifestKey, raw], [dataName, await get(dataName)]]);

    const strict = await startS3Server(url, p, env);
    const { code, message } = await fatalExit(strict);
    expect(code).not.toBe(0);
    expect(message).toMatch(new RegExp(`damaged snapshot manifest.*${manifestKey}.*checksum mismatch`));
    expect(message).not.toMatch(/NoSuchKey|is missing|starts empty and fenced/);

    const b = await start(url, p, ['--nosnapshot_strict', '--snapshot_keep', '2', '--snapshot_orphan_grace', '0']);
    expect(await b.r.get('v')).toBe('old');
    await b.s.waitForLog((l) => l.msg === 'orphans kept for now' || l.msg === 'removed orphans of crashed or failed saves', 30_000);
    for (let i = 0; i < 5; i++) {
      await b.r.set(`after:${i}`, String(i));
      expect(await b.r.save()).toBe('OK');
    }
    await until(async () => b.s.logs.filter((l) => l.msg === 'deleted old snapshot (retention)').length >= 4, 'retention of the new saves', 30_000);
    expect((await infoFields(b.r))!.snapshot_kept_unread).toBe('1');
    for (const [key, bytes] of before) expect((await get(key)).equals(bytes), `${key} unchanged`).toBe(true);
  });
});
