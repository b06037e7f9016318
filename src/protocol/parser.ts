/**
 * Request parser: RESP multibulk arrays and inline commands, binary-safe.
 *
 * Arguments come out as latin1 JS strings: one char per byte, so any byte
 * sequence round-trips, and V8 stores them as compact one-byte strings
 * (measured faster and half the memory of Buffers as keys and values).
 *
 * Pull-based: `next()` returns one command at a time so that a client that
 * blocks (BLPOP) or closes (QUIT) stops consuming its pipeline, exactly as
 * Redis leaves the rest in the query buffer.
 *
 * Partial input: when a command is incomplete we remember how many bytes are
 * needed at least and only join pending chunks once they are there, so a
 * 512 MB bulk arriving in 64 KB reads is copied once, not once per read.
 */

export class ProtocolError extends Error {}

import './latin1.js';

const CR = 13;
const LF = 10;
/** Redis PROTO_INLINE_MAX_SIZE: longest inline command / count line. */
const INLINE_MAX = 64 * 1024;

export interface ParserLimits {
  /** proto-max-bulk-len */
  maxBulkLen: number;
  /** client-query-buffer-limit: pending unparsed bytes allowed. */
  maxQueryBuffer: number;
  /** Before AUTH when a password is set, Redis allows only tiny requests. */
  unauthenticated: boolean;
}

export class QueryBufferOverflow extends Error {}

/**
 * Set by the heap guard (src/memory/heap.ts): a protocol error text for a
 * bulk argument the JS heap cannot hold now, or null. Every argument becomes
 * a string on the heap, and a string V8 cannot allocate aborts the process,
 * so one request carrying a bulk larger than the heap's free room is refused
 * from its length line, before its bytes are read. Asked for bulks of
 * BIG_BULK bytes or more only.
 */
export const bulkGuard: { check: ((len: number) => string | null) | null } = { check: null };
const BIG_BULK = 1 << 20;

export class RequestParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Bytes needed (from pos) before a parse attempt can succeed. */
  private need = 0;

  constructor(public limits: ParserLimits) {}

  /** `buf` is the caller's reusable read buffer: retain() must copy what is left. */
  private transient = false;

  /**
   * Add input. With `transient`, `chunk` is only valid until the caller
   * calls retain() (the server reads every socket into one shared buffer,
   * which saves an allocation per read): commands are parsed straight out
   * of it and only an unparsed tail is copied.
   */
  feed(chunk: Buffer, transient = false): void {
    if (this.pendingLen === 0 && this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
      this.transient = transient;
      return;
    }
    if (transient) chunk = Buffer.from(chunk);
    this.pending.push(chunk);
    this.pendingLen += chunk.length;
    if (this.buf.length - this.pos + this.pendingLen > this.limits.maxQueryBuffer) {
      throw new QueryBufferOverflow('query buffer limit reached');
    }
  }

  /** Copy what is still unparsed out of a transient chunk (see feed). */
  retain(): void {
    if (!this.transient) return;
    this.transient = false;
    this.buf = this.pos < this.buf.length ? Buffer.from(this.buf.subarray(this.pos)) : EMPTY;
    this.pos = 0;
  }

  /** Unparsed bytes held (for CLIENT LIST qbuf). */
  get buffered(): number {
    return this.buf.length - this.pos + this.pendingLen;
  }

  private join(): void {
    const rest = this.buf.length - this.pos;
    const all = Buffer.allocUnsafe(rest + this.pendingLen);
    this.buf.copy(all, 0, this.pos);
    let o = rest;
    for (const c of this.pending) {
      c.copy(all, o);
      o += c.length;
    }
    this.buf = all;
    this.transient = false;
    this.pos = 0;
    this.pending = [];
    this.pendingLen = 0;
  }

  /**
   * The next complete command, `null` if more input is needed, or `[]` for a
   * request that carries no command (empty inline line, `*0`).
   * Throws ProtocolError with Redis's message (without the "ERR " prefix).
   */
  next(): string[] | null {
    const avail = this.buf.length - this.pos + this.pendingLen;
    if (avail === 0) {
      // All parsed: let go of the buffer (it may be a large joined one from
      // a big request) instead of holding it until the client sends again.
      if (this.buf !== EMPTY) {
        this.buf = EMPTY;
        this.pos = 0;
        this.transient = false;
      }
      return null;
    }
    if (avail < this.need) return null;
    if (this.pendingLen > 0) this.join();
    this.need = 0;
    return this.buf[this.pos] === 42 /* '*' */ ? this.multibulk() : this.inline();
  }

  private findCRLFLine(from: number, tooBig: string): number {
    const buf = this.buf;
    const nl = buf.indexOf(CR, from);
    if (nl < 0 || nl + 1 >= buf.length) {
      if (buf.length - from > INLINE_MAX) throw new ProtocolError(tooBig);
      return -1;
    }
    if (nl - from > INLINE_MAX) throw new ProtocolError(tooBig);
    return nl;
  }

  /**
   * The number on a `*N` / `$N` line starting at p (after the type byte), in
   * one JS pass: sets `lineEnd` to its CR and returns N, or returns -1 when
   * the line is anything but plain digits followed by CR LF already in the
   * buffer; the caller then takes the exact (slower) path with Redis's
   * errors. Scanning a 1-3 digit line in JS beats indexOf + a second pass.
   */
  private lineEnd = 0;
  private quickNumber(buf: Buffer, p: number): number {
    const end = buf.length;
    let n = 0;
    let i = p;
    for (; i < end && i - p < 15; i++) {
      const c = buf[i];
      if (c === CR) {
        if (i === p || i + 1 >= end) return -1;
        this.lineEnd = i;
        return n;
      }
      const d = c - 48;
      if (d < 0 || d > 9) return -1;
      n = n * 10 + d;
    }
    return -1;
  }

  private multibulk(): string[] | null {
    const buf = this.buf;
    const start = this.pos;
    let p = start + 1;
    let count = this.quickNumber(buf, p);
    let nl: number;
    if (count >= 0) {
      nl = this.lineEnd;
    } else {
      nl = this.findCRLFLine(p, 'Protocol error: too big mbulk count string');
      if (nl < 0) {
        this.need = buf.length - start + 1;
        return null;
      }
      const parsed = parseInteger(buf, p, nl);
      if (parsed === null) throw new ProtocolError('Protocol error: invalid multibulk length');
      count = parsed;
    }
    if (count > 1024 * 1024 * 1024) {
      throw new ProtocolError('Protocol error: invalid multibulk length');
    }
    if (this.limits.unauthenticated && count > 10) {
      throw new ProtocolError('Protocol error: unauthenticated multibulk length');
    }
    p = nl + 2;
    if (count <= 0) {
      this.pos = p;
      return [];
    }
    const args: string[] = new Array(count);
    const maxBulk = this.limits.maxBulkLen;
    for (let i = 0; i < count; i++) {
      if (p >= buf.length) {
        this.need = buf.length - start + 1;
        return null;
      }
      if (buf[p] !== 36 /* '$' */) {
        throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(buf[p])}'`);
      }
      let len = this.quickNumber(buf, p + 1);
      let lnl: number;
      if (len >= 0) {
        lnl = this.lineEnd;
      } else {
        lnl = this.findCRLFLine(p + 1, 'Protocol error: too big bulk count string');
        if (lnl < 0) {
          this.need = buf.length - start + 1;
          return null;
        }
        const parsed = parseInteger(buf, p + 1, lnl);
        if (parsed === null || parsed < 0) throw new ProtocolError('Protocol error: invalid bulk length');
        len = parsed;
      }
      if (len > maxBulk) throw new ProtocolError('Protocol error: invalid bulk length');
      if (len >= BIG_BULK && bulkGuard.check !== null) {
        const why = bulkGuard.check(len);
        if (why !== null) throw new ProtocolError(why);
      }
      if (this.limits.unauthenticated && len > 16384) {
        throw new ProtocolError('Protocol error: unauthenticated bulk length');
      }
      const dataStart = lnl + 2;
      const dataEnd = dataStart + len;
      if (dataEnd + 2 > buf.length) {
        this.need = dataEnd + 2 - start;
        return null;
      }
      args[i] = i === 0 ? this.commandName(buf, dataStart, len) : slice(buf, dataStart, len);
      p = dataEnd + 2;
    }
    this.pos = p;
    if (p >= buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    }
    return args;
  }

  /**
   * Pipelines repeat the same command name: reuse the previous name string
   * when the bytes match, so the registry lookup finds a string whose hash
   * V8 has already computed (and no new string is made).
   */
  private lastName = '';
  private commandName(buf: Buffer, from: number, len: number): string {
    const last = this.lastName;
    if (last.length === len) {
      let i = 0;
      while (i < len && buf[from + i] === last.charCodeAt(i)) i++;
      if (i === len) return last;
    }
    return (this.lastName = slice(buf, from, len));
  }

  private inline(): string[] | null {
    const buf = this.buf;
    const start = this.pos;
    const nl = buf.indexOf(LF, start);
    if (nl < 0) {
      if (buf.length - start > INLINE_MAX) throw new ProtocolError('Protocol error: too big inline request');
      this.need = buf.length - start + 1;
      return null;
    }
    if (nl - start > INLINE_MAX) throw new ProtocolError('Protocol error: too big inline request');
    const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    const line = buf.latin1Slice(start, end);
    this.pos = nl + 1;
    const args = splitArgs(line);
    if (args === null) throw new ProtocolError('Protocol error: unbalanced quotes in request');
    return args;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Short arguments are built in JS with String.fromCharCode(b0, b1, ...):
 * a call into C++ (latin1Slice) costs more than copying a key of up to a
 * few dozen bytes, measured 2-3x. One function per length keeps each call
 * site monomorphic; the result is a flat one-byte string either way.
 */
const SHORT_MAX = 24;
const shortSlicers: ((b: Buffer, s: number) => string)[] = [];
for (let n = 0; n <= SHORT_MAX; n++) {
  const args = Array.from({ length: n }, (_, i) => `b[s + ${i}]`).join(', ');
  shortSlicers.push(new Function('b', 's', `return String.fromCharCode(${args});`) as (b: Buffer, s: number) => string);
}

function slice(buf: Buffer, from: number, len: number): string {
  return len <= SHORT_MAX ? shortSlicers[len](buf, from) : buf.latin1Slice(from, from + len);
}

/** Redis string2ll over a byte range: optional '-', digits, no spaces. */
function parseInteger(buf: Buffer, from: number, to: number): number | null {
  if (from >= to) return null;
  let neg = false;
  let i = from;
  if (buf[i] === 45 /* - */) {
    neg = true;
    i++;
    if (i === to) return null;
  }
  let n = 0;
  for (; i < to; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return null;
    n = n * 10 + c;
    if (n > Number.MAX_SAFE_INTEGER) return null;
  }
  return neg ? -n : n;
}

function isHex(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/**
 * sdssplitargs: whitespace-separated words, "double quoted" with C escapes
 * (\n \r \t \b \a \\ \" \xHH) and 'single quoted' with only \'.
 * Returns null for unbalanced quotes (or a closing quote not followed by space).
 */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
  while (true) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) return out;
    let cur = '';
    let inq = false;
    let insq = false;
    let done = false;
    while (!done) {
      if (inq) {
        if (i >= n) return null;
        const c = line[i];
        if (c === '\\' && line[i + 1] === 'x' && i + 3 < n + 0 && isHex(line[i + 2] ?? '') && isHex(line[i + 3] ?? '')) {
          cur += String.fromCharCode(parseInt(line.substr(i + 2, 2), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          i++;
          const e = line[i];
          cur += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e;
        } else if (c === '"') {
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          done = true;
        } else {
          cur += c;
        }
      } else if (insq) {
        if (i >= n) return null;
        const c = line[i];
        if (c === '\\' && line[i + 1] === "'") {
          i++;
          cur += "'";
        } else if (c === "'") {
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          done = true;
        } else {
          cur += c;
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        const c = line[i];
        if (isSpace(c)) {
          done = true;
        } else if (c === '"') {
          inq = true;
        } else if (c === "'") {
          insq = true;
        } else {
          cur += c;
        }
      }
      if (i < n) i++;
    }
    out.push(cur);
  }
}
