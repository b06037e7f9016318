/**
 * client-output-buffer-limit as redis-server 7.0 answers and applies it,
 * and the heap guard that closes a client whose unread output would take
 * too large a share of the heap (normal clients are unlimited by default).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { redisCli, resp, startServer, type TestServer } from './helpers/server.js';
import { MB, rss, serverPid, SlowReader } from './helpers/memory.js';
import { rawReply, startRedis, type Oracle } from './helpers/redis-oracle.js';

let srv: TestServer;
let oracle: Oracle;
let a: Redis;
let ra: Redis;

beforeAll(async () => {
  srv = await startServer(['--save', '']);
  oracle = await startRedis();
  a = new Redis({ port: srv.port, lazyConnect: true });
  await a.connect();
  ra = new Redis({ port: oracle.port, lazyConnect: true });
  await ra.connect();
});

afterAll(async () => {
  await a?.quit();
  await ra?.quit();
  oracle?.stop();
  await srv?.stop();
});

const CONFIG_SETS = [
  'normal 1mb 2mb 3',
  'normal 1 2',
  'foo 1 2 3',
  'normal x 2 3',
  'normal 1 2 -3',
  'normal -1 2 3',
  'normal 1 2 x',
  'replica 10 20 30 pubsub 1k 2k 5',
  'SLAVE 1gb 1g 7',
  '',
  'master 1 2 3',
  'normal 0 0 0 pubsub 33554432 8388608 60',
];

describe('CONFIG GET/SET client-output-buffer-limit', () => {
  it('answers as redis-server, errors and partial updates included', async () => {
    const get = ['CONFIG', 'GET', 'client-output-buffer-limit'];
    expect(await rawReply(srv.port, 2, get)).toBe(await rawReply(oracle.port, 2, get));
    for (const v of CONFIG_SETS) {
      const set = ['CONFIG', 'SET', 'client-output-buffer-limit', v];
      expect(await rawReply(srv.port, 2, set), v).toBe(await rawReply(oracle.port, 2, set));
      expect(await rawReply(srv.port, 2, get), v).toBe(await rawReply(oracle.port, 2, get));
    }
    await a.config('SET', 'client-output-buffer-limit', 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60');
  });

  it('is accepted as a start-up flag, merged into the defaults', async () => {
    const s = await startServer(['--save', '', '--client-output-buffer-limit', 'pubsub 1mb 0 0']);
    try {
      expect(await redisCli(s.port, ['CONFIG', 'GET', 'client-output-buffer-limit'])).toBe(
        'client-output-buffer-limit\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 0 0\n',
      );
    } finally {
      await s.stop();
    }
  });
});

/** Pipeline `n` GETs of `key` on a connection that does not read; resolves with the connection. */
async function flood(port: number, key: string, n: number): Promise<SlowReader> {
  const c = await SlowReader.connect(port);
  c.sock.write(resp('GET', key).repeat(n));
  return c;
}

async function disconnections(): Promise<number> {
  const m = /client_output_buffer_limit_disconnections:(\d+)/.exec(await a.info('stats'));
  return Number(m![1]);
}

describe('normal clients over their limit are closed, as by redis-server', () => {
  it('hard limit: a client that does not read is closed once its output passes it', async () => {
    const value = 'v'.repeat(256 * 1024);
    for (const r of [a, ra]) {
      await r.set('big', value);
      await r.config('SET', 'client-output-buffer-limit', 'normal 1mb 0 0');
    }
    const before = await disconnections();
    try {
      for (const port of [srv.port, oracle.port]) {
        // 25 MB of replies: more than the kernel's socket buffers hold.
        const c = await flood(port, 'big', 100);
        expect(await c.goneWithin(port, 5000), `port ${port}`).toBe(true);
      }
      await srv.waitForLog((l) => l.msg === 'Client scheduled to be closed ASAP for overcoming of output buffer limits.' && l.limit === 'hard');
      expect(await disconnections()).toBe(before + 1);
      // A client that reads each reply before asking for the next is never over.
      for (const port of [srv.port, oracle.port]) {
        const reader = new Redis({ port });
        for (let i = 0; i < 20; i++) expect(await reader.get('big')).toBe(value);
        await reader.quit();
      }
    } finally {
      for (const r of [a, ra]) await r.config('SET', 'client-output-buffer-limit', 'normal 0 0 0');
    }
  });

  it('soft limit: closed once over it for longer than the soft seconds, with no more output needed', async () => {
    await a.set('big', 'v'.repeat(256 * 1024));
    await a.config('SET', 'client-output-buffer-limit', 'normal 0 1mb 1');
    try {
      const t0 = Date.now();
      const c = await flood(srv.port, 'big', 100);
      expect(await c.goneWithin(srv.port, 6000)).toBe(true);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      await srv.waitForLog((l) => l.limit === 'soft');
    } finally {
      await a.config('SET', 'client-output-buffer-limit', 'normal 0 0 0');
    }
  });
});

describe('the heap guard (normal clients unlimited, heap limited)', () => {
  let small: TestServer;
  let b: Redis;
  let pid = 0;
  beforeAll(async () => {
    // heap_size_limit ~ 260 MB: one client may hold 64 MB of pending output.
    small = await startServer(['--save', ''], { env: { NODE_OPTIONS: '--max-old-space-size=200' } });
    b = new Redis({ port: small.port });
    pid = await serverPid(small.port);
  });
  afterAll(async () => {
    await b?.quit();
    await small?.stop();
  });

  const guardLog = (l: { msg: string; limit?: unknown }) => l.limit === 'heap-guard';

  it('closes a client that pipelines big replies without reading, before the heap is at risk', async () => {
    await b.set('mb', 'x'.repeat(MB));
    const base = rss(pid);
    const c = await flood(small.port, 'mb', 600);
    expect(await c.goneWithin(small.port, 10000)).toBe(true);
    await small.waitForLog(guardLog);
    expect(rss(pid) - base).toBeLessThan(300 * MB);
    expect(await b.ping()).toBe('PONG');
  });

  it('closes a client whose one command would answer a gigabyte (SORT ... GET amplification)', async () => {
    await b.set('big_a', 'y'.repeat(MB));
    await b.del('l');
    await b.rpush('l', ...Array(2000).fill('a'));
    const n = small.logs.filter(guardLog).length;
    const c = await SlowReader.connect(small.port);
    c.sock.write(resp('SORT', 'l', 'BY', 'nosort', 'GET', 'big_*'));
    expect(await c.goneWithin(small.port, 20000)).toBe(true);
    expect(small.logs.filter(guardLog).length).toBe(n + 1);
    expect(await b.ping()).toBe('PONG');
  });

  it('inside EXEC a random-picks reply of gigabytes streams too: a client that does not read holds a bounded amount', async () => {
    await b.zadd('z', 1, 'member-one-xxxxxxxxxxxxxxxx', 2, 'member-two-xxxxxxxxxxxxxxxx');
    const n = small.logs.filter(guardLog).length;
    const base = rss(pid);
    const c = await SlowReader.connect(small.port);
    c.sock.write(resp('MULTI') + resp('ZRANDMEMBER', 'z', '-100000000', 'WITHSCORES') + resp('EXEC'));
    // Built whole (as before streaming worked in EXEC), this reply reached
    // the heap guard within seconds; streamed, it waits for the reader.
    for (let i = 0; i < 20; i++) {
      expect(await b.ping()).toBe('PONG');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(rss(pid) - base).toBeLessThan(150 * MB);
    expect(small.logs.filter(guardLog).length).toBe(n);
    expect(c.closed).toBe(false);
    c.sock.destroy();
    expect(await c.goneWithin(small.port, 5000)).toBe(true);
  });
});
