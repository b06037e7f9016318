/**
 * MIGRATE between this server and a real redis-server 7.0, both ways: keys
 * of every type arrive with their TTL, are gone from the source (kept with
 * COPY), REPLACE, KEYS, AUTH/AUTH2, and the replies and errors are the ones
 * redis-server gives for the same situation (NOKEY, the target's errors,
 * a target that cannot be reached).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';

let srv: TestServer;
let redis: Oracle;
let ours: Redis;
let real: Redis;
beforeAll(async () => {
  [srv, redis] = await Promise.all([startServer(['--save', '']), startRedis()]);
  ours = new Redis(srv.port, '127.0.0.1');
  real = new Redis(redis.port, '127.0.0.1');
  // Set once connected (the oracle's start-up check pings without a password); this connection stays authenticated.
  await real.config('SET', 'requirepass', 'pw');
});
afterAll(async () => {
  ours?.disconnect();
  real?.disconnect();
  redis?.stop();
  await srv?.stop();
});

const errorOf = (p: Promise<unknown>) => p.then((v) => `no error: ${String(v)}`, (e: Error) => e.message);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

describe('MIGRATE', () => {
  it('moves keys of every type to redis-server with their TTL, and deletes them here', async () => {
    await ours.set('s', 'v', 'PX', 100000);
    await ours.rpush('l', 'a', 'b');
    await ours.hset('h', 'f', '1');
    await ours.zadd('z', 1, 'm');
    await ours.sadd('set', 'x');
    await ours.xadd('st', '1-1', 'f', 'v');
    const keys = ['s', 'l', 'h', 'z', 'set', 'st'];
    expect(await ours.call('MIGRATE', '127.0.0.1', String(redis.port), '', '3', '5000', 'AUTH', 'pw', 'KEYS', ...keys)).toBe('OK');
    expect(await ours.exists(...keys)).toBe(0);
    await real.select(3);
    expect(await real.get('s')).toBe('v');
    const pttl = await real.pttl('s');
    expect(pttl).toBeGreaterThan(90000);
    expect(pttl).toBeLessThanOrEqual(100000);
    expect(await real.lrange('l', 0, -1)).toEqual(['a', 'b']);
    expect(await real.hgetall('h')).toEqual({ f: '1' });
    expect(await real.zrange('z', 0, -1, 'WITHSCORES')).toEqual(['m', '1']);
    expect(await real.smembers('set')).toEqual(['x']);
    expect(await real.xrange('st', '-', '+')).toEqual([['1-1', ['f', 'v']]]);
    await real.select(0);
  });

  it('receives keys from redis-server, with COPY and REPLACE', async () => {
    await real.rpush('fromredis', '1', '2', '3');
    await ours.set('fromredis', 'old');
    // The key exists here: without REPLACE our RESTORE refuses, and redis-server says so.
    expect(await errorOf(real.call('MIGRATE', '127.0.0.1', String(srv.port), 'fromredis', '0', '5000'))).toBe(
      'ERR Target instance replied with error: BUSYKEY Target key name already exists.',
    );
    expect(await real.call('MIGRATE', '127.0.0.1', String(srv.port), 'fromredis', '0', '5000', 'COPY', 'REPLACE')).toBe('OK');
    expect(await ours.lrange('fromredis', 0, -1)).toEqual(['1', '2', '3']);
    expect(await real.exists('fromredis')).toBe(1);
  });

  it('answers as redis-server: NOKEY, the target\'s errors, an unreachable target, bad options', async () => {
    const port = await closedPort();
    const cases: string[][] = [
      ['MIGRATE', '127.0.0.1', 'TARGET', 'nosuchkey', '0', '1000'],
      ['MIGRATE', '127.0.0.1', String(port), 'k', '0', '1000'],
      ['MIGRATE', '127.0.0.1', 'TARGET', 'k', '0', '1000', 'KEYS', 'k'],
      ['MIGRATE', '127.0.0.1', 'TARGET', 'k', '0', '1000', 'AUTH'],
      ['MIGRATE', '127.0.0.1', 'TARGET', 'k', '0', '1000', 'AUTH2', 'u'],
      ['MIGRATE', '127.0.0.1', 'TARGET', 'k', '0', '1000', 'BOGUS'],
      ['MIGRATE', '127.0.0.1', 'TARGET', 'k', 'x', '1000'],
      ['MIGRATE', '127.0.0.1', 'TARGET', 'k', '0', 'x'],
      ['MIGRATE', '127.0.0.1', 'TARGET', 'k', '99', '1000'],
    ];
    // Each side migrates to the other (redis-server needs the password, given as AUTH; ours has none).
    for (const c of cases) {
      await ours.set('k', 'v');
      await real.set('k', 'v');
      const toRedis = c.map((a) => (a === 'TARGET' ? String(redis.port) : a));
      if (toRedis.length === 6 && toRedis[2] === String(redis.port)) toRedis.push('AUTH', 'pw');
      const toOurs = c.map((a) => (a === 'TARGET' ? String(srv.port) : a));
      const o = await errorOf(ours.call(toRedis[0], ...toRedis.slice(1)));
      const r = await errorOf(real.call(toOurs[0], ...toOurs.slice(1)));
      expect(o, c.join(' ')).toBe(r);
    }
    await ours.set('k', 'v');
    expect(await errorOf(ours.call('MIGRATE', '127.0.0.1', String(redis.port), 'k', '0', '1000', 'AUTH', 'wrong'))).toBe(
      'ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled.',
    );
    expect(await errorOf(ours.call('MIGRATE', '127.0.0.1', String(redis.port), 'k', '0', '1000'))).toBe('ERR Target instance replied with error: NOAUTH Authentication required.');
    expect(await ours.get('k')).toBe('v');
  });

  it('is refused inside MULTI, where EXEC cannot wait for the target', async () => {
    await ours.set('m', '1');
    const res = await ours.multi().call('MIGRATE', '127.0.0.1', String(redis.port), 'm', '0', '1000').exec();
    expect(String(res![0][0])).toMatch(/MIGRATE cannot be used inside MULTI/);
    expect(await ours.get('m')).toBe('1');
  });
});
