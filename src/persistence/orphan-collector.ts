/**
 * The server's side of orphan collection (rules in orphans.ts): one run at
 * a time, at boot and after a failed save; when something was found but not
 * yet provably dead, one more run is scheduled for when it will be. Counts
 * for INFO persistence.
 */
import { log } from '../log.js';
import type { SnapshotBackend } from '../storage/backend.js';
import { collectOrphans, isOrphanData, orphanGraceMs, type Verdict } from './orphans.js';
import type { KeptUnread } from './kept.js';

export interface OrphanStats {
  removed: number;
  bytesRemoved: number;
  pending: number;
  bytesPending: number;
  lastScan: number;
  lastError: string;
}

export class OrphanCollector {
  readonly stats: OrphanStats = { removed: 0, bytesRemoved: 0, pending: 0, bytesPending: 0, lastScan: 0, lastError: '' };
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly backend: SnapshotBackend,
    private readonly kept: KeptUnread,
    /** Data names this server is writing now. */
    private readonly inFlight: () => ReadonlySet<string>,
  ) {}

  /** Run now (or right after the run in progress). Never throws. */
  run(why: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.once(why).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.run(why);
      }
    });
    return this.running;
  }

  private async once(why: string): Promise<void> {
    const graceMs = orphanGraceMs();
    try {
      const manifests = await this.backend.list();
      this.kept.refresh(manifests, this.backend.damaged);
      const r = await collectOrphans(this.backend, { graceMs, inFlight: this.inFlight(), held: this.kept.reasons(), why });
      const removed = r.removed.filter(isOrphanData);
      const pending = r.scan.orphans.filter((v) => !v.remove && isOrphanData(v));
      this.stats.removed += removed.length;
      this.stats.bytesRemoved += removed.reduce((a, v) => a + v.item.size, 0);
      this.stats.pending = pending.length;
      this.stats.bytesPending = pending.reduce((a, v) => a + v.item.size, 0);
      this.stats.lastScan = Date.now();
      this.stats.lastError = '';
      if (removed.length > 0) {
        log.info({ location: this.backend.location, removed: removed.length, bytes: removed.reduce((a, v) => a + v.item.size, 0), trigger: why }, 'removed orphans of crashed or failed saves');
      }
      if (pending.length > 0) {
        log.info({ location: this.backend.location, pending: pending.map((v) => ({ name: v.item.name, kind: v.item.kind, bytes: v.item.size, why: v.why })) }, 'orphans kept for now');
      }
      this.schedule(pending, graceMs);
    } catch (e) {
      this.stats.lastError = (e as Error).message.replace(/[\r\n]+/g, ' ').slice(0, 300);
      log.warn({ location: this.backend.location, err: this.stats.lastError, trigger: why }, 'orphan collection failed');
    }
  }

  /**
   * Look again when the youngest pending orphan passes the grace; one kept
   * for a live writer or an unread snapshot is looked at again a grace later.
   */
  private schedule(pending: Verdict[], graceMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (pending.length === 0) return;
    const now = Date.now();
    const due = Math.min(...pending.map((v) => (/younger than/.test(v.why) ? v.item.at + graceMs : now + Math.max(graceMs, 1000))));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run('orphans kept earlier may be dead by now');
    }, Math.max(100, due - now + 50));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
