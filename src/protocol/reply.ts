/**
 * Reply encoder for RESP2 and RESP3.
 *
 * Replies are appended to a slab and handed to the socket as one slice per
 * flush: all replies for what one read delivered go out in one write (one
 * write per reply measured 4-5x slower), and slices of a slab avoid a copy.
 * A slab is never rewritten after a slice of it was handed out; when it is
 * full a new one is taken and the old one lives until its writes complete.
 *
 * Strings are latin1 (one char per byte), see protocol/parser.ts.
 */

import './latin1.js';
import type { SlabPool } from './slab-pool.js';
import { countCodedError, errorStats } from '../server/error-stats.js';

export interface Sink {
  write(data: Buffer, done?: (err?: Error | null) => void): unknown;
}

const SLAB = 64 * 1024;
/** Past this, a reply is flushed early instead of growing the slab. */
const FLUSH_AT = 256 * 1024;
const CRLF = '\r\n';
/**
 * Strings up to this length are copied into the slab by a JS loop: cheaper
 * than a call into C++ (latin1Write) for replies like +OK, :1, $3.
 */
const SHORT_WRITE = 32;

export class Reply {
  /**
   * @param slabSize bytes of each new slab
   * @param freshBelow after a flush, a slab with less room than this is replaced (a streamed
   *   reply wants room for a whole piece: growing a slab copies what it holds)
   */
  constructor(
    private readonly slabSize = SLAB,
    private readonly freshBelow = 1024,
  ) {
    this.slab = Buffer.allocUnsafe(slabSize);
  }
  private slab: Buffer;
  private start = 0;
  private pos = 0;
  /** Bytes handed to the sink so far: marks count from here, so they survive a slab change. */
  private flushed = 0;
  /** 2 or 3: the protocol the current client speaks. */
  proto: 2 | 3 = 2;
  /** Where flush() sends; set by the owner before writing. */
  sink: Sink | null = null;
  /** Set by CLIENT REPLY OFF/SKIP: replies are dropped. */
  muted = false;
  /**
   * The client went over its output limit in the middle of a command: what
   * the command still writes is thrown away (the slab stops growing and
   * long strings are not even copied) and the client is closed after it.
   */
  discard = false;
  /** Called after each write to the sink: output limits are checked there (memory/output-limits.ts). */
  afterFlush: (() => void) | null = null;
  /** Where slabs come from and go back to once sent (a streamed reply's, see slab-pool.ts); null: fresh ones. */
  pool: SlabPool | null = null;

  private newSlab(size: number): Buffer {
    const pool = this.pool;
    return pool !== null && size <= pool.size ? pool.take() : Buffer.allocUnsafe(size);
  }

  get pending(): number {
    return this.pos - this.start;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.slab.length) return;
    if (this.discard) {
      this.pos = this.start;
      if (this.pos + n <= this.slab.length) return;
    }
    if (this.pos - this.start > FLUSH_AT && this.sink) {
      this.flush();
      if (this.pos + n <= this.slab.length) return;
    }
    const used = this.pos - this.start;
    // Grow geometrically: sized to just fit, every later small write would
    // copy all pending output again (quadratic: a pipeline of LRANGE 600
    // replies spent minutes in memcpy).
    const next = this.newSlab(Math.max(this.slabSize, 2 * (used + n)));
    this.slab.copy(next, 0, this.start, this.pos);
    this.pool?.retire(this.slab);
    this.slab = next;
    this.start = 0;
    this.pos = used;
  }

  /** Send what is pending to the sink as one write. */
  flush(): void {
    if (this.pos === this.start) return;
    const slab = this.slab;
    const out = slab.subarray(this.start, this.pos);
    this.flushed += this.pos - this.start;
    this.start = this.pos;
    // Counted as in flight before the slab may be retired, or it could be reused under the write.
    const done = this.pool?.writing(slab);
    if (slab.length - this.pos < this.freshBelow) {
      this.slab = this.newSlab(this.slabSize);
      this.start = this.pos = 0;
      this.pool?.retire(slab);
    }
    if (!this.muted && this.sink !== null) {
      if (done === undefined) this.sink.write(out);
      else this.sink.write(out, done);
      this.afterFlush?.();
    } else done?.();
  }

  /** Drop everything not yet handed to the sink. */
  drop(): void {
    this.pos = this.start;
  }

  /** Drop what was written since `mark` (used by CLIENT REPLY SKIP/OFF). */
  mark(): number {
    return this.flushed + this.pos - this.start;
  }
  /**
   * Only what is still pending can be dropped: a push flushed since the mark
   * stays sent, and everything pending after it was written after the mark.
   */
  rewind(mark: number): void {
    this.pos = this.start + Math.max(0, mark - this.flushed);
  }

  /** Raw protocol text (latin1), e.g. a pre-encoded shared reply. */
  raw(s: string): void {
    const len = s.length;
    this.ensure(len);
    if (len <= SHORT_WRITE) {
      const slab = this.slab;
      let p = this.pos;
      for (let i = 0; i < len; i++) slab[p++] = s.charCodeAt(i);
      this.pos = p;
    } else {
      this.pos += this.slab.latin1Write(s, this.pos);
    }
  }

  /** `prefix` then n in decimal then CRLF, digits written in place (no string made). */
  private header(prefix: number, n: number): void {
    this.ensure(24);
    const slab = this.slab;
    let p = this.pos;
    slab[p++] = prefix;
    if (n < 0) {
      slab[p++] = 45;
      n = -n;
    }
    if (n < 10) slab[p++] = 48 + n;
    else if (n < 100) {
      // Most lengths and counts: two digits without the digit-counting loop.
      const d = (n / 10) | 0;
      slab[p++] = 48 + d;
      slab[p++] = 48 + n - d * 10;
    } else if (n <= 0x7fffffff) {
      // Int32 arithmetic: no float division per digit (counters, lengths).
      let digits = 1;
      for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
      for (let q = p + digits - 1; q >= p; q--) {
        const d = (n / 10) | 0;
        slab[q] = 48 + n - d * 10;
        n = d;
      }
      p += digits;
    } else {
      let digits = 1;
      for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
      for (let q = p + digits - 1; q >= p; q--) {
        slab[q] = 48 + (n % 10);
        n = Math.floor(n / 10);
      }
      p += digits;
    }
    slab[p++] = 13;
    slab[p++] = 10;
    this.pos = p;
  }

  /**
   * A bulk string of two non-negative safe integers joined by the byte
   * `sep` ("1712345678901-0", a stream ID), digits written in place: making
   * the string first (number to string twice, a concatenation V8 must
   * flatten before its bytes can be read) was a fifth of XRANGE's time.
   */
  bulkIntPair(a: number, sep: number, b: number): void {
    // The first number repeats from one reply to the next (an ID's
    // milliseconds, the same for every XADD within a millisecond): its
    // digits are kept and copied, instead of 13 float divisions each time.
    if (a !== pairA) {
      pairA = a;
      pairDigits = decimalDigits(a);
      writeDecimal(pairBytes, 0, a, pairDigits);
    }
    const da = pairDigits;
    const db = decimalDigits(b);
    this.header(36 /* $ */, da + 1 + db);
    this.ensure(da + db + 3);
    const slab = this.slab;
    let p = this.pos;
    for (let i = 0; i < da; i++) slab[p++] = pairBytes[i];
    slab[p++] = sep;
    p = writeDecimal(slab, p, b, db);
    slab[p++] = 13;
    slab[p++] = 10;
    this.pos = p;
  }

  /** A bulk string of bytes from..to of b (a value kept packed in a Buffer), without making a string. */
  bulkBytes(b: Buffer, from: number, to: number): void {
    const n = to - from;
    if (this.discard && n > SHORT_WRITE) return;
    this.header(36 /* $ */, n);
    this.ensure(n + 2);
    const slab = this.slab;
    let p = this.pos;
    if (n <= SHORT_WRITE * 2) {
      for (let i = from; i < to; i++) slab[p++] = b[i];
    } else {
      b.copy(slab, p, from, to);
      p += n;
    }
    slab[p++] = 13;
    slab[p++] = 10;
    this.pos = p;
  }

  /** Bytes from..to of b (pre-encoded protocol); short ones by a JS loop, as raw() does. */
  rawSlice(b: Buffer, from: number, to: number): void {
    const n = to - from;
    this.ensure(n);
    if (n <= SHORT_WRITE * 2) {
      const slab = this.slab;
      let p = this.pos;
      for (let i = from; i < to; i++) slab[p++] = b[i];
      this.pos = p;
    } else {
      b.copy(this.slab, this.pos, from, to);
      this.pos += n;
    }
  }

  /** What is pending, without sending it (a Reply with no sink used as an encoder). */
  /**
   * The pending bytes in place: pendingSlab from pendingStart to
   * pendingEnd, valid until the next write (a script's redis.call parses
   * its command's reply there without making a view).
   */
  get pendingSlab(): Buffer {
    return this.slab;
  }
  get pendingStart(): number {
    return this.start;
  }
  get pendingEnd(): number {
    return this.pos;
  }

  pendingBytes(): Buffer {
    return this.slab.subarray(this.start, this.pos);
  }

  rawBuffer(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.slab, this.pos);
    this.pos += b.length;
  }

  ok(): void {
    this.raw('+OK\r\n');
  }
  simple(s: string): void {
    this.raw('+' + s + CRLF);
  }
  /**
   * An error line; `msg` carries its code ("ERR ...", "WRONGTYPE ...").
   * Counted in the error stats (server/error-stats.ts) unless `counted` is
   * false: a script passing on an error counted when it happened.
   */
  error(msg: string, counted = true): void {
    const line = msg.replace(/[\r\n]+/g, ' ');
    this.raw('-' + line + CRLF);
    if (counted) countCodedError(line);
    else errorStats.uncounted++;
  }
  int(n: number | bigint): void {
    if (typeof n === 'number' && Number.isSafeInteger(n)) this.header(58 /* : */, n);
    else this.raw(':' + n + CRLF);
  }
  bulk(s: string): void {
    const len = s.length;
    if (this.discard && len > SHORT_WRITE) return;
    this.header(36 /* $ */, len);
    this.ensure(len + 2);
    const slab = this.slab;
    let p = this.pos;
    if (len <= SHORT_WRITE) {
      for (let i = 0; i < len; i++) slab[p++] = s.charCodeAt(i);
    } else {
      p += slab.latin1Write(s, p);
    }
    slab[p++] = 13;
    slab[p++] = 10;
    this.pos = p;
  }
  bulkOrNull(s: string | null | undefined): void {
    if (s == null) this.null();
    else this.bulk(s);
  }
  /** A null: `$-1` in RESP2, `_` in RESP3. */
  null(): void {
    this.raw(this.proto === 3 ? '_\r\n' : '$-1\r\n');
  }
  /** A null array: `*-1` in RESP2, `_` in RESP3 (EXEC abort, BLPOP timeout). */
  nullArray(): void {
    this.raw(this.proto === 3 ? '_\r\n' : '*-1\r\n');
  }
  array(n: number): void {
    this.header(42 /* * */, n);
  }
  /** A map of n pairs: `%n` in RESP3, a flat array of 2n in RESP2. */
  map(n: number): void {
    this.raw(this.proto === 3 ? '%' + n + CRLF : '*' + 2 * n + CRLF);
  }
  /** A set: `~n` in RESP3, an array in RESP2. */
  set(n: number): void {
    this.raw(this.proto === 3 ? '~' + n + CRLF : '*' + n + CRLF);
  }
  /** Out-of-band push: `>n` in RESP3, an array in RESP2. */
  push(n: number): void {
    this.raw(this.proto === 3 ? '>' + n + CRLF : '*' + n + CRLF);
  }
  bool(b: boolean): void {
    if (this.proto === 3) this.raw(b ? '#t\r\n' : '#f\r\n');
    else this.raw(b ? ':1\r\n' : ':0\r\n');
  }
  /** A double: `,` in RESP3, a bulk string in RESP2; formatted as Redis does. */
  double(d: number): void {
    const s = formatDouble(d);
    if (this.proto === 3) this.raw(',' + s + CRLF);
    else this.bulk(s);
  }
  /** Verbatim text (INFO, CLIENT LIST...): `=` in RESP3, bulk in RESP2. */
  verbatim(s: string, format = 'txt'): void {
    if (this.proto === 3) {
      this.ensure(s.length + 24);
      this.raw('=' + (s.length + 4) + CRLF + format + ':');
      this.raw(s + CRLF);
    } else {
      this.bulk(s);
    }
  }
  /** Array of bulk strings (null entries become nulls). */
  bulks(items: readonly (string | null)[]): void {
    this.array(items.length);
    for (const s of items) this.bulkOrNull(s);
  }
}

/** bulkIntPair's last first number, and its digits. */
let pairA = -1;
let pairDigits = 0;
const pairBytes = Buffer.alloc(16);

/** Digits of a non-negative safe integer. */
function decimalDigits(n: number): number {
  let d = 1;
  // Int32 steps while it fits; IDs' milliseconds (~1.7e12) take a float step or two first.
  while (n > 0x7fffffff) {
    n = Math.floor(n / 10);
    d++;
  }
  for (; n >= 10; n = (n / 10) | 0) d++;
  return d;
}

/** A non-negative safe integer of `digits` digits written at p; returns the end. */
function writeDecimal(b: Buffer, p: number, n: number, digits: number): number {
  const end = p + digits;
  let q = end - 1;
  // Above int32 the low 9 digits are split off once (exact: n < 2^53), the rest in int32 steps.
  if (n > 0x7fffffff) {
    const hi = Math.floor(n / 1e9);
    let lo = n - hi * 1e9;
    for (let k = 0; k < 9; k++) {
      const d = (lo / 10) | 0;
      b[q--] = 48 + lo - d * 10;
      lo = d;
    }
    n = hi; // < 2^53 / 1e9: an int32
  }
  for (; q >= p; q--) {
    const d = (n / 10) | 0;
    b[q] = 48 + n - d * 10;
    n = d;
  }
  return end;
}

/**
 * Redis 7.0's reply text for a double (addReplyDouble): inf/-inf, else C's
 * "%.17g" — 17 significant digits, so ZADD 1.1 answers "1.1000000000000001"
 * exactly as redis-server 7.0 does (7.2 changed to the shortest form).
 */
export function formatDouble(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (Number.isNaN(d)) return 'nan';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  // An integer below 2^53 has at most 16 digits: %.17g prints it as is.
  if (Number.isSafeInteger(d)) return String(d);
  // Exponent after rounding to 17 significant digits decides %g's style.
  const e = d.toExponential(16);
  const ei = e.indexOf('e');
  const exp = Number(e.slice(ei + 1));
  if (exp < -4 || exp >= 17) {
    const mant = stripZeros(e.slice(0, ei));
    const sign = exp < 0 ? '-' : '+';
    const ae = Math.abs(exp);
    return mant + 'e' + sign + (ae < 10 ? '0' + ae : String(ae));
  }
  return stripZeros(d.toFixed(16 - exp));
}

function stripZeros(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}
