/**
 * CRC-64/Jones as Redis computes it (src/crc64.c): polynomial
 * 0xad93d23594c935a9, reflected input and output, initial value 0, no final
 * xor (check value for "123456789": 0xe9c6d914c4b8d9ca). DUMP and FUNCTION
 * DUMP payloads end with it, and so does an RDB file, little-endian.
 *
 * The 64-bit state is kept as two uint32 halves (no BigInt), and bytes are
 * taken eight at a time through eight tables (slice-by-8): an RDB file of
 * several GB is checksummed while it loads, so this is on the hot path.
 */

// Reflected 0xad93d23594c935a9 = 0x95ac9329ac4bc9b5.
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;

/** T[k][n]: the CRC of byte n followed by k zero bytes; hi and lo halves. */
const HI = Array.from({ length: 8 }, () => new Uint32Array(256));
const LO = Array.from({ length: 8 }, () => new Uint32Array(256));
for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  HI[0][n] = hi;
  LO[0][n] = lo;
}
for (let k = 1; k < 8; k++) {
  for (let n = 0; n < 256; n++) {
    const phi = HI[k - 1][n];
    const plo = LO[k - 1][n];
    const idx = plo & 0xff;
    LO[k][n] = (((plo >>> 8) | ((phi & 0xff) << 24)) ^ LO[0][idx]) >>> 0;
    HI[k][n] = ((phi >>> 8) ^ HI[0][idx]) >>> 0;
  }
}
const [H0, H1, H2, H3, H4, H5, H6, H7] = HI;
const [L0, L1, L2, L3, L4, L5, L6, L7] = LO;

/** A running CRC: feed it bytes in order with update(), read it with digest(). */
export class Crc64 {
  hi = 0;
  lo = 0;

  update(data: Uint8Array, start = 0, end = data.length): this {
    let hi = this.hi;
    let lo = this.lo;
    let i = start;
    const end8 = start + ((end - start) & ~7);
    for (; i < end8; i += 8) {
      // Eight bytes xored into the state, then each byte's contribution shifted by the bytes after it.
      const x = lo ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
      const y = hi ^ (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24));
      const a = x & 0xff;
      const b = (x >>> 8) & 0xff;
      const c = (x >>> 16) & 0xff;
      const d = x >>> 24;
      const e = y & 0xff;
      const f = (y >>> 8) & 0xff;
      const g = (y >>> 16) & 0xff;
      const h = y >>> 24;
      lo = L7[a] ^ L6[b] ^ L5[c] ^ L4[d] ^ L3[e] ^ L2[f] ^ L1[g] ^ L0[h];
      hi = H7[a] ^ H6[b] ^ H5[c] ^ H4[d] ^ H3[e] ^ H2[f] ^ H1[g] ^ H0[h];
    }
    lo >>>= 0;
    hi >>>= 0;
    for (; i < end; i++) {
      const idx = (lo ^ data[i]) & 0xff;
      lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ L0[idx]) >>> 0;
      hi = ((hi >>> 8) ^ H0[idx]) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
    return this;
  }

  /** The CRC so far, little-endian in 8 bytes (as Redis writes it). */
  digest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32LE(this.lo, 0);
    out.writeUInt32LE(this.hi, 4);
    return out;
  }
}

/** crc64(0, data) as Redis's crc64(), written little-endian into 8 bytes. */
export function crc64(data: Uint8Array): Buffer {
  return new Crc64().update(data).digest();
}
