/**
 * MIGRATE (Redis 7.0's cluster.c migrateCommand): send keys to another
 * server as RESTORE commands carrying DUMP payloads, and delete them here
 * once the target accepted them (unless COPY). Works with redis-server or
 * another instance of this server as the target.
 *
 * Differences: Redis blocks the whole server while it talks to the target;
 * here only the calling client waits. The payloads are taken when the
 * command runs, and a key is deleted afterwards only if it still holds the
 * value that was sent (another client may have changed it meanwhile).
 * Redis keeps the connection to a target open for 10 s for the next
 * MIGRATE; here each MIGRATE opens its own.
 */
import net from 'node:net';
import { register } from './registry.js';
import { cmd } from './spec.js';
import { ERR, ReplyError, parseInt64 } from '../protocol/errors.js';
import { notify, NOTIFY_GENERIC } from '../keyspace/notify.js';
import { createDumpPayload } from '../rdb/dump-payload.js';
import { rdbCompression } from '../rdb/params.js';
import { replyLater } from './persistence.js';
import { ScriptClient } from '../scripting/run-context.js';
import type { CommandContext } from '../server/context.js';
import type { Value } from '../types/value.js';

const resp = (args: (string | Buffer)[]): Buffer => {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
};

/** MIGRATE's key positions (migrateGetKeys): argv[3], or everything after KEYS, which needs an empty argv[3]. */
function migrateKeys(argv: string[]): number[] {
  const skip: Record<string, number> = { copy: 0, replace: 0, auth: 1, auth2: 2 };
  for (let i = 6; i < argv.length; i++) {
    const a = argv[i].toLowerCase();
    if (a === 'keys') {
      if (argv[3] !== '') return [];
      return Array.from({ length: argv.length - i - 1 }, (_, k) => i + 1 + k);
    }
    i += skip[a] ?? 0;
  }
  return [3];
}

/** A C long argument (getLongFromObjectOrReply). */
function longArg(s: string): number {
  const n = parseInt64(s);
  if (n === null) throw new ReplyError(ERR.notInt);
  return Number(n);
}

class IoError extends Error {}

type Answer = Parameters<CommandContext['client']['send']>[0];

/**
 * One exchange with the target: send everything, then read one status or
 * error line per command, each within `timeout` ms.
 */
function exchange(host: string, port: number, timeout: number, request: Buffer, replies: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let connected = false;
    let buf = '';
    const lines: string[] = [];
    const fail = (what: string) => {
      sock.destroy();
      reject(new IoError(what));
    };
    // Redis connects without blocking and learns of a refused or slow connection when it writes.
    sock.setTimeout(timeout, () => fail(connected ? 'reading' : 'writing'));
    sock.once('connect', () => {
      connected = true;
      sock.write(request);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => fail(connected || e.code === 'ECONNREFUSED' ? 'writing' : 'connecting'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 2);
        if (lines.length === replies) {
          sock.destroy();
          return resolve(lines);
        }
      }
    });
    sock.on('end', () => fail('reading'));
  });
}

function migrate(ctx: CommandContext, args: string[]): void {
  let copy = false;
  let replace = false;
  let user: string | null = null;
  let password: string | null = null;
  let first = 3;
  let count = 1;
  for (let j = 6; j < args.length; j++) {
    const more = args.length - 1 - j;
    const opt = args[j].toLowerCase();
    if (opt === 'copy') copy = true;
    else if (opt === 'replace') replace = true;
    else if (opt === 'auth') {
      if (more < 1) throw new ReplyError(ERR.syntax);
      password = args[++j];
    } else if (opt === 'auth2') {
      if (more < 2) throw new ReplyError(ERR.syntax);
      user = args[++j];
      password = args[++j];
    } else if (opt === 'keys') {
      if (args[3] !== '') throw new ReplyError('ERR When using MIGRATE KEYS option, the key argument must be set to the empty string');
      first = j + 1;
      count = args.length - j - 1;
      break;
    } else throw new ReplyError(ERR.syntax);
  }
  // The target's answers come back later: EXEC and a script cannot wait for them.
  if (ctx.client.inExec || ctx.client instanceof ScriptClient) throw new ReplyError('ERR MIGRATE cannot be used inside MULTI or a script here');
  let timeout = longArg(args[5]);
  const dbid = longArg(args[4]);
  if (timeout <= 0) timeout = 1000;
  const db = ctx.db;
  const sent: { key: string; value: Value }[] = [];
  const cmds: Buffer[] = [];
  if (password !== null) cmds.push(resp(user === null ? ['AUTH', password] : ['AUTH', user, password]));
  cmds.push(resp(['SELECT', String(dbid)]));
  const now = Date.now();
  for (let j = first; j < first + count; j++) {
    const key = args[j];
    const value = db.get(key);
    if (value === undefined) continue;
    const at = db.expireAt(key);
    let ttl = 0;
    if (at !== undefined) {
      ttl = at - now;
      if (ttl < 0) continue;
      if (ttl < 1) ttl = 1;
    }
    sent.push({ key, value });
    const restore: (string | Buffer)[] = ['RESTORE', key, String(ttl), createDumpPayload(value, rdbCompression())];
    if (replace) restore.push('REPLACE');
    cmds.push(resp(restore));
  }
  if (sent.length === 0) return ctx.r.simple('NOKEY');
  const preamble = cmds.length - sent.length;
  const answer = exchange(args[1], Number(args[2]), timeout, Buffer.concat(cmds), cmds.length).then(
    (lines): Answer => {
      const errorLine = lines.slice(0, preamble).find((l) => l[0] === '-');
      let error: string | null = errorLine ?? null;
      for (let i = 0; i < sent.length; i++) {
        const line = lines[preamble + i];
        if (error !== null || line[0] === '-') {
          error ??= line;
          continue;
        }
        const { key, value } = sent[i];
        if (!copy && db.peek(key) === value) {
          db.delete(key);
          notify(NOTIFY_GENERIC, 'del', key, db.id);
        }
      }
      if (error !== null) {
        const msg = `ERR Target instance replied with error: ${error.slice(1)}`;
        return (r) => r.error(msg);
      }
      return (r) => r.ok();
    },
    (e: unknown): Answer => {
      if (!(e instanceof IoError)) throw e;
      const msg = e.message === 'connecting' ? 'IOERR error or timeout connecting to the client' : `IOERR error or timeout ${e.message} to target instance`;
      return (r) => r.error(msg);
    },
  );
  replyLater(ctx, answer);
}

const migrateSpec = cmd('migrate', -6, 'write', [3, 3, 1], 'keyspace write slow dangerous', {
  group: 'generic',
  summary: 'Atomically transfer a key from a Redis instance to another one.',
  since: '2.6.0',
  getKeys: migrateKeys,
  tips: ['nondeterministic_output'],
  keySpec: [
    { flags: ['RW', 'access', 'delete'], begin: { index: 3 }, find: { lastkey: 0, keystep: 1, limit: 0 } },
    { flags: ['RW', 'access', 'delete', 'incomplete'], begin: { keyword: 'KEYS', startfrom: -2 }, find: { lastkey: -1, keystep: 1, limit: 0 } },
  ],
  complexity: 'This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.',
  history: [['3.0.0', 'Added the `COPY` and `REPLACE` options.'], ['3.0.6', 'Added the `KEYS` option.'], ['4.0.7', 'Added the `AUTH` option.'], ['6.0.0', 'Added the `AUTH2` option.']],
  args: [{ name: 'host', type: 'string' }, { name: 'port', type: 'integer' }, { name: 'key_or_empty_string', type: 'oneof', arguments: [{ name: 'key', type: 'key' }, { name: 'empty_string', type: 'pure-token', token: '' }] }, { name: 'destination-db', type: 'integer' }, { name: 'timeout', type: 'integer' }, { name: 'copy', type: 'pure-token', token: 'COPY', since: '3.0.0', optional: true }, { name: 'replace', type: 'pure-token', token: 'REPLACE', since: '3.0.0', optional: true }, { name: 'authentication', type: 'oneof', optional: true, arguments: [{ name: 'password', type: 'string', token: 'AUTH', since: '4.0.7', optional: true }, { name: 'username_password', type: 'block', token: 'AUTH2', since: '6.0.0', optional: true, arguments: [{ name: 'username', type: 'string' }, { name: 'password', type: 'string' }] }] }, { name: 'key', type: 'key', keySpecIndex: 1, token: 'KEYS', since: '3.0.6', optional: true, multiple: true }],
}, migrate);
// Every key MIGRATE names is read, then deleted here.
migrateSpec.keyFlags = () => ['RW', 'access', 'delete'];
register(migrateSpec);
