/**
 * Every command family, each registering its table entries on import.
 * One file per family, as Redis keeps one t_*.c per type.
 */
import './connection.js';
import './server-admin.js';
import './introspection.js';
import './strings.js';
import './bitops.js';
import './keys.js';
import './expire.js';
import './transactions.js';
import './lists.js';
import './hashes.js';
import './sets.js';
import './zsets.js';
import './hyperloglog.js';
import './geo.js';
import './sort.js';
import './pubsub.js';
import './persistence.js';
import './streams.js';
import './stream-groups.js';
import './stream-info.js';
import './dump.js';
import './slowlog.js';
import './latency.js';
import './replication.js';
import './module.js';
import './cluster.js';
import './acl.js';
import './migrate.js';
import '../scripting/eval.js';
import '../scripting/functions/index.js';
