/**
 * Strings read as numbers as Lua 5.1 reads them: "inf", "nan" and
 * "infinity" (any case, signed, space around) are numbers too.
 *
 * Lua 5.1's luaO_str2d takes whatever strtod takes, so in Redis
 * tonumber('inf') is inf, tonumber('nan') is nan and 'inf' + 1 is inf.
 * Lua 5.4's l_str2d rejects any string with an 'n' or 'N' in it before
 * calling strtod: it looks for the first of ".xXnN" (strpbrk) and returns
 * "not a number" when that is an n. With the n's taken out of the literal
 * the first of ".xX" decides hex or decimal as before, and strtod (musl's,
 * which reads inf, infinity and nan as glibc's does) has the last word.
 * Numerals in source code cannot contain an n, so only strings read at run
 * time change.
 *
 * The module is prebuilt, so the literal is cut short in the instance's
 * memory before any state exists, as float-text.ts does with its own: it
 * occurs once in glue.wasm and is used by l_str2d alone, and is found here
 * exactly once, or nothing changes and the server says so.
 */
import { findOnce } from './wasm-edit.js';

const LITERAL = Buffer.from('.xXnN\0', 'latin1');

/** Returns whether the literal was found once and cut to ".xX". */
export function readInfNanAs51(heap: Uint8Array): boolean {
  const mem = Buffer.from(heap.buffer, heap.byteOffset, heap.byteLength);
  const at = findOnce(mem, LITERAL);
  if (at < 0) return false;
  mem[at + 3] = 0;
  return true;
}
