/**
 * Running the real server on an S3 location through the fault proxy, and
 * writing snapshots into S3 in-process (as a server would) for boot tests.
 */
import Redis from 'ioredis';
import { S3Backend, parseS3Url } from '../../src/storage/s3.js';
import type { Manifest } from '../../src/storage/backend.js';
import { SnapshotJob } from '../../src/snapshot/serializer.js';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { startServer, type TestServer } from './server.js';
import type { S3Proxy } from './s3-proxy.js';
import { credentialEnv, type S3TestEnv } from './s3-env.js';

export function s3Flags(url: string, proxy: S3Proxy, env: S3TestEnv, extra: string[] = []): string[] {
  return ['--dir', url, '--s3_endpoint', proxy.hostPort, '--nos3_use_https', '--s3_region', env.region, '--s3_request_timeout', '2000', '--save', '', ...extra];
}

export function startS3Server(url: string, proxy: S3Proxy, env: S3TestEnv, extra: string[] = [], envExtra: NodeJS.ProcessEnv = {}): Promise<TestServer> {
  return startServer(s3Flags(url, proxy, env, extra), { env: credentialEnv(env, envExtra), keepDir: true, waitFor: 'listening' });
}

/** Resolves when the server is serving data ("ready") or rejects with its logs if it exits. */
export async function ready(s: TestServer, timeoutMs = 30000): Promise<void> {
  await s.waitForLog((l) => l.msg === 'ready to accept connections', timeoutMs);
}

/** The exit code of a server that must fail to start, and its fatal message. */
export async function fatalExit(s: TestServer, timeoutMs = 30000): Promise<{ code: number | null; message: string }> {
  const code = await Promise.race([s.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs))]);
  if (code === 'timeout') throw new Error('server did not exit; logs:\n' + s.logs.map((l) => JSON.stringify(l)).join('\n'));
  const fatal = s.logs.filter((l) => l.level >= 60).map((l) => l.msg);
  return { code, message: fatal.join('\n') };
}

/**
 * INFO persistence as fields, or null on a build without the INFO command
 * (it comes with the keys family): the fence is then checked through CONFIG
 * GET and the save errors, which carry the same cause.
 */
export async function infoFields(r: Redis, section = 'persistence'): Promise<Record<string, string> | null> {
  let text: string;
  try {
    text = (await r.call('info', section)) as string;
  } catch (e) {
    if (/unknown command/.test((e as Error).message)) return null;
    throw e;
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Is the snapshot fence up? (CONFIG GET, always there.) */
export async function fenceUp(r: Redis): Promise<boolean> {
  const v = (await r.call('config', 'get', 'snapshot-fence')) as string[];
  return v[1] === 'yes';
}

/** The fence's cause: from INFO when there, else from the error a save gets. */
export async function fenceCause(r: Redis): Promise<string> {
  const f = await infoFields(r);
  if (f) return f.snapshot_fence_cause;
  return await r.call('save').then(
    () => '',
    (e: Error) => e.message,
  );
}

/** A keyspace with `n` string keys in db 0 (and one in db 3). */
export function keyspaceWith(n: number, tag: string): Keyspace {
  const ks = new Keyspace(16);
  for (let i = 0; i < n; i++) ks.dbs[0].set(`key:${i}`, `${tag}:${i}:\x00\xff`);
  ks.dbs[3].set('other-db', tag);
  return ks;
}

/** Save ks as a committed snapshot with `seq` through `backend`, exactly as the server's snapshotter does. */
export async function writeSnapshotS3(ks: Keyspace, backend: S3Backend, seq: number): Promise<Manifest> {
  const id = `dump-test-${String(seq).padStart(6, '0')}`;
  const job = new SnapshotJob(ks, { serverId: 'test', seq });
  const w = await backend.create(id);
  const { size, etag } = await w.upload(job.stream);
  const m: Manifest = { format: 1, id, seq, createdAt: job.startedAt, serverId: 'test', dataName: w.dataName, size, checksum: job.footer!.sha256, keys: job.footer!.keys, etag };
  await w.commit(m);
  return m;
}

/** An in-process backend straight to the S3 server (credentials from env). */
export function directBackend(url: string, env: S3TestEnv): S3Backend {
  return new S3Backend(parseS3Url(url), {
    endpoint: env.endpoint,
    region: env.region,
    ec2Metadata: false,
    signPayload: true,
    checksum: 'auto',
    partSize: 5 * 1024 * 1024,
    concurrency: 2,
    requestTimeoutMs: 5000,
  });
}
