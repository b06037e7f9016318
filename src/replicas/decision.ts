/**
 * Which snapshot boot loads when there are several locations, from what
 * each location listed. Pure: the server's boot (boot.ts) and the
 * operator's `damselfly snapshots ls` use the same rules.
 *
 *  1. Manifests with the same id at several locations are one snapshot.
 *     A snapshot with a tombstone at any location read is gone.
 *  2. The candidates are the maximal snapshots under version-vector order
 *     (vector.ts); equal vectors (manifests from before vectors: empty) are
 *     ordered by seq, as before. Wall-clock time plays no part.
 *  3. One maximal snapshot: load it. Several: split brain (two writers saved
 *     after the same ancestor without seeing each other). The deterministic
 *     pick, used without --snapshot_strict, is the larger vector sum, then
 *     the newer time, then the larger writer id.
 *  4. Read quorum: with N locations and write quorum W, a successful save is
 *     committed at W of them, so any N - W + 1 locations include one that
 *     holds it. Fewer locations read: the newest save may be missing.
 */
import type { Manifest, ManifestProblem, Tombstone } from '../storage/backend.js';
import { compare, formatVector, vectorDamage, vectorSum } from './vector.js';

export interface LocationListing {
  name: string;
  ok: boolean;
  manifests: Manifest[];
  damaged: ManifestProblem[];
  tombstones: Tombstone[];
  /** Why it could not be read. */
  error?: string;
  /** ms the listing took: the faster location is read first. */
  ms: number;
}

export interface Candidate {
  id: string;
  /** One manifest per location that holds it, fastest location first. */
  copies: { at: number; m: Manifest }[];
  m: Manifest;
}

export interface Decision {
  candidates: Candidate[];
  /** Maximal candidates, in pick order. */
  maximal: Candidate[];
  chosen: Candidate | null;
  splitBrain: boolean;
  read: number;
  readQuorum: number;
  quorumMet: boolean;
  /** Vector fields that cannot be trusted (a manifest passing its checksum but with a malformed vector). */
  damaged: { at: number; name: string; reason: string }[];
  tombstoned: string[];
}

/** Split-brain pick order: larger vector sum, newer time, larger writer id. */
export function pickOrder(a: Candidate, b: Candidate): number {
  return vectorSum(b.m) - vectorSum(a.m) || b.m.createdAt - a.m.createdAt || (b.m.writer ?? '').localeCompare(a.m.writer ?? '') || b.id.localeCompare(a.id);
}

/** Is a superseded by b? */
function below(a: Candidate, b: Candidate): boolean {
  const o = compare(b.m, a.m);
  if (o === 'after') return true;
  if (o === 'equal') return b.m.seq > a.m.seq || (b.m.seq === a.m.seq && b.m.createdAt > a.m.createdAt) || (b.m.seq === a.m.seq && b.m.createdAt === a.m.createdAt && b.id > a.id);
  return false;
}

export function decide(listings: LocationListing[], writeQuorum: number, without: Set<string> = new Set()): Decision {
  const n = listings.length;
  const readQuorum = n - writeQuorum + 1;
  const read = listings.filter((l) => l.ok).length;
  const tombstoned = new Set(listings.flatMap((l) => l.tombstones.map((t) => t.id)));
  const damaged: Decision['damaged'] = [];
  const byId = new Map<string, Candidate>();
  const order = listings.map((l, i) => ({ l, i })).sort((a, b) => a.l.ms - b.l.ms);
  for (const { l, i } of order) {
    if (!l.ok) continue;
    for (const m of l.manifests) {
      if (tombstoned.has(m.id) || without.has(m.id)) continue;
      const why = vectorDamage(m);
      if (why !== null) {
        damaged.push({ at: i, name: m.id, reason: why });
        continue;
      }
      const c = byId.get(m.id);
      if (c) c.copies.push({ at: i, m });
      else byId.set(m.id, { id: m.id, copies: [{ at: i, m }], m });
    }
  }
  const candidates = [...byId.values()];
  const maximal = candidates.filter((a) => !candidates.some((b) => b !== a && below(a, b))).sort(pickOrder);
  return {
    candidates,
    maximal,
    chosen: maximal[0] ?? null,
    splitBrain: maximal.length > 1,
    read,
    readQuorum,
    quorumMet: read >= readQuorum,
    damaged,
    tombstoned: [...tombstoned],
  };
}

/** "id (vector {..}, writer w, created T, at loc1, loc2)" */
export function describe(c: Candidate, names: string[]): string {
  return `${c.id} (vector ${formatVector(c.m)}, parent ${c.m.parent || '-'}, writer ${c.m.writer ?? c.m.serverId}, created ${new Date(c.m.createdAt).toISOString()}, at ${c.copies.map((x) => names[x.at]).join(', ')})`;
}

export function splitBrainMessage(d: Decision, names: string[]): string {
  return `SPLIT BRAIN: ${d.maximal.length} snapshots are concurrent (none includes the others' writes; two servers saved after the same ancestor without seeing each other): ${d.maximal.map((c) => describe(c, names)).join(' AND ')}`;
}
