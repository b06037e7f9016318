/**
 * `--dir s3://bucket/prefix` selects the S3 backend; boot falls back to the
 * local folder for anything else.
 */
import type { SnapshotBackend } from './backend.js';
import { S3Backend, parseS3Url } from './s3.js';
import { s3SettingsFromParams } from './s3-params.js';

export function s3BackendFor(dir: string): SnapshotBackend | null {
  if (!/^s3:\/\//i.test(dir)) return null;
  return new S3Backend(parseS3Url(dir), s3SettingsFromParams());
}
