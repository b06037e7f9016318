/**
 * The server's own parameters: network, limits, logging, databases, where
 * snapshots go. Modules define theirs next to their code with defineParam.
 */
import { ConfigError, defineParam, getInt, getString } from './params.js';
import { requestLimits } from '../protocol/parser.js';
import { reloadMemorySettings } from '../memory/settings.js';
import { setLogLevel } from '../log.js';
import { checkMaxclients } from '../server/fd-limit.js';
import { eventsToFlags, flagsToEvents, setNotifyFlags } from '../keyspace/notify.js';

const GB = 1024 ** 3;

/** The running server's listeners (src/server/server.ts registers itself once it listens). */
let rebind: ((bind: string, port: number) => Promise<void>) | null = null;
export function onListenChange(f: (bind: string, port: number) => Promise<void>): void {
  rebind = f;
}
/** CONFIG SET port / bind: listen anew on both values (one rebind when both change), with Redis's error texts. */
const relisten = (error: string) => ({
  group: 'listen',
  run: async () => {
    if (rebind === null) return;
    await rebind(getString('bind'), getInt('port')).catch(() => {
      throw new ConfigError(error);
    });
  },
});
defineParam({ name: 'port', type: 'int', default: '6379', min: 0, max: 65535, mutable: true, applyAsync: relisten('Unable to listen on this port. Check server logs.'), help: 'TCP port to listen on (0 picks a free one at start-up; CONFIG SET port 0 keeps the port in use)' });
defineParam({ name: 'bind', type: 'string', default: '127.0.0.1', mutable: true, applyAsync: relisten('Failed to bind to specified addresses.'), help: 'addresses to listen on, space- or comma-separated; * is every IPv4 address, ::* every IPv6 one, and a leading - marks one that may be missing' });
defineParam({ name: 'requirepass', type: 'string', default: '', mutable: true, secret: true, help: 'password clients must AUTH with (empty: none)' });
defineParam({ name: 'databases', flag: 'dbnum', type: 'int', default: '16', min: 1, max: 1024, help: 'number of logical databases (SELECT 0..N-1)' });
defineParam({ name: 'dir', type: 'string', default: './data', help: 'where snapshots go: a local folder, or s3://bucket/prefix' });
defineParam({ name: 'dbfilename', type: 'string', default: 'dump-{timestamp}', mutable: true, help: 'snapshot file name; {timestamp} is replaced by the save time' });
defineParam({ name: 'maxclients', type: 'int', default: '64000', min: 1, max: 1000000, mutable: true, onChange: checkMaxclients, help: 'maximum number of connected clients (lowered at start-up to what the open files limit allows, as Redis does)' });
defineParam({ name: 'timeout', type: 'int', default: '0', min: 0, mutable: true, help: 'close idle clients after this many seconds (0: never)' });
// Read by every client's parser at once, connections already open included (as in Redis).
defineParam({ name: 'proto-max-bulk-len', type: 'memory', default: String(512 * 1024 * 1024), min: 1024 * 1024, mutable: true, apply: (v) => (requestLimits.maxBulkLen = Number(v)), help: 'largest bulk string a request may carry' });
defineParam({ name: 'client-query-buffer-limit', type: 'memory', default: String(GB), min: 1024 * 1024, mutable: true, apply: (v) => (requestLimits.maxQueryBuffer = Number(v)), help: 'largest unparsed input a client may accumulate' });
defineParam({ name: 'hz', type: 'int', default: '10', min: 1, max: 500, mutable: true, help: 'background task frequency (active expiry)' });
defineParam({ name: 'loglevel', type: 'enum', default: 'notice', values: ['debug', 'verbose', 'notice', 'warning', 'info', 'error'], mutable: true, help: 'log verbosity', onChange: setLogLevel });
defineParam({ name: 'log_format', type: 'enum', default: 'auto', values: ['auto', 'json', 'text'], flagOnly: true, help: 'json: one JSON object per line; text: human-readable lines; auto: text when the log goes to a terminal, else json' });
defineParam({ name: 'logtostderr', type: 'bool', default: 'no', flagOnly: true, help: 'write logs to stderr instead of stdout' });
defineParam({ name: 'flagfile', type: 'string', default: '', flagOnly: true, help: 'read more flags from this file, one --name=value per line' });
defineParam({ name: 'snapshot-strict', type: 'bool', default: 'yes', help: 'a snapshot that cannot be read at boot is fatal instead of fenced' });
// Memory limit and eviction (src/memory/): Redis's names, ranges and defaults.
const memory = { mutable: true, onChange: reloadMemorySettings };
defineParam({ name: 'maxmemory', type: 'memory', default: '0', ...memory, help: 'memory limit for the dataset (used_memory); past it keys are evicted by maxmemory-policy, or writes refused (0 = none)' });
defineParam({ name: 'maxmemory-policy', type: 'enum', default: 'noeviction', ...memory, values: ['volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'noeviction'], help: 'what goes when used_memory passes maxmemory: noeviction refuses writes with -OOM; allkeys-* or volatile-* (keys with a TTL only) evict by lru, lfu or random; volatile-ttl the nearest expiry' });
defineParam({ name: 'maxmemory-samples', type: 'int', default: '5', min: 1, max: 2147483647, ...memory, help: 'keys sampled per database for each eviction (more: closer to true LRU/LFU, more CPU)' });
defineParam({ name: 'maxmemory-eviction-tenacity', type: 'int', default: '10', min: 0, max: 100, ...memory, help: 'how long one command may spend evicting before the rest continues in the background (10: 500 us, each step up +15%; 100: no limit)' });
defineParam({ name: 'lfu-log-factor', type: 'int', default: '10', min: 0, max: 2147483647, ...memory, help: 'LFU counter growth: the higher, the more hits a key needs to reach a high frequency' });
defineParam({ name: 'lfu-decay-time', type: 'int', default: '1', min: 0, max: 2147483647, ...memory, help: 'minutes of idleness after which an LFU counter decreases by one (0: never)' });
defineParam({ name: 'appendonly', type: 'bool', default: 'no', help: 'append-only file (not supported: snapshots only)', validate: (v) => (v === 'yes' ? 'appendonly is not supported' : null) });
defineParam({
  name: 'notify-keyspace-events',
  type: 'string',
  default: '',
  mutable: true,
  help: "keyspace notifications published through pub/sub: K and/or E plus the classes (A g $ l s h z x e t m d n), as Redis",
  normalize: (raw) => {
    const f = eventsToFlags(raw);
    if (f < 0) throw new Error("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    return flagsToEvents(f);
  },
  apply: (v) => setNotifyFlags(eventsToFlags(v)),
});
// Ignored, on purpose: a deleted value's memory is always reclaimed by V8's
// garbage collector, in the background, whatever these say; DEL never
// blocks on freeing as Redis's synchronous free can.
defineParam({ name: 'lazyfree-lazy-user-del', type: 'bool', default: 'no', mutable: true, help: 'DEL counts like UNLINK in INFO lazyfreed_objects (deleted values are always freed in the background by the garbage collector)' });
defineParam({ name: 'lazyfree-lazy-user-flush', type: 'bool', default: 'no', mutable: true, help: 'the default of FLUSHALL/FLUSHDB/SCRIPT FLUSH/FUNCTION FLUSH without SYNC|ASYNC; both free in the background here (the garbage collector)' });
defineParam({ name: 'active-expire-effort', type: 'int', default: '1', min: 1, max: 10, mutable: true, help: 'how hard the active expire cycle works' });
defineParam({ name: 'enable-debug-command', type: 'enum', default: 'no', values: ['yes', 'no', 'local'], help: 'allow DEBUG' });

// Redis parameters that have no effect here but that tools and Redis's own
// test suite read or set; accepting them keeps CONFIG GET/SET answering as Redis.
defineParam({ name: 'daemonize', type: 'bool', default: 'no', help: 'must stay no: run under a supervisor (systemd, a container) instead', validate: (v) => (v === 'yes' ? 'daemonize is not supported: run the server under a supervisor (systemd, a container runtime)' : null) });
// Ignored: there is no replication stream to keep a backlog of.
defineParam({ name: 'repl-backlog-size', type: 'memory', default: String(1024 * 1024), min: 1, mutable: true, help: 'ignored: no replication (INFO reports no backlog)' });
defineParam({
  name: 'maxmemory-clients',
  type: 'string',
  default: '0',
  mutable: true,
  // Ignored for now: clients are not evicted; output limits bound each client (client-output-buffer-limit).
  help: 'ignored: client eviction is not implemented; client-output-buffer-limit bounds each client',
  validate: (v) => {
    const pct = /^(\d+)%$/.exec(v);
    if (pct) return Number(pct[1]) > 100 ? 'percentage argument must be less or equal to 100' : null;
    return /^\d+([kmg]b?)?$/i.test(v) ? null : 'argument must be a memory or percent value';
  },
});
const noReplication = (v: string) => (v === '' ? null : 'replication is not supported: this server keeps its data with snapshots (--dir, --snapshot_replicas)');
defineParam({ name: 'replicaof', type: 'string', default: '', help: 'must stay empty: no replication', validate: noReplication });
defineParam({ name: 'slaveof', type: 'string', default: '', help: 'alias of replicaof', validate: noReplication });
