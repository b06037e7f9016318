/**
 * Number keys hashed as Lua 5.1 hashes them, so pairs() walks a table with
 * number keys (ids, timestamps, sparse indexes) in the order Redis's Lua does.
 *
 * Lua 5.1 has only doubles: a number key's main position is the sum of the
 * double's two 32-bit words modulo (node count - 1) | 1, node 0 for zero
 * (ltable.c hashnum). Lua 5.4 takes the integer itself modulo the same
 * (hashint), so keys that share a node, and the order next() meets them
 * in, differed: {[10]=1, [20]=2, [30]=3, [5]=4, [100]=5} walked 20 30 10
 * ... in Redis and 10 5 20 ... here.
 *
 * The module is prebuilt and clang inlined hashint into the table functions
 * (ten places) and l_hashfloat into mainposition (one), so each place is
 * rewritten in the module's bytes before it is compiled, to call one of two
 * functions added to the module (hash51 and hash51bits below; see
 * wasm-edit.ts) instead of taking the remainder:
 *  - seven general places: `block (result i32)`, the key's range test, an
 *    int branch (i32.rem_s) and an i64 one (i64.rem_u); everything after the
 *    test's operand becomes drop; key; (node count - 1) | 1; call hash51;
 *    nops;
 *  - one with the constant key LUA_MAXINTEGER: its i64.rem_u becomes the call;
 *  - two where the key is known to fit 32 bits unsigned (luaH_resize moving
 *    array items into the hash part, and the same inlined elsewhere): the
 *    signed / unsigned remainder pair becomes drop; key (zero-extended);
 *    (count - 1) | 1; call.
 * Float keys that are not integers (2.5) are hashed in one place
 * (mainposition's inlined l_hashfloat, a frexp-based mix): that block and
 * its remainder become key bits; (count - 1) | 1; call hash51bits.
 * Every place must change, or keys stored through one would not be found
 * through another: the counts are checked, and if any differs nothing is
 * changed and the server says so.
 */
import { I32, I64, uleb } from './wasm-asm.js';
import { appendFunction, nextFunctionIndex } from './wasm-edit.js';

/** A local index (one LEB byte). */
const L = '([0-7][0-9a-f])';
/** (sizenode(t) - 1) | 1 for the Table in local t: i32.const -1; local.get t; i32.load8_u offset=7; i32.shl; i32.const -1; i32.xor; i32.const 1; i32.or. */
const nodeMod = (t: string): string => `417f20${t}2d000774417f73410172`;
const GENERAL = new RegExp(`42ffffffff(?:07|03|0f)580440` + `20${L}a7${nodeMod(L)}6f0c010b` + `20\\1(?:)${nodeMod('\\2(?:)')}ad82a7`, 'g');
const CONSTANT = new RegExp(`42ffffffffffffffffff00${nodeMod(L)}(ad82a7)`, 'g');
const U32 = new RegExp(`41004e0440` + `20${L}20${L}6f0c010b` + `20\\1(?:)20\\2(?:)70`, 'g');
/**
 * mainposition's float case, from its `block` to the remainder: the double at
 * the key (local 1), frexp (call 605), the scaled integer part plus the
 * exponent folded to a non-negative int, then % ((count - 1) | 1) of the
 * Table in local 0.
 */
const FLOAT =
  '0240' + '20012b0300' + '2005410c6a10dd04' + '44000000000000e041a22207' + '44000000000000e0c366450d00' +
  '200744000000000000e04363450d00' + '200528020c027e' + '20079944000000000000e043630440' + '2007b00c010b' +
  '428080808080808080807f0b' + 'a76a2201411f75200173' + '21030b' + '2003' + nodeMod('00') + '6f';
const SITES = { general: 7, constant: 1, u32: 2, float: 1 };

const NOP = '01';
/** hash51(key i64, mod i32) -> i32: 0 for 0, else (lo + hi of (double)key) % mod, unsigned. */
const HASH51_TYPE = [0x60, 2, I64, I32, 1, I32];
const HASH51_CODE = [
  0x20, 0, 0x50, 0x04, I32, // local.get 0; i64.eqz; if (result i32)
  0x41, 0, // i32.const 0
  0x05, // else
  0x20, 0, 0xb9, 0xbd, 0x22, 2, // local.get 0; f64.convert_i64_s; i64.reinterpret_f64; local.tee 2
  0xa7, 0x20, 2, 0x42, 32, 0x88, 0xa7, 0x6a, // i32.wrap_i64; local.get 2; i64.const 32; i64.shr_u; i32.wrap_i64; i32.add
  0x20, 1, 0x70, // local.get 1; i32.rem_u
  0x0b, 0x0b, // end; end
];
const HASH51_BODY = ((): number[] => {
  const fn = [1, 1, I64, ...HASH51_CODE];
  return [...uleb(fn.length), ...fn];
})();
/** hash51bits(bits i64, mod i32) -> i32: the same for a double given by its bits (0 for +-0). */
const HASH51_BITS_CODE = [
  0x20, 0, 0x42, 1, 0x86, 0x50, 0x04, I32, // local.get 0; i64.const 1; i64.shl; i64.eqz; if (result i32)
  0x41, 0, // i32.const 0
  0x05, // else
  0x20, 0, 0xa7, 0x20, 0, 0x42, 32, 0x88, 0xa7, 0x6a, // lo + hi
  0x20, 1, 0x70, // local.get 1; i32.rem_u
  0x0b, 0x0b,
];
const HASH51_BITS_BODY = ((): number[] => {
  const fn = [0, ...HASH51_BITS_CODE];
  return [...uleb(fn.length), ...fn];
})();

function matches(hex: string, re: RegExp): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(hex)) !== null) if (m.index % 2 === 0) out.push(m);
  return out;
}

/** Same-length replacement of the hex at m with `code`, padded with nops. */
function replaced(hex: string, at: number, length: number, code: string): string {
  return hex.slice(0, at) + code + NOP.repeat((length - code.length) / 2) + hex.slice(at + length);
}

/** The module's bytes with number keys hashed as 5.1 hashes them, or null (unchanged) if the places are not all found. */
export function numberKeysAs51(bytes: Uint8Array): Uint8Array | null {
  try {
    return patched(bytes);
  } catch {
    // A module this reader does not follow (wasm-edit.ts throws on an import kind it does not know).
    return null;
  }
}

function patched(bytes: Uint8Array): Uint8Array | null {
  const index = nextFunctionIndex(bytes);
  // Both calls must take three bytes: a two-byte LEB index.
  if (index === null || index < 128 || index + 1 >= 16384) return null;
  const call = '10' + Buffer.from(uleb(index)).toString('hex');
  const callBits = '10' + Buffer.from(uleb(index + 1)).toString('hex');
  let hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  const general = matches(hex, GENERAL);
  const constant = matches(hex, CONSTANT);
  const u32 = matches(hex, U32);
  const float = matches(hex, new RegExp(FLOAT, 'g'));
  if (general.length !== SITES.general || constant.length !== SITES.constant || u32.length !== SITES.u32 || float.length !== SITES.float) return null;
  // Same-length edits: offsets found above stay valid.
  for (const m of general) hex = replaced(hex, m.index, m[0].length, `1a20${m[1]}${nodeMod(m[2]!)}${call}`);
  for (const m of constant) hex = replaced(hex, m.index + m[0].length - 6, 6, call);
  for (const m of u32) hex = replaced(hex, m.index, m[0].length, `1a20${m[1]}ad20${m[2]}${call}`);
  // local.get 1; f64.load; i64.reinterpret_f64; (count - 1) | 1; call hash51bits
  for (const m of float) hex = replaced(hex, m.index, m[0].length, `20012b0300bd${nodeMod('00')}${callBits}`);
  const one = appendFunction(Buffer.from(hex, 'hex'), HASH51_TYPE, HASH51_BODY);
  const two = one === null ? null : appendFunction(one.bytes, HASH51_TYPE, HASH51_BITS_BODY);
  return one !== null && two !== null && one.index === index && two.index === index + 1 ? two.bytes : null;
}
