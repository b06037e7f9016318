/**
 * KeyTable: one database's keys, as an extendible hash table of small Maps
 * (Dragonfly's Dash, in spirit).
 *
 * A directory of 2^depth slots points at segments; a key lives in the
 * segment at `dir[hash & mask]`. A segment that grows past SEGMENT_MAX splits
 * in two by the next hash bit, so growth never rehashes the whole table (no
 * pause at 10M keys), and the directory doubles only by copying pointers.
 *
 * Why segments rather than one Map:
 *  - snapshots: each segment carries the epoch of the last snapshot that
 *    serialized it, and every mutation calls `willMutate(seg)` first, so a
 *    running snapshot serializes the segment's pre-change contents before the
 *    change (copy-on-write at segment level, with no per-key memory);
 *  - SCAN: a reverse-binary cursor over directory slots (as Redis walks its
 *    buckets) never misses a key present for the whole scan, even if the
 *    directory doubles meanwhile;
 *  - RANDOMKEY and the active expire cycle sample segments cheaply.
 */
import { hashKey } from './hash.js';
import type { Value } from '../types/value.js';

/**
 * Split a segment when it reaches this many keys. V8's Map tables double
 * (capacity 4, 8, ... 64, 128) and shrink only below a quarter full, so the
 * split happens when the table is exactly full and both halves are built
 * as fresh Maps: segments then live in 32..64-slot tables (~75% full on
 * average) instead of a 128-slot table left a quarter full after the split.
 */
const SEGMENT_MAX = 64;

export class Segment {
  /** Replaced (not mutated) by a split; don't hold on to it across writes. */
  m = new Map<string, Value>();
  /** Absolute expiry (ms since epoch) of the keys in `m` that have one. */
  exp: Map<string, number> | null = null;
  /** Epoch of the last snapshot that captured this segment. */
  snapEpoch = 0;
  /** Per-key metadata (see KeyTable.getMeta); a plain Map until the table stores it compactly. */
  meta = new Map<string, number>();
  constructor(public depth: number) {}
}

/** Called with a segment about to change while a snapshot of this table runs. */
export type SnapshotHook = (seg: Segment) => void;

/** Deepest directory a size hint may ask for up front (1M segments, ~32M keys). */
const MAX_PRESIZE_DEPTH = 20;

export class KeyTable {
  /** Meta a brand-new key gets from put() (and the snapshot loader's inserts); src/memory keeps it current. */
  static newKeyMeta = 0;

  dir: Segment[];
  private mask: number;
  /** log2(dir.length) */
  depth: number;
  size = 0;
  expiresCount = 0;
  /** Segments with keys that have an expiry: what the active expire cycle walks. */
  readonly withExpiry = new Set<Segment>();
  /** Epoch of the snapshot in progress over this table, 0 if none. */
  snapEpoch = 0;
  snapshotHook: SnapshotHook | null = null;

  /**
   * The last key hashed and its hash: a command usually looks its key up
   * more than once (INCR: peek then set; SET NX: peek then set), and
   * comparing a string is cheaper than hashing it again. The hash, not the
   * segment, is cached, so splits cannot make it stale.
   */
  private lastKey = '';
  private lastHash = hashKey('');

  /**
   * `expectedKeys` (a hint, e.g. a snapshot's key count) starts the table
   * with enough segments for that many keys at about half a segment each, so
   * bulk loading does not split its way up from one segment.
   */
  constructor(expectedKeys = 0) {
    let depth = 0;
    while (depth < MAX_PRESIZE_DEPTH && (SEGMENT_MAX / 2) << depth < expectedKeys) depth++;
    this.depth = depth;
    this.mask = (1 << depth) - 1;
    this.dir = [];
    for (let i = 0; i < 1 << depth; i++) this.dir.push(new Segment(depth));
  }

  private hashOf(key: string): number {
    if (key === this.lastKey) return this.lastHash;
    const h = hashKey(key);
    this.lastKey = key;
    this.lastHash = h;
    return h;
  }

  segmentOf(key: string): Segment {
    return this.dir[this.hashOf(key) & this.mask];
  }

  /** Must precede every change to a segment: lets a running snapshot copy it first. */
  willMutate(seg: Segment): void {
    if (seg.snapEpoch < this.snapEpoch) this.snapshotHook!(seg);
  }

  get(key: string): Value | undefined {
    return this.dir[this.hashOf(key) & this.mask].m.get(key);
  }

  /** Insert or replace; `seg` must be segmentOf(key) and willMutate already called. */
  put(seg: Segment, key: string, value: Value): void {
    const m = seg.m;
    const before = m.size;
    m.set(key, value);
    if (m.size !== before) {
      seg.meta.set(key, KeyTable.newKeyMeta);
      this.size++;
      if (m.size >= SEGMENT_MAX) this.split(seg);
    }
  }

  /** Remove key and its expiry; `seg` must be segmentOf(key), willMutate called. */
  remove(seg: Segment, key: string): boolean {
    if (!seg.m.delete(key)) return false;
    seg.meta.delete(key);
    this.size--;
    if (seg.exp !== null) this.dropExpiry(seg, key);
    return true;
  }

  getExpiry(seg: Segment, key: string): number | undefined {
    return seg.exp === null ? undefined : seg.exp.get(key);
  }

  setExpiry(seg: Segment, key: string, at: number): void {
    if (seg.exp === null) {
      seg.exp = new Map();
      this.withExpiry.add(seg);
    }
    const before = seg.exp.size;
    seg.exp.set(key, at);
    if (seg.exp.size !== before) this.expiresCount++;
  }

  dropExpiry(seg: Segment, key: string): boolean {
    const exp = seg.exp;
    if (exp === null || !exp.delete(key)) return false;
    this.expiresCount--;
    if (exp.size === 0) {
      seg.exp = null;
      this.withExpiry.delete(seg);
    }
    return true;
  }

  private split(seg: Segment): void {
    if (seg.depth === this.depth) {
      this.dir = this.dir.concat(this.dir);
      this.depth++;
      this.mask = this.dir.length - 1;
    }
    const bit = 1 << seg.depth;
    // The slots that share seg agree on the hash bits below `bit`.
    let low = 0;
    for (const k of seg.m.keys()) {
      low = hashKey(k) & (bit - 1);
      break;
    }
    const hi = new Segment(seg.depth + 1);
    hi.snapEpoch = seg.snapEpoch;
    seg.depth++;
    const keep = new Map<string, Value>();
    const oldMeta = seg.meta;
    const keepMeta = new Map<string, number>();
    const oldExp = seg.exp;
    let keepExp: Map<string, number> | null = null;
    for (const [k, v] of seg.m) {
      const dest = hashKey(k) & bit ? hi : null;
      const meta = oldMeta.get(k) ?? 0;
      if (dest === null) {
        keep.set(k, v);
        keepMeta.set(k, meta);
      } else {
        hi.m.set(k, v);
        hi.meta.set(k, meta);
      }
      const at = oldExp === null ? undefined : oldExp.get(k);
      if (at !== undefined) {
        if (dest === null) (keepExp ??= new Map()).set(k, at);
        else (hi.exp ??= new Map()).set(k, at);
      }
    }
    seg.m = keep;
    seg.meta = keepMeta;
    if (oldExp !== null) {
      seg.exp = keepExp;
      if (keepExp === null) this.withExpiry.delete(seg);
    }
    if (hi.exp !== null) this.withExpiry.add(hi);
    // Every directory slot that pointed at seg and has the new bit set now
    // points at hi.
    for (let i = low | bit; i < this.dir.length; i += bit << 1) this.dir[i] = hi;
  }

  /** A key's metadata (Redis's robj->lru: src/memory gives it meaning), 0 if the key is absent. */
  getMeta(seg: Segment, key: string): number {
    return seg.meta.get(key) ?? 0;
  }

  /** Does nothing if the key is absent. */
  setMeta(seg: Segment, key: string, meta: number): void {
    if (seg.m.has(key)) seg.meta.set(key, meta);
  }

  /** Calls fn for up to `count` keys picked at random; fewer if the table has fewer. */
  sample(count: number, fn: (seg: Segment, key: string, value: Value, meta: number) => void): void {
    if (this.size === 0) return;
    count = Math.min(count, this.size);
    this.sampleSegments(count, (seg) => seg.m.size, (seg, want) => {
      let taken = 0;
      // From a random offset in the segment, so the same first keys are not always the ones seen.
      const off = (Math.random() * seg.m.size) | 0;
      let i = 0;
      for (const pass of [1, 2]) {
        for (const [k, v] of seg.m) {
          const before = i++ < off;
          if (pass === 1 ? before : !before) continue;
          fn(seg, k, v, seg.meta.get(k) ?? 0);
          if (++taken === want) return taken;
        }
        i = 0;
      }
      return taken;
    });
  }

  /** The same among keys that have a TTL, also passing the absolute expiry (ms). */
  sampleVolatile(count: number, fn: (seg: Segment, key: string, value: Value, meta: number, expireAt: number) => void): void {
    if (this.expiresCount === 0) return;
    count = Math.min(count, this.expiresCount);
    const take = (seg: Segment, want: number) => {
      let taken = 0;
      const exp = seg.exp!;
      const off = (Math.random() * exp.size) | 0;
      let i = 0;
      for (const pass of [1, 2]) {
        for (const [k, at] of exp) {
          const before = i++ < off;
          if (pass === 1 ? before : !before) continue;
          fn(seg, k, seg.m.get(k)!, seg.meta.get(k) ?? 0, at);
          if (++taken === want) return taken;
        }
        i = 0;
      }
      return taken;
    };
    const segs = this.withExpiry;
    if (segs.size * 8 >= this.dir.length) {
      this.sampleSegments(count, (seg) => (seg.exp === null ? 0 : seg.exp.size), take);
      return;
    }
    // Few segments hold TTLs: random slots would rarely hit one, so start at
    // a random member of the set of those segments instead.
    let skip = (Math.random() * segs.size) | 0;
    for (let pass = 0; pass < 2 && count > 0; pass++) {
      for (const seg of segs) {
        if (skip > 0) {
          skip--;
          continue;
        }
        count -= take(seg, count);
        if (count <= 0) return;
      }
    }
  }

  /**
   * Visits segments at random directory slots (a shallow segment, aliased by
   * several slots, is proportionally likelier: it holds more keys) until
   * `take` has taken `count` keys; a sparse table falls back to a walk.
   */
  private sampleSegments(count: number, sizeOf: (seg: Segment) => number, take: (seg: Segment, want: number) => number): void {
    const dir = this.dir;
    const n = dir.length;
    const seen: Segment[] = [];
    for (let tries = 0; count > 0 && tries < 16; tries++) {
      const seg = dir[(Math.random() * n) | 0];
      if (sizeOf(seg) === 0 || seen.includes(seg)) continue;
      seen.push(seg);
      count -= take(seg, count);
    }
    const start = (Math.random() * n) | 0;
    for (let i = 0; count > 0 && i < n; i++) {
      const slot = (start + i) % n;
      const seg = dir[slot];
      if (slot >= 1 << seg.depth || sizeOf(seg) === 0 || seen.includes(seg)) continue;
      count -= take(seg, count);
    }
  }

  /** Each segment once, in directory order (slots that alias a shallower segment are skipped). */
  *segments(): IterableIterator<Segment> {
    for (let i = 0; i < this.dir.length; i++) {
      const seg = this.dir[i];
      if (i < 1 << seg.depth) yield seg;
    }
  }

  /**
   * One SCAN step from `cursor`: calls `emit` for the keys whose hash falls in
   * the visited directory slots, and returns the next cursor (0 when done).
   * Reverse-binary increment over the directory, as Redis's dictScan, so a
   * key present from start to end is returned at least once even if the
   * directory doubles between calls.
   */
  scan(cursor: number, count: number, emit: (key: string, value: Value, seg: Segment) => void): number {
    let visited = 0;
    do {
      const mask = this.mask;
      const slot = cursor & mask;
      const seg = this.dir[slot];
      // A shallower segment is shared by several slots: emit only the keys of
      // this slot, so each key comes once per cycle.
      if (seg.depth === this.depth) {
        for (const [k, v] of seg.m) emit(k, v, seg);
        visited += seg.m.size;
      } else {
        for (const [k, v] of seg.m) {
          if ((hashKey(k) & mask) === slot) {
            emit(k, v, seg);
            visited++;
          }
        }
      }
      // Reverse-binary increment of the masked cursor.
      cursor |= ~mask;
      cursor = reverseBits(cursor);
      cursor = (cursor + 1) >>> 0;
      cursor = reverseBits(cursor);
      cursor >>>= 0;
      visited++;
    } while (cursor !== 0 && visited < count);
    return cursor;
  }

  /** A random key, or undefined if the table is empty. */
  randomKey(): string | undefined {
    if (this.size === 0) return undefined;
    const n = this.dir.length;
    for (let tries = 0; tries < 64; tries++) {
      const seg = this.dir[(Math.random() * n) | 0];
      if (seg.m.size > 0) return nth(seg.m.keys(), (Math.random() * seg.m.size) | 0);
    }
    // Sparse table: walk from a random slot.
    const start = (Math.random() * n) | 0;
    for (let i = 0; i < n; i++) {
      const seg = this.dir[(start + i) % n];
      if (seg.m.size > 0) return nth(seg.m.keys(), (Math.random() * seg.m.size) | 0);
    }
    return undefined;
  }
}

function nth<T>(it: IterableIterator<T>, n: number): T | undefined {
  for (const v of it) if (n-- === 0) return v;
  return undefined;
}

function reverseBits(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  v = (v >>> 16) | (v << 16);
  return v >>> 0;
}
