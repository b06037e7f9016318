/**
 * DEBUG: the subset Redis's test suite and operators use. Other modules may
 * add subcommands (the snapshot module: RELOAD) through `debugSubcommands`.
 */
import { idleMs } from '../memory/lru.js';
import { ERR, ReplyError, toFloat } from '../protocol/errors.js';
import { getString } from '../config/params.js';
import { stringEncoding } from './keys.js';
import type { CommandContext } from '../server/context.js';
import { heapLimit, heapRefusal, roomToGrow } from '../memory/heap.js';

type DebugHandler = (ctx: CommandContext, args: string[]) => void;

/** Lower-case subcommand name -> handler; `args` are the whole command. */
export const debugSubcommands = new Map<string, DebugHandler>();

function allowed(ctx: CommandContext): boolean {
  const mode = getString('enable-debug-command');
  if (mode === 'yes') return true;
  if (mode === 'local') {
    const a = ctx.client.socket.remoteAddress ?? '';
    return a === '127.0.0.1' || a === '::1' || a === '::ffff:127.0.0.1' || a === '';
  }
  return false;
}

function syntax(args: string[]): ReplyError {
  return new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${args[1].slice(0, 128)}'. Try DEBUG HELP.`);
}

/** Block the whole server, as Redis's DEBUG SLEEP does (tests rely on it stalling everyone). */
function sleepSync(ms: number): void {
  if (ms <= 0) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const HELP = [
  'DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANGE-REPL-ID',
  '    Change the replication IDs of the instance (no-op here).',
  'ERROR <string>',
  '    Return a Redis protocol error with <string> as message.',
  'LOG <message>',
  '    Write <message> to the server log.',
  'OBJECT <key>',
  '    Show low level info about the <key> and associated value.',
  'POPULATE <count> [<prefix>] [<size>]',
  '    Create <count> string keys named key:<num>.',
  'RELOAD [option ...]',
  '    Save a snapshot and load it back. Options: MERGE (snapshot keys replace current ones),',
  '    NOFLUSH (keep the current dataset), NOSAVE (load the newest existing snapshot).',
  'SET-ACTIVE-EXPIRE <0|1>',
  '    Setting it to 0 disables expiring keys in background when they are not accessed.',
  'SLEEP <seconds>',
  '    Stop the server for <seconds>. Decimals allowed.',
  'HELP',
  '    Prints this help.',
];

function populate(ctx: CommandContext, args: string[]): void {
  const count = Number(args[2]);
  if (!/^\d+$/.test(args[2])) throw new ReplyError(ERR.notInt);
  const prefix = args[3] ?? 'key';
  let size = -1;
  if (args.length === 5) {
    if (!/^\d+$/.test(args[4])) throw new ReplyError(ERR.notInt);
    size = Number(args[4]);
  }
  const db = ctx.db;
  // Not denyoom in Redis, but it can add more than the heap holds in one call.
  const oom = heapRefusal();
  if (oom !== null) throw new ReplyError(oom);
  for (let i = 0; i < count; i++) {
    if ((i & 4095) === 4095 && !roomToGrow()) {
      throw new ReplyError(`OOM DEBUG POPULATE stopped after ${i} of ${count} keys: the JS heap is nearly full (limit ${heapLimit()} bytes)`);
    }
    const k = `${prefix}:${i}`;
    if (db.peek(k) !== undefined) continue;
    let v = `value:${i}`;
    if (size >= 0) v = v.length >= size ? v.slice(0, size) : v + '\0'.repeat(size - v.length);
    db.set(k, v);
  }
  ctx.r.ok();
}

export function debugCommand(ctx: CommandContext, args: string[]): void {
  if (!allowed(ctx)) {
    throw new ReplyError(
      'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.',
    );
  }
  const sub = args[1].toLowerCase();
  const extra = debugSubcommands.get(sub);
  if (extra !== undefined) return extra(ctx, args);
  const n = args.length;
  switch (sub) {
    case 'help':
      if (n !== 2) throw syntax(args);
      return ctx.r.bulks(HELP);
    case 'sleep': {
      if (n !== 3) throw syntax(args);
      sleepSync((toFloat(args[2]) ?? 0) * 1000);
      return ctx.r.ok();
    }
    case 'set-active-expire':
      if (n !== 3) throw syntax(args);
      ctx.ks.activeExpireEnabled = args[2] !== '0';
      return ctx.r.ok();
    case 'object': {
      if (n !== 3) throw syntax(args);
      const v = ctx.db.peek(args[2]);
      if (v === undefined) throw new ReplyError(ERR.noSuchKey);
      const enc = typeof v === 'string' ? stringEncoding(v) : v.encoding();
      const len = typeof v === 'string' ? v.length : v.size;
      const t = ctx.db.table;
      const meta = t.getMeta(t.segmentOf(args[2]), args[2]);
      return ctx.r.simple(`Value at:0x0 refcount:1 encoding:${enc} serializedlength:${len} lru:${meta} lru_seconds_idle:${Math.floor(idleMs(meta) / 1000)}`);
    }
    case 'error':
      if (n !== 3) throw syntax(args);
      throw new ReplyError(args[2]);
    case 'log':
      if (n !== 3) throw syntax(args);
      return ctx.r.ok();
    case 'populate':
      if (n < 3 || n > 5) throw syntax(args);
      return populate(ctx, args);
    // Accepted for the test suite; they tune Redis-internal encodings we do not have.
    case 'change-repl-id':
    case 'quicklist-packed-threshold':
    case 'set-skip-checksum-validation':
    case 'set-disable-deny-scripts':
    case 'pause-cron':
    case 'replybuffer':
    case 'stringmatch-len':
      return ctx.r.ok();
    case 'listpack':
    case 'quicklist':
      return ctx.r.simple('OK');
    default:
      throw syntax(args);
  }
}
