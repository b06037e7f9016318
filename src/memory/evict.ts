/**
 * Eviction when used_memory passes maxmemory: Redis 7.0's performEvictions
 * (evict.c), run by the dispatcher before each command.
 *
 * LRU, LFU and volatile-ttl approximate the best candidate by sampling:
 * each round takes `maxmemory-samples` keys of every database (only keys
 * with a TTL under volatile-*) into a 16-entry pool ordered by "idleness"
 * (seconds idle; 255 - LFU counter; the nearer the expiry the higher), and
 * the pool's best entry still present goes. The pool persists across rounds
 * and commands, so good candidates found earlier are kept. The random
 * policies take a random key of the next non-empty database in turn.
 *
 * One call evicts for at most the time `maxmemory-eviction-tenacity` allows
 * (500 us at the default 10); if memory is still over, the rest continues in
 * the background (a setImmediate loop, as Redis's evictionTimeProc is a 0 ms
 * timer) and commands keep being accepted meanwhile (EVICT_RUNNING), so no
 * client waits long behind a large eviction.
 */
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Database } from '../keyspace/db.js';
import { idleMs, lfuDecrAndReturn } from './lru.js';
import { mem, settingsListeners } from './settings.js';
import { refreshUsageIfStale, usedMemory } from './usage.js';
import { log } from '../log.js';
import { notify, NOTIFY_EVICTED } from '../keyspace/notify.js';

export const enum Evict {
  /** Under the limit (or nothing to do). */
  OK,
  /** Over the limit, but the background proc is freeing memory: accept commands. */
  RUNNING,
  /** Over the limit and nothing can be evicted: refuse denyoom commands. */
  FAIL,
}

const POOL_SIZE = 16;

interface PoolEntry {
  key: string;
  db: number;
  idle: number;
}

/** Sorted by idle ascending: the best candidate is the last filled entry. */
const pool: (PoolEntry | null)[] = new Array(POOL_SIZE).fill(null);

/** Redis's evictionPoolPopulate: insert one sampled key if it beats the pool's worst. */
function poolInsert(key: string, db: number, idle: number): void {
  let k = 0;
  while (k < POOL_SIZE && pool[k] !== null && pool[k]!.idle < idle) k++;
  if (k === 0 && pool[POOL_SIZE - 1] !== null) return; // worse than all, pool full
  if (k < POOL_SIZE && pool[k] === null) {
    // An empty slot: insert there.
  } else if (pool[POOL_SIZE - 1] === null) {
    // Free space on the right: shift right from k.
    for (let i = POOL_SIZE - 1; i > k; i--) pool[i] = pool[i - 1];
  } else {
    // Pool full: drop the worst (leftmost) and shift left up to k-1.
    k--;
    for (let i = 0; i < k; i++) pool[i] = pool[i + 1];
  }
  pool[k] = { key, db, idle };
}

function populate(db: Database): void {
  const t = db.table;
  const n = mem.samples;
  if (mem.policy === 'volatile-ttl') {
    // The nearer the expiry, the "idler": Redis uses ULLONG_MAX - expire.
    t.sampleVolatile(n, (_s, key, _v, _m, at) => poolInsert(key, db.id, Number.MAX_SAFE_INTEGER - at));
  } else if (mem.lfu) {
    const f = (_s: unknown, key: string, _v: unknown, meta: number) => poolInsert(key, db.id, 255 - lfuDecrAndReturn(meta));
    if (mem.volatile) t.sampleVolatile(n, f);
    else t.sample(n, f);
  } else {
    const f = (_s: unknown, key: string, _v: unknown, meta: number) => poolInsert(key, db.id, idleMs(meta));
    if (mem.volatile) t.sampleVolatile(n, f);
    else t.sample(n, f);
  }
}

function candidates(db: Database): number {
  return mem.volatile ? db.table.expiresCount : db.table.size;
}

/** A candidate's idleness now, by the policy's measure (null: not a candidate any more). */
function idleNow(db: Database, key: string): number | null {
  const t = db.table;
  const seg = t.segmentOf(key);
  if (!t.has(seg, key)) return null;
  const at = t.getExpiry(seg, key);
  if (mem.volatile && at === undefined) return null;
  if (mem.policy === 'volatile-ttl') return Number.MAX_SAFE_INTEGER - at!;
  const meta = t.getMeta(seg, key);
  return mem.lfu ? 255 - lfuDecrAndReturn(meta) : idleMs(meta);
}

/**
 * The pool's best entry that is still a candidate. An entry may be a ghost
 * (deleted, or its TTL removed under volatile-*), skipped as in Redis; one
 * accessed since it was sampled is put back with its idleness now rather
 * than evicted on stale data (Redis would evict it: a hot key sampled once
 * while cold could go).
 */
function bestFromPool(ks: Keyspace): { db: Database; key: string } | null {
  for (;;) {
    let total = 0;
    for (const db of ks.dbs) {
      if (candidates(db) === 0) continue;
      populate(db);
      total += candidates(db);
    }
    if (total === 0) return null;
    scan: for (;;) {
      for (let k = POOL_SIZE - 1; k >= 0; k--) {
        const e = pool[k];
        if (e === null) continue;
        pool[k] = null;
        const db = ks.dbs[e.db];
        const idle = idleNow(db, e.key);
        if (idle === null) continue;
        if (idle < e.idle) {
          // Slots from k rightwards are empty now: re-rank it among the rest.
          poolInsert(e.key, e.db, idle);
          continue scan;
        }
        return { db, key: e.key };
      }
      break;
    }
  }
}

let nextDb = 0;

function randomCandidate(ks: Keyspace): { db: Database; key: string } | null {
  const n = ks.dbs.length;
  for (let i = 0; i < n; i++) {
    const db = ks.dbs[(nextDb = (nextDb + 1) % n)];
    if (candidates(db) === 0) continue;
    let key: string | undefined;
    if (mem.volatile) db.table.sampleVolatile(1, (_s, k) => (key = k));
    else key = db.table.randomKey();
    if (key !== undefined) return { db, key };
  }
  return null;
}

/** Redis's evictionTimeLimitUs: linear to 500 us at tenacity 10, then +15% a step; 100 means no limit. */
export function evictionTimeLimitUs(tenacity = mem.tenacity): number {
  if (tenacity <= 10) return 50 * tenacity;
  if (tenacity < 100) return 500 * Math.pow(1.15, tenacity - 10);
  return Infinity;
}

let procRunning = false;
/** Set by installEviction: eviction waits while a snapshot loads (Redis: isSafeToPerformEvictions). */
let keyspace: Keyspace | null = null;

/** Redis's total_eviction_exceeded_time / current_eviction_exceeded_time, in ms. */
const exceeded = { total: 0, since: 0 };

export function evictionExceededTime(): { total: number; current: number } {
  const current = exceeded.since === 0 ? 0 : performance.now() - exceeded.since;
  return { total: Math.round(exceeded.total + current), current: Math.round(current) };
}

function noteOver(over: boolean): void {
  if (over && exceeded.since === 0) exceeded.since = performance.now();
  else if (!over && exceeded.since !== 0) {
    exceeded.total += performance.now() - exceeded.since;
    exceeded.since = 0;
  }
}

/** Free memory down to maxmemory, within the time limit. */
export function performEvictions(ks: Keyspace): Evict {
  if (ks.loading || ks.changesHeld || mem.maxmemory === 0) return Evict.OK;
  if (usedMemory() <= mem.maxmemory) {
    noteOver(false);
    return Evict.OK;
  }
  noteOver(true);
  if (mem.policy === 'noeviction') return Evict.FAIL;
  const limitMs = evictionTimeLimitUs() / 1000;
  const start = performance.now();
  const random = mem.policy.endsWith('-random');
  let freed = 0;
  while (usedMemory() > mem.maxmemory) {
    const victim = random ? randomCandidate(ks) : bestFromPool(ks);
    if (victim === null) return Evict.FAIL; // nothing evictable left
    evictKey(ks, victim.db, victim.key);
    // Like Redis, look at the clock every 16 keys only.
    if (++freed % 16 === 0 && performance.now() - start > limitMs) {
      startProc(ks);
      return Evict.RUNNING;
    }
  }
  noteOver(false);
  return Evict.OK;
}

/** An eviction is a deletion as DEL does it (WATCH, snapshots), counted and announced. */
function evictKey(ks: Keyspace, db: Database, key: string): void {
  if (!db.delete(key)) return;
  ks.stats.evictedKeys++;
  notify(NOTIFY_EVICTED, 'evicted', key, db.id);
}

function startProc(ks: Keyspace): void {
  if (procRunning) return;
  procRunning = true;
  setImmediate(function evictionTimeProc() {
    // Between batches nothing else refreshes used_memory's base (usage.ts).
    refreshUsageIfStale(performance.now());
    if (performEvictions(ks) === Evict.RUNNING && usedMemory() > mem.maxmemory) {
      setImmediate(evictionTimeProc);
      return;
    }
    procRunning = false;
  });
}

/**
 * Called when maxmemory or the policy changes (Redis's updateMaxmemory):
 * a lower limit starts evicting at once rather than at the next command.
 */
let lastLimit = 0;
export function evictionSettingsChanged(): void {
  if (mem.maxmemory !== lastLimit && mem.maxmemory > 0 && usedMemory() > mem.maxmemory) {
    log.warn(
      { maxmemory: mem.maxmemory, used: usedMemory(), policy: mem.policy },
      'the new maxmemory is smaller than the current memory usage: keys will be evicted, or writes refused, as maxmemory-policy says',
    );
  }
  lastLimit = mem.maxmemory;
  if (keyspace !== null && mem.maxmemory > 0 && mem.policy !== 'noeviction' && usedMemory() > mem.maxmemory) startProc(keyspace);
}

export function installEviction(ks: Keyspace): void {
  keyspace = ks;
}

/**
 * Empties the pool: on a policy change (its "idle" values change unit) and
 * when a database is flushed (its entries would name keys that, created
 * again under the same names, are not the ones sampled).
 */
export function clearEvictionPool(): void {
  pool.fill(null);
}

let poolPolicy = '';
settingsListeners.push(() => {
  if (mem.policy !== poolPolicy) clearEvictionPool();
  poolPolicy = mem.policy;
});
