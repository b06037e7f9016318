/**
 * DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save a snapshot, empty the
 * dataset and load the snapshot back, through the same verified loader as
 * boot (into staging tables, installed only once the footer checked out).
 *
 * As Redis 7.0:
 *  - NOSAVE loads the newest committed snapshot instead of saving first;
 *  - NOFLUSH keeps the current keys and adds the snapshot's;
 *  - MERGE lets a snapshot key replace a current one of the same name.
 * Differences, deliberate:
 *  - NOFLUSH without MERGE and a key in both: Redis panics ("Duplicated key
 *    found in RDB file"); we refuse with the load error and change nothing.
 *  - A load that fails (damaged snapshot, none with NOSAVE) leaves the
 *    dataset as it was; Redis would have flushed it already.
 *  - Redis blocks everyone while saving; here other clients get -LOADING
 *    from the start of the save until the load is installed (Redis gives
 *    them -LOADING while it loads), so no write can slip in between the save
 *    and the install and be lost.
 */
import { Keyspace } from '../keyspace/keyspace.js';
import type { KeyTable, Segment } from '../keyspace/table.js';
import { log } from '../log.js';
import type { Manifest } from '../storage/backend.js';
import { loadSnapshot, type LoadResult } from './loader.js';
import type { Persistence } from './snapshotter.js';

export interface ReloadOptions {
  save: boolean;
  flush: boolean;
  merge: boolean;
}

/** What DEBUG RELOAD answers: null for +OK, else the error text. */
export type ReloadOutcome = string | null;

export const RELOAD_LOAD_ERROR = 'ERR Error trying to load the RDB dump';

function segmentsOf(t: KeyTable): Set<Segment> {
  // Directory slots alias segments after splits: each once.
  return new Set(t.dir);
}

export async function debugReload(p: Persistence, opts: ReloadOptions): Promise<ReloadOutcome> {
  const server = p.server;
  const ks = server.ks;
  server.loading = true;
  try {
    let m: Manifest;
    if (opts.save) {
      // Redis's foreground save runs beside a BGSAVE child; ours run one at a time.
      await p.idle();
      try {
        m = await p.start('DEBUG RELOAD', 'internal');
      } catch {
        return 'ERR';
      }
    } else {
      let newest: Manifest | undefined;
      try {
        newest = (await p.backend.list())[0];
      } catch (e) {
        log.error({ err: e, location: p.backend.location }, 'DEBUG RELOAD: cannot list snapshots');
        return RELOAD_LOAD_ERROR;
      }
      if (newest === undefined) {
        log.error({ location: p.backend.location }, 'DEBUG RELOAD NOSAVE: no snapshot to load');
        return RELOAD_LOAD_ERROR;
      }
      m = newest;
    }
    const staging = new Keyspace(ks.dbs.length);
    let res: LoadResult;
    p.loading.active = true;
    try {
      res = await loadSnapshot(p.backend, m, staging, p.loading);
    } catch (e) {
      log.error({ err: e, snapshot: m.id, seq: m.seq }, 'DEBUG RELOAD: the snapshot could not be loaded; the dataset is unchanged');
      return RELOAD_LOAD_ERROR;
    } finally {
      p.loading.active = false;
    }
    const dirty = ks.dirty;
    if (opts.flush) {
      res.functions.install('replace-all');
      for (let i = 0; i < ks.dbs.length; i++) {
        ks.dbs[i].flush();
        ks.dbs[i].table = staging.dbs[i].table;
      }
    } else {
      // Check every key first: a refused merge changes nothing.
      if (!opts.merge) {
        for (let i = 0; i < ks.dbs.length; i++) {
          const cur = ks.dbs[i].table;
          for (const seg of segmentsOf(staging.dbs[i].table)) {
            let clash = false;
            seg.forEachKeyName((k) => {
              if (cur.has(cur.segmentOf(k), k)) clash = true;
            });
            if (clash) {
              log.error({ db: i, snapshot: m.id }, 'DEBUG RELOAD NOFLUSH: a key of the snapshot exists already (MERGE would replace it); nothing loaded');
              return RELOAD_LOAD_ERROR;
            }
          }
        }
      }
      // Libraries as keys: NOFLUSH refuses one that exists, MERGE replaces it.
      const fnErr = res.functions.install(opts.merge ? 'merge' : 'add');
      if (fnErr !== null) {
        log.error({ snapshot: m.id, error: fnErr }, 'DEBUG RELOAD NOFLUSH: a function library of the snapshot cannot be added; nothing loaded');
        return RELOAD_LOAD_ERROR;
      }
      for (let i = 0; i < ks.dbs.length; i++) {
        const db = ks.dbs[i];
        for (const seg of segmentsOf(staging.dbs[i].table)) {
          seg.forEachKey((k, v, at) => db.set(k, v, false, at));
        }
      }
    }
    // Loading is not a change to save (Redis leaves the dirty counter alone).
    ks.dirty = dirty;
    p.loading.keys = res.keys;
    p.loading.expired = res.expired;
    log.warn({ snapshot: m.id, seq: m.seq, keys: res.keys, ...opts }, 'DB reloaded by DEBUG RELOAD');
    return null;
  } finally {
    server.loading = false;
  }
}
