/**
 * Reading a table a script returns in few boundary crossings: a tiny WASM
 * module, hand-assembled like wasm-args.ts, importing the Lua module's
 * lua_pushstring, lua_rawget, lua_rawgeti, lua_tolstring, lua_settop and
 * memory. Two functions:
 *
 * - probe(L, t, names, n, out): for each of the n NUL-terminated names
 *   whose addresses are the i32s at `names`, the type of t[name] (raw) as
 *   an i32 at out + 4*k. The stack is left as it was.
 * - scan(L, t, max, out): the types of t[1], t[2], ... (raw) up to the
 *   first nil or `max` of them, 12 bytes each at out: type, then for
 *   strings their address and length. Returns how many there were.
 *
 * A script's reply (writeLuaAsReply) asks a table for err, ok, double,
 * big_number, verbatim_string, map and set before walking it as an array:
 * four calls each, then five or so per element, became two calls.
 */
import type { Ptr, RawLua } from './wasm-module.js';
import { BLOCK, LOOP, IF, END, BR, BR_IF, RETURN, CALL, DROP, LOCAL_GET, LOCAL_SET, LOCAL_TEE, I32_LOAD, I32_STORE, I32_CONST, I32_EQ, I32_GE_S, I32_ADD, I64_EXTEND_I32_U, VOID, I32, I64, FUNC, MINUS_TWO, moduleBytes, instantiateHelper, name, body } from './wasm-asm.js';

export interface ReplyReader {
  probe: (L: Ptr, t: number, names: Ptr, n: number, out: Ptr) => void;
  scan: (L: Ptr, t: number, max: number, out: Ptr) => number;
}

const LUA_TNIL = 0;
const LUA_TSTRING = 4;

// Imports: 0 lua_pushstring(L, s), 1 lua_rawget(L, idx), 2 lua_settop(L, idx),
// 3 lua_rawgeti(L, idx, n), 4 lua_tolstring(L, idx, len*). Function 5 probe, 6 scan.

// probe. Locals: 0 L, 1 t, 2 names, 3 n, 4 out; 5 k.
const PROBE = [
  I32_CONST, 0, LOCAL_SET, 5,
  BLOCK, VOID,
    LOOP, VOID,
      LOCAL_GET, 5, LOCAL_GET, 3, I32_GE_S, BR_IF, 1,
      LOCAL_GET, 0, LOCAL_GET, 2, I32_LOAD, 2, 0, CALL, 0, DROP,
      LOCAL_GET, 4,
      LOCAL_GET, 0, LOCAL_GET, 1, CALL, 1,
      I32_STORE, 2, 0,
      LOCAL_GET, 0, I32_CONST, MINUS_TWO, CALL, 2,
      LOCAL_GET, 2, I32_CONST, 4, I32_ADD, LOCAL_SET, 2,
      LOCAL_GET, 4, I32_CONST, 4, I32_ADD, LOCAL_SET, 4,
      LOCAL_GET, 5, I32_CONST, 1, I32_ADD, LOCAL_SET, 5,
      BR, 0,
    END,
  END,
  END,
];

// scan. Locals: 0 L, 1 t, 2 max, 3 out (advanced by 12); 4 i (elements read so far), 5 type.
const SCAN = [
  I32_CONST, 0, LOCAL_SET, 4,
  BLOCK, VOID,
    LOOP, VOID,
      LOCAL_GET, 4, LOCAL_GET, 2, I32_GE_S, BR_IF, 1,
      LOCAL_GET, 0, LOCAL_GET, 1, LOCAL_GET, 4, I32_CONST, 1, I32_ADD, I64_EXTEND_I32_U, CALL, 3, LOCAL_TEE, 5,
      I32_CONST, LUA_TNIL, I32_EQ, IF, VOID,
        LOCAL_GET, 0, I32_CONST, MINUS_TWO, CALL, 2,
        LOCAL_GET, 4, RETURN,
      END,
      LOCAL_GET, 3, LOCAL_GET, 5, I32_STORE, 2, 0,
      LOCAL_GET, 5, I32_CONST, LUA_TSTRING, I32_EQ, IF, VOID,
        LOCAL_GET, 3,
        LOCAL_GET, 0, I32_CONST, 0x7f /* -1 */, LOCAL_GET, 3, I32_CONST, 8, I32_ADD, CALL, 4,
        I32_STORE, 2, 4,
      END,
      LOCAL_GET, 0, I32_CONST, MINUS_TWO, CALL, 2,
      LOCAL_GET, 3, I32_CONST, 12, I32_ADD, LOCAL_SET, 3,
      LOCAL_GET, 4, I32_CONST, 1, I32_ADD, LOCAL_SET, 4,
      BR, 0,
    END,
  END,
  LOCAL_GET, 4,
  END,
];


function helperModule(): ArrayBuffer {
  const types = [
    6,
    FUNC, 2, I32, I32, 1, I32, // 0: (i32 i32) -> i32           pushstring, rawget
    FUNC, 2, I32, I32, 0, // 1: (i32 i32) -> ()                  settop
    FUNC, 3, I32, I32, I64, 1, I32, // 2: (i32 i32 i64) -> i32   rawgeti
    FUNC, 3, I32, I32, I32, 1, I32, // 3: (i32 i32 i32) -> i32   tolstring
    FUNC, 5, I32, I32, I32, I32, I32, 0, // 4: probe
    FUNC, 4, I32, I32, I32, I32, 1, I32, // 5: scan
  ];
  const imports = [
    6,
    ...name('m'), ...name('pushstring'), 0x00, 0,
    ...name('m'), ...name('rawget'), 0x00, 0,
    ...name('m'), ...name('settop'), 0x00, 1,
    ...name('m'), ...name('rawgeti'), 0x00, 2,
    ...name('m'), ...name('tolstring'), 0x00, 3,
    ...name('m'), ...name('mem'), 0x02, 0x00, 0,
  ];
  const functions = [2, 4, 5];
  const exports = [2, ...name('probe'), 0x00, 5, ...name('scan'), 0x00, 6];
  const code = [2, ...body(1, PROBE), ...body(2, SCAN)];
  return moduleBytes({ types, imports, functions, exports, code });
}

/** The reader over the module's own functions and memory; null when they are not at hand (the caller reads field by field). */
export function createReplyReader(m: RawLua): ReplyReader | null {
  const ex = instantiateHelper(helperModule(), m.__memory, {
    pushstring: m._lua_pushstring,
    rawget: m._lua_rawget,
    settop: m._lua_settop,
    rawgeti: m._lua_rawgeti,
    tolstring: m._lua_tolstring,
  });
  return ex === null ? null : { probe: ex.probe as ReplyReader['probe'], scan: ex.scan as ReplyReader['scan'] };
}

