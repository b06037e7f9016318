/**
 * What a Lua 5.1 pattern is, read as 5.1's matcher (lstrlib.c match) reads
 * it, so that string.gsub can run it on Lua 5.4's matcher and still answer
 * as Redis's Lua does. The two matchers walk a pattern the same way, item
 * by item, raising errors only at the item they reach; they differ in:
 *
 * - a NUL: 5.1 reads patterns as C strings, so the pattern ends there;
 * - %g / %G: a class in 5.4, the letter itself in 5.1;
 * - error texts: "invalid capture index" (5.4 adds "%N"), "unbalanced
 *   pattern" (5.4: "malformed pattern (missing arguments to '%b')").
 *
 * `pattern54` is the pattern 5.4's matcher matches as 5.1 matches the
 * original (cut at the NUL, %g spelled as the letter). The other fields
 * let gsub decide when 5.4's own gsub gives 5.1's answer (see lua51-gsub.ts).
 */

export interface PatternInfo {
  pattern54: string;
  /** Starts with '^': gsub tries one position only. */
  anchored: boolean;
  /**
   * Some item is malformed (an error 5.1 raises when a match reaches it).
   * A match reaches every item before it succeeds, so such a pattern never
   * matches: it either fails or raises.
   */
  malformed: boolean;
  /** Captures in the pattern ('(' count). */
  captures: number;
  /**
   * Captures (1-based) still open at the end of the pattern: a match
   * succeeds with them unfinished, and reading one raises "unfinished
   * capture". pattern54 closes them, so 5.4's find can report the others.
   */
  unfinished: number[];
  /** A match may be empty (no item must consume a byte); conservative. */
  mayMatchEmpty: boolean;
}

/** LUA_MAXCAPTURES, the same in 5.1 and 5.4. */
const MAX_CAPTURES = 32;
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * Where the set starting at p[i] === '[' ends (index after its ']'), as
 * 5.1's classend finds it; -1 when it does not end (missing ']').
 */
function setEnd(p: string, i: number): number {
  let j = i + 1;
  if (p[j] === '^') j++;
  do {
    if (j >= p.length) return -1;
    if (p[j++] === '%' && j < p.length) j++;
  } while (p[j] !== ']');
  return j + 1;
}

/**
 * The set p[i..end) for 5.4, walked as 5.1's matchbracketclass walks it:
 * %g / %G (the letter in 5.1) become the range g-g / G-G, which cannot
 * join a range with what follows, as a letter could.
 */
function setFor54(p: string, i: number, end: number): string {
  const ec = end - 1; // the ']'
  let out = '[';
  let j = i;
  if (p[j + 1] === '^') {
    out += '^';
    j++;
  }
  while (++j < ec) {
    if (p[j] === '%') {
      j++;
      const c = p[j]!;
      out += c === 'g' || c === 'G' ? `${c}-${c}` : `%${c}`;
    } else if (p[j + 1] === '-' && j + 2 < ec) {
      out += p.slice(j, j + 3);
      j += 2;
    } else out += p[j];
  }
  return out + ']';
}

/**
 * `anchors`: a leading '^' anchors the match (gsub, find, match); gmatch
 * reads it as the character itself.
 */
export function analysePattern(pattern: string, anchors = true): PatternInfo {
  const nul = pattern.indexOf('\0');
  const p = nul >= 0 ? pattern.slice(0, nul) : pattern;
  const n = p.length;
  const anchored = anchors && p[0] === '^';
  let i = anchored ? 1 : 0;
  let out = anchored ? '^' : '';
  let malformed = false;
  let captures = 0;
  const open: number[] = [];
  let mustConsume = false;
  let endAnchor = false;
  while (i < n) {
    const item = nextItem(p, i, captures, open);
    if (item === null) {
      // 5.4 raises the same error at the same item: it gets the rest as it is
      malformed = true;
      out += p.slice(i);
      break;
    }
    if (item.opens) {
      captures++;
      if (item.text === '(') open.push(captures);
    }
    if (item.closes) open.pop();
    if (item.consumes) mustConsume = true;
    endAnchor = item.text === '$' && item.end === n;
    out += item.text;
    i = item.end;
  }
  const unfinished = malformed ? [] : open.slice().sort((a, b) => a - b);
  if (unfinished.length > 0) {
    // closed where the pattern ends (before a final '$', which must stay last)
    const closers = ')'.repeat(unfinished.length);
    out = endAnchor ? out.slice(0, -1) + closers + '$' : out + closers;
  }
  return { pattern54: out, anchored, malformed, captures, unfinished, mayMatchEmpty: !mustConsume };
}

interface Item {
  /** The item as 5.4 is to read it. */
  text: string;
  /** Index after the item. */
  end: number;
  opens?: boolean;
  closes?: boolean;
  /** It cannot match without consuming a byte. */
  consumes?: boolean;
}

/**
 * The pattern item at p[i] as 5.1's match() reads it, or null where match()
 * raises an error on reaching it. `captures`: how many were opened before,
 * `open`: which of them are not closed yet.
 */
function nextItem(p: string, i: number, captures: number, open: number[]): Item | null {
  const n = p.length;
  const c = p[i]!;
  if (c === '(') {
    if (captures >= MAX_CAPTURES) return null; // "too many captures"
    return p[i + 1] === ')' ? { text: '()', end: i + 2, opens: true } : { text: '(', end: i + 1, opens: true };
  }
  if (c === ')') {
    if (open.length === 0) return null; // "invalid pattern capture"
    return { text: ')', end: i + 1, closes: true };
  }
  if (c === '$' && i + 1 === n) return { text: '$', end: n };
  if (c === '%') {
    const d = p[i + 1];
    if (d === 'b') {
      if (i + 3 >= n) return null; // "unbalanced pattern"
      return { text: p.slice(i, i + 4), end: i + 4, consumes: true };
    }
    if (d === 'f') {
      const end = p[i + 2] === '[' ? setEnd(p, i + 2) : -1;
      if (end < 0) return null; // "missing '[' after '%f' in pattern", "malformed pattern (missing ']')"
      return { text: '%f' + setFor54(p, i + 2, end), end };
    }
    if (isDigit(d)) {
      // a back reference: to a capture opened before it and closed by now
      const l = Number(d);
      if (l === 0 || l > captures || open.includes(l)) return null; // "invalid capture index"
      return { text: p.slice(i, i + 2), end: i + 2 };
    }
  }
  // a single-character class, maybe with a repetition
  let end: number;
  let text: string;
  if (c === '%') {
    if (i + 1 >= n) return null; // "malformed pattern (ends with '%')"
    const k = p[i + 1]!;
    text = k === 'g' || k === 'G' ? k : p.slice(i, i + 2);
    end = i + 2;
  } else if (c === '[') {
    end = setEnd(p, i);
    if (end < 0) return null; // "malformed pattern (missing ']')"
    text = setFor54(p, i, end);
  } else {
    // ('^' is only special first in a 5.4 pattern; escaped it is the character anywhere)
    text = c === '^' ? '%^' : c;
    end = i + 1;
  }
  const q = p[end];
  if (q === '?' || q === '*' || q === '-') return { text: text + q, end: end + 1 };
  if (q === '+') return { text: text + q, end: end + 1, consumes: true };
  return { text, end, consumes: true };
}

const caches = { anchors: new Map<string, PatternInfo>(), literal: new Map<string, PatternInfo>() };
const CACHE_MAX = 256;

/** analysePattern, remembered for the patterns scripts use again and again. */
export function patternInfo(pattern: string, anchors = true): PatternInfo {
  const cache = anchors ? caches.anchors : caches.literal;
  let info = cache.get(pattern);
  if (info === undefined) {
    if (cache.size >= CACHE_MAX) cache.clear();
    info = analysePattern(pattern, anchors);
    cache.set(pattern, info);
  }
  return info;
}

/** A 5.4 pattern-matching error message as 5.1 words it. */
export function patternError51(msg: string): string {
  if (/^invalid capture index %-?\d+/.test(msg)) return 'invalid capture index';
  if (msg.startsWith('malformed pattern (missing arguments to')) return 'unbalanced pattern';
  return msg;
}
