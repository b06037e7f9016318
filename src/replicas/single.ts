/**
 * Split brain at a single location (no --snapshot_replicas): two processes
 * on one bucket or folder that saved after the same ancestor (a blue/green
 * overlap) leave concurrent vectors side by side. Boot applies the replica
 * rule before it loads anything: strict stops naming them; not strict loads
 * the deterministic pick (larger vector sum, newer time, writer id) — not
 * merely the newest seq — and raises the fence.
 */
import { log } from '../log.js';
import type { Manifest } from '../storage/backend.js';
import { StrictRefusal } from '../persistence/boot.js';
import { raiseFence } from '../persistence/fence.js';
import { bootReport } from './boot.js';
import { decide, splitBrainMessage } from './decision.js';

/** The load order for one location's manifests (newest by seq first), or a StrictRefusal. */
export function singleLocationOrder(strict: boolean): (manifests: Manifest[], location: string) => Manifest[] {
  return (manifests, location) => {
    const d = decide([{ name: location, ok: true, manifests, damaged: [], tombstones: [], ms: 0 }], 1);
    if (!d.splitBrain) return manifests;
    const pick = d.maximal[0].id;
    const text = splitBrainMessage(d, [location]);
    bootReport.splitBrain = true;
    bootReport.decision = `split brain, picked ${pick} (one location)`;
    if (strict) throw new StrictRefusal(`${text}. Refusing to start (--snapshot_strict). With --nosnapshot_strict the server would load ${pick} (larger vector sum, then newer time, then writer id) and start fenced; or remove the snapshot to discard with \`damselfly snapshots rm\`.`);
    log.error({ location }, `${text}; loading ${pick} by the deterministic pick (larger vector sum, newer time, writer id) and starting FENCED`);
    raiseFence(`split brain: loaded ${pick}, concurrent with ${d.maximal.slice(1).map((c) => c.id).join(', ')}`);
    // If the pick cannot be read, boot falls back through the rest newest-first, as it always does.
    return [manifests.find((m) => m.id === pick)!, ...manifests.filter((m) => m.id !== pick)];
  };
}
