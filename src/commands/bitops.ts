/**
 * Bitmap family (bitops.c): SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
 * BITFIELD_RO. Strings are latin1, so a char code is a byte; bit 0 is the
 * most significant bit of the first byte, as in Redis.
 */
import { lookup, register } from './registry.js';
import { keyAt, cmd, type ArgDoc } from './spec.js';
import { ERR, ReplyError, parseInt64 } from '../protocol/errors.js';
import { getInt } from '../config/params.js';
import type { CommandContext } from '../server/context.js';
import type { Value } from '../types/value.js';
import { notify, NOTIFY_GENERIC, NOTIFY_STRING } from '../keyspace/notify.js';

const B = 'bitmap';
const OFFSET_ERR = 'ERR bit offset is not an integer or out of range';
/** V8's longest string: a bitmap past it cannot be built, whatever proto-max-bulk-len allows. */
const MAX_JS_STRING = 2 ** 29 - 24;

function asString(v: Value | undefined): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  throw new ReplyError(ERR.wrongType);
}

function int64Arg(s: string): number {
  const n = parseInt64(s);
  if (n === null) throw new ReplyError(ERR.notInt);
  return Number(n);
}

/**
 * A bit offset argument; with `bits` (BITFIELD) "#n" means n*bits. Like
 * Redis, offsets address at most proto-max-bulk-len bytes.
 */
function bitOffsetArg(arg: string, bits = 0): number {
  const hash = bits > 0 && arg.charCodeAt(0) === 35; /* # */
  const n = parseInt64(hash ? arg.slice(1) : arg);
  if (n === null) throw new ReplyError(OFFSET_ERR);
  const off = hash ? n * BigInt(bits) : n;
  if (off < 0n || off >> 3n >= BigInt(getInt('proto-max-bulk-len'))) throw new ReplyError(OFFSET_ERR);
  return Number(off);
}

/**
 * The string at key made long enough to hold bit `maxBit` (zero padded);
 * `grew` says it was created or lengthened, which is a change by itself.
 */
function paddedForBit(ctx: CommandContext, key: string, maxBit: number): { value: string; grew: boolean } {
  const v = asString(ctx.db.peek(key));
  const need = Math.floor(maxBit / 8) + 1;
  if (v !== undefined && v.length >= need) return { value: v, grew: false };
  if (need > MAX_JS_STRING) throw new ReplyError(OFFSET_ERR);
  return { value: v === undefined ? '\0'.repeat(need) : v + '\0'.repeat(need - v.length), grew: true };
}

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1];

/** Set bits in s[from..to]: 32 bits at a time on a byte copy (a char loop is 2-3x slower on big bitmaps). */
function popcount(s: string, from: number, to: number): number {
  if (to < from) return 0;
  const b = Buffer.from(from === 0 && to === s.length - 1 ? s : s.slice(from, to + 1), 'latin1');
  let n = 0;
  let i = 0;
  if (b.byteOffset % 4 === 0) {
    const words = b.length >>> 2;
    const u32 = new Uint32Array(b.buffer, b.byteOffset, words);
    for (; i < words; i++) {
      let v = u32[i];
      v = v - ((v >>> 1) & 0x55555555);
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      n += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    }
    i = words * 4;
  }
  for (; i < b.length; i++) n += POPCOUNT[b[i]];
  return n;
}

function setbit(ctx: CommandContext, args: string[]): void {
  const offset = bitOffsetArg(args[2]);
  const bitArg = parseInt64(args[3]);
  if (bitArg === null || (bitArg !== 0n && bitArg !== 1n)) throw new ReplyError('ERR bit is not an integer or out of range');
  const on = Number(bitArg);
  const { value, grew } = paddedForBit(ctx, args[1], offset);
  const byteIndex = offset >> 3;
  const byte = value.charCodeAt(byteIndex);
  const mask = 1 << (7 - (offset & 7));
  const old = byte & mask ? 1 : 0;
  if (grew || old !== on) {
    const next = on ? byte | mask : byte & ~mask;
    ctx.db.set(args[1], value.slice(0, byteIndex) + String.fromCharCode(next) + value.slice(byteIndex + 1), true);
    notify(NOTIFY_STRING, 'setbit', args[1], ctx.db.id);
  }
  ctx.r.int(old);
}

function getbit(ctx: CommandContext, args: string[]): void {
  const offset = bitOffsetArg(args[2]);
  const v = asString(ctx.db.get(args[1]));
  const byteIndex = offset >> 3;
  if (v === undefined || byteIndex >= v.length) return ctx.r.int(0);
  ctx.r.int((v.charCodeAt(byteIndex) >> (7 - (offset & 7))) & 1);
}

/** Parse a BIT|BYTE unit argument. */
function isBitUnit(arg: string): boolean {
  const u = arg.toLowerCase();
  if (u === 'bit') return true;
  if (u === 'byte') return false;
  throw new ReplyError(ERR.syntax);
}

function bitcount(ctx: CommandContext, args: string[]): void {
  // Redis looks the key up before it reads the range: a missing key is 0 whatever follows.
  const s = asString(ctx.db.get(args[1]));
  if (s === undefined) return ctx.r.int(0);
  const argc = args.length;
  if (argc === 2) return ctx.r.int(popcount(s, 0, s.length - 1));
  if (argc !== 4 && argc !== 5) throw new ReplyError(ERR.syntax);
  let start = int64Arg(args[2]);
  let end = int64Arg(args[3]);
  if (start < 0 && end < 0 && start > end) return ctx.r.int(0);
  const isBit = argc === 5 && isBitUnit(args[4]);
  const total = isBit ? s.length * 8 : s.length;
  if (start < 0) start += total;
  if (end < 0) end += total;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  if (start > end) return ctx.r.int(0);
  if (!isBit) return ctx.r.int(popcount(s, start, end));
  const first = start >> 3;
  const last = end >> 3;
  let n = popcount(s, first, last);
  // Take off the bits of the edge bytes that lie outside the range.
  n -= POPCOUNT[s.charCodeAt(first) & (0xff00 >> (start & 7)) & 0xff];
  n -= POPCOUNT[s.charCodeAt(last) & ((1 << (7 - (end & 7))) - 1)];
  ctx.r.int(n);
}

function bitpos(ctx: CommandContext, args: string[]): void {
  const bitArg = parseInt64(args[2]);
  if (bitArg === null) throw new ReplyError(ERR.notInt);
  if (bitArg !== 0n && bitArg !== 1n) throw new ReplyError('ERR The bit argument must be 1 or 0.');
  const bit = Number(bitArg);
  const s = asString(ctx.db.get(args[1]));
  // A missing key is an endless run of zeros.
  if (s === undefined) return ctx.r.int(bit ? -1 : 0);
  const argc = args.length;
  let startBit: number;
  let endBit: number;
  let endGiven = false;
  if (argc === 3) {
    startBit = 0;
    endBit = s.length * 8 - 1;
  } else if (argc <= 6) {
    let start = int64Arg(args[3]);
    const isBit = argc === 6 && isBitUnit(args[5]);
    let end: number;
    if (argc >= 5) {
      end = int64Arg(args[4]);
      endGiven = true;
    } else end = s.length - 1;
    const total = isBit ? s.length * 8 : s.length;
    if (start < 0) start += total;
    if (end < 0) end += total;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= total) end = total - 1;
    if (start > end) return ctx.r.int(-1);
    startBit = isBit ? start : start * 8;
    endBit = isBit ? end : end * 8 + 7;
  } else throw new ReplyError(ERR.syntax);
  if (startBit > endBit) return ctx.r.int(-1);
  const skip = bit ? 0 : 0xff;
  for (let p = startBit; p <= endBit; ) {
    const byte = s.charCodeAt(p >> 3);
    if ((p & 7) === 0 && p + 7 <= endBit && byte === skip) {
      p += 8;
      continue;
    }
    if (((byte >> (7 - (p & 7))) & 1) === bit) return ctx.r.int(p);
    p++;
  }
  // Looking for a 0 with no end given, the string counts as padded with zeros.
  ctx.r.int(bit === 1 || endGiven ? -1 : endBit + 1);
}

function bitop(ctx: CommandContext, args: string[]): void {
  const op = args[1].toLowerCase();
  if (op !== 'and' && op !== 'or' && op !== 'xor' && op !== 'not') throw new ReplyError(ERR.syntax);
  if (op === 'not' && args.length !== 4) throw new ReplyError('ERR BITOP NOT must be called with a single source key.');
  const db = ctx.db;
  const srcs: string[] = [];
  let maxLen = 0;
  for (let i = 3; i < args.length; i++) {
    const s = asString(db.get(args[i])) ?? '';
    srcs.push(s);
    if (s.length > maxLen) maxLen = s.length;
  }
  const dest = args[2];
  if (maxLen === 0) {
    if (db.delete(dest)) notify(NOTIFY_GENERIC, 'del', dest, db.id);
    return ctx.r.int(0);
  }
  // Shorter inputs count as zero padded to the longest one.
  const out = Buffer.alloc(maxLen);
  out.write(srcs[0], 0, 'latin1');
  if (op === 'not') {
    for (let j = 0; j < maxLen; j++) out[j] = ~out[j] & 0xff;
  } else {
    for (let i = 1; i < srcs.length; i++) {
      const src = Buffer.from(srcs[i], 'latin1');
      const n = src.length;
      if (op === 'and') {
        for (let j = 0; j < n; j++) out[j] &= src[j];
        out.fill(0, n);
      } else if (op === 'or') {
        for (let j = 0; j < n; j++) out[j] |= src[j];
      } else {
        for (let j = 0; j < n; j++) out[j] ^= src[j];
      }
    }
  }
  db.set(dest, out.latin1Slice(0, maxLen));
  notify(NOTIFY_STRING, 'set', dest, db.id);
  ctx.r.int(maxLen);
}

// ---- BITFIELD ----

const GET = 0,
  SET = 1,
  INCRBY = 2;
const WRAP = 0,
  SAT = 1,
  FAIL = 2;

interface FieldOp {
  opcode: number;
  offset: number;
  bits: number;
  signed: boolean;
  overflow: number;
  value: bigint;
}

const TYPE_ERR = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';

function fieldType(arg: string): { signed: boolean; bits: number } {
  const c = arg.charCodeAt(0);
  if (c !== 105 /* i */ && c !== 117 /* u */) throw new ReplyError(TYPE_ERR);
  const signed = c === 105;
  const n = parseInt64(arg.slice(1));
  if (n === null || n < 1n || n > (signed ? 64n : 63n)) throw new ReplyError(TYPE_ERR);
  return { signed, bits: Number(n) };
}

function readField(buf: Buffer, offset: number, bits: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i++) {
    const p = offset + i;
    const byte = buf[p >> 3] ?? 0;
    v = (v << 1n) | BigInt((byte >> (7 - (p & 7))) & 1);
  }
  return signed ? BigInt.asIntN(bits, v) : v;
}

function writeField(buf: Buffer, offset: number, bits: number, value: bigint): void {
  let v = BigInt.asUintN(bits, value);
  for (let i = bits - 1; i >= 0; i--) {
    const p = offset + i;
    const mask = 1 << (7 - (p & 7));
    if (v & 1n) buf[p >> 3] |= mask;
    else buf[p >> 3] &= ~mask;
    v >>= 1n;
  }
}

/**
 * The value to store for `value + incr` (SET passes incr 0) under the
 * overflow policy; null means FAIL (leave the field alone). Redis computes
 * the headroom in int64 arithmetic that wraps, so a signed SET of a value far
 * below the field's minimum saturates to the maximum: kept for fidelity.
 */
function fitField(value: bigint, incr: bigint, bits: number, signed: boolean, overflow: number): bigint | null {
  const sum = value + incr;
  let high: boolean;
  let low: boolean;
  let max: bigint;
  let min: bigint;
  if (signed) {
    max = bits === 64 ? 2n ** 63n - 1n : (1n << BigInt(bits - 1)) - 1n;
    min = -max - 1n;
    const maxIncr = BigInt.asIntN(64, max - value);
    const minIncr = BigInt.asIntN(64, min - value);
    high = value > max || (bits !== 64 && incr > maxIncr) || (value >= 0n && incr > 0n && incr > maxIncr);
    low = !high && (value < min || (bits !== 64 && incr < minIncr) || (value < 0n && incr < 0n && incr < minIncr));
  } else {
    max = (1n << BigInt(bits)) - 1n;
    min = 0n;
    high = value > max || (incr > 0n && incr > BigInt.asIntN(64, max - value));
    low = !high && incr < 0n && incr < BigInt.asIntN(64, -value);
  }
  if (!high && !low) return sum;
  if (overflow === FAIL) return null;
  if (overflow === SAT) return high ? max : min;
  return signed ? BigInt.asIntN(bits, sum) : BigInt.asUintN(bits, sum);
}

function parseFieldOps(args: string[]): { ops: FieldOp[]; readonly: boolean; highestBit: number } {
  const ops: FieldOp[] = [];
  let overflow = WRAP;
  let readonly = true;
  let highestBit = 0;
  for (let j = 2; j < args.length; j++) {
    const rem = args.length - j - 1;
    const sub = args[j].toLowerCase();
    let opcode: number;
    if (sub === 'get' && rem >= 2) opcode = GET;
    else if (sub === 'set' && rem >= 3) opcode = SET;
    else if (sub === 'incrby' && rem >= 3) opcode = INCRBY;
    else if (sub === 'overflow' && rem >= 1) {
      const t = args[++j].toLowerCase();
      if (t === 'wrap') overflow = WRAP;
      else if (t === 'sat') overflow = SAT;
      else if (t === 'fail') overflow = FAIL;
      else throw new ReplyError('ERR Invalid OVERFLOW type specified');
      continue;
    } else throw new ReplyError(ERR.syntax);
    const { signed, bits } = fieldType(args[j + 1]);
    const offset = bitOffsetArg(args[j + 2], bits);
    let value = 0n;
    if (opcode !== GET) {
      readonly = false;
      if (offset + bits - 1 > highestBit) highestBit = offset + bits - 1;
      const v = parseInt64(args[j + 3]);
      if (v === null) throw new ReplyError(ERR.notInt);
      value = v;
    }
    ops.push({ opcode, offset, bits, signed, overflow, value });
    j += opcode === GET ? 2 : 3;
  }
  return { ops, readonly, highestBit };
}

function bitfield(ctx: CommandContext, args: string[], roOnly: boolean): void {
  const { ops, readonly, highestBit } = parseFieldOps(args);
  const key = args[1];
  const r = ctx.r;
  if (readonly) {
    const s = asString(ctx.db.get(key)) ?? '';
    r.array(ops.length);
    for (const op of ops) {
      const first = op.offset >> 3;
      // Up to 9 bytes hold any 64-bit field; past the end reads as zeros.
      const window = Buffer.alloc(9);
      window.write(s.slice(first, first + 9), 0, 'latin1');
      r.int(readField(window, op.offset - first * 8, op.bits, op.signed));
    }
    return;
  }
  if (roOnly) throw new ReplyError('ERR BITFIELD_RO only supports the GET subcommand');
  const { value, grew } = paddedForBit(ctx, key, highestBit);
  const buf = Buffer.from(value, 'latin1');
  // Like Redis, every field write that changed something counts as one change.
  let changes = 0;
  r.array(ops.length);
  for (const op of ops) {
    const old = readField(buf, op.offset, op.bits, op.signed);
    if (op.opcode === GET) {
      r.int(old);
      continue;
    }
    const isIncr = op.opcode === INCRBY;
    // Unsigned fields see the SET value as Redis's uint64 cast does.
    const base = isIncr ? old : op.signed ? op.value : BigInt.asUintN(64, op.value);
    const next = fitField(base, isIncr ? op.value : 0n, op.bits, op.signed, op.overflow);
    if (next === null) {
      r.null();
      continue;
    }
    r.int(isIncr ? next : old);
    writeField(buf, op.offset, op.bits, next);
    if (grew || next !== old) changes++;
  }
  if (changes > 0 || grew) {
    ctx.db.set(key, buf.latin1Slice(0, buf.length), true);
    if (changes > 1) ctx.ks.dirty += changes - 1;
    notify(NOTIFY_STRING, 'setbit', key, ctx.db.id);
  }
}

// ---- table ----

const KEY: ArgDoc = { name: 'key', type: 'key' };
const UNIT: ArgDoc = { name: 'index_unit', type: 'oneof', optional: true, arguments: [{ name: 'byte', type: 'pure-token', token: 'BYTE' }, { name: 'bit', type: 'pure-token', token: 'BIT' }] };
const ENC_OFFSET: ArgDoc[] = [{ name: 'encoding', type: 'string' }, { name: 'offset', type: 'integer' }];

register(
  cmd('setbit', 4, 'write denyoom', [1, 1, 1], 'bitmap write slow', { group: B, summary: 'Sets or clears the bit at offset in the string value stored at key', since: '2.2.0', complexity: 'O(1)', args: [KEY, { name: 'offset', type: 'integer' }, { name: 'value', type: 'integer' }], keySpec: keyAt(1, 'RW access update') }, setbit),
  cmd('getbit', 3, 'readonly fast', [1, 1, 1], 'bitmap read fast', { group: B, summary: 'Returns the bit value at offset in the string value stored at key', since: '2.2.0', complexity: 'O(1)', args: [KEY, { name: 'offset', type: 'integer' }] }, getbit),
  cmd(
    'bitcount',
    -2,
    'readonly',
    [1, 1, 1],
    'bitmap read slow',
    { group: B, summary: 'Count set bits in a string', since: '2.6.0', complexity: 'O(N)', history: [['7.0.0', 'Added the `BYTE|BIT` option.']], args: [{ name: 'key', type: 'key' }, { name: 'index', type: 'block', optional: true, arguments: [{ name: 'start', type: 'integer' }, { name: 'end', type: 'integer' }, { name: 'index_unit', type: 'oneof', since: '7.0.0', optional: true, arguments: [{ name: 'byte', type: 'pure-token', token: 'BYTE' }, { name: 'bit', type: 'pure-token', token: 'BIT' }] }] }] },
    bitcount,
  ),
  cmd(
    'bitpos',
    -3,
    'readonly',
    [1, 1, 1],
    'bitmap read slow',
    {
      group: B,
      summary: 'Find first bit set or clear in a string',
      since: '2.8.7',
      complexity: 'O(N)', history: [['7.0.0', 'Added the `BYTE|BIT` option.']], args: [{ name: 'key', type: 'key' }, { name: 'bit', type: 'integer' }, { name: 'index', type: 'block', optional: true, arguments: [{ name: 'start', type: 'integer' }, { name: 'end_index', type: 'block', optional: true, arguments: [{ name: 'end', type: 'integer' }, { name: 'index_unit', type: 'oneof', since: '7.0.0', optional: true, arguments: [{ name: 'byte', type: 'pure-token', token: 'BYTE' }, { name: 'bit', type: 'pure-token', token: 'BIT' }] }] }] }],
    },
    bitpos,
  ),
  cmd(
    'bitop',
    -4,
    'write denyoom',
    [2, -1, 1],
    'bitmap write slow',
    { group: B, summary: 'Perform bitwise operations between strings', since: '2.6.0', complexity: 'O(N)', keySpec: [keyAt(2, 'OW update'), keyAt(3, 'RO access', undefined, -1, 1)], args: [{ name: 'operation', type: 'string' }, { name: 'destkey', type: 'key' }, { name: 'key', type: 'key', keySpecIndex: 1, multiple: true }] },
    bitop,
  ),
  cmd(
    'bitfield',
    -2,
    'write denyoom',
    [1, 1, 1],
    'bitmap write slow',
    {
      group: B,
      summary: 'Perform arbitrary bitfield integer operations on strings',
      since: '3.2.0',
      complexity: 'O(1) for each subcommand specified',
      args: [
        KEY,
        {
          name: 'operation',
          type: 'oneof',
          optional: true,
          multiple: true,
          arguments: [
            { name: 'encoding_offset', type: 'block', token: 'GET', arguments: ENC_OFFSET },
            {
              name: 'write',
              type: 'block',
              arguments: [
                {
                  name: 'wrap_sat_fail',
                  type: 'oneof',
                  token: 'OVERFLOW',
                  optional: true,
                  arguments: [
                    { name: 'wrap', type: 'pure-token', token: 'WRAP' },
                    { name: 'sat', type: 'pure-token', token: 'SAT' },
                    { name: 'fail', type: 'pure-token', token: 'FAIL' },
                  ],
                },
                {
                  name: 'write_operation',
                  type: 'oneof',
                  arguments: [
                    { name: 'encoding_offset_value', type: 'block', token: 'SET', arguments: [...ENC_OFFSET, { name: 'value', type: 'integer' }] },
                    { name: 'encoding_offset_increment', type: 'block', token: 'INCRBY', arguments: [...ENC_OFFSET, { name: 'increment', type: 'integer' }] },
                  ],
                },
              ],
            },
          ],
        },
      ], keySpec: keyAt(1, 'RW access update variable_flags', 'This command allows both access and modification of the key'),
    },
    (ctx, args) => bitfield(ctx, args, false),
  ),
  cmd(
    'bitfield_ro',
    -2,
    'readonly fast',
    [1, 1, 1],
    'bitmap read fast',
    {
      group: B,
      summary: 'Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD',
      since: '6.0.0',
      complexity: 'O(1) for each subcommand specified', args: [{ name: 'key', type: 'key' }, { name: 'encoding_offset', type: 'block', token: 'GET', optional: true, multiple: true, multipleToken: true, arguments: [{ name: 'encoding', type: 'string' }, { name: 'offset', type: 'integer' }] }],
    },
    (ctx, args) => bitfield(ctx, args, true),
  ),
);

/**
 * BITFIELD's key is read-only when every subcommand is a GET (Redis's
 * bitfieldGetKeys); anything else, a syntax error included, may write.
 */
lookup('bitfield')!.keyFlags = (argv) => {
  for (let i = 2; i < argv.length; i++) {
    const left = argv.length - i - 1;
    const a = argv[i].toLowerCase();
    if (a === 'get' && left >= 2) i += 2;
    else if (a === 'overflow' && left >= 1) i += 1;
    else return ['RW', 'access', 'update'];
  }
  return ['RO', 'access'];
};
