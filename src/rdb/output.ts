/**
 * Writing the RDB primitives (rdb.c rdbSaveLen, rdbSaveRawString with its
 * integer and LZF encodings, rdbSaveBinaryDoubleValue, ...) into a growing
 * buffer. A DUMP payload is one of these; the file writer drains it to the
 * file whenever it passes a few hundred KB.
 */
import { ENC_INT16, ENC_INT32, ENC_INT8, ENC_LZF, LEN_32BIT, LEN_64BIT, LEN_ENCVAL } from './constants.js';
import { lzfCompressInto } from './lzf.js';
import type { U64 } from '../types/stream-id.js';

/** Scratch for strings on their way to LZF (latin1 bytes of a JS string). */
let scratch = Buffer.allocUnsafeSlow(1 << 16);
function scratchFor(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.allocUnsafeSlow(Math.max(n, scratch.length * 2));
  return scratch;
}

export class RdbOutput {
  buf: Buffer;
  pos = 0;
  /** rdbcompression: LZF for strings longer than 20 bytes. */
  compress = true;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.pos + n, this.buf.length * 2));
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }

  /** What was written so far (a view). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Forget what was written (after it was handed on). */
  reset(): void {
    this.pos = 0;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  raw(b: Uint8Array, start = 0, end = b.length): void {
    this.ensure(end - start);
    this.buf.set(b.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  len(n: number): void {
    this.ensure(9);
    const b = this.buf;
    if (n < 64) b[this.pos++] = n;
    else if (n < 16384) {
      b[this.pos++] = 0x40 | (n >>> 8);
      b[this.pos++] = n & 0xff;
    } else if (n <= 0xffffffff) {
      b[this.pos++] = LEN_32BIT;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    } else {
      b[this.pos++] = LEN_64BIT;
      b.writeUInt32BE(Math.floor(n / 4294967296), this.pos);
      b.writeUInt32BE(n >>> 0, this.pos + 4);
      this.pos += 8;
    }
  }

  /** A u64 length (stream IDs, counters); -1 is written as 2^64 - 1, as Redis's (uint64_t) cast does. */
  u64(v: U64): void {
    if (typeof v === 'number' && v >= 0) return this.len(v);
    this.ensure(9);
    this.buf[this.pos++] = LEN_64BIT;
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, BigInt(v)), this.pos);
    this.pos += 8;
  }

  /** rdbSaveRawString of a latin1 string. */
  string(s: string): void {
    const n = s.length;
    if (n <= 11 && n > 0 && this.intEncoded(s)) return;
    if (this.compress && n > 20) {
      const tmp = scratchFor(n);
      tmp.latin1Write(s, 0, n);
      if (this.lzf(tmp, 0, n)) return;
    }
    this.len(n);
    this.ensure(n);
    this.pos += this.buf.latin1Write(s, this.pos, n);
  }

  /** rdbSaveRawString of bytes (listpacks, intsets and other blobs). */
  blob(b: Uint8Array, start = 0, end = b.length): void {
    const n = end - start;
    if (this.compress && n > 20 && this.lzf(b, start, end)) return;
    this.len(n);
    this.raw(b, start, end);
  }

  /** rdbTryIntegerEncoding: a canonical integer that fits 32 bits becomes 2-5 bytes. */
  private intEncoded(s: string): boolean {
    const c0 = s.charCodeAt(0);
    if (!((c0 >= 48 && c0 <= 57) || c0 === 45)) return false;
    if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return false;
    const v = Number(s);
    this.ensure(5);
    const b = this.buf;
    if (v >= -128 && v <= 127) {
      b[this.pos++] = (LEN_ENCVAL << 6) | ENC_INT8;
      b.writeInt8(v, this.pos);
      this.pos += 1;
    } else if (v >= -32768 && v <= 32767) {
      b[this.pos++] = (LEN_ENCVAL << 6) | ENC_INT16;
      b.writeInt16LE(v, this.pos);
      this.pos += 2;
    } else if (v >= -2147483648 && v <= 2147483647) {
      b[this.pos++] = (LEN_ENCVAL << 6) | ENC_INT32;
      b.writeInt32LE(v, this.pos);
      this.pos += 4;
    } else return false;
    return true;
  }

  /** rdbSaveLzfStringObject: written only if it saves at least 4 bytes. */
  private lzf(src: Uint8Array, start: number, end: number): boolean {
    const n = end - start;
    const room = n - 4;
    // Header: 1 byte + up to 9 + 9 for the two lengths.
    this.ensure(19 + room);
    const at = this.pos + 19;
    const clen = lzfCompressInto(src, start, end, this.buf, at, at + room);
    if (clen === 0) return false;
    const data = this.pos + 19;
    this.byte((LEN_ENCVAL << 6) | ENC_LZF);
    this.len(clen);
    this.len(n);
    this.buf.copyWithin(this.pos, data, data + clen);
    this.pos += clen;
    return true;
  }

  binaryDouble(d: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(d, this.pos);
    this.pos += 8;
  }

  millis(ms: number): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(BigInt(ms), this.pos);
    this.pos += 8;
  }
}
