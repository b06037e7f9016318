/**
 * The `cmsgpack` library Redis bundles (lua-cmsgpack 0.4.0): pack, unpack,
 * unpack_one, unpack_limit. On Redis's Lua 5.1 every number is a double:
 * one with an int64 value is packed as the smallest int form, any other as
 * float32 when that is exact, else float64. Tables whose keys are exactly
 * 1..n become arrays, others maps; tables nested 16 deep pack as nil.
 * Decoding knows nil, booleans, ints, floats, str (fix/8/16/32), arrays and
 * maps; bin and ext types are "Bad data format in input.".
 */
import { BUILD_MAX, LuaType, type LuaState, type LuaVm } from '../vm/lua-vm.js';
import { OP_BOOL, OP_INT, OP_NIL, OP_NUM, OP_SET, OP_STR, OP_TABLE } from '../vm/wasm-build.js';
import { ByteWriter } from './byte-writer.js';
import {
  LUA51_MAX_CSTACK,
  checkInteger51,
  checkStack51,
  checkString51,
  optInteger51,
  pushNumber51,
} from './lua51.js';

const MAX_NESTING = 16;
const INT_MAX = 2147483647;
const w = new ByteWriter();

/** Values in the C function's frame that our encoder does not push (pack's per-argument results). */
let framePad = 0;

function checkStackPadded(vm: LuaVm, L: LuaState, n: number, msg: string): void {
  if (vm.getTop(L) + framePad + n > LUA51_MAX_CSTACK) vm.raise(L, `stack overflow (${msg})`);
  checkStack51(vm, L, n, msg);
}

function encodeBytesHeader(len: number): void {
  if (len < 32) w.byte(0xa0 | len);
  else if (len <= 0xff) {
    w.byte(0xd9);
    w.byte(len);
  } else if (len <= 0xffff) {
    w.ensure(3);
    w.buf[w.len++] = 0xda;
    w.buf.writeUInt16BE(len, w.len);
    w.len += 2;
  } else {
    w.ensure(5);
    w.buf[w.len++] = 0xdb;
    w.buf.writeUInt32BE(len >>> 0, w.len);
    w.len += 4;
  }
}

function encodeDouble(d: number): void {
  w.ensure(9);
  if (d === Math.fround(d)) {
    w.buf[w.len++] = 0xca;
    w.buf.writeFloatBE(d, w.len);
    w.len += 4;
  } else {
    w.buf[w.len++] = 0xcb;
    w.buf.writeDoubleBE(d, w.len);
    w.len += 8;
  }
}

function encodeInt(n: number): void {
  w.ensure(9);
  const b = w.buf;
  if (n >= 0) {
    if (n <= 127) b[w.len++] = n;
    else if (n <= 0xff) {
      b[w.len++] = 0xcc;
      b[w.len++] = n;
    } else if (n <= 0xffff) {
      b[w.len++] = 0xcd;
      b.writeUInt16BE(n, w.len);
      w.len += 2;
    } else if (n <= 0xffffffff) {
      b[w.len++] = 0xce;
      b.writeUInt32BE(n, w.len);
      w.len += 4;
    } else {
      b[w.len++] = 0xcf;
      b.writeBigUInt64BE(BigInt(n), w.len);
      w.len += 8;
    }
  } else if (n >= -32) b[w.len++] = n & 0xff;
  else if (n >= -128) {
    b[w.len++] = 0xd0;
    b[w.len++] = n & 0xff;
  } else if (n >= -32768) {
    b[w.len++] = 0xd1;
    b.writeInt16BE(n, w.len);
    w.len += 2;
  } else if (n >= -2147483648) {
    b[w.len++] = 0xd2;
    b.writeInt32BE(n, w.len);
    w.len += 4;
  } else {
    b[w.len++] = 0xd3;
    b.writeBigInt64BE(BigInt(n), w.len);
    w.len += 8;
  }
}

function encodeContainerHeader(fix: number, op16: number, n: number): void {
  w.ensure(5);
  if (n <= 15) w.buf[w.len++] = fix | n;
  else if (n <= 65535) {
    w.buf[w.len++] = op16;
    w.buf.writeUInt16BE(n, w.len);
    w.len += 2;
  } else {
    w.buf[w.len++] = op16 + 1;
    w.buf.writeUInt32BE(n >>> 0, w.len);
    w.len += 4;
  }
}

/** Keys exactly 1..n (5.1's test: numeric keys > 0 whose (int) cast is exact, max == count). */
function tableIsAnArray(vm: LuaVm, L: LuaState, t: number): boolean {
  checkStackPadded(vm, L, 2, 'in function table_is_an_array');
  const top = vm.getTop(L);
  let count = 0;
  let max = 0;
  vm.pushNil(L);
  while (vm.next(L, t)) {
    vm.pop(L);
    const n = vm.type(L, -1) === LuaType.NUMBER ? vm.toNumber(L, -1)! : NaN;
    if (!(n > 0) || !Number.isInteger(n) || n > INT_MAX) {
      vm.setTop(L, top);
      return false;
    }
    if (n > max) max = n;
    count++;
  }
  return max === count;
}

/** Encodes the value on top and pops it. */
function encodeTop(vm: LuaVm, L: LuaState, level: number): void {
  let t = vm.type(L, -1);
  if (t === LuaType.TABLE && level === MAX_NESTING) t = LuaType.NIL;
  switch (t) {
    case LuaType.STRING: {
      const s = vm.toLatin1(L, -1)!;
      encodeBytesHeader(s.length);
      w.latin1(s);
      break;
    }
    case LuaType.BOOLEAN:
      w.byte(vm.toBoolean(L, -1) ? 0xc3 : 0xc2);
      break;
    case LuaType.NUMBER: {
      // 5.1 holds a double: a 5.4 integer is seen through its double value
      const n = vm.toNumber(L, -1)!;
      if (Number.isInteger(n) && n >= -9223372036854775808 && n < 9223372036854775808) encodeInt(n);
      else encodeDouble(n);
      break;
    }
    case LuaType.TABLE: {
      const tbl = vm.getTop(L);
      if (tableIsAnArray(vm, L, tbl)) {
        // Number(): lua_rawlen is 64-bit, so the binding hands back a BigInt
        const len = Number(vm.rawLen(L, tbl));
        encodeContainerHeader(0x90, 0xdc, len);
        checkStackPadded(vm, L, 1, 'in function mp_encode_lua_table_as_array');
        for (let j = 1; j <= len; j++) {
          vm.rawGetI(L, tbl, j);
          encodeTop(vm, L, level + 1);
        }
      } else {
        checkStackPadded(vm, L, 3, 'in function mp_encode_lua_table_as_map');
        let len = 0;
        vm.pushNil(L);
        while (vm.next(L, tbl)) {
          vm.pop(L);
          len++;
        }
        encodeContainerHeader(0x80, 0xde, len);
        vm.pushNil(L);
        while (vm.next(L, tbl)) {
          vm.pushValue(L, -2);
          encodeTop(vm, L, level + 1);
          encodeTop(vm, L, level + 1);
        }
      }
      break;
    }
    default:
      w.byte(0xc0);
  }
  vm.pop(L);
}

function pack(vm: LuaVm, L: LuaState): number {
  const nargs = vm.getTop(L);
  if (nargs === 0) return vm.argError(L, 0, 'MessagePack pack needs input.');
  if (nargs * 2 > LUA51_MAX_CSTACK || !vm.checkStack(L, 4)) {
    return vm.argError(L, 0, 'Too many arguments for MessagePack pack.');
  }
  w.reset();
  try {
    for (let i = 1; i <= nargs; i++) {
      framePad = i - 1;
      vm.pushValue(L, i);
      encodeTop(vm, L, 0);
    }
  } finally {
    framePad = 0;
  }
  vm.pushBuffer(L, w.view());
  w.reset();
  return 1;
}

// ---- decoding ----

const ERR_NONE = 0;
const ERR_EOF = 1;
const ERR_BADFMT = 2;
interface Cursor {
  b: Buffer;
  p: number;
  end: number;
  err: number;
  /** The stack height lua_checkstack has already made room up to. */
  room: number;
  /**
   * The stack height, kept here as values are pushed and set (a WASM call
   * per value less): every decoded value pushes one, every table set pops
   * two, and nothing else moves the decoding thread's top meanwhile.
   */
  top: number;
  /**
   * The last value decoded was nil or a float (possibly NaN): as a map key
   * lua_settable refuses it. Any other key needs no look at its type.
   */
  badKey: boolean;
}

/**
 * checkStack51 for the decoder: the same limit and error, but the stack is
 * grown STACK_CHUNK slots ahead, so most values cost one WASM call (the
 * height) instead of two.
 */
const STACK_CHUNK = 32;
function decodeCheckStack(vm: LuaVm, L: LuaState, c: Cursor, n: number, msg: string): void {
  const top = c.top;
  if (top + n > LUA51_MAX_CSTACK) vm.raise(L, `stack overflow (${msg})`);
  if (top + n <= c.room) return;
  if (!vm.checkStack(L, n + STACK_CHUNK)) vm.raise(L, `stack overflow (${msg})`);
  c.room = top + n + STACK_CHUNK;
}

/**
 * unpack's copy of its input (decoding may grow the Lua heap and move it),
 * reused from call to call; a decode that starts inside another (a __gc
 * finalizer run by an allocation of the outer one) gets its own.
 */
let input = Buffer.allocUnsafe(4096);
let decoding = false;

const TOO_MANY = 'too many return values at once; use unpack_one or unpack_limit instead.';

function need(c: Cursor, n: number): boolean {
  if (c.end - c.p < n) {
    c.err = ERR_EOF;
    return false;
  }
  return true;
}

/** An array or map being filled; decoding is iterative so deep nesting cannot exhaust the JS stack. */
interface Frame {
  isMap: boolean;
  /** elements (arrays) or pairs (maps) not started yet */
  left: number;
  /** the table's stack index */
  t: number;
  /** next array index */
  index: number;
  /** a map's key is on the stack and its value comes next */
  wantValue: boolean;
  /** that key may be nil or NaN (Cursor.badKey when it was decoded) */
  badKey: boolean;
}

function openArray(vm: LuaVm, L: LuaState, c: Cursor, len: number): Frame {
  vm.newTable(L);
  const t = ++c.top;
  decodeCheckStack(vm, L, c, 1, 'in function mp_decode_to_lua_array');
  return { isMap: false, left: len, t, index: 1, wantValue: false, badKey: false };
}

function openMap(vm: LuaVm, L: LuaState, c: Cursor, len: number): Frame {
  vm.newTable(L);
  return { isMap: true, left: len, t: ++c.top, index: 0, wantValue: false, badKey: false };
}

/**
 * Decodes one object at the cursor and pushes it (or sets c.err, leaving
 * what was pushed so far), with the pushes and stack checks of the C
 * library's recursive decoder in the same order.
 */
function decodeValue(vm: LuaVm, L: LuaState, c: Cursor): void {
  const frames: Frame[] = [];
  for (;;) {
    const opened = decodeHead(vm, L, c);
    if (c.err) return;
    let valueDone = opened === null;
    if (opened) frames.push(opened);
    for (;;) {
      // frames[-1] would be a dictionary lookup of the key "-1" through the runtime, not undefined cheaply.
      const f = frames.length > 0 ? frames[frames.length - 1] : undefined;
      if (valueDone) {
        if (!f) return;
        valueDone = false;
        if (!f.isMap) {
          vm.rawSet(L, f.t);
          c.top -= 2;
        } else if (!f.wantValue) {
          f.wantValue = true;
          f.badKey = c.badKey;
        } else {
          // lua_settable's errors, in 5.1's words (raised without a position: they come from C)
          if (f.badKey) {
            const kt = vm.type(L, -2);
            if (kt === LuaType.NIL) vm.raise(L, 'table index is nil', false);
            if (kt === LuaType.NUMBER && Number.isNaN(vm.toNumber(L, -2))) vm.raise(L, 'table index is NaN', false);
          }
          vm.rawSet(L, f.t);
          c.top -= 2;
          f.wantValue = false;
        }
      }
      if (f!.wantValue) break;
      if (f!.left === 0) {
        frames.pop();
        // A finished table as a key is neither nil nor NaN.
        c.badKey = false;
        valueDone = true;
        continue;
      }
      f!.left--;
      if (!f!.isMap) {
        vm.pushInteger(L, f!.index++);
        c.top++;
      }
      break;
    }
  }
}

function pushStr(vm: LuaVm, L: LuaState, c: Cursor, hdr: number, len: number): void {
  if (!need(c, hdr + len)) return;
  vm.pushBytes(L, c.b, c.p + hdr, c.p + hdr + len);
  c.p += hdr + len;
}

/** Decodes a scalar and pushes it (null), or opens a container (its frame); or sets c.err. */
function decodeHead(vm: LuaVm, L: LuaState, c: Cursor): Frame | null {
  if (!need(c, 1)) return null;
  decodeCheckStack(vm, L, c, 1, TOO_MANY);
  const op = c.b[c.p]!;
  const opened = decodeOne(vm, L, c, op);
  // A container counted itself when it was opened; a scalar is counted here.
  if (opened === null && c.err === ERR_NONE) {
    c.top++;
    c.badKey = op === 0xc0 || op === 0xca || op === 0xcb;
  }
  return opened;
}

function decodeOne(vm: LuaVm, L: LuaState, c: Cursor, op: number): Frame | null {
  const b = c.b;
  const p = c.p;
  switch (op) {
    case 0xcc:
      if (!need(c, 2)) return null;
      vm.pushInteger(L, b[p + 1]!);
      c.p += 2;
      return null;
    case 0xd0:
      if (!need(c, 2)) return null;
      vm.pushInteger(L, b.readInt8(p + 1));
      c.p += 2;
      return null;
    case 0xcd:
      if (!need(c, 3)) return null;
      vm.pushInteger(L, b.readUInt16BE(p + 1));
      c.p += 3;
      return null;
    case 0xd1:
      if (!need(c, 3)) return null;
      vm.pushInteger(L, b.readInt16BE(p + 1));
      c.p += 3;
      return null;
    case 0xce:
      if (!need(c, 5)) return null;
      vm.pushInteger(L, b.readUInt32BE(p + 1));
      c.p += 5;
      return null;
    case 0xd2:
      if (!need(c, 5)) return null;
      vm.pushInteger(L, b.readInt32BE(p + 1));
      c.p += 5;
      return null;
    case 0xcf: // uint64 goes through lua_Integer (signed) and then a double
    case 0xd3:
      if (!need(c, 9)) return null;
      pushNumber51(vm, L, Number(b.readBigInt64BE(p + 1)));
      c.p += 9;
      return null;
    case 0xc0:
      vm.pushNil(L);
      c.p += 1;
      return null;
    case 0xc3:
      vm.pushBoolean(L, true);
      c.p += 1;
      return null;
    case 0xc2:
      vm.pushBoolean(L, false);
      c.p += 1;
      return null;
    case 0xca:
      if (!need(c, 5)) return null;
      pushNumber51(vm, L, b.readFloatBE(p + 1));
      c.p += 5;
      return null;
    case 0xcb:
      if (!need(c, 9)) return null;
      pushNumber51(vm, L, b.readDoubleBE(p + 1));
      c.p += 9;
      return null;
    case 0xd9:
      if (!need(c, 2)) return null;
      pushStr(vm, L, c, 2, b[p + 1]!);
      return null;
    case 0xda:
      if (!need(c, 3)) return null;
      pushStr(vm, L, c, 3, b.readUInt16BE(p + 1));
      return null;
    case 0xdb: {
      if (!need(c, 5)) return null;
      const len = b.readUInt32BE(p + 1);
      c.p += 5;
      pushStr(vm, L, c, 0, len);
      return null;
    }
    case 0xdc:
      if (!need(c, 3)) return null;
      c.p += 3;
      return openArray(vm, L, c, b.readUInt16BE(p + 1));
    case 0xdd:
      if (!need(c, 5)) return null;
      c.p += 5;
      return openArray(vm, L, c, b.readUInt32BE(p + 1));
    case 0xde:
      if (!need(c, 3)) return null;
      c.p += 3;
      return openMap(vm, L, c, b.readUInt16BE(p + 1));
    case 0xdf:
      if (!need(c, 5)) return null;
      c.p += 5;
      return openMap(vm, L, c, b.readUInt32BE(p + 1));
    default:
      if ((op & 0x80) === 0) {
        vm.pushInteger(L, op);
        c.p += 1;
      } else if ((op & 0xe0) === 0xe0) {
        vm.pushInteger(L, op - 256);
        c.p += 1;
      } else if ((op & 0xe0) === 0xa0) {
        pushStr(vm, L, c, 1, op & 0x1f);
      } else if ((op & 0xf0) === 0x90) {
        c.p += 1;
        return openArray(vm, L, c, op & 0xf);
      } else if ((op & 0xf0) === 0x80) {
        c.p += 1;
        return openMap(vm, L, c, op & 0xf);
      } else {
        c.err = ERR_BADFMT;
      }
      return null;
  }
}

const int32 = (n: bigint): number => Number(BigInt.asIntN(32, n));

function inputBuffer(len: number): Buffer {
  if (decoding) return Buffer.allocUnsafe(len);
  if (input.length < len) input = Buffer.allocUnsafe(Math.max(len, 2 * input.length));
  return input;
}

/** Containers the one-call decoder follows at most (deeper messages take the general path). */
const BUILT_DEPTH = 32;
const fT = new Int32Array(BUILT_DEPTH);
const fLeft = new Float64Array(BUILT_DEPTH);
const fIndex = new Float64Array(BUILT_DEPTH);
const fMap = new Uint8Array(BUILT_DEPTH);
const fWantValue = new Uint8Array(BUILT_DEPTH);

/**
 * cmsgpack.unpack of a whole message in one WASM call (vm/wasm-build.ts):
 * the message is read here, straight from the Lua string on the stack, into
 * the pushes and sets decodeValue makes, in the same order (its loop, with
 * the frames in typed arrays), and the builder runs them. Returns how many
 * values are then on the stack, or -1 when the message is anything but
 * plain (malformed or cut short, a nil or NaN key, nested deeper than
 * BUILT_DEPTH, more operations than one block, a stack that would not hold
 * it): nothing has been pushed then, and the general path decodes it,
 * errors and all.
 */
function unpackBuilt(vm: LuaVm, L: LuaState, src: number, len: number): number {
  const block = vm.buildBlock();
  if (block === 0) return -1;
  const h = vm.heapBytes();
  const i32 = vm.heapI32();
  const f64 = vm.heapF64();
  const top0 = vm.getTop(L);
  let top = top0;
  let maxTop = top;
  let ops = 0;
  let o = block >> 2; // the next operation at i32[o]; its f64 at f64[(o >> 1) + 1]
  let depth = 0;
  let cnt = 0;
  let p = src;
  const end = src + len;
  while (p < end) {
    for (;;) {
      // One head: a scalar, or a container opened.
      if (p >= end || ops >= BUILD_MAX - 2) return -1;
      const op = h[p]!;
      const room = end - p;
      let kind: number;
      let num = 0;
      let strAt = 0;
      let strLen = 0;
      let open = -1;
      let isMap = 0;
      if (op <= 0x7f) {
        kind = OP_INT;
        num = op;
        p += 1;
      } else if (op >= 0xe0) {
        kind = OP_INT;
        num = op - 256;
        p += 1;
      } else if (op >= 0xa0 && op <= 0xbf) {
        kind = OP_STR;
        strAt = p + 1;
        strLen = op & 0x1f;
        p = strAt + strLen;
      } else if (op <= 0x9f) {
        kind = OP_TABLE;
        open = op & 0xf;
        isMap = op <= 0x8f ? 1 : 0;
        p += 1;
      } else {
        switch (op) {
          case 0xc0:
            kind = OP_NIL;
            p += 1;
            break;
          case 0xc2:
          case 0xc3:
            kind = OP_BOOL;
            num = op - 0xc2;
            p += 1;
            break;
          case 0xcc:
          case 0xd0:
            if (room < 2) return -1;
            kind = OP_INT;
            num = op === 0xcc ? h[p + 1]! : h.readInt8(p + 1);
            p += 2;
            break;
          case 0xcd:
          case 0xd1:
            if (room < 3) return -1;
            kind = OP_INT;
            num = op === 0xcd ? h.readUInt16BE(p + 1) : h.readInt16BE(p + 1);
            p += 3;
            break;
          case 0xce:
          case 0xd2:
            if (room < 5) return -1;
            kind = OP_INT;
            num = op === 0xce ? h.readUInt32BE(p + 1) : h.readInt32BE(p + 1);
            p += 5;
            break;
          case 0xca:
          case 0xcb:
          case 0xcf: // uint64 goes through lua_Integer (signed) and then a double
          case 0xd3: {
            const size = op === 0xca ? 5 : 9;
            if (room < size) return -1;
            num = op === 0xca ? h.readFloatBE(p + 1) : op === 0xcb ? h.readDoubleBE(p + 1) : Number(h.readBigInt64BE(p + 1));
            p += size;
            // pushNumber51's choice
            kind = Number.isInteger(num) && num < 1e14 && num > -1e14 && !Object.is(num, -0) ? OP_INT : OP_NUM;
            break;
          }
          case 0xd9:
          case 0xda:
          case 0xdb: {
            const hdr = op === 0xd9 ? 2 : op === 0xda ? 3 : 5;
            if (room < hdr) return -1;
            kind = OP_STR;
            strLen = op === 0xd9 ? h[p + 1]! : op === 0xda ? h.readUInt16BE(p + 1) : h.readUInt32BE(p + 1);
            strAt = p + hdr;
            p = strAt + strLen;
            break;
          }
          case 0xdc:
          case 0xde:
            if (room < 3) return -1;
            kind = OP_TABLE;
            open = h.readUInt16BE(p + 1);
            isMap = op === 0xde ? 1 : 0;
            p += 3;
            break;
          case 0xdd:
          case 0xdf:
            if (room < 5) return -1;
            kind = OP_TABLE;
            open = h.readUInt32BE(p + 1);
            isMap = op === 0xdf ? 1 : 0;
            p += 5;
            break;
          default:
            return -1;
        }
      }
      if (p > end) return -1;
      // A nil or NaN key is lua_settable's error: the general path raises it.
      if (depth > 0 && fMap[depth - 1] === 1 && fWantValue[depth - 1] === 0 && (kind === OP_NIL || (kind === OP_NUM && Number.isNaN(num)))) return -1;
      i32[o] = kind;
      if (kind === OP_STR) {
        i32[o + 2] = strAt;
        i32[o + 3] = strLen;
      } else if (kind === OP_BOOL) i32[o + 1] = num;
      else if (kind === OP_INT || kind === OP_NUM) f64[(o >> 1) + 1] = num;
      o += 4;
      ops++;
      if (++top > maxTop) maxTop = top;
      let valueDone = true;
      if (open >= 0) {
        if (depth === BUILT_DEPTH) return -1;
        fT[depth] = top;
        fLeft[depth] = open;
        fIndex[depth] = 1;
        fMap[depth] = isMap;
        fWantValue[depth] = 0;
        depth++;
        // mp_decode_to_lua_array checks for a slot more.
        if (isMap === 0 && top + 1 > maxTop) maxTop = top + 1;
        valueDone = false;
      }
      // Settle: set what is complete, then see what the innermost container reads next.
      let next = false;
      while (!next) {
        if (depth === 0) break;
        const d = depth - 1;
        if (valueDone) {
          valueDone = false;
          if (fMap[d] === 1 && fWantValue[d] === 0) fWantValue[d] = 1;
          else {
            if (ops >= BUILD_MAX) return -1;
            i32[o] = OP_SET;
            i32[o + 1] = fT[d]!;
            o += 4;
            ops++;
            top -= 2;
            fWantValue[d] = 0;
          }
        }
        if (fWantValue[d] === 1) {
          next = true;
        } else if (fLeft[d] === 0) {
          depth--;
          valueDone = true;
        } else {
          fLeft[d]--;
          if (fMap[d] === 0) {
            if (ops >= BUILD_MAX) return -1;
            i32[o] = OP_INT;
            f64[(o >> 1) + 1] = fIndex[d]!++;
            o += 4;
            ops++;
            if (++top > maxTop) maxTop = top;
          }
          next = true;
        }
      }
      if (!next) break;
    }
    cnt++;
  }
  // The general path raises 5.1's "stack overflow" where this message would need it.
  if (maxTop + 1 > LUA51_MAX_CSTACK || !vm.checkStack(L, maxTop - top0 + 1)) return -1;
  decoding = true;
  try {
    vm.runBuild(L, ops);
  } finally {
    decoding = false;
  }
  return cnt;
}

function unpackFull(vm: LuaVm, L: LuaState, limitIn: bigint, offset: bigint): number {
  // A string's bytes are copied straight from the Lua heap (no JS string in between).
  let len: number;
  let buf: Buffer;
  if (vm.type(L, 1) === LuaType.STRING) {
    const p = vm.stringSpan(L, 1);
    len = vm.spanLength;
    // A whole plain message in one WASM call; not inside another decode (a finalizer's).
    if (limitIn === 0n && offset === 0n && !decoding && len > 0) {
      const n = unpackBuilt(vm, L, p, len);
      if (n >= 0) return n;
    }
    buf = inputBuffer(len);
    const h = vm.heapBytes();
    // Buffer.copy's argument checks cost more than a loop over a short input.
    if (len <= 64) for (let i = 0; i < len; i++) buf[i] = h[p + i]!;
    else h.copy(buf, 0, p, p + len);
  } else {
    const s = checkString51(vm, L, 1);
    len = s.length;
    buf = inputBuffer(len);
    buf.latin1Write(s, 0, len);
  }
  const decodeAll = limitIn === 0n && offset === 0n;
  if (!decodeAll) {
    if (offset < 0n || limitIn < 0n) {
      // (the C code prints the input length where it says limit)
      return vm.raise(L, `Invalid request to unpack with offset of ${int32(offset)} and limit of ${int32(BigInt(len))}.`);
    }
    if (offset > BigInt(len)) {
      return vm.raise(L, `Start offset ${int32(offset)} greater than input length ${int32(BigInt(len))}.`);
    }
  }
  const limit = decodeAll ? INT_MAX : limitIn;
  const c: Cursor = { b: buf, p: Number(offset), end: len, err: ERR_NONE, room: 0, top: vm.getTop(L), badKey: false };
  let cnt = 0;
  const nested = decoding;
  decoding = true;
  try {
    for (; c.end - c.p > 0 && cnt < limit; cnt++) {
      decodeValue(vm, L, c);
      if (c.err !== ERR_NONE) break;
    }
  } finally {
    // Also when a Lua error (a longjmp thrown through here) ends the decode.
    decoding = nested;
  }
  if (c.err === ERR_EOF) return vm.raise(L, 'Missing bytes in input.');
  if (c.err === ERR_BADFMT) return vm.raise(L, 'Bad data format in input.');
  if (!decodeAll) {
    checkStack51(vm, L, 1, 'in function mp_unpack_full');
    vm.pushInteger(L, c.p === c.end ? -1 : c.p);
    vm.insert(L, 2);
    cnt += 1;
  }
  return cnt;
}

function unpack(vm: LuaVm, L: LuaState): number {
  return unpackFull(vm, L, 0n, 0n);
}

function unpack_one(vm: LuaVm, L: LuaState): number {
  const offset = optInteger51(vm, L, 2, 0n);
  vm.setTop(L, Math.min(vm.getTop(L), 1));
  return unpackFull(vm, L, 1n, offset);
}

function unpack_limit(vm: LuaVm, L: LuaState): number {
  const limit = checkInteger51(vm, L, 2);
  const offset = optInteger51(vm, L, 3, 0n);
  vm.setTop(L, Math.min(vm.getTop(L), 1));
  return unpackFull(vm, L, limit, offset);
}

export const cmsgpackFunctions = { pack, unpack, unpack_one, unpack_limit };

export const cmsgpackFields = {
  _NAME: 'cmsgpack',
  _VERSION: 'lua-cmsgpack 0.4.0',
  _COPYRIGHT: 'Copyright (C) 2012, Salvatore Sanfilippo',
  _DESCRIPTION: 'MessagePack C implementation for Lua',
};
