/**
 * Floats as Lua 5.1 writes them: 10/2 is "5", not 5.4's "5.0".
 *
 * Lua 5.4 has integer and float numbers and marks a float that prints
 * like an integer with ".0" (lobject.c's tostringbuff: when strspn(buff,
 * "-0123456789") reaches the end of the "%.14g" text, it appends the
 * decimal point and a 0). Redis's 5.1 has only doubles and prints them
 * with "%.14g" alone. Scripts observe it wherever a number becomes a
 * string inside the VM: `'job:' .. n / 2` (a key name), string.upper(n),
 * tostring, the # of a coerced number. Redis users' keys must not change.
 *
 * The module is prebuilt, so its one copy of that accept-set literal is
 * emptied in the instance's memory before any state exists: strspn then
 * stops at the first char, the test never holds, and "%.14g" is all that
 * is written, as in 5.1. Nothing else in the module uses the literal (it
 * occurs once in glue.wasm, and is found here exactly once, or the patch
 * is not made and the server says so).
 */
import { findOnce } from './wasm-edit.js';

const LITERAL = Buffer.from('-0123456789\0', 'latin1');

/** Returns whether the literal was found once and emptied. */
export function printFloatsAs51(heap: Uint8Array): boolean {
  const mem = Buffer.from(heap.buffer, heap.byteOffset, heap.byteLength);
  const at = findOnce(mem, LITERAL);
  if (at < 0) return false;
  mem[at] = 0;
  return true;
}
