/**
 * Redis's glob-style matching (stringmatchlen): * ? [abc] [^a] [a-z] and \
 * escapes, used by KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET.
 */
export function globMatch(pattern: string, s: string, nocase = false): boolean {
  return match(pattern, 0, s, 0, nocase, 0, { giveUp: false });
}

/**
 * Set when the pattern after some '*' matched no suffix of the string: then
 * no earlier '*' can help by eating more (it would only leave shorter
 * suffixes, all tried already), so the whole match fails at once. Without
 * this, "a*a*a*...b" is exponential.
 */
interface Search {
  giveUp: boolean;
}

function lower(c: string, nocase: boolean): string {
  return nocase ? c.toLowerCase() : c;
}

function match(p: string, pi: number, s: string, si: number, nocase: boolean, depth: number, st: Search): boolean {
  if (depth > 1000) return false;
  while (pi < p.length) {
    const pc = p[pi];
    switch (pc) {
      case '*': {
        while (pi + 1 < p.length && p[pi + 1] === '*') pi++;
        if (pi + 1 === p.length) return true;
        for (let k = si; k <= s.length; k++) {
          if (match(p, pi + 1, s, k, nocase, depth + 1, st)) return true;
          if (st.giveUp) return false;
        }
        st.giveUp = true;
        return false;
      }
      case '?':
        if (si >= s.length) return false;
        si++;
        break;
      case '[': {
        if (si >= s.length) return false;
        pi++;
        const not = p[pi] === '^';
        if (not) pi++;
        let matched = false;
        for (;;) {
          if (pi >= p.length) {
            pi--; // unterminated class: Redis treats the end as closing it
            break;
          }
          if (p[pi] === '\\' && pi + 1 < p.length) {
            pi++;
            if (lower(p[pi], nocase) === lower(s[si], nocase)) matched = true;
          } else if (p[pi] === ']') {
            break;
          } else if (pi + 2 < p.length && p[pi + 1] === '-') {
            let start = lower(p[pi], nocase);
            let end = lower(p[pi + 2], nocase);
            const c = lower(s[si], nocase);
            if (start > end) [start, end] = [end, start];
            pi += 2;
            if (c >= start && c <= end) matched = true;
          } else if (lower(p[pi], nocase) === lower(s[si], nocase)) {
            matched = true;
          }
          pi++;
        }
        if (not) matched = !matched;
        if (!matched) return false;
        si++;
        break;
      }
      default:
        // A backslash matches the next pattern char literally.
        if (pc === '\\' && pi + 1 < p.length) pi++;
        if (si >= s.length || lower(p[pi], nocase) !== lower(s[si], nocase)) return false;
        si++;
        break;
    }
    pi++;
  }
  return si === s.length;
}
