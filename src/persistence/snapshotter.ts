/**
 * The persistence state of the server: runs snapshots (one at a time) to the
 * backend, commits them, applies retention, and keeps what LASTSAVE, INFO
 * persistence and MISCONF report. Save rules and the cron schedule decide
 * when to call bgsave(); SAVE, BGSAVE and SHUTDOWN call it directly.
 */
import { randomBytes } from 'node:crypto';
import { getBool, getInt, getString } from '../config/params.js';
import { log } from '../log.js';
import type { Server } from '../server/server.js';
import type { Manifest, SnapshotBackend } from '../storage/backend.js';
import { SnapshotJob } from '../snapshot/serializer.js';
import { fenced, fenceMessage } from './fence.js';
import type { LoadProgress } from './loader.js';
import { KeptUnread } from './kept.js';
import { OrphanCollector } from './orphan-collector.js';
import { leaseRefreshMs } from './orphans.js';
import { WRITER_ID } from '../storage/writer.js';
import { lineage } from '../replicas/lineage.js';
import type { ReplicaSet } from '../replicas/replica-set.js';

export const MISCONF =
  "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/** Redis waits this long after a failed background save before a save rule retries. */
const RETRY_DELAY_MS = 5000;

/**
 * How a save is accounted, as Redis does:
 *  - 'background' (BGSAVE, save rules, cron): counted in rdb_saves; a failure
 *    sets rdb_last_bgsave_status:err (and MISCONF); it may be cancelled.
 *  - 'save' (SAVE): counted in rdb_saves; a failure only answers an error,
 *    a success sets the status ok (Redis's rdbSave).
 *  - 'internal' (FLUSHALL, DEBUG RELOAD, SHUTDOWN): as 'save', not counted.
 */
export type SaveKind = 'background' | 'save' | 'internal';

/** A background save stopped on purpose (FLUSHALL): not a failure (Redis's SIGUSR1). */
export class SnapshotCancelled extends Error {}

/** Save rules or a cron schedule are configured: shutdown and FLUSHALL save. */
export function savingConfigured(): boolean {
  return (parseSaveRules(getString('save'))?.length ?? 0) > 0 || getString('snapshot_cron').trim() !== '';
}

export interface LastSnapshot {
  location: string;
  id: string;
  size: number;
  durationMs: number;
  keys: number;
}

/** The `save` parameter as (seconds, changes) pairs. */
export function parseSaveRules(raw: string): { seconds: number; changes: number }[] | null {
  const parts = raw.trim().split(/\s+/).filter(Boolean);
  if (parts.length % 2 !== 0) return null;
  const out: { seconds: number; changes: number }[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    if (!/^\d+$/.test(parts[i]) || !/^\d+$/.test(parts[i + 1])) return null;
    out.push({ seconds: Number(parts[i]), changes: Number(parts[i + 1]) });
  }
  return out;
}

/** Dragonfly's names: dump-{timestamp} becomes dump-2026-01-31T12:00:00-<seq>. */
export function snapshotId(pattern: string, at: number, seq: number): string {
  const ts = new Date(at).toISOString().replace(/[:.]/g, '-').replace('Z', '');
  const base = pattern.includes('{timestamp}') ? pattern.split('{timestamp}').join(ts) : pattern;
  return `${base.replace(/[/\\]/g, '_')}-${String(seq).padStart(6, '0')}`;
}

export class Persistence {
  /** Highest seq seen or written: the next snapshot gets seq + 1. */
  seq = 0;
  readonly serverId: string;
  job: SnapshotJob | null = null;
  private running: Promise<Manifest> | null = null;
  /** The running save's kind, and whether it was cancelled. */
  private current: { kind: SaveKind; cancelled: SnapshotCancelled | null } | null = null;
  /** BGSAVE inside EXEC: start when possible (Redis rdb_bgsave_scheduled). */
  scheduled = false;
  /** Unix seconds of the last successful save (or start-up). */
  lastSave = Math.floor(Date.now() / 1000);
  lastStatusOk = true;
  lastTryTime = 0;
  lastBgsaveTimeSec = -1;
  saves = 0;
  /** Saves of any kind that failed (cancelled ones are not failures): what an operator alerts on. */
  failures = 0;
  /** Unix seconds of the last failure, 0 if none. */
  lastFailureTime = 0;
  last: LastSnapshot | null = null;
  readonly loading: LoadProgress & { active: boolean; keys: number; expired: number } = { active: false, startTime: 0, totalBytes: 0, loadedBytes: 0, keys: 0, expired: 0 };
  /** Snapshots boot could not read: retention and orphan collection leave them alone. */
  readonly kept = new KeptUnread();
  /** Data names being written now (never orphans). */
  private readonly writing = new Set<string>();
  readonly orphans: OrphanCollector;
  /** Set when snapshots go to several locations (--snapshot_replicas): retention and catch-up span them. */
  replicas: ReplicaSet | null = null;

  constructor(
    readonly server: Server,
    readonly backend: SnapshotBackend,
  ) {
    this.serverId = server.runId || randomBytes(20).toString('hex');
    this.orphans = new OrphanCollector(backend, this.kept, () => this.writing);
  }

  get inProgress(): boolean {
    return this.running !== null;
  }

  /** The running save is a background one (BGSAVE, save rule, cron): what Redis calls a bgsave in progress. */
  get backgroundInProgress(): boolean {
    return this.current !== null && this.current.kind === 'background';
  }

  /** The running save is one Redis would run in the foreground (SAVE, FLUSHALL's, DEBUG RELOAD's, SHUTDOWN's). */
  get foregroundInProgress(): boolean {
    return this.current !== null && this.current.kind !== 'background';
  }

  /** Resolves once no foreground save runs (a client Redis would have kept waiting goes on then). */
  async foregroundDone(): Promise<void> {
    while (this.foregroundInProgress) await this.idle();
  }

  /** True when writes must be refused after a failed save (Redis's rule). */
  private updateMisconf(): void {
    const denied = !this.lastStatusOk && getBool('stop-writes-on-bgsave-error') && (parseSaveRules(getString('save'))?.length ?? 0) + (getString('snapshot_cron') ? 1 : 0) > 0;
    this.server.writesDenied = denied ? MISCONF : null;
  }

  refreshMisconf(): void {
    this.updateMisconf();
  }

  /**
   * Start a snapshot now; its instant is this call. Resolves with the
   * committed manifest once durable, rejects if it failed (earlier snapshots
   * are untouched either way). Throws synchronously if one is running.
   */
  start(reason: string, kind: SaveKind = 'background'): Promise<Manifest> {
    if (this.running !== null) throw new Error('Background save already in progress');
    if (fenced()) throw new Error(fenceMessage());
    const ks = this.server.ks;
    const seq = ++this.seq;
    const dirtyAtStart = ks.dirty;
    const job = new SnapshotJob(ks, { serverId: this.serverId, seq });
    const cur: { kind: SaveKind; cancelled: SnapshotCancelled | null } = { kind, cancelled: null };
    // A cancel before the backend attached its reader must not be an unhandled
    // 'error' event; the reader still gets the error (the stream stays errored).
    job.stream.on('error', () => {});
    this.job = job;
    this.current = cur;
    // Redis counts SAVE and BGSAVE attempts, not FLUSHALL's or SHUTDOWN's saves.
    if (kind !== 'internal') this.saves++;
    if (kind === 'background') this.lastTryTime = Date.now();
    const id = snapshotId(getString('dbfilename'), job.startedAt, seq);
    // Its place in the history (version vector, parent): counted per attempt, so a retry still dominates.
    const stamp = lineage.next();
    log.info({ reason, snapshot: id, seq, location: this.backend.location, keys: job.keysTotal }, 'snapshot started');
    const run = async (): Promise<Manifest> => {
      // The lease tells other writers' orphan collection that this save is alive, however long it takes.
      await this.backend.touchLease(WRITER_ID);
      const lease = setInterval(() => {
        this.backend.touchLease(WRITER_ID).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'could not refresh the writer lease'));
      }, leaseRefreshMs());
      lease.unref();
      let writer: Awaited<ReturnType<SnapshotBackend['create']>>;
      const dropLease = async () => {
        clearInterval(lease);
        await this.backend.dropLease(WRITER_ID).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'could not remove the writer lease'));
      };
      try {
        writer = await this.backend.create(id);
      } catch (e) {
        await dropLease();
        throw e;
      }
      this.writing.add(writer.dataName);
      try {
        // Cancelled before a reader was attached: a backend that pipes the
        // stream (S3) would never see the error, so stop here.
        if (cur.cancelled !== null) throw cur.cancelled;
        const { size, etag } = await writer.upload(job.stream);
        const footer = job.footer;
        if (footer === null) throw new Error('snapshot stream ended before its footer');
        if (size !== job.bytes) throw new Error(`stored ${size} bytes of a ${job.bytes}-byte snapshot`);
        // Cancelled after the data was stored: never commit it.
        if (cur.cancelled !== null) throw cur.cancelled;
        const manifest: Manifest = {
          format: 1,
          id,
          seq,
          createdAt: job.startedAt,
          serverId: this.serverId,
          dataName: writer.dataName,
          size,
          checksum: footer.sha256,
          keys: footer.keys,
          ...stamp,
          ...(etag !== undefined ? { etag } : {}),
        };
        try {
          await writer.commit(manifest);
        } catch (e) {
          // Committed at fewer locations than the quorum: still a snapshot there, which the next one must dominate.
          if (((e as { committedAt?: string[] }).committedAt?.length ?? 0) > 0) lineage.committed(manifest);
          throw e;
        }
        lineage.committed(manifest);
        return manifest;
      } catch (e) {
        job.cancel();
        await writer.abort().catch((ae) => log.warn({ err: ae }, 'could not clean up a failed snapshot'));
        throw e;
      } finally {
        await dropLease();
        this.writing.delete(writer.dataName);
      }
    };
    const p = run().then(
      (m) => {
        this.finished(job, cur, true);
        ks.dirty -= Math.min(dirtyAtStart, ks.dirty);
        this.lastSave = Math.floor(Date.now() / 1000);
        const durationMs = Date.now() - job.startedAt;
        const keys = m.keys.reduce((a, b) => a + b, 0);
        this.last = { location: this.backend.location, id: m.id, size: m.size, durationMs, keys };
        log.info({ snapshot: m.id, seq: m.seq, bytes: m.size, keys, ms: durationMs }, 'snapshot saved');
        void this.retain();
        return m;
      },
      (e: unknown) => {
        job.cancel();
        this.finished(job, cur, false);
        if (cur.cancelled !== null) log.info({ snapshot: id, seq, why: cur.cancelled.message }, 'snapshot cancelled');
        else {
          this.failures++;
          this.lastFailureTime = Math.floor(Date.now() / 1000);
          log.error({ err: e, snapshot: id, location: this.backend.location }, 'snapshot failed');
        }
        // Whatever the failed save could not clean up, and what earlier crashes left.
        if (!fenced()) void this.orphans.run('after a failed save');
        this.replicas?.runOrphans('after a failed save');
        throw cur.cancelled ?? e;
      },
    );
    this.running = p;
    // Callers that only start a background save must not see an unhandled rejection.
    p.catch(() => {});
    return p;
  }

  private finished(job: SnapshotJob, cur: { kind: SaveKind; cancelled: SnapshotCancelled | null }, ok: boolean): void {
    this.running = null;
    this.job = null;
    this.current = null;
    // Redis: any successful save clears the error; only a background save
    // that failed (not one cancelled on purpose) sets it.
    if (ok) this.lastStatusOk = true;
    else if (cur.kind === 'background' && cur.cancelled === null) this.lastStatusOk = false;
    if (cur.kind === 'background') this.lastBgsaveTimeSec = Math.round((Date.now() - job.startedAt) / 1000);
    this.updateMisconf();
  }

  /**
   * Stop a running background save (Redis's killRDBChild): it commits
   * nothing, its partial data is removed, earlier snapshots stay, and it
   * does not count as a failure. A foreground save (SAVE, FLUSHALL's,
   * SHUTDOWN's) is left to finish: in Redis nothing runs beside one.
   * Returns true if a save was cancelled.
   */
  cancelBackground(why: string): boolean {
    const cur = this.current;
    if (cur === null || cur.kind !== 'background' || cur.cancelled !== null || this.job === null) return false;
    cur.cancelled = new SnapshotCancelled(why);
    this.job.cancel(cur.cancelled);
    return true;
  }

  /**
   * FLUSHALL: cancel a background save of the old data, then, when saving is
   * configured, save the empty dataset so a restart cannot bring the flushed
   * keys back. Resolves once that save is over (success or not: like Redis,
   * FLUSHALL answers OK either way; a failure is logged and does not set
   * MISCONF); null when there is nothing to wait for.
   */
  afterFlushAll(): Promise<void> | null {
    if (this.loading.active) return null;
    this.cancelBackground('FLUSHALL');
    if (!savingConfigured()) return null;
    if (fenced()) {
      log.warn('snapshots are fenced: FLUSHALL did not save the empty dataset');
      return null;
    }
    const save = () => this.start('FLUSHALL', 'internal').then(
      () => {},
      (e: unknown) => log.error({ err: e }, 'FLUSHALL could not save the empty dataset'),
    );
    // No save running: the snapshot's instant is the flush itself.
    if (this.running === null) return save();
    return (async () => {
      while (this.running !== null) {
        this.cancelBackground('FLUSHALL');
        await this.idle();
      }
      await save();
    })();
  }

  /** Resolves when the running snapshot (if any) is over, whatever its outcome. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running.catch(() => {});
  }

  /** Keep the newest --snapshot_keep committed snapshots, and every one boot could not read. */
  private async retain(): Promise<void> {
    const keep = getInt('snapshot_keep');
    if (keep <= 0) return;
    if (this.replicas !== null) return this.replicas.retain(keep, this.kept);
    try {
      const all = await this.backend.list();
      this.kept.refresh(all, this.backend.damaged);
      for (const m of all.slice(keep)) {
        if (this.kept.protects(m)) {
          log.warn({ snapshot: m.id, seq: m.seq }, 'retention keeps a snapshot boot could not read: remove it with `damselfly snapshots rm` once it is no longer needed');
          continue;
        }
        await this.backend.delete(m);
        log.info({ snapshot: m.id, seq: m.seq }, 'deleted old snapshot (retention)');
      }
    } catch (e) {
      log.warn({ err: e }, 'snapshot retention failed');
    }
  }

  /** Save rules, BGSAVE scheduled in EXEC: called by the server cron. */
  cron(): void {
    if (this.running !== null || this.loading.active || this.server.loading || fenced()) return;
    const now = Date.now();
    const mayRetry = this.lastStatusOk || now - this.lastTryTime > RETRY_DELAY_MS;
    if (this.scheduled && mayRetry) {
      this.scheduled = false;
      this.start('scheduled BGSAVE');
      return;
    }
    if (!mayRetry) return;
    const rules = parseSaveRules(getString('save')) ?? [];
    const dirty = this.server.ks.dirty;
    const since = Math.floor(now / 1000) - this.lastSave;
    for (const r of rules) {
      if (dirty >= r.changes && since > r.seconds) {
        log.info({ changes: r.changes, seconds: r.seconds }, `${r.changes} changes in ${r.seconds} seconds. Saving...`);
        this.start('save rule');
        return;
      }
    }
  }
}

let instance: Persistence | null = null;

export function setPersistence(p: Persistence): void {
  instance = p;
}

export function persistence(): Persistence | null {
  return instance;
}
