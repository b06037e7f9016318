/**
 * Boot: pick the backend for --dir, load the newest committed snapshot before
 * data commands are served, and decide what an unreadable snapshot means.
 *
 *   strict (--snapshot_strict, default): the newest snapshot must load, or
 *     start-up fails with a message naming it and the damage;
 *   not strict: fall back to the next older complete snapshot, loudly.
 * Either way the server never starts empty while a snapshot exists.
 *
 * The S3 backend extends this: it registers a backend factory for s3:// and
 * refines classifyLoadError (e.g. transient errors are retried, not skipped).
 * A backend may expose `damaged: string[]` (manifests its last list() could
 * not parse): fatal under strict, a loud warning otherwise.
 */
import type { Keyspace } from '../keyspace/keyspace.js';
import { log } from '../log.js';
import { BackendError, type Manifest, type SnapshotBackend } from '../storage/backend.js';
import { FileBackend } from '../storage/file.js';
import { s3BackendFor } from '../storage/select.js';
import { FenceGuard } from './fence.js';
import { SnapshotFormatError } from './format.js';
import { HeapTooSmallError } from '../memory/heap.js';
import { DbCountError, loadSnapshot, type LoadProgress, type LoadResult } from './loader.js';

/** Factories tried in order for --dir; the local folder is the fallback. */
export const backendFactories: ((dir: string) => SnapshotBackend | null)[] = [s3BackendFor];

/** The backend for --dir, behind the fence guard (no create/delete while fenced). */
export function selectBackend(dir: string): SnapshotBackend {
  for (const f of backendFactories) {
    const b = f(dir);
    if (b !== null) return new FenceGuard(b);
  }
  return new FenceGuard(new FileBackend(dir));
}

/** Start-up cannot continue: main logs it and exits non-zero. */
export class BootError extends Error {}

/**
 * What a failed load of one snapshot means:
 *  - 'damaged': this snapshot is unreadable (corrupt, truncated, data missing): strict stops, otherwise fall back;
 *  - 'fatal': stop whatever the mode (configuration errors, backend unreachable).
 */
export type LoadFailure = 'damaged' | 'fatal';

export function classifyLoadError(e: unknown): LoadFailure {
  if (e instanceof DbCountError || e instanceof HeapTooSmallError) return 'fatal';
  if (e instanceof SnapshotFormatError) return 'damaged';
  if (e instanceof BackendError) return e.failure === 'corrupt' || e.failure === 'missing' ? 'damaged' : 'fatal';
  return 'damaged';
}

export interface BootLoadResult {
  manifest: Manifest;
  result: LoadResult;
  /** Newer snapshots that were skipped as unreadable (non-strict fallback). */
  skipped: Manifest[];
  /** Highest seq among all committed snapshots, readable or not. */
  maxSeq: number;
}

export async function loadNewestSnapshot(
  backend: SnapshotBackend,
  ks: Keyspace,
  opts: { strict: boolean; progress: LoadProgress },
): Promise<BootLoadResult | null> {
  let manifests: Manifest[];
  try {
    manifests = await backend.list();
  } catch (e) {
    throw new BootError(`cannot list snapshots in ${backend.location}: ${(e as Error).message}`, { cause: e });
  }
  const damaged = (backend as { damaged?: string[] }).damaged ?? [];
  if (damaged.length > 0) {
    const what = `unreadable snapshot manifest(s) in ${backend.location}: ${damaged.join('; ')}`;
    if (opts.strict) throw new BootError(`${what}. Refusing to start (--snapshot_strict); restart with --nosnapshot_strict to use the readable snapshots.`);
    log.error({ damaged }, `IGNORING ${what}`);
  }
  if (manifests.length === 0 && damaged.length > 0) {
    throw new BootError(`no readable snapshot in ${backend.location}, but damaged manifests exist; refusing to start empty`);
  }
  if (manifests.length === 0) {
    log.info({ location: backend.location }, 'no snapshot found: starting with an empty dataset');
    return null;
  }
  const maxSeq = manifests[0].seq;
  const skipped: Manifest[] = [];
  for (const m of manifests) {
    log.info({ snapshot: m.id, seq: m.seq, bytes: m.size, keys: m.keys.reduce((a, b) => a + b, 0), location: backend.location }, 'loading snapshot');
    try {
      const result = await loadSnapshot(backend, m, ks, opts.progress);
      const fnErr = result.functions.install('replace-all');
      if (fnErr !== null) throw new Error(`function libraries: ${fnErr}`);
      if (skipped.length > 0) {
        log.error(
          { snapshot: m.id, seq: m.seq, skipped: skipped.map((s) => s.id) },
          `FELL BACK TO AN OLDER SNAPSHOT: ${m.id} (seq ${m.seq}) was loaded because ${skipped.length} newer snapshot(s) could not be read; changes after it are NOT in memory`,
        );
      }
      return { manifest: m, result, skipped, maxSeq };
    } catch (e) {
      const why = (e as Error).message;
      if (classifyLoadError(e) === 'fatal') throw new BootError(`cannot load snapshot ${m.id} from ${backend.location}: ${why}`, { cause: e });
      if (opts.strict) {
        throw new BootError(
          `the newest snapshot ${m.id} (seq ${m.seq}) in ${backend.location} cannot be loaded: ${why}. ` +
            'Refusing to start with older data (--snapshot_strict); restart with --nosnapshot_strict to fall back to the previous snapshot.',
          { cause: e },
        );
      }
      log.error({ snapshot: m.id, seq: m.seq, error: why }, `SNAPSHOT ${m.id} IS UNREADABLE: ${why}; trying the previous snapshot`);
      skipped.push(m);
    }
  }
  throw new BootError(`none of the ${manifests.length} snapshots in ${backend.location} can be loaded; refusing to start empty while snapshots exist`);
}
