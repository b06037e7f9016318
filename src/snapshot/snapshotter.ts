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
import { SnapshotJob } from './serializer.js';
import { fenced, fenceMessage } from './fence.js';
import type { LoadProgress } from './loader.js';

export const MISCONF =
  "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/** Redis waits this long after a failed background save before a save rule retries. */
const RETRY_DELAY_MS = 5000;

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
  /** BGSAVE inside EXEC: start when possible (Redis rdb_bgsave_scheduled). */
  scheduled = false;
  /** Unix seconds of the last successful save (or start-up). */
  lastSave = Math.floor(Date.now() / 1000);
  lastStatusOk = true;
  lastTryTime = 0;
  lastBgsaveTimeSec = -1;
  saves = 0;
  last: LastSnapshot | null = null;
  readonly loading: LoadProgress & { active: boolean; keys: number; expired: number } = { active: false, startTime: 0, totalBytes: 0, loadedBytes: 0, keys: 0, expired: 0 };

  constructor(
    readonly server: Server,
    readonly backend: SnapshotBackend,
  ) {
    this.serverId = server.runId || randomBytes(20).toString('hex');
  }

  get inProgress(): boolean {
    return this.running !== null;
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
  start(reason: string): Promise<Manifest> {
    if (this.running !== null) throw new Error('Background save already in progress');
    if (fenced()) throw new Error(fenceMessage());
    const ks = this.server.ks;
    const seq = ++this.seq;
    const dirtyAtStart = ks.dirty;
    const job = new SnapshotJob(ks, { serverId: this.serverId, seq });
    this.job = job;
    this.lastTryTime = Date.now();
    const id = snapshotId(getString('dbfilename'), job.startedAt, seq);
    log.info({ reason, snapshot: id, seq, location: this.backend.location, keys: job.keysTotal }, 'snapshot started');
    const run = async (): Promise<Manifest> => {
      const writer = await this.backend.create(id);
      try {
        const { size, etag } = await writer.upload(job.stream);
        const footer = job.footer;
        if (footer === null) throw new Error('snapshot stream ended before its footer');
        if (size !== job.bytes) throw new Error(`stored ${size} bytes of a ${job.bytes}-byte snapshot`);
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
          ...(etag !== undefined ? { etag } : {}),
        };
        await writer.commit(manifest);
        return manifest;
      } catch (e) {
        job.cancel();
        await writer.abort().catch((ae) => log.warn({ err: ae }, 'could not clean up a failed snapshot'));
        throw e;
      }
    };
    const p = run().then(
      (m) => {
        this.finished(job, true);
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
        this.finished(job, false);
        log.error({ err: e, snapshot: id, location: this.backend.location }, 'snapshot failed');
        throw e;
      },
    );
    this.running = p;
    // Callers that only start a background save must not see an unhandled rejection.
    p.catch(() => {});
    return p;
  }

  private finished(job: SnapshotJob, ok: boolean): void {
    this.running = null;
    this.job = null;
    this.lastStatusOk = ok;
    this.lastBgsaveTimeSec = Math.round((Date.now() - job.startedAt) / 1000);
    if (ok) this.saves++;
    this.updateMisconf();
  }

  /** Resolves when the running snapshot (if any) is over, whatever its outcome. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running.catch(() => {});
  }

  /** Keep the newest --snapshot_keep committed snapshots. */
  private async retain(): Promise<void> {
    const keep = getInt('snapshot_keep');
    if (keep <= 0) return;
    try {
      const all = await this.backend.list();
      for (const m of all.slice(keep)) {
        await this.backend.delete(m);
        log.info({ snapshot: m.id, seq: m.seq }, 'deleted old snapshot (retention)');
      }
    } catch (e) {
      log.warn({ err: e }, 'snapshot retention failed');
    }
  }

  /** Save rules, BGSAVE scheduled in EXEC: called by the server cron. */
  cron(): void {
    if (this.running !== null || this.loading.active || fenced()) return;
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
