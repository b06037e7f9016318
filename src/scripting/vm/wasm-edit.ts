/**
 * One edit of a compiled module that byte-for-byte patches cannot make:
 * adding a function. Its type is appended to the type section, its entry to
 * the function section and its body to the code section, so it takes the
 * next function index and no existing index moves (imports come first, then
 * the module's own functions in order; nothing in a module addresses code by
 * byte offset). Used by number-keys.ts, whose patched call sites call it.
 */
import { uleb } from './wasm-asm.js';

/**
 * Where `pattern` occurs in `bytes`, if it occurs exactly once; else -1. The
 * patches of the prebuilt module (and of its memory) change a place only
 * when it is the one they were written for.
 */
export function findOnce(bytes: Uint8Array, pattern: Uint8Array): number {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = b.indexOf(pattern);
  return at >= 0 && b.indexOf(pattern, at + 1) < 0 ? at : -1;
}

/** Reads an unsigned LEB128 at p: its value and where the next byte is. */
function readUleb(b: Uint8Array, p: number): { v: number; next: number } {
  let v = 0;
  let shift = 0;
  for (;;) {
    const x = b[p++]!;
    v += (x & 0x7f) * 2 ** shift;
    if ((x & 0x80) === 0) return { v, next: p };
    shift += 7;
  }
}

interface Section {
  id: number;
  /** Where the section's id byte is, and where its payload starts and ends. */
  at: number;
  start: number;
  end: number;
}

function sections(b: Uint8Array): Section[] {
  const out: Section[] = [];
  let p = 8;
  while (p < b.length) {
    const id = b[p]!;
    const { v: size, next } = readUleb(b, p + 1);
    out.push({ id, at: p, start: next, end: next + size });
    p = next + size;
  }
  return out;
}

/** How many functions the import section brings (they take the first indexes). */
function importedFunctions(b: Uint8Array, s: Section): number {
  let { v: count, next: p } = readUleb(b, s.start);
  let funcs = 0;
  const skipName = (): void => {
    const n = readUleb(b, p);
    p = n.next + n.v;
  };
  const skipLimits = (): void => {
    const flags = b[p++]!;
    p = readUleb(b, p).next;
    if (flags & 1) p = readUleb(b, p).next;
  };
  while (count-- > 0) {
    skipName();
    skipName();
    const kind = b[p++]!;
    if (kind === 0) {
      funcs++;
      p = readUleb(b, p).next;
    } else if (kind === 1) {
      p++; // reference type
      skipLimits();
    } else if (kind === 2) {
      skipLimits();
    } else if (kind === 3) {
      p += 2; // value type, mutability
    } else {
      throw new Error(`import kind ${kind}`);
    }
  }
  return funcs;
}

/** A vector section with `extra` appended to its entries (count + 1), as pieces (the entries are not copied here). */
function withEntry(b: Uint8Array, s: Section, extra: number[]): (Uint8Array | number[])[] {
  const { v: count, next } = readUleb(b, s.start);
  const countBytes = uleb(count + 1);
  const entries = b.subarray(next, s.end);
  return [[s.id, ...uleb(countBytes.length + entries.length + extra.length), ...countBytes], entries, extra];
}

/** The index the next appended function will take (imported functions, then the module's own). */
export function nextFunctionIndex(b: Uint8Array): number | null {
  const all = sections(b);
  const funcSec = all.find((s) => s.id === 3);
  if (funcSec === undefined) return null;
  const importSec = all.find((s) => s.id === 2);
  return (importSec === undefined ? 0 : importedFunctions(b, importSec)) + readUleb(b, funcSec.start).v;
}

/**
 * The module with one more function: `type` is its type entry (0x60,
 * params, results), `body` its code entry as wasm-asm's body() makes it.
 * Returns the new bytes and the function's index; null if the module lacks
 * a type, function or code section.
 */
export function appendFunction(b: Uint8Array, type: number[], body: number[]): { bytes: Uint8Array; index: number } | null {
  const all = sections(b);
  const typeSec = all.find((s) => s.id === 1);
  const funcSec = all.find((s) => s.id === 3);
  const codeSec = all.find((s) => s.id === 10);
  if (typeSec === undefined || funcSec === undefined || codeSec === undefined) return null;
  const typeIndex = readUleb(b, typeSec.start).v;
  const index = nextFunctionIndex(b)!;
  const parts: (Uint8Array | number[])[] = [b.subarray(0, 8)];
  for (const s of all) {
    if (s === typeSec) parts.push(...withEntry(b, s, type));
    else if (s === funcSec) parts.push(...withEntry(b, s, uleb(typeIndex)));
    else if (s === codeSec) parts.push(...withEntry(b, s, body));
    else parts.push(b.subarray(s.at, s.end));
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, index };
}
