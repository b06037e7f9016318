/**
 * Keyspace notifications against the real redis-server: the same commands
 * run on both servers while a client PSUBSCRIBEd to everything records what
 * is published; the two recordings must be identical — every event name,
 * class, channel and their order — for every data family, expiry, eviction,
 * scripts and transactions. Plus CONFIG GET/SET of the flags, RESP3
 * delivery to the writing client itself, and node-redis as a subscriber.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { startServer, until, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';

let srv: TestServer;
let oracle: Oracle;
beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(['--save', '']), startRedis()]);
});
afterAll(async () => {
  oracle?.stop();
  await srv?.stop();
});

type Step = (string | number)[] | ((c: Redis) => Promise<unknown>);

/**
 * Run steps on a server with notify-keyspace-events set to `flags`; return
 * what a pattern subscriber received, as "channel message" lines.
 */
async function record(port: number, flags: string, steps: Step[]): Promise<string[]> {
  const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
  const sub = new Redis({ port, lazyConnect: true });
  await Promise.all([c.connect(), sub.connect()]);
  try {
    await c.flushall();
    await c.config('SET', 'notify-keyspace-events', flags);
    const got: string[] = [];
    let ended: () => void = () => {};
    const end = new Promise<void>((r) => (ended = r));
    sub.on('pmessage', (_p: string, ch: string, msg: string) => {
      if (ch === 'recording-end') ended();
      else got.push(`${ch} ${msg}`);
    });
    await sub.psubscribe('*');
    for (const s of steps) {
      if (typeof s === 'function') await s(c);
      else await c.call(String(s[0]), ...s.slice(1).map(String)).catch(() => {});
    }
    await c.config('SET', 'notify-keyspace-events', '');
    await c.publish('recording-end', '');
    await end;
    return got;
  } finally {
    c.disconnect();
    sub.disconnect();
  }
}

/** `unordered`: events whose order depends on timing (active expiry racing a read) are compared as sets. */
async function same(flags: string, steps: Step[], unordered = false): Promise<string[]> {
  const mine = await record(srv.port, flags, steps);
  const theirs = await record(oracle.port, flags, steps);
  if (unordered) expect([...mine].sort()).toEqual([...theirs].sort());
  else expect(mine).toEqual(theirs);
  return mine;
}

const gone = (key: string) => async (c: Redis) => until(async () => (await c.exists(key)) === 0, `${key} expired`);

describe('events match redis-server', () => {
  it('strings and bitmaps', async () => {
    const got = await same('KEA', [
      ['SET', 's1', 'v'],
      ['SET', 's1', 'v2', 'EX', 100],
      ['SET', 's1', 'v3', 'NX'],
      ['SET', 's1', 'v3', 'XX', 'GET', 'KEEPTTL'],
      ['SETEX', 's2', 100, 'v'],
      ['PSETEX', 's3', 100000, 'v'],
      ['SETNX', 's4', 'v'],
      ['SETNX', 's4', 'v'],
      ['GETSET', 's4', 'w'],
      ['MSET', 'm1', 'a', 'm2', 'b'],
      ['MSETNX', 'm3', 'a', 'm4', 'b'],
      ['MSETNX', 'm3', 'a', 'm5', 'b'],
      ['INCR', 'n'],
      ['INCRBY', 'n', 5],
      ['DECR', 'n'],
      ['DECRBY', 'n', 2],
      ['INCRBYFLOAT', 'f', '1.5'],
      ['INCR', 's1'],
      ['APPEND', 'a', 'x'],
      ['APPEND', 'a', 'y'],
      ['SETRANGE', 'r', 3, 'abc'],
      ['SETRANGE', 'r', 0, ''],
      ['GETDEL', 'a'],
      ['GETDEL', 'a'],
      ['GETEX', 'm1', 'EX', 100],
      ['GETEX', 'm1', 'PERSIST'],
      ['GETEX', 'm1', 'PERSIST'],
      ['GETEX', 'm2', 'PXAT', 1],
      ['SETBIT', 'b', 7, 1],
      ['SETBIT', 'b', 7, 1],
      ['BITFIELD', 'b', 'SET', 'u8', 8, 255, 'GET', 'u8', 0],
      ['BITFIELD', 'b', 'GET', 'u8', 0],
      ['BITFIELD', 'b', 'OVERFLOW', 'FAIL', 'INCRBY', 'u2', 0, 10],
      ['BITOP', 'OR', 'dest', 'b', 'r'],
      ['BITOP', 'AND', 'dest', 'nothing1', 'nothing2'],
      ['BITOP', 'AND', 'dest', 'nothing1', 'nothing2'],
    ]);
    // The recording is not trivially empty on both sides.
    expect(got).toContain('__keyevent@0__:set s1');
  });

  it('generic key commands', async () => {
    await same('KEA', [
      ['MSET', 'g1', 'a', 'g2', 'b', 'g3', 'c', 'g4', 'd'],
      ['EXPIRE', 'g1', 100],
      ['PEXPIRE', 'g1', 100000, 'XX'],
      ['EXPIRE', 'g1', 100, 'NX'],
      ['PERSIST', 'g1'],
      ['PERSIST', 'g1'],
      ['EXPIREAT', 'g2', 1],
      ['EXPIRE', 'nokey', 100],
      ['DEL', 'g3', 'nokey', 'g4'],
      ['MSET', 'g3', 'c', 'g4', 'd'],
      ['UNLINK', 'g4'],
      ['RENAME', 'g1', 'g5'],
      ['SET', 'g6', 'x'],
      ['RENAME', 'g5', 'g6'],
      ['RENAMENX', 'g6', 'g3'],
      ['RENAMENX', 'g6', 'g7'],
      ['COPY', 'g7', 'g8'],
      ['COPY', 'g7', 'g8'],
      ['COPY', 'g7', 'g8', 'REPLACE'],
      ['COPY', 'g7', 'g9', 'DB', 2],
      ['MOVE', 'g8', 1],
      ['MOVE', 'g3', 1],
      ['RPUSH', 'srt', 3, 1, 2],
      ['SORT', 'srt', 'STORE', 'sorted'],
      ['SORT', 'nolist', 'STORE', 'sorted'],
      ['SORT', 'nolist', 'STORE', 'sorted'],
      ['SELECT', 3],
      ['SET', 'in3', 'x'],
    ]);
  });

  it('lists, including blocked pops and LMOVE', async () => {
    await same('KEA', [
      ['LPUSH', 'l', 'a', 'b'],
      ['RPUSH', 'l', 'c'],
      ['LPUSHX', 'l', 'd'],
      ['RPUSHX', 'nol', 'd'],
      ['LPOP', 'l'],
      ['RPOP', 'l', 2],
      ['RPUSH', 'l', 'x', 'y', 'z', 'y'],
      ['LSET', 'l', 0, 'w'],
      ['LINSERT', 'l', 'BEFORE', 'w', 'v'],
      ['LINSERT', 'l', 'BEFORE', 'nothere', 'v'],
      ['LREM', 'l', 0, 'y'],
      ['LREM', 'l', 0, 'nothere'],
      ['LTRIM', 'l', 0, 100],
      ['LMOVE', 'l', 'l2', 'LEFT', 'RIGHT'],
      ['RPOPLPUSH', 'l2', 'l2'],
      ['LMPOP', 2, 'nol', 'l', 'RIGHT', 'COUNT', 10],
      ['BLPOP', 'l2', 0],
      ['RPUSH', 'l3', 'a', 'b', 'c'],
      ['LTRIM', 'l3', 5, 10],
      async (c) => {
        // A pop served to a client that was blocked, after another client's push.
        const b = c.duplicate();
        const waiting = b.blmove('bl', 'bl2', 'LEFT', 'LEFT', 0);
        await until(async () => /blocked_clients:1/.test(await c.info('clients')), 'a blocked client');
        await c.rpush('bl', 'e1', 'e2');
        await waiting;
        b.disconnect();
      },
    ]);
  });

  it('sets', async () => {
    await same('KEA', [
      ['SADD', 's', 'a', 'b', 'c', 'd'],
      ['SADD', 's', 'a'],
      ['SREM', 's', 'x'],
      ['SREM', 's', 'a'],
      ['SMOVE', 's', 's2', 'b'],
      ['SMOVE', 's', 's2', 'nothere'],
      ['SADD', 's2', 'c'],
      ['SMOVE', 's', 's2', 'c'],
      ['SINTERSTORE', 'si', 's', 's2'],
      ['SUNIONSTORE', 'su', 's', 's2'],
      ['SDIFFSTORE', 'su', 'nos1', 'nos2'],
      ['SPOP', 's2'],
      ['SADD', 'sp', 1, 2, 3],
      ['SPOP', 'sp', 10],
      ['SREM', 's', 'd'],
    ]);
  });

  it('hashes', async () => {
    await same('KEA', [
      ['HSET', 'h', 'a', 1, 'b', 2],
      ['HMSET', 'h', 'a', 3],
      ['HSETNX', 'h', 'a', 1],
      ['HSETNX', 'h', 'c', 1],
      ['HINCRBY', 'h', 'a', 10],
      ['HINCRBYFLOAT', 'h', 'f', '0.5'],
      ['HDEL', 'h', 'nothere'],
      ['HDEL', 'h', 'a', 'b'],
      ['HDEL', 'h', 'c', 'f'],
    ]);
  });

  it('sorted sets', async () => {
    await same('KEA', [
      ['ZADD', 'z', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e'],
      ['ZADD', 'z', 1, 'a'],
      ['ZADD', 'z', 'NX', 9, 'a'],
      ['ZADD', 'z', 'INCR', 1, 'a'],
      ['ZINCRBY', 'z', 1, 'b'],
      ['ZREM', 'z', 'nothere'],
      ['ZREM', 'z', 'a'],
      ['ZREMRANGEBYRANK', 'z', 0, 0],
      ['ZREMRANGEBYSCORE', 'z', 100, 200],
      ['ZREMRANGEBYSCORE', 'z', 4, 4],
      ['ZADD', 'zl', 0, 'a', 0, 'b', 0, 'c'],
      ['ZREMRANGEBYLEX', 'zl', '[a', '[a'],
      ['ZPOPMIN', 'z'],
      ['ZPOPMAX', 'zl', 5],
      ['ZADD', 'z1', 1, 'a', 2, 'b'],
      ['ZADD', 'z2', 1, 'b'],
      ['ZUNIONSTORE', 'zu', 2, 'z1', 'z2'],
      ['ZINTERSTORE', 'zi', 2, 'z1', 'z2'],
      ['ZDIFFSTORE', 'zd', 2, 'z2', 'z1'],
      ['ZRANGESTORE', 'zr', 'z1', 0, -1],
      ['ZRANGESTORE', 'zr', 'z1', 10, 20],
      ['ZMPOP', 1, 'z1', 'MIN', 'COUNT', 5],
      ['BZPOPMAX', 'zu', 0],
    ]);
  });

  it('streams and consumer groups', async () => {
    await same('KEA', [
      ['XGROUP', 'CREATE', 'x', 'g', '$', 'MKSTREAM'],
      ['XGROUP', 'CREATECONSUMER', 'x', 'g', 'bob'],
      ['XGROUP', 'CREATECONSUMER', 'x', 'g', 'bob'],
      ['XADD', 'x', '1-1', 'f', 'v'],
      ['XADD', 'x', '2-1', 'f', 'v'],
      ['XADD', 'x', 'MAXLEN', 1, '3-1', 'f', 'v'],
      ['XADD', 'x', 'MAXLEN', 5, '4-1', 'f', 'v'],
      ['XADD', 'nox', 'NOMKSTREAM', '*', 'f', 'v'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 'x', '>'],
      ['XCLAIM', 'x', 'g', 'mike', 0, '3-1', 'FORCE'],
      ['XAUTOCLAIM', 'x', 'g', 'bob', 0, '0-0'],
      ['XGROUP', 'DELCONSUMER', 'x', 'g', 'lee'],
      ['XGROUP', 'DELCONSUMER', 'x', 'g', 'bob'],
      ['XACK', 'x', 'g', '3-1'],
      ['XDEL', 'x', '9-9'],
      ['XDEL', 'x', '3-1'],
      ['XTRIM', 'x', 'MAXLEN', 100],
      ['XTRIM', 'x', 'MAXLEN', 0],
      ['XSETID', 'x', '10-1'],
      ['XGROUP', 'SETID', 'x', 'g', '$'],
      ['XGROUP', 'DESTROY', 'x', 'g'],
      ['XGROUP', 'DESTROY', 'x', 'g'],
    ]);
  });

  it('scripts and transactions announce what their commands do', async () => {
    await same('KEA', [
      ['EVAL', "redis.call('set', KEYS[1], 'x'); redis.call('lpush', KEYS[2], 'y'); return 1", 2, 'e1', 'e2'],
      ['MULTI'],
      ['SET', 't1', 'x'],
      ['INCR', 't1'],
      ['SADD', 't2', 'm'],
      ['EXEC'],
    ]);
  });

  it('new keys (n) and key misses (m), which A does not include', async () => {
    const got = await same('KEAnm', [
      ['SET', 'k', 'v'],
      ['SET', 'k', 'w'],
      ['GET', 'nokey'],
      ['MGET', 'k', 'nokey2'],
      ['EXISTS', 'nokey3'],
      ['LPUSH', 'l', 'a'],
      ['RPUSH', 'l', 'b'],
      ['HGET', 'nohash', 'f'],
      ['ZADD', 'z', 1, 'a'],
      ['SET', 'k', 'x', 'GET'],
      ['SET', 'k2', 'x', 'GET'],
      ['RENAME', 'k', 'k2'],
      ['LMOVE', 'l', 'l2', 'LEFT', 'LEFT'],
      ['XADD', 'x', '*', 'f', 'v'],
    ]);
    expect(got).toContain('__keyevent@0__:new k');
    expect(got).toContain('__keyevent@0__:keymiss nokey');
  });

  it('expired keys, read lazily and removed in the background', async () => {
    const got = await same('KEA', [['PSETEX', 'lazy', 1, 'v'], ['SET', 'bg', 'v', 'PX', 1], async () => new Promise((r) => setTimeout(r, 20)), ['GET', 'lazy'], gone('bg')], true);
    expect(got).toContain('__keyevent@0__:expired lazy');
    expect(got).toContain('__keyevent@0__:expired bg');
  });

  it('evicted keys', async () => {
    const got = await same('Ee', [
      ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'],
      ['SET', 'ev', 'v'],
      ['CONFIG', 'SET', 'maxmemory', 1],
      async (c) => until(async () => (await c.dbsize()) === 0, 'eviction'),
      ['CONFIG', 'SET', 'maxmemory', 0],
      ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'],
    ]);
    expect(got).toEqual(['__keyevent@0__:evicted ev']);
  });
});

describe('notify-keyspace-events', () => {
  it('CONFIG GET answers the canonical form, CONFIG SET refuses unknown classes', async () => {
    for (const port of [srv.port, oracle.port]) {
      const c = new Redis({ port });
      const seen: string[] = [];
      for (const f of ['gKE', '$lshzxeKE', 'KA', 'EA', 'AKEnm', 'Kg$lshzxetd', 'g', 'nK', '']) {
        await c.config('SET', 'notify-keyspace-events', f);
        seen.push(((await c.config('GET', 'notify-keyspace-events')) as string[])[1]);
      }
      // Redis 7.0 drops the n of "An" from its answer (the events still flow); here it stays.
      const an = port === srv.port ? 'AnKEm' : 'AKEm';
      expect(seen).toEqual(['gKE', '$lshzxeKE', 'AK', 'AE', an, 'AK', 'g', 'nK', '']);
      await expect(c.config('SET', 'notify-keyspace-events', 'KQ')).rejects.toThrow(
        "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
      );
      c.disconnect();
    }
  });

  it('is a start-up flag too', async () => {
    const s = await startServer(['--save', '', '--notify-keyspace-events', 'Elg']);
    try {
      const c = new Redis({ port: s.port });
      expect(await c.config('GET', 'notify-keyspace-events')).toEqual(['notify-keyspace-events', 'glE']);
      const sub = c.duplicate();
      const got: string[] = [];
      sub.on('message', (ch: string, m: string) => got.push(`${ch} ${m}`));
      await sub.subscribe('__keyevent@0__:rpush');
      await c.rpush('q', 'x');
      await until(async () => got.length === 1, 'the rpush event');
      expect(got).toEqual(['__keyevent@0__:rpush q']);
      c.disconnect();
      sub.disconnect();
    } finally {
      await s.stop();
    }
  });

  it('a RESP3 client gets the events of its own writes before their replies', async () => {
    const c = new Redis({ port: srv.port });
    await c.config('SET', 'notify-keyspace-events', 'K$');
    const raw = await import('./helpers/server.js');
    const r = await raw.RawClient.connect(srv.port);
    r.write(raw.resp('HELLO', '3'));
    await r.readUntil('modules\r\n*0\r\n');
    r.write(raw.resp('SUBSCRIBE', '__keyspace@0__:self') + raw.resp('SET', 'self', 'v') + raw.resp('GET', 'self'));
    const want =
      '>3\r\n$9\r\nsubscribe\r\n$19\r\n__keyspace@0__:self\r\n:1\r\n' +
      '>3\r\n$7\r\nmessage\r\n$19\r\n__keyspace@0__:self\r\n$3\r\nset\r\n' +
      '+OK\r\n$1\r\nv\r\n';
    expect(await r.read(want.length)).toBe(want);
    r.close();
    await c.config('SET', 'notify-keyspace-events', '');
    c.disconnect();
  });

  it('node-redis subscribers receive keyspace events', async () => {
    const c = new Redis({ port: srv.port });
    await c.config('SET', 'notify-keyspace-events', 'Kh');
    const sub = createClient({ socket: { port: srv.port } });
    await sub.connect();
    const got: string[] = [];
    await sub.pSubscribe('__keyspace@0__:*', (msg, ch) => got.push(`${ch} ${msg}`));
    await c.hset('nh', 'f', 'v');
    await c.hdel('nh', 'f');
    await until(async () => got.length === 2, 'two hash events');
    expect(got).toEqual(['__keyspace@0__:nh hset', '__keyspace@0__:nh hdel']);
    await sub.quit();
    await c.config('SET', 'notify-keyspace-events', '');
    c.disconnect();
  });
});
