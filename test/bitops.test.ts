/**
 * Bitmap commands against the real server, as Redis's tests/unit/bitops.tcl
 * and bitfield.tcl check them, through ioredis v6/v5, node-redis and
 * redis-cli; a fast-check model compares SETBIT/BITCOUNT/BITPOS with a JS
 * bit array.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import Redis from 'ioredis';
import Redis5 from 'ioredis5';
import { createClient } from 'redis';
import { RawClient, redisCli, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis;
let r5: Redis5;
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

const OFFSET_ERR = 'ERR bit offset is not an integer or out of range';

describe('SETBIT and GETBIT', () => {
  it('sets bits most-significant first and returns the old bit', async () => {
    expect(await r.setbit('sb', 1, 1)).toBe(0);
    expect(await r.setbit('sb', 7, 1)).toBe(0);
    expect(await r.get('sb')).toBe('A'); // 0b01000001
    expect(await r.setbit('sb', 1, 0)).toBe(1);
    expect(await r.getBuffer('sb')).toEqual(Buffer.from([1]));
    expect(await r.setbit('sb', 17, 1)).toBe(0);
    expect(await r.getBuffer('sb')).toEqual(Buffer.from([1, 0, 0x40]));
    expect(await r.getbit('sb', 17)).toBe(1);
    expect(await r.getbit('sb', 16)).toBe(0);
    expect(await r.getbit('sb', 1000)).toBe(0);
    expect(await r5.getbit('sb-none', 5)).toBe(0);
    expect(await nr.setBit('sb2', 0, 0)).toBe(0);
    expect(await r.getBuffer('sb2')).toEqual(Buffer.from([0]));
  });

  it('works on binary values and integers stored as strings', async () => {
    await r.set('sbi', '1'); // "1" is 0x31
    expect(await r.getbit('sbi', 2)).toBe(1);
    expect(await r.getbit('sbi', 3)).toBe(1);
    expect(await r.getbit('sbi', 7)).toBe(1);
    await r.set('sbb', Buffer.from([0xff, 0x00]));
    expect(await r.setbit('sbb', 8, 1)).toBe(0);
    expect(await r.getBuffer('sbb')).toEqual(Buffer.from([0xff, 0x80]));
  });

  it('refuses bad offsets and bit values', async () => {
    await expect(r.setbit('sbe', -1, 1)).rejects.toThrow(OFFSET_ERR);
    await expect(r.call('SETBIT', 'sbe', 'x', '1')).rejects.toThrow(OFFSET_ERR);
    await expect(r.call('SETBIT', 'sbe', String(4 * 1024 * 1024 * 1024), '1')).rejects.toThrow(OFFSET_ERR);
    // the limit follows proto-max-bulk-len (1mb here)
    await expect(r.setbit('sbe', 8 * 1024 * 1024, 1)).rejects.toThrow(OFFSET_ERR);
    await expect(r.setbit('sbe', 1, 2)).rejects.toThrow('ERR bit is not an integer or out of range');
    await expect(r.call('SETBIT', 'sbe', '1', '-1')).rejects.toThrow('ERR bit is not an integer or out of range');
    await expect(r.getbit('sbe', -1)).rejects.toThrow(OFFSET_ERR);
    expect(await r.get('sbe')).toBeNull();
    expect(await r.setbit('sbe', 8 * 1024 * 1024 - 1, 1)).toBe(0);
    expect(await r.strlen('sbe')).toBe(1024 * 1024);
  });
});

describe('BITCOUNT', () => {
  it('counts whole strings, byte ranges and bit ranges', async () => {
    await r.set('bc', 'foobar');
    expect(await r.bitcount('bc')).toBe(26);
    expect(await r.bitcount('bc', 0, 0)).toBe(4);
    expect(await r.bitcount('bc', 1, 1)).toBe(6);
    expect(await r.bitcount('bc', -1, -1)).toBe(4);
    expect(await r.bitcount('bc', 1, -2)).toBe(18);
    expect(await r.call('BITCOUNT', 'bc', '5', '30', 'BIT')).toBe(17);
    expect(await r.call('BITCOUNT', 'bc', '0', '0', 'byte')).toBe(4);
    expect(await r.call('BITCOUNT', 'bc', '1', '6', 'BIT')).toBe(4);
    expect(await r.call('BITCOUNT', 'bc', '-3', '-1', 'BIT')).toBe(1);
    expect(await r.bitcount('bc', -1, -2)).toBe(0);
    expect(await r.bitcount('bc', 100, 200)).toBe(0);
    expect(await r.bitcount('bc', 0, '4294967296')).toBe(26);
    expect(await r5.bitcount('bc-none')).toBe(0);
    expect(await nr.bitCount('bc')).toBe(26);
  });

  it('answers syntax errors as Redis does', async () => {
    await expect(r.call('BITCOUNT', 'bc', '0')).rejects.toThrow('ERR syntax error');
    await expect(r.call('BITCOUNT', 'bc', '0', '1', 'FOO')).rejects.toThrow('ERR syntax error');
    await expect(r.call('BITCOUNT', 'bc', '0', '1', 'BIT', 'x')).rejects.toThrow('ERR syntax error');
    await expect(r.call('BITCOUNT', 'bc', 'a', '1')).rejects.toThrow('ERR value is not an integer or out of range');
  });
});

describe('BITPOS', () => {
  it('finds set and clear bits in whole strings and ranges', async () => {
    await r.set('bp', Buffer.from([0xff, 0xf0, 0x00]));
    expect(await r.bitpos('bp', 0)).toBe(12);
    await r.set('bp2', Buffer.from([0x00, 0xff, 0xf0]));
    expect(await r.bitpos('bp2', 1, 0)).toBe(8);
    expect(await r.bitpos('bp2', 1, 2)).toBe(16);
    await r.set('bp3', Buffer.from([0, 0, 0]));
    expect(await r.bitpos('bp3', 1)).toBe(-1);
    expect(await r.bitpos('bp-none', 0)).toBe(0);
    expect(await r.bitpos('bp-none', 1)).toBe(-1);
    expect(await r.call('BITPOS', 'bp2', '1', '7', '15', 'BIT')).toBe(8);
    expect(await r.call('BITPOS', 'bp2', '0', '8', '-1', 'bit')).toBe(20);
    expect(await r5.call('BITPOS', 'bp2', '1', '0', '0')).toBe(-1);
  });

  it('treats the string as zero padded only when no end is given', async () => {
    await r.set('bpf', Buffer.from([0xff, 0xff, 0xff]));
    expect(await r.bitpos('bpf', 0)).toBe(24);
    expect(await r.bitpos('bpf', 0, 0)).toBe(24);
    expect(await r.bitpos('bpf', 0, 0, -1)).toBe(-1);
    expect(await r.call('BITPOS', 'bpf', '0', '0', '-1', 'BIT')).toBe(-1);
  });

  it('refuses a bit other than 0 or 1', async () => {
    await expect(r.call('BITPOS', 'bp', '2')).rejects.toThrow('ERR The bit argument must be 1 or 0.');
    await expect(r.call('BITPOS', 'bp', '1', '0', '1', 'FOO')).rejects.toThrow('ERR syntax error');
  });
});

describe('BITOP', () => {
  it('AND, OR, XOR zero-pad shorter inputs; NOT inverts', async () => {
    await r.set('bo1', Buffer.from([0xff, 0x0f, 0xaa]));
    await r.set('bo2', Buffer.from([0x0f, 0xff]));
    expect(await r.bitop('AND', 'bo-and', 'bo1', 'bo2')).toBe(3);
    expect(await r.getBuffer('bo-and')).toEqual(Buffer.from([0x0f, 0x0f, 0x00]));
    expect(await r.bitop('OR', 'bo-or', 'bo1', 'bo2', 'bo-none')).toBe(3);
    expect(await r.getBuffer('bo-or')).toEqual(Buffer.from([0xff, 0xff, 0xaa]));
    expect(await r.bitop('XOR', 'bo-xor', 'bo1', 'bo2')).toBe(3);
    expect(await r.getBuffer('bo-xor')).toEqual(Buffer.from([0xf0, 0xf0, 0xaa]));
    expect(await r.bitop('NOT', 'bo-not', 'bo1')).toBe(3);
    expect(await r.getBuffer('bo-not')).toEqual(Buffer.from([0x00, 0xf0, 0x55]));
    expect(await r5.bitop('AND', 'bo1', 'bo1')).toBe(3);
    expect(await r.getBuffer('bo1')).toEqual(Buffer.from([0xff, 0x0f, 0xaa]));
    expect(await nr.bitOp('AND', 'bo-and', ['bo1', 'bo-none'])).toBe(3);
    expect(await r.getBuffer('bo-and')).toEqual(Buffer.from([0, 0, 0]));
  });

  it('an empty result deletes the destination', async () => {
    await r.set('bo-dest', 'x', 'PX', 100000);
    expect(await r.bitop('OR', 'bo-dest', 'bo-none', 'bo-none2')).toBe(0);
    expect(await r.get('bo-dest')).toBeNull();
  });

  it('answers errors as Redis does', async () => {
    await expect(r.call('BITOP', 'NOT', 'd', 'a', 'b')).rejects.toThrow('ERR BITOP NOT must be called with a single source key.');
    await expect(r.call('BITOP', 'NAND', 'd', 'a')).rejects.toThrow('ERR syntax error');
  });
});

describe('BITFIELD', () => {
  it('signed and unsigned SET and GET', async () => {
    expect(await r.bitfield('bf', 'SET', 'i8', 0, -100)).toEqual([0]);
    expect(await r.bitfield('bf', 'GET', 'i8', 0)).toEqual([-100]);
    expect(await r.bitfield('bf', 'SET', 'u8', 0, 255, 'GET', 'u8', 0)).toEqual([156, 255]);
    expect(await r.bitfield('bf2', 'SET', 'i64', 0, '-9223372036854775808')).toEqual([0]);
    const raw = await RawClient.connect(srv.port);
    raw.write('BITFIELD bf2 GET i64 0 GET u63 0 SET u63 1 9223372036854775807\r\n');
    const want = '*3\r\n:-9223372036854775808\r\n:4611686018427387904\r\n:0\r\n';
    expect(await raw.read(want.length)).toBe(want);
    raw.close();
    expect(await r.bitfield('bf3', 'SET', 'u2', '#1', 3, 'GET', 'u8', 0)).toEqual([0, 48]);
    expect(await r5.bitfield('bf-none', 'GET', 'u4', 0)).toEqual([0]);
    expect(await r.call('BITFIELD', 'bf')).toEqual([]);
  });

  it('INCRBY with WRAP, SAT and FAIL', async () => {
    expect(await r.bitfield('bo', 'INCRBY', 'u2', 100, 1, 'OVERFLOW', 'SAT', 'INCRBY', 'u2', 102, 1)).toEqual([1, 1]);
    expect(await r.bitfield('bo', 'INCRBY', 'u2', 100, 1, 'OVERFLOW', 'SAT', 'INCRBY', 'u2', 102, 1)).toEqual([2, 2]);
    expect(await r.bitfield('bo', 'INCRBY', 'u2', 100, 1, 'OVERFLOW', 'SAT', 'INCRBY', 'u2', 102, 1)).toEqual([3, 3]);
    expect(await r.bitfield('bo', 'INCRBY', 'u2', 100, 1, 'OVERFLOW', 'SAT', 'INCRBY', 'u2', 102, 1)).toEqual([0, 3]);
    expect(await r.bitfield('bo', 'OVERFLOW', 'FAIL', 'INCRBY', 'u2', 102, 1)).toEqual([null]);
    expect(await r.bitfield('bs', 'SET', 'i8', 0, 127, 'INCRBY', 'i8', 0, 1)).toEqual([0, -128]);
    expect(await r.bitfield('bs', 'OVERFLOW', 'SAT', 'INCRBY', 'i8', 0, -1000)).toEqual([-128]);
    expect(await r.bitfield('bs', 'OVERFLOW', 'SAT', 'SET', 'u8', 0, -1)).toEqual([128]);
    expect(await r.bitfield('bs', 'GET', 'u8', 0)).toEqual([255]);
    expect(await r.bitfield('bs', 'OVERFLOW', 'WRAP', 'SET', 'i4', 0, 15)).toEqual([-1]);
    expect(await r.bitfield('bs', 'GET', 'i4', 0)).toEqual([-1]);
  });

  it('refuses bad types, offsets and overflow names; BITFIELD_RO only reads', async () => {
    const typeErr = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';
    await expect(r.bitfield('bf', 'GET', 'u64', 0)).rejects.toThrow(typeErr);
    await expect(r.bitfield('bf', 'GET', 'i65', 0)).rejects.toThrow(typeErr);
    await expect(r.bitfield('bf', 'GET', 'x8', 0)).rejects.toThrow(typeErr);
    await expect(r.bitfield('bf', 'GET', 'u8', -1)).rejects.toThrow(OFFSET_ERR);
    await expect(r.call('BITFIELD', 'bf', 'OVERFLOW', 'FOO')).rejects.toThrow('ERR Invalid OVERFLOW type specified');
    await expect(r.call('BITFIELD', 'bf', 'GET', 'u8')).rejects.toThrow('ERR syntax error');
    await expect(r.call('BITFIELD', 'bf', 'SET', 'u8', '0', 'x')).rejects.toThrow('ERR value is not an integer or out of range');
    expect(await r.call('BITFIELD_RO', 'bf', 'GET', 'u8', '0', 'GET', 'i8', '#1')).toEqual([255, 0]);
    await expect(r.call('BITFIELD_RO', 'bf', 'SET', 'u8', '0', '1')).rejects.toThrow('ERR BITFIELD_RO only supports the GET subcommand');
    expect(await r.call('BITFIELD_RO', 'bf')).toEqual([]);
  });
});

describe('redis-cli', () => {
  it('drives the bit commands', async () => {
    expect(await redisCli(srv.port, ['SETBIT', 'cli-b', '7', '1'])).toBe('0\n');
    expect(await redisCli(srv.port, ['GET', 'cli-b'])).toBe('\x01\n');
    expect(await redisCli(srv.port, ['--no-raw', 'BITCOUNT', 'cli-b'])).toBe('(integer) 1\n');
    expect(await redisCli(srv.port, ['--no-raw', 'BITFIELD', 'cli-b', 'INCRBY', 'u8', '0', '300'])).toBe('1) (integer) 45\n');
    expect(await redisCli(srv.port, ['--no-raw', 'BITPOS', 'cli-b', '3'])).toBe('(error) ERR The bit argument must be 1 or 0.\n');
  });
});

describe('model check', () => {
  it('SETBIT, GETBIT, BITCOUNT and BITPOS agree with a bit array', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: -30, max: 30 }),
        fc.integer({ min: -30, max: 30 }),
        async (ops, start, end) => {
          const key = `model:${round++}`;
          const bits: number[] = [];
          for (const [off, v] of ops) {
            const old = await r.setbit(key, off, v);
            expect(old).toBe(bits[off] ?? 0);
            while (bits.length <= off) bits.push(0);
            while (bits.length % 8 !== 0) bits.push(0);
            bits[off] = v;
          }
          expect(await r.bitcount(key)).toBe(bits.filter((b) => b === 1).length);
          const n = bits.length;
          let s = start < 0 ? n + start : start;
          let e = end < 0 ? n + end : end;
          if (s < 0) s = 0;
          if (e < 0) e = 0;
          if (e >= n) e = n - 1;
          const inRange = start < 0 && end < 0 && start > end ? [] : bits.slice(s, e + 1);
          expect(await r.call('BITCOUNT', key, String(start), String(end), 'BIT')).toBe(inRange.filter((b) => b === 1).length);
          const first1 = bits.indexOf(1);
          expect(await r.bitpos(key, 1)).toBe(first1);
          const first0 = bits.indexOf(0);
          expect(await r.bitpos(key, 0)).toBe(first0 === -1 ? n : first0);
          if (s <= e) {
            const i = bits.slice(s, e + 1).indexOf(1);
            expect(await r.call('BITPOS', key, '1', String(start), String(end), 'BIT')).toBe(i === -1 ? -1 : s + i);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
