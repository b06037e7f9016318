/**
 * This process's writer identity: a random id in every data name it writes
 * (`<snapshot id>.<writer>.dfs`, its temp files, its multipart uploads) and
 * in the lease it keeps fresh while a save runs (`writers/<writer>` in S3,
 * `.writer-<writer>` in a folder).
 *
 * The rule orphan collection follows with it: work of a writer whose lease
 * is fresh is never touched, whatever its age, because that writer may still
 * be writing it; work of a writer without a fresh lease is removed only once
 * older than --snapshot_orphan_grace. Several servers (replicas, a restarted
 * server beside one still shutting down, the snapshot CLI) can share one
 * location this way without knowing about each other. Names from before
 * writer ids (`<id>.dfs`) have no writer: only their age counts.
 */
import { randomBytes } from 'node:crypto';

export const WRITER_ID = randomBytes(6).toString('hex');

const WRITER_IN_NAME = /\.([0-9a-f]{12})\.(?:dfs|manifest\.json)(?:\.tmp)?$/;

/** The writer whose id a data, temp or upload name carries. */
export function writerOf(name: string): string | undefined {
  return WRITER_IN_NAME.exec(name)?.[1];
}
