/**
 * The list type (t_list.c): a ring-buffer deque of latin1 strings. Pushes
 * and pops at both ends are O(1) amortized, LINDEX/LSET are O(1), LRANGE
 * is a straight copy; only middle edits (LINSERT, LREM) shift elements.
 *
 * Redis 7.0 always encodes lists as a quicklist (listpack lists came in
 * 7.2), so that is what OBJECT ENCODING answers whatever the size.
 */
import type { CollectionValue } from './value.js';
import { defineParam, getInt, paramByName, setParam } from '../config/params.js';
import { registerCodec } from '../snapshot/codec.js';

// Accepted and reported like Redis; they only tune Redis's node layout, which
// a ring buffer does not have.
function defineAliased(
  name: string,
  alias: string,
  dflt: string,
  help: string,
  extra: { min?: number; max?: number; type?: 'int' | 'memory'; onChange?: () => void } = {},
): void {
  let syncing = false;
  const sync = (other: string) => (v: string) => {
    extra.onChange?.();
    if (syncing) return;
    syncing = true;
    try {
      setParam(paramByName(other)!, v, false);
    } finally {
      syncing = false;
    }
  };
  defineParam({ name, type: extra.type ?? 'int', default: dflt, help, mutable: true, min: extra.min, max: extra.max, onChange: sync(alias) });
  defineParam({ name: alias, type: extra.type ?? 'int', default: dflt, help: `Alias of ${name}.`, mutable: true, min: extra.min, max: extra.max, onChange: sync(name) });
}
export { defineAliased };

defineAliased('list-max-listpack-size', 'list-max-ziplist-size', '-2', 'Redis quicklist node size (accepted for compatibility).', { min: -2147483648, max: 2147483647 });
defineParam({ name: 'list-compress-depth', type: 'int', default: '0', help: 'Redis quicklist compression depth (accepted for compatibility).', mutable: true, min: 0, max: 2147483647 });

/** Read so that CONFIG GET shows what was set; the structure needs neither. */
export function listParams(): { size: number; depth: number } {
  return { size: getInt('list-max-listpack-size'), depth: getInt('list-compress-depth') };
}

export class ListValue implements CollectionValue {
  readonly type = 'list' as const;
  private buf: (string | undefined)[];
  private head = 0;
  private len = 0;
  private mask: number;

  constructor(capacity = 8) {
    let cap = 8;
    while (cap < capacity) cap *= 2;
    this.buf = new Array(cap);
    this.mask = cap - 1;
  }

  encoding(): string {
    return 'quicklist';
  }

  get size(): number {
    return this.len;
  }

  clone(): ListValue {
    // The ring as it is: one array copy, fast enough to take synchronously
    // for a snapshot (a few ms per million elements).
    const c = new ListValue(1);
    c.buf = this.buf.slice();
    c.head = this.head;
    c.len = this.len;
    c.mask = this.mask;
    return c;
  }

  private grow(): void {
    const old = this.buf;
    const cap = old.length;
    const next: (string | undefined)[] = new Array(cap * 2);
    for (let i = 0; i < this.len; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = cap * 2 - 1;
  }

  /** Give memory back after a list shrank a lot. */
  private maybeShrink(): void {
    const cap = this.buf.length;
    if (cap > 64 && this.len < cap >>> 2) {
      const next: (string | undefined)[] = new Array(cap >>> 1);
      for (let i = 0; i < this.len; i++) next[i] = this.buf[(this.head + i) & this.mask];
      this.buf = next;
      this.head = 0;
      this.mask = (cap >>> 1) - 1;
    }
  }

  pushTail(s: string): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) & this.mask] = s;
    this.len++;
  }

  pushHead(s: string): void {
    if (this.len === this.buf.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.buf[this.head] = s;
    this.len++;
  }

  popHead(): string | undefined {
    if (this.len === 0) return undefined;
    const s = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.len--;
    this.maybeShrink();
    return s;
  }

  popTail(): string | undefined {
    if (this.len === 0) return undefined;
    const i = (this.head + this.len - 1) & this.mask;
    const s = this.buf[i];
    this.buf[i] = undefined;
    this.len--;
    this.maybeShrink();
    return s;
  }

  /** Element at 0-based index (no bounds check: callers check against size). */
  at(i: number): string {
    return this.buf[(this.head + i) & this.mask] as string;
  }

  setAt(i: number, s: string): void {
    this.buf[(this.head + i) & this.mask] = s;
  }

  /** Elements start..end inclusive (already clamped to the list). */
  range(start: number, end: number): string[] {
    const out: string[] = new Array(end - start + 1);
    for (let i = start, j = 0; i <= end; i++, j++) out[j] = this.buf[(this.head + i) & this.mask] as string;
    return out;
  }

  /** Insert s so that it ends at index i (0..size), shifting the shorter side. */
  insertAt(i: number, s: string): void {
    if (i <= 0) return this.pushHead(s);
    if (i >= this.len) return this.pushTail(s);
    if (this.len === this.buf.length) this.grow();
    if (i < this.len / 2) {
      this.head = (this.head - 1) & this.mask;
      for (let k = 0; k < i; k++) this.setAt(k, this.at(k + 1));
    } else {
      for (let k = this.len; k > i; k--) this.buf[(this.head + k) & this.mask] = this.at(k - 1);
    }
    this.len++;
    this.setAt(i, s);
  }

  /** Keep only elements start..end inclusive (clamped); empty if start > end. */
  trim(start: number, end: number): void {
    if (start > end || start >= this.len) {
      this.buf = new Array(8);
      this.mask = 7;
      this.head = 0;
      this.len = 0;
      return;
    }
    for (let k = 0; k < start; k++) this.buf[(this.head + k) & this.mask] = undefined;
    for (let k = end + 1; k < this.len; k++) this.buf[(this.head + k) & this.mask] = undefined;
    this.head = (this.head + start) & this.mask;
    this.len = end - start + 1;
    this.maybeShrink();
  }

  /**
   * Remove up to `count` elements equal to s (count 0 = all; negative scans
   * from the tail). Returns how many were removed.
   *
   * A job queue's LREM takes one id out of a short list (BullMQ's active
   * list, on every finished job), so one match moves only the shorter side
   * of the ring by one place, and several matches compact only from the
   * first of them on: no scratch array, no rewrite of the whole list.
   */
  remove(s: string, count: number): number {
    const n = this.len;
    const limit = count === 0 ? n : Math.abs(count);
    // The matched span: its first and last index, found in scan order.
    let first = -1;
    let last = -1;
    let found = 0;
    if (count >= 0) {
      for (let i = 0; i < n && found < limit; i++) {
        if (this.at(i) === s) {
          if (found++ === 0) first = i;
          last = i;
        }
      }
    } else {
      for (let i = n - 1; i >= 0 && found < limit; i--) {
        if (this.at(i) === s) {
          if (found++ === 0) last = i;
          first = i;
        }
      }
    }
    if (found === 0) return 0;
    if (found === 1) {
      this.removeAt(first);
    } else {
      // Every match lies in first..last and all of them go (the scan stopped at the limit there).
      let w = first;
      for (let i = first; i < n; i++) {
        const e = this.at(i);
        if (i <= last && e === s) continue;
        this.setAt(w++, e);
      }
      for (let i = w; i < n; i++) this.setAt(i, undefined as unknown as string);
      this.len = w;
    }
    this.maybeShrink();
    return found;
  }

  /** Take out the element at index i (0 <= i < size), moving the shorter side. */
  private removeAt(i: number): void {
    const n = this.len;
    if (i < n - 1 - i) {
      for (let k = i; k > 0; k--) this.setAt(k, this.at(k - 1));
      this.buf[this.head] = undefined;
      this.head = (this.head + 1) & this.mask;
    } else {
      for (let k = i; k < n - 1; k++) this.setAt(k, this.at(k + 1));
      this.setAt(n - 1, undefined as unknown as string);
    }
    this.len = n - 1;
  }

  /** Index of the first element equal to s, or -1. */
  indexOf(s: string): number {
    for (let i = 0; i < this.len; i++) if (this.at(i) === s) return i;
    return -1;
  }

  toArray(): string[] {
    return this.len === 0 ? [] : this.range(0, this.len - 1);
  }
}

registerCodec({
  type: 'list',
  *pieces(v, maxItems) {
    // Positions shift under pushes and pops, so a list has no before-images:
    // one that spans several pieces is copied when the walk starts instead.
    const l = (v as ListValue).size > maxItems ? (v as ListValue).clone() : (v as ListValue);
    for (let i = 0; i < l.size; i += maxItems) yield l.range(i, Math.min(l.size, i + maxItems) - 1);
  },
  builder() {
    const l = new ListValue();
    return {
      add(piece) {
        for (const s of piece) l.pushTail(s as string);
      },
      done: () => l,
    };
  },
});
