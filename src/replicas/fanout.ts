/**
 * One save, several locations: the snapshot stream is produced once and
 * written to every location's writer in parallel. Memory stays bounded: each
 * location reads from its own small buffer, and the source is read again only
 * when every location still writing has room, so a slow location slows this
 * save (never the event loop; the serializer yields between chunks) and a
 * failed one is dropped from the fan-out at once instead of stalling it.
 *
 * Each location commits its own manifest (naming its own data object and
 * ETag) after its own data is durable. The save succeeds when at least
 * --snapshot_write_quorum locations committed; otherwise it fails like any
 * failed save, and the manifests that did commit stay (they are complete
 * snapshots; the next save dominates them).
 */
import { PassThrough, type Readable } from 'node:stream';
import { log } from '../log.js';
import type { Manifest, SnapshotWriter } from '../storage/backend.js';
import type { Location } from './location-state.js';

const BUFFER_PER_LOCATION = 1024 * 1024;

/** Fewer locations than the quorum committed (or stored the data). */
export class QuorumError extends Error {
  constructor(
    message: string,
    /** Locations where the manifest was committed anyway. */
    readonly committedAt: string[],
  ) {
    super(message);
  }
}

interface Leg {
  loc: Location;
  writer: SnapshotWriter;
  out: PassThrough;
  failed: Error | null;
  /** Resolves when this leg fails (a write waiting for 'drain' stops waiting). */
  failure: Promise<void>;
  fail: (e: Error) => void;
  result?: { size: number; etag?: string };
  committed: boolean;
}

function errText(e: unknown): string {
  return String((e as Error)?.message ?? e).replace(/[\r\n]+/g, ' ').slice(0, 300);
}

export class FanoutWriter implements SnapshotWriter {
  private constructor(
    private readonly legs: Leg[],
    private readonly quorum: number,
    private readonly total: number,
  ) {}

  /** Start a writer at every location; fails when fewer than `quorum` could start. */
  static async create(locations: Location[], id: string, quorum: number): Promise<FanoutWriter> {
    const started = await Promise.allSettled(locations.map((l) => l.backend.create(id)));
    const legs: Leg[] = [];
    started.forEach((r, i) => {
      const loc = locations[i];
      if (r.status === 'rejected') {
        loc.saveFailed(id, r.reason);
        return;
      }
      let fail!: (e: Error) => void;
      const failure = new Promise<void>((resolve) => (fail = () => resolve()));
      const leg: Leg = { loc, writer: r.value, out: new PassThrough({ highWaterMark: BUFFER_PER_LOCATION }), failed: null, failure, fail: () => {}, committed: false };
      leg.fail = (e) => {
        if (leg.failed) return;
        leg.failed = e;
        fail(e);
      };
      legs.push(leg);
    });
    const w = new FanoutWriter(legs, quorum, locations.length);
    for (const l of legs) l.loc.writing.add(l.writer.dataName);
    if (legs.length < quorum) {
      await w.abort();
      throw new QuorumError(`snapshot ${id}: only ${legs.length} of ${locations.length} locations could start it, the write quorum is ${quorum}`, []);
    }
    return w;
  }

  /** The primary's data name when it is writing, else the first location's (for logs). */
  get dataName(): string {
    return this.legs[0].writer.dataName;
  }

  /** Data names being written, per location (orphan collection must leave them alone). */
  get dataNames(): { loc: Location; name: string }[] {
    return this.legs.map((l) => ({ loc: l.loc, name: l.writer.dataName }));
  }

  private live(): Leg[] {
    return this.legs.filter((l) => l.failed === null);
  }

  async upload(data: Readable): Promise<{ size: number; etag?: string }> {
    const uploads = this.legs.map((leg) =>
      leg.writer.upload(leg.out).then(
        (r) => {
          leg.result = r;
        },
        (e: unknown) => {
          leg.fail(e as Error);
          leg.out.destroy();
        },
      ),
    );
    let sourceError: unknown = null;
    try {
      for await (const chunk of data) {
        const live = this.live();
        if (live.length < this.quorum) throw new QuorumError(`only ${live.length} of ${this.total} locations are still storing the snapshot, the write quorum is ${this.quorum}`, []);
        const waits: Promise<unknown>[] = [];
        for (const leg of live) {
          if (!leg.out.write(chunk)) waits.push(Promise.race([new Promise((r) => leg.out.once('drain', r)), leg.failure]));
        }
        if (waits.length > 0) await Promise.all(waits);
      }
      for (const leg of this.live()) leg.out.end();
    } catch (e) {
      sourceError = e;
      for (const leg of this.legs) leg.out.destroy(e as Error);
    }
    await Promise.all(uploads);
    if (sourceError !== null) throw sourceError;
    for (const leg of this.legs) if (leg.failed) leg.loc.saveFailed(this.dataName, leg.failed);
    const stored = this.legs.filter((l) => l.failed === null && l.result);
    if (stored.length < this.quorum) {
      throw new QuorumError(
        `the snapshot was stored at ${stored.length} of ${this.total} locations, the write quorum is ${this.quorum}: ${this.legs.filter((l) => l.failed).map((l) => `${l.loc.name}: ${errText(l.failed)}`).join('; ')}`,
        [],
      );
    }
    const sizes = new Set(stored.map((l) => l.result!.size));
    if (sizes.size > 1) throw new Error(`locations stored different sizes of one snapshot: ${[...sizes].join(', ')}`);
    return { size: stored[0].result!.size, ...(stored[0].result!.etag !== undefined ? { etag: stored[0].result!.etag } : {}) };
  }

  async commit(manifest: Manifest): Promise<void> {
    const ready = this.legs.filter((l) => l.failed === null && l.result);
    await Promise.all(
      ready.map(async (leg) => {
        const { etag: _ignored, ...rest } = manifest;
        const own: Manifest = { ...rest, dataName: leg.writer.dataName, ...(leg.result!.etag !== undefined ? { etag: leg.result!.etag } : {}) };
        try {
          await leg.writer.commit(own);
          leg.committed = true;
          leg.loc.committed(own);
        } catch (e) {
          leg.fail(e as Error);
          leg.loc.saveFailed(manifest.id, e);
        }
      }),
    );
    for (const l of this.legs) l.loc.writing.delete(l.writer.dataName);
    const at = this.legs.filter((l) => l.committed).map((l) => l.loc.name);
    const missed = this.legs.length < this.total || at.length < this.legs.length;
    if (at.length < this.quorum) {
      throw new QuorumError(`snapshot ${manifest.id} was committed at ${at.length} of ${this.total} locations (${at.join(', ') || 'none'}), the write quorum is ${this.quorum}`, at);
    }
    if (missed) log.warn({ snapshot: manifest.id, committedAt: at, locations: this.total }, 'snapshot saved without every location: the others are caught up in the background');
  }

  async abort(): Promise<void> {
    for (const l of this.legs) l.loc.writing.delete(l.writer.dataName);
    await Promise.all(
      this.legs.filter((l) => !l.committed).map((l) => l.writer.abort().catch((e: unknown) => log.warn({ location: l.loc.name, err: errText(e) }, 'could not clean up a failed snapshot'))),
    );
  }
}
