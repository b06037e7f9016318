/**
 * Loads one committed snapshot into the keyspace. Keys go into fresh staging
 * tables and are installed only once the reader has verified the footer, so
 * a damaged snapshot never leaves a partial keyspace behind.
 */
import { KeyTable } from '../keyspace/table.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Manifest, SnapshotBackend } from '../storage/backend.js';
import { SnapshotFormatError } from '../snapshot/format.js';
import { SnapshotReader } from '../snapshot/reader.js';
import { functionsSection, type StagedFunctions } from '../snapshot/functions-section.js';
import { log } from '../log.js';
import { heapAdvice, HeapTooSmallError, refuseThreshold, roomToGrow } from '../memory/heap.js';
import { heapGrewByLoad } from '../memory/usage.js';

/**
 * Heap a snapshot needs at least: every value and key is a JS string of at
 * least its encoded length (no compression in the format), and a key costs
 * well over this much more in the table. A lower bound, so a snapshot that
 * would fit is never refused; the heap is also watched while loading.
 */
const MIN_KEY_OVERHEAD = 32;
/** Keys between two looks at the heap while loading. */
const HEAP_CHECK_KEYS = 16384;

/** Refuse before reading a snapshot that cannot fit below the heap guard's threshold. */
export function checkSnapshotFits(m: Manifest): void {
  const keys = m.keys.reduce((a, b) => a + b, 0);
  const need = m.size + keys * MIN_KEY_OVERHEAD;
  if (need > refuseThreshold()) {
    throw new HeapTooSmallError(
      `snapshot ${m.id} (${keys} keys, ${m.size} bytes) needs at least ${Math.ceil(need / 1048576)} MiB of heap once loaded, more than the heap can hold: ${heapAdvice(need)}`,
    );
  }
}

export interface LoadProgress {
  startTime: number;
  totalBytes: number;
  loadedBytes: number;
}

export interface LoadResult {
  /** The snapshot's function libraries, compiled; the caller installs them with the keys. */
  functions: StagedFunctions;
  keys: number;
  expired: number;
  bytes: number;
  ms: number;
}

/** The snapshot was written for more databases than this server has: a configuration error, not damage. */
export class DbCountError extends Error {}

/**
 * A loader's progress callback: bytes read so far go into `progress` (INFO
 * loading_*), and a log line a second says how far the load is (`fields`
 * name what is loaded).
 */
export function progressReporter(progress: LoadProgress, total: number, fields: Record<string, unknown>, msg: string, keys: () => number): (bytes: number) => void {
  const t0 = progress.startTime;
  let lastLog = t0;
  return (bytes) => {
    progress.loadedBytes = bytes;
    const t = Date.now();
    if (t - lastLog < 1000) return;
    lastLog = t;
    const secs = (t - t0) / 1000;
    const n = keys();
    log.info({ ...fields, keys: n, bytes, percent: total > 0 ? Math.round((bytes / total) * 1000) / 10 : 100, keysPerSec: Math.round(n / secs), mbPerSec: Math.round(bytes / 1e6 / secs) }, msg);
  };
}

export async function loadSnapshot(backend: SnapshotBackend, m: Manifest, ks: Keyspace, progress: LoadProgress): Promise<LoadResult> {
  checkSnapshotFits(m);
  const t0 = Date.now();
  progress.startTime = t0;
  progress.totalBytes = m.size;
  progress.loadedBytes = 0;
  // The manifest's key counts (checked against the footer at the end) size the tables up front;
  // a record takes at least 7 bytes, so a damaged count cannot make them absurdly large.
  const tables = ks.dbs.map((_, i) => new KeyTable(Math.min(m.keys[i] ?? 0, m.size / 7)));
  let keys = 0;
  let expired = 0;
  let functionCodes: string[] = [];
  const now = Date.now();
  try {
    const stream = await backend.open(m);
    const { header, footer } = await SnapshotReader.read(
      stream,
      {
        header(h) {
          if (h.functions !== undefined) {
            if (!Array.isArray(h.functions) || !h.functions.every((c) => c instanceof Uint8Array)) throw new SnapshotFormatError('corrupt', 'bad functions in header', 0, 0);
            functionCodes = h.functions.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('latin1'));
          }
          if (h.dbCount > ks.dbs.length) {
            // Keys may live in any db: refuse rather than drop some.
            const used = m.keys.reduce((hi, n, i) => (n > 0 ? i : hi), -1);
            if (used >= ks.dbs.length) throw new DbCountError(`snapshot ${m.id} has keys in db ${used} but this server has ${ks.dbs.length} databases (--dbnum)`);
          }
        },
        key(db, key, value, expireAt) {
          if (expireAt !== null && expireAt <= now) {
            expired++;
            return;
          }
          if (keys % HEAP_CHECK_KEYS === HEAP_CHECK_KEYS - 1 && !roomToGrow()) {
            // Estimated from the share read so far: the advice names a heap that fits the whole snapshot.
            const need = (process.memoryUsage().heapUsed / Math.max(progress.loadedBytes, 1)) * m.size;
            throw new HeapTooSmallError(
              `snapshot ${m.id} filled the heap after ${keys} of ${m.keys.reduce((a, b) => a + b, 0)} keys (${progress.loadedBytes} of ${m.size} bytes read): ${heapAdvice(need)}`,
            );
          }
          const t = tables[db];
          if (t === undefined) throw new DbCountError(`snapshot ${m.id} has keys in db ${db} but this server has ${ks.dbs.length} databases (--dbnum)`);
          const before = t.size;
          t.put(t.segmentOf(key), key, value);
          if (t.size === before) throw new SnapshotFormatError('corrupt', `key written twice in db ${db}`, -1, -1);
          if (expireAt !== null) t.setExpiry(t.segmentOf(key), key, expireAt);
          keys++;
        },
      },
      progressReporter(progress, m.size, { snapshot: m.id }, 'loading snapshot', () => keys),
    );
    if (footer.sha256 !== m.checksum) throw new SnapshotFormatError('corrupt', `data checksum ${footer.sha256} differs from the manifest's ${m.checksum}`, footer.bytes, footer.frames - 1);
    if (header.seq !== m.seq) throw new SnapshotFormatError('corrupt', `data is snapshot seq ${header.seq}, manifest says ${m.seq}`, 0, 0);
    // The reader matched the footer's key counts to the keys it decoded; the manifest must say the same.
    const dbs = Math.max(footer.keys.length, m.keys.length);
    for (let i = 0; i < dbs; i++) {
      if ((footer.keys[i] ?? 0) !== (m.keys[i] ?? 0)) {
        throw new SnapshotFormatError('corrupt', `db ${i} has ${footer.keys[i] ?? 0} keys, the manifest says ${m.keys[i] ?? 0}`, footer.bytes, footer.frames - 1);
      }
    }
  } catch (e) {
    // Nothing is installed: the values these tables stored stop counting as used now.
    for (const t of tables) t.forget();
    throw e;
  }
  // Compiled before anything is installed: a library that no longer loads fails the load.
  const functions = await functionsSection.stage(functionCodes);
  if (typeof functions === 'string') throw new SnapshotFormatError('corrupt', `function library cannot be loaded: ${functions}`, 0, 0);
  for (let i = 0; i < tables.length; i++) ks.dbs[i].table = tables[i];
  heapGrewByLoad();
  return { functions, keys, expired, bytes: progress.loadedBytes, ms: Date.now() - t0 };
}
