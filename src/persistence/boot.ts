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
import { SnapshotFormatError } from '../snapshot/format.js';
import { HeapTooSmallError } from '../memory/heap.js';
import { loadRdbAtBoot } from '../rdb/boot-load.js';
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
  skipped: { manifest: Manifest; reason: string }[];
  /** Highest seq among all committed snapshots, readable or not. */
  maxSeq: number;
}

/**
 * A refusal under --snapshot_strict whose message already says everything
 * (cause, what each mode would do): safe boot passes it on as is.
 */
export class StrictRefusal extends BootError {}

/** The manifest named data that is not there (as opposed to data that is there but damaged). */
function missingData(e: unknown): boolean {
  return e instanceof BackendError && e.failure === 'corrupt' && (e.code === 'ENOENT' || e.code === 'NoSuchKey');
}

/**
 * Why a manifest's data is missing. A committed snapshot's data was stored
 * before its manifest, so "missing" means the manifest is damaged (names the
 * wrong object) or someone removed the data; complete data objects that no
 * manifest names point to the first.
 */
async function explainMissing(backend: SnapshotBackend, manifests: Manifest[], m: Manifest): Promise<string> {
  const stored = await backend.stored().catch(() => null);
  if (stored === null) return '';
  const named = new Set(manifests.map((x) => x.dataName));
  const unnamed = stored.filter((s) => s.kind === 'data' && !named.has(s.name)).map((s) => `${s.name} (${s.size} bytes)`);
  if (unnamed.length === 0) return ` Its data is not in ${backend.location}: removed by hand or by another tool after it was committed.`;
  return ` The manifest is probably damaged rather than its data lost: data named by no manifest is there (${unnamed.join(', ')}), so the manifest's dataName '${m.dataName}' is likely wrong. Nothing is deleted; compare with \`damselfly snapshots ls\`.`;
}

/**
 * Which snapshot boot tries first, and then which (newest by seq by
 * default): the replica layer puts a split brain's deterministic pick first,
 * or throws to refuse.
 */
export type LoadOrder = (manifests: Manifest[], location: string) => Manifest[];

export async function loadNewestSnapshot(
  backend: SnapshotBackend,
  ks: Keyspace,
  opts: { strict: boolean; progress: LoadProgress; order?: LoadOrder },
): Promise<BootLoadResult | null> {
  let manifests: Manifest[];
  try {
    manifests = await backend.list();
  } catch (e) {
    throw new BootError(`cannot list snapshots in ${backend.location}: ${(e as Error).message}`, { cause: e });
  }
  const damaged = backend.damaged;
  if (damaged.length > 0) {
    const what = `damaged snapshot manifest(s) in ${backend.location}: ${damaged.map((d) => `${d.name}: ${d.reason}`).join('; ')}`;
    if (opts.strict) {
      throw new StrictRefusal(
        `${what}. Refusing to start (--snapshot_strict): a damaged manifest may describe the newest snapshot. ` +
          `Restart with --nosnapshot_strict to load the newest readable snapshot (the damaged manifest and every data object are kept), or inspect with \`damselfly snapshots ls\`.`,
      );
    }
    log.error({ damaged }, `IGNORING ${what}; they and every unnamed data object are kept until an operator removes them`);
  }
  if (manifests.length === 0 && damaged.length > 0) {
    throw new BootError(`no readable snapshot in ${backend.location}, but damaged manifests exist; refusing to start empty`);
  }
  if (manifests.length === 0) {
    const fromRdb = await loadRdbAtBoot(backend, ks, opts);
    if (fromRdb !== null) return fromRdb;
    log.info({ location: backend.location }, 'no snapshot found: starting with an empty dataset');
    return null;
  }
  const maxSeq = manifests[0].seq;
  if (opts.order) manifests = opts.order(manifests, backend.location);
  const skipped: { manifest: Manifest; reason: string }[] = [];
  for (const m of manifests) {
    log.info({ snapshot: m.id, seq: m.seq, bytes: m.size, keys: m.keys.reduce((a, b) => a + b, 0), location: backend.location }, 'loading snapshot');
    try {
      const result = await loadSnapshot(backend, m, ks, opts.progress);
      const fnErr = result.functions.install('replace-all');
      if (fnErr !== null) throw new Error(`function libraries: ${fnErr}`);
      if (skipped.length > 0) {
        log.error(
          { snapshot: m.id, seq: m.seq, skipped: skipped.map((s) => s.manifest.id) },
          `FELL BACK TO AN OLDER SNAPSHOT: ${m.id} (seq ${m.seq}) was loaded because ${skipped.length} newer snapshot(s) could not be read; changes after it are NOT in memory`,
        );
      }
      return { manifest: m, result, skipped, maxSeq };
    } catch (e) {
      let why = (e as Error).message;
      if (classifyLoadError(e) === 'fatal') throw new BootError(`cannot load snapshot ${m.id} from ${backend.location}: ${why}`, { cause: e });
      if (missingData(e)) why += await explainMissing(backend, manifests, m);
      if (opts.strict) {
        const older = manifests.length > 1 ? 'load the previous snapshot instead' : 'start empty and fenced (this is the only snapshot)';
        throw new StrictRefusal(
          `the newest snapshot ${m.id} (seq ${m.seq}) in ${backend.location} cannot be loaded: ${why} ` +
            `Refusing to start with older data (--snapshot_strict); with --nosnapshot_strict the server would ${older}, keeping ${m.id} until an operator removes it.`,
          { cause: e },
        );
      }
      log.error({ snapshot: m.id, seq: m.seq, error: why }, `SNAPSHOT ${m.id} IS UNREADABLE: ${why}; trying the previous snapshot`);
      skipped.push({ manifest: m, reason: why });
    }
  }
  throw new BootError(`none of the ${manifests.length} snapshots in ${backend.location} can be loaded; refusing to start empty while snapshots exist`);
}
