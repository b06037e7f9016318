/**
 * Expiry commands (Redis's expire.c): EXPIRE PEXPIRE EXPIREAT PEXPIREAT with
 * NX XX GT LT, TTL PTTL EXPIRETIME PEXPIRETIME PERSIST.
 *
 * Times are int64 milliseconds in Redis; the range checks below are done on
 * BigInt so the overflow errors match Redis exactly, and only the final
 * absolute time becomes a JS number (precision beyond 2^53 ms is thousands
 * of years away and irrelevant).
 */
import { register } from './registry.js';
import { cmd, type ArgDoc, type CmdOptions } from './spec.js';
import { ERR, ReplyError, parseInt64, toSafeInt } from '../protocol/errors.js';
import type { CommandContext } from '../server/context.js';
import { notify, NOTIFY_GENERIC } from '../keyspace/notify.js';

const G = { group: 'generic' };
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

const NX = 1;
const XX = 2;
const GT = 4;
const LT = 8;

function parseFlags(args: string[]): number {
  let f = 0;
  for (let i = 3; i < args.length; i++) {
    const o = args[i].toLowerCase();
    if (o === 'nx') f |= NX;
    else if (o === 'xx') f |= XX;
    else if (o === 'gt') f |= GT;
    else if (o === 'lt') f |= LT;
    else throw new ReplyError(`ERR Unsupported option ${args[i]}`);
  }
  if (f & NX && f & (XX | GT | LT)) throw new ReplyError('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (f & GT && f & LT) throw new ReplyError('ERR GT and LT options at the same time are not compatible');
  return f;
}

/** Arguments up to this magnitude (s or ms) stay far inside 2^53 once in ms and added to now. */
const SMALL_EXPIRE = 1e12;

/** The absolute time in ms an EXPIRE-family argument means, or Redis's errors. */
function expireArgMs(arg: string, seconds: boolean, relative: boolean, now: number, cmd: string): number {
  // The usual values cannot overflow int64: number arithmetic is exact.
  const small = toSafeInt(arg);
  if (small !== null && small >= -SMALL_EXPIRE && small <= SMALL_EXPIRE) return (seconds ? small * 1000 : small) + (relative ? now : 0);
  let when = parseInt64(arg);
  if (when === null) throw new ReplyError(ERR.notInt);
  const name = cmd.toLowerCase();
  if (seconds) {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) throw new ReplyError(ERR.invalidExpire(name));
    when *= 1000n;
  }
  if (relative) {
    const base = BigInt(now);
    if (when > INT64_MAX - base) throw new ReplyError(ERR.invalidExpire(name));
    when += base;
  }
  return Number(when);
}

/**
 * @param seconds the argument is in seconds (EXPIRE, EXPIREAT)
 * @param relative the argument is relative to now (EXPIRE, PEXPIRE)
 */
function expireGeneric(ctx: CommandContext, args: string[], seconds: boolean, relative: boolean): void {
  const flags = parseFlags(args);
  const when = expireArgMs(args[2], seconds, relative, ctx.ks.now, args[0]);
  const db = ctx.db;
  const k = args[1];
  if (db.peek(k) === undefined) return ctx.r.int(0);
  if (flags !== 0) {
    const cur = db.expireAt(k);
    if (flags & NX && cur !== undefined) return ctx.r.int(0);
    if (flags & XX && cur === undefined) return ctx.r.int(0);
    // No TTL counts as an infinite one.
    if (flags & GT && (cur === undefined || when <= cur)) return ctx.r.int(0);
    if (flags & LT && cur !== undefined && when >= cur) return ctx.r.int(0);
  }
  // A time already past deletes the key (setExpire does), and still answers 1.
  const gone = when <= ctx.ks.now && !ctx.ks.loading;
  db.setExpire(k, when);
  notify(NOTIFY_GENERIC, gone ? 'del' : 'expire', k, db.id);
  ctx.r.int(1);
}

/** -2 missing, -1 no TTL, else the remaining time (seconds rounded as Redis does). */
function ttlGeneric(ctx: CommandContext, k: string, ms: boolean, absolute: boolean): void {
  const db = ctx.db;
  if (db.peek(k) === undefined) return ctx.r.int(-2);
  const at = db.expireAt(k);
  if (at === undefined) return ctx.r.int(-1);
  if (absolute) return ctx.r.int(ms ? at : Math.floor(at / 1000));
  const left = Math.max(0, at - ctx.ks.now);
  ctx.r.int(ms ? left : Math.floor((left + 500) / 1000));
}

const key: ArgDoc = { name: 'key', type: 'key' };
const condition: ArgDoc = {
  name: 'condition',
  type: 'oneof',
  optional: true,
  arguments: [
    { name: 'nx', type: 'pure-token', token: 'NX' },
    { name: 'xx', type: 'pure-token', token: 'XX' },
    { name: 'gt', type: 'pure-token', token: 'GT' },
    { name: 'lt', type: 'pure-token', token: 'LT' },
  ],
};

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  expire: { summary: 'Set a key\'s time to live in seconds', complexity: 'O(1)', history: [['7.0.0', 'Added options: `NX`, `XX`, `GT` and `LT`.']], args: [{ name: 'key', type: 'key' }, { name: 'seconds', type: 'integer' }, { name: 'condition', type: 'oneof', since: '7.0.0', optional: true, arguments: [{ name: 'nx', type: 'pure-token', token: 'NX' }, { name: 'xx', type: 'pure-token', token: 'XX' }, { name: 'gt', type: 'pure-token', token: 'GT' }, { name: 'lt', type: 'pure-token', token: 'LT' }] }] },
  pexpire: { summary: 'Set a key\'s time to live in milliseconds', complexity: 'O(1)', history: [['7.0.0', 'Added options: `NX`, `XX`, `GT` and `LT`.']], args: [{ name: 'key', type: 'key' }, { name: 'milliseconds', type: 'integer' }, { name: 'condition', type: 'oneof', since: '7.0.0', optional: true, arguments: [{ name: 'nx', type: 'pure-token', token: 'NX' }, { name: 'xx', type: 'pure-token', token: 'XX' }, { name: 'gt', type: 'pure-token', token: 'GT' }, { name: 'lt', type: 'pure-token', token: 'LT' }] }] },
  expireat: { summary: 'Set the expiration for a key as a UNIX timestamp', complexity: 'O(1)', history: [['7.0.0', 'Added options: `NX`, `XX`, `GT` and `LT`.']], args: [{ name: 'key', type: 'key' }, { name: 'unix-time-seconds', type: 'unix-time' }, { name: 'condition', type: 'oneof', since: '7.0.0', optional: true, arguments: [{ name: 'nx', type: 'pure-token', token: 'NX' }, { name: 'xx', type: 'pure-token', token: 'XX' }, { name: 'gt', type: 'pure-token', token: 'GT' }, { name: 'lt', type: 'pure-token', token: 'LT' }] }] },
  pexpireat: { summary: 'Set the expiration for a key as a UNIX timestamp specified in milliseconds', complexity: 'O(1)', history: [['7.0.0', 'Added options: `NX`, `XX`, `GT` and `LT`.']], args: [{ name: 'key', type: 'key' }, { name: 'unix-time-milliseconds', type: 'unix-time' }, { name: 'condition', type: 'oneof', since: '7.0.0', optional: true, arguments: [{ name: 'nx', type: 'pure-token', token: 'NX' }, { name: 'xx', type: 'pure-token', token: 'XX' }, { name: 'gt', type: 'pure-token', token: 'GT' }, { name: 'lt', type: 'pure-token', token: 'LT' }] }] },
  ttl: { summary: 'Get the time to live for a key in seconds', complexity: 'O(1)', history: [['2.8.0', 'Added the -2 reply.']] },
  pttl: { summary: 'Get the time to live for a key in milliseconds', complexity: 'O(1)', history: [['2.8.0', 'Added the -2 reply.']] },
  expiretime: { summary: 'Get the expiration Unix timestamp for a key', complexity: 'O(1)' },
  pexpiretime: { summary: 'Get the expiration Unix timestamp for a key in milliseconds', complexity: 'O(1)' },
};

const setter = (name: string, summary: string, since: string, argName: string, argType: ArgDoc['type'], seconds: boolean, relative: boolean) =>
  cmd(name, -3, 'write fast', [1, 1, 1], 'keyspace write fast', { ...G, summary, since, args: [key, { name: argName, type: argType }, condition], ...DOCS[name] }, (ctx, args) =>
    expireGeneric(ctx, args, seconds, relative),
  );

const getter = (name: string, summary: string, since: string, ms: boolean, absolute: boolean, tips?: string[]) =>
  cmd(name, 2, 'readonly fast', [1, 1, 1], 'keyspace read fast', { ...G, summary, since, args: [key], tips, ...DOCS[name] }, (ctx, args) => ttlGeneric(ctx, args[1], ms, absolute));

register(
  setter('expire', 'Sets the expiration time of a key in seconds.', '1.0.0', 'seconds', 'integer', true, true),
  setter('pexpire', 'Sets the expiration time of a key in milliseconds.', '2.6.0', 'milliseconds', 'integer', false, true),
  setter('expireat', 'Sets the expiration time of a key to a Unix timestamp.', '1.2.0', 'unix-time-seconds', 'unix-time', true, false),
  setter('pexpireat', 'Sets the expiration time of a key to a Unix milliseconds timestamp.', '2.6.0', 'unix-time-milliseconds', 'unix-time', false, false),
  getter('ttl', 'Returns the expiration time in seconds of a key.', '1.0.0', false, false, ['nondeterministic_output']),
  getter('pttl', 'Returns the expiration time in milliseconds of a key.', '2.6.0', true, false, ['nondeterministic_output']),
  getter('expiretime', 'Returns the expiration time of a key as a Unix timestamp.', '7.0.0', false, true),
  getter('pexpiretime', 'Returns the expiration time of a key as a Unix milliseconds timestamp.', '7.0.0', true, true),
  cmd('persist', 2, 'write fast', [1, 1, 1], 'keyspace write fast', { ...G, since: '2.2.0', args: [key], summary: 'Remove the expiration from a key', complexity: 'O(1)' }, (ctx, args) => {
    if (ctx.db.peek(args[1]) === undefined) return ctx.r.int(0);
    if (!ctx.db.persist(args[1])) return ctx.r.int(0);
    notify(NOTIFY_GENERIC, 'persist', args[1], ctx.db.id);
    ctx.r.int(1);
  }),
);
