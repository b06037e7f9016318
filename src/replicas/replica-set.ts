/**
 * The snapshot locations of one server (--dir first, then
 * --snapshot_replicas), seen by the snapshotter as one backend: a save fans
 * out to all of them (fanout.ts); leases go to all of them; everything an
 * operator or the single-location code paths do on "the backend" (orphans,
 * kept snapshots, `snapshots rm`) goes to the primary, while each other
 * location runs its own orphan collection. Retention (retention.ts) and
 * catch-up (catch-up.ts) span the locations.
 */
import { log } from '../log.js';
import type { CreateOnly, Manifest, ManifestProblem, SnapshotBackend, SnapshotWriter, StoredItem, Tombstone } from '../storage/backend.js';
import { FenceGuard, fenced } from '../persistence/fence.js';
import type { KeptUnread } from '../persistence/kept.js';
import { orphanGraceMs } from '../persistence/orphans.js';
import { CatchUp } from './catch-up.js';
import { FanoutWriter } from './fanout.js';
import { Location } from './location-state.js';
import { backendFor, configuredLocations, writeQuorum } from './locations.js';
import { retainAcross } from './retention.js';

export class ReplicaSet implements SnapshotBackend {
  readonly catchUp: CatchUp;

  constructor(
    readonly locations: Location[],
    readonly quorum: number,
  ) {
    this.catchUp = new CatchUp(this);
  }

  get primary(): Location {
    return this.locations[0];
  }

  /** Locations (N - W + 1 of them) boot must read to meet every successful save's quorum. */
  get readQuorum(): number {
    return this.locations.length - this.quorum + 1;
  }

  get location(): string {
    return this.primary.backend.location;
  }
  get damaged(): ManifestProblem[] {
    return this.primary.backend.damaged;
  }
  check(): Promise<void> {
    return this.primary.backend.check();
  }
  async create(id: string): Promise<SnapshotWriter> {
    const w = await FanoutWriter.create(this.locations, id, this.quorum);
    const commit = w.commit.bind(w);
    w.commit = async (m: Manifest) => {
      try {
        await commit(m);
      } finally {
        // Whatever committed it is the source for those that did not.
        this.catchUp.afterSave(m.id);
      }
    };
    return w;
  }
  list(): Promise<Manifest[]> {
    return this.primary.backend.list();
  }
  /** A snapshot this server just saved (DEBUG RELOAD) is read where it was committed, through that location's own manifest. */
  async open(m: Manifest) {
    for (const l of this.locations) {
      if (l.lastCommitted?.id !== m.id) continue;
      try {
        return await l.backend.open(l.lastCommitted);
      } catch (e) {
        log.warn({ location: l.name, snapshot: m.id, err: (e as Error).message }, 'cannot read the snapshot here: trying another location');
      }
    }
    return this.primary.backend.open(m);
  }
  delete(m: Manifest): Promise<void> {
    return this.primary.backend.delete(m);
  }
  stored(): Promise<StoredItem[]> {
    return this.primary.backend.stored();
  }
  remove(item: StoredItem): Promise<void> {
    return this.primary.backend.remove(item);
  }
  /** Every location; one that fails does not stop the save (the quorum decides). */
  async touchLease(writer: string): Promise<void> {
    await this.everywhere('touch the writer lease', (b) => b.touchLease(writer));
  }
  async dropLease(writer: string): Promise<void> {
    await this.everywhere('remove the writer lease', (b) => b.dropLease(writer));
  }
  putTombstone(t: Tombstone): Promise<void> {
    return this.primary.backend.putTombstone(t);
  }
  tombstones(): Promise<Tombstone[]> {
    return this.primary.backend.tombstones();
  }
  dropTombstone(id: string): Promise<void> {
    return this.primary.backend.dropTombstone(id);
  }
  probeCreateOnly(): Promise<CreateOnly> {
    return this.primary.backend.probeCreateOnly();
  }

  private async everywhere(what: string, fn: (b: SnapshotBackend) => Promise<void>): Promise<void> {
    const r = await Promise.allSettled(this.locations.map((l) => fn(l.backend)));
    r.forEach((x, i) => {
      if (x.status === 'rejected') log.warn({ location: this.locations[i].name, err: (x.reason as Error)?.message }, `could not ${what}`);
    });
  }

  retain(keep: number, kept: KeptUnread): Promise<void> {
    return retainAcross(this, keep, kept, orphanGraceMs());
  }

  /** Orphan collection at every location but the primary (the snapshotter runs the primary's). */
  runOrphans(why: string): void {
    if (fenced()) return;
    for (const l of this.locations.slice(1)) void l.orphans.run(why);
  }

  stop(): void {
    this.catchUp.stop();
    for (const l of this.locations) l.orphans.stop();
  }
}

/** The configured locations as a ReplicaSet; null when --snapshot_replicas is empty (one location: the single-location path). Throws one line on bad flags. */
export function replicaSetFromFlags(): ReplicaSet | null {
  const specs = configuredLocations();
  const quorum = writeQuorum(specs.length);
  if (specs.length === 1) return null;
  return new ReplicaSet(
    specs.map((s, i) => new Location(i, s, new FenceGuard(backendFor(s)))),
    quorum,
  );
}
