/**
 * FLUSHALL and DEBUG RELOAD against S3: a background save cancelled by
 * FLUSHALL (even one whose upload has not begun) ends without committing,
 * FLUSHALL's own save of the empty dataset is what a restart loads, and
 * DEBUG RELOAD round-trips through S3.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { S3Proxy } from './helpers/s3-proxy.js';
import { credentialEnv, directClient, freshLocation, s3Env, type S3TestEnv } from './helpers/s3-env.js';
import { directBackend, infoFields, ready, startS3Server } from './helpers/s3-server.js';
import { RawClient, type TestServer } from './helpers/server.js';

vi.setConfig({ testTimeout: 120_000 });

let env: S3TestEnv;
let proxy: S3Proxy;
const servers: TestServer[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  env = await s3Env();
  proxy = await S3Proxy.start(env.endpoint);
  Object.assign(process.env, credentialEnv(env));
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
  await proxy?.close();
});

async function start(url: string, extra: string[]): Promise<{ s: TestServer; r: Redis }> {
  const s = await startS3Server(url, proxy, env, extra);
  servers.push(s);
  await ready(s);
  const r = new Redis({ port: s.port, host: '127.0.0.1', enableReadyCheck: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => {});
  clients.push(r);
  return { s, r };
}

it('FLUSHALL cancels a BGSAVE to S3, commits only the empty dataset, and a restart stays empty', async () => {
  const loc = await freshLocation(env, directClient(env));
  // s3Flags passes --save ''; a later --save wins.
  const { s, r } = await start(loc.url, ['--save', '3600 1', '--enable-debug-command', 'yes']);
  const p = r.pipeline();
  for (let i = 0; i < 20_000; i++) p.set(`k:${i}`, `v:${i}`);
  await p.exec();
  const raw = await RawClient.connect(s.port);
  raw.write('BGSAVE\r\nFLUSHALL\r\n');
  expect(await raw.readUntil('\r\n', 60_000)).toBe('+Background saving started\r\n');
  expect(await raw.readUntil('\r\n', 60_000)).toBe('+OK\r\n');
  raw.close();
  const list = await directBackend(loc.url, env).list();
  expect(list.map((m) => [m.seq, m.keys.reduce((a, b) => a + b, 0)])).toEqual([[2, 0]]);
  expect(s.logs.some((l) => l.msg === 'snapshot cancelled')).toBe(true);
  expect((await infoFields(r))?.rdb_last_bgsave_status ?? 'ok').toBe('ok');

  await r.set('after', '1');
  expect(await r.call('DEBUG', 'RELOAD')).toBe('OK');
  expect(await r.get('after')).toBe('1');
  expect(await r.call('FLUSHALL')).toBe('OK');
  s.proc.kill('SIGKILL');
  await s.exited;
  const second = await start(loc.url, []);
  expect(await second.r.dbsize()).toBe(0);
});

it('FLUSHALL cancels a BGSAVE to S3 in the middle of its upload; nothing of it is committed', async () => {
  const loc = await freshLocation(env, directClient(env));
  const { s, r } = await start(loc.url, ['--save', '3600 1', '--enable-debug-command', 'yes']);
  expect(await r.call('DEBUG', 'POPULATE', '400000', 'key', '64')).toBe('OK');
  expect(await r.bgsave()).toBe('Background saving started');
  for (const deadline = Date.now() + 60_000; ; ) {
    const f = await infoFields(r);
    if (f === null || Number(f.current_save_keys_processed) > 0) break;
    if (Date.now() > deadline) throw new Error('the BGSAVE never got going');
  }
  expect(await r.flushall()).toBe('OK');
  const list = await directBackend(loc.url, env).list();
  expect(list.map((m) => [m.seq, m.keys.reduce((a, b) => a + b, 0)])).toEqual([[2, 0]]);
  expect(s.logs.some((l) => l.msg === 'snapshot cancelled')).toBe(true);
});
