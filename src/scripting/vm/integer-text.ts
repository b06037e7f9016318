/**
 * Integers written as Lua 5.1 writes its numbers: as the double they are,
 * with "%.14g". Lua 5.1 has only doubles, so in Redis
 * `'k' .. 1796672035681 * 4096` gives "k7.3591686581494e+15" (BullMQ builds
 * such scores from timestamps); Lua 5.4 reads a literal like 4096 as an integer,
 * keeps integer products integers and writes them with "%lld", all digits.
 * Wherever a number becomes a string inside the VM (`..`, string.rep,
 * table.concat, string.format('%s'), string functions given a number) a
 * value of 15 digits or more then differed from Redis; below that, "%.14g"
 * writes every digit, as "%lld" does. (tostring is Redis's own, in JS.)
 *
 * The two places that write a number into text, tostringbuff (lobject.c)
 * and its copy inlined into lua_pushfstring's %d/%I, are each an
 * `if (ttisinteger(obj))` whose branch stores the integer for snprintf("%lld")
 * and leaves; the float path after it writes fltvalue(obj) with "%.14g" (and
 * no ".0": float-text.ts). The branch is replaced, in the module's bytes
 * before it is compiled, by `obj->value = (double)obj->value` (nops fill
 * the rest), so the integer falls through to the float path. Overwriting
 * the caller's TValue is safe: luaO_tostring replaces it with the string
 * right after, and pushfstring's is a local copy. Each branch is found
 * exactly once, or neither is changed and the server says so.
 */
import { findOnce } from './wasm-edit.js';

const OLD = [
  // tostringbuff: local.get 2; local.get 1; i64.load; i64.store; local.get 2; i32.const 32; i32.add;
  // i32.const 44; i32.const 6219 ("%lld"); local.get 2; call snprintf; local.set 3; br 1
  '20022001290300370300200241206a412c41cb30200210ee0421030c01',
  // the same inlined in luaO_pushvfstring (addnum2buff), on locals 4 and 2
  '200420012903003703002002412c41cb30200410ee0421010c01',
].map((h) => Buffer.from(h, 'hex'));

/** local.get 1; local.get 1; i64.load; f64.convert_i64_s; f64.store (align 3, offset 0). */
const TO_DOUBLE = Buffer.from('20012001290300b9390300', 'hex');
const NOP = 0x01;

/** Patches the module's bytes in place; returns whether both branches were found once and replaced. */
export function integersPrintAs51(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = OLD.map((p) => findOnce(b, p));
  if (at.some((i) => i < 0)) return false;
  OLD.forEach((p, k) => {
    b.fill(NOP, at[k]!, at[k]! + p.length);
    TO_DOUBLE.copy(b, at[k]!);
  });
  return true;
}
