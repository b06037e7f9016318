/**
 * Score and lex intervals of the ZRANGE family (zrangespec/zlexrangespec)
 * and the tests of one value against their ends.
 */

/** A score interval; min/max may be +-Infinity, each end open or closed. */
export interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

/** A lex interval: `null` as min means "-", as max means "+". */
export interface LexRange {
  min: string | null;
  max: string | null;
  minex: boolean;
  maxex: boolean;
  /** "+" given as min or "-" as max: nothing can match. */
  empty: boolean;
}

export function gteMin(v: number, r: ScoreRange): boolean {
  return r.minex ? v > r.min : v >= r.min;
}
export function lteMax(v: number, r: ScoreRange): boolean {
  return r.maxex ? v < r.max : v <= r.max;
}
export function lexGteMin(v: string, r: LexRange): boolean {
  if (r.min === null) return true;
  return r.minex ? v > r.min : v >= r.min;
}
export function lexLteMax(v: string, r: LexRange): boolean {
  if (r.max === null) return true;
  return r.maxex ? v < r.max : v <= r.max;
}

export function scoreRangeEmpty(r: ScoreRange): boolean {
  return r.min > r.max || (r.min === r.max && (r.minex || r.maxex));
}
export function lexRangeEmpty(r: LexRange): boolean {
  if (r.empty) return true;
  if (r.min === null || r.max === null) return false;
  return r.min > r.max || (r.min === r.max && (r.minex || r.maxex));
}
