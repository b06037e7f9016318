/**
 * HyperLogLog family (hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFSELFTEST,
 * PFDEBUG. The value is Redis's own byte layout in a string
 * (src/types/hyperloglog.ts); these handlers find it, check it as
 * isHLLObjectOrReply does, change it and store the string back, keeping
 * the key's TTL as Redis's in-place edit does.
 */
import { register } from './registry.js';
import { cmd } from './spec.js';
import { ERR, ReplyError } from '../protocol/errors.js';
import { defineParam, getInt } from '../config/params.js';
import type { CommandContext } from '../server/context.js';
import type { Database } from '../keyspace/db.js';
import type { Value } from '../types/value.js';
import { notify, NOTIFY_STRING } from '../keyspace/notify.js';
import { deferArgs, eachArg } from '../protocol/deferred-args.js';
import {
  HLL_DENSE,
  HLL_REGISTERS,
  HLL_HDR_SIZE,
  HLL_SPARSE,
  INVALID_HLL_ERR,
  NOT_HLL_ERR,
  cachedCard,
  createHll,
  decodeSparse,
  denseGet,
  denseWouldChange,
  encodingOf,
  fromString,
  hllAdd,
  hllCount,
  hllMerge,
  invalidateCache,
  looksLikeHll,
  rawCount,
  selfTest,
  setCachedCard,
  sparseToDense,
  storeMax,
  toString,
  type Hll,
} from '../types/hyperloglog.js';

defineParam({
  name: 'hll-sparse-max-bytes',
  type: 'memory',
  default: '3000',
  // A size_t in Redis: a negative value is not a memory value at all.
  validate: (v) => (Number(v) < 0 ? 'argument must be a memory value' : null),
  help: 'A sparse HyperLogLog that would grow past this many bytes is converted to the dense encoding.',
  mutable: true,
  onChange: (v) => {
    sparseMax = Number(v);
  },
});

/** Kept current by CONFIG SET (getInt parses the name on every call: too slow per PFADD). */
let sparseMax = -1;
function maxBytes(): number {
  if (sparseMax < 0) sparseMax = getInt('hll-sparse-max-bytes');
  return sparseMax;
}

const G = { group: 'hyperloglog', since: '2.8.9' };
// Giant requests keep their elements (PFADD) or keys as bytes until the command reads them.
deferArgs('pfadd', 'pfcount', 'pfmerge');

/** The stored HLL string, or undefined; anything else answers as isHLLObjectOrReply. */
function hllString(v: Value | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ReplyError(ERR.wrongType);
  if (!looksLikeHll(v)) throw new ReplyError(NOT_HLL_ERR);
  return v;
}

/** Store a changed HLL back under key, keeping its TTL (Redis edits the string in place). */
function storeBack(db: Database, key: string, h: Hll): void {
  db.set(key, toString(h), true);
}

function pfadd(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  const key = args[1];
  const cur = hllString(db.getForWrite(key));
  // A dense HLL no element raises stays as it is: no copy of its 12 KB.
  if (cur !== undefined && encodingOf(cur) === HLL_DENSE) {
    let changes = false;
    eachArg(args, 2, (ele) => {
      changes = denseWouldChange(cur, ele);
      return !changes;
    });
    if (!changes) return ctx.r.int(0);
  }
  let updated = 0;
  let h: Hll;
  if (cur === undefined) {
    h = createHll();
    updated++;
  } else h = fromString(cur);
  const limit = maxBytes();
  let invalid = false;
  eachArg(args, 2, (ele) => {
    const res = hllAdd(h, ele, limit);
    if (res === 1) updated++;
    else if (res === -1) {
      invalid = true;
      return false;
    }
  });
  if (invalid) {
    // Redis keeps what the elements before this one changed in place; so do we.
    if (updated > 0) storeBack(db, key, h);
    throw new ReplyError(INVALID_HLL_ERR);
  }
  if (updated > 0) {
    invalidateCache(h);
    if (cur === undefined) db.set(key, toString(h));
    else storeBack(db, key, h);
    notify(NOTIFY_STRING, 'pfadd', key, ctx.db.id);
  }
  ctx.r.int(updated > 0 ? 1 : 0);
}

function pfcount(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  if (args.length > 2) {
    const max = new Uint8Array(HLL_REGISTERS);
    eachArg(args, 1, (k) => {
      const s = hllString(db.get(k));
      if (s !== undefined && !hllMerge(max, fromString(s))) throw new ReplyError(INVALID_HLL_ERR);
    });
    return ctx.r.int(rawCount(max));
  }
  const key = args[1];
  const s = hllString(db.get(key));
  if (s === undefined) return ctx.r.int(0);
  const cached = cachedCard(s);
  if (cached >= 0) return ctx.r.int(cached);
  const h = fromString(s);
  const card = hllCount(h);
  if (card < 0) throw new ReplyError(INVALID_HLL_ERR);
  setCachedCard(h, card);
  // The cache is part of the string: this read changes the value, as in Redis.
  storeBack(db, key, h);
  ctx.r.int(card);
}

function pfmerge(ctx: CommandContext, args: string[]): void {
  const db = ctx.db;
  const max = new Uint8Array(HLL_REGISTERS);
  let useDense = false;
  eachArg(args, 1, (k) => {
    const s = hllString(db.get(k));
    if (s === undefined) return;
    if (encodingOf(s) === HLL_DENSE) useDense = true;
    if (!hllMerge(max, fromString(s))) throw new ReplyError(INVALID_HLL_ERR);
  });
  const key = args[1];
  const cur = db.getForWrite(key) as string | undefined;
  const h = cur === undefined ? createHll() : fromString(cur);
  if (useDense && !sparseToDense(h)) {
    // Redis has created the (empty) destination by then.
    if (cur === undefined) db.set(key, toString(h));
    throw new ReplyError(INVALID_HLL_ERR);
  }
  storeMax(h, max, maxBytes());
  invalidateCache(h);
  if (cur === undefined) db.set(key, toString(h));
  else storeBack(db, key, h);
  notify(NOTIFY_STRING, 'pfadd', key, ctx.db.id);
  ctx.r.ok();
}

function pfselftest(ctx: CommandContext): void {
  const failed = selfTest(maxBytes());
  if (failed !== null) throw new ReplyError(failed);
  ctx.r.ok();
}

function pfdebug(ctx: CommandContext, args: string[]): void {
  const sub = args[1];
  const db = ctx.db;
  const key = args[2];
  const v = db.getForWrite(key);
  if (v === undefined) throw new ReplyError('ERR The specified key does not exist');
  const s = hllString(v)!;
  const h = fromString(s);
  switch (sub.toLowerCase()) {
    case 'getreg': {
      if (h.b[4] === HLL_SPARSE) {
        if (!sparseToDense(h)) throw new ReplyError(INVALID_HLL_ERR);
        storeBack(db, key, h);
      }
      ctx.r.array(HLL_REGISTERS);
      for (let j = 0; j < HLL_REGISTERS; j++) ctx.r.int(denseGet(h.b, HLL_HDR_SIZE, j));
      return;
    }
    case 'decode':
      if (h.b[4] !== HLL_SPARSE) throw new ReplyError('ERR HLL encoding is not sparse');
      return ctx.r.bulk(decodeSparse(h));
    case 'encoding':
      return ctx.r.simple(h.b[4] === HLL_DENSE ? 'dense' : 'sparse');
    case 'todense': {
      let conv = 0;
      if (h.b[4] === HLL_SPARSE) {
        if (!sparseToDense(h)) throw new ReplyError(INVALID_HLL_ERR);
        storeBack(db, key, h);
        conv = 1;
      }
      return ctx.r.int(conv);
    }
    default:
      throw new ReplyError(`ERR Unknown PFDEBUG subcommand '${sub}'`);
  }
}

register(
  cmd('pfadd', -2, 'write denyoom fast', [1, 1, 1], 'write hyperloglog fast', { ...G, summary: 'Adds the specified elements to the specified HyperLogLog.', complexity: 'O(1) to add every element.', keySpec: { flags: ['RW', 'insert'], begin: { index: 1 }, find: { lastkey: 0, keystep: 1, limit: 0 } } }, pfadd),
  cmd(
    'pfcount',
    -2,
    'readonly may_replicate',
    [1, -1, 1],
    'read hyperloglog slow',
    {
      ...G,
      summary: 'Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).',
      complexity: 'O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.',
      keySpec: { flags: ['RW', 'access'], notes: 'RW because it may change the internal representation of the key, and propagate to replicas', begin: { index: 1 }, find: { lastkey: -1, keystep: 1, limit: 0 } },
    },
    pfcount,
  ),
  cmd('pfmerge', -2, 'write denyoom', [1, -1, 1], 'write hyperloglog slow', {
    ...G,
    summary: 'Merge N different HyperLogLogs into a single one.',
    complexity: 'O(N) to merge N HyperLogLogs, but with high constant times.',
    keySpec: [
      { flags: ['RW', 'access', 'insert'], begin: { index: 1 }, find: { lastkey: 0, keystep: 1, limit: 0 } },
      { flags: ['RO', 'access'], begin: { index: 2 }, find: { lastkey: -1, keystep: 1, limit: 0 } },
    ],
  }, pfmerge),
  cmd('pfselftest', 1, 'admin', [0, 0, 0], 'hyperloglog admin slow dangerous', { ...G, summary: 'An internal command for testing HyperLogLog values', complexity: 'N/A', docFlags: ['syscmd'] }, (ctx) => pfselftest(ctx)),
  cmd('pfdebug', 3, 'write denyoom admin', [2, 2, 1], 'write hyperloglog admin slow dangerous', { ...G, summary: 'Internal commands for debugging HyperLogLog values', complexity: 'N/A', keySpec: { flags: ['RW', 'access'], begin: { index: 2 }, find: { lastkey: 0, keystep: 1, limit: 0 } }, docFlags: ['syscmd'] }, pfdebug),
);
