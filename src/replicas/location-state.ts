/**
 * One snapshot location as the replica layer tracks it: its backend (behind
 * the fence guard), what it last committed or failed, whether it honours
 * create-only writes, and its own orphan collection. INFO persistence shows
 * one line per location from this.
 */
import { log } from '../log.js';
import type { CreateOnly, Manifest, SnapshotBackend } from '../storage/backend.js';
import { KeptUnread } from '../persistence/kept.js';
import { OrphanCollector } from '../persistence/orphan-collector.js';
import type { LocationSpec } from './locations.js';

export type LocationStatus = 'unknown' | 'ok' | 'behind' | 'failed' | 'unread';

function oneLine(e: unknown): string {
  return String((e as Error)?.message ?? e).replace(/[\r\n]+/g, ' ').slice(0, 300);
}

export class Location {
  status: LocationStatus = 'unknown';
  lastCommitId = '';
  /** This location's own manifest of its last commit (its dataName and ETag). */
  lastCommitted: Manifest | null = null;
  lastCommitAt = 0;
  lastError = '';
  createOnly: CreateOnly | 'unknown' = 'unknown';
  /** Snapshots copied here by catch-up. */
  caughtUp = 0;
  /** Data names a save is writing here now (never orphans). */
  readonly writing = new Set<string>();
  readonly kept = new KeptUnread();
  readonly orphans: OrphanCollector;

  constructor(
    readonly index: number,
    readonly spec: LocationSpec,
    readonly backend: SnapshotBackend,
  ) {
    this.orphans = new OrphanCollector(backend, this.kept, () => this.writing);
  }

  /** As the operator wrote it (the primary is --dir). */
  get name(): string {
    return this.spec.kind === 'file' ? this.backend.location : this.spec.raw.split('?')[0];
  }

  committed(m: Manifest): void {
    this.status = 'ok';
    this.lastCommitId = m.id;
    this.lastCommitted = m;
    this.lastCommitAt = Date.now();
    this.lastError = '';
  }

  saveFailed(what: string, e: unknown): void {
    this.status = 'behind';
    this.lastError = oneLine(e);
    log.error({ location: this.name, snapshot: what, err: this.lastError }, 'snapshot location missed a save');
  }

  /** Ask once whether create-only writes are enforced here; a store that ignores them is reported, not refused. */
  async probe(): Promise<void> {
    if (this.createOnly !== 'unknown') return;
    try {
      this.createOnly = await this.backend.probeCreateOnly();
    } catch (e) {
      log.warn({ location: this.name, err: oneLine(e) }, 'could not probe create-only writes (If-None-Match) at this location');
      return;
    }
    if (this.createOnly === 'ignored') {
      log.error(
        { location: this.name },
        'this location IGNORES If-None-Match: * (a second create-only PUT of one key succeeded): manifests are not protected against overwrite by a concurrent writer; version vectors still detect split brain at boot',
      );
    } else if (this.createOnly === 'unsupported') {
      log.warn({ location: this.name }, 'this location does not support If-None-Match on PUT: manifests are written after an existence check');
    }
  }
}
