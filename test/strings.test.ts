/**
 * The string family against the real server, through ioredis v6 (RESP3),
 * ioredis v5 (RESP2), node-redis and redis-cli: what Redis's
 * tests/unit/type/string.tcl and incr.tcl check, binary values included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import Redis5 from 'ioredis5';
import { createClient } from 'redis';
import { RawClient, redisCli, startServer, until, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis; // ioredis v6, RESP3
let r5: Redis5; // ioredis v5, RESP2
let nr: ReturnType<typeof createClient>;

beforeAll(async () => {
  srv = await startServer(['--proto-max-bulk-len', '1mb']);
  r = new Redis(srv.port, '127.0.0.1', { enableReadyCheck: false, lazyConnect: true });
  r5 = new Redis5(srv.port, '127.0.0.1', { enableReadyCheck: false, lazyConnect: true });
  await r.connect();
  await r5.connect();
  nr = createClient({ socket: { port: srv.port, host: '127.0.0.1' } });
  await nr.connect();
});
afterAll(async () => {
  r?.disconnect();
  r5?.disconnect();
  await nr?.close().catch(() => {});
  await srv?.stop();
});

/** Poll until cond() holds or the deadline passes. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('GET and SET', () => {
  it('GET and MGET copy values of every size class out byte for byte, in RESP2 and RESP3', async () => {
    // Values from 16 bytes to 64 KiB live in off-heap cells that GET and MGET
    // copy from directly: each class boundary, with every byte value in them.
    const sizes = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 1024, 4095, 4096, 65535, 65536, 100_000];
    const want = sizes.map((n, j) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + j * 17 + (i >> 8)) & 255)));
    const keys = sizes.map((n) => `cell:${n}`);
    for (let j = 0; j < sizes.length; j++) expect(await r.set(keys[j], want[j])).toBe('OK');
    await r.lpush('cell:list', 'x');
    for (const c of [r, r5]) {
      for (let j = 0; j < sizes.length; j++) expect(await c.getBuffer(keys[j])).toEqual(want[j]);
      const all = await c.mgetBuffer(...keys, 'cell:list', 'cell:none', keys[3]);
      expect(all).toEqual([...want, null, null, want[3]]);
    }
    await expect(r.get('cell:list')).rejects.toThrow('WRONGTYPE');
    // Overwritten in place and after a shrink to another size class.
    await r.set(keys[15], 'y'.repeat(1024));
    await r.set(keys[14], 'z'.repeat(20));
    expect(await r.mget(keys[15], keys[14])).toEqual(['y'.repeat(1024), 'z'.repeat(20)]);
  });

  it('round-trips every byte value in keys and values', async () => {
    const key = Buffer.concat([Buffer.from('bin:'), ALL_BYTES]);
    expect(await r.set(key, ALL_BYTES)).toBe('OK');
    expect(await r.getBuffer(key)).toEqual(ALL_BYTES);
    expect(await r5.strlen(key)).toBe(256);
    expect(await r5.getBuffer(key)).toEqual(ALL_BYTES);
  });

  it('answers a missing key with a null in both protocols', async () => {
    expect(await r.get('nope')).toBeNull();
    expect(await r5.get('nope')).toBeNull();
    expect(await nr.get('nope')).toBeNull();
  });

  it('SET NX / XX / GET follow Redis 7 semantics', async () => {
    expect(await r.set('sx', 'a', 'XX')).toBeNull();
    expect(await r.set('sx', 'a', 'NX')).toBe('OK');
    expect(await r.set('sx', 'b', 'NX')).toBeNull();
    expect(await r.set('sx', 'b', 'XX')).toBe('OK');
    expect(await r.get('sx')).toBe('b');
    expect(await r.set('sx', 'c', 'GET')).toBe('b');
    // NX with GET is allowed since 7.0: returns the old value and does not set.
    expect(await r.set('sx', 'd', 'NX', 'GET')).toBe('c');
    expect(await r.get('sx')).toBe('c');
    expect(await r.set('sx-new', 'd', 'NX', 'GET')).toBeNull();
    expect(await r.get('sx-new')).toBe('d');
    expect(await r5.set('sx-none', 'x', 'XX', 'GET')).toBeNull();
    expect(await r5.get('sx-none')).toBeNull();
  });

  it('rejects conflicting SET options with a syntax error', async () => {
    const bad = [
      ['NX', 'XX'],
      ['XX', 'NX'],
      ['EX', '10', 'PX', '10'],
      ['PX', '10', 'EXAT', '10'],
      ['KEEPTTL', 'EX', '10'],
      ['EX', '10', 'KEEPTTL'],
      ['EX'],
      ['PERSIST'],
      ['foo'],
    ];
    for (const opts of bad) {
      await expect(r.call('SET', 'k', 'v', ...opts), opts.join(' ')).rejects.toThrow('ERR syntax error');
    }
  });

  it('rejects bad expire times with Redis texts', async () => {
    await expect(r.set('k', 'v', 'EX', 0)).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(r.set('k', 'v', 'PX', -5)).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(r.set('k', 'v', 'EX', '10000000000000000')).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(r.set('k', 'v', 'EX', '-9999999999999999')).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(r.call('SET', 'k', 'v', 'PX', '9223372036854775807')).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(r.set('k', 'v', 'EX', 'abc')).rejects.toThrow('ERR value is not an integer or out of range');
    await expect(r.setex('k', 0, 'v')).rejects.toThrow("ERR invalid expire time in 'setex' command");
    await expect(r.psetex('k', -1, 'v')).rejects.toThrow("ERR invalid expire time in 'psetex' command");
    await expect(r.call('GETEX', 'sx', 'EX', '0')).rejects.toThrow("ERR invalid expire time in 'getex' command");
    await expect(r.call('GETEX', 'sx', 'EX', '10', 'PERSIST')).rejects.toThrow('ERR syntax error');
    await expect(r.call('GETEX', 'sx', 'NX')).rejects.toThrow('ERR syntax error');
  });

  it('expires keys set with PX, SETEX, PSETEX and keeps a TTL with KEEPTTL', async () => {
    await r.set('e1', 'v', 'PX', 60);
    await r.psetex('e2', 60, 'v');
    // Generous TTLs where a later command must still find the key: the test machine may be busy.
    await r.set('e3', 'v', 'PX', 300);
    await r.set('e3', 'w', 'KEEPTTL');
    await r.set('e4', 'v', 'PX', 60);
    await r.set('e4', 'w'); // a plain SET drops the TTL
    await r.setex('e5', 100, 'v');
    expect(await r.get('e5')).toBe('v');
    await until(async () => (await r.get('e1')) === null && (await r.get('e2')) === null && (await r.get('e3')) === null);
    expect(await r.get('e4')).toBe('w');
  });

  it('SET EXAT/PXAT in the past leaves no key; in the future keeps it', async () => {
    await r.set('at1', 'v', 'PXAT', Date.now() - 1000);
    expect(await r.get('at1')).toBeNull();
    await r.set('at2', 'v', 'EXAT', Math.floor(Date.now() / 1000) + 100);
    expect(await r.get('at2')).toBe('v');
    await r.set('at3', 'v', 'PXAT', Date.now() + 60);
    await until(async () => (await r.get('at3')) === null);
  });

  it('GETEX sets, removes or leaves the TTL', async () => {
    expect(await r.call('GETEX', 'gx-missing', 'EX', '10')).toBeNull();
    await r.set('gx1', 'one');
    expect(await r.call('GETEX', 'gx1', 'PX', '60')).toBe('one');
    await r.set('gx2', 'two', 'PX', 300);
    expect(await r5.call('GETEX', 'gx2', 'PERSIST')).toBe('two');
    // Set after the PERSIST with the same TTL: once it is gone, gx2's old TTL has passed too.
    await r.set('gx-control', 'c', 'PX', 300);
    expect(await r5.call('GETEX', 'gx2')).toBe('two');
    await until(async () => (await r.get('gx1')) === null && (await r.get('gx-control')) === null);
    expect(await r.get('gx2')).toBe('two');
    await r.set('gx3', 'three');
    expect(await r.call('GETEX', 'gx3', 'PXAT', String(Date.now() - 10))).toBe('three');
    expect(await r.get('gx3')).toBeNull();
  });
});

describe('multi-key and get-and-set commands', () => {
  it('MSET, MGET, MSETNX', async () => {
    expect(await r.mset('m1', 'a', 'm2', 'b')).toBe('OK');
    expect(await r.mget('m1', 'm2', 'm-none')).toEqual(['a', 'b', null]);
    expect(await r5.mget('m1', 'm-none')).toEqual(['a', null]);
    expect(await nr.mGet(['m1', 'm2'])).toEqual(['a', 'b']);
    expect(await r.msetnx('m3', 'x', 'm1', 'y')).toBe(0);
    expect(await r.get('m3')).toBeNull();
    expect(await r.msetnx('m3', 'x', 'm4', 'y')).toBe(1);
    expect(await r.msetnx('m5', 'x', 'm5', 'y')).toBe(1);
    expect(await r.get('m5')).toBe('y');
    await expect(r.call('MSET', 'a', 'b', 'c')).rejects.toThrow("ERR wrong number of arguments for 'mset' command");
    await expect(r.call('MSETNX', 'a', 'b', 'c')).rejects.toThrow("ERR wrong number of arguments for 'msetnx' command");
  });

  it('SETNX, GETSET, GETDEL', async () => {
    expect(await r.setnx('nx1', 'a')).toBe(1);
    expect(await r.setnx('nx1', 'b')).toBe(0);
    expect(await r.getset('nx1', 'c')).toBe('a');
    expect(await r.getset('gs-new', 'c')).toBeNull();
    expect(await r.getdel('nx1')).toBe('c');
    expect(await r.getdel('nx1')).toBeNull();
    expect(await r.get('nx1')).toBeNull();
    expect(await nr.getDel('gs-new')).toBe('c');
  });
});

describe('APPEND, STRLEN, GETRANGE, SETRANGE', () => {
  it('APPEND creates and extends, binary-safe', async () => {
    expect(await r.append('ap', 'foo')).toBe(3);
    expect(await r.append('ap', Buffer.from([0, 255, 10]))).toBe(6);
    expect(await r.getBuffer('ap')).toEqual(Buffer.from([0x66, 0x6f, 0x6f, 0, 255, 10]));
    expect(await r.strlen('ap')).toBe(6);
    expect(await r.strlen('ap-none')).toBe(0);
  });

  it('GETRANGE and SUBSTR with Redis index rules', async () => {
    await r.set('gr', 'Hello World');
    expect(await r.getrange('gr', 0, 3)).toBe('Hell');
    expect(await r.getrange('gr', 0, -1)).toBe('Hello World');
    expect(await r.getrange('gr', -3, -1)).toBe('rld');
    expect(await r.getrange('gr', 5, 3)).toBe('');
    expect(await r.getrange('gr', 5, 5000)).toBe(' World');
    expect(await r.getrange('gr', -5000, 10000)).toBe('Hello World');
    expect(await r.getrange('gr', -1, -5)).toBe('');
    expect(await r.getrange('gr-none', 0, -1)).toBe('');
    expect(await r.call('SUBSTR', 'gr', '0', '-7')).toBe('Hello');
    await r.set('gr-int', '1234');
    expect(await r.getrange('gr-int', 1, -1)).toBe('234');
    await expect(r.getrange('gr', 'a', 1)).rejects.toThrow('ERR value is not an integer or out of range');
  });

  it('SETRANGE pads with zero bytes and checks offsets and size', async () => {
    expect(await r.setrange('sr', 5, 'ab')).toBe(7);
    expect(await r.getBuffer('sr')).toEqual(Buffer.from([0, 0, 0, 0, 0, 0x61, 0x62]));
    expect(await r.setrange('sr', 0, 'xyz')).toBe(7);
    expect(await r.get('sr')).toBe('xyz\0\0ab');
    expect(await r.setrange('sr-empty', 0, '')).toBe(0);
    expect(await r.get('sr-empty')).toBeNull();
    expect(await r.setrange('sr', 100, '')).toBe(7);
    await expect(r.setrange('sr', -1, 'x')).rejects.toThrow('ERR offset is out of range');
    // the server runs with --proto-max-bulk-len 1mb
    await expect(r.setrange('sr', 1024 * 1024, 'x')).rejects.toThrow('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
    await expect(r.append('sr', 'x'.repeat(1024 * 1024))).rejects.toThrow('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
    expect(await r.setrange('sr', 1024 * 1024 - 1, 'x')).toBe(1024 * 1024);
  });
});

describe('INCR family', () => {
  it('counts over the full int64 range and refuses to overflow', async () => {
    expect(await r.incr('c1')).toBe(1);
    expect(await r.incrby('c1', 10)).toBe(11);
    expect(await r.decr('c1')).toBe(10);
    expect(await r.decrby('c1', 20)).toBe(-10);
    await r.set('c2', '9223372036854775806');
    const raw = await RawClient.connect(srv.port);
    raw.write('INCR c2\r\n');
    expect(await raw.readUntil('\r\n')).toBe(':9223372036854775807\r\n');
    expect(await r.get('c2')).toBe('9223372036854775807');
    await expect(r.incr('c2')).rejects.toThrow('ERR increment or decrement would overflow');
    await r.set('c3', '-9223372036854775808');
    await expect(r.decr('c3')).rejects.toThrow('ERR increment or decrement would overflow');
    await r.set('c4', '17179869184');
    expect(await r.incrby('c4', 17179869184)).toBe(34359738368);
    await expect(r.decrby('c4', '-9223372036854775808')).rejects.toThrow('ERR decrement would overflow');
    await r.set('c5', '1');
    raw.write('INCRBY c5 -9223372036854775808\r\n');
    expect(await raw.readUntil('\r\n')).toBe(':-9223372036854775807\r\n');
    raw.close();
    expect(await r.get('c5')).toBe('-9223372036854775807');
  });

  it('refuses values and increments that are not canonical integers', async () => {
    for (const v of [' 11', '11 ', ' 11 ', '0x10', '+1', '01', '1.0', '', '99999999999999999999']) {
      await r.set('cbad', v);
      await expect(r.incr('cbad'), JSON.stringify(v)).rejects.toThrow('ERR value is not an integer or out of range');
    }
    await expect(r.incrby('cok', '1.5')).rejects.toThrow('ERR value is not an integer or out of range');
    await expect(r.incrby('cok', '9223372036854775808')).rejects.toThrow('ERR value is not an integer or out of range');
  });

  it('keeps the TTL of the key it increments', async () => {
    await r.set('cttl', '5', 'PX', 300);
    expect(await r.incr('cttl')).toBe(6);
    await until(async () => (await r.get('cttl')) === null);
  });

  it('INCRBYFLOAT prints what Redis prints (long double, %.17Lf)', async () => {
    const steps: [string, string][] = [
      ['10.5', '10.5'],
      ['0.1', '10.6'],
      ['0.1', '10.7'],
      ['0.1', '10.8'],
      ['-1.1', '9.7'],
      ['1e20', '100000000000000000008'],
      ['3.0e3', '100000000000000003008'],
      ['0x1p3', '100000000000000003016'],
      ['1.5e-10', '100000000000000003016'],
    ];
    for (const [by, want] of steps) expect(await r.incrbyfloat('fl', by), by).toBe(want);
    await r.set('fl2', '0.1');
    expect(await r.incrbyfloat('fl2', '0.2')).toBe('0.3');
    await r.set('fl3', '1e300');
    expect((await r.incrbyfloat('fl3', '1')).slice(0, 60)).toBe('100000000000000000000899732407955919387052394427329074793826');
    await r.set('fl4', '123456789012345678');
    expect(await r5.incrbyfloat('fl4', '0.5')).toBe('123456789012345678.5');
    await r.set('fl5', '17179869184');
    expect(await nr.incrByFloat('fl5', 1.5)).toBe('17179869185.5');
  });

  it('INCRBYFLOAT never answers negative zero and refuses inf and bad values', async () => {
    await r.incrbyfloat('fz', String(1 / 41));
    expect(await r.incrbyfloat('fz', String(-1 / 41))).toBe('0');
    await r.set('fi', '0');
    await expect(r.incrbyfloat('fi', '+inf')).rejects.toThrow('ERR increment would produce NaN or Infinity');
    await r.set('fi', '1e4932');
    await expect(r.incrbyfloat('fi', '1e4932')).rejects.toThrow('ERR increment would produce NaN or Infinity');
    for (const v of ['    11', '11    ', ' 11 ', '1\x002', 'nan', 'abc']) {
      await r.set('fbad', v);
      await expect(r.incrbyfloat('fbad', '1'), JSON.stringify(v)).rejects.toThrow('ERR value is not a valid float');
    }
    await expect(r.incrbyfloat('fz', 'nan')).rejects.toThrow('ERR value is not a valid float');
    await expect(r.incrbyfloat('fz', '1e99999')).rejects.toThrow('ERR value is not a valid float');
    // Subnormal long doubles are numbers to Redis; what rounds to zero is not.
    await r.set('fsub', '1');
    expect(await r.incrbyfloat('fsub', '2e-4935')).toBe('1');
    await r.set('fsub', '0');
    expect(await r.incrbyfloat('fsub', '-3e-4940')).toBe('0');
    await expect(r.incrbyfloat('fsub', '1e-5000')).rejects.toThrow('ERR value is not a valid float');
  });
});

describe('LCS', () => {
  beforeAll(async () => {
    await r.mset('lcs1', 'ohmytext', 'lcs2', 'mynewtext');
  });

  it('returns the common string, its length, or the matches', async () => {
    expect(await r.call('LCS', 'lcs1', 'lcs2')).toBe('mytext');
    expect(await r.call('LCS', 'lcs1', 'lcs2', 'LEN')).toBe(6);
    expect(await r5.call('LCS', 'lcs1', 'lcs2', 'IDX')).toEqual(['matches', [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], 'len', 6]);
    expect(await r5.call('LCS', 'lcs1', 'lcs2', 'IDX', 'MINMATCHLEN', '4', 'WITHMATCHLEN')).toEqual(['matches', [[[4, 7], [5, 8], 4]], 'len', 6]);
    expect(await r.call('LCS', 'lcs1', 'lcs-none')).toBe('');
    await expect(r.call('LCS', 'lcs1', 'lcs2', 'LEN', 'IDX')).rejects.toThrow('ERR If you want both the length and indexes, please just use IDX.');
    await expect(r.call('LCS', 'lcs1', 'lcs2', 'FOO')).rejects.toThrow('ERR syntax error');
  });

  it('answers IDX as a RESP3 map after HELLO 3', async () => {
    const c = await RawClient.connect(srv.port);
    c.write('HELLO 3\r\n');
    await c.readUntil('modules\r\n*0\r\n');
    c.write('LCS lcs1 lcs2 IDX MINMATCHLEN 4\r\n');
    const want = '%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n';
    expect(await c.read(want.length)).toBe(want);
    c.close();
  });

  it('works on binary strings', async () => {
    await r.set('lcsb1', Buffer.from([0, 1, 2, 255, 3]));
    await r.set('lcsb2', Buffer.from([9, 1, 255, 3, 0]));
    expect(await r.callBuffer('LCS', 'lcsb1', 'lcsb2')).toEqual(Buffer.from([1, 255, 3]));
  });
});

describe('redis-cli', () => {
  it('sets, counts and reads as a user would', async () => {
    expect(await redisCli(srv.port, ['SET', 'cli', 'hello', 'EX', '100'])).toBe('OK\n');
    // Not on a terminal, redis-cli prints raw replies.
    expect(await redisCli(srv.port, ['APPEND', 'cli', ' world'])).toBe('11\n');
    expect(await redisCli(srv.port, ['GETRANGE', 'cli', '0', '4'])).toBe('hello\n');
    expect(await redisCli(srv.port, ['INCRBYFLOAT', 'cli-f', '2.5'])).toBe('2.5\n');
    expect(await redisCli(srv.port, ['--no-raw', 'INCRBY', 'cli-n', '7'])).toBe('(integer) 7\n');
    expect(await redisCli(srv.port, ['--no-raw', 'SET', 'cli', 'v', 'NX', 'XX'])).toBe('(error) ERR syntax error\n');
  });

  it('shows LCS matches', async () => {
    const out = await redisCli(srv.port, ['--no-raw', 'LCS', 'lcs1', 'lcs2', 'IDX', 'WITHMATCHLEN']);
    expect(out).toContain('1) "matches"');
    expect(out).toContain('"len"');
    expect(out).toContain('(integer) 6');
  });
});
