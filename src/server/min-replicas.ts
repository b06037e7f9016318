/**
 * min-replicas-to-write and min-replicas-max-lag (7.0 names; min-slaves-*
 * are the same settings): Redis refuses writes with -NOREPLICAS while
 * fewer replicas than the first have acknowledged within the second's
 * seconds, both above 0. This server has no Redis replicas (its copies are
 * snapshots, --snapshot_replicas), so no replica is ever good: with both
 * settings above 0 every write is refused, as a Redis primary with none
 * attached refuses it.
 */
import { defineParam, mirrorTo } from '../config/params.js';

export const NOREPLICAS = 'NOREPLICAS Not enough good replicas to write.';

let toWrite = 0;
let maxLag = 10;

/** A name and its alias, one setting: both set it, and each CONFIG SET shows in both (as lua-time-limit's pair). */
function pair(name: string, alias: string, def: string, help: string, set: (n: number) => void): void {
  const apply = (v: string) => set(Number(v));
  defineParam({ name, type: 'int', default: def, min: 0, mutable: true, apply, onChange: mirrorTo(alias), help });
  defineParam({ name: alias, type: 'int', default: def, min: 0, mutable: true, apply, onChange: mirrorTo(name), help: `alias of ${name}` });
}

pair('min-replicas-to-write', 'min-slaves-to-write', '0', 'writes are refused (-NOREPLICAS) unless this many replicas are good; this server has none, so any value above 0 (with min-replicas-max-lag above 0) refuses every write', (n) => (toWrite = n));
pair('min-replicas-max-lag', 'min-slaves-max-lag', '10', 'seconds within which a replica must have acknowledged to count as good (see min-replicas-to-write)', (n) => (maxLag = n));

/**
 * Whether writes are refused for want of good replicas (Redis's
 * checkGoodReplicasStatus failing): the check is on, and with no replicas
 * it always fails. INFO shows min_slaves_good_slaves while it is on.
 */
export function tooFewReplicas(): boolean {
  return toWrite > 0 && maxLag > 0;
}
