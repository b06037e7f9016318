/**
 * INFO persistence, replica part: the write and read quorums, what boot
 * decided (split brain included), and one line per location in Redis's
 * `slave0:ip=...,port=...` style.
 */
import { registerInfoSection } from '../server/info.js';
import { bootReport } from './boot.js';
import type { ReplicaSet } from './replica-set.js';
import { persistence } from '../persistence/snapshotter.js';

let current: ReplicaSet | null = null;

export function setReplicaInfo(set: ReplicaSet | null): void {
  current = set;
}

/** Values inside a `k=v,k=v` line must not carry separators. */
function clean(v: string | number): string {
  return String(v).replace(/[\r\n,]+/g, ' ').slice(0, 200);
}

export function registerReplicaInfo(): void {
  registerInfoSection('persistence', 'Persistence', () => {
    const set = current;
    if (set === null) {
      const p = persistence();
      const f: [string, string | number][] = [
        ['snapshot_locations', 1],
        ['snapshot_split_brain', bootReport.splitBrain ? 1 : 0],
        ['snapshot_boot_decision', bootReport.decision.replace(/[\r\n]+/g, ' ').slice(0, 400)],
      ];
      // The one location in the same shape as several, so dashboards and alerts need no second form.
      if (p !== null) {
        f.push([
          'snapshot_location0',
          [
            `location=${clean(p.backend.location)}`,
            'role=primary',
            `status=${p.lastStatusOk ? 'ok' : 'failing'}`,
            `last_commit=${clean(p.last?.id ?? '')}`,
            `last_commit_time=${p.last !== null ? p.lastSave : 0}`,
          ].join(','),
        ]);
      }
      return f;
    }
    const f: [string, string | number][] = [
      ['snapshot_locations', set.locations.length],
      ['snapshot_write_quorum', set.quorum],
      ['snapshot_read_quorum', set.readQuorum],
      ['snapshot_boot_locations_read', bootReport.read],
      ['snapshot_split_brain', bootReport.splitBrain ? 1 : 0],
      ['snapshot_boot_decision', bootReport.decision.replace(/[\r\n]+/g, ' ').slice(0, 400)],
      ['snapshot_catchup_pending', set.catchUp.pending],
    ];
    for (const l of set.locations) {
      f.push([
        `snapshot_location${l.index}`,
        [
          `location=${clean(l.name)}`,
          `role=${l.index === 0 ? 'primary' : 'replica'}`,
          `status=${l.status}`,
          `last_commit=${clean(l.lastCommitId)}`,
          `last_commit_time=${Math.floor(l.lastCommitAt / 1000)}`,
          `create_only=${l.createOnly}`,
          `caught_up=${l.caughtUp}`,
          `last_error=${clean(l.lastError)}`,
        ].join(','),
      ]);
    }
    return f;
  });
}
