/**
 * Generic key commands (Redis's db.c / object.c): DEL UNLINK EXISTS TYPE KEYS
 * SCAN RANDOMKEY RENAME RENAMENX COPY MOVE TOUCH OBJECT.
 */
import { getBool } from '../config/params.js';
import { freeLazily } from '../memory/lazyfree.js';
import { replyStrings } from '../memory/collection-replies.js';
import { register } from './registry.js';
import { keyAt, cmd, type ArgDoc, type CmdOptions } from './spec.js';
import { ERR, ReplyError, parseInt64 } from '../protocol/errors.js';
import { globMatch } from '../keyspace/glob.js';
import { mem } from '../memory/settings.js';
import { idleMs, lfuDecrAndReturn } from '../memory/lru.js';
import { typeOf, type Value } from '../types/value.js';
import type { CommandContext } from '../server/context.js';
import type { Database } from '../keyspace/db.js';
import { notify, NOTIFY_GENERIC } from '../keyspace/notify.js';
import { WARM_MAX } from '../keyspace/table.js';
import { argBatches, deferArgs } from '../protocol/deferred-args.js';

// Giant requests of these keep their keys as bytes until they run (protocol/deferred-args.ts).
deferArgs('del', 'unlink', 'exists', 'touch');

const G = { group: 'generic' };
const SAME_OBJECT = 'ERR source and destination objects are the same';

const key = (name = 'key', more: Partial<ArgDoc> = {}): ArgDoc => ({ name, type: 'key', ...more });

/** Redis getIntFromObject: a 32-bit int or the generic integer error. */
function intArg(s: string): number {
  const n = parseInt64(s);
  if (n === null || n < -2147483648n || n > 2147483647n) throw new ReplyError(ERR.notInt);
  return Number(n);
}

function dbArg(ctx: CommandContext, s: string): Database {
  const id = intArg(s);
  if (id < 0 || id >= ctx.ks.dbs.length) throw new ReplyError(ERR.dbIndex);
  return ctx.ks.dbs[id];
}

/** A copy that shares nothing with the original (strings are immutable already). */
function dup(v: Value): Value {
  return typeof v === 'string' ? v : v.clone();
}

/** OBJECT ENCODING of a string, by the rules Redis applies when it stores one. */
export function stringEncoding(s: string): string {
  if (s.length <= 20 && parseInt64(s) !== null) return 'int';
  return s.length <= 44 ? 'embstr' : 'raw';
}

/** Keys of a giant deferred request are made this many at a time (protocol/deferred-args.ts). */
const KEY_BATCH = 1024;

/**
 * Apply `each` (a count of the keys it applies to) to every key argument
 * from 1: straight from args, or batch by batch for a deferred request.
 */
function countKeys(db: Database, args: string[], each: (db: Database, keys: readonly string[], from: number, to: number) => number): number {
  const batches = argBatches(args, KEY_BATCH);
  if (batches === undefined) return each(db, args, 1, args.length);
  let n = 0;
  for (let i = 1; i < batches.total; i += KEY_BATCH) n += each(db, batches.batch, 0, batches.fill(i));
  return n;
}

function delKeys(db: Database, keys: readonly string[], from: number, to: number, lazy: boolean): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    if ((i - from) % WARM_MAX === 0) db.warm(keys, i, to, 1);
    const v = lazy ? db.peek(keys[i]) : undefined;
    if (v !== undefined) freeLazily(keys[i], v);
    if (db.delete(keys[i])) {
      n++;
      notify(NOTIFY_GENERIC, 'del', keys[i], db.id);
    }
  }
  return n;
}
const delNow = (db: Database, keys: readonly string[], from: number, to: number) => delKeys(db, keys, from, to, false);
const delLazily = (db: Database, keys: readonly string[], from: number, to: number) => delKeys(db, keys, from, to, true);

/** DEL and UNLINK (`lazy`: counted in INFO lazyfreed_objects, as DEL is with lazyfree-lazy-user-del). */
function del(ctx: CommandContext, args: string[], lazy = getBool('lazyfree-lazy-user-del')): void {
  ctx.r.int(countKeys(ctx.db, args, lazy ? delLazily : delNow));
}

/** Keys that exist (EXISTS), or that exist and are touched as a read would (TOUCH). */
function found(db: Database, keys: readonly string[], from: number, to: number, touch: boolean): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    if ((i - from) % WARM_MAX === 0) db.warm(keys, i, to, 1);
    if ((touch ? db.get(keys[i]) : db.getNoTouch(keys[i])) !== undefined) n++;
  }
  return n;
}
const existing = (db: Database, keys: readonly string[], from: number, to: number) => found(db, keys, from, to, false);
const touched = (db: Database, keys: readonly string[], from: number, to: number) => found(db, keys, from, to, true);

/** Redis strtoul-based cursor: digits only, any size; we keep the low 32 bits (our cursor space). */
function parseCursor(s: string): number {
  if (!/^[0-9]+$/.test(s) || s.length > 20 || BigInt(s) > 0xffffffffffffffffn) throw new ReplyError('ERR invalid cursor');
  return Number(BigInt(s) & 0xffffffffn);
}

function scan(ctx: CommandContext, args: string[]): void {
  let cursor = parseCursor(args[1]);
  let count = 10;
  let pattern: string | null = null;
  let type: string | null = null;
  for (let i = 2; i < args.length; i += 2) {
    const opt = args[i].toLowerCase();
    if (i + 1 >= args.length) throw new ReplyError(ERR.syntax);
    if (opt === 'count') {
      const c = parseInt64(args[i + 1]);
      if (c === null) throw new ReplyError(ERR.notInt);
      if (c < 1n) throw new ReplyError(ERR.syntax);
      count = c > 1000000n ? 1000000 : Number(c);
    } else if (opt === 'match') {
      pattern = args[i + 1] === '*' ? null : args[i + 1];
    } else if (opt === 'type') {
      type = args[i + 1].toLowerCase();
    } else throw new ReplyError(ERR.syntax);
  }
  const db = ctx.db;
  const found: string[] = [];
  cursor = db.table.scan(cursor, count, (k) => found.push(k));
  // Filter after the step, as Redis does: expired keys are reclaimed here
  // (peek), keys not matching are dropped.
  const out: string[] = [];
  for (const k of found) {
    if (pattern !== null && !globMatch(pattern, k)) continue;
    const v = db.peek(k);
    if (v === undefined) continue;
    if (type !== null && typeOf(v) !== type) continue;
    out.push(k);
  }
  ctx.r.array(2);
  ctx.r.bulk(String(cursor));
  ctx.r.bulks(out);
}

function keys(ctx: CommandContext, args: string[]): void {
  const pattern = args[1];
  const all = pattern === '*';
  const table = ctx.db.table;
  const out: string[] = [];
  const now = ctx.ks.now;
  for (const seg of table.segments()) {
    seg.forEachKeyName((k, at) => {
      if ((at === undefined || at > now) && (all || globMatch(pattern, k))) out.push(k);
    });
  }
  replyStrings(ctx, out, (r, n) => r.array(n));
}

function randomKey(ctx: CommandContext): void {
  const db = ctx.db;
  // Each expired pick is reclaimed by peek, so this ends.
  while (db.size > 0) {
    const k = db.table.randomKey();
    if (k === undefined) break;
    if (db.peek(k) !== undefined) return ctx.r.bulk(k);
  }
  ctx.r.null();
}

function rename(ctx: CommandContext, args: string[], nx: boolean): void {
  const db = ctx.db;
  const [, src, dst] = args;
  const v = db.peek(src);
  if (v === undefined) throw new ReplyError(ERR.noSuchKey);
  if (src === dst) {
    if (nx) ctx.r.int(0);
    else ctx.r.ok();
    return;
  }
  if (nx && db.exists(dst)) return ctx.r.int(0);
  const at = db.expireAt(src);
  // The destination is deleted, then created: Redis announces it as a new key either way.
  db.delete(dst);
  db.delete(src);
  db.set(dst, v, false, at);
  notify(NOTIFY_GENERIC, 'rename_from', src, db.id);
  notify(NOTIFY_GENERIC, 'rename_to', dst, db.id);
  if (nx) ctx.r.int(1);
  else ctx.r.ok();
}

function copy(ctx: CommandContext, args: string[]): void {
  let dst = ctx.db;
  let replace = false;
  for (let i = 3; i < args.length; i++) {
    const opt = args[i].toLowerCase();
    if (opt === 'replace') replace = true;
    else if (opt === 'db' && i + 1 < args.length) dst = dbArg(ctx, args[++i]);
    else throw new ReplyError(ERR.syntax);
  }
  const [, src, target] = args;
  if (dst === ctx.db && src === target) throw new ReplyError(SAME_OBJECT);
  const v = ctx.db.get(src);
  if (v === undefined) return ctx.r.int(0);
  if (dst.exists(target)) {
    if (!replace) return ctx.r.int(0);
    dst.delete(target);
  }
  dst.set(target, dup(v), false, ctx.db.expireAt(src));
  notify(NOTIFY_GENERIC, 'copy_to', target, dst.id);
  ctx.r.int(1);
}

function move(ctx: CommandContext, args: string[]): void {
  const src = ctx.db;
  const dst = dbArg(ctx, args[2]);
  if (src === dst) throw new ReplyError(SAME_OBJECT);
  const k = args[1];
  const v = src.peek(k);
  if (v === undefined || dst.exists(k)) return ctx.r.int(0);
  const at = src.expireAt(k);
  src.delete(k);
  dst.set(k, v, false, at);
  notify(NOTIFY_GENERIC, 'move_from', k, src.id);
  notify(NOTIFY_GENERIC, 'move_to', k, dst.id);
  ctx.r.int(1);
}

function objectHelp(ctx: CommandContext): void {
  ctx.r.bulks([
    'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'ENCODING <key>',
    '    Return the kind of internal representation used in order to store the value',
    '    associated with a <key>.',
    'FREQ <key>',
    '    Return the access frequency index of the <key>. The returned integer is',
    '    proportional to the logarithm of the recent access frequency of the key.',
    'IDLETIME <key>',
    '    Return the idle time of the <key>, that is the approximated number of',
    '    seconds elapsed since the last access to the key.',
    'REFCOUNT <key>',
    '    Return the number of references of the value associated with the specified',
    '    <key>.',
    'HELP',
    '    Prints this help.',
  ]);
}

const lfuPolicy = () => mem.lfu;

/** The access metadata of a key OBJECT just found (src/memory/lru.ts says what it means). */
function metaOf(ctx: CommandContext, key: string): number {
  const t = ctx.db.table;
  return t.getMeta(t.segmentOf(key), key);
}

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  encoding: { summary: 'Inspect the internal encoding of a Redis object', complexity: 'O(1)' },
  refcount: { summary: 'Get the number of references to the value of the key', complexity: 'O(1)' },
  idletime: { summary: 'Get the time since a Redis object was last accessed', complexity: 'O(1)' },
  freq: { summary: 'Get the logarithmic access frequency counter of a Redis object', complexity: 'O(1)' },
};

/** OBJECT subcommands answer null for a missing key, as Redis's objectCommandLookupOrReply. */
function objectSub(name: string, summary: string, since: string, answer: (ctx: CommandContext, v: Value, key: string) => void) {
  return cmd(`object|${name}`, 3, 'readonly', [2, 2, 1], 'keyspace read slow', { ...G, summary, since, args: [key()], keySpec: keyAt(2, 'RO'), tips: ['nondeterministic_output'], ...DOCS[name] }, (ctx, args) => {
    // No touch: looking at a key's idle time must not reset it.
    const v = ctx.db.peek(args[2]);
    if (v === undefined) return ctx.r.null();
    answer(ctx, v, args[2]);
  });
}

register(
  cmd('del', -2, 'write', [1, -1, 1], 'keyspace write slow', { ...G, args: [key('key', { multiple: true })], keySpec: keyAt(1, 'RM delete', undefined, -1, 1), tips: ['request_policy:multi_shard', 'response_policy:agg_sum'], summary: 'Delete a key', complexity: 'O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).' }, del),
  cmd('unlink', -2, 'write fast', [1, -1, 1], 'keyspace write fast', { ...G, since: '4.0.0', args: [key('key', { multiple: true })], keySpec: keyAt(1, 'RM delete', undefined, -1, 1), tips: ['request_policy:multi_shard', 'response_policy:agg_sum'], summary: 'Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.', complexity: 'O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.' }, (ctx, args) => del(ctx, args, true)),
  cmd('exists', -2, 'readonly fast', [1, -1, 1], 'keyspace read fast', { ...G, args: [key('key', { multiple: true })], keySpec: keyAt(1, 'RO', undefined, -1, 1), tips: ['request_policy:multi_shard', 'response_policy:agg_sum'], summary: 'Determine if a key exists', complexity: 'O(N) where N is the number of keys to check.', history: [['3.0.3', 'Accepts multiple `key` arguments.']] }, (ctx, args) => {
    ctx.r.int(countKeys(ctx.db, args, existing));
  }),
  cmd('touch', -2, 'readonly fast', [1, -1, 1], 'keyspace read fast', { ...G, since: '3.2.1', args: [key('key', { multiple: true })], keySpec: keyAt(1, 'RO', undefined, -1, 1), tips: ['request_policy:multi_shard', 'response_policy:agg_sum'], summary: 'Alters the last access time of a key(s). Returns the number of existing keys specified.', complexity: 'O(N) where N is the number of keys that will be touched.' }, (ctx, args) => {
    ctx.r.int(countKeys(ctx.db, args, touched));
  }),
  cmd('type', 2, 'readonly fast', [1, 1, 1], 'keyspace read fast', { ...G, args: [key()], keySpec: keyAt(1, 'RO'), summary: 'Determine the type stored at key', complexity: 'O(1)' }, (ctx, args) => {
    const v = ctx.db.getNoTouch(args[1]);
    ctx.r.simple(v === undefined ? 'none' : typeOf(v));
  }),
  cmd('keys', 2, 'readonly', [0, 0, 0], 'keyspace read slow dangerous', { ...G, args: [{ name: 'pattern', type: 'pattern' }], tips: ['request_policy:all_shards', 'nondeterministic_output_order'], summary: 'Find all keys matching the given pattern', complexity: 'O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.' }, keys),
  cmd('scan', -2, 'readonly', [0, 0, 0], 'keyspace read slow', {
    ...G,
    since: '2.8.0', tips: ['nondeterministic_output', 'request_policy:special'], summary: 'Incrementally iterate the keys space', complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.', history: [['6.0.0', 'Added the `TYPE` subcommand.']], args: [{ name: 'cursor', type: 'integer' }, { name: 'pattern', type: 'pattern', token: 'MATCH', optional: true }, { name: 'count', type: 'integer', token: 'COUNT', optional: true }, { name: 'type', type: 'string', token: 'TYPE', since: '6.0.0', optional: true }],
  }, scan),
  cmd('randomkey', 1, 'readonly', [0, 0, 0], 'keyspace read slow', { ...G, tips: ['request_policy:all_shards', 'nondeterministic_output'], summary: 'Return a random key from the keyspace', complexity: 'O(1)' }, randomKey),
  cmd('rename', 3, 'write', [1, 2, 1], 'keyspace write slow', { ...G, keySpec: [keyAt(1, 'RW access delete'), keyAt(2, 'OW update')], summary: 'Rename a key', complexity: 'O(1)', args: [{ name: 'key', type: 'key' }, { name: 'newkey', type: 'key', keySpecIndex: 1 }] }, (ctx, args) => rename(ctx, args, false)),
  cmd('renamenx', 3, 'write fast', [1, 2, 1], 'keyspace write fast', { ...G, keySpec: [keyAt(1, 'RW access delete'), keyAt(2, 'OW insert')], summary: 'Rename a key, only if the new key does not exist', complexity: 'O(1)', history: [['3.2.0', 'The command no longer returns an error when source and destination names are the same.']], args: [{ name: 'key', type: 'key' }, { name: 'newkey', type: 'key', keySpecIndex: 1 }] }, (ctx, args) => rename(ctx, args, true)),
  cmd('copy', -3, 'write denyoom', [1, 2, 1], 'keyspace write slow', {
    ...G,
    since: '6.2.0', keySpec: [keyAt(1, 'RO access'), keyAt(2, 'OW update')], summary: 'Copy a key', complexity: 'O(N) worst case for collections, where N is the number of nested items. O(1) for string values.', args: [{ name: 'source', type: 'key' }, { name: 'destination', type: 'key', keySpecIndex: 1 }, { name: 'destination-db', type: 'integer', token: 'DB', optional: true }, { name: 'replace', type: 'pure-token', token: 'REPLACE', optional: true }],
  }, copy),
  cmd('move', 3, 'write fast', [1, 1, 1], 'keyspace write fast', { ...G, args: [key(), { name: 'db', type: 'integer' }], keySpec: keyAt(1, 'RW access update'), summary: 'Move a key to another database', complexity: 'O(1)' }, move),
  {
    ...cmd('object', -2, '', [0, 0, 0], 'slow', { ...G, since: '2.2.3', summary: 'A container for object introspection commands', complexity: 'Depends on subcommand.' }),
    subcommands: [
      objectSub('encoding', 'Returns the internal encoding of a Redis object.', '2.2.3', (ctx, v) => ctx.r.bulk(typeof v === 'string' ? stringEncoding(v) : v.encoding())),
      // Values are never shared between keys here, so one reference each.
      objectSub('refcount', 'Returns the reference count of a value of a key.', '2.2.3', (ctx) => ctx.r.int(1)),
      objectSub('idletime', 'Returns the time since the last access to a Redis object.', '2.2.3', (ctx, _v, k) => {
        if (lfuPolicy()) throw new ReplyError('ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.');
        ctx.r.int(Math.floor(idleMs(metaOf(ctx, k)) / 1000));
      }),
      objectSub('freq', 'Returns the logarithmic access frequency counter of a Redis object.', '4.0.0', (ctx, _v, k) => {
        if (!lfuPolicy()) throw new ReplyError('ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.');
        // Decayed but not stored back, as Redis: reading the counter is not an access.
        ctx.r.int(lfuDecrAndReturn(metaOf(ctx, k)));
      }),
      cmd('object|help', 2, 'loading stale', [0, 0, 0], 'keyspace slow', { ...G, since: '6.2.0', summary: 'Show helpful text about the different subcommands', complexity: 'O(1)' }, objectHelp),
    ],
  },
);
