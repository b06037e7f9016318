/**
 * End to end with real clients: write with ioredis, BGSAVE to S3, kill the
 * server, start a fresh one on the same prefix, read everything back.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import Redis from 'ioredis';
import { S3Proxy } from './helpers/s3-proxy.js';
import { credentialEnv, directClient, freshLocation, s3Env, type S3TestEnv } from './helpers/s3-env.js';
import { directBackend, ready, startS3Server } from './helpers/s3-server.js';
import type { TestServer } from './helpers/server.js';

let env: S3TestEnv;
let proxy: S3Proxy;
const servers: TestServer[] = [];

beforeAll(async () => {
  env = await s3Env();
  proxy = await S3Proxy.start(env.endpoint);
  Object.assign(process.env, credentialEnv(env));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await proxy?.close();
});

async function start(url: string): Promise<{ s: TestServer; r: Redis }> {
  const s = await startS3Server(url, proxy, env);
  servers.push(s);
  await ready(s);
  return { s, r: new Redis({ port: s.port, host: '127.0.0.1', enableReadyCheck: false, maxRetriesPerRequest: 1 }) };
}

it('ioredis writes, BGSAVE to S3, kill -9, a fresh server on the same prefix reads everything back', async (ctx) => {
  const loc = await freshLocation(env, directClient(env));
  const first = await start(loc.url);
  const r = first.r;
  const expected = new Map<string, string>();
  const pipe = r.pipeline();
  for (let i = 0; i < 3000; i++) {
    const k = `user:${i}`;
    const v = `value-${i}-` + 'x'.repeat(i % 200);
    pipe.set(k, v);
    expected.set(k, v);
  }
  await pipe.exec();
  const binary = Buffer.from([0, 255, 13, 10, 128, 1, 2, 3]);
  await r.set(Buffer.from('bin\x00key', 'latin1'), binary);
  await r.set('ttl-key', 'soon', 'EX', 3600);
  await r.select(5);
  await r.set('in-db-5', 'five');
  await r.select(0);

  expect(await r.bgsave()).toBe('Background saving started');
  // Committed once its manifest is there.
  const backend = directBackend(loc.url, env);
  const deadline = Date.now() + 30000;
  while ((await backend.list()).length === 0) {
    if (Date.now() > deadline) throw new Error('snapshot never committed');
    await new Promise((res) => setTimeout(res, 100));
  }
  r.disconnect();
  first.s.proc.kill('SIGKILL');
  await first.s.exited;

  const second = await start(loc.url);
  const r2 = second.r;
  try {
    // db 0: the values, the binary key and the TTL key; db 5 apart.
    expect(await r2.dbsize()).toBe(expected.size + 2);
    const keys = [...expected.keys()];
    for (let i = 0; i < keys.length; i += 500) {
      const batch = keys.slice(i, i + 500);
      const p = r2.pipeline();
      for (const k of batch) p.get(k);
      const vals = (await p.exec())!.map(([err, v]) => (err ? err : v));
      batch.forEach((k, j) => expect(vals[j], k).toBe(expected.get(k)));
    }
    expect((await r2.getBuffer(Buffer.from('bin\x00key', 'latin1')))!.equals(binary)).toBe(true);
    expect(await r2.get('ttl-key')).toBe('soon');
    expect(await r2.ttl('ttl-key')).toBeGreaterThan(3500);
    await r2.select(5);
    expect(await r2.get('in-db-5')).toBe('five');
  } finally {
    r2.disconnect();
  }
}, 90_000); // two server starts and a full save/load on a shared machine
