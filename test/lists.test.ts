/**
 * List commands (non-blocking) against the real server: what Redis's
 * tests/unit/type/list*.tcl check, through ioredis v5/v6, node-redis,
 * redis-cli and raw RESP2/RESP3 sockets.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import Redis5 from 'ioredis5';
import { createClient } from 'redis';
import { RawClient, resp, redisCli, startServer, type TestServer } from './helpers/server.js';
import { startRedis } from './helpers/redis-oracle.js';

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
  k = `list:${++n}`;
});

describe('push and pop', () => {
  it('LPUSH/RPUSH return the new length and keep order', async () => {
    expect(await r.lpush(k, 'a')).toBe(1);
    expect(await r.lpush(k, 'b', 'c')).toBe(3);
    expect(await r.rpush(k, 'x', 'y')).toBe(5);
    expect(await r.lrange(k, 0, -1)).toEqual(['c', 'b', 'a', 'x', 'y']);
    expect(await r.llen(k)).toBe(5);
  });

  it('LPUSHX/RPUSHX only touch existing lists', async () => {
    expect(await r.lpushx(k, 'a')).toBe(0);
    expect(await r.rpushx(k, 'a', 'b')).toBe(0);
    expect(await r.llen(k)).toBe(0);
    await r.rpush(k, 'm');
    expect(await r.lpushx(k, 'l1', 'l2')).toBe(3);
    expect(await r.rpushx(k, 'r')).toBe(4);
    expect(await r.lrange(k, 0, -1)).toEqual(['l2', 'l1', 'm', 'r']);
  });

  it('LPOP/RPOP single and with count, and remove the emptied key', async () => {
    await r.rpush(k, '1', '2', '3', '4', '5');
    expect(await r.lpop(k)).toBe('1');
    expect(await r.rpop(k)).toBe('5');
    expect(await r.lpop(k, 2)).toEqual(['2', '3']);
    expect(await r.rpop(k, 0)).toEqual([]);
    expect(await r.rpop(k, 10)).toEqual(['4']);
    expect(await r.lpop(k)).toBeNull();
    expect(await r.llen(k)).toBe(0);
    expect(await r.lrange(k, 0, -1)).toEqual([]);
    await expect(r.lpop(k, -1)).rejects.toThrow('ERR value is out of range, must be positive');
    await expect(r.call('lpop', k, '1', '2')).rejects.toThrow("ERR wrong number of arguments for 'lpop' command");
  });

  it('answers the RESP2 and RESP3 nulls Redis uses for pops with and without count', async () => {
    const c = await RawClient.connect(srv.port);
    c.write(resp('LPOP', 'nokey') + resp('LPOP', 'nokey', '1') + resp('RPOP', 'nokey', '0'));
    expect(await c.read('$-1\r\n*-1\r\n*-1\r\n'.length)).toBe('$-1\r\n*-1\r\n*-1\r\n');
    c.write(resp('HELLO', '3'));
    await c.readUntil('modules\r\n*0\r\n');
    c.write(resp('LPOP', 'nokey') + resp('LPOP', 'nokey', '1'));
    expect(await c.read(6)).toBe('_\r\n_\r\n');
    c.write(resp('RPUSH', k, 'a') + resp('RPOP', k, '0') + resp('LMPOP', '1', 'nokey', 'LEFT'));
    expect(await c.read(':1\r\n*0\r\n_\r\n'.length)).toBe(':1\r\n*0\r\n_\r\n');
    c.close();
  });

  it('is binary safe', async () => {
    const bin = Buffer.from([0, 1, 2, 255, 13, 10, 128]);
    await r.rpush(k, bin, Buffer.from('plain'));
    expect(await r.lrangeBuffer(k, 0, -1)).toEqual([bin, Buffer.from('plain')]);
    expect(await r.lindexBuffer(k, 0)).toEqual(bin);
  });

  it('keeps O(1) pushes and pops for long lists', async () => {
    const p = r.pipeline();
    for (let i = 0; i < 20000; i++) p.rpush(k, String(i));
    await p.exec();
    expect(await r.llen(k)).toBe(20000);
    expect(await r.lindex(k, 12345)).toBe('12345');
    expect(await r.lindex(k, -1)).toBe('19999');
    const t0 = Date.now();
    await r.lpop(k, 19990);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await r.lrange(k, 0, -1)).toEqual(['19990', '19991', '19992', '19993', '19994', '19995', '19996', '19997', '19998', '19999']);
  });
});

describe('reading and editing', () => {
  it('LRANGE clamps indexes like Redis', async () => {
    await r.rpush(k, 'a', 'b', 'c', 'd');
    expect(await r.lrange(k, 1, 2)).toEqual(['b', 'c']);
    expect(await r.lrange(k, -2, -1)).toEqual(['c', 'd']);
    expect(await r.lrange(k, -100, 100)).toEqual(['a', 'b', 'c', 'd']);
    expect(await r.lrange(k, 3, 1)).toEqual([]);
    expect(await r.lrange(k, 5, 10)).toEqual([]);
    expect(await r.lrange(k, 0, -5)).toEqual([]);
    expect(await r.lrange('nokey', 0, -1)).toEqual([]);
    await expect(r.lrange(k, 'x' as unknown as number, 1)).rejects.toThrow('ERR value is not an integer or out of range');
  });

  it('LINDEX and LSET, with Redis errors', async () => {
    await r.rpush(k, 'a', 'b', 'c');
    expect(await r.lindex(k, 1)).toBe('b');
    expect(await r.lindex(k, -3)).toBe('a');
    expect(await r.lindex(k, 3)).toBeNull();
    expect(await r.lset(k, -1, 'z')).toBe('OK');
    expect(await r.lrange(k, 0, -1)).toEqual(['a', 'b', 'z']);
    await expect(r.lset(k, 3, 'x')).rejects.toThrow('ERR index out of range');
    await expect(r.lset('nokey', 0, 'x')).rejects.toThrow('ERR no such key');
  });

  it('LINSERT before/after the first pivot', async () => {
    await r.rpush(k, 'a', 'b', 'b', 'c');
    expect(await r.linsert(k, 'BEFORE', 'b', 'x')).toBe(5);
    expect(await r.linsert(k, 'AFTER', 'c', 'y')).toBe(6);
    expect(await r.linsert(k, 'AFTER', 'a', 'w')).toBe(7);
    expect(await r.linsert(k, 'BEFORE', 'nope', 'q')).toBe(-1);
    expect(await r.lrange(k, 0, -1)).toEqual(['a', 'w', 'x', 'b', 'b', 'c', 'y']);
    expect(await r.linsert('nokey', 'BEFORE', 'a', 'b')).toBe(0);
    expect(await r.llen('nokey')).toBe(0);
    await expect(r.call('linsert', k, 'middle', 'a', 'b')).rejects.toThrow('ERR syntax error');
  });

  it('LREM from head, tail and all', async () => {
    await r.rpush(k, 'a', 'x', 'b', 'x', 'c', 'x');
    expect(await r.lrem(k, 1, 'x')).toBe(1);
    expect(await r.lrange(k, 0, -1)).toEqual(['a', 'b', 'x', 'c', 'x']);
    expect(await r.lrem(k, -1, 'x')).toBe(1);
    expect(await r.lrange(k, 0, -1)).toEqual(['a', 'b', 'x', 'c']);
    expect(await r.lrem(k, 0, 'x')).toBe(1);
    expect(await r.lrem(k, 0, 'zz')).toBe(0);
    for (const v of ['a', 'b', 'c']) await r.lrem(k, 0, v);
    expect(await r.llen(k)).toBe(0);
  });

  it('LREM with every count on lists pushed at both ends: the same removals and list as redis-server', async () => {
    // Pushes at both ends wrap the ring; one match moves only the shorter
    // side, several compact from the first: each path against the oracle.
    const oracle = await startRedis();
    const o = new Redis({ port: oracle.port });
    try {
      let seed = 7;
      const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
      for (let round = 0; round < 60; round++) {
        const key = `${k}:${round}`;
        const ops: [string, ...string[]][] = [];
        const len = 1 + rnd(70);
        for (let i = 0; i < len; i++) ops.push([rnd(2) ? 'lpush' : 'rpush', key, 'e' + rnd(6)]);
        for (let i = 0; i < 8; i++) ops.push(['lrem', key, String(rnd(9) - 4), 'e' + rnd(7)]);
        const here = [];
        const there = [];
        for (const op of ops) {
          here.push(await r.call(...op));
          there.push(await o.call(...op));
        }
        here.push(await r.lrange(key, 0, -1));
        there.push(await o.lrange(key, 0, -1));
        expect(here, `round ${round}`).toEqual(there);
      }
    } finally {
      o.disconnect();
      oracle.stop();
    }
  });

  it('LTRIM keeps the range and deletes the key when empty', async () => {
    await r.rpush(k, '1', '2', '3', '4', '5');
    expect(await r.ltrim(k, 1, -2)).toBe('OK');
    expect(await r.lrange(k, 0, -1)).toEqual(['2', '3', '4']);
    expect(await r.ltrim(k, -10, 10)).toBe('OK');
    expect(await r.lrange(k, 0, -1)).toEqual(['2', '3', '4']);
    expect(await r.ltrim(k, 5, 1)).toBe('OK');
    expect(await r.llen(k)).toBe(0);
  });

  it('LPOS with RANK, COUNT, MAXLEN and its errors', async () => {
    await r.rpush(k, 'a', 'b', 'c', '1', '2', '3', 'c', 'c');
    expect(await r.lpos(k, 'c')).toBe(2);
    expect(await r.lpos(k, 'c', 'RANK', 2)).toBe(6);
    expect(await r.lpos(k, 'c', 'RANK', -1)).toBe(7);
    expect(await r.lpos(k, 'c', 'RANK', 4)).toBeNull();
    expect(await r.lpos(k, 'c', 'COUNT', 0)).toEqual([2, 6, 7]);
    expect(await r.lpos(k, 'c', 'COUNT', 2, 'RANK', -1)).toEqual([7, 6]);
    expect(await r.lpos(k, 'c', 'COUNT', 0, 'MAXLEN', 7)).toEqual([2, 6]);
    expect(await r.lpos(k, 'c', 'MAXLEN', 1)).toBeNull();
    expect(await r.lpos('nokey', 'c', 'COUNT', 0)).toEqual([]);
    expect(await r.lpos('nokey', 'c')).toBeNull();
    await expect(r.lpos(k, 'c', 'RANK', 0)).rejects.toThrow("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
    await expect(r.lpos(k, 'c', 'COUNT', -1)).rejects.toThrow("ERR COUNT can't be negative");
    await expect(r.lpos(k, 'c', 'MAXLEN', -1)).rejects.toThrow("ERR MAXLEN can't be negative");
    await expect(r.call('lpos', k, 'c', 'RANK')).rejects.toThrow('ERR syntax error');
  });
});

describe('moving between lists', () => {
  it('LMOVE in all four directions, and to itself', async () => {
    const d = k + ':dst';
    await r.rpush(k, 'a', 'b', 'c');
    expect(await r.lmove(k, d, 'LEFT', 'RIGHT')).toBe('a');
    expect(await r.lmove(k, d, 'RIGHT', 'LEFT')).toBe('c');
    expect(await r.lrange(d, 0, -1)).toEqual(['c', 'a']);
    expect(await r.lmove(d, d, 'LEFT', 'RIGHT')).toBe('c');
    expect(await r.lrange(d, 0, -1)).toEqual(['a', 'c']);
    expect(await r.lmove(k, d, 'RIGHT', 'RIGHT')).toBe('b');
    expect(await r.llen(k)).toBe(0);
    expect(await r.lmove(k, d, 'LEFT', 'LEFT')).toBeNull();
    await expect(r.call('lmove', d, k, 'UP', 'LEFT')).rejects.toThrow('ERR syntax error');
    await r.rpush(k, 'only');
    expect(await r.lmove(k, k, 'LEFT', 'RIGHT')).toBe('only');
    expect(await r.lrange(k, 0, -1)).toEqual(['only']);
  });

  it('RPOPLPUSH, and WRONGTYPE leaves the source untouched', async () => {
    const d = k + ':dst';
    await r.rpush(k, 'a', 'b');
    expect(await r.rpoplpush(k, d)).toBe('b');
    await r.set(k + ':str', 'x');
    await expect(r.rpoplpush(k, k + ':str')).rejects.toThrow('WRONGTYPE');
    expect(await r.lrange(k, 0, -1)).toEqual(['a']);
    expect(await r.rpoplpush('nokey', d)).toBeNull();
  });

  it('LMPOP picks the first non-empty key', async () => {
    await r.rpush(k + 'b', '1', '2', '3');
    expect(await r.call('lmpop', '2', k + 'a', k + 'b', 'LEFT')).toEqual([k + 'b', ['1']]);
    expect(await r.call('lmpop', '2', k + 'a', k + 'b', 'RIGHT', 'COUNT', '5')).toEqual([k + 'b', ['3', '2']]);
    expect(await r.call('lmpop', '2', k + 'a', k + 'b', 'RIGHT')).toBeNull();
    await expect(r.call('lmpop', '0', k, 'LEFT')).rejects.toThrow('ERR numkeys should be greater than 0');
    await expect(r.call('lmpop', '1', k, 'LEFT', 'COUNT', '0')).rejects.toThrow('ERR count should be greater than 0');
    await expect(r.call('lmpop', '2', k, 'LEFT')).rejects.toThrow('ERR syntax error');
    await expect(r.call('lmpop', '1', k, 'LEFT', 'COUNT', '1', 'COUNT', '1')).rejects.toThrow('ERR syntax error');
  });
});

describe('types and clients', () => {
  it('answers WRONGTYPE for every list command on a string', async () => {
    await r.set(k, 'str');
    const calls: [string, ...string[]][] = [
      ['lpush', k, 'a'], ['rpushx', k, 'a'], ['lpop', k], ['rpop', k, '2'], ['llen', k], ['lrange', k, '0', '1'],
      ['lindex', k, '0'], ['lset', k, '0', 'a'], ['linsert', k, 'before', 'a', 'b'], ['lrem', k, '0', 'a'],
      ['ltrim', k, '0', '1'], ['lpos', k, 'a'], ['lmove', k, 'x', 'left', 'left'], ['lmpop', '1', k, 'left'],
      ['blpop', k, '0'], ['blmove', k, 'x', 'left', 'left', '0'],
    ];
    for (const [c, ...a] of calls) await expect(r.call(c, ...a), c).rejects.toThrow(/^WRONGTYPE Operation against a key holding the wrong kind of value/);
    expect(await r.get(k)).toBe('str');
  });

  it('TYPE says list and OBJECT ENCODING says quicklist as Redis 7.0 (when the keys family is present)', async () => {
    await r.rpush(k, 'a');
    expect(await r.type(k)).toBe('list');
    expect(await r.call('object', 'encoding', k)).toBe('quicklist');
  });

  it('accepts the quicklist tuning parameters through CONFIG SET and their aliases', async () => {
    expect(await r.config('SET', 'list-max-ziplist-size', '4')).toBe('OK');
    expect(await r.config('GET', 'list-max-listpack-size')).toEqual(['list-max-listpack-size', '4']);
    expect(await r.config('SET', 'list-max-listpack-size', '-2')).toBe('OK');
    expect(await r.config('GET', 'list-max-ziplist-size')).toEqual(['list-max-ziplist-size', '-2']);
    expect(await r.config('SET', 'list-compress-depth', '1')).toBe('OK');
    expect(await r.config('SET', 'list-compress-depth', '0')).toBe('OK');
  });

  it('works the same with ioredis v6 (RESP3), node-redis and redis-cli', async () => {
    const r6 = new Redis({ port: srv.port, protocol: 3, enableReadyCheck: false } as never);
    expect(await r6.rpush(k, 'a', 'b', 'c')).toBe(3);
    expect(await r6.lpop(k, 2)).toEqual(['a', 'b']);
    expect(await r6.lpop('nokey', 2)).toBeNull();
    r6.disconnect();
    const nr = createClient({ socket: { port: srv.port, host: '127.0.0.1' } });
    await nr.connect();
    expect(await nr.rPush(k, ['x', 'y'])).toBe(3);
    expect(await nr.lRange(k, 0, -1)).toEqual(['c', 'x', 'y']);
    expect(await nr.lPos(k, 'y')).toBe(2);
    expect(await nr.lMove(k, k + 'o', 'LEFT', 'RIGHT')).toBe('c');
    await nr.quit();
    expect(await redisCli(srv.port, ['lrange', k, '0', '-1'])).toBe('x\ny\n');
    expect(await redisCli(srv.port, ['lpop', 'nokey'])).toBe('\n');
  });
});
