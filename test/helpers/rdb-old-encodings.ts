/**
 * Payloads in the encodings Redis wrote before 7.0 and 7.0 still loads
 * (ziplist, zipmap, quicklist of ziplists, linked list, text-scored zset),
 * built byte by byte from ziplist.c / zipmap.c / rdb.c, so a test can give
 * the same old payload to redis-server and to this server.
 */
import { crc64 } from '../../src/rdb/crc64.js';

type Item = string | number;

function zipEntry(prevlen: number, x: Item): Buffer {
  const pre = prevlen < 254 ? Buffer.from([prevlen]) : Buffer.concat([Buffer.from([0xfe]), u32le(prevlen)]);
  let body: Buffer;
  if (typeof x === 'string') {
    const s = Buffer.from(x, 'latin1');
    const n = s.length;
    const head = n < 64 ? Buffer.from([n]) : n < 16384 ? Buffer.from([0x40 | (n >> 8), n & 0xff]) : Buffer.concat([Buffer.from([0x80]), u32be(n)]);
    body = Buffer.concat([head, s]);
  } else if (x >= 0 && x <= 12) body = Buffer.from([0xf1 + x]);
  else if (x >= -128 && x <= 127) body = Buffer.from([0xfe, x & 0xff]);
  else if (x >= -32768 && x <= 32767) {
    body = Buffer.alloc(3);
    body[0] = 0xc0;
    body.writeInt16LE(x, 1);
  } else if (x >= -8388608 && x <= 8388607) {
    body = Buffer.alloc(4);
    body[0] = 0xf0;
    body.writeIntLE(x, 1, 3);
  } else if (x >= -2147483648 && x <= 2147483647) {
    body = Buffer.alloc(5);
    body[0] = 0xd0;
    body.writeInt32LE(x, 1);
  } else {
    body = Buffer.alloc(9);
    body[0] = 0xe0;
    body.writeBigInt64LE(BigInt(x), 1);
  }
  return Buffer.concat([pre, body]);
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function ziplist(items: Item[]): Buffer {
  const entries: Buffer[] = [];
  let prev = 0;
  let tail = 10;
  let off = 10;
  for (const x of items) {
    const e = zipEntry(prev, x);
    tail = off;
    off += e.length;
    prev = e.length;
    entries.push(e);
  }
  const body = Buffer.concat(entries);
  const h = Buffer.alloc(10);
  h.writeUInt32LE(10 + body.length + 1, 0);
  h.writeUInt32LE(items.length ? tail : 10, 4);
  h.writeUInt16LE(items.length, 8);
  return Buffer.concat([h, body, Buffer.from([0xff])]);
}

export function zipmap(pairs: [string, string][]): Buffer {
  const parts: Buffer[] = [Buffer.from([pairs.length])];
  const len = (n: number) => (n < 254 ? Buffer.from([n]) : Buffer.concat([Buffer.from([254]), u32le(n)]));
  for (const [k, v] of pairs) parts.push(len(k.length), Buffer.from(k, 'latin1'), len(v.length), Buffer.from([0]), Buffer.from(v, 'latin1'));
  parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}

export function rdbLen(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  return Buffer.concat([Buffer.from([0x80]), u32be(n)]);
}

export function rdbString(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return Buffer.concat([rdbLen(b.length), b]);
}

/** type byte + body, RDB version (9: what Redis 6.2 wrote), CRC. */
export function payload(type: number, body: Buffer, version = 9): Buffer {
  const b = Buffer.concat([Buffer.from([type]), body, Buffer.from([version & 0xff, version >> 8])]);
  return Buffer.concat([b, crc64(b)]);
}

/** A text double as rdbSaveDoubleValue writes it. */
export function textDouble(d: number): Buffer {
  if (d === Infinity) return Buffer.from([254]);
  if (d === -Infinity) return Buffer.from([255]);
  const s = String(d);
  return Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
}

/** Old-encoding payloads by name; each restores on redis-server 7.0. */
export function oldPayloads(): Record<string, Buffer> {
  const many: Item[] = [];
  for (let i = 0; i < 300; i++) many.push(i % 2 ? `f${i}` : i * 1000 - 70000);
  const words = ['alpha', 'b', '', 'x'.repeat(300), 'y'.repeat(20000)];
  return {
    'list-ziplist': payload(10, rdbString(ziplist(['a', 1, -1, 12, 13, 300, -70000, 5000000000, ...words]))),
    'list-quicklist': payload(14, Buffer.concat([rdbLen(2), rdbString(ziplist(['n1', 2, 'z'])), rdbString(ziplist(many))])),
    'list-linked': payload(1, Buffer.concat([rdbLen(3), rdbString('a'), rdbString('12'), rdbString('c')])),
    'hash-ziplist': payload(13, rdbString(ziplist(['f1', 'v1', 'n', 7, 'big', 'q'.repeat(100)]))),
    'hash-ziplist-many': payload(13, rdbString(ziplist(many.concat(many.map((x) => `${x}`).map((x) => x + 'b'))))),
    'hash-zipmap': payload(9, rdbString(zipmap([['a', '1'], ['bb', 'two'], ['long', 'l'.repeat(300)]]))),
    'zset-ziplist': payload(12, rdbString(ziplist(['m3', -7, 'm1', 1, 'm2', '2.5', 'm4', '1e300']))),
    'zset-text': payload(3, Buffer.concat([rdbLen(4), rdbString('a'), textDouble(1.5), rdbString('b'), textDouble(-2), rdbString('c'), textDouble(Infinity), rdbString('d'), textDouble(-Infinity)])),
    'set-linked': payload(2, Buffer.concat([rdbLen(3), rdbString('1'), rdbString('2'), rdbString('x')])),
    'set-linked-ints': payload(2, Buffer.concat([rdbLen(3), rdbString('1'), rdbString('2'), rdbString('-3')])),
    'hash-linked': payload(4, Buffer.concat([rdbLen(2), rdbString('f'), rdbString('v'), rdbString('g'), rdbString('w'.repeat(100))])),
  };
}
