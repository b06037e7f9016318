/**
 * Lifting the fence with several locations (CONFIG SET snapshot-fence no):
 * every location must be listed again (the fence stays up if one fails) so
 * the next snapshot's seq is above every existing one and its vector
 * dominates every snapshot there, the unloaded side of a split brain
 * included: lifting the fence is the operator's word that what was loaded
 * is the history to keep.
 */
import { log } from '../log.js';
import type { Persistence } from '../persistence/snapshotter.js';
import { decide } from './decision.js';
import { listLocation } from './boot.js';
import { lineage } from './lineage.js';
import type { ReplicaSet } from './replica-set.js';

export async function liftReplicaFence(set: ReplicaSet, p: Persistence): Promise<void> {
  const listings = await Promise.all(set.locations.map((l) => listLocation(l, () => 0, false)));
  const failed = listings.filter((l) => !l.ok);
  if (failed.length > 0) throw new Error(`cannot list ${failed.map((l) => `${l.name} (${l.error})`).join(', ')}`);
  const d = decide(listings, set.quorum);
  p.seq = Math.max(p.seq, ...listings.flatMap((l) => [...l.manifests.map((m) => m.seq), ...l.tombstones.map((t) => t.seq)]));
  lineage.adoptAll(d.candidates.map((c) => c.m), lineage.parentId);
  lineage.setLive(d.candidates.map((c) => c.m));
  if (d.splitBrain) log.warn({ snapshots: d.maximal.map((c) => c.id) }, 'fence lifted over a split brain: the next snapshot dominates every one of them');
}
