/**
 * The hash type (t_hash.c). One JS Map keeps field order the way a Redis
 * listpack does (insertion order, updates in place); `big` records that
 * Redis would have converted it to a hashtable, which it never undoes.
 */
import type { CollectionValue } from './value.js';
import { getInt } from '../config/params.js';
import { registerCodec } from '../snapshot/codec.js';
import { defineAliased } from './list.js';
import { piecesAtStart, recordBefore, type BeforeImages } from './before-images.js';

/** The two limits, read once per change: HSET is hot and a config lookup is not free. */
let limits: { entries: number; value: number } | null = null;
const invalidate = () => (limits = null);
function lim(): { entries: number; value: number } {
  return (limits ??= { entries: getInt('hash-max-listpack-entries'), value: getInt('hash-max-listpack-value') });
}

defineAliased('hash-max-listpack-entries', 'hash-max-ziplist-entries', '512', 'Hashes with more fields are encoded as a hashtable.', { min: 0, max: Number.MAX_SAFE_INTEGER, onChange: invalidate });
defineAliased('hash-max-listpack-value', 'hash-max-ziplist-value', '64', 'Hashes with a longer field or value are encoded as a hashtable.', { min: 0, max: Number.MAX_SAFE_INTEGER, type: 'memory', onChange: invalidate });

/** A live iterator kept between HSCAN calls so a full scan is O(n) overall. */
interface ScanCursor {
  pos: number;
  it: IterableIterator<[string, string]>;
}

export class HashValue implements CollectionValue, BeforeImages<string> {
  readonly type = 'hash' as const;
  readonly m = new Map<string, string>();
  big = false;
  /** Before-images while a snapshot writes this hash (before-images.ts). */
  undo: Map<string, string | undefined> | null = null;
  private scans: ScanCursor[] | null = null;

  encoding(): string {
    return this.big ? 'hashtable' : 'listpack';
  }

  get size(): number {
    return this.m.size;
  }

  clone(): HashValue {
    const c = new HashValue();
    for (const [f, v] of this.m) c.m.set(f, v);
    c.big = this.big;
    return c;
  }

  get(f: string): string | undefined {
    return this.m.get(f);
  }

  /** Redis hashTypeTryConversion: a long argument converts before insertion. */
  checkLengths(args: string[], from: number): void {
    if (this.big) return;
    const max = lim().value;
    for (let i = from; i < args.length; i++) {
      if (args[i].length > max) {
        this.big = true;
        return;
      }
    }
  }

  /** Set a field; true if it was new. */
  set(f: string, v: string): boolean {
    const m = this.m;
    if (this.undo !== null) recordBefore(this, f, m.get(f));
    const had = m.size;
    m.set(f, v);
    if (!this.big) {
      const l = lim();
      if (f.length > l.value || v.length > l.value || m.size > l.entries) this.big = true;
    }
    return m.size !== had;
  }

  delete(f: string): boolean {
    if (this.undo !== null) recordBefore(this, f, this.m.get(f));
    return this.m.delete(f);
  }

  /**
   * One HSCAN step from cursor; returns the next cursor (0 when done). A
   * listpack-sized hash answers everything at once, as Redis does.
   */
  scan(cursor: number, count: number, out: string[]): number {
    if (!this.big || this.m.size <= count) {
      if (cursor !== 0 && !this.big) return 0;
      for (const [f, v] of this.m) out.push(f, v);
      return 0;
    }
    let sc: ScanCursor | undefined;
    if (this.scans !== null) {
      const i = this.scans.findIndex((s) => s.pos === cursor);
      if (i >= 0) sc = this.scans.splice(i, 1)[0];
    }
    if (sc === undefined) {
      // Unknown cursor (evicted, or from another hash): resume by position.
      const it = this.m.entries();
      for (let k = 0; k < cursor; k++) if (it.next().done) break;
      sc = { pos: cursor, it };
    }
    let n = 0;
    while (n < count) {
      const r = sc.it.next();
      if (r.done) return 0;
      out.push(r.value[0], r.value[1]);
      n++;
    }
    // A cursor is how many entries were consumed, so 0 still means start/done.
    sc.pos += n;
    if (this.scans === null) this.scans = [];
    this.scans.push(sc);
    if (this.scans.length > 8) this.scans.shift();
    return sc.pos;
  }
}

registerCodec({
  type: 'hash',
  pieces(v, maxItems) {
    const h = v as HashValue;
    return piecesAtStart(h, h.m, Math.max(2, maxItems - (maxItems % 2)), true);
  },
  builder() {
    const h = new HashValue();
    return {
      add(piece) {
        for (let i = 0; i + 1 < piece.length; i += 2) h.set(piece[i] as string, piece[i + 1] as string);
      },
      done: () => h,
    };
  },
});
