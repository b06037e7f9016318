/**
 * Tables re-hashed as Lua 5.1 re-hashes them, so pairs() walks a table in
 * the order Redis's Lua walks it.
 *
 * When a table's hash part grows (luaH_resize), every key is inserted again
 * into the new node array. Lua 5.1 walks the old nodes from the last to the
 * first (ltable.c: `for (i = twoto(oldhsize) - 1; i >= 0; i--)`); Lua 5.4's
 * reinsert() walks them from the first. Keys that collide then end up in
 * each other's nodes, and next() (pairs) meets them in another order: a
 * table filled key by key past a few keys, as cjson.decode and
 * cmsgpack.unpack fill theirs, or a script's own loop, is walked in another
 * order than in Redis, and what cjson.encode / cmsgpack.pack make of it, or
 * the order a script writes fields in, differs from Redis's.
 *
 * The module is prebuilt (wasmoon 1.16.0's glue.wasm), so the loop is turned
 * around in its bytes before it is compiled: the 117 bytes of reinsert's
 * loop (inlined in luaH_resize) are found exactly once, or nothing is
 * changed and the server says so. The loop counter (local 5) counted 0 up
 * to the node count (local 4); it now starts at the count and is
 * decremented before each node, which is then the same body on nodes
 * count-1 down to 0. The body is moved by three bytes, unchanged (branches
 * in WASM name enclosing blocks, not byte offsets); a nop keeps the length.
 */
import { findOnce } from './wasm-edit.js';

const HEAD = '41002105' + '0340'; // i32.const 0; local.set 5; loop
const BODY =
  '02402008200541186c6a22022d0008410f71450d0020062002290310370320200620022d00093a00282001200641206a2207108e0422032d000841204604402000200120072002108d040c010b20032002290300370300200320022d00083a00080b';
const TAIL = '200541016a22052004470d00' + '0b'; // local.get 5; i32.const 1; i32.add; local.tee 5; local.get 4; i32.ne; br_if 0; end

const OLD = Buffer.from(HEAD + BODY + TAIL, 'hex');
const NEW = Buffer.from(
  '20042105' + // local.get 4; local.set 5          (the node count)
    '0340' + // loop
    '200541016b2105' + // local.get 5; i32.const 1; i32.sub; local.set 5
    BODY +
    '20050d00' + // local.get 5; br_if 0           (until node 0 is done)
    '01' + // nop
    '0b', // end
  'hex',
);

/** Patches the module's bytes in place; returns whether the loop was found once and turned around. */
export function reinsertAsLua51(bytes: Uint8Array): boolean {
  if (OLD.length !== NEW.length) return false;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = findOnce(b, OLD);
  if (at < 0) return false;
  NEW.copy(b, at);
  return true;
}

/**
 * Lua 5.1 gives a key a node even when the value stored is nil:
 * `t[k] = nil` for a k the table does not hold goes through luaH_set, which
 * makes the key and then stores nil in it. Lua 5.4's luaH_newkey returns
 * first ("do not insert nil values"). The node taken, the free slot moved
 * and the rehash it may trigger all shape where later keys land, so a table
 * that had absent keys set to nil (a loop deleting ids it may not hold) was
 * walked in another order than in Redis. The early return is a `br_if` on
 * the value's type (local 3: ttisnil(value)) right before mainpositionTV;
 * it becomes `drop; nop`, found exactly once as the other patch here is.
 */
const NEW_NIL_KEY = Buffer.from('20032d0008410f7145' + '0d03' + '200120021091' + '04', 'hex');
const NEW_NIL_KEY_AT = 9; // offset of br_if 3

/** Patches the module's bytes in place; returns whether the early return was found once and removed. */
export function nilKeysTakeNodesAs51(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = findOnce(b, NEW_NIL_KEY);
  if (at < 0) return false;
  b[at + NEW_NIL_KEY_AT] = 0x1a; // drop (the condition)
  b[at + NEW_NIL_KEY_AT + 1] = 0x01; // nop
  return true;
}
