/**
 * An order-statistic B+tree of (score, member) pairs: the ordered half of a
 * sorted set. Leaves hold up to LEAF_MAX entries in two parallel arrays
 * (scores stay unboxed doubles), inner nodes keep each child's entry count,
 * so rank, n-th entry, insert and delete are O(log n) with a handful of
 * node visits. A skiplist with spans (Redis's choice) needs three JS
 * objects per member and a cache miss per hop; this keeps 1M-member sets
 * fast and the GC's work small.
 *
 * Order: score, then member compared as latin1 strings (bytewise, like
 * Redis's memcmp). Inner node child i holds entries >= separator i; child
 * 0's separator is unused. Separators may go stale after deletes and stay
 * valid lower bounds.
 */

const LEAF_MAX = 128;
const INNER_MAX = 32;

class Leaf {
  m: string[] = [];
  s: number[] = [];
  next: Leaf | null = null;
  prev: Leaf | null = null;
}

class Inner {
  kids: TreeNode[] = [];
  cnt: number[] = [];
  sepS: number[] = [];
  sepM: string[] = [];
}

type TreeNode = Leaf | Inner;

export interface Entry {
  member: string;
  score: number;
}

/** (s1, m1) strictly before (s2, m2)? */
function lt(s1: number, m1: string, s2: number, m2: string): boolean {
  return s1 < s2 || (s1 === s2 && m1 < m2);
}

function sum(a: number[]): number {
  let t = 0;
  for (let i = 0; i < a.length; i++) t += a[i];
  return t;
}

/** Monotone predicate over the order: true for a prefix of entries, false after. */
export type Before = (score: number, member: string) => boolean;

export class OrderTree {
  /** Node sizes are parameters so tests can force deep trees with few entries. */
  constructor(
    private readonly leafMax = LEAF_MAX,
    private readonly innerMax = INNER_MAX,
  ) {}

  private root: TreeNode = new Leaf();
  private first: Leaf = this.root as Leaf;
  private last: Leaf = this.root as Leaf;
  length = 0;
  // Descent path reused by insert/delete (no allocation per operation).
  private readonly pathN: Inner[] = [];
  private readonly pathI: number[] = [];

  /** Child of n whose range holds (s, m): the last i >= 1 with sep[i] <= key, else 0. */
  private childFor(n: Inner, s: number, m: string): number {
    let lo = 1;
    let hi = n.kids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lt(s, m, n.sepS[mid], n.sepM[mid])) hi = mid;
      else lo = mid + 1;
    }
    return lo - 1;
  }

  /** Index of the first entry of leaf not before (s, m). */
  private static leafLowerBound(leaf: Leaf, s: number, m: string): number {
    const ss = leaf.s;
    const mm = leaf.m;
    let lo = 0;
    let hi = ss.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lt(ss[mid], mm[mid], s, m)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Descend to the leaf for (s, m), recording the path; returns the depth. */
  private descend(s: number, m: string): number {
    let n = this.root;
    let d = 0;
    while (n instanceof Inner) {
      const c = this.childFor(n, s, m);
      this.pathN[d] = n;
      this.pathI[d] = c;
      d++;
      n = n.kids[c];
    }
    return d;
  }

  private leafAt(depth: number): Leaf {
    if (depth === 0) return this.root as Leaf;
    return this.pathN[depth - 1].kids[this.pathI[depth - 1]] as Leaf;
  }

  /** Insert (s, m); the caller guarantees m is not present. */
  insert(s: number, m: string): void {
    const d = this.descend(s, m);
    for (let k = 0; k < d; k++) this.pathN[k].cnt[this.pathI[k]]++;
    const leaf = this.leafAt(d);
    const i = OrderTree.leafLowerBound(leaf, s, m);
    if (i === leaf.s.length) {
      leaf.s.push(s);
      leaf.m.push(m);
    } else {
      leaf.s.splice(i, 0, s);
      leaf.m.splice(i, 0, m);
    }
    this.length++;
    if (leaf.s.length > this.leafMax) {
      // Appending at the very end (increasing scores, a snapshot load) keeps
      // the left leaf full instead of leaving half-empty leaves behind.
      const half = leaf === this.last && i === leaf.s.length - 1 ? leaf.s.length - 1 : leaf.s.length >> 1;
      const right = new Leaf();
      right.s = leaf.s.splice(half);
      right.m = leaf.m.splice(half);
      right.next = leaf.next;
      if (right.next !== null) right.next.prev = right;
      else this.last = right;
      leaf.next = right;
      right.prev = leaf;
      this.addChild(d - 1, right, right.s[0], right.m[0], right.s.length, leaf.s.length);
    }
  }

  /** Put `node` right after the split node at path level `level` (-1: the root split). */
  private addChild(level: number, node: TreeNode, sepS: number, sepM: string, count: number, leftCount: number): void {
    if (level < 0) {
      const r = new Inner();
      r.kids = [this.root, node];
      r.cnt = [leftCount, count];
      r.sepS = [0, sepS];
      r.sepM = ['', sepM];
      this.root = r;
      return;
    }
    const p = this.pathN[level];
    const c = this.pathI[level];
    p.cnt[c] = leftCount;
    p.kids.splice(c + 1, 0, node);
    p.cnt.splice(c + 1, 0, count);
    p.sepS.splice(c + 1, 0, sepS);
    p.sepM.splice(c + 1, 0, sepM);
    if (p.kids.length > this.innerMax) {
      const half = p.kids.length >> 1;
      const q = new Inner();
      q.kids = p.kids.splice(half);
      q.cnt = p.cnt.splice(half);
      q.sepS = p.sepS.splice(half);
      q.sepM = p.sepM.splice(half);
      this.addChild(level - 1, q, q.sepS[0], q.sepM[0], sum(q.cnt), sum(p.cnt));
    }
  }

  /** Remove (s, m); false if absent. */
  delete(s: number, m: string): boolean {
    const d = this.descend(s, m);
    const leaf = this.leafAt(d);
    const i = OrderTree.leafLowerBound(leaf, s, m);
    if (i === leaf.s.length || leaf.s[i] !== s || leaf.m[i] !== m) return false;
    for (let k = 0; k < d; k++) this.pathN[k].cnt[this.pathI[k]]--;
    if (i === leaf.s.length - 1) {
      leaf.s.pop();
      leaf.m.pop();
    } else {
      leaf.s.splice(i, 1);
      leaf.m.splice(i, 1);
    }
    this.length--;
    if (leaf.s.length === 0 && d > 0) {
      if (this.length === 0) {
        this.clear();
        return true;
      }
      if (leaf.prev !== null) leaf.prev.next = leaf.next;
      else this.first = leaf.next!;
      if (leaf.next !== null) leaf.next.prev = leaf.prev;
      else this.last = leaf.prev!;
      // Drop the empty node from its parent, and any parent that empties.
      for (let k = d - 1; k >= 0; k--) {
        const p = this.pathN[k];
        const c = this.pathI[k];
        p.kids.splice(c, 1);
        p.cnt.splice(c, 1);
        p.sepS.splice(c, 1);
        p.sepM.splice(c, 1);
        if (p.kids.length > 0) break;
      }
      while (this.root instanceof Inner && this.root.kids.length === 1) this.root = this.root.kids[0];
    }
    return true;
  }

  clear(): void {
    this.root = this.first = this.last = new Leaf();
    this.length = 0;
  }

  /** 0-based rank of (s, m), or -1 if absent. */
  rank(s: number, m: string): number {
    let n = this.root;
    let r = 0;
    while (n instanceof Inner) {
      const c = this.childFor(n, s, m);
      for (let j = 0; j < c; j++) r += n.cnt[j];
      n = n.kids[c];
    }
    const i = OrderTree.leafLowerBound(n, s, m);
    if (i === n.s.length || n.s[i] !== s || n.m[i] !== m) return -1;
    return r + i;
  }

  /** Rank of the first entry for which `before` is false (length if none). */
  lowerBound(before: Before): number {
    let n = this.root;
    let r = 0;
    while (n instanceof Inner) {
      let lo = 1;
      let hi = n.kids.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (before(n.sepS[mid], n.sepM[mid])) lo = mid + 1;
        else hi = mid;
      }
      const c = lo - 1;
      for (let j = 0; j < c; j++) r += n.cnt[j];
      n = n.kids[c];
    }
    let lo = 0;
    let hi = n.s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(n.s[mid], n.m[mid])) lo = mid + 1;
      else hi = mid;
    }
    return r + lo;
  }

  /** Leaf and index of the entry at rank, or null. */
  private locate(rank: number): { leaf: Leaf; i: number } | null {
    if (rank < 0 || rank >= this.length) return null;
    let n = this.root;
    let r = rank;
    while (n instanceof Inner) {
      let j = 0;
      while (r >= n.cnt[j]) r -= n.cnt[j++];
      n = n.kids[j];
    }
    return { leaf: n, i: r };
  }

  at(rank: number): Entry | null {
    const p = this.locate(rank);
    return p === null ? null : { member: p.leaf.m[p.i], score: p.leaf.s[p.i] };
  }

  /**
   * Call fn for up to `count` entries starting at `rank`, walking up
   * (rev=false) or down; stops early when fn returns false.
   */
  walk(rank: number, rev: boolean, count: number, fn: (member: string, score: number) => boolean | void): void {
    const p = this.locate(rank);
    if (p === null) return;
    let leaf: Leaf | null = p.leaf;
    let i = p.i;
    while (count > 0 && leaf !== null) {
      if (fn(leaf.m[i], leaf.s[i]) === false) return;
      count--;
      if (rev) {
        if (--i < 0) {
          leaf = leaf.prev;
          if (leaf !== null) i = leaf.s.length - 1;
        }
      } else if (++i >= leaf.s.length) {
        leaf = leaf.next;
        i = 0;
      }
    }
  }

  /** Entries [from, from+count) going up, or going down from `from` when rev. */
  collect(from: number, count: number, rev = false): Entry[] {
    const out: Entry[] = [];
    this.walk(from, rev, count, (member, score) => {
      out.push({ member, score });
    });
    return out;
  }

  /**
   * A cursor at `rank` going up (or down when rev), for a reply written over
   * several turns of the event loop: valid only while the tree does not
   * change (memory/live-reads.ts detaches such readers before a change).
   */
  cursor(rank: number, rev: boolean): TreeCursor {
    const p = this.locate(rank);
    return new TreeCursor(p === null ? null : p.leaf, p === null ? 0 : p.i, rev);
  }

  *entries(): IterableIterator<Entry> {
    for (let leaf: Leaf | null = this.first; leaf !== null; leaf = leaf.next) {
      for (let i = 0; i < leaf.s.length; i++) yield { member: leaf.m[i], score: leaf.s[i] };
    }
  }
}

/** Reads entries one by one from a leaf position (OrderTree.cursor). */
export class TreeCursor {
  member = '';
  score = 0;
  constructor(
    private leaf: Leaf | null,
    private i: number,
    private readonly rev: boolean,
  ) {}

  /** Load the next entry into member/score; false at the end of the tree. */
  next(): boolean {
    const leaf = this.leaf;
    if (leaf === null) return false;
    this.member = leaf.m[this.i];
    this.score = leaf.s[this.i];
    if (this.rev) {
      if (--this.i < 0) {
        this.leaf = leaf.prev;
        if (this.leaf !== null) this.i = this.leaf.s.length - 1;
      }
    } else if (++this.i >= leaf.s.length) {
      this.leaf = leaf.next;
      this.i = 0;
    }
    return true;
  }
}
