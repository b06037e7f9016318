/**
 * Where snapshots live, behind one small interface (Litestream's
 * ReplicaClient idea): everything above it (snapshotter, loader, retention,
 * strict boot) is backend-agnostic. One file per backend: file.ts (a local
 * folder, the embedded default) and s3.ts.
 *
 * The commit protocol every backend follows: snapshot data goes under a new,
 * never-reused name; only when it is completely and durably stored is a small
 * manifest written, last, create-only. A snapshot exists if and only if its
 * manifest does; nothing is ever overwritten in place.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** The manifest: committed last, it is what makes a snapshot exist. */
export interface Manifest {
  /** Manifest format version. */
  format: 1;
  /** Unique snapshot id, also the data object's name stem. */
  id: string;
  /** Monotonically increasing per server lineage: newest = highest seq. */
  seq: number;
  /** ms since epoch at the snapshot's instant. */
  createdAt: number;
  serverId: string;
  /** Backend-relative name of the data object/file. */
  dataName: string;
  /** Data size in bytes. */
  size: number;
  /** Checksum over the data as the snapshot format defines it (hex). */
  checksum: string;
  /** Keys per db (index = db number). */
  keys: number[];
  /** Backend version tag of the data (S3 ETag) so reads can be pinned to it. */
  etag?: string;
  /**
   * Version vector (src/replicas/vector.ts): writer incarnation -> counter.
   * Absent in manifests from before replicas: an empty vector.
   */
  vv?: Record<string, number>;
  /** Vector entries folded away to bound its size (count, sum, hash). */
  vvFolded?: { n: number; sum: number; h: string };
  /** Id of the snapshot the writer had loaded or last saved before this one ('' for none). */
  parent?: string;
  /** The writer incarnation (`<server_id>/<writer id>`) that made it: its own key in vv. */
  writer?: string;
  /** manifestSum() of the other fields, set when committed. */
  sum?: string;
}

/** Why a backend operation failed, as strict boot classifies it. */
export type BackendFailure =
  /** bucket / folder does not exist */
  | 'missing'
  /** permission, bad or expired credentials */
  | 'auth'
  /** timeouts, resets, 5xx, throttling: worth retrying */
  | 'transient'
  /** the data object changed or vanished while being read (412): restart the load */
  | 'changed'
  /** data or manifest unreadable, truncated, checksum mismatch */
  | 'corrupt'
  /** anything else */
  | 'other';

export class BackendError extends Error {
  constructor(
    message: string,
    readonly failure: BackendFailure,
    /** Provider's code (e.g. "NoSuchBucket", "AccessDenied", "ENOENT"). */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Writes one snapshot's data; nothing is visible until commit(). */
export interface SnapshotWriter {
  /** The data, as a stream the writer consumes with backpressure. */
  readonly dataName: string;
  /** Store everything `data` yields; resolves when durable (fsync / upload done), returns the etag if any. */
  upload(data: Readable): Promise<{ size: number; etag?: string }>;
  /**
   * Have the store copy the data of `m`, as `source` holds it, by itself
   * (S3 CopyObject / UploadPartCopy on one endpoint) instead of streaming it
   * through this process: null when the two locations cannot do that
   * (another store, other credentials), and the caller streams it.
   */
  copyFrom?(source: SnapshotBackend, m: Manifest): Promise<{ size: number; etag?: string } | null>;
  /** Write the manifest, last, create-only. */
  commit(manifest: Manifest): Promise<void>;
  /** Remove whatever was written (failed save): no orphaned temp files or multipart parts. */
  abort(): Promise<void>;
}

/**
 * Something stored under a location besides the committed manifests: what
 * orphan collection (src/persistence/orphans.ts) judges.
 */
export interface StoredItem {
  /** Backend-relative name: `data/<id>.<writer>.dfs`, `.<id>.<writer>.dfs.tmp`, `writers/<writer>`, a manifest's name. */
  name: string;
  /**
   * data: a complete data object (named by a manifest or not); temp: a local
   * file a save was still writing; upload: an unfinished S3 multipart upload;
   * lease: a writer's liveness mark; manifest: a manifest list() could not read.
   */
  kind: 'data' | 'temp' | 'upload' | 'lease' | 'manifest';
  /** Bytes stored (an upload: its parts so far). */
  size: number;
  /** ms since epoch: last write, or when the upload was initiated. */
  at: number;
  /** The writer whose id the name carries (src/storage/writer.ts). */
  writer?: string;
  /** S3 multipart upload id. */
  uploadId?: string;
}

/** A manifest that list() left out because it could not be read or trusted. */
export interface ManifestProblem {
  /** Backend-relative name. */
  name: string;
  reason: string;
}

/**
 * A snapshot deleted on purpose (retention, the operator): kept at every
 * location so a location that missed the delete cannot bring it back
 * (src/replicas/retention.ts).
 */
export interface Tombstone {
  id: string;
  seq: number;
  /** ms since epoch */
  deletedAt: number;
}

/** How a location treats a create-only write of a name that exists (If-None-Match: * in S3). */
export type CreateOnly = 'enforced' | 'ignored' | 'unsupported';

export interface SnapshotBackend {
  /** For logs and INFO: "file:///abs/dir" or "s3://bucket/prefix". Never contains secrets. */
  readonly location: string;
  /** The backend a wrapper (a lazy loader, the fence guard) stands for: what a server-side copy asks about. */
  readonly inner?: SnapshotBackend | null;
  /** Check the destination exists and is usable (HeadBucket, stat dir); throws BackendError. */
  check(): Promise<void>;
  /** Start writing a new snapshot under a fresh name derived from `id`. */
  create(id: string): Promise<SnapshotWriter>;
  /** Committed snapshots (those with a manifest), newest first by seq. */
  list(): Promise<Manifest[]>;
  /**
   * The data of a committed snapshot. S3 pins every read to manifest.etag and
   * fails the stream with BackendError('changed') if the object was replaced.
   */
  open(manifest: Manifest): Promise<Readable>;
  /** Delete a snapshot: manifest first (so it stops existing), then its data. */
  delete(manifest: Manifest): Promise<void>;
  /** Manifests the last list() left out (unreadable, malformed, failing their checksum). */
  readonly damaged: ManifestProblem[];
  /** Data objects, temp files, unfinished uploads, leases and damaged manifests (no committed manifest). */
  stored(): Promise<StoredItem[]>;
  /** Remove one stored item (abort an upload); one already gone is not an error. */
  remove(item: StoredItem): Promise<void>;
  /**
   * A file or object under the location by its own name, not a snapshot (a
   * Redis RDB file to migrate from, src/rdb/boot-load.ts): null if absent.
   */
  openNamed?(name: string): Promise<{ size: number; data: Readable } | null>;
  /** Mark `writer` alive now: its work is not an orphan while this is fresh. */
  touchLease(writer: string): Promise<void>;
  /** The writer is done saving (a lease left behind by a crash goes stale and is collected). */
  dropLease(writer: string): Promise<void>;
  /** Record a tombstone (overwrites one of the same id). */
  putTombstone(t: Tombstone): Promise<void>;
  /** Every tombstone stored here. */
  tombstones(): Promise<Tombstone[]>;
  /** Remove a tombstone no copy of its snapshot needs any more; one already gone is not an error. */
  dropTombstone(id: string): Promise<void>;
  /** Write a probe name twice create-only: does the second write fail as it must? The probe is removed. */
  probeCreateOnly(): Promise<CreateOnly>;
}

export function isTombstone(x: unknown): x is Tombstone {
  const t = x as Tombstone;
  return !!t && typeof t.id === 'string' && Number.isSafeInteger(t.seq) && typeof t.deletedAt === 'number';
}

/**
 * A manifest's own checksum, over every other field: one flipped bit can
 * leave valid JSON (a dataName naming nothing, a wrong seq), and boot must
 * call that a damaged manifest, not a missing file. Backends seal a manifest
 * when they commit it and check it when they list; one without a sum
 * (written before sums existed) is judged by its fields alone.
 */
export function manifestSum(m: Manifest): string {
  const fields = Object.keys(m)
    .filter((k) => k !== 'sum')
    .sort()
    .map((k) => [k, (m as unknown as Record<string, unknown>)[k]]);
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

export function sealManifest(m: Manifest): Manifest {
  return { ...m, sum: manifestSum(m) };
}

/** Why a parsed manifest cannot be trusted, or null. `dataStem` is where its data must be named (`data/` in S3). */
export function manifestDamage(m: Manifest, dataStem = ''): string | null {
  if (m.sum !== undefined && m.sum !== manifestSum(m)) return 'manifest checksum mismatch: the manifest was altered after it was written';
  if (!m.dataName.startsWith(`${dataStem}${m.id}.`)) return `it names data '${m.dataName}', which is not the data of snapshot ${m.id}`;
  return null;
}
