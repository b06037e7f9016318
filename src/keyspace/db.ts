/**
 * One logical database (SELECT n): the key table plus the rules every
 * command goes through, so that expiry, snapshots, WATCH and blocking pops
 * see every change.
 *
 * The contract for write commands:
 *  - replace or create a value with `set`, remove with `delete`;
 *  - to change a collection in place, take it with `getForWrite` (which lets
 *    a running snapshot copy it first), change it, then call `modified(key)`;
 *    if it became empty, `delete` it (Redis never keeps empty collections).
 */
import type { Keyspace } from './keyspace.js';
import { KeyTable, type Segment } from './table.js';
import type { Value } from '../types/value.js';
import { freshMeta, touched } from '../memory/lru.js';
import { mem } from '../memory/settings.js';
import { clearEvictionPool } from '../memory/evict.js';
import { accountAdd, accountChange, accountDrop, accountRemove } from '../memory/usage.js';
import { beforeChange } from '../memory/live-reads.js';
import { notify, NOTIFY_EXPIRED, NOTIFY_KEY_MISS, NOTIFY_NEW } from './notify.js';
import { trackingActive, trackingFlushed, trackingInvalidateKey } from '../server/tracking.js';

/** v: a value, or what lookupShape gives for one (a number: a string's length). */
const isStream = (v: Value | number) => typeof v === 'object' && v.type === 'stream';

/** A client WATCHing keys: told when one changes. */
export interface Watcher {
  watchedKeyTouched(): void;
}

export class Database {
  table = new KeyTable();
  /** WATCHed keys of this db (multi.ts keeps it). */
  readonly watched = new Map<string, Set<Watcher>>();
  /** Accounted memory of this db's values (src/memory/usage.ts), dropped whole by flush. */
  cost = 0;

  constructor(
    public id: number,
    private readonly ks: Keyspace,
  ) {}

  get size(): number {
    return this.table.size;
  }

  /**
   * A hint before looking up keys[from], keys[from + step], ... (below
   * `to`, WARM_MAX of them): see KeyTable.warm. Multi-key commands call it
   * every WARM_MAX keys.
   */
  warm(keys: readonly string[], from: number, to: number, step: number): void {
    this.table.warm(keys, from, to, step);
  }

  /** Lazy expiry: true (and the key is gone) if it had expired. */
  private expireIfNeeded(seg: Segment, key: string): boolean {
    const at = this.table.getExpiry(seg, key);
    if (at === undefined || at > this.ks.now) return false;
    if (this.ks.loading) return false;
    if (this.ks.changesHeld) return true;
    this.table.willMutate(seg);
    const old = this.table.lookupShape(seg, key)!;
    this.cost -= accountRemove(key, old);
    this.table.remove(seg, key);
    this.ks.stats.expiredKeys++;
    this.changed(key);
    notify(NOTIFY_EXPIRED, 'expired', key, this.id);
    if (isStream(old)) this.signalReady(key);
    return true;
  }

  /**
   * The live value of key, or undefined (read commands). Counts hits/misses
   * and records the access (LRU clock or LFU counter) as Redis's lookupKey.
   */
  get(key: string): Value | undefined {
    const v = this.getNoTouch(key);
    // segmentOf is the table's cached last hash here, and setMeta its cached slot.
    if (v !== undefined) this.touch(this.table.segmentOf(key), key);
    return v;
  }

  /**
   * As get, without recording the access: Redis's LOOKUP_NOTOUCH, which
   * EXISTS, TYPE, TTL/PTTL/EXPIRETIME, SCAN's TYPE filter and OBJECT use so
   * that inspecting a key does not make it look used.
   */
  getNoTouch(key: string): Value | undefined {
    const seg = this.table.segmentOf(key);
    const v = this.table.lookup(seg, key);
    if (v === undefined || this.expireIfNeeded(seg, key)) {
      this.ks.stats.misses++;
      notify(NOTIFY_KEY_MISS, 'keymiss', key, this.id);
      return undefined;
    }
    this.ks.stats.hits++;
    return v;
  }

  private touch(seg: Segment, key: string): void {
    const t = this.table;
    t.setMeta(seg, key, mem.lfu ? touched(t.getMeta(seg, key)) : touched(0));
  }

  /** Like get, but without touching hit/miss stats (EXISTS, TYPE, internal use). */
  peek(key: string): Value | undefined {
    const seg = this.table.segmentOf(key);
    const v = this.table.lookup(seg, key);
    if (v === undefined || this.expireIfNeeded(seg, key)) return undefined;
    return v;
  }

  /** The value about to be changed in place; a running snapshot copies it first. */
  getForWrite(key: string): Value | undefined {
    const seg = this.table.segmentOf(key);
    const v = this.table.lookup(seg, key);
    if (v === undefined || this.expireIfNeeded(seg, key)) return undefined;
    this.table.willMutate(seg);
    beforeChange(v);
    this.touch(seg, key);
    return v;
  }

  /**
   * Create or replace key. Its TTL is cleared unless `keepTtl`; `expireAt`
   * (absolute ms) sets a new one.
   */
  set(key: string, value: Value, keepTtl = false, expireAt?: number): void {
    const t = this.table;
    const seg = t.segmentOf(key);
    t.willMutate(seg);
    const old = t.lookupShape(seg, key);
    if (old !== undefined) this.cost -= accountRemove(key, old);
    this.cost += accountAdd(key, value);
    t.put(seg, key, value);
    // A new value is a new object in Redis (fresh LRU clock); under LFU
    // dbSetValue keeps the key's counter, which the write's lookup bumped.
    if (old !== undefined) t.setMeta(t.segmentOf(key), key, mem.lfu ? touched(t.getMeta(t.segmentOf(key), key)) : freshMeta());
    if (expireAt !== undefined) t.setExpiry(t.segmentOf(key), key, expireAt);
    else if (!keepTtl && seg.expiresSize !== 0) t.dropExpiry(t.segmentOf(key), key);
    this.changed(key);
    if (old === undefined) notify(NOTIFY_NEW, 'new', key, this.id);
    // As Redis's dbAdd: a collection appearing under a key (RENAME, MOVE,
    // COPY, SORT STORE, RESTORE...) may serve clients blocked on it; a
    // stream replaced by anything unblocks XREADGROUP clients (dbSetValue).
    if (typeof value !== 'string' || (old !== undefined && isStream(old))) this.signalReady(key);
  }

  delete(key: string): boolean {
    const t = this.table;
    const seg = t.segmentOf(key);
    if (!t.has(seg, key)) return false;
    if (this.expireIfNeeded(seg, key)) return false;
    t.willMutate(seg);
    const old = t.lookupShape(seg, key)!;
    this.cost -= accountRemove(key, old);
    t.remove(seg, key);
    this.changed(key);
    // XREADGROUP clients blocked on a deleted stream are answered (dbGenericDelete).
    if (isStream(old)) this.signalReady(key);
    return true;
  }

  exists(key: string): boolean {
    return this.peek(key) !== undefined;
  }

  /** Absolute expiry in ms, or undefined if key has none (or does not exist). */
  expireAt(key: string): number | undefined {
    return this.table.getExpiry(this.table.segmentOf(key), key);
  }

  /** Set key's absolute expiry; a time already past deletes it (as Redis). */
  setExpire(key: string, at: number): void {
    if (at <= this.ks.now && !this.ks.loading) {
      this.delete(key);
      return;
    }
    const t = this.table;
    const seg = t.segmentOf(key);
    t.willMutate(seg);
    t.setExpiry(seg, key, at);
    this.changed(key);
  }

  /** Remove key's TTL; true if it had one. */
  persist(key: string): boolean {
    const t = this.table;
    const seg = t.segmentOf(key);
    if (t.getExpiry(seg, key) === undefined) return false;
    t.willMutate(seg);
    t.dropExpiry(seg, key);
    this.changed(key);
    return true;
  }

  /**
   * Redis signalModifiedKey: WATCH invalidation and the save-rule change
   * counter. Called after a value changed in place, it also accounts the
   * value's new size.
   */
  modified(key: string): void {
    const v = this.table.lookupShape(this.table.segmentOf(key), key);
    if (typeof v === 'object') this.cost += accountChange(key, v);
    this.changed(key);
  }

  private changed(key: string): void {
    this.ks.dirty++;
    if (trackingActive.on) trackingInvalidateKey(key);
    if (this.watched.size !== 0) {
      const ws = this.watched.get(key);
      if (ws !== undefined) for (const w of ws) w.watchedKeyTouched();
    }
  }

  /** Tell blocked clients (BLPOP, BZPOPMIN...) that key may now serve them. */
  signalReady(key: string): void {
    this.ks.keyReady?.(this, key);
  }

  /**
   * Drop every key. The old table is handed off whole, so a running snapshot
   * keeps reading it unchanged instead of copying everything first.
   */
  flush(signal = true): number {
    if (signal && trackingActive.on) trackingFlushed();
    const n = this.table.size;
    if (this.watched.size !== 0) {
      for (const [k, ws] of this.watched) if (this.table.get(k) !== undefined) for (const w of ws) w.watchedKeyTouched();
    }
    const oldTable = this.table;
    this.table = new KeyTable();
    // scanDatabaseForDeletedStreams: blocked XREADGROUP clients of a flushed stream are answered.
    for (const k of this.ks.blockedKeys?.(this) ?? []) {
      const v = oldTable.get(k);
      if (v !== undefined && isStream(v)) this.signalReady(k);
    }
    clearEvictionPool();
    // Its string cells stop counting as used now; their slabs go with the table.
    oldTable.forget();
    accountDrop(this.cost);
    this.cost = 0;
    this.ks.dirty += n;
    return n;
  }

  /** Keys of `seg` that are live (not logically expired). */
  isLive(seg: Segment, key: string): boolean {
    const at = this.table.getExpiry(seg, key);
    return at === undefined || at > this.ks.now;
  }
}
