/**
 * Orphan collection: what crashed or failed saves left under a location,
 * found and removed only when provably dead. Run at boot, after a failed
 * save, again when something found was not old enough yet, and on demand by
 * `damselfly snapshots gc`, all with the same rules (judge()):
 *
 *  - never anything a readable manifest names, nor a manifest (a damaged
 *    manifest stays until an operator removes it: `damselfly snapshots rm`);
 *  - never the work of a writer whose lease is fresh (src/storage/writer.ts):
 *    that writer may still be writing it, however long its save takes;
 *  - never anything younger than --snapshot_orphan_grace (an upload counts
 *    from its initiation, a file or object from its last write);
 *  - never a complete data object while a snapshot is kept unread (boot
 *    skipped or could not parse it, or a manifest names data that is not
 *    there): the unnamed object may be that snapshot's data;
 *  - the rest goes: unfinished multipart uploads (billed on S3 until
 *    aborted), data objects no manifest names, temp files, stale leases.
 */
import { defineParam, getString } from '../config/params.js';
import { log } from '../log.js';
import type { Manifest, ManifestProblem, SnapshotBackend, StoredItem } from '../storage/backend.js';
import { WRITER_ID } from '../storage/writer.js';

/** "90", "90s", "15m", "6h", "1d", "500ms": milliseconds, or null. */
export function parseDuration(raw: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/i.exec(raw.trim());
  if (!m) return null;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  return Math.round(Number(m[1]) * unit[(m[2] ?? 's').toLowerCase()]);
}

defineParam({
  name: 'snapshot-orphan-grace',
  flag: 'snapshot_orphan_grace',
  type: 'string',
  default: '6h',
  mutable: true,
  help: 'age before an unfinished upload, unnamed data object or temp file of a writer without a fresh lease is removed as an orphan (e.g. 6h, 30m, 90s)',
  validate: (v) => (parseDuration(v) === null ? 'expected a duration such as 6h, 30m, 90s or 500ms' : null),
  onChange: () => graceChanged?.(),
});

let graceChanged: (() => void) | null = null;

/** A new grace at runtime (CONFIG SET): the server collects again with it at once. */
export function onGraceChange(fn: () => void): void {
  graceChanged = fn;
}

export function orphanGraceMs(): number {
  return parseDuration(getString('snapshot-orphan-grace'))!;
}

/**
 * How often a saving writer refreshes its lease, and how old a lease may be
 * and still count as alive: refreshed four times per grace (at most every
 * minute), alive for the grace or three refreshes (and 2 s), whichever is longer, so a
 * short grace never lets a live writer look dead between two refreshes.
 */
export function leaseRefreshMs(graceMs = orphanGraceMs()): number {
  return Math.min(60_000, Math.max(250, graceMs / 4));
}
export function leaseTtlMs(graceMs = orphanGraceMs()): number {
  // + 2 s: S3 timestamps may be whole seconds.
  return Math.max(graceMs, 3 * leaseRefreshMs(graceMs) + 2000);
}

export interface Verdict {
  item: StoredItem;
  remove: boolean;
  /** Why it goes or stays, for the log, INFO and `snapshots ls`. */
  why: string;
}

export interface Scan {
  /** Committed, readable manifests, newest first. */
  manifests: Manifest[];
  /** Manifests that could not be read or trusted. */
  damaged: ManifestProblem[];
  /** Readable manifests whose data is not there. */
  dangling: Manifest[];
  /** Everything that is not a committed snapshot's manifest or data, with its verdict. */
  orphans: Verdict[];
}

export interface ScanOptions {
  graceMs: number;
  now?: number;
  /** Data names this process is writing right now. */
  inFlight?: ReadonlySet<string>;
  /** Why complete data objects are kept anyway (snapshots boot could not read); empty: not held. */
  held?: string[];
}

const secs = (ms: number) => `${Math.round(ms / 1000)} s`;

export async function scanOrphans(backend: SnapshotBackend, opts: ScanOptions): Promise<Scan> {
  const manifests = await backend.list();
  const damaged = [...backend.damaged];
  const stored = await backend.stored();
  const now = opts.now ?? Date.now();
  const named = new Set(manifests.map((m) => m.dataName));
  const present = new Set(stored.filter((s) => s.kind === 'data').map((s) => s.name));
  const dangling = manifests.filter((m) => !present.has(m.dataName));
  const leases = new Map<string, number>();
  for (const s of stored) if (s.kind === 'lease' && s.writer) leases.set(s.writer, Math.max(leases.get(s.writer) ?? 0, s.at));
  const ttl = leaseTtlMs(opts.graceMs);
  const held = [
    ...(opts.held ?? []),
    ...damaged.map((d) => `manifest ${d.name} is damaged (${d.reason})`),
    ...dangling.map((m) => `manifest of snapshot ${m.id} names data ${m.dataName}, which is not there`),
  ];
  const orphans: Verdict[] = [];
  for (const item of stored) {
    if (item.kind === 'manifest' || (item.kind === 'data' && named.has(item.name))) continue;
    const age = now - item.at;
    const judge = (remove: boolean, why: string) => orphans.push({ item, remove, why });
    if (item.kind === 'lease') {
      if (item.writer === WRITER_ID || age < ttl) continue;
      judge(true, `lease of writer ${item.writer} not refreshed for ${secs(age)}`);
      continue;
    }
    if (opts.inFlight?.has(item.name)) {
      judge(false, 'this server is writing it');
      continue;
    }
    const lease = item.writer === undefined ? undefined : leases.get(item.writer);
    if (lease !== undefined && now - lease < ttl) {
      judge(false, `writer ${item.writer} is alive (lease refreshed ${secs(now - lease)} ago): it may still be writing it`);
      continue;
    }
    if (age < opts.graceMs) {
      judge(false, `younger than --snapshot_orphan_grace (${secs(age)} of ${secs(opts.graceMs)})`);
      continue;
    }
    if (item.kind === 'data' && held.length > 0) {
      judge(false, `kept while a snapshot is unreadable, it may be its data: ${held.join('; ')}`);
      continue;
    }
    const what = item.kind === 'upload' ? 'unfinished multipart upload' : item.kind === 'temp' ? 'temp file of an interrupted save' : 'data no manifest names';
    judge(true, `${what}, ${secs(age)} old${item.writer ? `, writer ${item.writer} has no fresh lease` : ''}`);
  }
  return { manifests, damaged, dangling, orphans };
}

export interface Collected {
  scan: Scan;
  removed: Verdict[];
  bytes: number;
  failed: number;
}

/** Scan, then remove what is dead (unless dryRun), logging each with its bytes. */
export async function collectOrphans(backend: SnapshotBackend, opts: ScanOptions & { dryRun?: boolean; why: string }): Promise<Collected> {
  const scan = await scanOrphans(backend, opts);
  const removed: Verdict[] = [];
  let bytes = 0;
  let failed = 0;
  for (const v of scan.orphans) {
    if (!v.remove || opts.dryRun) continue;
    try {
      await backend.remove(v.item);
    } catch (e) {
      failed++;
      log.warn({ location: backend.location, name: v.item.name, kind: v.item.kind, err: (e as Error).message }, 'could not remove an orphan');
      continue;
    }
    removed.push(v);
    bytes += v.item.size;
    if (v.item.kind !== 'lease') {
      log.info({ location: backend.location, name: v.item.name, kind: v.item.kind, bytes: v.item.size, writer: v.item.writer, why: v.why, trigger: opts.why }, 'removed orphan');
    }
  }
  return { scan, removed, bytes, failed };
}

/** Not a lease: what INFO and the summaries count as orphans. */
export function isOrphanData(v: Verdict): boolean {
  return v.item.kind !== 'lease';
}
