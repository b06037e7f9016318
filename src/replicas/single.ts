/**
 * Split brain at a single location (no --snapshot_replicas): two processes
 * on one bucket or folder that saved after the same ancestor (a blue/green
 * overlap) leave concurrent vectors side by side. The single-location boot
 * loads the newest by seq as it always did; this check, run right after it,
 * applies the replica rule: strict stops naming them, not strict keeps what
 * was loaded and raises the fence.
 */
import { log } from '../log.js';
import type { SnapshotBackend } from '../storage/backend.js';
import { StrictRefusal } from '../persistence/boot.js';
import { raiseFence } from '../persistence/fence.js';
import { bootReport } from './boot.js';
import { decide, splitBrainMessage } from './decision.js';

export async function checkSingleLocationSplitBrain(backend: SnapshotBackend, strict: boolean, loadedId: string): Promise<void> {
  let manifests;
  try {
    manifests = await backend.list();
  } catch {
    // Boot just read it: a failure now is left to the next save and retention.
    return;
  }
  const d = decide([{ name: backend.location, ok: true, manifests, damaged: [], tombstones: [], ms: 0 }], 1);
  if (!d.splitBrain) return;
  const text = splitBrainMessage(d, [backend.location]);
  bootReport.splitBrain = true;
  bootReport.decision = `split brain, loaded ${loadedId} (newest by seq: one location)`;
  if (strict) throw new StrictRefusal(`${text}. Refusing to start (--snapshot_strict). With --nosnapshot_strict the server would load ${loadedId} and start fenced; or remove the snapshot to discard with \`damselfly snapshots rm\`.`);
  log.error({ location: backend.location }, `${text}; loaded ${loadedId} and starting FENCED`);
  raiseFence(`split brain: loaded ${loadedId}, concurrent with ${d.maximal.filter((c) => c.id !== loadedId).map((c) => c.id).join(', ')}`);
}
