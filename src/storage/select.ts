/**
 * `--dir s3://bucket/prefix` selects the S3 backend; boot falls back to the
 * local folder for anything else. The AWS SDK takes seconds to import on a
 * busy machine, so it is loaded on first use, only by servers that use S3.
 */
import type { Readable } from 'node:stream';
import type { CreateOnly, Manifest, ManifestProblem, SnapshotBackend, SnapshotWriter, StoredItem, Tombstone } from './backend.js';
import { s3SettingsFromParams, type S3Settings } from './s3-params.js';

export interface S3Location {
  bucket: string;
  /** '' or ends with '/'. */
  prefix: string;
}

export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m || m[1] === '') throw new Error(`not an S3 location: ${url} (expected s3://bucket/prefix)`);
  const prefix = m[2].replace(/^\/+|\/+$/g, '');
  return { bucket: m[1], prefix: prefix ? prefix + '/' : '' };
}

/** Stands in for the S3 backend until its first call imports it. */
class LazyS3Backend implements SnapshotBackend {
  readonly location: string;
  /** The loaded backend (boot reads its list diagnostics through this). */
  inner: SnapshotBackend | null = null;
  private loading: Promise<SnapshotBackend> | null = null;

  constructor(
    private readonly where: S3Location,
    private readonly settings: S3Settings,
  ) {
    this.location = `s3://${where.bucket}/${where.prefix}`;
  }

  get damaged(): ManifestProblem[] {
    return this.inner?.damaged ?? [];
  }

  private backend(): Promise<SnapshotBackend> {
    this.loading ??= import('./s3.js').then(({ S3Backend }) => (this.inner = new S3Backend(this.where, this.settings)));
    return this.loading;
  }
  async check(): Promise<void> {
    return (await this.backend()).check();
  }
  async create(id: string): Promise<SnapshotWriter> {
    return (await this.backend()).create(id);
  }
  async list(): Promise<Manifest[]> {
    return (await this.backend()).list();
  }
  async open(manifest: Manifest): Promise<Readable> {
    return (await this.backend()).open(manifest);
  }
  async openNamed(name: string): Promise<{ size: number; data: Readable } | null> {
    const b = await this.backend();
    return b.openNamed === undefined ? null : b.openNamed(name);
  }
  async delete(manifest: Manifest): Promise<void> {
    return (await this.backend()).delete(manifest);
  }
  async stored(): Promise<StoredItem[]> {
    return (await this.backend()).stored();
  }
  async remove(item: StoredItem): Promise<void> {
    return (await this.backend()).remove(item);
  }
  async touchLease(writer: string): Promise<void> {
    return (await this.backend()).touchLease(writer);
  }
  async dropLease(writer: string): Promise<void> {
    return (await this.backend()).dropLease(writer);
  }
  async putTombstone(t: Tombstone): Promise<void> {
    return (await this.backend()).putTombstone(t);
  }
  async dropTombstone(id: string): Promise<void> {
    return (await this.backend()).dropTombstone(id);
  }
  async tombstones(): Promise<Tombstone[]> {
    return (await this.backend()).tombstones();
  }
  async probeCreateOnly(): Promise<CreateOnly> {
    return (await this.backend()).probeCreateOnly();
  }
}

export function s3BackendFor(dir: string): SnapshotBackend | null {
  if (!/^s3:\/\//i.test(dir)) return null;
  return new LazyS3Backend(parseS3Url(dir), s3SettingsFromParams());
}

/** An S3 location with its own settings (a replica on another endpoint, region or account). */
export function s3BackendWith(url: string, settings: S3Settings): SnapshotBackend {
  return new LazyS3Backend(parseS3Url(url), settings);
}
