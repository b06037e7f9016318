/**
 * Bringing a location that missed a save back up to date, in the
 * background: the newest snapshot committed elsewhere is streamed from a
 * location that holds it (its data read exactly as a load reads it, pinned
 * to its ETag, and checked against its manifest on the way) into the lagging one, which commits its own manifest for it,
 * naming its own data object. Only the newest snapshot is copied: it
 * dominates the older ones, which is all boot needs. A location still down
 * is retried with backoff until it answers or a newer save supersedes the
 * copy. Nothing is copied while snapshots are fenced.
 */
import type { Readable } from 'node:stream';
import { log } from '../log.js';
import type { Manifest } from '../storage/backend.js';
import { fenced } from '../persistence/fence.js';
import type { Location } from './location-state.js';
import { verifyingStream } from './verify.js';
import type { ReplicaSet } from './replica-set.js';

const MAX_BACKOFF_MS = 30000;

/**
 * Copy snapshot `m` (as `from` holds it) to `to`; resolves with `to`'s
 * manifest. Where both are on one S3 endpoint with the same credentials the
 * store copies the bytes itself, pinned to the source's ETag (nothing
 * crosses this process or the network to it); otherwise the data streams
 * through, checked against the manifest on the way.
 */
export async function copySnapshot(from: Location, m: Manifest, to: Location): Promise<Manifest> {
  const w = await to.backend.create(m.id);
  to.writing.add(w.dataName);
  let data: Readable | null = null;
  try {
    let copied = w.copyFrom ? await w.copyFrom(from.backend, m) : null;
    if (copied !== null) log.info({ from: from.name, to: to.name, snapshot: m.id, bytes: copied.size }, 'snapshot copied server-side');
    else {
      data = await from.backend.open(m);
      // Checked as it streams, so a copy that would not load is never committed.
      copied = await w.upload(verifyingStream(data, m));
    }
    const { size, etag } = copied;
    if (size !== m.size) throw new Error(`copied ${size} bytes of a ${m.size}-byte snapshot`);
    const { etag: _e, sum: _s, ...rest } = m;
    const own: Manifest = { ...rest, dataName: w.dataName, ...(etag !== undefined ? { etag } : {}) };
    await w.commit(own);
    return own;
  } catch (e) {
    data?.destroy();
    await w.abort().catch(() => {});
    throw e;
  } finally {
    to.writing.delete(w.dataName);
  }
}

export class CatchUp {
  /** Per location index: the snapshot id it should get next (a newer save replaces it). */
  private wanted = new Map<number, string>();
  private running = new Set<number>();
  private timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly set: ReplicaSet) {}

  /** After a save: every location that did not commit `id` should get it. */
  afterSave(id: string): void {
    const holders = this.set.locations.filter((l) => l.lastCommitId === id);
    if (holders.length === 0) return;
    for (const l of this.set.locations) if (l.lastCommitId !== id) this.want(l, id);
  }

  /** Boot chose `id`, held by `holders`: the others read at boot get it. */
  afterBoot(id: string, missing: Location[]): void {
    for (const l of missing) this.want(l, id);
  }

  private want(l: Location, id: string): void {
    this.wanted.set(l.index, id);
    if (l.status !== 'unread') l.status = 'behind';
    if (!this.running.has(l.index)) void this.run(l, 1000);
  }

  private async run(to: Location, backoff: number): Promise<void> {
    if (this.stopped || this.running.has(to.index)) return;
    const id = this.wanted.get(to.index);
    if (id === undefined) return;
    this.running.add(to.index);
    let failed = false;
    try {
      if (fenced()) throw new Error('snapshots are fenced');
      const there = await to.backend.list();
      if (!there.some((m) => m.id === id)) {
        const source = await this.source(id, to);
        if (source === null) {
          log.warn({ location: to.name, snapshot: id }, 'catch-up: no reachable location holds the snapshot any more');
        } else {
          log.info({ location: to.name, snapshot: id, from: source.loc.name }, 'catch-up: copying the snapshot this location missed');
          const own = await copySnapshot(source.loc, source.m, to);
          to.caughtUp++;
          to.committed(own);
          log.info({ location: to.name, snapshot: id }, 'catch-up: location holds the newest snapshot again');
        }
      } else to.committed(there.find((m) => m.id === id)!);
      if (this.wanted.get(to.index) === id) this.wanted.delete(to.index);
    } catch (e) {
      failed = true;
      to.lastError = String((e as Error).message).replace(/[\r\n]+/g, ' ').slice(0, 300);
      log.warn({ location: to.name, snapshot: id, err: to.lastError, retryInMs: backoff }, 'catch-up failed: retrying');
    } finally {
      this.running.delete(to.index);
    }
    if (failed) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        void this.run(to, Math.min(backoff * 2, MAX_BACKOFF_MS));
      }, backoff);
      t.unref();
      this.timers.add(t);
    } else if (this.wanted.has(to.index)) void this.run(to, 1000);
  }

  private async source(id: string, not: Location): Promise<{ loc: Location; m: Manifest } | null> {
    for (const l of this.set.locations) {
      if (l === not) continue;
      const m = await l.backend.list().then((all) => all.find((x) => x.id === id), () => undefined);
      if (m) return { loc: l, m };
    }
    return null;
  }

  /** Locations with a copy still pending. */
  get pending(): number {
    return this.wanted.size;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
