/**
 * Redis's listpack (listpack.c): the blob small hashes, sorted sets, list
 * nodes and stream nodes are stored as in an RDB.
 *
 *   total bytes u32le | element count u16le (65535: count them) | entries | 0xFF
 *   entry = encoding+data | backlen (1-5 bytes: the size of encoding+data)
 *
 * The reader validates everything it walks (Redis's deep sanitization):
 * a payload is untrusted input and must never read out of bounds. The
 * writer chooses encodings as lpAppend does, so a canonical integer string
 * is stored as an integer.
 */
import { RdbFormatError } from './constants.js';

/** One element: a latin1 string, or an integer (a bigint beyond 2^53). */
export type LpItem = string | number | bigint;

function backlenSize(l: number): number {
  return l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
}

function bad(why: string): never {
  throw new RdbFormatError(`invalid listpack: ${why}`);
}

/** Every element of a listpack blob, in order. */
export function readListpack(b: Buffer): LpItem[] {
  if (b.length < 7) bad('too short');
  const total = b.readUInt32LE(0);
  if (total !== b.length) bad('header size mismatch');
  const count = b.readUInt16LE(4);
  const out: LpItem[] = [];
  let p = 6;
  const end = b.length - 1;
  while (p < end) {
    const start = p;
    const e = b[p];
    let item: LpItem;
    if ((e & 0x80) === 0) {
      item = e;
      p += 1;
    } else if ((e & 0xc0) === 0x80) {
      const n = e & 0x3f;
      if (p + 1 + n > end) bad('string past end');
      item = b.latin1Slice(p + 1, p + 1 + n);
      p += 1 + n;
    } else if ((e & 0xe0) === 0xc0) {
      if (p + 2 > end) bad('int past end');
      const u = ((e & 0x1f) << 8) | b[p + 1];
      item = u >= 4096 ? u - 8192 : u;
      p += 2;
    } else if ((e & 0xf0) === 0xe0) {
      if (p + 2 > end) bad('string past end');
      const n = ((e & 0x0f) << 8) | b[p + 1];
      if (p + 2 + n > end) bad('string past end');
      item = b.latin1Slice(p + 2, p + 2 + n);
      p += 2 + n;
    } else {
      switch (e) {
        case 0xf0: {
          if (p + 5 > end) bad('string past end');
          const n = b.readUInt32LE(p + 1);
          if (p + 5 + n > end) bad('string past end');
          item = b.latin1Slice(p + 5, p + 5 + n);
          p += 5 + n;
          break;
        }
        case 0xf1:
          if (p + 3 > end) bad('int past end');
          item = b.readInt16LE(p + 1);
          p += 3;
          break;
        case 0xf2:
          if (p + 4 > end) bad('int past end');
          item = b.readIntLE(p + 1, 3);
          p += 4;
          break;
        case 0xf3:
          if (p + 5 > end) bad('int past end');
          item = b.readInt32LE(p + 1);
          p += 5;
          break;
        case 0xf4: {
          if (p + 9 > end) bad('int past end');
          const v = b.readBigInt64LE(p + 1);
          item = v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
          p += 9;
          break;
        }
        default:
          bad(`unknown encoding ${e}`);
      }
    }
    // The backlen must say how long the entry was (read right to left).
    const l = p - start;
    const bl = backlenSize(l);
    if (p + bl > end) bad('backlen past end');
    let v = 0;
    for (let i = 0; i < bl; i++) {
      const x = b[p + i];
      const last = i === bl - 1;
      if (i > 0 && (x & 0x80) === 0) bad('bad backlen');
      if (i === 0 && bl > 1 && (x & 0x80) !== 0) bad('bad backlen');
      v = v * 128 + (x & 0x7f);
      if (last && bl === 1 && (x & 0x80) !== 0) bad('bad backlen');
    }
    if (v !== l) bad('backlen mismatch');
    p += bl;
    out.push(item!);
  }
  if (p !== end || b[end] !== 0xff) bad('no terminator');
  if (count !== 65535 && count !== out.length) bad('element count mismatch');
  return out;
}

/** An element as the string Redis replies with. */
export function lpString(x: LpItem): string {
  return typeof x === 'string' ? x : String(x);
}

/** lpStringToInt64: the integer a canonical decimal string is, or null. */
export function stringToInt(s: string): number | bigint | null {
  const n = s.length;
  if (n === 0 || n > 20) return null;
  const c0 = s.charCodeAt(0);
  if (!((c0 >= 48 && c0 <= 57) || c0 === 45)) return null;
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  if (n <= 15) return Number(s);
  const v = BigInt(s);
  if (v < -9223372036854775808n || v > 9223372036854775807n) return null;
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Builds one listpack; reused (reset) between blobs. */
export class ListpackWriter {
  buf = Buffer.allocUnsafe(8192);
  pos = 6;
  count = 0;

  reset(): void {
    this.pos = 6;
    this.count = 0;
  }

  /** Bytes of the listpack so far, without header and terminator. */
  get size(): number {
    return this.pos + 1;
  }

  private ensure(n: number): void {
    if (this.pos + n + 1 <= this.buf.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.pos + n + 1, this.buf.length * 2));
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }

  private backlen(l: number): void {
    const b = this.buf;
    if (l <= 127) b[this.pos++] = l;
    else if (l < 16383) {
      b[this.pos++] = l >>> 7;
      b[this.pos++] = (l & 127) | 128;
    } else if (l < 2097151) {
      b[this.pos++] = l >>> 14;
      b[this.pos++] = ((l >>> 7) & 127) | 128;
      b[this.pos++] = (l & 127) | 128;
    } else if (l < 268435455) {
      b[this.pos++] = l >>> 21;
      b[this.pos++] = ((l >>> 14) & 127) | 128;
      b[this.pos++] = ((l >>> 7) & 127) | 128;
      b[this.pos++] = (l & 127) | 128;
    } else {
      b[this.pos++] = Math.floor(l / 268435456);
      b[this.pos++] = ((l >>> 21) & 127) | 128;
      b[this.pos++] = ((l >>> 14) & 127) | 128;
      b[this.pos++] = ((l >>> 7) & 127) | 128;
      b[this.pos++] = (l & 127) | 128;
    }
  }

  /** lpAppend of a string: stored as an integer when it is one. */
  addString(s: string): void {
    const v = s.length <= 20 ? stringToInt(s) : null;
    if (v !== null) return this.addInt(v);
    const n = s.length;
    this.ensure(n + 10);
    const b = this.buf;
    const start = this.pos;
    if (n < 64) b[this.pos++] = 0x80 | n;
    else if (n < 4096) {
      b[this.pos++] = 0xe0 | (n >>> 8);
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = 0xf0;
      b.writeUInt32LE(n, this.pos);
      this.pos += 4;
    }
    this.pos += b.latin1Write(s, this.pos, n);
    this.backlen(this.pos - start);
    this.count++;
  }

  /** lpAppendInteger */
  addInt(v: number | bigint): void {
    this.ensure(10);
    const b = this.buf;
    const start = this.pos;
    if (typeof v === 'bigint') {
      b[this.pos++] = 0xf4;
      b.writeBigInt64LE(v, this.pos);
      this.pos += 8;
    } else if (v >= 0 && v <= 127) b[this.pos++] = v;
    else if (v >= -4096 && v <= 4095) {
      const u = v < 0 ? v + 8192 : v;
      b[this.pos++] = 0xc0 | (u >>> 8);
      b[this.pos++] = u & 0xff;
    } else if (v >= -32768 && v <= 32767) {
      b[this.pos++] = 0xf1;
      b.writeInt16LE(v, this.pos);
      this.pos += 2;
    } else if (v >= -8388608 && v <= 8388607) {
      b[this.pos++] = 0xf2;
      b.writeIntLE(v, this.pos, 3);
      this.pos += 3;
    } else if (v >= -2147483648 && v <= 2147483647) {
      b[this.pos++] = 0xf3;
      b.writeInt32LE(v, this.pos);
      this.pos += 4;
    } else {
      b[this.pos++] = 0xf4;
      b.writeBigInt64LE(BigInt(v), this.pos);
      this.pos += 8;
    }
    this.backlen(this.pos - start);
    this.count++;
  }

  /** The finished listpack (a view into the writer's buffer: use it before the next reset). */
  finish(): Buffer {
    this.ensure(0);
    this.buf[this.pos] = 0xff;
    const total = this.pos + 1;
    this.buf.writeUInt32LE(total, 0);
    this.buf.writeUInt16LE(Math.min(this.count, 65535), 4);
    return this.buf.subarray(0, total);
  }
}
