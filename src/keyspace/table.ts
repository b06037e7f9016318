/**
 * KeyTable: one database's keys, as an extendible hash table of small
 * open-addressing segments (Dragonfly's Dash, in spirit).
 *
 * A directory of 2^depth slots points at segments; a key lives in the
 * segment at `dir[hash & mask]`. A segment that fills up splits in two by the
 * next hash bit, so growth never rehashes the whole table (no pause at 10M
 * keys), and the directory doubles only by copying pointers.
 *
 * Why segments rather than one Map:
 *  - snapshots: each segment carries the epoch of the last snapshot that
 *    serialized it, and every mutation calls `willMutate(seg)` first, so a
 *    running snapshot serializes the segment's pre-change contents before the
 *    change (copy-on-write at segment level, with no per-key memory);
 *  - SCAN: a reverse-binary cursor over directory slots (as Redis walks its
 *    buckets) never misses a key present for the whole scan, even if the
 *    directory doubles meanwhile;
 *  - RANDOMKEY, eviction sampling and the active expire cycle sample
 *    segments cheaply.
 *
 * A segment (see Segment) is one flat array of its keys, three words a
 * slot, with Robin Hood linear probing. Against the Map per segment this
 * replaced it carries Redis's 24-bit LRU/LFU field ("meta", owned by
 * src/memory/) at no extra cost: 33.9 heap bytes a key for 1M keys when it
 * was introduced (37-42 since segments grow by half, see below), against
 * 39.7 for the Maps alone and 78.8 with a parallel Map for meta; an expiry
 * costs 11.5 bytes instead of 54.8 (bench/keytable-mem.mjs, bench/RESULTS.md).
 */
import { hashKey } from './hash.js';
import type { Value } from '../types/value.js';
import { fitsOffHeap, keyFitsOffHeap, NO_ROOM, ValueStore } from './value-store.js';
import { REF, RefStore } from './ref-store.js';
import { NO_SLOTS, SlotPool, type SlotRun } from './slot-pool.js';

/**
 * Slot layout of a Segment's slots (`seg.s` from `seg.o` on, `seg.words`
 * doubles), `SLOT` words per slot, b = o + i * SLOT for slot i:
 *   s[b]     key: the handle of its bytes in the table's key store, or a
 *            reference (ref-store.ts) to the string when the store has no
 *            room; EMPTY for an empty slot
 *   s[b + 1] value: the handle of a string kept in the table's ValueStore
 *            (value-store.ts), or a reference to a collection or a string;
 *            only table.ts sees handles and references, every method hands
 *            out strings and values
 *   s[b + 2] word: (top 8 bits of the key's hash) << 24 | meta, an int32.
 * Numbers only, so the slots can live outside V8's heap (slot-pool.ts),
 * where no garbage collection reads or walks them (see ref-store.ts and
 * slot-pool.ts for what that saves).
 * The hash byte gives the home slot, `(h8 * cap) >>> 8`: resizing, splitting
 * and deleting move entries without hashing a key again, and a lookup
 * compares strings only with keys of the same hash byte.
 *
 * Keys live outside the V8 heap, as values do (value-store.ts), because a
 * key string is one heap object per key that every major GC must mark and
 * every young collection's page walk must pass: 10M 16-byte key strings in
 * segment arrays took a full GC 570-890 ms, the same arrays holding small
 * integers 80 ms (bench/RESULTS.md). A lookup compares the string it is
 * given with the key's bytes in place; keys are made into strings only
 * when handed out (SCAN, KEYS, snapshots, eviction).
 */
const SLOT = 3;
const META_MASK = 0xffffff;
/** An empty slot's key word: not an integer, so neither a handle nor a reference. */
const EMPTY = 0.5;

/**
 * Growth: a segment keeps at most 7/8 of its slots used and grows by half
 * (8, 16, 24, 40, 64 slots); a full MAX_CAP segment splits, keeping its own
 * array for the lower half and giving the upper half a right-sized one. A
 * table growing by random inserts then allocates ~45 bytes of slot arrays
 * per new key: growing by 8 slots and right-sizing both halves allocated
 * ~180 bytes a key of arrays that lived just long enough for the young
 * generation GC to copy and promote them - more than the keys and values
 * themselves (2M inserts, lookups and removes in process: 855 MB promoted
 * before, 577 MB now; bench/RESULTS.md). The price is fill: 37-42 heap bytes a key for the
 * table (bench/keytable-mem.mjs), against 33-34 before. Slots cost 24 bytes
 * where V8's Map costs 28 per entry at about 70% (its capacity doubles),
 * before counting meta.
 */
const MAX_CAP = 64;
const CAP_STEP = 8;
const MIN_CAP = 8;

/** The next capacity of a full segment of `cap` slots: half as much again, in CAP_STEPs, at most MAX_CAP unless already past it. */
function grownCap(cap: number): number {
  const next = Math.ceil((cap * 1.5) / CAP_STEP) * CAP_STEP;
  return cap < MAX_CAP ? Math.min(next, MAX_CAP) : next;
}

function maxKeys(cap: number): number {
  return cap - (cap >>> 3);
}

/** Under 3/8 full: worth giving memory back (the smaller array keeps room for a key or two). */
function wantsShrink(seg: Segment): boolean {
  return seg.cap > MIN_CAP && seg.n * 8 < seg.cap * 3;
}

/** Smallest capacity (a multiple of CAP_STEP) that holds n keys. */
function capFor(n: number): number {
  let cap = MIN_CAP;
  while (maxKeys(cap) < n) cap += CAP_STEP;
  return cap;
}

/**
 * A directory this deep stops splitting: a segment whose keys all share their
 * low hash bits (crafted keys) grows past MAX_CAP instead of doubling the
 * directory once per insert. 2^24 segments hold about 600M keys.
 */
const MAX_SPLIT_DEPTH = 24;

/** Deepest directory a size hint may ask for up front (1M segments, ~32M keys). */
const MAX_PRESIZE_DEPTH = 20;
/**
 * Keys per segment a size hint plans for: about the fill of a table grown
 * by splits (~39), so loading rarely splits (a segment's share varies by
 * about 6 around it; MAX_CAP holds 56) and makes no more segments than
 * growth would. Planning for half-full segments made 2^20 of them for 20M
 * keys: each a heap object every major GC marks, a 175 MB heap whose
 * mark-compacts paused the boot for 100-170 ms.
 */
const PRESIZE_PER_SEGMENT = 40;

/** Give seg `cap` empty slots: a fresh run from the pool, its old one given back. */
function layOut(seg: Segment, cap: number): void {
  const pool = seg.t.pool;
  pool.give(seg);
  pool.take(seg, cap * SLOT);
  const s = seg.s;
  for (let b = seg.o, end = seg.o + seg.words; b < end; b += SLOT) {
    s[b] = EMPTY;
    s[b + 1] = 0;
    s[b + 2] = 0;
  }
  seg.cap = cap;
}

/** Give seg expiries for `cap` slots, none set (NaN): a run from the pool, as its slots. */
function takeExpiries(seg: Segment, cap: number): void {
  const pool = seg.t.pool;
  const o = pool.takeRun(cap);
  const e = pool.taken;
  e.fill(NaN, o, o + cap);
  seg.es = e;
  seg.eo = o;
}

/** seg's last expiry went: its run goes back to the pool (its length is seg.cap). */
function dropExpiries(seg: Segment): void {
  seg.t.pool.giveRun(seg.es!, seg.eo, seg.cap);
  seg.es = null;
  seg.eo = 0;
}

/**
 * A segment: its slots (layout above), a run in one of the table's SlotPool
 * chunks, outside V8's heap (slot-pool.ts says why), and its bookkeeping as
 * named fields. Only table.ts reads the slots and fields of a segment.
 */
export class Segment implements SlotRun {
  /** The array holding the slots (a chunk's, shared with other segments): cap * SLOT words from o on. */
  s: Float64Array = NO_SLOTS;
  /** Where the slots start in s. */
  o = 0;
  /** cap * SLOT, or 0 until the first put of a lazy segment. */
  words = 0;
  /** Slots. */
  cap: number;
  /** Keys in this segment. */
  n = 0;
  /**
   * Absolute expiry (ms) per slot from eo on, NaN for none: a run of cap
   * doubles in a chunk of the slot pool, as the slots; null while no key
   * here has one.
   */
  es: Float64Array | null = null;
  eo = 0;
  /** Keys here that have an expiry. */
  nexp = 0;
  /** Index in KeyTable.volatile while nexp > 0, else -1. */
  vidx = -1;
  /** Epoch of the last snapshot that captured this segment. */
  snapEpoch = 0;
  depth: number;
  /** In KeyTable.shrinkable: deletes left it under 3/8 full. */
  shrinkQueued = false;
  /** What the table's segments share (one field, not four: 2^20 segments at 20M keys). */
  readonly t: TableParts;

  /**
   * `lazy`: leave the slots unallocated until the first put (a size hint
   * makes up to 2^20 segments: a generous or damaged one costs directory
   * entries and empty segments, not slots).
   */
  constructor(t: TableParts, depth: number, cap = MIN_CAP, lazy = false) {
    this.t = t;
    this.depth = depth;
    this.cap = cap;
    if (!lazy) layOut(this, cap);
  }

  get size(): number {
    return this.n;
  }

  /** Keys here that have an expiry. */
  get expiresSize(): number {
    return this.nexp;
  }

  /** Every key with its value and expiry (undefined if none). `fn` must not change the table. */
  forEachKey(fn: (key: string, value: Value, expireAt: number | undefined) => void): void {
    const e = this.es;
    const eo = this.eo;
    const s = this.s;
    for (let i = 0, b = this.o, end = this.o + this.words; b < end; i++, b += SLOT) {
      const k = s[b];
      if (k === EMPTY) continue;
      const at = e === null ? NaN : e[eo + i];
      fn(keyOf(this, k), valueOf(this, s[b + 1]), at === at ? at : undefined);
    }
  }

  /** Every key with its expiry, without making its value (KEYS, reload). `fn` must not change the table. */
  forEachKeyName(fn: (key: string, expireAt: number | undefined) => void): void {
    const e = this.es;
    const eo = this.eo;
    const s = this.s;
    for (let i = 0, b = this.o, end = this.o + this.words; b < end; i++, b += SLOT) {
      const k = s[b];
      if (k === EMPTY) continue;
      const at = e === null ? NaN : e[eo + i];
      fn(keyOf(this, k), at === at ? at : undefined);
    }
  }

  /** Every key that has an expiry. `fn` must not change the table. */
  forEachExpiry(fn: (key: string, expireAt: number) => void): void {
    const e = this.es;
    if (e === null) return;
    for (let i = 0; i < this.cap; i++) {
      const at = e[this.eo + i];
      if (at === at) fn(keyOf(this, this.s[this.o + i * SLOT]), at);
    }
  }
}

/**
 * Scratch state of KeyTable.warm (one batch at a time: the server is single-threaded).
 * WARM_MAX keys a batch: enough misses in flight to fill the memory system,
 * few enough that what the first ones brought in is still cached when they run.
 */
export const WARM_MAX = 16;
/**
 * Below this directory depth (2^11 segments, about 30k keys) the table stays
 * cached and warm() would only cost time. The depth, not the key count:
 * a table emptied by deletes keeps its segments, and a miss still walks them.
 */
const WARM_MIN_DEPTH = 11;
/** Slots warm() walks from a key's home looking for it (a run is rarely longer). */
const WARM_PROBES = 8;
const warmHash = new Int32Array(WARM_MAX);
/** The keys of the last warm() (for hashOf to reuse their hashes), how many, and the next one expected. */
const warmKeys: string[] = new Array<string>(WARM_MAX).fill('');
let warmCount = 0;
let warmNext = 0;
const warmBase = new Int32Array(WARM_MAX);
const warmSeg: (Segment | null)[] = new Array<Segment | null>(WARM_MAX).fill(null);
/** Where warm() leaves a number made from what it loaded, so no load it does is dead code. */
let warmSink = 0;

/** What a table's segments share: the stores behind their slot words, and their slot memory. */
interface TableParts {
  /** Where the strings behind value handles live. */
  readonly store: ValueStore;
  /** Keys (handles in key slots). */
  readonly keyStore: ValueStore;
  /** The objects behind references (collections, short strings). */
  readonly refs: RefStore;
  /** Where slot runs come from and go back to. */
  readonly pool: SlotPool;
}

/** Called with a segment about to change while a snapshot of this table runs. */
export type SnapshotHook = (seg: Segment) => void;

export class KeyTable {
  /** Meta a brand-new key gets from put() (and from the snapshot loader's inserts); src/memory keeps it current. */
  static newKeyMeta = 0;

  dir: Segment[];
  private mask: number;
  /** log2(dir.length) */
  depth: number;
  size = 0;
  expiresCount = 0;
  /** Segments with keys that have an expiry (unordered): what the active expire cycle walks. */
  private readonly volatile: Segment[] = [];
  /** Segments deletes left under 3/8 full, for shrinkSome(). */
  private readonly shrinkable: Segment[] = [];
  /** Epoch of the snapshot in progress over this table, 0 if none. */
  snapEpoch = 0;
  /** The bytes of this table's mid-sized string values (value-store.ts). */
  readonly store = new ValueStore();
  /** The bytes of this table's keys (a store of their own: its classes fill up apart from the values'). */
  readonly keyStore = new ValueStore();
  /** What slots hold by reference: collections, short strings, keys and values no store had room for. */
  readonly refs = new RefStore();
  /** The memory of this table's segment slots. */
  readonly slots = new SlotPool();
  private readonly parts: TableParts = { store: this.store, keyStore: this.keyStore, refs: this.refs, pool: this.slots };
  snapshotHook: SnapshotHook | null = null;

  /**
   * The last key hashed and its hash: a command usually looks its key up
   * more than once (INCR: peek then set; SET NX: peek then set; GET: value
   * then expiry), and comparing a string is cheaper than hashing it again.
   * The hash, not the segment, is cached, so splits cannot make it stale.
   * `lastSeg`/`lastSlot`/`lastSlotKey` remember where that key was last
   * found and what its slot held (its handle); the slot is
   * checked (`s[slot] === key`) before use, so moves cannot make it wrong.
   */
  private lastKey = '';
  private lastHash = hashKey('');
  private lastSeg: Segment | null = null;
  private lastSlot = 0;
  private lastSlotKey = EMPTY;

  /**
   * `expectedKeys` (a hint, e.g. a snapshot's key count) starts the table
   * with enough segments for that many keys at about half a segment each,
   * each with room for its share, so bulk loading neither splits nor grows
   * its way up from one segment.
   */
  constructor(expectedKeys = 0) {
    let depth = 0;
    while (depth < MAX_PRESIZE_DEPTH && PRESIZE_PER_SEGMENT << depth < expectedKeys) depth++;
    this.depth = depth;
    this.mask = (1 << depth) - 1;
    const cap = capFor(Math.min(PRESIZE_PER_SEGMENT, Math.ceil(expectedKeys / (1 << depth))));
    this.dir = [];
    for (let i = 0; i < 1 << depth; i++) this.dir.push(new Segment(this.parts, depth, cap, depth > 0));
  }

  /** The table was dropped (FLUSHDB, a load replaced it): its stores stop counting (ValueStore.forget). */
  forget(): void {
    this.store.forget();
    this.keyStore.forget();
    this.slots.forget();
  }

  /** The stores this table holds memory in (memory purges trim them). */
  get stores(): { trim(): number }[] {
    return [this.store, this.keyStore, this.refs, this.slotStore];
  }

  private readonly slotStore = { trim: () => this.trimSlots() };

  /**
   * Give back the slot pool's chunks no segment uses; when the runs left
   * fill less than half of them (mass deletes), first move every segment's
   * runs into new chunks, so the old ones empty: one pass over the
   * segments, memory purges only. Returns the bytes released (net of the
   * new chunks).
   */
  trimSlots(): number {
    const pool = this.slots;
    const before = pool.chunkBytes;
    if (pool.sparse) {
      pool.beginMove();
      for (const seg of this.segments()) moveRuns(seg, pool);
      pool.endMove();
    }
    pool.trim();
    return before - pool.chunkBytes;
  }

  private hashOf(key: string): number {
    if (key === this.lastKey) return this.lastHash;
    // Keys are looked up in the order warm() hashed them: take its hash when
    // the next one matches (any table: the hash depends on the string alone).
    let h: number;
    const j = warmNext;
    if (j < warmCount && warmKeys[j] === key) {
      h = warmHash[j] >>> 0;
      warmKeys[j] = ''; // not kept alive past its lookup (a key may be huge)
      warmNext = j + 1;
    } else h = hashKey(key);
    this.lastKey = key;
    this.lastHash = h;
    this.lastSeg = null;
    return h;
  }

  segmentOf(key: string): Segment {
    return this.dir[this.hashOf(key) & this.mask];
  }

  /** Must precede every change to a segment: lets a running snapshot copy it first. */
  willMutate(seg: Segment): void {
    if (seg.snapEpoch < this.snapEpoch) this.snapshotHook!(seg);
  }

  /** Whether an occupied key slot's word (a handle or a reference) is key. */
  private keyIs(k: number, key: string): boolean {
    return k < REF ? this.keyStore.equals(k, key) : this.refs.get(k) === key;
  }

  /** hashKey of an occupied key slot's key, without making a string of a handle. */
  private hashOfSlot(k: number): number {
    return k < REF ? this.keyStore.hash(k) : hashKey(this.refs.get(k) as string);
  }

  /**
   * A new key as its slot holds it: its bytes copied into the key store
   * (the string itself if the store is full). Loaders that read a whole
   * file before inserting (rdb/boot-load.ts) stage keys as they read them,
   * then insert with putStagedKey: what they keep meanwhile is a number,
   * not a string the young generation would copy and promote.
   */
  stageKey(key: string): number {
    if (keyFitsOffHeap(key.length)) {
      const h = this.keyStore.put(key);
      if (h !== NO_ROOM) return h;
    }
    return this.refs.put(key);
  }

  /** The slot of key in seg (seg = segmentOf(key)), or -1. */
  private slotOf(seg: Segment, key: string): number {
    const h8 = this.hashOf(key) >>> 24;
    if (seg === this.lastSeg) {
      const j = this.lastSlot;
      // hashOf kept lastSeg, so key is lastKey. The same handle in the same
      // slot is the same key: a handle is freed only by remove(), which
      // forgets lastSeg, so no other key can hold it meanwhile.
      if (j < seg.cap && seg.s[seg.o + j * SLOT] === this.lastSlotKey) return j;
    }
    // A lazy segment has no slots yet (not even EMPTY ones to stop at).
    if (seg.words === 0) return -1;
    const s = seg.s;
    const o = seg.o;
    const cap = seg.cap;
    let i = (h8 * cap) >>> 8;
    for (let d = 0; ; d++) {
      const b = o + i * SLOT;
      const k = s[b];
      if (k === EMPTY) return -1;
      const rh8 = s[b + 2] >>> 24;
      if (rh8 === h8) {
        if (k < REF ? this.keyStore.equals(k, key) : this.refs.get(k) === key) {
          this.lastSeg = seg;
          this.lastSlot = i;
          this.lastSlotKey = k;
          return i;
        }
      } else {
        // Robin Hood order: a resident nearer its home than we are to ours
        // means the key would have taken this slot.
        let rd = i - ((rh8 * cap) >>> 8);
        if (rd < 0) rd += cap;
        if (rd < d) return -1;
      }
      if (++i === cap) i = 0;
    }
  }

  /** Whether warm() does anything: the table is too big to stay cached. */
  get warmPays(): boolean {
    return this.depth >= WARM_MIN_DEPTH;
  }

  /**
   * Bring into the CPU cache what looking up keys[from], keys[from + step],
   * ... (below `to`, at most WARM_MAX of them) will read: the directory
   * slot, the segment, the key's home slot, the resident key, its value and
   * expiry. Changes nothing. A lookup in a table much larger than the cache
   * is a chain of four or five dependent misses (directory, segment, slots,
   * key, value), and the CPU cannot start a chain before the previous
   * lookup's has retired. Walking a batch level by level - every key's
   * segment, then every key's slot, then every resident key - makes the
   * misses of one level independent, so they overlap: lookups of random
   * keys in a 2M-key table cost 1.15-1.3 us each one by one and 0.46-0.49 us
   * after a warm() of 16 (bench/table-warm.mjs). Redis 8 and Valkey batch
   * their prefetches the same way (memory_prefetch.c), with prefetch
   * instructions where JavaScript has only loads.
   */
  warm(keys: readonly string[], from: number, to: number, step: number): void {
    // One key has no other lookup to overlap with: warming it only did the lookup's loads twice
    // (DEL and EXISTS of one key, as scripts call them, spent 4% of their CPU here).
    if (!this.warmPays || to - from <= step) return;
    let n = 0;
    for (let i = from; i < to && n < WARM_MAX; i += step) {
      const k = keys[i];
      warmKeys[n] = k;
      warmHash[n++] = hashKey(k);
    }
    warmCount = n;
    warmNext = 0;
    this.warmHashed(n);
  }

  /** warm() for staged keys known by their hashes (hashes[from], hashes[from + step], ...; see putStagedKey). */
  warmStaged(hashes: readonly unknown[], from: number, to: number, step: number): void {
    if (!this.warmPays) return;
    let n = 0;
    for (let i = from; i < to && n < WARM_MAX; i += step) warmHash[n++] = hashes[i] as number;
    warmCount = 0;
    warmNext = 0;
    this.warmHashed(n);
  }

  /** The loads of warm() for the n hashes in warmHash. */
  private warmHashed(n: number): void {
    const dir = this.dir;
    const mask = this.mask;
    for (let j = 0; j < n; j++) warmSeg[j] = dir[warmHash[j] & mask];
    for (let j = 0; j < n; j++) {
      const seg = warmSeg[j]!;
      warmBase[j] = (((warmHash[j] >>> 24) * seg.cap) >>> 8) * SLOT;
    }
    let sink = 0;
    for (let j = 0; j < n; j++) {
      const seg = warmSeg[j]!;
      const b = warmBase[j];
      if (b < seg.words) {
        const e = seg.es;
        sink += (seg.s[seg.o + b + 2] as number) + (e === null ? 0 : e[seg.eo + b / SLOT]);
      }
    }
    for (let j = 0; j < n; j++) {
      const seg = warmSeg[j]!;
      const s = seg.s;
      const o = seg.o;
      const len = seg.words;
      const h8 = warmHash[j] >>> 24;
      // The key is often not in its home slot (Robin Hood displaces it):
      // find the first slot of its probe run with its hash byte, as slotOf
      // will, and bring in that resident's key and value.
      let b = warmBase[j];
      for (let d = 0; b < len && d < WARM_PROBES; d++) {
        const k = s[o + b];
        if (k === EMPTY) break;
        if (s[o + b + 2] >>> 24 === h8) {
          const v = s[o + b + 1];
          sink += k < REF ? this.keyStore.peek(k) : (this.refs.get(k) as string).length;
          // A value in the store: its length and first bytes (a GET reads
          // both; a SET's release and put do not, but the miss is cheap here).
          if (v < REF) sink += this.store.peek(v);
          else {
            // typeof reads the object's map: its first cache line is now in.
            const o = this.refs.get(v);
            if (typeof o === 'string') sink += o.length;
          }
          break;
        }
        b += SLOT;
        if (b === len) b = 0;
      }
      warmSeg[j] = null;
    }
    warmSink = sink;
  }

  get(key: string): Value | undefined {
    const seg = this.dir[this.hashOf(key) & this.mask];
    const i = this.slotOf(seg, key);
    return i < 0 ? undefined : valueOf(seg, seg.s[seg.o + i * SLOT + 1]);
  }

  /** The value of key in seg (seg = segmentOf(key)). */
  lookup(seg: Segment, key: string): Value | undefined {
    const i = this.slotOf(seg, key);
    return i < 0 ? undefined : valueOf(seg, seg.s[seg.o + i * SLOT + 1]);
  }

  /**
   * What accounting needs of key's value without making a string of it: the
   * value itself, or for a string in the store its length (a number).
   */
  lookupShape(seg: Segment, key: string): Value | number | undefined {
    const i = this.slotOf(seg, key);
    if (i < 0) return undefined;
    const v = seg.s[seg.o + i * SLOT + 1];
    return v < REF ? this.store.length(v) : (this.refs.get(v) as Value);
  }

  has(seg: Segment, key: string): boolean {
    return this.slotOf(seg, key) >= 0;
  }

  /** Insert or replace; `seg` must be segmentOf(key) and willMutate already called. */
  put(seg: Segment, key: string, value: Value): void {
    this.putStaged(seg, key, this.stage(value));
  }

  /**
   * The value as a slot holds it: a string of the store's sizes is copied
   * into the store now. For loaders that read a whole file before the keys
   * go in (rdb/boot-load.ts): what they keep meanwhile is a handle, not a
   * string the young generation would have to copy and promote.
   */
  stage(value: Value): number {
    if (typeof value === 'string' && fitsOffHeap(value.length)) {
      const h = this.store.put(value);
      if (h !== NO_ROOM) return h;
    }
    return this.refs.put(value);
  }

  /** A slot's value word is being dropped: free its cell or its reference. */
  private releaseValue(v: number): void {
    if (v < REF) this.store.release(v);
    else this.refs.release(v);
  }

  /** put() of what stage() made of the value. */
  putStaged(seg: Segment, key: string, stored: number): void {
    const i = this.slotOf(seg, key);
    if (i >= 0) {
      this.releaseValue(seg.s[seg.o + i * SLOT + 1]);
      seg.s[seg.o + i * SLOT + 1] = stored;
      return;
    }
    const h = this.lastHash;
    seg = this.roomFor(seg, h);
    const k = this.stageKey(key);
    this.lastSeg = seg;
    this.lastSlot = insert(seg, k, stored, ((h >>> 24) << 24) | KeyTable.newKeyMeta, NaN);
    this.lastSlotKey = k;
    this.size++;
  }

  /**
   * Insert a key stageKey() made, known by its hash (hashKey of the key),
   * with its staged value, expiry (NaN: none) and meta (null: newKeyMeta).
   * False, and nothing inserted, if the table holds the key already.
   * For loaders filling a table no client sees yet.
   */
  putStagedKey(h: number, k: number, stored: number, expireAt: number, meta: number | null): boolean {
    let seg = this.dir[h & this.mask];
    this.willMutate(seg);
    if (this.stagedSlotOf(seg, h >>> 24, k) >= 0) return false;
    seg = this.roomFor(seg, h);
    const i = insert(seg, k, stored, ((h >>> 24) << 24) | ((meta ?? KeyTable.newKeyMeta) & META_MASK), NaN);
    this.size++;
    if (expireAt === expireAt) this.setExpiryAt(seg, i, expireAt);
    this.lastSeg = null;
    return true;
  }

  /** A staged key as a string (a loader's error message). */
  stagedKeyName(k: number): string {
    return k < REF ? this.keyStore.get(k) : (this.refs.get(k) as string);
  }

  /** The slot holding the staged key k (a handle or a string) with hash byte h8 in seg, or -1. */
  private stagedSlotOf(seg: Segment, h8: number, k: number): number {
    const cap = seg.cap;
    if (seg.words === 0) return -1;
    const s = seg.s;
    const o = seg.o;
    // Made a string only if a resident shares the hash byte (rare: most keys are new).
    let probe: string | null = null;
    let i = (h8 * cap) >>> 8;
    for (let d = 0; ; d++) {
      const b = o + i * SLOT;
      const rk = s[b];
      if (rk === EMPTY) return -1;
      const rh8 = s[b + 2] >>> 24;
      if (rh8 === h8) {
        probe ??= this.stagedKeyName(k);
        if (this.keyIs(rk, probe)) return i;
      } else {
        let rd = i - ((rh8 * cap) >>> 8);
        if (rd < 0) rd += cap;
        if (rd < d) return -1;
      }
      if (++i === cap) i = 0;
    }
  }

  /**
   * seg (where a new key of hash h belongs), or the segment it belongs in
   * after seg grew or split to make room for it.
   */
  private roomFor(seg: Segment, h: number): Segment {
    if (seg.words === 0) layOut(seg, seg.cap);
    if (seg.n >= maxKeys(seg.cap)) {
      if (seg.cap < MAX_CAP || seg.depth >= MAX_SPLIT_DEPTH) {
        this.resize(seg, grownCap(seg.cap));
      } else {
        this.split(seg);
        seg = this.dir[h & this.mask];
        // Every key went to the other half: split again.
        while (seg.n >= maxKeys(seg.cap)) {
          if (seg.cap < MAX_CAP || seg.depth >= MAX_SPLIT_DEPTH) this.resize(seg, grownCap(seg.cap));
          else {
            this.split(seg);
            seg = this.dir[h & this.mask];
          }
        }
      }
    }
    return seg;
  }

  /** Remove key and its expiry; `seg` must be segmentOf(key), willMutate called. */
  remove(seg: Segment, key: string): boolean {
    const i = this.slotOf(seg, key);
    if (i < 0) return false;
    const e = seg.es;
    if (e !== null && e[seg.eo + i] === e[seg.eo + i]) this.expiryGone(seg);
    this.releaseValue(seg.s[seg.o + i * SLOT + 1]);
    const k = seg.s[seg.o + i * SLOT];
    if (k < REF) this.keyStore.release(k);
    else this.refs.release(k);
    deleteAt(seg, i);
    this.size--;
    this.lastSeg = null;
    // Memory goes back later, as Redis shrinks its dicts from serverCron: a
    // segment emptied by a mass DEL would otherwise be re-laid out three
    // times on the way down (64 -> 32 -> 16 -> 8 slots), a third of the
    // DEL's time, and that while the client waits.
    if (!seg.shrinkQueued && wantsShrink(seg)) {
      seg.shrinkQueued = true;
      this.shrinkable.push(seg);
    }
    return true;
  }

  /** Segments waiting for shrinkSome(). */
  get shrinkPending(): number {
    return this.shrinkable.length;
  }

  /**
   * Re-lay the segments deletes left under 3/8 full in right-sized arrays,
   * until `deadline` (performance.now()) passes; true when some are left.
   * A segment that filled up again meanwhile is left as it is.
   */
  shrinkSome(deadline: number): boolean {
    const q = this.shrinkable;
    for (let i = 1; q.length > 0; i++) {
      const seg = q.pop()!;
      seg.shrinkQueued = false;
      if (wantsShrink(seg)) {
        this.willMutate(seg);
        this.resize(seg, capFor(seg.n + 1));
      }
      if ((i & 63) === 0 && performance.now() >= deadline) break;
    }
    return q.length > 0;
  }

  getExpiry(seg: Segment, key: string): number | undefined {
    const e = seg.es;
    if (e === null) return undefined;
    const i = this.slotOf(seg, key);
    if (i < 0) return undefined;
    const at = e[seg.eo + i];
    return at === at ? at : undefined;
  }

  /** Set key's absolute expiry (ms); the key must exist in seg. */
  setExpiry(seg: Segment, key: string, at: number): void {
    const i = this.slotOf(seg, key);
    if (i >= 0) this.setExpiryAt(seg, i, at);
  }

  private setExpiryAt(seg: Segment, i: number, at: number): void {
    if (seg.es === null) takeExpiries(seg, seg.cap);
    const e = seg.es!;
    const j = seg.eo + i;
    if (e[j] !== e[j]) {
      if (seg.nexp++ === 0) {
        seg.vidx = this.volatile.length;
        this.volatile.push(seg);
      }
      this.expiresCount++;
    }
    e[j] = at;
  }

  dropExpiry(seg: Segment, key: string): boolean {
    const e = seg.es;
    if (e === null) return false;
    const i = this.slotOf(seg, key);
    if (i < 0) return false;
    const j = seg.eo + i;
    if (e[j] !== e[j]) return false;
    e[j] = NaN;
    this.expiryGone(seg);
    return true;
  }

  /** Bookkeeping for one expiry leaving seg (the caller clears or deletes the slot). */
  private expiryGone(seg: Segment): void {
    this.expiresCount--;
    if (--seg.nexp === 0) {
      dropExpiries(seg);
      this.unlistVolatile(seg);
    }
  }

  private unlistVolatile(seg: Segment): void {
    const v = this.volatile;
    const last = v.pop()!;
    if (last !== seg) {
      v[seg.vidx] = last;
      last.vidx = seg.vidx;
    }
    seg.vidx = -1;
  }

  getMeta(seg: Segment, key: string): number {
    const i = this.slotOf(seg, key);
    return i < 0 ? 0 : seg.s[seg.o + i * SLOT + 2] & META_MASK;
  }

  setMeta(seg: Segment, key: string, meta: number): void {
    const i = this.slotOf(seg, key);
    if (i < 0) return;
    const b = seg.o + i * SLOT + 2;
    seg.s[b] = (seg.s[b] & ~META_MASK) | (meta & META_MASK);
  }

  /** Segments holding keys with an expiry, in no particular order (`volatileSegment(i)` for i < this). */
  get volatileCount(): number {
    return this.volatile.length;
  }

  /**
   * The i-th segment holding keys with an expiry. A segment whose last
   * expiry goes is swapped out by the last one, so a walk by index that
   * removes keys re-reads the same index.
   */
  volatileSegment(i: number): Segment | undefined {
    return this.volatile[i];
  }

  /** Re-lay seg's keys in `cap` slots (grow or shrink), through the scratch area. */
  private resize(seg: Segment, cap: number): void {
    const e = seg.es;
    const old = seg.cap;
    const words = old * SLOT;
    if (scratch.length < words) scratch = new Float64Array(words);
    scratch.set(seg.s.subarray(seg.o, seg.o + words));
    if (e !== null) {
      if (scratchExp.length < old) scratchExp = new Float64Array(old);
      scratchExp.set(e.subarray(seg.eo, seg.eo + old));
      dropExpiries(seg);
      takeExpiries(seg, cap);
    }
    layOut(seg, cap);
    seg.n = 0;
    for (let i = 0, b = 0; i < old; i++, b += SLOT) {
      const k = scratch[b];
      if (k !== EMPTY) insert(seg, k, scratch[b + 1], scratch[b + 2], e === null ? NaN : scratchExp[i]);
    }
    this.lastSeg = null;
  }

  /**
   * Split a full MAX_CAP segment by the next hash bit. Its keys are copied
   * out to a scratch area and laid out again in its own array (cleared), the
   * upper half's in a new right-sized one: one allocation per split.
   */
  private split(seg: Segment): void {
    if (seg.depth === this.depth) {
      this.dir = this.dir.concat(this.dir);
      this.depth++;
      this.mask = this.dir.length - 1;
    }
    const bit = 1 << seg.depth;
    const s = seg.s;
    const o = seg.o;
    const old = seg.cap;
    const words = old * SLOT;
    if (side.length < old) side = new Uint8Array(old);
    if (scratchExp.length < old) scratchExp = new Float64Array(old);
    if (scratch.length < words) scratch = new Float64Array(words);
    const e = seg.es;
    const eo = seg.eo;
    // The slots that share seg agree on the hash bits below `bit`.
    let low = -1;
    let nHi = 0;
    for (let i = 0, b = 0; i < old; i++, b += SLOT) {
      const k = s[o + b];
      scratch[b] = k;
      scratch[b + 1] = s[o + b + 1];
      scratch[b + 2] = s[o + b + 2];
      s[o + b] = EMPTY;
      s[o + b + 1] = 0;
      s[o + b + 2] = 0;
      if (e !== null) {
        scratchExp[i] = e[eo + i];
        e[eo + i] = NaN;
      }
      if (k === EMPTY) continue;
      const h = this.hashOfSlot(k);
      if (low < 0) low = h & (bit - 1);
      const up = h & bit ? 1 : 0;
      side[i] = up;
      nHi += up;
    }
    const hi = new Segment(this.parts, seg.depth + 1, capFor(nHi + 1));
    hi.snapEpoch = seg.snapEpoch;
    seg.depth++;
    seg.n = 0;
    if (e !== null) takeExpiries(hi, hi.cap);
    let hiExp = 0;
    for (let i = 0, b = 0; i < old; i++, b += SLOT) {
      const k = scratch[b];
      if (k === EMPTY) continue;
      const at = e === null ? NaN : scratchExp[i];
      if (side[i] === 1) {
        insert(hi, k, scratch[b + 1], scratch[b + 2], at);
        if (at === at) hiExp++;
      } else {
        insert(seg, k, scratch[b + 1], scratch[b + 2], at);
      }
    }
    if (e !== null) {
      hi.nexp = hiExp;
      seg.nexp -= hiExp;
      if (hiExp > 0) {
        hi.vidx = this.volatile.length;
        this.volatile.push(hi);
      } else {
        dropExpiries(hi);
      }
      if (seg.nexp === 0) {
        dropExpiries(seg);
        this.unlistVolatile(seg);
      }
    }
    this.lastSeg = null;
    // Every directory slot that pointed at seg and has the new bit set now
    // points at hi.
    for (let i = low | bit; i < this.dir.length; i += bit << 1) this.dir[i] = hi;
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
  scan(cursor: number, count: number, emit: (key: string, seg: Segment) => void): number {
    let visited = 0;
    do {
      const mask = this.mask;
      const slot = cursor & mask;
      const seg = this.dir[slot];
      const s = seg.s;
      // A shallower segment is shared by several slots: emit only the keys of
      // this slot, so each key comes once per cycle.
      const all = seg.depth === this.depth;
      for (let b = seg.o, end = seg.o + seg.words; b < end; b += SLOT) {
        const k = s[b];
        if (k === EMPTY) continue;
        if (all || (this.hashOfSlot(k) & mask) === slot) {
          emit(keyOf(seg, k), seg);
          visited++;
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
      if (seg.n > 0) return keyOf(seg, randomIn(seg));
    }
    // Sparse table: walk from a random slot.
    const start = (Math.random() * n) | 0;
    for (let i = 0; i < n; i++) {
      const seg = this.dir[(start + i) % n];
      if (seg.n > 0) return keyOf(seg, randomIn(seg));
    }
    return undefined;
  }

  /**
   * Calls fn for up to `count` distinct keys picked at random: runs of
   * consecutive slots from random segments (as Redis's dictGetSomeKeys takes
   * consecutive buckets; a slot's key is as random as its hash). Every key
   * when the table has no more than `count`. Keys are picked before fn runs,
   * so fn may change the table.
   */
  sample(count: number, fn: (seg: Segment, key: string, value: Value, meta: number) => void): void {
    const p = this.pick(count, false);
    for (let j = 0; j < p.length; j += PICK) fn(p[j] as Segment, p[j + 1] as string, p[j + 2] as Value, p[j + 3] as number);
  }

  /** The same as sample among keys that have an expiry, also passing it (absolute ms). */
  sampleVolatile(count: number, fn: (seg: Segment, key: string, value: Value, meta: number, expireAt: number) => void): void {
    const p = this.pick(count, true);
    for (let j = 0; j < p.length; j += PICK) fn(p[j] as Segment, p[j + 1] as string, p[j + 2] as Value, p[j + 3] as number, p[j + 4] as number);
  }

  /**
   * Up to `count` distinct keys as flat PICK-tuples (segment, key, value,
   * meta, expiry); only keys with an expiry when `volatile`. A segment is
   * taken at most once.
   */
  private pick(count: number, volatile: boolean): unknown[] {
    const out: unknown[] = [];
    const total = volatile ? this.expiresCount : this.size;
    if (count <= 0 || total === 0) return out;
    if (total <= count) {
      const segs = volatile ? this.volatile : [...this.segments()];
      for (const seg of segs) takeRun(seg, 0, seg.cap, volatile, out);
      return out;
    }
    const seen = new Set<Segment>();
    const want = count * PICK;
    const pool = volatile ? this.volatile : this.dir;
    for (let tries = 0; out.length < want && tries < count + 64; tries++) {
      const seg = pool[(Math.random() * pool.length) | 0];
      if (seen.has(seg)) continue;
      seen.add(seg);
      takeRun(seg, (Math.random() * seg.cap) | 0, (want - out.length) / PICK, volatile, out);
    }
    if (out.length === 0) {
      // A sparse table (a large size hint, or most keys deleted): walk from a random slot.
      const start = (Math.random() * pool.length) | 0;
      for (let i = 0; i < pool.length && out.length === 0; i++) {
        const seg = pool[(start + i) % pool.length];
        takeRun(seg, (Math.random() * seg.cap) | 0, count, volatile, out);
      }
    }
    return out;
  }
}

/** Which half each slot goes to during a split (reused). */
let side = new Uint8Array(MAX_CAP);
/** A resizing or splitting segment's slots and expiries while they are laid out again (reused). */
let scratch = new Float64Array(MAX_CAP * SLOT);
let scratchExp = new Float64Array(MAX_CAP);

/** Words per picked key in KeyTable.pick's output. */
const PICK = 5;

/** Append up to `max` keys of seg as PICK-tuples, from slot `start` on (wrapping). */
function takeRun(seg: Segment, start: number, max: number, volatile: boolean, out: unknown[]): void {
  const s = seg.s;
  const e = seg.es;
  const cap = seg.cap;
  if ((volatile && e === null) || seg.words === 0) return;
  for (let k = 0, i = start; k < cap && max > 0; k++) {
    const b = seg.o + i * SLOT;
    const at = e === null ? NaN : e[seg.eo + i];
    if (s[b] !== EMPTY && (!volatile || at === at)) {
      // Key and value taken now: fn may delete keys, and a freed handle or reference can be reused.
      out.push(seg, keyOf(seg, s[b]), valueOf(seg, s[b + 1]), s[b + 2] & META_MASK, at);
      max--;
    }
    if (++i === cap) i = 0;
  }
}

/** Copy seg's slots and expiries into runs taken now (the pool is moving: see SlotPool.beginMove). */
function moveRuns(seg: Segment, pool: SlotPool): void {
  const w = seg.words;
  if (w === 0) return;
  const s = seg.s;
  const o = seg.o;
  const no = pool.takeRun(w);
  const ns = pool.taken;
  ns.set(s.subarray(o, o + w), no);
  pool.giveRun(s, o, w);
  seg.s = ns;
  seg.o = no;
  const e = seg.es;
  if (e === null) return;
  const eo = seg.eo;
  const neo = pool.takeRun(seg.cap);
  const ne = pool.taken;
  ne.set(e.subarray(eo, eo + seg.cap), neo);
  pool.giveRun(e, eo, seg.cap);
  seg.es = ne;
  seg.eo = neo;
}

/** A random occupied key slot's word (a handle or a reference). */
function randomIn(seg: Segment): number {
  // Segments above MIN_CAP are at least 3/8 full (remove keeps them so), so this ends fast.
  for (;;) {
    const k = seg.s[seg.o + ((Math.random() * seg.cap) | 0) * SLOT];
    if (k !== EMPTY) return k;
  }
}

/**
 * Robin Hood insert of a key known to be absent: walk from its home and take
 * the first slot whose resident is nearer its own home, carrying that
 * resident on. Returns the key's slot.
 */
function insert(seg: Segment, key: number, value: number, word: number, at: number): number {
  const s = seg.s;
  const o = seg.o;
  const e = seg.es;
  const eo = seg.eo;
  const cap = seg.cap;
  let i = ((word >>> 24) * cap) >>> 8;
  let d = 0;
  let mine = -1;
  let k = key;
  let v = value;
  let w = word;
  for (;;) {
    const b = o + i * SLOT;
    const rk = s[b];
    if (rk === EMPTY) {
      s[b] = k;
      s[b + 1] = v;
      s[b + 2] = w;
      if (e !== null) e[eo + i] = at;
      seg.n++;
      return mine < 0 ? i : mine;
    }
    const rw = s[b + 2];
    let rd = i - (((rw >>> 24) * cap) >>> 8);
    if (rd < 0) rd += cap;
    if (rd < d) {
      const rv = s[b + 1];
      s[b] = k;
      s[b + 1] = v;
      s[b + 2] = w;
      k = rk;
      v = rv;
      w = rw;
      if (e !== null) {
        const rat = e[eo + i];
        e[eo + i] = at;
        at = rat;
      }
      d = rd;
      if (mine < 0) mine = i;
    }
    if (++i === cap) i = 0;
    d++;
  }
}

/** Delete slot i by backward shift: pull each following displaced entry one slot back. */
function deleteAt(seg: Segment, i: number): void {
  const s = seg.s;
  const o = seg.o;
  const e = seg.es;
  const eo = seg.eo;
  const cap = seg.cap;
  for (;;) {
    let j = i + 1;
    if (j === cap) j = 0;
    const bj = o + j * SLOT;
    const k = s[bj];
    if (k === EMPTY) break;
    const w = s[bj + 2];
    if ((((w >>> 24) * cap) >>> 8) === j) break;
    const bi = o + i * SLOT;
    s[bi] = k;
    s[bi + 1] = s[bj + 1];
    s[bi + 2] = w;
    if (e !== null) e[eo + i] = e[eo + j];
    i = j;
  }
  const b = o + i * SLOT;
  s[b] = EMPTY;
  s[b + 1] = 0;
  s[b + 2] = 0;
  if (e !== null) e[eo + i] = NaN;
  seg.n--;
}

/** An occupied key slot's word as the table hands the key out: a string. */
function keyOf(seg: Segment, k: number): string {
  return k < REF ? seg.t.keyStore.get(k) : (seg.t.refs.get(k) as string);
}

/** A slot's value word as the table hands the value out: a handle made into its string, a reference followed. */
function valueOf(seg: Segment, v: number): Value {
  return v < REF ? seg.t.store.get(v) : (seg.t.refs.get(v) as Value);
}

function reverseBits(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  v = (v >>> 16) | (v << 16);
  return v >>> 0;
}
