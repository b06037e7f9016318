/**
 * Request parser: RESP multibulk arrays and inline commands, binary-safe,
 * with Redis's rules (networking.c processMultibulkBuffer /
 * processInlineBuffer, util.c string2ll, sds.c sdssplitargs).
 *
 * Arguments come out as latin1 JS strings: one char per byte, so any byte
 * sequence round-trips, and V8 stores them as compact one-byte strings
 * (measured faster and half the memory of Buffers as keys and values).
 *
 * Pull-based: `next()` returns one command at a time so that a client that
 * blocks (BLPOP) or closes (QUIT) stops consuming its pipeline, exactly as
 * Redis leaves the rest in the query buffer.
 *
 * Incremental, as Redis is: a multibulk request's state (arguments read so
 * far, how many are left, the length of the bulk being read) survives
 * between reads, so a request with millions of arguments or large ones
 * arriving in many reads costs time linear in its size. Only the unfinished
 * item at the end of a read (a length line, or a bulk under BIG_ARG) is kept
 * as bytes and joined with what comes next; a bulk of BIG_ARG bytes or more
 * is copied as it arrives into a buffer of its final size (Redis's
 * PROTO_MBULK_BIG_ARG preallocation).
 */

export class ProtocolError extends Error {}

import { latin1 as slice } from './latin1.js';
import { ArgArena, DEFER_MIN, deferredRequest, isDeferrable } from './deferred-args.js';

const CR = 13;
const LF = 10;
/** Redis PROTO_INLINE_MAX_SIZE: longest unterminated inline command / length line. */
const INLINE_MAX = 64 * 1024;
/** Redis PROTO_MBULK_BIG_ARG: bulks this long are gathered in their own buffer. */
const BIG_ARG = 32 * 1024;
/** An unparsed tail up to this size is joined with the next read at once. */
const JOIN_MAX = 256 * 1024;
const INT_MAX = 2147483647;
/** Argument slots allocated on a request's `*N` line before its arguments arrive. */
const ARGS_TRUSTED = 65536;
const ARGS_FAST_MAX = 1 << 24;

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
 * proto-max-bulk-len and client-query-buffer-limit as they are now: every
 * client's limits inherit from this object (clientLimits), so CONFIG SET
 * applies to connections already open, as Redis's globals do.
 */
export const requestLimits = { maxBulkLen: 512 * 1024 * 1024, maxQueryBuffer: 1024 * 1024 * 1024 };

/** A client's limits: its own authentication state, the server-wide sizes (requestLimits). */
export function clientLimits(unauthenticated: boolean): ParserLimits {
  return Object.assign(Object.create(requestLimits) as ParserLimits, { unauthenticated });
}

/**
 * Set by the heap guard (src/memory/heap.ts): a protocol error text for a
 * bulk argument the JS heap cannot hold now, or null. Every argument becomes
 * a string on the heap, and a string V8 cannot allocate aborts the process,
 * so one request carrying a bulk larger than the heap's free room is refused
 * from its length line, before its bytes are read. Asked for bulks of
 * BIG_BULK bytes or more only.
 */
export const bulkGuard: { check: ((len: number, what?: string) => string | null) | null } = { check: null };
/**
 * A request's many small arguments are asked about too, every ARGS_CHECK
 * of them (see checkHeap): a request is no
 * longer bounded by the query buffer limit (parsed arguments leave the
 * buffer, as in Redis), and a heap V8 cannot grow aborts the process.
 */
const ARGS_CHECK = 65536;
const BIG_BULK = 1 << 20;

/**
 * Where feed() joins an unfinished tail with a transient read: valid, like
 * the read itself, until retain().
 */
const joinScratch = Buffer.allocUnsafeSlow(JOIN_MAX + 64 * 1024);

/** What a parse step returns when it needs more input. */
const MORE = null;

export class RequestParser {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Input that arrived while an unparsed tail was too large to join at once. */
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Unparsed bytes (buf from pos, plus pending) needed before parsing can progress. */
  private need = 0;
  /** `buf` is the caller's reusable read buffer: retain() must copy what is left. */
  private transient = false;

  /** The multibulk request being read: its arguments so far, or null between requests. */
  private args: string[] | null = null;
  /** Where a deferred request's arguments go instead of `args` (deferred-args.ts), or null. */
  private arena: ArgArena | null = null;
  /** Arguments read, and still to read. */
  private argc = 0;
  /** Bytes of the arguments read so far (Redis's argv_len_sum). */
  private argBytes = 0;
  private left = 0;
  /** Length of the bulk whose `$` line was read, or -1. */
  private bulkLen = -1;
  /** A bulk of BIG_ARG bytes or more (and its CR LF) being copied in as it arrives. */
  private big: Buffer | null = null;
  private bigFill = 0;

  constructor(public limits: ParserLimits) {}

  /**
   * Add input. With `transient`, `chunk` is only valid until the caller
   * calls retain() (the server reads every socket into one shared buffer,
   * which saves an allocation per read): commands are parsed straight out
   * of it and only an unparsed tail is copied.
   */
  feed(chunk: Buffer, transient = false): void {
    const rest = this.buf.length - this.pos;
    if (rest === 0 && this.pendingLen === 0) {
      this.buf = chunk;
      this.pos = 0;
      this.transient = transient;
    } else if (this.pendingLen === 0 && rest <= JOIN_MAX && rest + chunk.length >= this.need) {
      // The usual case: a small unfinished item from the last read, now
      // completed (or continued) by this one. One copy of both; into the
      // shared scratch when the chunk is transient, since what is left of
      // it is copied out by retain() anyway (a fresh buffer per read was
      // a fifth of parsing a request streamed in 16 KiB writes).
      const n = rest + chunk.length;
      const scratch = transient && n <= joinScratch.length && this.buf.buffer !== joinScratch.buffer;
      const all = scratch ? joinScratch : Buffer.allocUnsafe(n);
      this.buf.copy(all, 0, this.pos);
      chunk.copy(all, rest);
      this.buf = scratch ? all.subarray(0, n) : all;
      this.pos = 0;
      this.transient = scratch;
    } else {
      // Not enough yet for the item waiting (a bulk arriving one small read
      // at a time), or a large tail (a suspended client's pipeline): keep
      // the chunk and join once, when next() can use it.
      this.pending.push(transient ? Buffer.from(chunk) : chunk);
      this.pendingLen += chunk.length;
    }
    if (this.buffered > this.limits.maxQueryBuffer) {
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

  /**
   * Heap held by the arguments already parsed for a request still arriving:
   * their bytes (Redis's argv_len_sum) and about 40 bytes each of string
   * header, alignment and array slot (measured: 3.2M 11-byte arguments
   * filled 128 MiB), or 12 for a deferred request's. Held by this client as
   * much as `buffered` is.
   */
  get argvMemory(): number {
    return this.argBytes + (this.arena !== null ? 12 : 40) * this.argc;
  }

  /**
   * Unparsed bytes held, as Redis's query buffer length (CLIENT LIST qbuf,
   * client-query-buffer-limit): arguments already parsed are not counted,
   * a big bulk being gathered is.
   */
  get buffered(): number {
    return this.buf.length - this.pos + this.pendingLen + this.bigFill;
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
    try {
      return this.parse();
    } catch (e) {
      // The client is closed: let go of a half-read request now, whatever
      // may still reference this parser for a while.
      this.args = null;
      this.arena = null;
      this.argc = 0;
      this.argBytes = 0;
      this.big = null;
      this.bigFill = 0;
      this.buf = EMPTY;
      this.pos = 0;
      this.pending = [];
      this.pendingLen = 0;
      throw e;
    }
  }

  private parse(): string[] | null {
    if (this.big !== null && !this.fillBig()) return null;
    let avail = this.buf.length - this.pos + this.pendingLen;
    if (avail === 0) {
      // All parsed: let go of the buffer (it may be a large joined one)
      // instead of holding it until the client sends again.
      if (this.buf !== EMPTY) {
        this.buf = EMPTY;
        this.pos = 0;
        this.transient = false;
      }
      return this.args !== null && this.left === 0 ? this.finish() : null;
    }
    if (avail < this.need) return null;
    if (this.pendingLen > 0) this.join();
    this.need = 0;
    if (this.args !== null) return this.multibulk();
    return this.buf[this.pos] === 42 /* '*' */ ? this.multibulkStart() : this.inline();
  }

  /**
   * Copy what has arrived of the big bulk; true once it is complete (and
   * added to the arguments).
   */
  private fillBig(): boolean {
    const big = this.big as Buffer;
    const total = this.bulkLen + 2;
    for (;;) {
      const take = Math.min(total - this.bigFill, this.buf.length - this.pos);
      if (take > 0) {
        this.buf.copy(big, this.bigFill, this.pos, this.pos + take);
        this.pos += take;
        this.bigFill += take;
      }
      if (this.bigFill === total) break;
      if (this.pendingLen === 0) return false;
      const c = this.pending.shift() as Buffer;
      this.pendingLen -= c.length;
      this.buf = c;
      this.pos = 0;
      this.transient = false;
    }
    // The two bytes after the data are skipped unchecked, as Redis does.
    if (this.arena !== null) this.arena.own(big, this.bulkLen);
    else {
      let args = this.args as string[];
      if (this.argc === args.length) args = this.growArgs();
      args[this.argc] = big.latin1Slice(0, this.bulkLen);
    }
    this.argc++;
    this.big = null;
    this.bigFill = 0;
    this.argBytes += this.bulkLen;
    this.bulkLen = -1;
    this.left--;
    return true;
  }

  /**
   * Room for more arguments. Setting the length keeps V8's fast elements up
   * to ARGS_FAST_MAX (beyond ~32M it would turn the array into a
   * dictionary); past it, storing at index `length` appends like push().
   */
  private growArgs(): string[] {
    const args = this.args as string[];
    if (args.length < ARGS_FAST_MAX) args.length = Math.min(this.argc + this.left, args.length * 4, ARGS_FAST_MAX);
    return args;
  }

  private checkHeap(): void {
    if (bulkGuard.check === null) return;
    // Room for as much again as the request holds: running it builds a
    // value about as large, and V8 gives up on a heap whose collections
    // free little well before it is full (ineffective mark-compacts past
    // ~80% of the old space), sooner than the guard's 85% would say.
    const room = Math.max(this.argvMemory, Math.ceil(this.argvMemory / this.argc) * ARGS_CHECK);
    const why = bulkGuard.check(room, `a request of ${this.argc} arguments so far`);
    if (why !== null) throw new ProtocolError(why);
  }

  private finish(): string[] {
    const args = this.arena !== null ? deferredRequest((this.args as string[])[0], this.arena) : (this.args as string[]);
    this.arena = null;
    this.args = null;
    this.argc = 0;
    this.argBytes = 0;
    if (this.pos >= this.buf.length && this.pendingLen === 0) {
      this.buf = EMPTY;
      this.pos = 0;
      this.transient = false;
    }
    return args;
  }

  /**
   * The end of the length line starting at p (its CR), or -1 when it has
   * not fully arrived. Redis looks for the CR with strchr, which stops at a
   * NUL byte: a NUL before the CR leaves the line unfinished, and Redis then
   * waits for more input, so do we. The byte after the CR (normally LF) is
   * skipped unchecked, as in Redis.
   */
  private lineEnd(p: number, tooBig: string): number {
    const buf = this.buf;
    const cr = buf.indexOf(CR, p);
    if (cr >= 0 && cr + 1 < buf.length) {
      let i = p;
      while (i < cr && buf[i] !== 0) i++;
      if (i === cr) return cr;
    }
    if (buf.length - this.pos > INLINE_MAX) throw new ProtocolError(tooBig);
    this.need = buf.length - this.pos + 1;
    return -1;
  }

  /**
   * The number on a `*N` / `$N` line starting at p (after the type byte), in
   * one JS pass, for the common shape only: a canonical non-negative integer
   * ("0" or no leading zero) followed by CR and one more byte already in the
   * buffer. Sets `quickEnd` to its CR; returns -1 for anything else, and the
   * caller takes the exact path (lineEnd + string2ll) with Redis's errors.
   */
  private quickEnd = 0;
  private quickNumber(buf: Buffer, p: number): number {
    const end = buf.length;
    let n = 0;
    let i = p;
    for (; i < end && i - p < 15; i++) {
      const c = buf[i];
      if (c === CR) {
        if (i === p || i + 1 >= end) return -1;
        this.quickEnd = i;
        return n;
      }
      const d = c - 48;
      if (d < 0 || d > 9 || (d === 0 && i === p && buf[p + 1] !== CR)) return -1;
      n = n * 10 + d;
    }
    return -1;
  }

  /** The `*N` line of a new request. */
  private multibulkStart(): string[] | null {
    const buf = this.buf;
    const p = this.pos + 1;
    let count = this.quickNumber(buf, p);
    let nl: number;
    if (count >= 0) {
      nl = this.quickEnd;
    } else {
      nl = this.lineEnd(p, 'Protocol error: too big mbulk count string');
      if (nl < 0) return MORE;
      const parsed = string2ll(buf, p, nl);
      if (parsed === null) throw new ProtocolError('Protocol error: invalid multibulk length');
      count = parsed;
    }
    if (count > INT_MAX) throw new ProtocolError('Protocol error: invalid multibulk length');
    if (this.limits.unauthenticated && count > 10) {
      throw new ProtocolError('Protocol error: unauthenticated multibulk length');
    }
    this.pos = nl + 2;
    if (count <= 0) return [];
    // The count is only the client's word (up to INT_MAX): room for at most
    // ARGS_TRUSTED arguments up front, then 4x as they actually arrive.
    // Filling preallocated slots measured ~25% faster than push() for
    // millions of arguments (fewer copies of a large array under the GC).
    this.args = new Array(Math.min(count, ARGS_TRUSTED));
    this.argc = 0;
    this.left = count;
    this.bulkLen = -1;
    return this.multibulk();
  }

  /** Read arguments of the current multibulk request while they are complete. */
  private multibulk(): string[] | null {
    const buf = this.buf;
    const end = buf.length;
    const maxBulk = this.limits.maxBulkLen;
    let p = this.pos;
    while (this.left > 0) {
      let len = this.bulkLen;
      if (len < 0) {
        if (p >= end) {
          this.pos = p;
          this.need = 1;
          return MORE;
        }
        len = buf[p] === 36 /* '$' */ ? this.quickNumber(buf, p + 1) : -1;
        let lnl: number;
        if (len >= 0) {
          lnl = this.quickEnd;
        } else {
          this.pos = p;
          lnl = this.lineEnd(p, 'Protocol error: too big bulk count string');
          if (lnl < 0) return MORE;
          if (buf[p] !== 36) {
            throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(buf[p])}'`);
          }
          const parsed = string2ll(buf, p + 1, lnl);
          if (parsed === null || parsed < 0) throw new ProtocolError('Protocol error: invalid bulk length');
          len = parsed;
        }
        if (len > maxBulk) throw new ProtocolError('Protocol error: invalid bulk length');
        if (this.limits.unauthenticated && len > 16384) {
          throw new ProtocolError('Protocol error: unauthenticated bulk length');
        }
        if (len >= BIG_BULK && bulkGuard.check !== null) {
          const why = bulkGuard.check(len);
          if (why !== null) throw new ProtocolError(why);
        }
        p = lnl + 2;
        this.bulkLen = len;
      }
      const dataEnd = p + len;
      if (dataEnd + 2 > end) {
        this.pos = p;
        if (len >= BIG_ARG) {
          // Gather it in a buffer of its final size from here on.
          // (Everything that has arrived is in buf: next() joined it.)
          this.big = Buffer.allocUnsafe(len + 2);
          this.bigFill = 0;
          this.fillBig();
          return MORE;
        }
        this.need = len + 2;
        return MORE;
      }
      if (this.arena !== null) this.arena.add(buf, p, len);
      else {
        let args = this.args as string[];
        if (this.argc === args.length) args = this.growArgs();
        if (this.argc === 0) {
          const name = (args[0] = this.commandName(buf, p, len));
          if (this.left >= DEFER_MIN && isDeferrable(name)) this.arena = new ArgArena(this.left - 1);
        } else args[this.argc] = slice(buf, p, len);
      }
      this.argc++;
      this.argBytes += len;
      if ((this.argc & (ARGS_CHECK - 1)) === 0) this.checkHeap();
      this.left--;
      this.bulkLen = -1;
      p = dataEnd + 2;
    }
    this.pos = p;
    return this.finish();
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

  /**
   * An inline command: one line up to LF (a CR before it is dropped).
   * Redis refuses an unterminated line once more than INLINE_MAX bytes are
   * waiting, but takes a longer line whose LF has already arrived. Its
   * strchr stops at a NUL byte, so a line holding a NUL is never complete:
   * it waits for more input, as here.
   */
  private inline(): string[] | null {
    const buf = this.buf;
    const start = this.pos;
    let nl = buf.indexOf(LF, start);
    if (nl >= 0 && buf.subarray(start, nl).indexOf(0) >= 0) nl = -1;
    if (nl < 0) {
      if (buf.length - start > INLINE_MAX) throw new ProtocolError('Protocol error: too big inline request');
      this.need = buf.length - start + 1;
      return MORE;
    }
    const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    const line = buf.latin1Slice(start, end);
    this.pos = nl + 1;
    const args = splitArgs(line);
    if (args === null) throw new ProtocolError('Protocol error: unbalanced quotes in request');
    if (this.pos >= buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
      this.transient = false;
    }
    return args;
  }
}

const EMPTY = Buffer.alloc(0);


/**
 * Redis string2ll over a byte range: "0", or an optional '-' and a digit
 * 1-9 followed by digits, at most 20 bytes, within the range of a C long
 * long. Anything else (a leading zero, "-0", '+', spaces) is null. Values
 * past 2^53 are only ever compared with much smaller limits, so a double is
 * enough except at the long long bounds, checked exactly.
 */
export function string2ll(buf: Buffer, from: number, to: number): number | null {
  const len = to - from;
  if (len === 0 || len >= 21) return null;
  if (len === 1 && buf[from] === 48) return 0;
  let i = from;
  const neg = buf[i] === 45; /* - */
  if (neg) {
    i++;
    if (i === to) return null;
  }
  if (buf[i] < 49 || buf[i] > 57) return null;
  let n = 0;
  for (; i < to; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return null;
    n = n * 10 + c;
  }
  // Summing in doubles may be off by a few thousand near 2^63: check those exactly.
  if (n > 9.2e18) {
    const big = BigInt(buf.latin1Slice(neg ? from + 1 : from, to));
    if (big > (neg ? 2n ** 63n : 2n ** 63n - 1n)) return null;
  }
  return neg ? -n : n;
}

function isHex(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/**
 * sdssplitargs: words separated by blanks, "double quoted" with C escapes
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
        // Blanks between words are isspace(), but inside a word only these
        // end it: a \v or \f there is part of the word, as in sdssplitargs.
        if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
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
