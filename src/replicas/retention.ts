/**
 * --snapshot_keep across locations. The newest `keep` snapshots (by seq,
 * over the union of every location) stay; each older one is first
 * tombstoned at every reachable location, then deleted wherever it is. A
 * location that was down during the delete still holds it, but boot (and
 * the next retention pass, which deletes it there) sees the tombstone at any
 * other location and ignores it: a lagging location can never bring back a
 * snapshot retention removed. Snapshots boot could not read are kept, as
 * with one location. A tombstone itself goes once no location can hold its
 * snapshot any more (dropSpentTombstones).
 */
import { log } from '../log.js';
import type { Manifest, Tombstone } from '../storage/backend.js';
import type { KeptUnread } from '../persistence/kept.js';
import type { Location } from './location-state.js';
import type { ReplicaSet } from './replica-set.js';

interface Seen {
  loc: Location;
  manifests: Manifest[];
  tombstones: Tombstone[];
}

export async function retainAcross(set: ReplicaSet, keep: number, kept: KeptUnread, graceMs: number): Promise<void> {
  try {
    const seen: Seen[] = [];
    await Promise.all(
      set.locations.map(async (loc) => {
        try {
          const [manifests, tombstones] = await Promise.all([loc.backend.list(), loc.backend.tombstones()]);
          seen.push({ loc, manifests, tombstones });
        } catch (e) {
          log.warn({ location: loc.name, err: (e as Error).message }, 'retention skips an unreachable location this time');
        }
      }),
    );
    const dead = new Set(seen.flatMap((s) => s.tombstones.map((t) => t.id)));
    const byId = new Map<string, Manifest>();
    for (const s of seen) for (const m of s.manifests) if (!dead.has(m.id) && !byId.has(m.id)) byId.set(m.id, m);
    const primary = seen.find((s) => s.loc === set.primary);
    if (primary) kept.refresh(primary.manifests, set.primary.backend.damaged);
    const ordered = [...byId.values()].sort((a, b) => b.seq - a.seq || b.createdAt - a.createdAt);
    const expired = ordered.slice(keep).filter((m) => {
      if (!kept.protects(m) && !set.locations.some((l) => l.kept.protects(m))) return true;
      log.warn({ snapshot: m.id, seq: m.seq }, 'retention keeps a snapshot boot could not read: remove it with `damselfly snapshots rm` once it is no longer needed');
      return false;
    });
    for (const m of expired) {
      const t: Tombstone = { id: m.id, seq: m.seq, deletedAt: Date.now() };
      // Tombstones first, everywhere reachable: only then may a copy disappear.
      const marked = await Promise.allSettled(seen.map((s) => s.loc.backend.putTombstone(t)));
      if (marked.every((r) => r.status === 'rejected')) throw (marked[0] as PromiseRejectedResult).reason;
      dead.add(m.id);
      log.info({ snapshot: m.id, seq: m.seq }, 'deleted old snapshot (retention)');
    }
    // Tombstones reach every location read, so each one alone keeps the deleted out of boot.
    const all = new Map(seen.flatMap((s) => s.tombstones.map((t) => [t.id, t] as const)));
    for (const s of seen) {
      const has = new Set(s.tombstones.map((t) => t.id));
      for (const [id, t] of all) if (!has.has(id)) await s.loc.backend.putTombstone(t).catch((e: unknown) => log.warn({ location: s.loc.name, snapshot: id, err: (e as Error).message }, 'could not copy a tombstone here'));
    }
    // Every copy of a tombstoned snapshot goes, including copies a lagging location kept.
    const stillHeld = new Set<string>();
    for (const s of seen) {
      for (const m of s.manifests) {
        if (!dead.has(m.id)) continue;
        await s.loc.backend.delete(m).catch((e: unknown) => {
          stillHeld.add(m.id);
          log.warn({ location: s.loc.name, snapshot: m.id, err: (e as Error).message }, 'could not delete a retired snapshot here');
        });
      }
    }
    if (seen.length === set.locations.length) await dropSpentTombstones(seen, all, stillHeld, graceMs);
  } catch (e) {
    log.warn({ err: e }, 'snapshot retention failed');
  }
}

/**
 * Tombstones are only needed while some location may still hold a copy of
 * their snapshot. One goes when every location was read in this pass, none
 * holds a copy any more, and it is older than the orphan grace (a copy
 * another process was writing when it was laid, a catch-up for example, has
 * landed or been collected by then): without this, every retired snapshot
 * would leave an object read at each retention pass, forever.
 */
async function dropSpentTombstones(seen: Seen[], all: Map<string, Tombstone>, stillHeld: Set<string>, graceMs: number): Promise<void> {
  const now = Date.now();
  for (const [id, t] of all) {
    if (stillHeld.has(id) || now - t.deletedAt < graceMs) continue;
    const dropped = await Promise.allSettled(seen.map((s) => s.loc.backend.dropTombstone(id)));
    const failed = dropped.filter((r) => r.status === 'rejected').length;
    if (failed > 0) log.warn({ snapshot: id, failed }, 'could not remove a spent tombstone everywhere: the next pass tries again');
    else log.info({ snapshot: id, deletedAt: new Date(t.deletedAt).toISOString() }, 'removed the tombstone of a snapshot no location holds any more');
  }
}
