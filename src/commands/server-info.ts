/**
 * The INFO sections the server itself knows (server, clients, memory, stats,
 * replication, cpu, modules, commandstats, errorstats, cluster, keyspace),
 * with Redis's field names so tools that parse INFO work unchanged.
 * "persistence" comes from the snapshot module through the same registry.
 */
import { lazyfreedObjects } from '../memory/lazyfree.js';
import { scriptingMemoryInfo } from '../scripting/info.js';
import os from 'node:os';
import path from 'node:path';
import { registerInfoSection, type InfoFields } from '../server/info.js';
import { bootSteps } from '../server/lifecycle.js';
import { blockedCount } from '../server/blocking.js';
import { postponedCount } from '../server/pause.js';
import { trackingInfo } from '../server/tracking.js';
import { commandStats } from '../server/dispatch.js';
import { errorStats, errorStatsFields } from '../server/error-stats.js';
import { getInt, getString } from '../config/params.js';
import { VERSION } from '../version.js';
import type { Server } from '../server/server.js';
import { memoryFacts, memoryOverhead, resetPeak } from '../memory/usage.js';
import { evictionExceededTime } from '../memory/evict.js';
import { tooFewReplicas } from '../server/min-replicas.js';

const replId = Array.from({ length: 40 }, () => '0123456789abcdef'[(Math.random() * 16) | 0]).join('');

/** Rolling samples for instantaneous_* (Redis keeps 16, taken every 100 ms). */
const SAMPLES = 16;
interface Sampler {
  last: number;
  lastT: number;
  samples: number[];
  idx: number;
}
const newSampler = (): Sampler => ({ last: 0, lastT: Date.now(), samples: new Array(SAMPLES).fill(0), idx: 0 });
const samplers = { ops: newSampler(), netIn: newSampler(), netOut: newSampler() };

function sample(s: Sampler, value: number, now: number): void {
  const dt = now - s.lastT;
  if (dt < 100) return;
  s.samples[s.idx] = ((value - s.last) * 1000) / dt;
  s.idx = (s.idx + 1) % SAMPLES;
  s.last = value;
  s.lastT = now;
}
const avg = (s: Sampler) => s.samples.reduce((a, b) => a + b, 0) / SAMPLES;

export { usedMemory } from '../memory/usage.js';

/** CONFIG RESETSTAT: the peak and the rates start over. */
export function resetInfoStats(): void {
  resetPeak();
  for (const s of Object.values(samplers)) {
    s.samples.fill(0);
    s.last = 0;
  }
}

// The samplers need the server, which exists once boot runs.
bootSteps.push(async (server) => {
  server.cronJobs.push(() => {
    const now = Date.now();
    const st = server.stats;
    sample(samplers.ops, st.commands, now);
    sample(samplers.netIn, st.netInputBytes, now);
    sample(samplers.netOut, st.netOutputBytes, now);
  });
});

/** Redis's bytesToHuman: 1.50K, 2.00M ... */
export function human(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(2)}${units[i]}`;
}

const startMono = performance.now();

registerInfoSection('server', 'Server', (server) => {
  const up = Math.floor((performance.now() - startMono) / 1000);
  const flagfile = getString('flagfile');
  return [
    ['redis_version', VERSION.redis],
    ['damselfly_version', VERSION.damselfly],
    ['redis_git_sha1', '00000000'],
    ['redis_git_dirty', 0],
    ['redis_build_id', '0'],
    ['redis_mode', 'standalone'],
    ['os', `${os.type()} ${os.release()} ${os.machine()}`],
    ['arch_bits', process.arch.endsWith('64') ? 64 : 32],
    ['monotonic_clock', 'POSIX clock_gettime'],
    ['multiplexing_api', 'libuv'],
    ['atomicvar_api', 'c11-builtin'],
    ['gcc_version', '0.0.0'],
    ['node_version', process.versions.node],
    ['process_id', process.pid],
    ['process_supervised', 'no'],
    ['run_id', server.runId],
    ['tcp_port', server.port],
    ['server_time_usec', Date.now() * 1000],
    ['uptime_in_seconds', up],
    ['uptime_in_days', Math.floor(up / 86400)],
    ['hz', getInt('hz')],
    ['configured_hz', getInt('hz')],
    ['lru_clock', Math.floor(Date.now() / 1000) & 0xffffff],
    ['executable', path.resolve(process.argv[1] ?? '')],
    ['config_file', flagfile === '' ? '' : path.resolve(flagfile)],
    ['io_threads_active', 0],
  ];
});

registerInfoSection('clients', 'Clients', (server) => {
  let maxIn = 0;
  let maxOut = 0;
  for (const c of server.clients.values()) {
    maxIn = Math.max(maxIn, c.parser.buffered);
    maxOut = Math.max(maxOut, c.socket.writableLength);
  }
  return [
    ['connected_clients', server.clients.size],
    ['cluster_connections', 0],
    ['maxclients', getInt('maxclients')],
    ['client_recent_max_input_buffer', maxIn],
    ['client_recent_max_output_buffer', maxOut],
    ['blocked_clients', blockedCount() + postponedCount()],
    ['tracking_clients', trackingInfo().clients],
    ['clients_in_timeout_table', blockedCount()],
  ];
});

registerInfoSection('memory', 'Memory', () => {
  const f = memoryFacts();
  const used = f.used;
  const o = memoryOverhead(f);
  const total = os.totalmem();
  const maxmem = getInt('maxmemory');
  const pct = (a: number, b: number) => `${((a * 100) / Math.max(b, 1)).toFixed(2)}%`;
  return [
    ['used_memory', used],
    ['used_memory_human', human(used)],
    ['used_memory_rss', f.rss],
    ['used_memory_rss_human', human(f.rss)],
    ['used_memory_peak', f.peak],
    ['used_memory_peak_human', human(f.peak)],
    ['used_memory_peak_perc', pct(used, f.peak)],
    ['used_memory_overhead', o.overhead],
    ['used_memory_startup', f.startup],
    ['used_memory_dataset', o.dataset],
    ['used_memory_dataset_perc', pct(o.dataset, used - f.startup)],
    // V8 is our allocator: what it has allocated (garbage included) and committed.
    ['allocator_allocated', f.allocated],
    ['allocator_active', f.active],
    ['allocator_resident', f.rss],
    ['total_system_memory', total],
    ['total_system_memory_human', human(total)],
    ...scriptingMemoryInfo(human),
    ['maxmemory', maxmem],
    ['maxmemory_human', human(maxmem)],
    ['maxmemory_policy', getString('maxmemory-policy')],
    ['allocator_frag_ratio', (f.active / Math.max(f.allocated, 1)).toFixed(2)],
    ['allocator_frag_bytes', f.active - f.allocated],
    ['allocator_rss_ratio', (f.rss / Math.max(f.active, 1)).toFixed(2)],
    ['allocator_rss_bytes', f.rss - f.active],
    // RSS over used_memory: here it includes V8's garbage awaiting a GC.
    ['mem_fragmentation_ratio', (f.rss / Math.max(used, 1)).toFixed(2)],
    ['mem_fragmentation_bytes', f.rss - used],
    ['mem_not_counted_for_evict', 0],
    ['mem_replication_backlog', 0],
    ['mem_total_replication_buffers', 0],
    ['mem_clients_slaves', 0],
    ['mem_clients_normal', o.clients],
    ['mem_cluster_links', 0],
    ['mem_aof_buffer', 0],
    ['mem_allocator', `v8-${process.versions.v8}`],
    ['active_defrag_running', 0],
    ['lazyfree_pending_objects', 0],
    ['lazyfreed_objects', lazyfreedObjects()],
    // Not Redis's: string values of 16 B to 64 KiB live outside V8's heap (keyspace/value-store.ts).
    ['values_offheap_used', f.offHeapLive],
    ['values_offheap_slabs', f.offHeapSlabs],
    ['keytable_slots_offheap_used', f.slotsLive],
    ['keytable_slots_offheap_chunks', f.slotsChunks],
  ];
});

function pubsubCounts(server: Server): [number, number] {
  const ch = new Set<string>();
  const pat = new Set<string>();
  for (const c of server.clients.values()) {
    if (c.subs === null) continue;
    for (const x of c.subs.channels) ch.add(x);
    for (const x of c.subs.patterns) pat.add(x);
  }
  return [ch.size, pat.size];
}

registerInfoSection('stats', 'Stats', (server) => {
  const st = server.stats;
  const ks = server.ks.stats;
  const [channels, patterns] = pubsubCounts(server);
  return [
    ['total_connections_received', st.connectionsReceived],
    ['total_commands_processed', st.commands],
    ['instantaneous_ops_per_sec', Math.round(avg(samplers.ops))],
    ['total_net_input_bytes', st.netInputBytes],
    ['total_net_output_bytes', st.netOutputBytes],
    ['total_net_repl_input_bytes', 0],
    ['total_net_repl_output_bytes', 0],
    ['instantaneous_input_kbps', (avg(samplers.netIn) / 1024).toFixed(2)],
    ['instantaneous_output_kbps', (avg(samplers.netOut) / 1024).toFixed(2)],
    ['instantaneous_input_repl_kbps', '0.00'],
    ['instantaneous_output_repl_kbps', '0.00'],
    ['rejected_connections', st.rejectedConnections],
    ['sync_full', 0],
    ['sync_partial_ok', 0],
    ['sync_partial_err', 0],
    ['expired_keys', ks.expiredKeys],
    ['expired_stale_perc', '0.00'],
    ['expired_time_cap_reached_count', 0],
    ['expire_cycle_cpu_milliseconds', 0],
    ['evicted_keys', ks.evictedKeys],
    ['evicted_clients', 0],
    ['total_eviction_exceeded_time', evictionExceededTime().total],
    ['current_eviction_exceeded_time', evictionExceededTime().current],
    ['keyspace_hits', ks.hits],
    ['keyspace_misses', ks.misses],
    ['pubsub_channels', channels],
    ['pubsub_patterns', patterns],
    ['latest_fork_usec', 0],
    ['total_forks', 0],
    ['migrate_cached_sockets', 0],
    ['slave_expires_tracked_keys', 0],
    ['active_defrag_hits', 0],
    ['active_defrag_misses', 0],
    ['active_defrag_key_hits', 0],
    ['active_defrag_key_misses', 0],
    ['total_active_defrag_time', 0],
    ['current_active_defrag_time', 0],
    ['tracking_total_keys', trackingInfo().keys],
    ['tracking_total_items', trackingInfo().items],
    ['tracking_total_prefixes', trackingInfo().prefixes],
    ['unexpected_error_replies', errorStats.unexpected],
    ['total_error_replies', errorStats.total],
    ['dump_payload_sanitizations', 0],
    ['total_reads_processed', st.commands],
    ['total_writes_processed', st.commands],
    ['io_threaded_reads_processed', 0],
    ['io_threaded_writes_processed', 0],
  ];
});

registerInfoSection('replication', 'Replication', () => [
  ['role', 'master'],
  ['connected_slaves', 0],
  ...(tooFewReplicas() ? [['min_slaves_good_slaves', 0] as [string, number]] : []),
  ['master_failover_state', 'no-failover'],
  ['master_replid', replId],
  ['master_replid2', '0000000000000000000000000000000000000000'],
  ['master_repl_offset', 0],
  ['second_repl_offset', -1],
  ['repl_backlog_active', 0],
  ['repl_backlog_size', 1048576],
  ['repl_backlog_first_byte_offset', 0],
  ['repl_backlog_histlen', 0],
]);

registerInfoSection('cpu', 'CPU', () => {
  const u = process.cpuUsage();
  const sys = (u.system / 1e6).toFixed(6);
  const user = (u.user / 1e6).toFixed(6);
  return [
    ['used_cpu_sys', sys],
    ['used_cpu_user', user],
    ['used_cpu_sys_children', '0.000000'],
    ['used_cpu_user_children', '0.000000'],
    ['used_cpu_sys_main_thread', sys],
    ['used_cpu_user_main_thread', user],
  ];
});

registerInfoSection('modules', 'Modules', () => []);

registerInfoSection(
  'commandstats',
  'Commandstats',
  () => {
    const out: InfoFields = [];
    for (const [name, s] of commandStats()) {
      if (s.calls === 0 && s.rejected === 0 && s.failed === 0) continue;
      const per = s.calls === 0 ? 0 : s.usec / s.calls;
      out.push([`cmdstat_${name}`, `calls=${s.calls},usec=${Math.round(s.usec)},usec_per_call=${per.toFixed(2)},rejected_calls=${s.rejected},failed_calls=${s.failed}`]);
    }
    return out;
  },
  false,
);

registerInfoSection('errorstats', 'Errorstats', errorStatsFields);

registerInfoSection('cluster', 'Cluster', () => [['cluster_enabled', 0]]);

registerInfoSection('keyspace', 'Keyspace', (server) => {
  const out: InfoFields = [];
  const now = Date.now();
  for (const db of server.ks.dbs) {
    const t = db.table;
    if (t.size === 0) continue;
    // avg_ttl from a bounded sample of the TTLs, as Redis estimates it.
    let sum = 0;
    let n = 0;
    for (let i = 0; n < 1000 && t.volatileSegment(i) !== undefined; i++) {
      t.volatileSegment(i)!.forEachExpiry((_k, at) => {
        if (at > now) {
          sum += at - now;
          n++;
        }
      });
    }
    out.push([`db${db.id}`, `keys=${t.size},expires=${t.expiresCount},avg_ttl=${n === 0 ? 0 : Math.round(sum / n)}`]);
  }
  return out;
});
