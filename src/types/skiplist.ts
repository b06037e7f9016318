/**
 * An indexable skiplist ordered by (score, member), as Redis's zskiplist:
 * each forward link records how many level-0 steps it jumps (its span), so
 * rank lookups and "n-th element" are O(log n) like inserts and deletes.
 * Members compare as latin1 strings, i.e. bytewise like Redis's memcmp.
 */

const MAX_LEVEL = 32;
const P = 0.25;

export class SkipNode {
  constructor(
    public member: string,
    public score: number,
    level: number,
  ) {
    this.next = new Array<SkipNode | null>(level).fill(null);
    this.span = new Array<number>(level).fill(0);
  }
  next: (SkipNode | null)[];
  span: number[];
  back: SkipNode | null = null;
}

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

function randomLevel(): number {
  let l = 1;
  while (l < MAX_LEVEL && Math.random() < P) l++;
  return l;
}

/** (score, member) strictly before (s2, m2)? */
function before(s: number, m: string, s2: number, m2: string): boolean {
  return s < s2 || (s === s2 && m < m2);
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

export class SkipList {
  head = new SkipNode('', 0, MAX_LEVEL);
  tail: SkipNode | null = null;
  length = 0;
  level = 1;
  // Scratch arrays reused by insert/delete (no allocation per operation).
  private readonly upd: SkipNode[] = new Array(MAX_LEVEL);
  private readonly rnk: number[] = new Array(MAX_LEVEL).fill(0);

  /** Insert (score, member); the caller guarantees member is not present. */
  insert(score: number, member: string): SkipNode {
    const upd = this.upd;
    const rnk = this.rnk;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      rnk[i] = i === this.level - 1 ? 0 : rnk[i + 1];
      let n = x.next[i];
      while (n !== null && before(n.score, n.member, score, member)) {
        rnk[i] += x.span[i];
        x = n;
        n = x.next[i];
      }
      upd[i] = x;
    }
    const level = randomLevel();
    if (level > this.level) {
      for (let i = this.level; i < level; i++) {
        rnk[i] = 0;
        upd[i] = this.head;
        this.head.span[i] = this.length;
      }
      this.level = level;
    }
    const node = new SkipNode(member, score, level);
    for (let i = 0; i < level; i++) {
      const u = upd[i];
      node.next[i] = u.next[i];
      u.next[i] = node;
      node.span[i] = u.span[i] - (rnk[0] - rnk[i]);
      u.span[i] = rnk[0] - rnk[i] + 1;
    }
    for (let i = level; i < this.level; i++) upd[i].span[i]++;
    node.back = upd[0] === this.head ? null : upd[0];
    if (node.next[0] !== null) node.next[0].back = node;
    else this.tail = node;
    this.length++;
    return node;
  }

  private unlink(x: SkipNode, upd: SkipNode[]): void {
    for (let i = 0; i < this.level; i++) {
      const u = upd[i];
      if (u.next[i] === x) {
        u.span[i] += x.span[i] - 1;
        u.next[i] = x.next[i];
      } else {
        u.span[i] -= 1;
      }
    }
    if (x.next[0] !== null) x.next[0].back = x.back;
    else this.tail = x.back;
    while (this.level > 1 && this.head.next[this.level - 1] === null) this.level--;
    this.length--;
  }

  /** Remove (score, member); false if absent. */
  delete(score: number, member: string): boolean {
    const upd = this.upd;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.next[i];
      while (n !== null && before(n.score, n.member, score, member)) {
        x = n;
        n = x.next[i];
      }
      upd[i] = x;
    }
    const t = x.next[0];
    if (t === null || t.score !== score || t.member !== member) return false;
    this.unlink(t, upd);
    return true;
  }

  /**
   * Change member's score from cur to next. If the node stays between its
   * neighbours it is updated in place (the common ZINCRBY case), otherwise
   * removed and re-inserted.
   */
  updateScore(cur: number, member: string, next: number): void {
    const upd = this.upd;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.next[i];
      while (n !== null && before(n.score, n.member, cur, member)) {
        x = n;
        n = x.next[i];
      }
      upd[i] = x;
    }
    const t = x.next[0]!;
    const prev = t.back;
    const after = t.next[0];
    if ((prev === null || before(prev.score, prev.member, next, member)) && (after === null || before(next, member, after.score, after.member))) {
      t.score = next;
      return;
    }
    this.unlink(t, upd);
    this.insert(next, member);
  }

  /** 1-based rank of (score, member), 0 if absent. */
  rank(score: number, member: string): number {
    let r = 0;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.next[i];
      while (n !== null && (before(n.score, n.member, score, member) || (n.score === score && n.member === member))) {
        r += x.span[i];
        x = n;
        n = x.next[i];
      }
      if (x !== this.head && x.member === member && x.score === score) return r;
    }
    return 0;
  }

  /** The node at 1-based rank, or null. */
  byRank(rank: number): SkipNode | null {
    if (rank < 1 || rank > this.length) return null;
    let t = 0;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      while (x.next[i] !== null && t + x.span[i] <= rank) {
        t += x.span[i];
        x = x.next[i]!;
      }
      if (t === rank) return x;
    }
    return null;
  }

  first(): SkipNode | null {
    return this.head.next[0];
  }

  /** First node with score in range, or null. */
  firstInRange(r: ScoreRange): SkipNode | null {
    if (scoreRangeEmpty(r)) return null;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.next[i];
      while (n !== null && !gteMin(n.score, r)) {
        x = n;
        n = x.next[i];
      }
    }
    const c = x.next[0];
    return c !== null && lteMax(c.score, r) ? c : null;
  }

  /** Last node with score in range, or null. */
  lastInRange(r: ScoreRange): SkipNode | null {
    if (scoreRangeEmpty(r)) return null;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.next[i];
      while (n !== null && lteMax(n.score, r)) {
        x = n;
        n = x.next[i];
      }
    }
    return x !== this.head && gteMin(x.score, r) ? x : null;
  }

  firstInLex(r: LexRange): SkipNode | null {
    if (lexRangeEmpty(r)) return null;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.next[i];
      while (n !== null && !lexGteMin(n.member, r)) {
        x = n;
        n = x.next[i];
      }
    }
    const c = x.next[0];
    return c !== null && lexLteMax(c.member, r) ? c : null;
  }

  lastInLex(r: LexRange): SkipNode | null {
    if (lexRangeEmpty(r)) return null;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.next[i];
      while (n !== null && lexLteMax(n.member, r)) {
        x = n;
        n = x.next[i];
      }
    }
    return x !== this.head && lexGteMin(x.member, r) ? x : null;
  }
}
