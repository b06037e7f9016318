/**
 * DUMP and RESTORE against the real redis-server 7.0: payloads for every
 * type and encoding move both ways and read back identically (type,
 * OBJECT ENCODING, contents); RESTORE's options and errors answer as
 * Redis's; damaged payloads are refused, never crash the server.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';
import { describeKey, FIXTURE_ENCODINGS, fillFixture, sameEncodingConfig } from './helpers/rdb-fixtures.js';
import { crc64 } from '../src/rdb/crc64.js';
import { oldPayloads } from './helpers/rdb-old-encodings.js';

vi.setConfig({ testTimeout: 60_000 });

let server: TestServer;
let oracle: Oracle;
let here: Redis;
let redis: Redis;

beforeAll(async () => {
  [server, oracle] = await Promise.all([startServer(['--save', '']), startRedis()]);
  here = new Redis({ port: server.port, host: '127.0.0.1' });
  redis = new Redis({ port: oracle.port, host: '127.0.0.1' });
  await sameEncodingConfig(here);
  await sameEncodingConfig(redis);
});

afterAll(async () => {
  here?.disconnect();
  redis?.disconnect();
  oracle?.stop();
  await server?.stop();
});

/** A payload with its CRC recomputed after an edit (so only the content is wrong). */
function resealed(body: Buffer): Buffer {
  return Buffer.concat([body, crc64(body)]);
}

/** The reply or error text of a command. */
async function answer(c: Redis, ...args: (string | Buffer | number)[]): Promise<unknown> {
  try {
    return await c.call(...(args as [string]));
  } catch (e) {
    return `ERR:${(e as Error).message}`;
  }
}

describe('DUMP / RESTORE interop with redis-server 7.0', () => {
  const keys = Object.keys(FIXTURE_ENCODINGS);

  it('the fixture has every encoding on redis-server', async () => {
    await redis.flushall();
    await fillFixture(redis);
    for (const k of keys) expect([k, await redis.call('OBJECT', 'ENCODING', k)]).toEqual([k, FIXTURE_ENCODINGS[k]]);
  });

  it('a payload DUMPed by redis-server restores here identically, for every type and encoding', async () => {
    await redis.flushall();
    await here.flushall();
    await fillFixture(redis);
    for (const k of keys) {
      const p = await redis.dumpBuffer(k);
      expect(await here.restore(k, 0, p)).toBe('OK');
      expect([k, await describeKey(here, k)]).toEqual([k, await describeKey(redis, k)]);
    }
  });

  it('a payload DUMPed here restores on redis-server identically, for every type and encoding', async () => {
    await redis.flushall();
    await here.flushall();
    await fillFixture(here);
    for (const k of keys) {
      expect([k, await here.call('OBJECT', 'ENCODING', k)]).toEqual([k, FIXTURE_ENCODINGS[k]]);
      const p = await here.dumpBuffer(k);
      expect([k, await answer(redis, 'RESTORE', k, 0, p)]).toEqual([k, 'OK']);
      expect([k, await describeKey(redis, k)]).toEqual([k, await describeKey(here, k)]);
    }
  });

  it('a string payload is byte-identical to redis-server\'s (integer, LZF and raw encodings)', async () => {
    await redis.flushall();
    await here.flushall();
    for (const [k, v] of [['a', '12345'], ['b', '-9223372036854775808'], ['c', 'abcdefghij'.repeat(30)], ['d', 'short'], ['e', '']]) {
      await redis.set(k, v);
      await here.set(k, v);
      expect([k, (await here.dumpBuffer(k)).toString('hex')]).toEqual([k, (await redis.dumpBuffer(k)).toString('hex')]);
    }
  });

  it('RESTORE with a TTL, ABSTTL, REPLACE, IDLETIME answers and expires as redis-server', async () => {
    for (const c of [here, redis]) {
      await c.flushall();
      await c.set('src', 'v');
    }
    const p = await redis.dumpBuffer('src');
    for (const c of [here, redis]) {
      expect(await answer(c, 'RESTORE', 'src', 0, p)).toBe('ERR:BUSYKEY Target key name already exists.');
      expect(await answer(c, 'RESTORE', 'k1', 100000, p)).toBe('OK');
      const pttl = await c.pttl('k1');
      expect(pttl).toBeGreaterThan(90000);
      expect(pttl).toBeLessThanOrEqual(100000);
      const at = Date.now() + 200000;
      expect(await answer(c, 'RESTORE', 'k2', at, p, 'ABSTTL')).toBe('OK');
      expect(Math.abs((await c.pexpiretime('k2')) - at)).toBeLessThanOrEqual(1);
      // Already expired: OK, and REPLACE removes what was there.
      expect(await answer(c, 'RESTORE', 'k2', 1, p, 'ABSTTL', 'REPLACE')).toBe('OK');
      expect(await c.exists('k2')).toBe(0);
      expect(await answer(c, 'RESTORE', 'k3', 0, p, 'IDLETIME', 1000)).toBe('OK');
      const idle = Number(await c.call('OBJECT', 'IDLETIME', 'k3'));
      expect(idle).toBeGreaterThanOrEqual(1000);
      expect(idle).toBeLessThan(1010);
      await c.set('k4', 'old');
      await c.expire('k4', 1000);
      expect(await answer(c, 'RESTORE', 'k4', 0, p, 'REPLACE')).toBe('OK');
      expect(await c.ttl('k4')).toBe(-1);
      expect(await c.get('k4')).toBe('v');
    }
  });

  it('RESTORE FREQ sets the LFU counter under an LFU policy', async () => {
    const p = await redis.dumpBuffer('src');
    for (const c of [here, redis]) {
      await c.config('SET', 'maxmemory-policy', 'allkeys-lfu');
      try {
        expect(await answer(c, 'RESTORE', 'f1', 0, p, 'FREQ', 100)).toBe('OK');
        expect(await c.call('OBJECT', 'FREQ', 'f1')).toBe(100);
      } finally {
        await c.config('SET', 'maxmemory-policy', 'noeviction');
      }
    }
  });

  it('argument and payload errors are redis-server\'s', async () => {
    for (const c of [here, redis]) {
      await c.flushall();
      await c.set('src', 'value');
    }
    const p = await redis.dumpBuffer('src');
    const badCrc = Buffer.from(p);
    badCrc[badCrc.length - 1] ^= 1;
    const newer = Buffer.from(p);
    newer[newer.length - 10] = 11;
    const body = p.subarray(0, p.length - 8);
    const unknownType = resealed(Buffer.concat([Buffer.from([42]), body.subarray(1)]));
    const truncated = resealed(Buffer.concat([Buffer.from([0, 0x3f, 0x61]), body.subarray(body.length - 2)]));
    const moduleType = resealed(Buffer.concat([Buffer.from([7, 0]), body.subarray(body.length - 2)]));
    const cases: (string | number | Buffer)[][] = [
      ['RESTORE', 'k', 0, badCrc],
      ['RESTORE', 'k', 0, newer],
      ['RESTORE', 'k', 0, 'short'],
      ['RESTORE', 'k', 0, unknownType],
      ['RESTORE', 'k', 0, truncated],
      ['RESTORE', 'k', 0, moduleType],
      ['RESTORE', 'k', -1, p],
      ['RESTORE', 'k', 'x', p],
      ['RESTORE', 'k', 0, p, 'IDLETIME', -1],
      ['RESTORE', 'k', 0, p, 'FREQ', 256],
      ['RESTORE', 'k', 0, p, 'FREQ', 1, 'IDLETIME', 1],
      ['RESTORE', 'k', 0, p, 'BOGUS'],
      ['RESTORE', 'src', 'x', p],
      ['RESTORE', 'k'],
      ['DUMP', 'missing'],
      ['DUMP'],
    ];
    for (const args of cases) expect([args.map(String).join(' ').slice(0, 40), await answer(here, ...args)]).toEqual([args.map(String).join(' ').slice(0, 40), await answer(redis, ...args)]);
  });

  it('damaged payloads with a valid checksum get "Bad data format" or restore, and never hurt the server', async () => {
    await here.flushall();
    await fillFixture(here);
    let refused = 0;
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (const k of Object.keys(FIXTURE_ENCODINGS)) {
      if (k === 'str:big' || k === 'list:bigelem') continue;
      const p = await here.dumpBuffer(k);
      const body = p.subarray(0, p.length - 8);
      for (let t = 0; t < 40; t++) {
        const b = Buffer.from(body);
        const cut = rnd(3) === 0;
        const damaged = cut ? Buffer.concat([b.subarray(0, 1 + rnd(b.length - 11)), b.subarray(b.length - 2)]) : b;
        if (!cut) for (let j = 0; j <= rnd(3); j++) damaged[rnd(damaged.length - 2)] ^= 1 << rnd(8);
        const r = await answer(here, 'RESTORE', 'damaged', 0, resealed(damaged), 'REPLACE');
        if (r !== 'OK') {
          expect(r).toBe('ERR:ERR Bad data format');
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(100);
    expect(await here.ping()).toBe('PONG');
  });
});

describe('RESTORE of the encodings older Redis versions wrote', () => {
  it('ziplists, zipmaps, quicklist 1, linked lists and text scores restore here as on redis-server', async () => {
    await redis.flushall();
    await here.flushall();
    for (const [k, p] of Object.entries(oldPayloads())) {
      expect([k, await answer(redis, 'RESTORE', k, 0, p)]).toEqual([k, 'OK']);
      expect([k, await answer(here, 'RESTORE', k, 0, p)]).toEqual([k, 'OK']);
      expect([k, await describeKey(here, k)]).toEqual([k, await describeKey(redis, k)]);
    }
  });
});
