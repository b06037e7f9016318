/**
 * Reading the RDB primitives (rdb.c rdbLoadLen, rdbGenericLoadStringObject,
 * rdbLoadDoubleValue, rdbLoadMillisecondTime...) from a window of bytes.
 *
 * A DUMP payload is one whole buffer. A file arrives in chunks: its window
 * is not `final`, and a read past the end throws NEED_MORE, so the file
 * reader fetches more and decodes the record again from its start. Past
 * the end of a final window the data is truncated: RdbFormatError.
 */
import { ENC_INT16, ENC_INT32, ENC_INT8, ENC_LZF, LEN_14BIT, LEN_32BIT, LEN_64BIT, LEN_6BIT, LEN_ENCVAL, RdbFormatError } from './constants.js';
import { lzfDecompressInto } from './lzf.js';

let lzfScratch = Buffer.allocUnsafeSlow(1 << 16);
import { norm, type U64 } from '../types/stream-id.js';

/** Thrown (not an Error: no stack to build) when a non-final window ends mid-record. */
export const NEED_MORE = Symbol('rdb: need more input');

export class RdbInput {
  constructor(
    public buf: Buffer,
    public pos: number,
    public end: number,
    public final: boolean,
  ) {}

  /** Make sure n more bytes are there. */
  need(n: number): void {
    if (this.pos + n > this.end) {
      if (this.final) throw new RdbFormatError('unexpected end of data');
      throw NEED_MORE;
    }
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** rdbLoadLenByRef: a length, or an encoding number when `encoded` is set afterwards. */
  encoded = false;
  len(): number {
    const first = this.byte();
    const type = first >> 6;
    this.encoded = false;
    if (type === LEN_ENCVAL) {
      this.encoded = true;
      return first & 0x3f;
    }
    if (type === LEN_6BIT) return first & 0x3f;
    if (type === LEN_14BIT) return ((first & 0x3f) << 8) | this.byte();
    if (first === LEN_32BIT) {
      this.need(4);
      const n = this.buf.readUInt32BE(this.pos);
      this.pos += 4;
      return n;
    }
    if (first === LEN_64BIT) {
      this.need(8);
      const hi = this.buf.readUInt32BE(this.pos);
      const lo = this.buf.readUInt32BE(this.pos + 4);
      this.pos += 8;
      if (hi > 0x1fffff) throw new RdbFormatError('length too large');
      return hi * 4294967296 + lo;
    }
    throw new RdbFormatError(`unknown length encoding ${first}`);
  }

  /** A plain length (an encoded value is an error). */
  count(): number {
    const n = this.len();
    if (this.encoded) throw new RdbFormatError('unexpected encoded length');
    return n;
  }

  /** A length as a full u64 (stream IDs and counters). */
  u64(): U64 {
    const first = this.buf[this.pos];
    if (this.pos < this.end && first === LEN_64BIT) {
      this.pos++;
      this.need(8);
      const v = this.buf.readBigUInt64BE(this.pos);
      this.pos += 8;
      return norm(v);
    }
    return this.count();
  }

  /** rdbGenericLoadStringObject as bytes: a view into the window or a scratch buffer, valid until the next read. */
  stringBytes(): Buffer {
    const n = this.len();
    if (!this.encoded) return this.bytes(n);
    switch (n) {
      case ENC_INT8:
        return Buffer.from(String(this.bytes(1).readInt8(0)), 'latin1');
      case ENC_INT16:
        return Buffer.from(String(this.bytes(2).readInt16LE(0)), 'latin1');
      case ENC_INT32:
        return Buffer.from(String(this.bytes(4).readInt32LE(0)), 'latin1');
      case ENC_LZF:
        return this.lzf();
      default:
        throw new RdbFormatError(`unknown string encoding ${n}`);
    }
  }

  /** A string value, latin1 (one char per byte, as every value here). */
  string(): string {
    const n = this.len();
    if (!this.encoded) {
      this.need(n);
      const s = this.buf.latin1Slice(this.pos, this.pos + n);
      this.pos += n;
      return s;
    }
    switch (n) {
      case ENC_INT8:
        return String(this.bytes(1).readInt8(0));
      case ENC_INT16:
        return String(this.bytes(2).readInt16LE(0));
      case ENC_INT32:
        return String(this.bytes(4).readInt32LE(0));
      case ENC_LZF: {
        const b = this.lzf();
        return b.latin1Slice(0, b.length);
      }
      default:
        throw new RdbFormatError(`unknown string encoding ${n}`);
    }
  }

  /** The decompressed bytes, in a scratch buffer valid until the next LZF string. */
  private lzf(): Buffer {
    const clen = this.count();
    const olen = this.count();
    const c = this.bytes(clen);
    if (olen === 0) throw new RdbFormatError('LZF string of length 0');
    if (lzfScratch.length < olen) lzfScratch = Buffer.allocUnsafeSlow(Math.max(olen, lzfScratch.length * 2));
    const out = lzfScratch.subarray(0, olen);
    if (!lzfDecompressInto(c, out)) throw new RdbFormatError('invalid LZF data');
    return out;
  }

  /** rdbLoadBinaryDoubleValue */
  binaryDouble(): number {
    this.need(8);
    const d = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return d;
  }

  /** rdbLoadDoubleValue: the old text form (RDB_TYPE_ZSET). */
  textDouble(): number {
    const n = this.byte();
    if (n === 253) return NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    const s = this.bytes(n).latin1Slice(0, n);
    const d = Number(s);
    if (Number.isNaN(d)) throw new RdbFormatError('bad double value');
    return d;
  }

  /** rdbLoadMillisecondTime: int64 little-endian. */
  millis(): number {
    this.need(8);
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readInt32LE(this.pos + 4);
    this.pos += 8;
    return hi * 4294967296 + lo;
  }

  /** rdbLoadTime: int32 seconds, little-endian (RDB_OPCODE_EXPIRETIME). */
  seconds(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
}
