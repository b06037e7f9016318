/**
 * Prometheus text exposition (format 0.0.4) of what INFO reports, under
 * Prometheus's naming rules: counters end in _total, sizes in _bytes,
 * times in _seconds. Values are read from the INFO sections themselves, so
 * the two can never disagree.
 */
import type { Server } from './server.js';
import { infoValues } from './info.js';
import { commandStats } from './dispatch.js';
import { BOOT_LOAD_RESULTS } from '../persistence/module.js';

type Kind = 'counter' | 'gauge';
/** INFO field -> [metric name, type, help, scale]. */
const FROM_INFO: [string, string, Kind, string, number?][] = [
  ['uptime_in_seconds', 'uptime_seconds', 'gauge', 'Seconds since the server started.'],
  ['connected_clients', 'connected_clients', 'gauge', 'Client connections open now.'],
  ['blocked_clients', 'blocked_clients', 'gauge', 'Clients waiting in a blocking command or CLIENT PAUSE.'],
  ['tracking_clients', 'tracking_clients', 'gauge', 'Clients with CLIENT TRACKING on.'],
  ['maxclients', 'max_clients', 'gauge', 'The maxclients limit.'],
  ['total_connections_received', 'connections_received_total', 'counter', 'Connections accepted.'],
  ['rejected_connections', 'connections_rejected_total', 'counter', 'Connections refused by maxclients.'],
  ['total_commands_processed', 'commands_processed_total', 'counter', 'Commands run.'],
  ['total_net_input_bytes', 'net_input_bytes_total', 'counter', 'Bytes read from clients.'],
  ['total_net_output_bytes', 'net_output_bytes_total', 'counter', 'Bytes written to clients.'],
  ['keyspace_hits', 'keyspace_hits_total', 'counter', 'Key lookups that found the key.'],
  ['keyspace_misses', 'keyspace_misses_total', 'counter', 'Key lookups that did not.'],
  ['expired_keys', 'expired_keys_total', 'counter', 'Keys removed because their TTL passed.'],
  ['evicted_keys', 'evicted_keys_total', 'counter', 'Keys evicted by maxmemory-policy.'],
  ['total_error_replies', 'error_replies_total', 'counter', 'Error replies sent.'],
  ['pubsub_channels', 'pubsub_channels', 'gauge', 'Channels with subscribers.'],
  ['used_memory', 'memory_used_bytes', 'gauge', 'Memory the dataset and server structures use (INFO used_memory).'],
  ['used_memory_rss', 'memory_rss_bytes', 'gauge', 'Resident set size of the process.'],
  ['used_memory_peak', 'memory_used_peak_bytes', 'gauge', 'Peak of used_memory.'],
  ['maxmemory', 'memory_max_bytes', 'gauge', 'The maxmemory limit (0: none).'],
  ['heap_size_limit', 'heap_limit_bytes', 'gauge', 'The JS heap limit the process runs with.'],
  ['loading', 'loading', 'gauge', '1 while the boot snapshot is being loaded.'],
  ['rdb_changes_since_last_save', 'snapshot_changes_since_last_save', 'gauge', 'Writes not yet in a snapshot.'],
  ['rdb_bgsave_in_progress', 'snapshot_in_progress', 'gauge', '1 while a background snapshot runs.'],
  ['rdb_last_save_time', 'snapshot_last_success_timestamp_seconds', 'gauge', 'Unix time of the last successful snapshot (or of the start).'],
  ['rdb_saves', 'snapshot_saves_total', 'counter', 'Snapshots started.'],
  ['rdb_last_load_keys_loaded', 'boot_keys_loaded', 'gauge', 'Keys the boot snapshot held.'],
  ['snapshot_last_size', 'snapshot_last_size_bytes', 'gauge', 'Size of the last committed snapshot.'],
  ['snapshot_last_duration_ms', 'snapshot_last_duration_seconds', 'gauge', 'Duration of the last committed snapshot.', 1 / 1000],
  ['snapshot_last_keys', 'snapshot_last_keys', 'gauge', 'Keys in the last committed snapshot.'],
  ['snapshot_failures', 'snapshot_failures_total', 'counter', 'Snapshots that failed (SAVE, BGSAVE, save rules, cron, shutdown; not those cancelled on purpose).'],
  ['snapshot_last_failure_time', 'snapshot_last_failure_timestamp_seconds', 'gauge', 'Unix time of the last failed snapshot (0: none since start).'],
  ['boot_load_ms', 'boot_load_duration_seconds', 'gauge', 'How long boot took to find and load its snapshot.', 1 / 1000],
  ['snapshot_fenced', 'snapshot_fenced', 'gauge', '1 while snapshots are fenced (writing them could overwrite history).'],
  ['snapshot_kept_unread', 'snapshot_kept_unread', 'gauge', 'Snapshots boot could not read and keeps for an operator.'],
  ['snapshot_orphans_removed', 'snapshot_orphans_removed_total', 'counter', 'Objects left by crashed saves, removed.'],
  ['snapshot_orphan_bytes_removed', 'snapshot_orphan_removed_bytes_total', 'counter', 'Bytes of objects left by crashed saves, removed.'],
  ['snapshot_orphans_pending', 'snapshot_orphans_pending', 'gauge', 'Objects left by crashed saves, still within the grace period.'],
];

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function metricsText(server: Server): string {
  const info = infoValues(server, ['server', 'clients', 'memory', 'persistence', 'stats']);
  const out: string[] = [];
  const family = (name: string, kind: Kind, help: string) => out.push(`# HELP damselfly_${name} ${help}`, `# TYPE damselfly_${name} ${kind}`);
  family('up', 'gauge', '1: the server answers.');
  out.push('damselfly_up 1');
  for (const [field, name, kind, help, scale] of FROM_INFO) {
    const v = info.get(field);
    if (v === undefined || v === '' || Number.isNaN(Number(v))) continue;
    family(name, kind, help);
    out.push(`damselfly_${name} ${Number(v) * (scale ?? 1)}`);
  }
  const status = info.get('rdb_last_bgsave_status');
  if (status !== undefined) {
    family('snapshot_last_status_ok', 'gauge', '1 if the last snapshot succeeded, 0 if it failed.');
    out.push(`damselfly_snapshot_last_status_ok ${status === 'ok' ? 1 : 0}`);
  }
  // An enum as Prometheus states them: one series per possible value, 1 for the one that holds.
  const boot = info.get('boot_load_result');
  if (boot !== undefined && boot !== '') {
    family('boot_load_result', 'gauge', "How boot's load ended: loaded (the newest snapshot), fallback (an unreadable newer snapshot or manifest was skipped), empty (nothing to load), fenced (boot raised the fence).");
    for (const r of BOOT_LOAD_RESULTS) out.push(`damselfly_boot_load_result{result="${r}"} ${boot === r ? 1 : 0}`);
  }
  // INFO's snapshot_locationN lines, one series per location (one with no --snapshot_replicas).
  const locs = [...info].filter(([k]) => /^snapshot_location\d+$/.test(k)).map(([, v]) => Object.fromEntries(String(v).split(',').map((kv) => kv.split('=', 2))));
  if (locs.length > 0) {
    const lbl = (l: Record<string, string>) => `location="${esc(l.location ?? '')}",role="${esc(l.role ?? '')}"`;
    family('snapshot_location_ok', 'gauge', "1 if the location holds the latest snapshot (status ok), 0 if it is behind, unread or failing.");
    for (const l of locs) out.push(`damselfly_snapshot_location_ok{${lbl(l)}} ${l.status === 'ok' ? 1 : 0}`);
    family('snapshot_location_last_commit_timestamp_seconds', 'gauge', 'Unix time of the last snapshot committed at the location.');
    for (const l of locs) out.push(`damselfly_snapshot_location_last_commit_timestamp_seconds{${lbl(l)}} ${Number(l.last_commit_time) || 0}`);
    family('snapshot_location_caught_up_total', 'counter', 'Snapshots copied to the location after it missed them.');
    for (const l of locs) out.push(`damselfly_snapshot_location_caught_up_total{${lbl(l)}} ${Number(l.caught_up) || 0}`);
  }
  for (const [field, name, help] of [['snapshot_split_brain', 'snapshot_split_brain', '1 if boot found diverged histories (the server then starts fenced).'], ['snapshot_catchup_pending', 'snapshot_catchup_pending', 'Locations waiting for a snapshot copy.']] as const) {
    const v = info.get(field);
    if (v === undefined) continue;
    family(name, 'gauge', help);
    out.push(`damselfly_${name} ${Number(v) || 0}`);
  }
  family('db_keys', 'gauge', 'Keys per database.');
  for (const db of server.ks.dbs) if (db.size > 0) out.push(`damselfly_db_keys{db="${db.id}"} ${db.size}`);
  family('db_expiring_keys', 'gauge', 'Keys with a TTL per database.');
  for (const db of server.ks.dbs) if (db.size > 0) out.push(`damselfly_db_expiring_keys{db="${db.id}"} ${db.table.expiresCount}`);
  const stats = [...commandStats()].filter(([, s]) => s.calls + s.failed + s.rejected > 0);
  family('command_calls_total', 'counter', 'Calls per command.');
  for (const [cmd, s] of stats) out.push(`damselfly_command_calls_total{cmd="${esc(cmd)}"} ${s.calls}`);
  family('command_duration_seconds_total', 'counter', 'Time spent per command.');
  for (const [cmd, s] of stats) out.push(`damselfly_command_duration_seconds_total{cmd="${esc(cmd)}"} ${s.usec / 1e6}`);
  family('command_failed_calls_total', 'counter', 'Calls per command that answered an error.');
  for (const [cmd, s] of stats) out.push(`damselfly_command_failed_calls_total{cmd="${esc(cmd)}"} ${s.failed}`);
  family('command_rejected_calls_total', 'counter', 'Calls per command refused before running (arity, OOM, MISCONF...).');
  for (const [cmd, s] of stats) out.push(`damselfly_command_rejected_calls_total{cmd="${esc(cmd)}"} ${s.rejected}`);
  return out.join('\n') + '\n';
}
