/**
 * ValueStore: the bytes of a table's mid-sized string values, outside the
 * V8 heap.
 *
 * A string value held as a JS string is one heap object per key: born in the
 * young generation, copied twice by the scavenger (to-space, then old space)
 * when it is stored, and turned into old-space garbage when it is replaced,
 * which the next mark-compact must find. At 20M keys of 100 B - 1 KiB values
 * that made writes GC-bound: a 1 KiB SET -P 16 churn ran at 11.5k ops/s with
 * a single GET waiting over 100 ms 1,023 times (bench/RESULTS.md). Here the
 * bytes are written once into slabs (Buffers: memory V8 never scans, copies
 * or compacts) and the table keeps a small integer (a Smi: no heap object)
 * in the value's place. Reading makes a fresh string, which dies young.
 *
 * Layout, as a slab allocator (memcached's, jemalloc's small classes): each
 * size class has slabs of SLAB_BYTES holding fixed-size cells; a value goes
 * to the smallest class whose cell fits it, its exact length kept beside it
 * (lens). A handle is the int32 class << 25 | cell (negative from class 64
 * on): a Smi on 64-bit V8, so the table holds no object for it. A freed
 * cell is reused by the next value of its class. A class full (2^25 cells,
 * 32M values) refuses, and the caller keeps the value as a JS string.
 *
 * One store per KeyTable: a table dropped whole (FLUSHDB, a load replacing
 * the keyspace) takes its slabs with it, and SWAPDB moves them with the
 * table.
 *
 * Slabs are SharedArrayBuffers (never shared with anything): V8 counts an
 * ordinary ArrayBuffer's bytes as external memory and starts a full marking
 * of the heap each time that grows by 64 MB, which a store growing by GBs
 * turned into a mark-compact every few seconds at 20M keys (166 during one
 * boot, incremental steps of over 100 ms under a 1 KiB SET load). A shared
 * backing store is not counted there; the keyspace's memory is accounted by
 * used_memory and the heap guard, which know the slabs' size.
 */

/**
 * Values shorter than this stay JS strings (counters, flags). From 16 bytes
 * on a cell is smaller than a V8 string (16-byte header) and spares the
 * scavenger: at 1M keys of 16-byte values (bench/keyspace-1m.mjs) RSS after
 * the SET/GET churn went from 1.82x redis-server's to 1.47x and SET -P 16's
 * p99 from 15.7 to 7.9 ms against a 64-byte threshold, for GET -P 16 at
 * 0.79x instead of 0.91x (each read makes its string).
 */
export const OFFHEAP_MIN = 16;
/** Longer values stay JS strings: V8 puts them in its large-object space, which is never copied. */
export const OFFHEAP_MAX = 65535;

import { hashBytes } from './hash.js';
import { latin1 } from '../protocol/latin1.js';

const SLAB_BYTES = 1 << 20;
/** Strings up to this length are copied into a cell by a JS loop (put). */
const SHORT_WRITE = 32;
const CELL_BITS = 25;
const MAX_CELLS = 1 << CELL_BITS;
const CELL_MASK = MAX_CELLS - 1;
/** What put() answers when a class is full: no handle has it (there is no class 127). */
export const NO_ROOM = -1;

/** Cell sizes: every 16 bytes to 256, then 8 classes a doubling (at most 12.5% of a cell unused beyond 256). */
const CLASS_SIZES: number[] = (() => {
  const out: number[] = [];
  for (let s = OFFHEAP_MIN; s <= 256; s += 16) out.push(s);
  for (let base = 256; base < OFFHEAP_MAX; base *= 2) {
    for (let i = 1; i <= 8; i++) out.push(Math.min(base + (base / 8) * i, OFFHEAP_MAX));
  }
  const sizes = [...new Set(out)];
  if (sizes.length >= 127) throw new Error('value-store: too many size classes for a handle');
  return sizes;
})();

/** Class of a length (OFFHEAP_MIN..OFFHEAP_MAX), by table: one array load on the write path. */
const CLASS_OF = (() => {
  const t = new Uint8Array(OFFHEAP_MAX + 1);
  let c = 0;
  for (let n = OFFHEAP_MIN; n <= OFFHEAP_MAX; n++) {
    while (CLASS_SIZES[c] < n) c++;
    t[n] = c;
  }
  return t;
})();

class SizeClass {
  readonly perSlab: number;
  /** null: a slab trim() gave back, its cells out of the free list until it is needed again. */
  readonly slabs: (Buffer | null)[] = [];
  /** Cells in use per slab. */
  slabLive = new Int32Array(16);
  /** Slabs given back, to be allocated again before fresh cells are taken. */
  readonly released: number[] = [];
  lens = new Uint16Array(1024);
  free = new Int32Array(256);
  freeCount = 0;
  /** Cells ever handed out (the next fresh one). */
  used = 0;
  constructor(readonly size: number) {
    this.perSlab = Math.max(1, Math.floor(SLAB_BYTES / size));
  }
}

/** Bytes of cells in use across every store (used_memory counts them). */
let liveBytes = 0;
/** Bytes of slabs allocated across every store still in use (what the process holds for them). */
let slabBytes = 0;
/** Bytes of slabs of stores dropped since the last collection that was for them (droppedSlabBytes). */
let droppedBytes = 0;

export function offHeapLiveBytes(): number {
  return liveBytes;
}
/**
 * Slabs of the stores in use. A dropped store's (forget()) are left out at
 * once, though the process holds them until V8 collects their Buffers (a
 * finalizer, run later, could not say when).
 */
export function offHeapSlabBytes(): number {
  return slabBytes;
}

/**
 * Slabs of stores dropped (forget()) since clearDroppedSlabBytes(). V8 does
 * not see them (not external memory to it), so nothing in V8 hurries the
 * collection that frees them: src/memory/idle-release.ts runs one when they
 * are many, and clears the count.
 */
/** Chunks of a dropped table's other off-heap memory (its segments' slots, slot-pool.ts), for droppedSlabBytes. */
export function noteDroppedSlabBytes(n: number): void {
  droppedBytes += n;
}

export function droppedSlabBytes(): number {
  return droppedBytes;
}
export function clearDroppedSlabBytes(): void {
  droppedBytes = 0;
}

/** Whether a string value of this length is kept in a ValueStore. */
export function fitsOffHeap(length: number): boolean {
  return length >= OFFHEAP_MIN && length <= OFFHEAP_MAX;
}

/**
 * Whether a key of this length is kept in a ValueStore (KeyTable's key
 * store): any key up to OFFHEAP_MAX, the short ones too, since the point is
 * one heap object fewer per key for the GC to mark, not the bytes.
 */
export function keyFitsOffHeap(length: number): boolean {
  return length <= OFFHEAP_MAX;
}

/** The cell bytes a value of this length takes (its class's size: what used_memory counts for it), for MEMORY USAGE. */
export function cellBytes(length: number): number {
  return CLASS_SIZES[CLASS_OF[length]];
}

function roomInFreeList(k: SizeClass, n: number): void {
  if (k.freeCount + n <= k.free.length) return;
  let len = k.free.length * 2;
  while (len < k.freeCount + n) len *= 2;
  const free = new Int32Array(len);
  free.set(k.free.subarray(0, k.freeCount));
  k.free = free;
}

interface Held {
  live: number;
  slabs: number;
}
/** A store dropped without forget() stops counting when V8 collects it (and its Buffers with it). */
const storesGone = new FinalizationRegistry<Held>((held) => {
  liveBytes -= held.live;
  slabBytes -= held.slabs;
});

export class ValueStore {
  private readonly classes: (SizeClass | undefined)[] = new Array(CLASS_SIZES.length);
  /** This store's share of liveBytes and slabBytes, handed to storesGone when the store is collected. */
  private readonly held: Held = { live: 0, slabs: 0 };
  /** forget() was called: the table is gone and nothing here counts any more. */
  private forgotten = false;

  constructor() {
    storesGone.register(this, this.held);
  }

  /** Store s (fitsOffHeap(s.length)); NO_ROOM if its class is full (keep it as a string). */
  put(s: string): number {
    const n = s.length;
    const c = CLASS_OF[n];
    const k = (this.classes[c] ??= new SizeClass(CLASS_SIZES[c]));
    let cell: number;
    if (k.freeCount === 0 && k.released.length > 0) this.revive(k);
    if (k.freeCount > 0) cell = k.free[--k.freeCount];
    else {
      if (k.used === MAX_CELLS) return NO_ROOM;
      cell = k.used++;
      if (cell % k.perSlab === 0) {
        k.slabs.push(this.newSlab(k));
        if (k.slabs.length > k.slabLive.length) {
          const sl = new Int32Array(k.slabLive.length * 2);
          sl.set(k.slabLive);
          k.slabLive = sl;
        }
      }
      if (cell >= k.lens.length) {
        const lens = new Uint16Array(k.lens.length * 2);
        lens.set(k.lens);
        k.lens = lens;
      }
    }
    const si = (cell / k.perSlab) | 0;
    const slab = k.slabs[si]!;
    const at = (cell % k.perSlab) * k.size;
    // A short string (most keys, small values) is written faster by a loop than through Buffer's native call.
    if (n <= SHORT_WRITE) for (let i = 0; i < n; i++) slab[at + i] = s.charCodeAt(i);
    else slab.latin1Write(s, at, n);
    k.slabLive[si]++;
    k.lens[cell] = n;
    liveBytes += k.size;
    this.held.live += k.size;
    return (c << CELL_BITS) | cell;
  }

  /** The string a handle holds (a new string each call). */
  get(h: number): string {
    const k = this.classes[h >>> CELL_BITS]!;
    const cell = h & CELL_MASK;
    // Short ones built in JS (protocol/latin1.ts): a key handed out, a small value.
    return latin1(k.slabs[(cell / k.perSlab) | 0]!, (cell % k.perSlab) * k.size, k.lens[cell]);
  }

  /**
   * Whether the handle holds exactly the latin1 string s (a key lookup):
   * compared in place, so finding a key makes no string.
   */
  equals(h: number, s: string): boolean {
    const k = this.classes[h >>> CELL_BITS]!;
    const cell = h & CELL_MASK;
    const n = s.length;
    if (n > k.size) return false;
    // The length is loaded first and compared last: its cache miss and the
    // cell's overlap instead of one waiting for the other.
    const len = k.lens[cell];
    const slab = k.slabs[(cell / k.perSlab) | 0]!;
    const at = (cell % k.perSlab) * k.size;
    for (let i = 0; i < n; i++) if (slab[at + i] !== s.charCodeAt(i)) return false;
    return len === n;
  }

  /** hashKey() of the string the handle holds, read in place. */
  hash(h: number): number {
    const k = this.classes[h >>> CELL_BITS]!;
    const cell = h & CELL_MASK;
    const slab = k.slabs[(cell / k.perSlab) | 0]!;
    const at = (cell % k.perSlab) * k.size;
    return hashBytes(slab, at, at + k.lens[cell]);
  }

  /** Loads that bring a cell's length and first bytes into the cache (KeyTable.warm), summed so they are not dead code. */
  peek(h: number): number {
    const k = this.classes[h >>> CELL_BITS]!;
    const cell = h & CELL_MASK;
    return k.lens[cell] + k.slabs[(cell / k.perSlab) | 0]![(cell % k.perSlab) * k.size];
  }

  /** The value's length without making the string. */
  length(h: number): number {
    return this.classes[h >>> CELL_BITS]!.lens[h & CELL_MASK];
  }

  /**
   * The table was dropped (FLUSHDB): its cells stop counting in liveBytes
   * now rather than when V8 collects the store (a snapshot may still be
   * reading it meanwhile).
   */
  forget(): void {
    liveBytes -= this.held.live;
    this.held.live = 0;
    // Its slabs are garbage now (or once a snapshot still reading the old
    // table is done): see offHeapSlabBytes.
    slabBytes -= this.held.slabs;
    droppedBytes += this.held.slabs;
    this.held.slabs = 0;
    this.forgotten = true;
  }

  /** Give the cell back: the handle must not be used again. */
  release(h: number): void {
    const k = this.classes[h >>> CELL_BITS]!;
    roomInFreeList(k, 1);
    const cell = h & CELL_MASK;
    k.free[k.freeCount++] = cell;
    k.slabLive[(cell / k.perSlab) | 0]--;
    if (this.forgotten) return;
    liveBytes -= k.size;
    this.held.live -= k.size;
  }

  private newSlab(k: SizeClass): Buffer {
    // Zeroed by the allocator (calloc): fresh pages come zeroed, so they are touched as cells are written.
    const slab = Buffer.from(new SharedArrayBuffer(k.perSlab * k.size));
    if (!this.forgotten) {
      slabBytes += slab.length;
      this.held.slabs += slab.length;
    }
    return slab;
  }

  /** A slab trim() gave back is needed again: allocate it, its cells free. */
  private revive(k: SizeClass): void {
    const si = k.released.pop()!;
    k.slabs[si] = this.newSlab(k);
    const first = si * k.perSlab;
    const end = Math.min(first + k.perSlab, k.used);
    roomInFreeList(k, end - first);
    // Highest first, so cells are taken from the slab's start.
    for (let c = end - 1; c >= first; c--) k.free[k.freeCount++] = c;
  }

  /**
   * Give back the slabs with no cell in use (after mass deletes): V8 frees
   * a Buffer's memory when it collects it. Their cells leave the free list
   * until the class has no other free cell. Returns the bytes released.
   */
  trim(): number {
    if (this.forgotten) return 0;
    let n = 0;
    for (const k of this.classes) {
      if (k === undefined || k.freeCount < k.perSlab) continue;
      let gone = 0;
      for (let si = 0; si < k.slabs.length; si++) {
        if (k.slabs[si] !== null && k.slabLive[si] === 0) {
          n += k.slabs[si]!.length;
          k.slabs[si] = null;
          k.released.push(si);
          gone++;
        }
      }
      if (gone === 0) continue;
      let w = 0;
      for (let i = 0; i < k.freeCount; i++) {
        const cell = k.free[i];
        if (k.slabs[(cell / k.perSlab) | 0] !== null) k.free[w++] = cell;
      }
      k.freeCount = w;
    }
    slabBytes -= n;
    this.held.slabs -= n;
    return n;
  }
}
