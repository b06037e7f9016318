/**
 * Wires snapshots into the server: parameters, the boot step that loads the
 * newest snapshot, the save rules and cron schedule, the shutdown save, and
 * INFO persistence.
 */
import { Cron } from 'croner';
import { defineParam, getBool, getInt, getString } from '../config/params.js';
import { log } from '../log.js';
import { bootSteps, shutdownSteps } from '../server/lifecycle.js';
import { registerInfoSection } from '../server/info.js';
import type { Server } from '../server/server.js';
import { selectBackend } from './boot.js';
import { listProblemSeqs, safeBoot } from './safe-boot.js';
import type { BootLoadResult } from './boot.js';
import type { KeptEntry } from './kept.js';
import { onGraceChange, orphanGraceMs } from './orphans.js';
import { fenceCause, fenced, fenceMessage, raiseFence, registerFenceInfo, setLiftCheck } from './fence.js';
import { parseSaveRules, persistence, Persistence, savingConfigured, setPersistence } from './snapshotter.js';
import { BootError } from './boot.js';
import { replicaSetFromFlags, type ReplicaSet } from '../replicas/replica-set.js';
import { bootFromReplicas } from '../replicas/boot.js';
import { singleLocationOrder } from '../replicas/single.js';
import { liftReplicaFence } from '../replicas/lift.js';
import { lineage } from '../replicas/lineage.js';
import { registerReplicaInfo, setReplicaInfo } from '../replicas/info.js';

defineParam({
  name: 'save',
  type: 'string',
  default: '3600 1 300 100 60 10000',
  mutable: true,
  help: 'save rules: "<seconds> <changes>" pairs; a snapshot is taken when a pair is met ("" disables)',
  validate: (v) => (parseSaveRules(v) === null ? 'Invalid save parameters' : null),
  onChange: () => persistence()?.refreshMisconf(),
});
defineParam({
  name: 'snapshot_cron',
  type: 'string',
  default: '',
  mutable: true,
  help: 'cron schedule for snapshots, e.g. "*/30 * * * *" ("" disables)',
  validate: (v) => {
    if (v.trim() === '') return null;
    try {
      new Cron(v, { paused: true }).stop();
      return null;
    } catch (e) {
      return `invalid cron expression: ${(e as Error).message}`;
    }
  },
  onChange: () => {
    rescheduleCron();
    persistence()?.refreshMisconf();
  },
});
defineParam({ name: 'snapshot_keep', type: 'int', default: '5', min: 0, max: 1000000, mutable: true, help: 'complete snapshots to keep; older ones are deleted after a newer one is committed (0: keep all)' });
defineParam({
  name: 'stop-writes-on-bgsave-error',
  type: 'bool',
  default: 'yes',
  mutable: true,
  help: 'refuse writes (MISCONF) after a failed snapshot until one succeeds',
  onChange: () => persistence()?.refreshMisconf(),
});

let cronJob: Cron | null = null;

/**
 * How boot's load ended, for INFO and /metrics: 'loaded' (the newest
 * snapshot), 'fallback' (loaded, but a newer snapshot or a manifest could
 * not be read and was skipped), 'empty' (nothing to load), 'fenced' (boot
 * raised the fence: nothing readable, or split brain). A strict boot that
 * refuses exits instead, so has no result.
 */
export const BOOT_LOAD_RESULTS = ['loaded', 'fallback', 'empty', 'fenced'] as const;
const bootLoad: { result: (typeof BOOT_LOAD_RESULTS)[number] | ''; ms: number } = { result: '', ms: 0 };

function rescheduleCron(): void {
  cronJob?.stop();
  cronJob = null;
  const p = persistence();
  const expr = getString('snapshot_cron').trim();
  if (p === null || expr === '') return;
  cronJob = new Cron(expr, { protect: true }, () => {
    if (p.inProgress || p.loading.active || p.server.loading) return;
    p.start('snapshot_cron').catch(() => {});
  });
  log.info({ cron: expr, next: cronJob.nextRun()?.toISOString() }, 'snapshot schedule set');
}

export { savingConfigured };

/** --dir plus --snapshot_replicas as a ReplicaSet, or null for one location; a bad flag stops start-up in one line. */
function replicasFromFlags(): ReplicaSet | null {
  try {
    return replicaSetFromFlags();
  } catch (e) {
    log.fatal((e as Error).message);
    throw new BootError((e as Error).message);
  }
}

bootSteps.push(async (server: Server) => {
  const replicas = replicasFromFlags();
  const backend = replicas ?? selectBackend(getString('dir'));
  const p = new Persistence(server, backend);
  p.replicas = replicas;
  setReplicaInfo(replicas);
  setPersistence(p);
  // --snapshot_fence=yes at start-up: an operator wants the server up without saving or deleting anything.
  if (getBool('snapshot-fence')) raiseFence('set at start-up with --snapshot_fence');
  p.loading.active = true;
  let r: BootLoadResult | null;
  const loadStarted = performance.now();
  const causeBefore = fenced() ? fenceCause() : null;
  try {
    const strict = getBool('snapshot-strict');
    const opts = { strict, progress: p.loading, timeoutMs: getInt('snapshot_load_timeout') * 1000, order: singleLocationOrder(strict) };
    r = replicas !== null ? await bootFromReplicas(replicas, server.ks, opts) : await safeBoot(backend, server.ks, opts);
    // The next snapshot's vector dominates what was loaded.
    if (r !== null && replicas === null) lineage.adopt(r.manifest, r.manifest.id);
    // What folding may rely on (every live manifest); replica boot sets it from all locations.
    if (replicas === null) lineage.setLive(await backend.list().catch(() => null));
    if (r !== null) {
      p.seq = Math.max(r.maxSeq, ...listProblemSeqs(backend));
      p.loading.keys = r.result.keys;
      p.loading.expired = r.result.expired;
      log.info(
        { snapshot: r.manifest.id, seq: r.manifest.seq, keys: r.result.keys, expiredDropped: r.result.expired, bytes: r.result.bytes, ms: r.result.ms },
        'snapshot loaded',
      );
    }
  } catch (e) {
    log.fatal({ location: backend.location }, (e as Error).message);
    throw e;
  } finally {
    p.loading.active = false;
  }
  bootLoad.ms = performance.now() - loadStarted;
  bootLoad.result = fenced() && fenceCause() !== causeBefore ? 'fenced' : r === null ? 'empty' : r.skipped.length > 0 || p.backend.damaged.length > 0 ? 'fallback' : 'loaded';
  keepWhatBootCouldNotRead(p, r);
  // What crashed saves left, removed only when provably dead (src/persistence/orphans.ts); serving does not wait for it.
  if (!fenced()) void p.orphans.run('boot');
  replicas?.runOrphans('boot');
  onGraceChange(() => {
    if (!fenced()) void p.orphans.run('--snapshot_orphan_grace changed');
    replicas?.runOrphans('--snapshot_orphan_grace changed');
  });
  // Loading changed nothing that needs saving again.
  server.ks.dirty = 0;
  p.lastSave = Math.floor(Date.now() / 1000);
  // Before a lifted fence lets saves run: the next seq must be above every snapshot there, read or not.
  setLiftCheck(async () => {
    if (replicas !== null) {
      await liftReplicaFence(replicas, p);
      setTimeout(() => {
        void p.orphans.run('snapshot fence lifted');
        replicas.runOrphans('snapshot fence lifted');
      }, 0).unref();
      return;
    }
    const all = await backend.list();
    p.seq = Math.max(p.seq, all[0]?.seq ?? 0, ...listProblemSeqs(backend));
    lineage.adoptAll(all, lineage.parentId);
    // Once the fence is down (right after this check), what the fence kept from being collected.
    setTimeout(() => void p.orphans.run('snapshot fence lifted'), 0).unref();
  });
  server.cronJobs.push(() => p.cron());
  rescheduleCron();
});

/** Boot skipped or could not parse these: say so, and keep them from retention and orphan collection. */
function keepWhatBootCouldNotRead(p: Persistence, r: BootLoadResult | null): void {
  const entries: KeptEntry[] = [
    ...(r?.skipped ?? []).map((s) => ({ id: s.manifest.id, seq: s.manifest.seq, reason: s.reason })),
    ...p.backend.damaged.map((d) => ({ manifest: d.name, reason: d.reason })),
  ];
  if (entries.length === 0) return;
  p.kept.add(entries);
  log.warn(
    { location: p.backend.location, kept: p.kept.reasons() },
    `KEEPING ${entries.length} snapshot(s) boot could not read, and every data object no manifest names: retention and orphan collection will not delete them. ` +
      'Inspect with `damselfly snapshots ls`; remove one with `damselfly snapshots rm` once it is no longer needed.',
  );
}

shutdownSteps.push(async (_server, opts) => {
  const p = persistence();
  if (p === null) return;
  cronJob?.stop();
  p.orphans.stop();
  p.replicas?.stop();
  // As Redis kills its saving child: a background save must neither commit
  // after the final snapshot nor keep the exit waiting.
  if (p.cancelBackground('SHUTDOWN')) await p.idle();
  const save = opts.save ?? savingConfigured();
  // Never write a snapshot of a half-loaded dataset.
  if (!save || p.loading.active) return;
  if (fenced()) {
    if (opts.save === true) throw new Error(fenceMessage());
    log.warn('snapshots are fenced: exiting without the final snapshot');
    return;
  }
  log.info('saving the final snapshot before exiting');
  await p.idle();
  try {
    await p.start('shutdown', 'internal');
  } catch (e) {
    log.error({ err: e }, 'error trying to save the DB, can\'t exit');
    throw e;
  }
});

registerInfoSection('persistence', 'Persistence', (server) => {
  const p = persistence();
  const loading = server.loading || (p?.loading.active ?? false);
  const job = p?.job ?? null;
  const bg = p?.backgroundInProgress ? job : null;
  const now = Date.now();
  const f: [string, string | number][] = [
    ['loading', loading ? 1 : 0],
    ['async_loading', 0],
    ['current_cow_peak', 0],
    ['current_cow_size', 0],
    ['current_cow_size_age', 0],
    ['current_fork_perc', job ? ((job.keysDone / Math.max(1, job.keysTotal)) * 100).toFixed(2) : '0.00'],
    ['current_save_keys_processed', job?.keysDone ?? 0],
    ['current_save_keys_total', job?.keysTotal ?? 0],
  ];
  f.push(
    ['rdb_changes_since_last_save', server.ks.dirty],
    // A foreground save (SAVE, FLUSHALL's) is no bgsave, as in Redis.
    ['rdb_bgsave_in_progress', bg ? 1 : 0],
    ['rdb_last_save_time', p?.lastSave ?? Math.floor(server.stats.startTime / 1000)],
    ['rdb_last_bgsave_status', p === null || p.lastStatusOk ? 'ok' : 'err'],
    ['rdb_last_bgsave_time_sec', p?.lastBgsaveTimeSec ?? -1],
    ['rdb_current_bgsave_time_sec', bg ? Math.floor((now - bg.startedAt) / 1000) : -1],
    ['rdb_saves', p?.saves ?? 0],
    ['rdb_last_cow_size', 0],
    ['rdb_last_load_keys_expired', p?.loading.expired ?? 0],
    ['rdb_last_load_keys_loaded', p?.loading.keys ?? 0],
    ['aof_enabled', 0],
    ['aof_rewrite_in_progress', 0],
    ['aof_rewrite_scheduled', 0],
    ['aof_last_rewrite_time_sec', -1],
    ['aof_current_rewrite_time_sec', -1],
    ['aof_last_bgrewrite_status', 'ok'],
    ['aof_rewrites', 0],
    ['aof_rewrites_consecutive_failures', 0],
    ['aof_last_write_status', 'ok'],
    ['aof_last_cow_size', 0],
    ['module_fork_in_progress', 0],
    ['module_fork_last_cow_size', 0],
  );
  // Redis lists the loading fields after the AOF and module ones.
  if (loading && p) {
    const l = p.loading;
    const elapsed = Math.max(0.001, (now - l.startTime) / 1000);
    const perc = l.totalBytes > 0 ? (l.loadedBytes / l.totalBytes) * 100 : 0;
    const rate = l.loadedBytes / elapsed;
    const eta = rate > 0 ? Math.ceil((l.totalBytes - l.loadedBytes) / rate) : 1;
    f.push(
      ['loading_start_time', Math.floor(l.startTime / 1000)],
      ['loading_total_bytes', l.totalBytes],
      ['loading_rdb_used_mem', 0],
      ['loading_loaded_bytes', l.loadedBytes],
      ['loading_loaded_perc', perc.toFixed(2)],
      ['loading_eta_seconds', Math.max(1, eta)],
    );
  }
  f.push(
    ['snapshot_location', p?.backend.location ?? ''],
    ['snapshot_last_id', p?.last?.id ?? ''],
    ['snapshot_last_size', p?.last?.size ?? 0],
    ['snapshot_last_duration_ms', p?.last?.durationMs ?? -1],
    ['snapshot_last_keys', p?.last?.keys ?? 0],
    ['snapshot_failures', p?.failures ?? 0],
    ['snapshot_last_failure_time', p?.lastFailureTime ?? 0],
    ['boot_load_result', bootLoad.result],
    ['boot_load_ms', Math.round(bootLoad.ms)],
    ['snapshot_seq', p?.seq ?? 0],
    ['snapshot_keep', getString('snapshot_keep')],
    ['snapshot_cron', getString('snapshot_cron')],
    ['snapshot_kept_unread', p?.kept.size ?? 0],
    ['snapshot_kept_unread_reason', (p?.kept.reasons().join('; ') ?? '').replace(/[\r\n]+/g, ' ').slice(0, 400)],
    ['snapshot_orphan_grace_sec', Math.round(orphanGraceMs() / 1000)],
    ['snapshot_orphans_removed', p?.orphans.stats.removed ?? 0],
    ['snapshot_orphan_bytes_removed', p?.orphans.stats.bytesRemoved ?? 0],
    ['snapshot_orphans_pending', p?.orphans.stats.pending ?? 0],
    ['snapshot_orphan_bytes_pending', p?.orphans.stats.bytesPending ?? 0],
    ['snapshot_orphan_last_scan', Math.floor((p?.orphans.stats.lastScan ?? 0) / 1000)],
    ['snapshot_orphan_last_error', p?.orphans.stats.lastError ?? ''],
  );
  return f;
});

registerFenceInfo();
registerReplicaInfo();
