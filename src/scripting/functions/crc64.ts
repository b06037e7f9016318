/**
 * CRC-64/Jones as Redis computes it (src/crc64.c): polynomial
 * 0xad93d23594c935a9, reflected input and output, initial value 0, no final
 * xor (check value for "123456789": 0xe9c6d914c4b8d9ca). FUNCTION DUMP and
 * DUMP payloads end with it, little-endian.
 *
 * Table-driven on the reflected polynomial, the 64-bit state kept as two
 * uint32 halves: payloads are library code, so this stays off BigInt.
 */

// Reflected 0xad93d23594c935a9 = 0x95ac9329ac4bc9b5.
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;

const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
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
  TABLE_HI[n] = hi;
  TABLE_LO[n] = lo;
}

/** crc64(0, data) as Redis's crc64(), written little-endian into 8 bytes. */
export function crc64(data: Uint8Array): Buffer {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ TABLE_LO[idx]!) >>> 0;
    hi = ((hi >>> 8) ^ TABLE_HI[idx]!) >>> 0;
  }
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32LE(lo, 0);
  out.writeUInt32LE(hi, 4);
  return out;
}
