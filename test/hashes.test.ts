/**
 * Hash commands against the real server: what Redis's
 * tests/unit/type/hash.tcl checks, through ioredis v5/v6, node-redis,
 * redis-cli and raw RESP2/RESP3 sockets.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import Redis5 from 'ioredis5';
import { createClient } from 'redis';
import { RawClient, resp, redisCli, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis;
beforeAll(async () => {
  srv = await startServer();
  r = new Redis5({ port: srv.port, lazyConnect: true, enableReadyCheck: false }) as unknown as Redis;
  await r.connect();
});
afterAll(async () => {
  r.disconnect();
  await srv.stop();
});
let n = 0;
let k: string;
beforeEach(() => {
  k = `hash:${++n}`;
});

describe('fields', () => {
  it('HSET/HSETNX/HMSET/HGET/HMGET/HLEN/HEXISTS/HSTRLEN', async () => {
    expect(await r.hset(k, 'a', '1', 'b', '22')).toBe(2);
    expect(await r.hset(k, 'a', '11', 'c', '333')).toBe(1);
    expect(await r.hsetnx(k, 'a', 'x')).toBe(0);
    expect(await r.hsetnx(k, 'd', '4')).toBe(1);
    expect(await r.hmset(k, 'e', '5')).toBe('OK');
    expect(await r.hget(k, 'a')).toBe('11');
    expect(await r.hget(k, 'zz')).toBeNull();
    expect(await r.hget('nokey', 'a')).toBeNull();
    expect(await r.hmget(k, 'a', 'zz', 'c')).toEqual(['11', null, '333']);
    expect(await r.hmget('nokey', 'a', 'b')).toEqual([null, null]);
    expect(await r.hlen(k)).toBe(5);
    expect(await r.hexists(k, 'd')).toBe(1);
    expect(await r.hexists(k, 'zz')).toBe(0);
    expect(await r.hstrlen(k, 'c')).toBe(3);
    expect(await r.hstrlen(k, 'zz')).toBe(0);
    await expect(r.call('hset', k, 'a', '1', 'b')).rejects.toThrow("ERR wrong number of arguments for 'hset' command");
    await expect(r.call('hmset', k, 'a', '1', 'b')).rejects.toThrow("ERR wrong number of arguments for 'hmset' command");
  });

  it('HKEYS/HVALS/HGETALL keep insertion order, HGETALL is a map in RESP3', async () => {
    await r.hset(k, 'z', '1', 'y', '2', 'x', '3');
    expect(await r.hkeys(k)).toEqual(['z', 'y', 'x']);
    expect(await r.hvals(k)).toEqual(['1', '2', '3']);
    expect(await r.hgetall(k)).toEqual({ z: '1', y: '2', x: '3' });
    expect(await r.hgetall('nokey')).toEqual({});
    const c = await RawClient.connect(srv.port);
    c.write(resp('HELLO', '3'));
    await c.readUntil('modules\r\n*0\r\n');
    c.write(resp('HGETALL', k) + resp('HGETALL', 'nokey'));
    const want = '%3\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nx\r\n$1\r\n3\r\n%0\r\n';
    expect(await c.read(want.length)).toBe(want);
    c.close();
  });

  it('HDEL returns the count and removes the emptied key', async () => {
    await r.hset(k, 'a', '1', 'b', '2', 'c', '3');
    expect(await r.hdel(k, 'a', 'zz')).toBe(1);
    expect(await r.hdel(k, 'b', 'c', 'a')).toBe(2);
    expect(await r.hlen(k)).toBe(0);
    expect(await r.hgetall(k)).toEqual({});
    expect(await r.hdel('nokey', 'a')).toBe(0);
  });

  it('is binary safe', async () => {
    const f = Buffer.from([0, 255, 13, 10]);
    const v = Buffer.from([128, 0, 1]);
    await r.hset(k, f, v);
    expect(await r.hgetBuffer(k, f)).toEqual(v);
    expect(await r.hstrlen(k, f)).toBe(3);
  });
});

describe('counters', () => {
  it('HINCRBY with Redis errors and int64 overflow', async () => {
    expect(await r.hincrby(k, 'n', 5)).toBe(5);
    expect(await r.hincrby(k, 'n', -10)).toBe(-5);
    await r.hset(k, 'big', '17179869184');
    expect(await r.hincrby(k, 'big', 17179869184)).toBe(34359738368);
    await r.hset(k, 's', ' 11');
    await expect(r.hincrby(k, 's', 1)).rejects.toThrow('ERR hash value is not an integer');
    await expect(r.hincrby(k, 'n', 'x' as unknown as number)).rejects.toThrow('ERR value is not an integer or out of range');
    await r.hset(k, 'edge', '-9223372036854775484');
    expect(await r.call('hincrby', k, 'edge', '-1')).toBe(-9223372036854775485);
    await expect(r.hincrby(k, 'edge', -10000)).rejects.toThrow('ERR increment or decrement would overflow');
  });

  it('HINCRBYFLOAT formats like Redis and refuses bad values', async () => {
    expect(await r.hincrbyfloat(k, 'f', '10.5')).toBe('10.5');
    expect(await r.hincrbyfloat(k, 'f', '0.1')).toBe('10.6');
    await r.hset(k, 'g', '1.23');
    expect(await r.hincrbyfloat(k, 'g', '0.77')).toBe('2');
    expect(await r.hincrbyfloat(k, 'g', '-0.1')).toBe('1.9');
    expect(await r.hincrbyfloat(k, 'h', '1e20')).toBe('100000000000000000000');
    await r.hset(k, 's', '1 ');
    await expect(r.hincrbyfloat(k, 's', '1')).rejects.toThrow('ERR hash value is not a float');
    await r.hset(k, 'nul', '1\x002');
    await expect(r.hincrbyfloat(k, 'nul', '1')).rejects.toThrow('ERR hash value is not a float');
    await expect(r.hincrbyfloat(k, 'f', 'abc')).rejects.toThrow('ERR value is not a valid float');
    await expect(r.hincrbyfloat(k, 'f', '+inf')).rejects.toThrow('ERR value is NaN or Infinity');
  });
});

describe('HRANDFIELD', () => {
  it('single, positive, negative counts and WITHVALUES', async () => {
    await r.hset(k, 'a', '1', 'b', '2', 'c', '3');
    expect(['a', 'b', 'c']).toContain(await r.hrandfield(k));
    expect(await r.hrandfield('nokey')).toBeNull();
    expect(await r.hrandfield('nokey', 5)).toEqual([]);
    expect(await r.hrandfield(k, 0)).toEqual([]);
    expect(((await r.hrandfield(k, 10)) as string[]).sort()).toEqual(['a', 'b', 'c']);
    const two = (await r.hrandfield(k, 2)) as string[];
    expect(new Set(two).size).toBe(2);
    const many = (await r.hrandfield(k, -100)) as string[];
    expect(many).toHaveLength(100);
    expect(new Set(many)).toEqual(new Set(['a', 'b', 'c']));
    const wv = (await r.hrandfield(k, -5, 'WITHVALUES')) as string[];
    expect(wv).toHaveLength(10);
    for (let i = 0; i < 10; i += 2) expect(wv[i + 1]).toBe({ a: '1', b: '2', c: '3' }[wv[i]]);
    await expect(r.call('hrandfield', k, '1', 'WITHVALUE')).rejects.toThrow('ERR syntax error');
    await expect(r.call('hrandfield', k, '-9223372036854770000', 'WITHVALUES')).rejects.toThrow('value is out of range');
    await expect(r.call('hrandfield', k, '-9223372036854775808')).rejects.toThrow('value is out of range');
  });

  it('answers pairs in RESP3', async () => {
    await r.hset(k, 'a', '1');
    const c = await RawClient.connect(srv.port);
    c.write(resp('HELLO', '3'));
    await c.readUntil('modules\r\n*0\r\n');
    c.write(resp('HRANDFIELD', k, '-2', 'WITHVALUES'));
    const want = '*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n';
    expect(await c.read(want.length)).toBe(want);
    c.close();
  });
});

describe('HSCAN and encodings', () => {
  it('returns a small hash at once and walks a big one with a cursor', async () => {
    await r.hset(k, 'a', '1', 'b', '2', 'key:1', '3');
    expect(await r.hscan(k, 0)).toEqual(['0', ['a', '1', 'b', '2', 'key:1', '3']]);
    expect(await r.hscan(k, 0, 'MATCH', 'key:*')).toEqual(['0', ['key:1', '3']]);
    expect(await r.hscan('nokey', 0)).toEqual(['0', []]);
    await expect(r.hscan(k, 'x' as unknown as number)).rejects.toThrow('ERR invalid cursor');
    await expect(r.call('hscan', k, '0', 'COUNT', '0')).rejects.toThrow('ERR syntax error');
    const big = k + ':big';
    const args: string[] = [];
    for (let i = 0; i < 1000; i++) args.push('f' + i, 'v' + i);
    await r.hset(big, ...args);
    const seen = new Map<string, string>();
    let cursor = '0';
    let calls = 0;
    do {
      const [next, items] = await r.hscan(big, cursor, 'COUNT', 100);
      for (let i = 0; i < items.length; i += 2) seen.set(items[i], items[i + 1]);
      cursor = next;
      calls++;
    } while (cursor !== '0');
    expect(calls).toBeGreaterThan(5);
    expect(seen.size).toBe(1000);
    expect(seen.get('f999')).toBe('v999');
  });

  it('converts listpack to hashtable by entry count and value size, and never back', async () => {
    await r.hset(k, 'a', '1');
    expect(await r.call('object', 'encoding', k)).toBe('listpack');
    await r.hset(k, 'long', 'x'.repeat(65));
    expect(await r.call('object', 'encoding', k)).toBe('hashtable');
    await r.hdel(k, 'long');
    expect(await r.call('object', 'encoding', k)).toBe('hashtable');
    const args: string[] = [];
    for (let i = 0; i < 513; i++) args.push('f' + i, 'v');
    await r.hset(k + 'n', ...args);
    expect(await r.call('object', 'encoding', k + 'n')).toBe('hashtable');
    expect(await r.type(k)).toBe('hash');
  });

  it('accepts the listpack limits and their ziplist aliases in CONFIG', async () => {
    expect(await r.config('SET', 'hash-max-ziplist-entries', '16')).toBe('OK');
    expect(await r.config('GET', 'hash-max-listpack-entries')).toEqual(['hash-max-listpack-entries', '16']);
    expect(await r.config('SET', 'hash-max-listpack-value', '32')).toBe('OK');
    expect(await r.config('GET', 'hash-max-ziplist-value')).toEqual(['hash-max-ziplist-value', '32']);
    await r.config('SET', 'hash-max-listpack-entries', '512');
    await r.config('SET', 'hash-max-listpack-value', '64');
  });
});

describe('types and clients', () => {
  it('answers WRONGTYPE for every hash command on a string and on a list', async () => {
    await r.set(k, 'str');
    await r.rpush(k + 'l', 'a');
    for (const key of [k, k + 'l']) {
      const calls: [string, ...string[]][] = [
        ['hset', key, 'a', '1'], ['hsetnx', key, 'a', '1'], ['hget', key, 'a'], ['hmget', key, 'a'], ['hmset', key, 'a', '1'],
        ['hdel', key, 'a'], ['hlen', key], ['hstrlen', key, 'a'], ['hexists', key, 'a'], ['hkeys', key], ['hvals', key],
        ['hgetall', key], ['hincrby', key, 'a', '1'], ['hincrbyfloat', key, 'a', '1'], ['hrandfield', key], ['hscan', key, '0'],
      ];
      for (const [c, ...a] of calls) await expect(r.call(c, ...a), c).rejects.toThrow(/^WRONGTYPE/);
    }
    await expect(r.lpush(k + 'h', 'x').then(() => r.hset(k + 'h', 'a', '1'))).rejects.toThrow(/^WRONGTYPE/);
  });

  it('works the same with ioredis v6 (RESP3), node-redis and redis-cli', async () => {
    const r6 = new Redis({ port: srv.port, protocol: 3, enableReadyCheck: false } as never);
    expect(await r6.hset(k, 'a', '1', 'b', '2')).toBe(2);
    expect(await r6.hgetall(k)).toEqual({ a: '1', b: '2' });
    r6.disconnect();
    const nr = createClient({ socket: { port: srv.port, host: '127.0.0.1' } });
    await nr.connect();
    expect(await nr.hSet(k, { c: '3' })).toBe(1);
    expect(await nr.hGetAll(k)).toEqual({ a: '1', b: '2', c: '3' });
    expect(await nr.hIncrBy(k, 'a', 41)).toBe(42);
    await nr.quit();
    expect(await redisCli(srv.port, ['hgetall', k])).toBe('a\n42\nb\n2\nc\n3\n');
    expect(await redisCli(srv.port, ['-3', 'hgetall', k])).toBe('a 42\nb 2\nc 3\n');
  });
});
