/**
 * Reading a C function's arguments in one boundary crossing: a tiny WASM
 * module, hand-assembled below like the allocator (wasm-alloc.ts), that
 * imports the Lua module's lua_type, lua_tolstring and memory and, for
 * stack slots 1..n, writes each value's type and, for strings, their
 * address and length to an out block in the Lua module's memory.
 *
 * redis.call reads every argument this way: per argument, the JS side made
 * two JS -> WASM calls (lua_type, lua_tolstring); BullMQ's scripts make
 * ~40 redis.calls of 2-12 arguments per job.
 *
 * Out block layout, 12 bytes per argument i (1-based) at out + 12*(i-1):
 * type (i32), then for strings the address (i32) and length (u32, written
 * by lua_tolstring through its len pointer). lua_tolstring never converts
 * or allocates for a value that already is a string.
 */
import type { Ptr, RawLua } from './wasm-module.js';

export type ArgScan = (L: Ptr, n: number, out: Ptr) => void;

const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_EQ = 0x46;
const I32_GT_S = 0x4a;
const I32_STORE = 0x36;
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const BR = 0x0c;
const BR_IF = 0x0d;
const VOID = 0x40;
const END = 0x0b;
const CALL = 0x10;
const I32 = 0x7f;
const LUA_TSTRING = 4;

// Imports: function 0 lua_type(L, idx), function 1 lua_tolstring(L, idx, len*).
// Locals: 0 L, 1 n, 2 out (advanced by 12 per argument), 3 i, 4 type.
const BODY = [
  I32_CONST, 1, LOCAL_SET, 3,
  BLOCK, VOID,
    LOOP, VOID,
      LOCAL_GET, 3, LOCAL_GET, 1, I32_GT_S, BR_IF, 1,
      LOCAL_GET, 2,
      LOCAL_GET, 0, LOCAL_GET, 3, CALL, 0, LOCAL_TEE, 4,
      I32_STORE, 2, 0,
      LOCAL_GET, 4, I32_CONST, LUA_TSTRING, I32_EQ, IF, VOID,
        LOCAL_GET, 2,
        LOCAL_GET, 0, LOCAL_GET, 3, LOCAL_GET, 2, I32_CONST, 8, I32_ADD, CALL, 1,
        I32_STORE, 2, 4,
      END,
      LOCAL_GET, 2, I32_CONST, 12, I32_ADD, LOCAL_SET, 2,
      LOCAL_GET, 3, I32_CONST, 1, I32_ADD, LOCAL_SET, 3,
      BR, 0,
    END,
  END,
  END,
];

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function name(s: string): number[] {
  return [...uleb(s.length), ...Buffer.from(s, 'latin1')];
}

function moduleBytes(): ArrayBuffer {
  const FUNC = 0x60;
  const types = [3, FUNC, 2, I32, I32, 1, I32, FUNC, 3, I32, I32, I32, 1, I32, FUNC, 3, I32, I32, I32, 0];
  const imports = [
    3,
    ...name('m'), ...name('type'), 0x00, 0,
    ...name('m'), ...name('tolstring'), 0x00, 1,
    ...name('m'), ...name('mem'), 0x02, 0x00, 0,
  ];
  const functions = [1, 2];
  const exports = [1, ...name('scan'), 0x00, 2];
  const fn = [1, 2, I32, ...BODY]; // one local group: 2 x i32
  const code = [1, ...uleb(fn.length), ...fn];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, functions),
    ...section(7, exports),
    ...section(10, code),
  ]).buffer;
}

/** The scanner over the module's own functions and memory; null when they are not at hand (the caller reads argument by argument). */
export function createArgScan(m: RawLua): ArgScan | null {
  const mem = m.__memory;
  if (mem === undefined || !isWasmFunction(m._lua_type) || !isWasmFunction(m._lua_tolstring)) return null;
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), { m: { type: m._lua_type, tolstring: m._lua_tolstring, mem } });
    return inst.exports.scan as ArgScan;
  } catch {
    return null;
  }
}

/** A function exported by a WASM instance (its name is its index), not a JS wrapper: importing it keeps calls inside WASM. */
function isWasmFunction(f: unknown): boolean {
  return typeof f === 'function' && /^\d+$/.test(f.name) && /\[native code\]/.test(Function.prototype.toString.call(f));
}
