/**
 * CLUSTER: this server is never a cluster node, and answers every CLUSTER
 * subcommand as Redis 7.0 does with cluster-enabled no. The table entries
 * are Redis's (flags matter: scripts are refused CLUSTER RESET for its
 * noscript flag before it could run), so clients probing the server see
 * the same thing as on a standalone Redis.
 */
import { register } from './registry.js';
import { cmd, NO_KEYS, type CmdOptions } from './spec.js';
import { ReplyError } from '../protocol/errors.js';

const DISABLED = 'ERR This instance has cluster support disabled';
const disabled = (): never => {
  throw new ReplyError(DISABLED);
};

// name, arity, flags, since, summary: Redis 7.0's commands/cluster-*.json.
const SUBS: [string, number, string, string, string][] = [
  ['addslots', -3, 'no_async_loading admin stale', '3.0.0', 'Assign new hash slots to receiving node'],
  ['addslotsrange', -4, 'no_async_loading admin stale', '7.0.0', 'Assign new hash slots to receiving node'],
  ['bumpepoch', 2, 'no_async_loading admin stale', '3.0.0', 'Advance the cluster config epoch'],
  ['count-failure-reports', 3, 'admin stale', '3.0.0', 'Return the number of failure reports active for a given node'],
  ['countkeysinslot', 3, 'stale', '3.0.0', 'Return the number of local keys in the specified hash slot'],
  ['delslots', -3, 'no_async_loading admin stale', '3.0.0', 'Set hash slots as unbound in receiving node'],
  ['delslotsrange', -4, 'no_async_loading admin stale', '7.0.0', 'Set hash slots as unbound in receiving node'],
  ['failover', -2, 'no_async_loading admin stale', '3.0.0', 'Forces a replica to perform a manual failover of its master.'],
  ['flushslots', 2, 'no_async_loading admin stale', '3.0.0', "Delete a node's own slots information"],
  ['forget', 3, 'no_async_loading admin stale', '3.0.0', 'Remove a node from the nodes table'],
  ['getkeysinslot', 4, 'stale', '3.0.0', 'Return local key names in the specified hash slot'],
  ['help', 2, 'loading stale', '5.0.0', 'Show helpful text about the different subcommands'],
  ['info', 2, 'stale', '3.0.0', 'Provides info about Redis Cluster node state'],
  ['keyslot', 3, 'stale', '3.0.0', 'Returns the hash slot of the specified key'],
  ['links', 2, 'stale', '7.0.0', 'Returns a list of all TCP links to and from peer nodes in cluster'],
  ['meet', -4, 'no_async_loading admin stale', '3.0.0', 'Force a node cluster to handshake with another node'],
  ['myid', 2, 'stale', '3.0.0', 'Return the node id'],
  ['nodes', 2, 'stale', '3.0.0', 'Get Cluster config for the node'],
  ['replicas', 3, 'admin stale', '5.0.0', 'List replica nodes of the specified master node'],
  ['replicate', 3, 'no_async_loading admin stale', '3.0.0', 'Reconfigure a node as a replica of the specified master node'],
  ['reset', -2, 'admin stale noscript', '3.0.0', 'Reset a Redis Cluster node'],
  ['saveconfig', 2, 'no_async_loading admin stale', '3.0.0', 'Forces the node to save cluster state on disk'],
  ['set-config-epoch', 3, 'no_async_loading admin stale', '3.0.0', 'Set the configuration epoch in a new node'],
  ['setslot', -4, 'no_async_loading admin stale', '3.0.0', 'Bind a hash slot to a specific node'],
  ['shards', 2, 'stale', '7.0.0', 'Get array of cluster slots to node mappings'],
  ['slaves', 3, 'admin stale', '3.0.0', 'List replica nodes of the specified master node'],
  ['slots', 2, 'stale', '3.0.0', 'Get array of Cluster slot to node mappings'],
];

const G = { group: 'cluster' };
const NONDETERMINISTIC = new Set(['bumpepoch', 'count-failure-reports', 'getkeysinslot', 'info', 'links', 'nodes', 'replicas', 'shards', 'slaves', 'slots']);

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  addslots: { complexity: 'O(N) where N is the total number of hash slot arguments' },
  addslotsrange: { complexity: 'O(N) where N is the total number of the slots between the start slot and end slot arguments.' },
  bumpepoch: { complexity: 'O(1)' },
  'count-failure-reports': { complexity: 'O(N) where N is the number of failure reports' },
  countkeysinslot: { complexity: 'O(1)' },
  delslots: { complexity: 'O(N) where N is the total number of hash slot arguments' },
  delslotsrange: { complexity: 'O(N) where N is the total number of the slots between the start slot and end slot arguments.' },
  failover: { complexity: 'O(1)' },
  flushslots: { complexity: 'O(1)' },
  forget: { complexity: 'O(1)' },
  getkeysinslot: { complexity: 'O(log(N)) where N is the number of requested keys' },
  help: { complexity: 'O(1)' },
  info: { complexity: 'O(1)' },
  keyslot: { complexity: 'O(N) where N is the number of bytes in the key' },
  links: { complexity: 'O(N) where N is the total number of Cluster nodes' },
  meet: { complexity: 'O(1)', history: [['4.0.0', 'Added the optional `cluster_bus_port` argument.']] },
  myid: { complexity: 'O(1)' },
  nodes: { complexity: 'O(N) where N is the total number of Cluster nodes' },
  replicas: { complexity: 'O(1)' },
  replicate: { complexity: 'O(1)' },
  reset: { complexity: 'O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.' },
  saveconfig: { complexity: 'O(1)' },
  'set-config-epoch': { complexity: 'O(1)' },
  setslot: { complexity: 'O(1)' },
  shards: { complexity: 'O(N) where N is the total number of cluster nodes' },
  slaves: { complexity: 'O(1)', docFlags: ['deprecated'], deprecatedSince: '5.0.0', replacedBy: '`CLUSTER REPLICAS`' },
  slots: { complexity: 'O(N) where N is the total number of Cluster nodes', docFlags: ['deprecated'], deprecatedSince: '7.0.0', replacedBy: '`CLUSTER SHARDS`', history: [['4.0.0', 'Added node IDs.'], ['7.0.0', 'Added additional networking metadata field.']] },
};

register({
  ...cmd('cluster', -2, '', NO_KEYS, 'slow', { ...G, summary: 'A container for cluster commands', since: '3.0.0', complexity: 'Depends on subcommand.' }),
  subcommands: SUBS.map(([name, arity, flags, since, summary]) =>
    cmd(`cluster|${name}`, arity, flags, NO_KEYS, flags.includes('admin') ? 'admin slow dangerous' : 'slow', { ...G, summary, since, tips: NONDETERMINISTIC.has(name) ? ['nondeterministic_output'] : undefined, ...DOCS[name] }, disabled),
  ),
});

// A standalone Redis refuses these too: they only mean something to a cluster node.
const connectionCmd = (name: string, flags: string, summary: string, since: string) =>
  cmd(name, 1, flags, NO_KEYS, 'fast connection', { ...G, summary, since, complexity: 'O(1)' }, disabled);
register(
  connectionCmd('asking', 'fast', 'Sent by cluster clients after an -ASK redirect', '3.0.0'),
  connectionCmd('readonly', 'loading stale fast', 'Enables read queries for a connection to a cluster replica node', '3.0.0'),
  connectionCmd('readwrite', 'loading stale fast', 'Disables read queries for a connection to a cluster replica node', '3.0.0'),
);
