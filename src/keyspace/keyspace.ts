/**
 * All databases, the command clock, and the active expire cycle.
 */
import { trackingActive, trackingFlushed } from '../server/tracking.js';
import { Database } from './db.js';
import type { KeyTable } from './table.js';

export interface KeyspaceStats {
  hits: number;
  misses: number;
  expiredKeys: number;
  evictedKeys: number;
}

export class Keyspace {
  readonly dbs: Database[];
  /**
   * The time commands see, in ms: set once per command by the dispatcher so
   * that one command (or a MULTI) sees one instant, as Redis does.
   */
  now = Date.now();
  /** Changes since the last successful save (rdb_changes_since_last_save). */
  dirty = 0;
  /** True while a snapshot is being loaded: no lazy expiry then. */
  loading = false;
  readonly stats: KeyspaceStats = { hits: 0, misses: 0, expiredKeys: 0, evictedKeys: 0 };
  /** Set by the blocking-commands module: a key may serve blocked clients. */
  keyReady: ((db: Database, key: string) => void) | null = null;
  /** Keys of db that clients are blocked on (set by src/server/blocking.ts; FLUSHDB answers blocked XREADGROUPs). */
  blockedKeys: ((db: Database) => string[]) | null = null;

  /**
   * Set while a script runs: keys expire by the time the script started,
   * however long it runs (Redis's scriptTimeSnapshot), so a script sees a
   * key either present throughout or absent throughout.
   */
  clockFrozen = false;

  /**
   * Set while clients are paused (CLIENT PAUSE): an expired key reads as
   * missing but stays, and nothing is evicted, so the dataset does not
   * change behind the pause (Redis's checkClientPauseTimeoutAndReturnIfPaused).
   */
  changesHeld = false;

  /** DEBUG SET-ACTIVE-EXPIRE 0 turns the cycle off (Redis's expire tests rely on it). */
  activeExpireEnabled = true;

  /** Where each db's cycle resumes; tied to the table it walks (FLUSHDB swaps tables). */
  private expireCursors: ({ table: KeyTable; at: number } | null)[];

  constructor(dbnum: number) {
    this.dbs = Array.from({ length: dbnum }, (_, i) => new Database(i, this));
    this.expireCursors = this.dbs.map(() => null);
  }

  tick(): number {
    if (this.clockFrozen) return this.now;
    return (this.now = Date.now());
  }

  flushAll(): number {
    // Tracking clients are told once that everything went, not once per database.
    if (trackingActive.on) trackingFlushed();
    let n = 0;
    for (const db of this.dbs) n += db.flush(false);
    return n;
  }

  /** SWAPDB: the tables trade places; db objects (and their WATCH lists) stay. */
  swap(a: number, b: number): void {
    const da = this.dbs[a];
    const db = this.dbs[b];
    const t = da.table;
    da.table = db.table;
    db.table = t;
    const c = da.cost;
    da.cost = db.cost;
    db.cost = c;
    this.expireCursors[a] = this.expireCursors[b] = null;
  }

  /**
   * Shrink the segments deletes emptied (KeyTable.shrinkSome), for at most
   * budgetMs: what Redis's serverCron does for its dicts (tryResizeHashTables).
   */
  shrinkTables(budgetMs: number): void {
    if (this.loading) return;
    const deadline = performance.now() + budgetMs;
    for (const db of this.dbs) {
      if (db.table.shrinkPending > 0 && db.table.shrinkSome(deadline)) return;
    }
  }

  /**
   * Reclaim expired keys nobody reads, without blocking, as Redis's
   * activeExpireCycle does: per database, loops that each sample at least
   * 20 keys with a TTL (a few segments, resuming where the last loop
   * stopped), expiring the due ones, repeated while more than 10% of a
   * loop's sample had expired, within budgetMs for the whole call. A walk
   * of every TTL per tick instead cost a quarter of a core with 10M keys
   * with TTLs and none due (the whole budget, every cron tick).
   * `effort` is active-expire-effort (1-10): more keys a loop and less
   * staleness tolerated, as in Redis. Returns how many keys were removed.
   */
  activeExpire(budgetMs: number, effort = 1): number {
    if (this.loading || !this.activeExpireEnabled || this.changesHeld) return 0;
    const start = this.tick();
    const e = effort - 1;
    const keysPerLoop = 20 + 5 * e;
    const acceptableStale = 10 - e;
    let removed = 0;
    const due: string[] = [];
    for (let i = 0; i < this.dbs.length; i++) {
      const db = this.dbs[i];
      const table = db.table;
      if (table.expiresCount === 0) continue;
      const saved = this.expireCursors[i];
      let at = saved !== null && saved.table === table ? saved.at : 0;
      for (;;) {
        let sampled = 0;
        let expired = 0;
        for (let visited = 0; sampled < keysPerLoop && visited < table.volatileCount; visited++) {
          if (at >= table.volatileCount) at = 0;
          const seg = table.volatileSegment(at)!;
          due.length = 0;
          seg.forEachExpiry((key, when) => {
            sampled++;
            if (when <= this.now) due.push(key);
          });
          // peek() applies the same lazy-expiry path a read would.
          for (const key of due) {
            if (db.peek(key) === undefined) {
              removed++;
              expired++;
            }
          }
          // A segment left without expiries is replaced at its index by another: read it again.
          if (table.volatileSegment(at) === seg) at++;
        }
        this.expireCursors[i] = { table, at };
        if (Date.now() - start >= budgetMs) return removed;
        if (sampled === 0 || expired * 100 <= sampled * acceptableStale) break;
      }
    }
    return removed;
  }
}
