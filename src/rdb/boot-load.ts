/**
 * Migration in: at boot, when the snapshot location holds no snapshot of
 * this server but --dbfilename names a Redis RDB file there (dump.rdb in
 * --dir, or prefix/dump.rdb in S3), load it. The next save writes the
 * native format beside it; the RDB file itself is never changed or removed.
 *
 * As for a native snapshot the load is all or nothing: keys go into staging
 * tables installed only after the whole file, its checksum included, has
 * been read. A damaged file stops start-up under --snapshot_strict; without
 * it the server starts empty and fenced (nothing is saved over the data it
 * could not read) — safe-boot.ts's rules for a damaged snapshot.
 */
import type { Readable } from 'node:stream';
import { KeyTable, WARM_MAX } from '../keyspace/table.js';
import { hashKey } from '../keyspace/hash.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Manifest, SnapshotBackend } from '../storage/backend.js';
import { SnapshotFormatError } from '../snapshot/format.js';
import { functionsSection } from '../snapshot/functions-section.js';
import { DbCountError, progressReporter, type LoadProgress } from '../persistence/loader.js';
import type { BootLoadResult } from '../persistence/boot.js';
import { StrictRefusal } from '../persistence/boot.js';
import { heapAdvice, HeapTooSmallError, refuseThreshold, roomToGrow } from '../memory/heap.js';
import { getString } from '../config/params.js';
import type { Value } from '../types/value.js';
import { log } from '../log.js';
import { readRdb, RdbFileError } from './file-reader.js';
import { accessMeta } from './access-meta.js';
import { heapGrewByLoad } from '../memory/usage.js';

/**
 * Slots per staged key: its hash, key and value (as the table will hold
 * them: a store handle or a reference, numbers), db, expiry, access meta
 * (NaN: a new key's). Numbers only, in arrays made of doubles: a reference
 * (2^32 and up) in an array of tagged words would be a heap number per key,
 * and the array a thing for the GC to read.
 */
const STAGED = 6;
/**
 * Keys per staging chunk. Fixed-size chunks allocated whole (640 KB: V8 puts
 * them straight into the old generation's large-object space) instead of one
 * array grown by push: growing copied every slot written so far about three
 * times over, 25% of a 1M-key staging loop in isolation.
 */
const CHUNK_KEYS = 16384;
/** Keys between two looks at the heap while loading. */
const HEAP_CHECK_KEYS = 16384;

/** The RDB file --dbfilename names, if it names one (Redis's dump.rdb, Dragonfly's *.rdb). */
export function rdbFileName(): string | null {
  const name = getString('dbfilename');
  return /\.rdb$/i.test(name) && !name.includes('{timestamp}') ? name : null;
}

/** A damaged RDB file, classified by boot like a damaged snapshot. */
export class RdbDamagedError extends SnapshotFormatError {
  constructor(message: string, offset: number) {
    super('corrupt', message, offset, 0);
    this.message = message;
  }
}

export interface RdbLoadResult {
  keys: number;
  expired: number;
  emptySkipped: number;
  bytes: number;
  ms: number;
  functions: string[];
  aux: Record<string, string>;
}

/**
 * Read an RDB stream into fresh tables and, only if all of it is good,
 * install them in ks. Throws RdbFileError (damage), DbCountError, HeapTooSmallError.
 */
export async function loadRdbInto(data: Readable, size: number, ks: Keyspace, progress: LoadProgress, what: string): Promise<RdbLoadResult> {
  const t0 = Date.now();
  progress.startTime = t0;
  progress.totalBytes = size;
  progress.loadedBytes = 0;
  if (size > refuseThreshold()) {
    throw new HeapTooSmallError(`${what} (${size} bytes) cannot fit in the heap once loaded: ${heapAdvice(size)}`);
  }
  const tables: (KeyTable | undefined)[] = new Array(ks.dbs.length);
  const table = (db: number, hint = 0): KeyTable => {
    if (db >= ks.dbs.length) throw new DbCountError(`${what} has keys in db ${db} but this server has ${ks.dbs.length} databases (--dbnum)`);
    return (tables[db] ??= new KeyTable(Math.min(hint, size / 8)));
  };
  let keys = 0;
  let expired = 0;
  let emptySkipped = 0;
  const functions: string[] = [];
  /** hash, key, value, db, expireAt (NaN: none), access meta (NaN: fresh), per key read, CHUNK_KEYS keys a chunk. */
  const chunks: number[][] = [];
  let chunk: number[] = [];
  let at = STAGED * CHUNK_KEYS;
  const aux: Record<string, string> = {};
  const now = Date.now();
  let summary: Awaited<ReturnType<typeof readRdb>>;
  try {
    summary = await readRdb(
      data,
      {
        aux: (k, v) => (aux[k] = v),
        resizeDb: (db, n) => void table(db, n),
        library: (code) => functions.push(code),
        emptyKey: (db, key) => {
          if (emptySkipped++ < 10) log.warn({ db, key }, 'RDB file has an empty key: skipped, as Redis does');
        },
        key(db, key, value, expireAt, idle, freq) {
          // A key already expired is not loaded (a master's rdbLoad).
          if (expireAt !== null && expireAt < now) {
            expired++;
            return;
          }
          if (keys % HEAP_CHECK_KEYS === HEAP_CHECK_KEYS - 1 && !roomToGrow()) {
            const need = (process.memoryUsage().heapUsed / Math.max(progress.loadedBytes, 1)) * size;
            throw new HeapTooSmallError(`${what} filled the heap after ${keys} keys (${progress.loadedBytes} of ${size} bytes read): ${heapAdvice(need)}`);
          }
          const t = tables[db] ?? table(db);
          if (at === STAGED * CHUNK_KEYS) {
            // fill(0.5): doubles from the start (V8 never turns them back into tagged words).
            chunks.push((chunk = new Array<number>(STAGED * CHUNK_KEYS).fill(0.5)));
            at = 0;
          }
          // As an int32: a hash of 2^31 or more would be a heap number per key (not a Smi).
          chunk[at] = hashKey(key) | 0;
          chunk[at + 1] = t.stageKey(key);
          chunk[at + 2] = t.stage(value);
          chunk[at + 3] = db;
          chunk[at + 4] = expireAt ?? NaN;
          chunk[at + 5] = (idle >= 0 || freq >= 0 ? accessMeta(freq, idle) : null) ?? NaN;
          at += STAGED;
          keys++;
        },
      },
      progressReporter(progress, size, { file: what }, 'loading RDB file', () => keys),
    );
    if (summary.bytes !== size && size > 0) throw new RdbFileError(summary.bytes, `${size - summary.bytes} bytes after the end of the RDB data`, false);
    // Into the tables only now, after the whole file: inserting each key as
    // it is read (in Redis's hash order, all over the table) made every young
    // collection scan pointers from the whole table to new strings, tripling
    // the load time. Keys and most values wait as handles in the tables'
    // stores (numbers), so a young collection has little to copy meanwhile.
    // They land all over the table: warm each batch's slots first (KeyTable.warm).
    for (let c = 0; c < chunks.length; c++) {
      const staged = chunks[c];
      const end = c === chunks.length - 1 ? at : staged.length;
      for (let i = 0; i < end; i += STAGED) {
        const db = staged[i + 3];
        const t = tables[db] ?? table(db);
        if (i % (STAGED * WARM_MAX) === 0) t.warmStaged(staged, i, end, STAGED);
        const meta = staged[i + 5];
        if (!t.putStagedKey(staged[i] >>> 0, staged[i + 1], staged[i + 2], staged[i + 4], meta === meta ? meta : null)) {
          throw new RdbFileError(summary.bytes, `key '${t.stagedKeyName(staged[i + 1]).slice(0, 64)}' written twice in db ${db}`, false);
        }
      }
      chunks[c] = []; // its keys and values are in the tables now: let the chunk go
    }
  } catch (e) {
    // Nothing is installed: the values these tables stored stop counting as used now.
    for (const t of tables) t?.forget();
    throw e;
  }
  for (let i = 0; i < ks.dbs.length; i++) ks.dbs[i].table = tables[i] ?? new KeyTable();
  heapGrewByLoad();
  return { keys, expired, emptySkipped, bytes: summary.bytes, ms: Date.now() - t0, functions, aux };
}

/**
 * The boot hook: null when --dbfilename names no RDB file or the location
 * has none; else the keyspace is loaded from it (functions installed).
 */
export async function loadRdbAtBoot(backend: SnapshotBackend, ks: Keyspace, opts: { strict: boolean; progress: LoadProgress }): Promise<BootLoadResult | null> {
  const name = rdbFileName();
  if (name === null || backend.openNamed === undefined) return null;
  const found = await backend.openNamed(name);
  if (found === null) return null;
  const what = `RDB file ${name} in ${backend.location}`;
  log.info({ file: name, location: backend.location, bytes: found.size }, 'no snapshot of this server yet: loading the Redis RDB file --dbfilename names');
  try {
    const r = await loadRdbInto(found.data, found.size, ks, opts.progress, what);
    // Compiled and installed before data is served, as a snapshot's libraries are.
    const staged = await functionsSection.stage(r.functions);
    if (typeof staged === 'string') throw new RdbFileError(0, `function library cannot be loaded: ${staged}`, false);
    const err = staged.install('replace-all');
    if (err !== null) throw new RdbFileError(0, `function library cannot be loaded: ${err}`, false);
    log.info({ file: name, keys: r.keys, expiredDropped: r.expired, emptySkipped: r.emptySkipped, functions: r.functions.length, bytes: r.bytes, ms: r.ms, redisVersion: r.aux['redis-ver'] }, 'RDB file loaded; the next save writes a native snapshot');
    const manifest: Manifest = { format: 1, id: name, seq: 0, createdAt: Date.now(), serverId: 'redis-rdb', dataName: name, size: found.size, checksum: '', keys: ks.dbs.map((d) => d.size) };
    return { manifest, result: { functions: { install: () => null }, keys: r.keys, expired: r.expired, bytes: r.bytes, ms: r.ms }, skipped: [], maxSeq: 0 };
  } catch (e) {
    found.data.destroy();
    if (!(e instanceof RdbFileError)) throw e;
    if (opts.strict) {
      throw new StrictRefusal(
        `${what} cannot be loaded: ${e.message}. Refusing to start (--snapshot_strict); with --nosnapshot_strict the server would start empty and fenced (saving nothing until an operator lifts the fence), keeping ${name} as it is.`,
        { cause: e },
      );
    }
    throw new RdbDamagedError(`${what} cannot be loaded: ${e.message}`, e.offset);
  }
}
