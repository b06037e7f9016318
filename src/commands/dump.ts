/**
 * DUMP and RESTORE (cluster.c dumpCommand, restoreCommand): a value in
 * Redis's own serialization (src/rdb/), so payloads move between this
 * server and redis-server 7.0 both ways.
 */
import { register } from './registry.js';
import { keyAt, cmd, type ArgDoc } from './spec.js';
import { ERR, ReplyError, parseInt64 } from '../protocol/errors.js';
import { notify, NOTIFY_GENERIC } from '../keyspace/notify.js';
import { createDumpPayload, parseDumpPayload, verifyDumpPayload } from '../rdb/dump-payload.js';
import { RdbFormatError } from '../rdb/constants.js';
import { rdbCompression } from '../rdb/params.js';
import { accessMeta } from '../rdb/access-meta.js';
import type { CommandContext } from '../server/context.js';
import type { Value } from '../types/value.js';

const G = { group: 'generic' };

function dump(ctx: CommandContext, args: string[]): void {
  const v = ctx.db.get(args[1]);
  if (v === undefined) return ctx.r.null();
  ctx.r.bulk(createDumpPayload(v, rdbCompression()).toString('latin1'));
}

function int64(s: string): bigint {
  const n = parseInt64(s);
  if (n === null) throw new ReplyError(ERR.notInt);
  return n;
}

function restore(ctx: CommandContext, args: string[]): void {
  let replace = false;
  let absttl = false;
  let idle = -1;
  let freq = -1;
  for (let j = 4; j < args.length; j++) {
    const opt = args[j].toLowerCase();
    const more = args.length - j - 1;
    if (opt === 'replace') replace = true;
    else if (opt === 'absttl') absttl = true;
    else if (opt === 'idletime' && more >= 1 && freq === -1) {
      const n = int64(args[++j]);
      if (n < 0n) throw new ReplyError('ERR Invalid IDLETIME value, must be >= 0');
      idle = n > 1000000000000n ? 1000000000000 : Number(n);
    } else if (opt === 'freq' && more >= 1 && idle === -1) {
      const n = int64(args[++j]);
      if (n < 0n || n > 255n) throw new ReplyError('ERR Invalid FREQ value, must be >= 0 and <= 255');
      freq = Number(n);
    } else throw new ReplyError(ERR.syntax);
  }
  const key = args[1];
  const db = ctx.db;
  if (!replace && db.exists(key)) throw new ReplyError('BUSYKEY Target key name already exists.');
  const ttlArg = int64(args[2]);
  if (ttlArg < 0n) throw new ReplyError('ERR Invalid TTL value, must be >= 0');
  const payload = Buffer.from(args[3], 'latin1');
  if (!verifyDumpPayload(payload)) throw new ReplyError('ERR DUMP payload version or checksum are wrong');
  let v: Value;
  try {
    v = parseDumpPayload(payload);
  } catch (e) {
    if (e instanceof RdbFormatError) throw new ReplyError('ERR Bad data format');
    throw e;
  }
  const deleted = replace && db.delete(key);
  let ttl = Number(ttlArg);
  if (ttl !== 0 && !absttl) ttl += Date.now();
  if (ttl !== 0 && ttl <= Date.now()) {
    if (deleted) notify(NOTIFY_GENERIC, 'del', key, db.id);
    return ctx.r.ok();
  }
  db.set(key, v, false, ttl !== 0 ? ttl : undefined);
  const meta = accessMeta(freq, idle);
  if (meta !== null) db.table.setMeta(db.table.segmentOf(key), key, meta);
  notify(NOTIFY_GENERIC, 'restore', key, db.id);
  ctx.r.ok();
}

const RESTORE_COMPLEXITY =
  'O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).';
const RESTORE_ARGS: ArgDoc[] = [
  { name: 'key', type: 'key' },
  { name: 'ttl', type: 'integer' },
  { name: 'serialized-value', type: 'string' },
  { name: 'replace', type: 'pure-token', token: 'REPLACE', since: '3.0.0', optional: true },
  { name: 'absttl', type: 'pure-token', token: 'ABSTTL', since: '5.0.0', optional: true },
  { name: 'seconds', type: 'integer', token: 'IDLETIME', since: '5.0.0', optional: true },
  { name: 'frequency', type: 'integer', token: 'FREQ', since: '5.0.0', optional: true },
];
const RESTORE_HISTORY: [string, string][] = [
  ['3.0.0', 'Added the `REPLACE` modifier.'],
  ['5.0.0', 'Added the `ABSTTL` modifier.'],
  ['5.0.0', 'Added the `IDLETIME` and `FREQ` options.'],
];

register(
  cmd('dump', 2, 'readonly', [1, 1, 1], 'keyspace read slow', { ...G, since: '2.6.0', complexity: 'O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).', args: [{ name: 'key', type: 'key' }], tips: ['nondeterministic_output'], summary: 'Return a serialized version of the value stored at the specified key.' }, dump),
  cmd('restore', -4, 'write denyoom', [1, 1, 1], 'keyspace write slow dangerous', {
    ...G,
    summary: 'Create a key using the provided serialized value, previously obtained using DUMP.',
    since: '2.6.0',
    complexity: RESTORE_COMPLEXITY,
    history: RESTORE_HISTORY,
    args: RESTORE_ARGS,
    keySpec: keyAt(1, 'OW update'),
  }, restore),
  // What MIGRATE sends in a cluster; Redis runs RESTORE for it, as here.
  cmd('restore-asking', -4, 'write denyoom asking', [1, 1, 1], 'keyspace write slow dangerous', {
    group: 'server',
    summary: 'An internal command for migrating keys in a cluster',
    since: '3.0.0',
    complexity: RESTORE_COMPLEXITY,
    docFlags: ['syscmd'],
    history: RESTORE_HISTORY,
    args: RESTORE_ARGS,
    keySpec: keyAt(1, 'OW update'),
  }, restore),
);
