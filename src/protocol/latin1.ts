/**
 * Node's Buffer has fast latin1 methods that its typings do not declare
 * (`buf.toString('latin1', a, b)` goes through an encoding switch first;
 * these skip it on the hot path). Present in every Node since v6.
 */
declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    latin1Write(s: string, offset: number, length?: number): number;
  }
}

/**
 * Short arguments are built in JS with String.fromCharCode(b0, b1, ...):
 * a call into C++ (latin1Slice) costs more than copying a key of up to a
 * few dozen bytes, measured 2-3x. One function per length keeps each call
 * site monomorphic; the result is a flat one-byte string either way.
 */
const SHORT_MAX = 24;
const shortSlicers: ((b: Buffer, s: number) => string)[] = [];
for (let n = 0; n <= SHORT_MAX; n++) {
  const args = Array.from({ length: n }, (_, i) => `b[s + ${i}]`).join(', ');
  shortSlicers.push(new Function('b', 's', `return String.fromCharCode(${args});`) as (b: Buffer, s: number) => string);
}

/** One-byte arguments ('*', '-', '+', '~', single-letter keys and fields) without a call. */
const ONE_BYTE: string[] = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));

/** The bytes buf[from, from + len) as a latin1 string (one char per byte). */
export function latin1(buf: Buffer, from: number, len: number): string {
  if (len === 1) return ONE_BYTE[buf[from]];
  return len <= SHORT_MAX ? shortSlicers[len](buf, from) : buf.latin1Slice(from, from + len);
}
