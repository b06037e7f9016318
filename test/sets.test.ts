/**
 * The set family against the real server, over ioredis v5 (RESP2),
 * ioredis v6 (RESP3), node-redis and raw RESP3 bytes; mirrors what Redis's
 * tests/unit/type/set.tcl checks.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis5 from 'ioredis5';
import Redis6 from 'ioredis';
import { createClient } from 'redis';
import { RawClient, resp, redisCli, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis5;
beforeAll(async () => {
  srv = await startServer();
  r = new Redis5({ port: srv.port, host: '127.0.0.1', enableReadyCheck: false });
});
afterAll(async () => {
  r.disconnect();
  await srv.stop();
});
beforeEach(async () => {
  await r.flushall();
});

const sorted = (a: string[]) => [...a].sort();

async function raw3(): Promise<RawClient> {
  const c = await RawClient.connect(srv.port);
  c.write(resp('HELLO', '3'));
  await c.readUntil('proto');
  await c.readUntil('modules\r\n*0\r\n');
  return c;
}

describe('basics', () => {
  it('SADD/SREM/SCARD/SISMEMBER/SMISMEMBER/SMEMBERS', async () => {
    expect(await r.sadd('s', 'a', 'b', 'a', 'c')).toBe(3);
    expect(await r.sadd('s', 'c', 'd')).toBe(1);
    expect(await r.scard('s')).toBe(4);
    expect(await r.sismember('s', 'a')).toBe(1);
    expect(await r.sismember('s', 'z')).toBe(0);
    expect(await r.sismember('nokey', 'z')).toBe(0);
    expect(await r.call('smismember', 's', 'a', 'z', 'd')).toEqual([1, 0, 1]);
    expect(await r.call('smismember', 'nokey', 'a')).toEqual([0]);
    expect(sorted(await r.smembers('s'))).toEqual(['a', 'b', 'c', 'd']);
    expect(await r.srem('s', 'a', 'z', 'b')).toBe(2);
    expect(await r.srem('s', 'c', 'd')).toBe(2);
    // An emptied set is removed.
    expect(await r.dbsize()).toBe(0);
    expect(await r.smembers('s')).toEqual([]);
    expect(await r.scard('s')).toBe(0);
  });

  it('lists an all-integer set in ascending order, as an intset does', async () => {
    await r.sadd('s', '17', '-3', '5', '100');
    expect(await r.smembers('s')).toEqual(['-3', '5', '17', '100']);
  });

  it('answers WRONGTYPE for every command on a string key', async () => {
    await r.set('str', 'x');
    for (const args of [
      ['sadd', 'str', 'a'],
      ['srem', 'str', 'a'],
      ['scard', 'str'],
      ['sismember', 'str', 'a'],
      ['smembers', 'str'],
      ['spop', 'str'],
      ['srandmember', 'str'],
      ['sinter', 'str'],
      ['sunion', 'str'],
      ['sdiff', 'str'],
      ['sscan', 'str', '0'],
      ['smove', 'str', 'x', 'a'],
    ]) {
      await expect(r.call(args[0], ...args.slice(1)), args.join(' ')).rejects.toThrow(/^WRONGTYPE Operation against a key holding the wrong kind of value/);
    }
  });

  it('is binary safe', async () => {
    const m = '\x00\xff\r\n';
    const c = await RawClient.connect(srv.port);
    c.write(resp('SADD', 'bin', m));
    expect(await c.read(4)).toBe(':1\r\n');
    c.write(resp('SMEMBERS', 'bin'));
    expect(await c.read(14)).toBe('*1\r\n$4\r\n' + m + '\r\n');
    c.close();
  });
});

describe('RESP3 shapes', () => {
  it('SMEMBERS, SINTER and SPOP with count are sets; SRANDMEMBER is an array', async () => {
    await r.sadd('s', '1');
    const c = await raw3();
    c.write(resp('SMEMBERS', 's'));
    expect(await c.read(11)).toBe('~1\r\n$1\r\n1\r\n');
    c.write(resp('SINTER', 's'));
    expect(await c.read(11)).toBe('~1\r\n$1\r\n1\r\n');
    c.write(resp('SRANDMEMBER', 's', '5'));
    expect(await c.read(11)).toBe('*1\r\n$1\r\n1\r\n');
    c.write(resp('SPOP', 's', '5'));
    expect(await c.read(11)).toBe('~1\r\n$1\r\n1\r\n');
    c.write(resp('SPOP', 's'));
    expect(await c.read(3)).toBe('_\r\n');
    c.write(resp('SMEMBERS', 's'));
    expect(await c.read(4)).toBe('~0\r\n');
    c.close();
  });

  it('ioredis v6 (HELLO 3) reads sets', async () => {
    const r6 = new Redis6({ port: srv.port, host: '127.0.0.1', enableReadyCheck: false });
    await r6.sadd('s6', 'x', 'y');
    expect(sorted((await r6.smembers('s6')) as string[])).toEqual(['x', 'y']);
    r6.disconnect();
  });
});

describe('SPOP and SRANDMEMBER', () => {
  it('SPOP removes what it returns, with and without count', async () => {
    await r.sadd('s', 'a', 'b', 'c', 'd', 'e');
    const one = await r.spop('s');
    expect(['a', 'b', 'c', 'd', 'e']).toContain(one);
    const three = await r.spop('s', 3);
    expect(new Set(three).size).toBe(3);
    expect(await r.scard('s')).toBe(1);
    expect((await r.spop('s', 10)).length).toBe(1);
    expect(await r.dbsize()).toBe(0);
    expect(await r.spop('s')).toBe(null);
    expect(await r.spop('s', 2)).toEqual([]);
    await r.sadd('s', 'a');
    expect(await r.spop('s', 0)).toEqual([]);
    await expect(r.call('spop', 's', '-1')).rejects.toThrow('ERR value is out of range, must be positive');
    await expect(r.call('spop', 's', '1', '2')).rejects.toThrow('ERR syntax error');
  });

  it('SRANDMEMBER: positive counts are distinct, negative ones may repeat', async () => {
    const all = Array.from({ length: 20 }, (_, i) => 'm' + i);
    await r.sadd('s', ...all);
    const five = (await r.srandmember('s', 5)) as string[];
    expect(new Set(five).size).toBe(5);
    expect((await r.srandmember('s', 100)) as string[]).toHaveLength(20);
    const many = (await r.srandmember('s', -200)) as string[];
    expect(many).toHaveLength(200);
    expect(new Set(many).size).toBeLessThan(200);
    for (const m of many) expect(all).toContain(m);
    expect(await r.srandmember('s', 0)).toEqual([]);
    expect(await r.srandmember('nokey', 5)).toEqual([]);
    expect(await r.srandmember('nokey')).toBe(null);
    await expect(r.call('srandmember', 's', '-9223372036854775808')).rejects.toThrow(/value is out of range/);
    expect(await r.scard('s')).toBe(20);
  });
});

describe('SMOVE', () => {
  it('moves, refuses wrong types and handles same src/dst', async () => {
    await r.sadd('a', '1', '2');
    await r.sadd('b', 'x');
    expect(await r.smove('a', 'b', '1')).toBe(1);
    expect(sorted(await r.smembers('b'))).toEqual(['1', 'x']);
    expect(await r.smove('a', 'b', 'nope')).toBe(0);
    expect(await r.smove('a', 'new', '2')).toBe(1);
    expect(await r.smembers('new')).toEqual(['2']);
    // a is now empty and gone.
    expect(await r.scard('a')).toBe(0);
    expect(await r.smove('nokey', 'b', 'x')).toBe(0);
    expect(await r.smove('b', 'b', 'x')).toBe(1);
    expect(await r.smove('b', 'b', 'zz')).toBe(0);
    await r.set('str', 'v');
    await expect(r.smove('b', 'str', 'x')).rejects.toThrow(/WRONGTYPE/);
    await expect(r.smove('str', 'b', 'x')).rejects.toThrow(/WRONGTYPE/);
    // A missing source answers 0 before dst's type is looked at.
    expect(await r.smove('nokey', 'str', 'x')).toBe(0);
  });
});

describe('algebra', () => {
  beforeEach(async () => {
    await r.sadd('s1', 'a', 'b', 'c', 'd');
    await r.sadd('s2', 'c', 'd', 'e');
    await r.sadd('s3', 'd', 'f');
  });

  it('SINTER/SUNION/SDIFF and missing keys', async () => {
    expect(sorted(await r.sinter('s1', 's2'))).toEqual(['c', 'd']);
    expect(await r.sinter('s1', 's2', 's3')).toEqual(['d']);
    expect(await r.sinter('s1', 'nokey')).toEqual([]);
    expect(sorted(await r.sunion('s1', 's3', 'nokey'))).toEqual(['a', 'b', 'c', 'd', 'f']);
    expect(sorted(await r.sdiff('s1', 's2'))).toEqual(['a', 'b']);
    expect(sorted(await r.sdiff('s1', 'nokey'))).toEqual(['a', 'b', 'c', 'd']);
    expect(await r.sdiff('nokey', 's1')).toEqual([]);
    await r.set('str', 'v');
    await expect(r.sinter('s1', 'str')).rejects.toThrow(/WRONGTYPE/);
    await expect(r.sinter('nokey', 'str')).rejects.toThrow(/WRONGTYPE/);
  });

  it('the STORE forms replace dst and delete it for an empty result', async () => {
    expect(await r.sinterstore('d', 's1', 's2')).toBe(2);
    expect(sorted(await r.smembers('d'))).toEqual(['c', 'd']);
    expect(await r.sunionstore('d', 's2', 's3')).toBe(4);
    expect(await r.sdiffstore('d', 's1', 's2', 's3')).toBe(2);
    expect(sorted(await r.smembers('d'))).toEqual(['a', 'b']);
    await r.set('str', 'v');
    expect(await r.sinterstore('str', 's1', 's3')).toBe(1);
    expect(await r.smembers('str')).toEqual(['d']);
    expect(await r.sinterstore('d', 's1', 'nokey')).toBe(0);
    expect(await r.scard('d')).toBe(0);
    expect(await r.dbsize()).toBe(4);
  });

  it('SINTERCARD with LIMIT and its errors', async () => {
    expect(await r.call('sintercard', '2', 's1', 's2')).toBe(2);
    expect(await r.call('sintercard', '2', 's1', 's2', 'LIMIT', '1')).toBe(1);
    expect(await r.call('sintercard', '2', 's1', 's2', 'LIMIT', '0')).toBe(2);
    expect(await r.call('sintercard', '1', 'nokey')).toBe(0);
    await expect(r.call('sintercard', '0', 's1')).rejects.toThrow('ERR numkeys should be greater than 0');
    await expect(r.call('sintercard', '3', 's1', 's2')).rejects.toThrow("ERR Number of keys can't be greater than number of args");
    await expect(r.call('sintercard', '1', 's1', 'LIMIT', '-1')).rejects.toThrow("ERR LIMIT can't be negative");
    await expect(r.call('sintercard', '1', 's1', 'LIMIT', 'x')).rejects.toThrow("ERR LIMIT can't be negative");
    await expect(r.call('sintercard', '1', 's1', 'bar')).rejects.toThrow('ERR syntax error');
  });
});

describe('SSCAN', () => {
  it('returns every member by cursor 0, filtered by MATCH', async () => {
    const members = Array.from({ length: 300 }, (_, i) => 'k' + i);
    await r.sadd('s', ...members);
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, items] = await r.sscan('s', cursor, 'COUNT', 20);
      for (const m of items) seen.add(m);
      cursor = next;
    } while (cursor !== '0');
    expect(seen.size).toBe(300);
    const [, matched] = await r.sscan('s', 0, 'MATCH', 'k1?');
    expect(sorted(matched)).toEqual(['k10', 'k11', 'k12', 'k13', 'k14', 'k15', 'k16', 'k17', 'k18', 'k19']);
    await expect(r.sscan('s', 'abc')).rejects.toThrow('ERR invalid cursor');
    await expect(r.sscan('s', 0, 'COUNT', 0)).rejects.toThrow('ERR syntax error');
  });
});

describe('other clients', () => {
  it('node-redis and redis-cli see the same set', async () => {
    const c = createClient({ socket: { port: srv.port, host: '127.0.0.1' } });
    await c.connect();
    expect(await c.sAdd('nr', ['1', '2', '3'])).toBe(3);
    expect(await c.sIsMember('nr', '2')).toBe(1);
    expect((await c.sMembers('nr')).sort()).toEqual(['1', '2', '3']);
    await c.quit();
    expect(await redisCli(srv.port, ['smembers', 'nr'])).toBe('1\n2\n3\n');
  });
});
