/**
 * Readers for the blobs older RDB files hold and Redis 7.0 still loads:
 * ziplist (ziplist.c: lists, hashes and sorted sets before 7.0, quicklist
 * nodes before 7.0), intset (intset.c: small integer sets, still written
 * by 7.0) and zipmap (zipmap.c: hashes before 2.6). Each validates what it
 * walks: a payload is untrusted input.
 */
import { RdbFormatError } from './constants.js';
import type { LpItem } from './listpack.js';

function bad(what: string, why: string): never {
  throw new RdbFormatError(`invalid ${what}: ${why}`);
}

/** Every element of a ziplist blob, in order. */
export function readZiplist(b: Buffer): LpItem[] {
  if (b.length < 11) bad('ziplist', 'too short');
  if (b.readUInt32LE(0) !== b.length) bad('ziplist', 'header size mismatch');
  const count = b.readUInt16LE(8);
  const end = b.length - 1;
  if (b[end] !== 0xff) bad('ziplist', 'no terminator');
  const out: LpItem[] = [];
  let p = 10;
  let prevLen = 0;
  while (p < end) {
    const start = p;
    // prevlen: 1 byte, or 0xFE and 4 bytes
    let pl = b[p];
    if (pl === 0xfe) {
      if (p + 5 > end) bad('ziplist', 'entry past end');
      pl = b.readUInt32LE(p + 1);
      p += 5;
    } else p += 1;
    if (pl !== prevLen) bad('ziplist', 'prevlen mismatch');
    if (p >= end) bad('ziplist', 'entry past end');
    const e = b[p];
    let item: LpItem;
    const top = e >> 6;
    if (top === 0) {
      const n = e & 0x3f;
      if (p + 1 + n > end) bad('ziplist', 'string past end');
      item = b.latin1Slice(p + 1, p + 1 + n);
      p += 1 + n;
    } else if (top === 1) {
      if (p + 2 > end) bad('ziplist', 'entry past end');
      const n = ((e & 0x3f) << 8) | b[p + 1];
      if (p + 2 + n > end) bad('ziplist', 'string past end');
      item = b.latin1Slice(p + 2, p + 2 + n);
      p += 2 + n;
    } else if (top === 2) {
      if (p + 5 > end) bad('ziplist', 'entry past end');
      const n = b.readUInt32BE(p + 1);
      if (p + 5 + n > end) bad('ziplist', 'string past end');
      item = b.latin1Slice(p + 5, p + 5 + n);
      p += 5 + n;
    } else {
      const need = e === 0xc0 ? 2 : e === 0xd0 ? 4 : e === 0xe0 ? 8 : e === 0xf0 ? 3 : e === 0xfe ? 1 : e >= 0xf1 && e <= 0xfd ? 0 : -1;
      if (need < 0) bad('ziplist', `unknown encoding ${e}`);
      if (p + 1 + need > end) bad('ziplist', 'entry past end');
      const q = p + 1;
      if (e === 0xc0) item = b.readInt16LE(q);
      else if (e === 0xd0) item = b.readInt32LE(q);
      else if (e === 0xe0) {
        const v = b.readBigInt64LE(q);
        item = v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
      } else if (e === 0xf0) item = b.readIntLE(q, 3);
      else if (e === 0xfe) item = b.readInt8(q);
      else item = (e & 0x0f) - 1;
      p = q + need;
    }
    prevLen = p - start;
    out.push(item);
  }
  if (p !== end) bad('ziplist', 'entry past end');
  if (count !== 65535 && count !== out.length) bad('ziplist', 'element count mismatch');
  return out;
}

/** The members of an intset blob, ascending, as decimal strings. */
export function readIntset(b: Buffer): string[] {
  if (b.length < 8) bad('intset', 'too short');
  const enc = b.readUInt32LE(0);
  const n = b.readUInt32LE(4);
  if (enc !== 2 && enc !== 4 && enc !== 8) bad('intset', `bad encoding ${enc}`);
  if (8 + n * enc !== b.length) bad('intset', 'size mismatch');
  if (n === 0) bad('intset', 'empty');
  const out: string[] = new Array(n);
  let prev: bigint | number | null = null;
  for (let i = 0; i < n; i++) {
    const p = 8 + i * enc;
    const v: number | bigint = enc === 2 ? b.readInt16LE(p) : enc === 4 ? b.readInt32LE(p) : b.readBigInt64LE(p);
    if (prev !== null && !(v > prev)) bad('intset', 'not sorted');
    prev = v;
    out[i] = String(v);
  }
  return out;
}

/** The smallest intset encoding holding every value (_intsetValueEncoding). */
function intsetEncoding(vals: bigint[]): number {
  let enc = 2;
  for (const v of vals) {
    if (v < -2147483648n || v > 2147483647n) return 8;
    if (v < -32768n || v > 32767n) enc = 4;
  }
  return enc;
}

/** An intset blob for these integer strings (each a canonical int64). */
export function writeIntset(members: readonly string[]): Buffer {
  const vals = members.map((s) => BigInt(s)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const enc = intsetEncoding(vals);
  const b = Buffer.allocUnsafe(8 + vals.length * enc);
  b.writeUInt32LE(enc, 0);
  b.writeUInt32LE(vals.length, 4);
  for (let i = 0; i < vals.length; i++) {
    const p = 8 + i * enc;
    if (enc === 2) b.writeInt16LE(Number(vals[i]), p);
    else if (enc === 4) b.writeInt32LE(Number(vals[i]), p);
    else b.writeBigInt64LE(vals[i], p);
  }
  return b;
}

/** Field, value, field, value... of a zipmap blob. */
export function readZipmap(b: Buffer): string[] {
  if (b.length < 2) bad('zipmap', 'too short');
  const out: string[] = [];
  let p = 1;
  const len = (): number => {
    if (p >= b.length) bad('zipmap', 'entry past end');
    const x = b[p];
    if (x < 254) {
      p += 1;
      return x;
    }
    if (x === 254) {
      if (p + 5 > b.length) bad('zipmap', 'entry past end');
      const n = b.readUInt32LE(p + 1);
      p += 5;
      return n;
    }
    bad('zipmap', 'bad length');
  };
  for (;;) {
    if (p >= b.length) bad('zipmap', 'no terminator');
    if (b[p] === 255) break;
    const kl = len();
    if (p + kl > b.length) bad('zipmap', 'entry past end');
    const k = b.latin1Slice(p, p + kl);
    p += kl;
    const vl = len();
    if (p >= b.length) bad('zipmap', 'entry past end');
    const free = b[p++];
    if (p + vl + free > b.length) bad('zipmap', 'entry past end');
    out.push(k, b.latin1Slice(p, p + vl));
    p += vl + free;
  }
  if (p !== b.length - 1) bad('zipmap', 'trailing bytes');
  return out;
}
