/**
 * The few pieces the hand-assembled WASM helpers (wasm-alloc.ts,
 * wasm-args.ts, wasm-fill.ts, wasm-reply.ts) share: the opcodes they use,
 * LEB128 and name encoding, a module's bytes from its sections, and the
 * check that a function to import is a WASM export rather than a JS wrapper.
 * Each helper is one small function body written as bytes next to the code
 * that calls it; this file knows nothing of Lua.
 */

export const BLOCK = 0x02;
export const LOOP = 0x03;
export const IF = 0x04;
export const ELSE = 0x05;
export const END = 0x0b;
export const BR = 0x0c;
export const BR_IF = 0x0d;
export const RETURN = 0x0f;
export const CALL = 0x10;
export const DROP = 0x1a;
export const LOCAL_GET = 0x20;
export const LOCAL_SET = 0x21;
export const LOCAL_TEE = 0x22;
export const I32_LOAD = 0x28;
export const F64_LOAD = 0x2b;
export const I32_STORE = 0x36;
export const F64_STORE = 0x39;
export const I32_CONST = 0x41;
export const I32_EQZ = 0x45;
export const I32_EQ = 0x46;
export const I32_LT_S = 0x48;
export const I32_GT_S = 0x4a;
export const I32_GT_U = 0x4b;
export const I32_NE = 0x47;
export const I32_LT_U = 0x49;
export const I32_LE_U = 0x4d;
export const I32_GE_S = 0x4e;
export const F64_GT = 0x64;
export const I32_ADD = 0x6a;
export const I32_SUB = 0x6b;
export const I32_MUL = 0x6c;
export const I32_SHL = 0x74;
export const I32_SHR_U = 0x76;
export const F64_ADD = 0xa0;
export const F64_SUB = 0xa1;
export const I64_TRUNC_F64_S = 0xb0;
export const I64_EXTEND_I32_U = 0xad;
export const F64_CONVERT_I32_U = 0xb8;
/** Block type of a block, loop or if with no result. */
export const VOID = 0x40;
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;
/** The function type constructor in the type section. */
export const FUNC = 0x60;
/** -2 as a signed LEB128 byte (an i32.const / i64.const operand). */
export const MINUS_TWO = 0x7e;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** i32.const n, n as a signed LEB128. */
export function i32Const(n: number): number[] {
  const out: number[] = [I32_CONST];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A name as the import and export sections hold it. */
export function name(s: string): number[] {
  return [...uleb(s.length), ...Buffer.from(s, 'latin1')];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

/** A function body's entry in the code section: its locals (one group of `i32Locals` i32s) and its code. */
export function body(i32Locals: number, code: number[]): number[] {
  const fn = [1, i32Locals, I32, ...code];
  return [...uleb(fn.length), ...fn];
}

/**
 * A module's bytes from its sections' payloads (each already with its
 * count): type, import, function, memory (optional), export, code.
 */
export function moduleBytes(s: { types: number[]; imports: number[]; functions: number[]; memory?: number[]; exports: number[]; code: number[] }): ArrayBuffer {
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, s.types),
    ...section(2, s.imports),
    ...section(3, s.functions),
    ...(s.memory ? section(5, s.memory) : []),
    ...section(7, s.exports),
    ...section(10, s.code),
  ]).buffer;
}

/** A function exported by a WASM instance (its name is its index), not a JS wrapper: importing it keeps calls inside WASM. */
export function isWasmFunction(f: unknown): boolean {
  return typeof f === 'function' && /^\d+$/.test(f.name) && /\[native code\]/.test(Function.prototype.toString.call(f));
}

/**
 * A helper module's exports, instantiated over the functions it imports and
 * the memory, all as module "m"; null when the memory is missing, a function
 * is a JS wrapper rather than a WASM export, or instantiation fails (the
 * caller then does the work call by call).
 */
export function instantiateHelper(bytes: ArrayBuffer, mem: WebAssembly.Memory | undefined, fns: Record<string, unknown>): WebAssembly.Exports | null {
  if (mem === undefined || !Object.values(fns).every(isWasmFunction)) return null;
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { ...fns, mem } }).exports;
  } catch {
    return null;
  }
}
