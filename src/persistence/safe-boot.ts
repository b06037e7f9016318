/**
 * What boot does when the snapshot backend fails, per --snapshot_strict:
 *
 * | situation                                   | strict                 | not strict              |
 * | bucket/folder exists, nothing in it          | start empty            | start empty             |
 * | bucket missing                               | fatal                  | start empty, fenced     |
 * | auth refused (after one credential refresh)  | fatal                  | start empty, fenced     |
 * | timeouts, resets, 5xx, throttling            | retry until --snapshot_load_timeout, then fatal | same retries, then fenced |
 * | corrupt / truncated / manifest without data  | fatal                  | previous complete snapshot, else fenced |
 * | object replaced mid-load                     | restart the load (bounded), then fatal | same, then fenced |
 *
 * "Fenced" (fence.ts): serve, but save and delete nothing until an operator
 * lifts the fence. A load is always all-or-nothing (the loader installs the
 * keyspace only after verifying it), so a restart never mixes versions.
 */
import { log } from '../log.js';
import { BackendError, type BackendFailure, type SnapshotBackend } from '../storage/backend.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import { BootError, loadNewestSnapshot, StrictRefusal, type BootLoadResult, type LoadOrder } from './boot.js';
import { raiseFence } from './fence.js';
import { SnapshotFormatError } from '../snapshot/format.js';
import { DbCountError, type LoadProgress } from './loader.js';
import { HeapTooSmallError } from '../memory/heap.js';

/** How many times a load restarts because the data changed under it. */
export const MAX_LOAD_RESTARTS = 5;

export type BootFailure = BackendFailure | 'damaged' | 'config';

/** The most specific cause in an error chain. */
export function bootFailureOf(e: unknown): BootFailure {
  for (let x: unknown = e, depth = 0; x && depth < 10; x = (x as Error).cause, depth++) {
    if (x instanceof DbCountError || x instanceof HeapTooSmallError) return 'config';
    if (x instanceof SnapshotFormatError) return 'damaged';
    if (x instanceof BackendError) return x.failure === 'corrupt' ? 'damaged' : x.failure;
  }
  // loadNewestSnapshot's "none of the snapshots can be loaded" and other load failures.
  return 'damaged';
}

/** Seqs named by manifests the last listing could not read. */
export function listProblemSeqs(backend: SnapshotBackend): number[] {
  return backend.damaged.map((p) => seqOfName(p.name)).filter((n) => Number.isFinite(n));
}

/** The seq a manifest's name carries: `manifests/<seq>-<id>.json` in S3, `<id ending in -seq>.manifest.json` in a folder. */
function seqOfName(name: string): number {
  const m = /^manifests\/(\d+)-/.exec(name) ?? /-(\d+)\.manifest\.json$/.exec(name);
  return m ? Number(m[1]) : Infinity;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SafeBootOptions {
  strict: boolean;
  progress: LoadProgress;
  /** Give up retrying transient failures after this long. */
  timeoutMs: number;
  order?: LoadOrder;
}

/**
 * Load the newest snapshot, retrying and classifying failures. Returns null
 * when the server starts empty (nothing there, or fenced); throws BootError
 * when start-up must fail.
 */
export async function safeBoot(backend: SnapshotBackend, ks: Keyspace, opts: SafeBootOptions): Promise<BootLoadResult | null> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let restarts = 0;
  let attempts = 0;
  let backoff = 250;
  const where = backend.location;

  const giveUp = (kind: BootFailure, e: unknown, what: string): null => {
    if (e instanceof StrictRefusal) throw e;
    const why = `${what}: ${(e as Error).message}`;
    if (opts.strict || kind === 'config') {
      const otherwise = kind === 'damaged' ? 'falls back to an older readable snapshot, or starts empty and fenced if there is none' : 'starts empty and fenced';
      throw new BootError(`${why}${opts.strict && kind !== 'config' ? ` (--snapshot_strict: refusing to start; --nosnapshot_strict ${otherwise})` : ''}`, { cause: e });
    }
    raiseFence(`${kind}: ${why}`);
    return null;
  };

  for (;;) {
    attempts++;
    try {
      await backend.check();
      const r = await loadNewestSnapshot(backend, ks, { strict: opts.strict, progress: opts.progress, order: opts.order });
      // Damaged manifests were judged by loadNewestSnapshot (strict: fatal; else loud, and fenced if nothing is readable).
      return r;
    } catch (e) {
      const kind = bootFailureOf(e);
      switch (kind) {
        case 'transient': {
          const left = deadline - Date.now();
          if (left > 0) {
            const wait = Math.min(backoff, left);
            log.warn({ location: where, attempt: attempts, retryInMs: wait, error: (e as Error).message }, 'snapshot backend unavailable: retrying');
            await sleep(wait);
            backoff = Math.min(backoff * 2, 5000);
            continue;
          }
          return giveUp(kind, e, `snapshot backend ${where} still failing after ${Math.round((Date.now() - started) / 1000)} s and ${attempts} attempts (--snapshot_load_timeout)`);
        }
        case 'changed':
          if (restarts < MAX_LOAD_RESTARTS) {
            restarts++;
            log.warn({ location: where, restart: restarts, error: (e as Error).message }, 'snapshot changed while loading: discarding what was read and starting again from a fresh listing');
            continue;
          }
          return giveUp(kind, e, `snapshot in ${where} kept changing while it was loaded (${restarts} restarts)`);
        case 'missing':
          return giveUp(kind, e, `snapshot location ${where} does not exist`);
        case 'auth':
          return giveUp(kind, e, `access to snapshot location ${where} refused`);
        case 'damaged':
          return giveUp(kind, e, `snapshot in ${where} is damaged`);
        default:
          return giveUp(kind, e, `cannot load snapshots from ${where}`);
      }
    }
  }
}
