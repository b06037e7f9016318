/**
 * The sorted-set family against the real server: ZADD's option rules and
 * errors, score formatting (Redis 7.0's %.17g), ranges by rank/score/lex,
 * stores, pops (blocking ones too), algebra, ZRANDMEMBER and ZSCAN; mirrors
 * Redis's tests/unit/type/zset.tcl.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis5 from 'ioredis5';
import Redis6 from 'ioredis';
import { createClient } from 'redis';
import { RawClient, resp, redisCli, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis5;
const opts = () => ({ port: srv.port, host: '127.0.0.1', enableReadyCheck: false });
beforeAll(async () => {
  srv = await startServer();
  r = new Redis5(opts());
});
afterAll(async () => {
  r.disconnect();
  await srv.stop();
});
beforeEach(async () => {
  await r.flushall();
});

async function raw(proto: 2 | 3): Promise<RawClient> {
  const c = await RawClient.connect(srv.port);
  if (proto === 3) {
    c.write(resp('HELLO', '3'));
    await c.readUntil('modules\r\n*0\r\n');
  }
  return c;
}

/** Send one command on c and expect exactly `want` back. */
async function expectRaw(c: RawClient, args: string[], want: string): Promise<void> {
  c.write(resp(...args));
  expect(await c.read(want.length)).toBe(want);
}

describe('ZADD', () => {
  it('adds, updates and counts with CH', async () => {
    expect(await r.zadd('z', 1, 'a', 2, 'b')).toBe(2);
    expect(await r.zadd('z', 3, 'a', 4, 'c')).toBe(1);
    expect(await r.zadd('z', 'CH', 5, 'a', 5, 'd', 4, 'c')).toBe(2);
    expect(await r.zrange('z', 0, -1, 'WITHSCORES')).toEqual(['b', '2', 'c', '4', 'a', '5', 'd', '5']);
  });

  it('NX, XX, GT, LT and INCR follow Redis', async () => {
    await r.zadd('z', 10, 'x');
    expect(await r.zadd('z', 'NX', 20, 'x', 1, 'y')).toBe(1);
    expect(await r.zscore('z', 'x')).toBe('10');
    expect(await r.zadd('z', 'XX', 20, 'x', 1, 'new')).toBe(0);
    expect(await r.zscore('z', 'x')).toBe('20');
    expect(await r.zscore('z', 'new')).toBe(null);
    expect(await r.zadd('z', 'GT', 'CH', 5, 'x', 30, 'y')).toBe(1);
    expect(await r.zscore('z', 'x')).toBe('20');
    expect(await r.zadd('z', 'LT', 'CH', 5, 'x')).toBe(1);
    expect(await r.zadd('z', 'INCR', 2.5, 'x')).toBe('7.5');
    expect(await r.zadd('z', 'GT', 'INCR', -1, 'x')).toBe(null);
    expect(await r.zadd('z', 'NX', 'INCR', 1, 'x')).toBe(null);
    expect(await r.zadd('nokey', 'XX', 1, 'a')).toBe(0);
    expect(await r.zadd('nokey', 'XX', 'INCR', 1, 'a')).toBe(null);
    expect(await r.dbsize()).toBe(1);
  });

  it('rejects bad options, bad scores and NaN results with Redis texts', async () => {
    await expect(r.zadd('z', 'XX', 'NX', 1, 'a')).rejects.toThrow('ERR XX and NX options at the same time are not compatible');
    await expect(r.zadd('z', 'GT', 'LT', 1, 'a')).rejects.toThrow('ERR GT, LT, and/or NX options at the same time are not compatible');
    await expect(r.zadd('z', 'GT', 'NX', 1, 'a')).rejects.toThrow('ERR GT, LT, and/or NX options at the same time are not compatible');
    await expect(r.zadd('z', 'INCR', 1, 'a', 2, 'b')).rejects.toThrow('ERR INCR option supports a single increment-element pair');
    await expect(r.call('zadd', 'z', '1', 'a', '2')).rejects.toThrow('ERR syntax error');
    await expect(r.zadd('z', 1, 'a', 'nan', 'b')).rejects.toThrow('ERR value is not a valid float');
    await expect(r.zadd('z', '', 'a')).rejects.toThrow('ERR value is not a valid float');
    await expect(r.zadd('z', '1e400', 'a')).rejects.toThrow('ERR value is not a valid float');
    await expect(r.zadd('z', '1e-400', 'a')).rejects.toThrow('ERR value is not a valid float');
    // Nothing was added by the failed variadic call.
    expect(await r.dbsize()).toBe(0);
    await r.zadd('z', '+inf', 'a');
    await expect(r.zincrby('z', '-inf', 'a')).rejects.toThrow('ERR resulting score is not a number (NaN)');
    await expect(r.zadd('z', 'INCR', '-inf', 'a')).rejects.toThrow('ERR resulting score is not a number (NaN)');
    await expect(r.zincrby('z', 'abc', 'a')).rejects.toThrow('ERR value is not a valid float');
    await r.set('str', 'v');
    await expect(r.zadd('str', 1, 'a')).rejects.toThrow(/^WRONGTYPE/);
  });

  it('ZINCRBY creates, increments and replies the new score', async () => {
    expect(await r.zincrby('z', 1.5, 'a')).toBe('1.5');
    expect(await r.zincrby('z', -3, 'a')).toBe('-1.5');
    expect(await r.zincrby('z', 'inf', 'a')).toBe('inf');
  });
});

describe('scores on the wire', () => {
  it('formats doubles as Redis 7.0 (%.17g): RESP2 bulk, RESP3 double', async () => {
    await r.zadd('z', 1.1, 'a', 3, 'b', '-inf', 'c', 1e20, 'd', 0.1, 'e');
    expect(await r.zscore('z', 'a')).toBe('1.1000000000000001');
    expect(await r.zscore('z', 'b')).toBe('3');
    expect(await r.zscore('z', 'c')).toBe('-inf');
    expect(await r.zscore('z', 'd')).toBe('1e+20');
    expect(await r.zscore('z', 'e')).toBe('0.10000000000000001');
    const c3 = await raw(3);
    await expectRaw(c3, ['ZSCORE', 'z', 'a'], ',1.1000000000000001\r\n');
    await expectRaw(c3, ['ZSCORE', 'z', 'c'], ',-inf\r\n');
    await expectRaw(c3, ['ZSCORE', 'z', 'nope'], '_\r\n');
    await expectRaw(c3, ['ZMSCORE', 'z', 'b', 'nope'], '*2\r\n,3\r\n_\r\n');
    c3.close();
    const c2 = await raw(2);
    await expectRaw(c2, ['ZSCORE', 'z', 'b'], '$1\r\n3\r\n');
    await expectRaw(c2, ['ZMSCORE', 'z', 'b', 'nope'], '*2\r\n$1\r\n3\r\n$-1\r\n');
    c2.close();
  });

  it('WITHSCORES is flat in RESP2 and pairs in RESP3', async () => {
    await r.zadd('z', 1, 'a', 2, 'b');
    const c3 = await raw(3);
    await expectRaw(c3, ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'], '*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n');
    await expectRaw(c3, ['ZPOPMIN', 'z'], '*2\r\n$1\r\na\r\n,1\r\n');
    await expectRaw(c3, ['ZPOPMAX', 'z', '1'], '*1\r\n*2\r\n$1\r\nb\r\n,2\r\n');
    c3.close();
    // ioredis v6 speaks RESP3; its legacy mapping gives RESP2 shapes back.
    const legacy = new Redis6(opts());
    await legacy.zadd('z6', 1.5, 'a');
    expect(await legacy.zrange('z6', 0, -1, 'WITHSCORES')).toEqual(['a', '1.5']);
    expect(await legacy.zscore('z6', 'a')).toBe('1.5');
    legacy.disconnect();
    const r6 = new Redis6({ ...opts(), replyMapping: 'resp3' });
    expect(await r6.call('zrange', 'z6', '0', '-1', 'WITHSCORES')).toEqual([['a', 1.5]]);
    expect(await r6.call('zscore', 'z6', 'a')).toBe(1.5);
    r6.disconnect();
  });
});

describe('reads', () => {
  beforeEach(async () => {
    await r.zadd('z', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e');
  });

  it('ZCARD, ZRANK, ZREVRANK, ZCOUNT, ZLEXCOUNT', async () => {
    expect(await r.zcard('z')).toBe(5);
    expect(await r.zcard('nokey')).toBe(0);
    expect(await r.zrank('z', 'a')).toBe(0);
    expect(await r.zrank('z', 'e')).toBe(4);
    expect(await r.zrevrank('z', 'e')).toBe(0);
    expect(await r.zrank('z', 'zz')).toBe(null);
    expect(await r.zcount('z', '(1', 3)).toBe(2);
    expect(await r.zcount('z', '-inf', '+inf')).toBe(5);
    expect(await r.zcount('z', 4, 2)).toBe(0);
    await expect(r.zcount('z', 'x', 2)).rejects.toThrow('ERR min or max is not a float');
    await r.zadd('lex', 0, 'a', 0, 'b', 0, 'c', 0, 'd');
    expect(await r.zlexcount('lex', '-', '+')).toBe(4);
    expect(await r.zlexcount('lex', '(a', '[c')).toBe(2);
    expect(await r.zlexcount('lex', '+', '-')).toBe(0);
    await expect(r.zlexcount('lex', 'a', '[c')).rejects.toThrow('ERR min or max not valid string range item');
  });

  it('ZRANGE by rank, score and lex, with REV and LIMIT', async () => {
    expect(await r.zrange('z', 1, 2)).toEqual(['b', 'c']);
    expect(await r.zrange('z', -2, -1)).toEqual(['d', 'e']);
    expect(await r.zrange('z', 3, 100)).toEqual(['d', 'e']);
    expect(await r.zrange('z', 4, 1)).toEqual([]);
    expect(await r.zrange('z', 0, 1, 'REV')).toEqual(['e', 'd']);
    expect(await r.zrevrange('z', 0, 1, 'WITHSCORES')).toEqual(['e', '5', 'd', '4']);
    expect(await r.zrange('z', '(1', 3, 'BYSCORE')).toEqual(['b', 'c']);
    expect(await r.zrange('z', 4, '(2', 'BYSCORE', 'REV')).toEqual(['d', 'c']);
    expect(await r.zrange('z', '-inf', '+inf', 'BYSCORE', 'LIMIT', 1, 2)).toEqual(['b', 'c']);
    expect(await r.zrange('z', '-inf', '+inf', 'BYSCORE', 'LIMIT', 1, -1)).toEqual(['b', 'c', 'd', 'e']);
    expect(await r.zrange('z', '-inf', '+inf', 'BYSCORE', 'LIMIT', -1, 2)).toEqual([]);
    expect(await r.zrange('z', '(4', '+inf', 'BYSCORE', 'LIMIT', 0, '9223372036854775807')).toEqual(['e']);
    expect(await r.zrange('z', 0, '9223372036854775807')).toHaveLength(5);
    expect(await r.zrangebyscore('z', 2, 4, 'WITHSCORES', 'LIMIT', 0, 1)).toEqual(['b', '2']);
    expect(await r.zrevrangebyscore('z', '+inf', 4)).toEqual(['e', 'd']);
    await r.zadd('lex', 0, 'alpha', 0, 'bar', 0, 'cool', 0, 'down');
    expect(await r.zrange('lex', '[b', '(d', 'BYLEX')).toEqual(['bar', 'cool']);
    expect(await r.zrangebylex('lex', '-', '+', 'LIMIT', 1, 2)).toEqual(['bar', 'cool']);
    expect(await r.zrevrangebylex('lex', '+', '(bar')).toEqual(['down', 'cool']);
    expect(await r.zrange('nokey', 0, -1)).toEqual([]);
  });

  it('lex ranges over unequal scores answer as Redis 7.0 does for a small set', async () => {
    // Expected values taken from redis-server 7.0.15 (a listpack scan).
    await r.zadd('m', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e', 1.5, 'f', '-inf', 'g', '+inf', 'h');
    expect(await r.zrange('m', '[a', '(e', 'BYLEX')).toEqual([]);
    expect(await r.zlexcount('m', '[b', '[d')).toBe(0);
    await r.zadd('m2', 1, 'b', 2, 'a', 3, 'c', 4, 'e', 5, 'd');
    expect(await r.zrangebylex('m2', '[a', '[c')).toEqual(['b', 'a', 'c']);
    expect(await r.zrevrangebylex('m2', '[c', '[a')).toEqual(['c', 'a', 'b']);
    expect(await r.zrangebylex('m2', '(a', '[d')).toEqual(['b', 'a', 'c']);
    expect(await r.zlexcount('m2', '(a', '[d')).toBe(3);
    expect(await r.zrangebylex('m2', '[b', '[c')).toEqual(['b', 'a', 'c']);
  });

  it('ZRANGE argument errors', async () => {
    await expect(r.zrange('z', 0, -1, 'LIMIT', 0, 1)).rejects.toThrow('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
    await expect(r.zrange('z', '-', '+', 'BYLEX', 'WITHSCORES')).rejects.toThrow('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
    await expect(r.zrange('z', 'a', 'b', 'BYSCORE')).rejects.toThrow('ERR min or max is not a float');
    await expect(r.zrange('z', 1, 'NaN', 'BYSCORE')).rejects.toThrow('ERR min or max is not a float');
    await expect(r.zrange('z', 'x', '+', 'BYLEX')).rejects.toThrow('ERR min or max not valid string range item');
    await expect(r.call('zrevrange', 'z', '0', '1', 'REV')).rejects.toThrow('ERR syntax error');
    await expect(r.call('zrangebylex', 'z', '-', '+', 'WITHSCORES')).rejects.toThrow('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
    await expect(r.zrange('z', 'a', 1)).rejects.toThrow('ERR value is not an integer or out of range');
  });

  it('ZRANGESTORE stores the selection and deletes dst when empty', async () => {
    expect(await r.zrangestore('dst', 'z', 1, 2)).toBe(2);
    expect(await r.zrange('dst', 0, -1, 'WITHSCORES')).toEqual(['b', '2', 'c', '3']);
    expect(await r.zrangestore('dst', 'z', 5, 3, 'BYSCORE', 'REV', 'LIMIT', 0, 2)).toBe(2);
    expect(await r.zrange('dst', 0, -1)).toEqual(['d', 'e']);
    expect(await r.zrangestore('dst', 'nokey', 0, -1)).toBe(0);
    expect(await r.zcard('dst')).toBe(0);
    await expect(r.call('zrangestore', 'dst', 'z', '0', '-1', 'WITHSCORES')).rejects.toThrow('ERR syntax error');
  });
});

describe('removal', () => {
  beforeEach(async () => {
    await r.zadd('z', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e');
  });

  it('ZREM and ZREMRANGEBY{RANK,SCORE,LEX}', async () => {
    expect(await r.zrem('z', 'a', 'zz')).toBe(1);
    expect(await r.zremrangebyrank('z', 0, 0)).toBe(1);
    expect(await r.zrange('z', 0, -1)).toEqual(['c', 'd', 'e']);
    expect(await r.zremrangebyscore('z', '(3', 4)).toBe(1);
    expect(await r.zremrangebyrank('z', 5, 10)).toBe(0);
    await expect(r.zremrangebyscore('z', 'x', 1)).rejects.toThrow('ERR min or max is not a float');
    expect(await r.zremrangebyscore('z', '-inf', '+inf')).toBe(2);
    expect(await r.dbsize()).toBe(0);
    await r.zadd('lex', 0, 'a', 0, 'b', 0, 'c');
    expect(await r.zremrangebylex('lex', '[a', '(c')).toBe(2);
    expect(await r.zrange('lex', 0, -1)).toEqual(['c']);
    await expect(r.zremrangebylex('lex', 'a', 'c')).rejects.toThrow('ERR min or max not valid string range item');
  });
});

describe('pops', () => {
  it('ZPOPMIN/ZPOPMAX with count and errors', async () => {
    await r.zadd('z', 1, 'a', 2, 'b', 3, 'c');
    expect(await r.zpopmin('z')).toEqual(['a', '1']);
    expect(await r.zpopmax('z', 5)).toEqual(['c', '3', 'b', '2']);
    expect(await r.dbsize()).toBe(0);
    expect(await r.zpopmin('z')).toEqual([]);
    await expect(r.call('zpopmin', 'z', '-1')).rejects.toThrow('ERR value is out of range, must be positive');
    await r.set('str', 'x');
    await expect(r.call('zpopmin', 'str', '0')).rejects.toThrow(/WRONGTYPE/);
  });

  it('ZMPOP takes from the first non-empty key', async () => {
    await r.zadd('z2', 1, 'a', 2, 'b', 3, 'c');
    expect(await r.call('zmpop', '2', 'z1', 'z2', 'MAX', 'COUNT', '2')).toEqual(['z2', [['c', '3'], ['b', '2']]]);
    expect(await r.call('zmpop', '1', 'z1', 'MIN')).toBe(null);
    await expect(r.call('zmpop', '0', 'z1', 'MIN')).rejects.toThrow('ERR numkeys should be greater than 0');
    await expect(r.call('zmpop', '1', 'z1', 'MIN', 'COUNT', '0')).rejects.toThrow('ERR count should be greater than 0');
    await expect(r.call('zmpop', '1', 'z1', 'bad')).rejects.toThrow('ERR syntax error');
  });

  it('BZPOPMIN blocks until ZADD and is served in FIFO order', async () => {
    const b1 = new Redis5(opts());
    const b2 = new Redis5(opts());
    const p1 = b1.bzpopmin('bz', 'other', 5);
    await new Promise((res) => setTimeout(res, 50));
    const p2 = b2.bzpopmax('bz', 5);
    // Wait until both are blocked before feeding the key.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const list = (await r.call('client', 'list')) as string;
      if ((list.match(/cmd=bzpop/g) ?? []).length === 2) break;
      await new Promise((res) => setTimeout(res, 10));
    }
    await r.zadd('bz', 1, 'x', 2, 'y');
    expect(await p1).toEqual(['bz', 'x', '1']);
    expect(await p2).toEqual(['bz', 'y', '2']);
    expect(await r.dbsize()).toBe(0);
    b1.disconnect();
    b2.disconnect();
  });

  it('BZPOPMIN serves at once, times out with a null array and checks its timeout', async () => {
    await r.zadd('bz', 1, 'x');
    expect(await r.bzpopmin('bz', 0)).toEqual(['bz', 'x', '1']);
    const t0 = Date.now();
    expect(await r.bzpopmin('bz', 0.1)).toBe(null);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    await expect(r.bzpopmin('bz', -1)).rejects.toThrow('ERR timeout is negative');
    await expect(r.bzpopmin('bz', 'abc')).rejects.toThrow('ERR timeout is not a float or out of range');
    const c3 = await raw(3);
    await expectRaw(c3, ['BZPOPMIN', 'bz', '0.01'], '_\r\n');
    c3.close();
    const c2 = await raw(2);
    await expectRaw(c2, ['BZPOPMIN', 'bz', '0.01'], '*-1\r\n');
    c2.close();
  });

  it('BZMPOP blocks and answers [key, [[member, score]...]]', async () => {
    const b = new Redis5(opts());
    const p = b.call('bzmpop', '5', '2', 'k1', 'k2', 'MIN', 'COUNT', '10');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (((await r.call('client', 'list')) as string).includes('cmd=bzmpop')) break;
      await new Promise((res) => setTimeout(res, 10));
    }
    await r.zadd('k2', 5, 'e', 4, 'd');
    expect(await p).toEqual(['k2', [['d', '4'], ['e', '5']]]);
    b.disconnect();
  });

  it('a blocked pop inside MULTI answers at once', async () => {
    const c = await raw(2);
    c.write(resp('MULTI'));
    const queued = await c.readUntil('\r\n');
    if (queued !== '+OK\r\n') return c.close(); // transactions not on this branch
    c.write(resp('BZPOPMIN', 'nokey', '0'));
    await c.readUntil('\r\n');
    c.write(resp('EXEC'));
    expect(await c.read(9)).toBe('*1\r\n*-1\r\n');
    c.close();
  });
});

describe('algebra', () => {
  beforeEach(async () => {
    await r.zadd('za', 1, 'a', 2, 'b', 3, 'c');
    await r.zadd('zb', 10, 'b', 20, 'c', 30, 'd');
    await r.sadd('s', 'c', 'd', 'x');
  });

  it('ZUNION/ZINTER/ZDIFF with WEIGHTS, AGGREGATE and plain sets', async () => {
    expect(await r.call('zunion', '2', 'za', 'zb', 'WITHSCORES')).toEqual(['a', '1', 'b', '12', 'c', '23', 'd', '30']);
    expect(await r.call('zinter', '2', 'za', 'zb', 'WEIGHTS', '2', '1', 'AGGREGATE', 'MAX', 'WITHSCORES')).toEqual(['b', '10', 'c', '20']);
    expect(await r.call('zinter', '2', 'za', 's', 'WITHSCORES')).toEqual(['c', '4']);
    expect(await r.call('zunion', '2', 'za', 's', 'AGGREGATE', 'MIN', 'WITHSCORES')).toEqual(['a', '1', 'c', '1', 'd', '1', 'x', '1', 'b', '2']);
    expect(await r.call('zdiff', '2', 'za', 'zb', 'WITHSCORES')).toEqual(['a', '1']);
    expect(await r.call('zdiff', '2', 'nokey', 'za')).toEqual([]);
    expect(await r.call('zintercard', '2', 'za', 'zb')).toBe(2);
    expect(await r.call('zintercard', '2', 'za', 'zb', 'LIMIT', '1')).toBe(1);
  });

  it('inf + -inf sums to 0 and inf * 0 weights to 0', async () => {
    await r.zadd('p', '+inf', 'm');
    await r.zadd('n', '-inf', 'm');
    expect(await r.zunionstore('out', 2, 'p', 'n')).toBe(1);
    expect(await r.zscore('out', 'm')).toBe('0');
    expect(await r.zinterstore('out', 2, 'p', 'n', 'WEIGHTS', 0, 0)).toBe(1);
    expect(await r.zscore('out', 'm')).toBe('0');
  });

  it('STORE forms and errors', async () => {
    expect(await r.zunionstore('dst', 2, 'za', 'zb')).toBe(4);
    expect(await r.zinterstore('dst', 2, 'za', 'zb', 'AGGREGATE', 'MIN')).toBe(2);
    expect(await r.zrange('dst', 0, -1, 'WITHSCORES')).toEqual(['b', '2', 'c', '3']);
    expect(await r.zdiffstore('dst', 2, 'za', 'za')).toBe(0);
    expect(await r.zcard('dst')).toBe(0);
    await expect(r.call('zunion', '0', 'za')).rejects.toThrow("ERR at least 1 input key is needed for 'zunion' command");
    await expect(r.call('zinterstore', 'd', '0', 'za')).rejects.toThrow("ERR at least 1 input key is needed for 'zinterstore' command");
    await expect(r.call('zunion', '3', 'za', 'zb')).rejects.toThrow('ERR syntax error');
    await expect(r.call('zunion', '2', 'za', 'zb', 'WEIGHTS', 'x', '1')).rejects.toThrow('ERR weight value is not a float');
    await expect(r.call('zunionstore', 'd', '2', 'za', 'zb', 'WITHSCORES')).rejects.toThrow('ERR syntax error');
    await expect(r.call('zdiff', '2', 'za', 'zb', 'WEIGHTS', '1', '2')).rejects.toThrow('ERR syntax error');
    await expect(r.call('zintercard', '1', 'za', 'LIMIT', '-1')).rejects.toThrow("ERR LIMIT can't be negative");
    await r.set('str', 'v');
    await expect(r.call('zunion', '2', 'za', 'str')).rejects.toThrow(/WRONGTYPE/);
  });
});

describe('ZRANDMEMBER and ZSCAN', () => {
  it('ZRANDMEMBER distinct, repeated, with scores', async () => {
    const args: (string | number)[] = [];
    for (let i = 0; i < 10; i++) args.push(i, 'm' + i);
    await r.zadd('z', ...args);
    expect(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']).toContain(await r.zrandmember('z'));
    const five = (await r.zrandmember('z', 5)) as string[];
    expect(new Set(five).size).toBe(5);
    expect(((await r.zrandmember('z', -30)) as string[]).length).toBe(30);
    const ws = (await r.zrandmember('z', 20, 'WITHSCORES')) as string[];
    expect(ws).toHaveLength(20);
    for (let i = 0; i < ws.length; i += 2) expect(ws[i]).toBe('m' + ws[i + 1]);
    expect(await r.zrandmember('nokey')).toBe(null);
    expect(await r.zrandmember('nokey', 3)).toEqual([]);
    await expect(r.call('zrandmember', 'z', '-9223372036854775808')).rejects.toThrow(/value is out of range/);
    await expect(r.call('zrandmember', 'z', '-9223372036854770000', 'withscores')).rejects.toThrow('ERR value is out of range');
    await expect(r.call('zrandmember', 'z', '1', 'bad')).rejects.toThrow('ERR syntax error');
  });

  it('ZSCAN returns members and scores', async () => {
    await r.zadd('z', 1, 'a', 2.5, 'b', 3, 'ca');
    const [cursor, items] = await r.zscan('z', 0);
    expect(cursor).toBe('0');
    expect(items).toEqual(['a', '1', 'b', '2.5', 'ca', '3']);
    expect((await r.zscan('z', 0, 'MATCH', 'c*'))[1]).toEqual(['ca', '3']);
  });
});

describe('other clients', () => {
  it('node-redis and redis-cli', async () => {
    const c = createClient({ socket: { port: srv.port, host: '127.0.0.1' } });
    await c.connect();
    expect(await c.zAdd('nz', [{ score: 2, value: 'b' }, { score: 1, value: 'a' }])).toBe(2);
    expect(await c.zRangeWithScores('nz', 0, -1)).toEqual([
      { value: 'a', score: 1 },
      { value: 'b', score: 2 },
    ]);
    expect(await c.zScore('nz', 'b')).toBe(2);
    await c.quit();
    expect(await redisCli(srv.port, ['zrange', 'nz', '0', '-1', 'withscores'])).toBe('a\n1\nb\n2\n');
    expect(await redisCli(srv.port, ['-3', 'zscore', 'nz', 'a'])).toBe('1\n');
  });
});
