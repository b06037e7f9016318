/**
 * FUNCTION DUMP / RESTORE payloads, byte for byte as Redis 7.0 writes and
 * reads them (functions.c functionDumpCommand, rdb.c rdbSaveFunctions and
 * rdbFunctionLoad, cluster.c verifyDumpPayload):
 *
 *   ( RDB_OPCODE_FUNCTION2 (245) | rdb string: the library's code )*
 *   RDB version, u16le (10)
 *   CRC-64/Jones of everything before it, u64le
 *
 * The code is an RDB string: LZF-compressed when longer than 20 bytes and
 * compression saves at least 4 (rdbcompression defaults to yes). Reading
 * also takes the 7.0-rc format (opcode 246: name, engine, optional
 * description, body) and integer-encoded strings, as Redis does.
 */
import { crc64 } from './crc64.js';
import { lzfCompress, lzfDecompress } from './lzf.js';

export const RDB_VERSION = 10;
export const RDB_OPCODE_FUNCTION2 = 245;
export const RDB_OPCODE_FUNCTION = 246;

const RDB_6BITLEN = 0;
const RDB_14BITLEN = 1;
const RDB_32BITLEN = 0x80;
const RDB_64BITLEN = 0x81;
const RDB_ENCVAL = 3;
const RDB_ENC_INT8 = 0;
const RDB_ENC_INT16 = 1;
const RDB_ENC_INT32 = 2;
const RDB_ENC_LZF = 3;

function lenBytes(n: number): number[] {
  if (n < 1 << 6) return [(RDB_6BITLEN << 6) | n];
  if (n < 1 << 14) return [(RDB_14BITLEN << 6) | (n >>> 8), n & 0xff];
  if (n <= 0xffffffff) return [RDB_32BITLEN, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const b = Buffer.alloc(9);
  b[0] = RDB_64BITLEN;
  b.writeBigUInt64BE(BigInt(n), 1);
  return [...b];
}

/** rdbSaveRawString for a string that is never an integer (library code starts with "#!"). */
function rdbString(s: Buffer, parts: Buffer[]): void {
  const len = s.length;
  if (len > 20 && len > 4) {
    const c = lzfCompress(s, len - 4);
    if (c !== null) {
      parts.push(Buffer.from([(RDB_ENCVAL << 6) | RDB_ENC_LZF, ...lenBytes(c.length), ...lenBytes(len)]), Buffer.from(c.buffer, c.byteOffset, c.length));
      return;
    }
  }
  parts.push(Buffer.from(lenBytes(len)), s);
}

/** The payload FUNCTION DUMP answers, for libraries' code (latin1 strings). */
export function encodeFunctionsPayload(codes: Iterable<string>): Buffer {
  const parts: Buffer[] = [];
  for (const code of codes) {
    parts.push(Buffer.from([RDB_OPCODE_FUNCTION2]));
    rdbString(Buffer.from(code, 'latin1'), parts);
  }
  parts.push(Buffer.from([RDB_VERSION & 0xff, (RDB_VERSION >> 8) & 0xff]));
  const body = Buffer.concat(parts);
  return Buffer.concat([body, crc64(body)]);
}

/** verifyDumpPayload: at least the footer, a known RDB version, a matching CRC. */
export function verifyPayload(p: Buffer): boolean {
  if (p.length < 10) return false;
  const ver = p[p.length - 10]! | (p[p.length - 9]! << 8);
  if (ver > RDB_VERSION) return false;
  return crc64(p.subarray(0, p.length - 8)).equals(p.subarray(p.length - 8));
}

class PayloadReader {
  pos = 0;
  constructor(readonly b: Buffer) {}

  byte(): number | null {
    return this.pos < this.b.length ? this.b[this.pos++]! : null;
  }

  /** rdbLoadLen: { len, encoded } or null on a short read. */
  len(): { len: number; encoded: boolean } | null {
    const first = this.byte();
    if (first === null) return null;
    const type = (first & 0xc0) >> 6;
    if (type === RDB_ENCVAL) return { len: first & 0x3f, encoded: true };
    if (type === RDB_6BITLEN) return { len: first & 0x3f, encoded: false };
    if (type === RDB_14BITLEN) {
      const second = this.byte();
      if (second === null) return null;
      return { len: ((first & 0x3f) << 8) | second, encoded: false };
    }
    if (first === RDB_32BITLEN) {
      if (this.pos + 4 > this.b.length) return null;
      const n = this.b.readUInt32BE(this.pos);
      this.pos += 4;
      return { len: n, encoded: false };
    }
    if (first === RDB_64BITLEN) {
      if (this.pos + 8 > this.b.length) return null;
      const n = this.b.readBigUInt64BE(this.pos);
      this.pos += 8;
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) return null;
      return { len: Number(n), encoded: false };
    }
    return null;
  }

  take(n: number): Buffer | null {
    if (this.pos + n > this.b.length) return null;
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** rdbGenericLoadStringObject, as a latin1 string; null when it cannot be read. */
  string(): string | null {
    const l = this.len();
    if (l === null) return null;
    if (l.encoded) {
      switch (l.len) {
        case RDB_ENC_INT8: {
          const b = this.take(1);
          return b === null ? null : String(b.readInt8(0));
        }
        case RDB_ENC_INT16: {
          const b = this.take(2);
          return b === null ? null : String(b.readInt16LE(0));
        }
        case RDB_ENC_INT32: {
          const b = this.take(4);
          return b === null ? null : String(b.readInt32LE(0));
        }
        case RDB_ENC_LZF: {
          const clen = this.len();
          const olen = this.len();
          if (clen === null || olen === null || clen.encoded || olen.encoded) return null;
          const c = this.take(clen.len);
          if (c === null) return null;
          const out = lzfDecompress(c, olen.len);
          return out === null ? null : Buffer.from(out.buffer, out.byteOffset, out.length).toString('latin1');
        }
        default:
          return null;
      }
    }
    const b = this.take(l.len);
    return b === null ? null : b.toString('latin1');
  }
}

/**
 * The libraries' code a verified payload holds, in order, or the error
 * Redis's FUNCTION RESTORE answers (without the "ERR " prefix).
 */
export function decodeFunctionsPayload(p: Buffer): string[] | { error: string } {
  const r = new PayloadReader(p.subarray(0, p.length - 10));
  const codes: string[] = [];
  while (r.pos < r.b.length) {
    const type = r.byte();
    if (type === null) return { error: 'can not read data type' };
    if (type !== RDB_OPCODE_FUNCTION && type !== RDB_OPCODE_FUNCTION2) return { error: 'given type is not a function' };
    if (type === RDB_OPCODE_FUNCTION2) {
      const code = r.string();
      if (code === null) return { error: 'Failed loading library payload' };
      codes.push(code);
      continue;
    }
    // 7.0-rc1/rc2: name, engine, description flag (and description), body.
    const name = r.string();
    if (name === null) return { error: 'Failed loading library name' };
    const engine = r.string();
    if (engine === null) return { error: 'Failed loading engine name' };
    const hasDesc = r.len();
    if (hasDesc === null || hasDesc.encoded) return { error: 'Failed loading library description indicator' };
    if (hasDesc.len !== 0 && r.string() === null) return { error: 'Failed loading library description' };
    const blob = r.string();
    if (blob === null) return { error: 'Failed loading library blob' };
    codes.push(`#!${engine} name=${name}\n${blob}`);
  }
  return codes;
}
