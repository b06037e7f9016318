/**
 * LZF as Redis ships it (src/lzf_c.c, lzf_d.c with lzfP.h's settings:
 * HLOG 16, VERY_FAST, no ULTRA_FAST): RDB strings longer than 20 bytes are
 * stored compressed when that saves at least 4 bytes, so FUNCTION DUMP of a
 * library is LZF-compressed code. Compressing exactly as Redis does keeps
 * our payloads byte-identical to its own; decompressing reads any LZF.
 *
 * One difference nobody can observe through a correct decoder: Redis does
 * not clear its hash table between calls (INIT_HTAB 0), so a stale slot can
 * in rare cases give it a different (equally valid) back-reference; ours
 * starts clean, which is what Redis does on a fresh table.
 */

const HLOG = 16;
const HSIZE = 1 << HLOG;
const MAX_LIT = 1 << 5;
const MAX_OFF = 1 << 13;
const MAX_REF = (1 << 8) + (1 << 3);

/**
 * Slot = base + position + 1, where base grows by each call's input length:
 * entries of earlier calls read as empty (below base) without clearing the
 * 256 KB table per call, which would dominate writing an RDB of small values.
 */
const htab = new Int32Array(HSIZE);
let base = 0;

const idx = (h: number): number => ((h >>> (3 * 8 - HLOG)) - Math.imul(h, 5)) & (HSIZE - 1);

/**
 * lzf_compress(in, out_len): the compressed bytes, or null when they would
 * not fit in outLen (Redis then stores the string raw).
 */
export function lzfCompress(input: Uint8Array, outLen: number): Uint8Array | null {
  if (outLen <= 0) return null;
  const out = new Uint8Array(outLen);
  const n = lzfCompressInto(input, 0, input.length, out, 0, outLen);
  return n === 0 ? null : out.subarray(0, n);
}

/**
 * lzf_compress of input[inStart, inEnd) into out[outStart, outEnd): the
 * number of bytes written, 0 when they would not fit.
 */
export function lzfCompressInto(input: Uint8Array, inStart: number, inEnd: number, out: Uint8Array, outStart: number, outEnd: number): number {
  const inLen = inEnd - inStart;
  if (inLen <= 0 || outEnd <= outStart) return 0;
  if (base + inLen + 1 > 0x7fff0000) {
    htab.fill(0);
    base = 0;
  }
  const b = base - inStart;
  base += inLen + 1;
  const lowest = b + inStart + 1;
  let ip = inStart;
  let op = outStart;
  let lit = 0;
  op++; // start run
  let hval = ((input[ip]! << 8) | input[ip + 1]!) >>> 0;
  while (ip < inEnd - 2) {
    hval = ((hval << 8) | input[ip + 2]!) >>> 0;
    const slot = idx(hval);
    const stamp = htab[slot]!;
    const ref = stamp >= lowest ? stamp - b - 1 : -1;
    htab[slot] = ip + b + 1;
    let off: number;
    if (
      ref >= 0 &&
      (off = ip - ref - 1) < MAX_OFF &&
      ref > inStart &&
      input[ref + 2] === input[ip + 2] &&
      input[ref] === input[ip] &&
      input[ref + 1] === input[ip + 1]
    ) {
      let len = 2;
      let maxlen = inEnd - ip - len;
      if (maxlen > MAX_REF) maxlen = MAX_REF;
      if (op + 3 + 1 >= outEnd && op - (lit === 0 ? 1 : 0) + 3 + 1 >= outEnd) return 0;
      out[op - lit - 1] = lit - 1; // stop run
      op -= lit === 0 ? 1 : 0; // undo run if length is zero
      do len++;
      while (len < maxlen && input[ref + len] === input[ip + len]);
      len -= 2; // octets - 1
      ip++;
      if (len < 7) {
        out[op++] = (off >>> 8) + (len << 5);
      } else {
        out[op++] = (off >>> 8) + (7 << 5);
        out[op++] = len - 7;
      }
      out[op++] = off & 0xff;
      lit = 0;
      op++; // start run
      ip += len + 1;
      if (ip >= inEnd - 2) break;
      // VERY_FAST: hash the two positions before ip again.
      ip -= 2;
      hval = ((input[ip]! << 8) | input[ip + 1]!) >>> 0;
      hval = ((hval << 8) | input[ip + 2]!) >>> 0;
      htab[idx(hval)] = ip + b + 1;
      ip++;
      hval = ((hval << 8) | input[ip + 2]!) >>> 0;
      htab[idx(hval)] = ip + b + 1;
      ip++;
    } else {
      if (op >= outEnd) return 0;
      lit++;
      out[op++] = input[ip++]!;
      if (lit === MAX_LIT) {
        out[op - lit - 1] = lit - 1;
        lit = 0;
        op++;
      }
    }
  }
  if (op + 3 > outEnd) return 0;
  while (ip < inEnd) {
    lit++;
    out[op++] = input[ip++]!;
    if (lit === MAX_LIT) {
      out[op - lit - 1] = lit - 1;
      lit = 0;
      op++;
    }
  }
  out[op - lit - 1] = lit - 1;
  op -= lit === 0 ? 1 : 0;
  return op - outStart;
}

/** lzf_decompress into exactly outLen bytes; null if the data is malformed or the size differs. */
export function lzfDecompress(input: Uint8Array, outLen: number): Uint8Array | null {
  const out = new Uint8Array(outLen);
  return lzfDecompressInto(input, out) ? out : null;
}

/** lzf_decompress filling all of out; false if the data is malformed or the size differs. */
export function lzfDecompressInto(input: Uint8Array, out: Uint8Array): boolean {
  const outLen = out.length;
  let ip = 0;
  let op = 0;
  const inEnd = input.length;
  while (ip < inEnd) {
    const ctrl = input[ip++]!;
    if (ctrl < 1 << 5) {
      const n = ctrl + 1;
      if (op + n > outLen || ip + n > inEnd) return false;
      out.set(input.subarray(ip, ip + n), op);
      op += n;
      ip += n;
    } else {
      let len = ctrl >>> 5;
      let ref = op - ((ctrl & 0x1f) << 8) - 1;
      if (ip >= inEnd) return false;
      if (len === 7) {
        len += input[ip++]!;
        if (ip >= inEnd) return false;
      }
      ref -= input[ip++]!;
      len += 2;
      if (op + len > outLen || ref < 0) return false;
      for (let i = 0; i < len; i++) out[op++] = out[ref++]!;
    }
  }
  return op === outLen;
}
