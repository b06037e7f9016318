/**
 * Snapshots boot could not read. A non-strict boot that fell back to an
 * older snapshot, or ignored a damaged manifest, leaves them where they are:
 * they may hold the only copy of the last writes. While one exists, nothing
 * deletes it automatically: retention skips it, and orphan collection keeps
 * every unnamed data object (it may be that snapshot's data). The operator
 * decides: `damselfly snapshots ls` shows them, `damselfly snapshots rm`
 * removes one, and once it is gone the server lets go of it.
 */
import type { Manifest, ManifestProblem } from '../storage/backend.js';

export interface KeptEntry {
  /** Snapshot id when its manifest was readable (its data was not). */
  id?: string;
  /** Manifest name when the manifest itself was unreadable. */
  manifest?: string;
  seq?: number;
  reason: string;
}

export class KeptUnread {
  constructor(private entries: KeptEntry[] = []) {}

  add(entries: KeptEntry[]): void {
    this.entries.push(...entries);
  }

  get size(): number {
    return this.entries.length;
  }

  protects(m: Manifest): boolean {
    return this.entries.some((e) => e.id === m.id);
  }

  /** Let go of what an operator removed since. */
  refresh(manifests: Manifest[], damaged: ManifestProblem[]): void {
    const ids = new Set(manifests.map((m) => m.id));
    const names = new Set(damaged.map((d) => d.name));
    this.entries = this.entries.filter((e) => (e.id !== undefined ? ids.has(e.id) : names.has(e.manifest!)));
  }

  /** One line per kept snapshot, for the log, INFO and the orphan verdicts. */
  reasons(): string[] {
    return this.entries.map((e) => (e.id !== undefined ? `snapshot ${e.id} (seq ${e.seq}) could not be loaded at boot: ${e.reason}` : `manifest ${e.manifest} could not be read at boot: ${e.reason}`));
  }
}
