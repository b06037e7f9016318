/**
 * Redis's HyperLogLog representation (hyperloglog.c), byte for byte: an
 * HLL is an ordinary string value starting with a 16-byte header
 * ("HYLL", encoding, 3 unused bytes, the cached cardinality as 8 bytes
 * little endian whose top bit marks it stale), then either the dense
 * registers (16384 x 6 bits, least significant bits first) or the sparse
 * opcodes (ZERO 00xxxxxx, XZERO 01xxxxxx xxxxxxxx, VAL 1vvvvvxx). So GET,
 * SET, DUMP and RESTORE move an HLL between redis-server and this server
 * unchanged, and the estimate is the same number.
 *
 * While a command works on one, the bytes live in an `Hll` (a Buffer with
 * some spare room, as the sds Redis edits in place); the key keeps the
 * latin1 string form between commands.
 */

export const HLL_P = 14;
export const HLL_Q = 64 - HLL_P;
export const HLL_REGISTERS = 1 << HLL_P;
const HLL_P_MASK = HLL_REGISTERS - 1;
const HLL_BITS = 6;
export const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1;
export const HLL_HDR_SIZE = 16;
export const HLL_DENSE_SIZE = HLL_HDR_SIZE + Math.floor((HLL_REGISTERS * HLL_BITS + 7) / 8);
export const HLL_DENSE = 0;
export const HLL_SPARSE = 1;
const HLL_MAX_ENCODING = 1;

const SPARSE_VAL_MAX_VALUE = 32;
const SPARSE_VAL_MAX_LEN = 4;
const SPARSE_ZERO_MAX_LEN = 64;
const SPARSE_XZERO_MAX_LEN = 16384;
const HLL_ALPHA_INF = 0.72134752044448170368;

export const INVALID_HLL_ERR = 'INVALIDOBJ Corrupted HLL object detected';
export const NOT_HLL_ERR = 'WRONGTYPE Key is not a valid HyperLogLog string value.';

/** An HLL being worked on: `len` bytes of `b` are the value, the rest is room to grow. */
export interface Hll {
  b: Buffer;
  len: number;
}

// ---------- MurmurHash64A, on 32-bit halves ----------

const M_HI = 0xc6a4a793;
const M_LO = 0x5bd1e995;
/** The result of mul64 / murmur64a, as two unsigned 32-bit halves (no allocation per call). */
let rHi = 0;
let rLo = 0;

/** (aHi:aLo) * (bHi:bLo) mod 2^64 into rHi:rLo. */
function mul64(aHi: number, aLo: number, bHi: number, bLo: number): void {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const mid = a0 * b1 + a1 * b0;
  const low = a0 * b0 + (mid % 65536) * 65536;
  const hiOfLo = a1 * b1 + Math.floor(mid / 65536) + Math.floor(low / 4294967296);
  rLo = low >>> 0;
  rHi = (hiOfLo + Math.imul(aHi, bLo) + Math.imul(aLo, bHi)) >>> 0;
}

/** One 8-byte block mixed into h (kLo/kHi its little-endian halves). */
function mixBlock(hHi: number, hLo: number, kHi: number, kLo: number): void {
  mul64(kHi, kLo, M_HI, M_LO);
  // k ^= k >> 47
  let lo = (rLo ^ (rHi >>> 15)) >>> 0;
  let hi = rHi;
  mul64(hi, lo, M_HI, M_LO);
  lo = (hLo ^ rLo) >>> 0;
  hi = (hHi ^ rHi) >>> 0;
  mul64(hi, lo, M_HI, M_LO);
}

function finish(hHi: number, hLo: number): void {
  let lo = (hLo ^ (hHi >>> 15)) >>> 0;
  mul64(hHi, lo, M_HI, M_LO);
  lo = (rLo ^ (rHi >>> 15)) >>> 0;
  rLo = lo;
}

const SEED = 0xadc83b19;

/** MurmurHash64A of a latin1 string (one byte per char) with Redis's HLL seed, into rHi:rLo. */
function murmur64aStr(s: string): void {
  const len = s.length;
  mul64(0, len, M_HI, M_LO);
  let hHi = rHi;
  let hLo = (rLo ^ SEED) >>> 0;
  const blocks = len - (len & 7);
  let i = 0;
  for (; i < blocks; i += 8) {
    const kLo = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24)) >>> 0;
    const kHi = (s.charCodeAt(i + 4) | (s.charCodeAt(i + 5) << 8) | (s.charCodeAt(i + 6) << 16) | (s.charCodeAt(i + 7) << 24)) >>> 0;
    mixBlock(hHi, hLo, kHi, kLo);
    hHi = rHi;
    hLo = rLo;
  }
  const rest = len & 7;
  if (rest !== 0) {
    let tLo = 0;
    let tHi = 0;
    for (let j = rest - 1; j >= 0; j--) {
      const c = s.charCodeAt(i + j);
      if (j >= 4) tHi |= c << ((j - 4) * 8);
      else tLo |= c << (j * 8);
    }
    mul64((hHi ^ tHi) >>> 0, (hLo ^ tLo) >>> 0, M_HI, M_LO);
    hHi = rHi;
    hLo = rLo;
  }
  finish(hHi, hLo);
}

/** MurmurHash64A of one 8-byte little-endian word (PFSELFTEST's elements), into rHi:rLo. */
function murmur64aWord(wHi: number, wLo: number): void {
  mul64(0, 8, M_HI, M_LO);
  mixBlock(rHi, (rLo ^ SEED) >>> 0, wHi, wLo);
  finish(rHi, rLo);
}

/** Exposed for tests of the hash against known values: [hi, lo]. */
export function murmur64a(s: string): [number, number] {
  murmur64aStr(s);
  return [rHi, rLo];
}

/** hllPatLen's outputs: the register index and the run length of the element last hashed. */
let patIndex = 0;

/** Register index (into patIndex) and count of the hash in rHi:rLo (hllPatLen). */
function patLenOfHash(): number {
  patIndex = rLo & HLL_P_MASK;
  // hash >>= 14, then bit 50 set so the count stops at Q+1.
  const lo = ((rLo >>> HLL_P) | (rHi << (32 - HLL_P))) >>> 0;
  const hi = (rHi >>> HLL_P) | (1 << (HLL_Q - 32));
  if (lo !== 0) return 32 - Math.clz32(lo & -lo);
  return 32 + 32 - Math.clz32(hi & -hi);
}

// ---------- the value as a string ----------

/** isHLLObjectOrReply's checks on a stored string: magic, encoding, dense length. */
export function looksLikeHll(s: string): boolean {
  const n = s.length;
  if (n < HLL_HDR_SIZE) return false;
  if (s.charCodeAt(0) !== 72 || s.charCodeAt(1) !== 89 || s.charCodeAt(2) !== 76 || s.charCodeAt(3) !== 76) return false;
  const enc = s.charCodeAt(4);
  if (enc > HLL_MAX_ENCODING) return false;
  if (enc === HLL_DENSE && n !== HLL_DENSE_SIZE) return false;
  return true;
}

export function encodingOf(s: string): number {
  return s.charCodeAt(4);
}

/**
 * The cached cardinality in a stored HLL's header, or -1 when it is marked
 * stale. A corrupt header may hold any 63-bit number: a bigint past 2^53.
 */
export function cachedCard(s: string): number | bigint {
  if ((s.charCodeAt(15) & 0x80) !== 0) return -1;
  let v = 0;
  for (let i = 15; i >= 8; i--) v = v * 256 + s.charCodeAt(i);
  if (v <= Number.MAX_SAFE_INTEGER) return v;
  let b = 0n;
  for (let i = 15; i >= 8; i--) b = (b << 8n) | BigInt(s.charCodeAt(i));
  return b;
}

export function fromString(s: string): Hll {
  const len = s.length;
  // Sparse values grow a few bytes at a time: room as sdsMakeRoomFor would leave.
  const b = Buffer.allocUnsafe(len === HLL_DENSE_SIZE ? len : len + 64);
  b.latin1Write(s, 0, len);
  return { b, len };
}

export function toString(h: Hll): string {
  return h.b.latin1Slice(0, h.len);
}

/** createHLLObject: sparse, every register zero (XZERO opcodes), cached cardinality 0. */
export function createHll(): Hll {
  const sparselen = HLL_HDR_SIZE + Math.floor((HLL_REGISTERS + (SPARSE_XZERO_MAX_LEN - 1)) / SPARSE_XZERO_MAX_LEN) * 2;
  const b = Buffer.alloc(sparselen + 64);
  b.write('HYLL', 0, 'latin1');
  b[4] = HLL_SPARSE;
  let p = HLL_HDR_SIZE;
  let aux = HLL_REGISTERS;
  while (aux > 0) {
    const xzero = Math.min(SPARSE_XZERO_MAX_LEN, aux);
    xzeroSet(b, p, xzero);
    p += 2;
    aux -= xzero;
  }
  return { b, len: sparselen };
}

export function invalidateCache(h: Hll): void {
  h.b[15] |= 0x80;
}

export function cacheValid(h: Hll): boolean {
  return (h.b[15] & 0x80) === 0;
}

export function setCachedCard(h: Hll, card: number): void {
  let v = card;
  for (let i = 8; i < 16; i++) {
    h.b[i] = v % 256;
    v = Math.floor(v / 256);
  }
}

export function readCachedCard(h: Hll): number {
  let v = 0;
  for (let i = 15; i >= 8; i--) v = v * 256 + h.b[i];
  return v;
}

// ---------- dense registers ----------

export function denseGet(b: Uint8Array, off: number, regnum: number): number {
  const bit = regnum * HLL_BITS;
  const byte = off + (bit >>> 3);
  const fb = bit & 7;
  const b0 = b[byte];
  const b1 = byte + 1 < b.length ? b[byte + 1] : 0;
  return ((b0 >>> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX;
}

export function denseSet(b: Uint8Array, off: number, regnum: number, val: number): void {
  const bit = regnum * HLL_BITS;
  const byte = off + (bit >>> 3);
  const fb = bit & 7;
  const fb8 = 8 - fb;
  b[byte] = (b[byte] & ~(HLL_REGISTER_MAX << fb)) | (val << fb);
  if (byte + 1 < b.length) b[byte + 1] = (b[byte + 1] & ~(HLL_REGISTER_MAX >>> fb8)) | (val >>> fb8);
}

/** hllDenseSet: raise register `index` to `count`; 1 if it changed. */
function denseRaise(b: Uint8Array, index: number, count: number): number {
  if (count > denseGet(b, HLL_HDR_SIZE, index)) {
    denseSet(b, HLL_HDR_SIZE, index, count);
    return 1;
  }
  return 0;
}

// ---------- sparse opcodes ----------

const isZero = (c: number) => (c & 0xc0) === 0;
const isXzero = (c: number) => (c & 0xc0) === 0x40;
const isVal = (c: number) => (c & 0x80) !== 0;
const zeroLen = (c: number) => (c & 0x3f) + 1;
const xzeroLen = (c: number, c2: number) => (((c & 0x3f) << 8) | c2) + 1;
const valValue = (c: number) => ((c >>> 2) & 0x1f) + 1;
const valLen = (c: number) => (c & 0x3) + 1;
const valByte = (val: number, len: number) => (((val - 1) << 2) | (len - 1) | 0x80) & 0xff;
function xzeroSet(b: Uint8Array | number[], p: number, len: number): void {
  const l = len - 1;
  b[p] = (l >>> 8) | 0x40;
  b[p + 1] = l & 0xff;
}

/** hllSparseToDense: false if the opcodes do not cover exactly the 16384 registers. */
export function sparseToDense(h: Hll): boolean {
  const src = h.b;
  if (src[4] === HLL_DENSE) return true;
  const dense = Buffer.alloc(HLL_DENSE_SIZE);
  src.copy(dense, 0, 0, HLL_HDR_SIZE);
  dense[4] = HLL_DENSE;
  let idx = 0;
  let p = HLL_HDR_SIZE;
  const end = h.len;
  while (p < end) {
    const c = src[p];
    if (isZero(c)) {
      idx += zeroLen(c);
      p++;
    } else if (isXzero(c)) {
      idx += xzeroLen(c, p + 1 < end ? src[p + 1] : 0);
      p += 2;
    } else {
      let runlen = valLen(c);
      const regval = valValue(c);
      // A run past the last register is corrupt (redis-server as Debian ships it, with the CVE-2025-32023 fix).
      if (runlen + idx > HLL_REGISTERS) return false;
      while (runlen-- > 0) denseSet(dense, HLL_HDR_SIZE, idx++, regval);
      p++;
    }
  }
  if (idx !== HLL_REGISTERS) return false;
  h.b = dense;
  h.len = HLL_DENSE_SIZE;
  return true;
}

/** Room for `extra` more bytes, and a zero byte just past the value as sds keeps (a corrupt trailing XZERO reads it). */
function ensureRoom(h: Hll, extra: number): void {
  if (h.len + extra > h.b.length) {
    const nb = Buffer.allocUnsafe(Math.max(h.len + extra, h.len * 2));
    h.b.copy(nb, 0, 0, h.len);
    h.b = nb;
  }
  h.b[h.len] = 0;
}

/**
 * hllSparseSet: raise register `index` to `count` in a sparse HLL,
 * splitting and merging opcodes exactly as Redis does (so the bytes come
 * out the same), or promote to dense when the value does not fit a VAL
 * opcode or the string would pass `maxBytes`. 1 changed, 0 not, -1 corrupt.
 */
export function sparseSet(h: Hll, index: number, count: number, maxBytes: number): number {
  if (count > SPARSE_VAL_MAX_VALUE) return promote(h, index, count);
  ensureRoom(h, 3);
  let b = h.b;
  const sparse = HLL_HDR_SIZE;
  let p = sparse;
  let end = h.len;
  let first = 0;
  let prev = -1;
  let span = 0;
  while (p < end) {
    let oplen = 1;
    const c = b[p];
    if (isZero(c)) span = zeroLen(c);
    else if (isVal(c)) span = valLen(c);
    else {
      span = xzeroLen(c, b[p + 1]);
      oplen = 2;
    }
    if (index <= first + span - 1) break;
    prev = p;
    p += oplen;
    first += span;
  }
  if (span === 0 || p >= end) return -1;

  let next: number = isXzero(b[p]) ? p + 2 : p + 1;
  if (next >= end) next = -1;

  const c = b[p];
  let isZ = false;
  let isX = false;
  let isV = false;
  let runlen: number;
  if (isZero(c)) {
    isZ = true;
    runlen = zeroLen(c);
  } else if (isXzero(c)) {
    isX = true;
    runlen = xzeroLen(c, b[p + 1]);
  } else {
    isV = true;
    runlen = valLen(c);
  }

  updated: {
    if (isV) {
      const oldcount = valValue(c);
      if (oldcount >= count) return 0;
      if (runlen === 1) {
        b[p] = valByte(count, 1);
        break updated;
      }
    }
    if (isZ && runlen === 1) {
      b[p] = valByte(count, 1);
      break updated;
    }

    // General case: the opcode splits into up to 5 bytes.
    const seq = [0, 0, 0, 0, 0];
    let n = 0;
    const last = first + span - 1;
    if (isZ || isX) {
      if (index !== first) {
        const len = index - first;
        if (len > SPARSE_ZERO_MAX_LEN) {
          xzeroSet(seq, n, len);
          n += 2;
        } else seq[n++] = len - 1;
      }
      seq[n++] = valByte(count, 1);
      if (index !== last) {
        const len = last - index;
        if (len > SPARSE_ZERO_MAX_LEN) {
          xzeroSet(seq, n, len);
          n += 2;
        } else seq[n++] = len - 1;
      }
    } else {
      const curval = valValue(c);
      if (index !== first) seq[n++] = valByte(curval, index - first);
      seq[n++] = valByte(count, 1);
      if (index !== last) seq[n++] = valByte(curval, last - index);
    }

    const seqlen = n;
    const oldlen = isX ? 2 : 1;
    const deltalen = seqlen - oldlen;
    if (deltalen > 0 && h.len + deltalen > maxBytes) return promote(h, index, count);
    if (deltalen !== 0 && next !== -1) b.copyWithin(next + deltalen, next, end);
    h.len += deltalen;
    for (let i = 0; i < seqlen; i++) b[p + i] = seq[i];
    end += deltalen;
  }

  // Merge adjacent VAL opcodes of the same value, scanning up to 5 opcodes from prev.
  b = h.b;
  p = prev !== -1 ? prev : sparse;
  let scanlen = 5;
  while (p < end && scanlen-- > 0) {
    const c0 = b[p];
    if (isXzero(c0)) {
      p += 2;
      continue;
    } else if (isZero(c0)) {
      p++;
      continue;
    }
    if (p + 1 < end && isVal(b[p + 1])) {
      const v1 = valValue(c0);
      const v2 = valValue(b[p + 1]);
      if (v1 === v2) {
        const len = valLen(c0) + valLen(b[p + 1]);
        if (len <= SPARSE_VAL_MAX_LEN) {
          b[p + 1] = valByte(v1, len);
          b.copyWithin(p, p + 1, end);
          h.len--;
          end--;
          continue;
        }
      }
    }
    p++;
  }
  invalidateCache(h);
  return 1;
}

function promote(h: Hll, index: number, count: number): number {
  if (!sparseToDense(h)) return -1;
  denseRaise(h.b, index, count);
  return 1;
}

/** hllAdd: 1 if a register changed, 0 if not, -1 if the value is corrupt. */
export function hllAdd(h: Hll, ele: string, maxBytes: number): number {
  murmur64aStr(ele);
  const count = patLenOfHash();
  const enc = h.b[4];
  if (enc === HLL_DENSE) return denseRaise(h.b, patIndex, count);
  if (enc === HLL_SPARSE) return sparseSet(h, patIndex, count, maxBytes);
  return -1;
}

/** hllAdd straight on a stored dense string's register: would the element change it? */
export function denseWouldChange(s: string, ele: string): boolean {
  murmur64aStr(ele);
  const count = patLenOfHash();
  const bit = patIndex * HLL_BITS;
  const byte = HLL_HDR_SIZE + (bit >>> 3);
  const fb = bit & 7;
  const b1 = byte + 1 < s.length ? s.charCodeAt(byte + 1) : 0;
  const old = ((s.charCodeAt(byte) >>> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX;
  return count > old;
}

// ---------- histograms and the estimate ----------

function denseHisto(b: Uint8Array, off: number, histo: Int32Array): void {
  let r = off;
  for (let j = 0; j < 1024; j++) {
    const r0 = b[r], r1 = b[r + 1], r2 = b[r + 2], r3 = b[r + 3], r4 = b[r + 4], r5 = b[r + 5];
    const r6 = b[r + 6], r7 = b[r + 7], r8 = b[r + 8], r9 = b[r + 9], r10 = b[r + 10], r11 = b[r + 11];
    histo[r0 & 63]++;
    histo[((r0 >>> 6) | (r1 << 2)) & 63]++;
    histo[((r1 >>> 4) | (r2 << 4)) & 63]++;
    histo[(r2 >>> 2) & 63]++;
    histo[r3 & 63]++;
    histo[((r3 >>> 6) | (r4 << 2)) & 63]++;
    histo[((r4 >>> 4) | (r5 << 4)) & 63]++;
    histo[(r5 >>> 2) & 63]++;
    histo[r6 & 63]++;
    histo[((r6 >>> 6) | (r7 << 2)) & 63]++;
    histo[((r7 >>> 4) | (r8 << 4)) & 63]++;
    histo[(r8 >>> 2) & 63]++;
    histo[r9 & 63]++;
    histo[((r9 >>> 6) | (r10 << 2)) & 63]++;
    histo[((r10 >>> 4) | (r11 << 4)) & 63]++;
    histo[(r11 >>> 2) & 63]++;
    r += 12;
  }
}

/** hllSparseRegHisto; false if the opcodes do not cover exactly the registers. */
function sparseHisto(b: Uint8Array, from: number, end: number, histo: Int32Array): boolean {
  let idx = 0;
  let p = from;
  while (p < end) {
    const c = b[p];
    if (isZero(c)) {
      const runlen = zeroLen(c);
      idx += runlen;
      histo[0] += runlen;
      p++;
    } else if (isXzero(c)) {
      const runlen = xzeroLen(c, p + 1 < end ? b[p + 1] : 0);
      idx += runlen;
      histo[0] += runlen;
      p += 2;
    } else {
      const runlen = valLen(c);
      idx += runlen;
      histo[valValue(c)] += runlen;
      p++;
    }
  }
  return idx === HLL_REGISTERS;
}

function hllSigma(x: number): number {
  if (x === 1) return Infinity;
  let zPrime: number;
  let y = 1;
  let z = x;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function hllTau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let zPrime: number;
  let y = 1.0;
  let z = 1 - x;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    const d = 1 - x;
    z -= d * d * y;
  } while (zPrime !== z);
  return z / 3;
}

/** Redis 7.0's estimator (Ertl's improved raw estimate) from a register histogram. */
function estimate(histo: Int32Array): number {
  const m = HLL_REGISTERS;
  let z = m * hllTau((m - histo[HLL_Q + 1]) / m);
  for (let j = HLL_Q; j >= 1; --j) {
    z += histo[j];
    z *= 0.5;
  }
  z += m * hllSigma(histo[0] / m);
  // llroundl: halves away from zero (the value is never negative).
  return Math.round((HLL_ALPHA_INF * m * m) / z);
}

const histo = new Int32Array(64);

/** hllCount of an HLL in its own encoding; -1 when a sparse one is corrupt. */
export function hllCount(h: Hll): number {
  histo.fill(0);
  if (h.b[4] === HLL_DENSE) denseHisto(h.b, HLL_HDR_SIZE, histo);
  else if (!sparseHisto(h.b, HLL_HDR_SIZE, h.len, histo)) return -1;
  return estimate(histo);
}

/** hllCount of raw one-byte-per-register maxima (PFCOUNT of several keys). */
export function rawCount(regs: Uint8Array): number {
  histo.fill(0);
  for (let i = 0; i < HLL_REGISTERS; i++) histo[regs[i] & 63]++;
  return estimate(histo);
}

function raise(max: Uint8Array, i: number, v: number): void {
  if (v > max[i]) max[i] = v;
}

/** hllMerge: max[i] = max(max[i], register i); false if a sparse HLL is corrupt. */
export function hllMerge(max: Uint8Array, h: Hll): boolean {
  const b = h.b;
  if (b[4] === HLL_DENSE) {
    // 12 bytes hold 16 registers: unrolled as hllDenseRegHisto, no per-register call.
    let r = HLL_HDR_SIZE;
    for (let i = 0; i < HLL_REGISTERS; i += 16) {
      const r0 = b[r], r1 = b[r + 1], r2 = b[r + 2], r3 = b[r + 3], r4 = b[r + 4], r5 = b[r + 5];
      const r6 = b[r + 6], r7 = b[r + 7], r8 = b[r + 8], r9 = b[r + 9], r10 = b[r + 10], r11 = b[r + 11];
      raise(max, i, r0 & 63);
      raise(max, i + 1, ((r0 >>> 6) | (r1 << 2)) & 63);
      raise(max, i + 2, ((r1 >>> 4) | (r2 << 4)) & 63);
      raise(max, i + 3, (r2 >>> 2) & 63);
      raise(max, i + 4, r3 & 63);
      raise(max, i + 5, ((r3 >>> 6) | (r4 << 2)) & 63);
      raise(max, i + 6, ((r4 >>> 4) | (r5 << 4)) & 63);
      raise(max, i + 7, (r5 >>> 2) & 63);
      raise(max, i + 8, r6 & 63);
      raise(max, i + 9, ((r6 >>> 6) | (r7 << 2)) & 63);
      raise(max, i + 10, ((r7 >>> 4) | (r8 << 4)) & 63);
      raise(max, i + 11, (r8 >>> 2) & 63);
      raise(max, i + 12, r9 & 63);
      raise(max, i + 13, ((r9 >>> 6) | (r10 << 2)) & 63);
      raise(max, i + 14, ((r10 >>> 4) | (r11 << 4)) & 63);
      raise(max, i + 15, (r11 >>> 2) & 63);
      r += 12;
    }
    return true;
  }
  let p = HLL_HDR_SIZE;
  const end = h.len;
  let i = 0;
  while (p < end) {
    const c = b[p];
    if (isZero(c)) {
      i += zeroLen(c);
      p++;
    } else if (isXzero(c)) {
      i += xzeroLen(c, p + 1 < end ? b[p + 1] : 0);
      p += 2;
    } else {
      let runlen = valLen(c);
      const regval = valValue(c);
      if (runlen + i > HLL_REGISTERS) return false;
      while (runlen-- > 0) {
        if (regval > max[i]) max[i] = regval;
        i++;
      }
      p++;
    }
  }
  return i === HLL_REGISTERS;
}

/** Write merged maxima into h (PFMERGE's destination), each register through its encoding's set. */
export function storeMax(h: Hll, max: Uint8Array, maxBytes: number): void {
  for (let j = 0; j < HLL_REGISTERS; j++) {
    if (max[j] === 0) continue;
    if (h.b[4] === HLL_DENSE) denseRaise(h.b, j, max[j]);
    else sparseSet(h, j, max[j], maxBytes);
  }
}

/** PFDEBUG DECODE's text of a sparse HLL. */
export function decodeSparse(h: Hll): string {
  const b = h.b;
  const out: string[] = [];
  let p = HLL_HDR_SIZE;
  while (p < h.len) {
    const c = b[p];
    if (isZero(c)) {
      out.push(`z:${zeroLen(c)}`);
      p++;
    } else if (isXzero(c)) {
      out.push(`Z:${xzeroLen(c, p + 1 < h.len ? b[p + 1] : 0)}`);
      p += 2;
    } else {
      out.push(`v:${valValue(c)},${valLen(c)}`);
      p++;
    }
  }
  return out.join(' ');
}

// ---------- PFSELFTEST ----------

/**
 * PFSELFTEST: register access on random values, then 10 million elements
 * into a dense and a sparse HLL at once, checking that they agree and that
 * the error stays within bounds. Null on success, else the TESTFAILED text.
 */
export function selfTest(maxBytes: number): string | null {
  const dense = Buffer.alloc(HLL_DENSE_SIZE);
  const bytecounters = new Uint8Array(HLL_REGISTERS);
  for (let j = 0; j < 1000; j++) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const r = (Math.random() * 64) | 0;
      bytecounters[i] = r;
      denseSet(dense, HLL_HDR_SIZE, i, r);
    }
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const val = denseGet(dense, HLL_HDR_SIZE, i);
      if (val !== bytecounters[i]) return `TESTFAILED Register ${i} should be ${bytecounters[i]} but is ${val}`;
    }
  }
  dense.fill(0, HLL_HDR_SIZE);
  dense[4] = HLL_DENSE;
  const d: Hll = { b: dense, len: HLL_DENSE_SIZE };
  const o = createHll();
  const relerr = 1.04 / Math.sqrt(HLL_REGISTERS);
  let checkpoint = 1;
  const seedLo = (Math.random() * 4294967296) >>> 0;
  const seedHi = (Math.random() * 4294967296) >>> 0;
  for (let j = 1; j <= 10000000; j++) {
    // ele = j ^ seed, hashed as its 8 little-endian bytes.
    murmur64aWord(seedHi, (j ^ seedLo) >>> 0);
    const count = patLenOfHash();
    denseRaise(dense, patIndex, count);
    if (o.b[4] === HLL_DENSE) denseRaise(o.b, patIndex, count);
    else sparseSet(o, patIndex, count, maxBytes);
    if (j === checkpoint) {
      if (j < maxBytes / 2 && o.b[4] !== HLL_SPARSE) return 'TESTFAILED sparse encoding not used';
      const cd = hllCount(d);
      if (cd !== hllCount(o)) return 'TESTFAILED dense/sparse disagree';
      const abserr = Math.abs(checkpoint - cd);
      let maxerr = Math.ceil(relerr * 6 * checkpoint);
      if (j === 10) maxerr = 1;
      if (abserr > maxerr) return `TESTFAILED Too big error. card:${checkpoint} abserr:${abserr}`;
      checkpoint *= 10;
    }
  }
  return null;
}
