/**
 * Connection family: PING ECHO QUIT RESET HELLO AUTH SELECT and CLIENT.
 */
import { register } from './registry.js';
import { cmd, NO_KEYS, type CommandSpec, type CmdOptions } from './spec.js';
import { ERR, parseInt64, ReplyError, toSafeInt } from '../protocol/errors.js';
import { authenticate } from '../acl/sessions.js';
import { getDefaultUser, getUser, newClientAuthenticated } from '../acl/users.js';
import { clientInfo } from '../acl/log.js';
import type { CommandContext } from '../server/context.js';
import type { Client } from '../server/client.js';
import { VERSION } from '../version.js';
import { unblockClient } from '../server/blocking.js';
import { pauseClients, unpauseClients } from '../server/pause.js';
import { isMonitor, stopMonitoring } from './monitor.js';
import { disableTracking, enableTracking, prefixCollision } from '../server/tracking.js';

const G = { group: 'connection' };

const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

function validName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/** Hooks other families use to drop per-client state on RESET (MULTI, pub/sub). */
export const resetHooks: ((ctx: CommandContext) => void)[] = [];

/** Shard-channel subscriptions of a client, for CLIENT LIST ssub= (set by the pubsub family). */
export const shardSubscriptions = { count: (_c: Client): number => 0 };

function clientFlags(c: Client): string {
  let f = '';
  if (isMonitor(c)) f += 'O';
  if (c.subs !== null) f += 'P';
  if (c.multi !== null) f += 'x';
  if (c.suspended) f += 'b';
  if (c.tracking !== null) f += 't';
  if (c.tracking?.brokenRedirect) f += 'R';
  if (c.tracking?.bcast) f += 'B';
  if (c.dirtyCas) f += 'd';
  if (c.noEvict) f += 'e';
  return f || 'N';
}

/** Bytes of a request as RESP: Redis's qbuf still holds the running command. */
function requestSize(args: string[]): number {
  let n = 3 + String(args.length).length;
  for (const a of args) n += 5 + String(a.length).length + a.length;
  return n;
}

/** One CLIENT LIST line; `running` is the command c is executing, if it asks about itself. */
export function clientInfoLine(c: Client, running?: string[]): string {
  const now = Date.now();
  const qbuf = c.parser.buffered + (running ? requestSize(running) : 0);
  const sub = c.subs?.channels.size ?? 0;
  const psub = c.subs?.patterns.size ?? 0;
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${(c.socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1} ` +
    `name=${c.name} age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastInteraction) / 1000)} ` +
    `flags=${clientFlags(c)} db=${c.db.id} sub=${sub} psub=${psub} ssub=${shardSubscriptions.count(c)} multi=${c.multi ? c.multi.queue.length : -1} ` +
    `qbuf=${qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=${c.socket.writableLength} ` +
    `tot-mem=0 events=r cmd=${c.lastCommand} user=${c.user.name} redir=${c.tracking?.redirect ?? -1} resp=${c.proto} lib-name=${c.libName} lib-ver=${c.libVer}`
  );
}

clientInfo.of = (c) => clientInfoLine(c);

function hello(ctx: CommandContext, args: string[]): void {
  const c = ctx.client;
  let proto = c.proto;
  let i = 1;
  if (args.length >= 2) {
    const v = parseInt64(args[1]);
    if (v === null) throw new ReplyError('ERR Protocol version is not an integer or out of range');
    if (v < 2n || v > 3n) throw new ReplyError('NOPROTO unsupported protocol version');
    proto = Number(v) as 2 | 3;
    i = 2;
  }
  // Options take effect in order, as Redis applies them: a SETNAME sticks
  // even if the client then turns out not to be authenticated.
  for (; i < args.length; i++) {
    const opt = args[i].toLowerCase();
    const more = args.length - i - 1;
    if (opt === 'auth' && more >= 2) {
      if (!authenticate(c, args[i + 1], args[i + 2], args[0])) throw new ReplyError(WRONGPASS);
      i += 2;
    } else if (opt === 'setname' && more >= 1) {
      const name = args[++i];
      if (!validName(name)) throw new ReplyError('ERR Client names cannot contain spaces, newlines or special characters.');
      c.name = name;
    } else {
      throw new ReplyError(`ERR Syntax error in HELLO option '${args[i]}'`);
    }
  }
  if (!c.authenticated) {
    throw new ReplyError(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  }
  c.proto = proto;
  const r = ctx.r;
  r.proto = proto;
  r.map(7);
  r.bulk('server');
  r.bulk('redis');
  r.bulk('version');
  r.bulk(VERSION.redis);
  r.bulk('proto');
  r.int(proto);
  r.bulk('id');
  r.int(c.id);
  r.bulk('mode');
  r.bulk('standalone');
  r.bulk('role');
  r.bulk('master');
  r.bulk('modules');
  r.array(0);
}

function auth(ctx: CommandContext, args: string[]): void {
  if (args.length > 3) throw new ReplyError(ERR.syntax);
  const user = args.length === 3 ? args[1] : 'default';
  const pass = args[args.length - 1];
  if (args.length === 2 && getDefaultUser().nopass) {
    throw new ReplyError(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  }
  if (!authenticate(ctx.client, user, pass, args[0])) throw new ReplyError(WRONGPASS);
  ctx.r.ok();
}

function select(ctx: CommandContext, args: string[]): void {
  const n = toSafeInt(args[1]);
  // Redis reads the index as a C int.
  if (n === null || n < -2147483648 || n > 2147483647) throw new ReplyError(ERR.notInt);
  if (n < 0 || n >= ctx.ks.dbs.length) throw new ReplyError(ERR.dbIndex);
  ctx.selectDb(n);
  ctx.r.ok();
}

function reset(ctx: CommandContext): void {
  const c = ctx.client;
  for (const h of resetHooks) h(ctx);
  disableTracking(c);
  stopMonitoring(c);
  c.multi = null;
  c.dirtyCas = false;
  c.proto = 2;
  ctx.r.proto = 2;
  ctx.selectDb(0);
  c.name = '';
  c.replyMode = 'on';
  // Redis's clientSetDefaultAuth.
  c.user = getDefaultUser();
  c.setAuthenticated(newClientAuthenticated());
  ctx.r.simple('RESET');
}

/** Close c; the calling client itself is closed only after its reply went out, as Redis does. */
function killClient(ctx: CommandContext, c: Client): void {
  if (c !== ctx.client) {
    ctx.server.closeClient(c);
    return;
  }
  // Stop reading its pipeline; processInput flushes the reply before this runs.
  c.suspended = true;
  setImmediate(() => ctx.server.closeClient(c, true));
}

function clientKill(ctx: CommandContext, args: string[]): void {
  const server = ctx.server;
  if (args.length === 3) {
    // Old form: CLIENT KILL addr:port
    const target = [...server.clients.values()].find((c) => c.addr === args[2]);
    if (!target) throw new ReplyError('ERR No such client');
    ctx.r.ok();
    killClient(ctx, target);
    return;
  }
  if ((args.length - 2) % 2 !== 0) throw new ReplyError(ERR.syntax);
  let skipMe = true;
  const filters: ((c: Client) => boolean)[] = [];
  for (let i = 2; i < args.length; i += 2) {
    const f = args[i].toLowerCase();
    const v = args[i + 1];
    if (f === 'id') {
      const id = toSafeInt(v);
      if (id === null || id <= 0) throw new ReplyError('ERR client-id should be greater than 0');
      filters.push((c) => c.id === id);
    } else if (f === 'addr') filters.push((c) => c.addr === v);
    else if (f === 'laddr') filters.push((c) => c.laddr === v);
    else if (f === 'user') {
      const u = getUser(v);
      if (u === undefined) throw new ReplyError(`ERR No such user '${v}'`);
      filters.push((c) => c.user === u);
    }
    else if (f === 'type') {
      const t = v.toLowerCase();
      if (t === 'normal') filters.push((c) => c.subs === null);
      else if (t === 'pubsub') filters.push((c) => c.subs !== null);
      else if (t === 'master' || t === 'replica' || t === 'slave') filters.push(() => false);
      else throw new ReplyError(`ERR Unknown client type '${v}'`);
    } else if (f === 'skipme') {
      const y = v.toLowerCase();
      if (y !== 'yes' && y !== 'no') throw new ReplyError(ERR.syntax);
      skipMe = y === 'yes';
    } else if (f === 'maxage') {
      const age = toSafeInt(v);
      if (age === null) throw new ReplyError(ERR.notInt);
      filters.push((c) => Date.now() - c.createdAt >= age * 1000);
    } else throw new ReplyError(ERR.syntax);
  }
  let killed = 0;
  for (const c of [...server.clients.values()]) {
    if (skipMe && c === ctx.client) continue;
    if (filters.every((f) => f(c))) {
      killed++;
      killClient(ctx, c);
    }
  }
  ctx.r.int(killed);
}

function clientList(ctx: CommandContext, args: string[]): void {
  let clients = [...ctx.server.clients.values()];
  for (let i = 2; i < args.length; i++) {
    const opt = args[i].toLowerCase();
    if (opt === 'type' && i + 1 < args.length) {
      const t = args[++i].toLowerCase();
      if (t === 'normal') clients = clients.filter((c) => c.subs === null);
      else if (t === 'pubsub') clients = clients.filter((c) => c.subs !== null);
      else if (t === 'master' || t === 'replica' || t === 'slave') clients = [];
      else throw new ReplyError(`ERR Unknown client type '${args[i]}'`);
    } else if (opt === 'id' && i + 1 < args.length) {
      const ids = new Set<number>();
      for (i++; i < args.length; i++) {
        const id = toSafeInt(args[i]);
        if (id === null || id <= 0) throw new ReplyError('ERR Invalid client ID');
        ids.add(id);
      }
      clients = clients.filter((c) => ids.has(c.id));
    } else throw new ReplyError(ERR.syntax);
  }
  ctx.r.verbatim(clients.map((c) => clientInfoLine(c, c === ctx.client ? args : undefined) + '\n').join(''));
}

/** CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT] [NOLOOP], checked in Redis's order. */
function clientTracking(ctx: CommandContext, args: string[]): void {
  const c = ctx.client;
  let redirect = 0;
  const opts = { bcast: false, optin: false, optout: false, noloop: false };
  const pfx: string[] = [];
  for (let j = 3; j < args.length; j++) {
    const o = args[j].toLowerCase();
    const more = j < args.length - 1;
    if (o === 'redirect' && more) {
      j++;
      if (redirect !== 0) throw new ReplyError('ERR A client can only redirect to a single other client');
      const id = parseInt64(args[j]);
      if (id === null) throw new ReplyError(ERR.notInt);
      if (!ctx.server.clients.has(Number(id))) throw new ReplyError('ERR The client ID you want redirect to does not exist');
      redirect = Number(id);
    } else if (o === 'bcast') opts.bcast = true;
    else if (o === 'optin') opts.optin = true;
    else if (o === 'optout') opts.optout = true;
    else if (o === 'noloop') opts.noloop = true;
    else if (o === 'prefix' && more) pfx.push(args[++j]);
    else throw new ReplyError(ERR.syntax);
  }
  const mode = args[2].toLowerCase();
  if (mode === 'on') {
    const t = c.tracking;
    if (!opts.bcast && pfx.length > 0) throw new ReplyError('ERR PREFIX option requires BCAST mode to be enabled');
    if (t !== null && t.bcast !== opts.bcast) {
      throw new ReplyError('ERR You can\'t switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.');
    }
    if (opts.bcast && (opts.optin || opts.optout)) throw new ReplyError('ERR OPTIN and OPTOUT are not compatible with BCAST');
    if (opts.optin && opts.optout) throw new ReplyError('ERR You can\'t specify both OPTIN mode and OPTOUT mode');
    if ((opts.optin && t?.optout) || (opts.optout && t?.optin)) {
      throw new ReplyError('ERR You can\'t switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.');
    }
    if (opts.bcast) {
      const err = prefixCollision(c, pfx);
      if (err !== null) throw new ReplyError(err);
    }
    enableTracking(ctx.server, c, redirect, opts, pfx);
  } else if (mode === 'off') disableTracking(c);
  else throw new ReplyError(ERR.syntax);
  ctx.r.ok();
}

function trackingInfoReply(ctx: CommandContext): void {
  const t = ctx.client.tracking;
  const flags: string[] = [t !== null ? 'on' : 'off'];
  if (t?.bcast) flags.push('bcast');
  if (t?.optin) {
    flags.push('optin');
    if (t.caching) flags.push('caching-yes');
  }
  if (t?.optout) {
    flags.push('optout');
    if (t.caching) flags.push('caching-no');
  }
  if (t?.noloop) flags.push('noloop');
  if (t?.brokenRedirect) flags.push('broken_redirect');
  const r = ctx.r;
  r.map(3);
  r.bulk('flags');
  r.set(flags.length);
  for (const f of flags) r.bulk(f);
  r.bulk('redirect');
  r.int(t !== null ? t.redirect : -1);
  r.bulk('prefixes');
  const ps = [...(t?.prefixes ?? [])].sort();
  r.bulks(ps);
}

function onOff(v: string): boolean {
  const l = v.toLowerCase();
  if (l === 'on') return true;
  if (l === 'off') return false;
  throw new ReplyError(ERR.syntax);
}

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME, MAXAGE.',
  'LIST [options ...]',
  '    Return information about client connections. Options: TYPE, ID.',
  'NO-EVICT (ON|OFF)',
  '    Protect the current client connection from eviction.',
  'UNPAUSE',
  '    Stop the current client pause, resuming traffic.',
  'PAUSE <timeout> [WRITE|ALL]',
  '    Suspend all, or just write, clients for <timeout> milliseconds.',
  'REPLY (ON|OFF|SKIP)',
  '    Control the replies sent to the current connection.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'SETINFO <LIB-NAME|LIB-VER> <value>',
  '    Set client library name or version.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR]',
  '    Unblock the specified blocked client.',
  'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]',
  '         [OPTIN] [OPTOUT] [NOLOOP]',
  '    Control server assisted client side caching.',
  'TRACKINGINFO',
  '    Report tracking status for the current connection.',
  'HELP',
  '    Print this help.',
];

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  id: { summary: 'Returns the client ID for the current connection', since: '5.0.0', complexity: 'O(1)' },
  getname: { summary: 'Get the current connection name', since: '2.6.9', complexity: 'O(1)' },
  setname: { summary: 'Set the current connection name', since: '2.6.9', complexity: 'O(1)' },
  info: { summary: 'Returns information about the current client connection.', since: '6.2.0', complexity: 'O(1)' },
  list: { summary: 'Get the list of client connections', complexity: 'O(N) where N is the number of client connections', history: [['2.8.12', 'Added unique client `id` field.'], ['5.0.0', 'Added optional `TYPE` filter.'], ['6.0.0', 'Added `user` field.'], ['6.2.0', 'Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter.'], ['7.0.0', 'Added `resp`, `multi-mem`, `rbs` and `rbp` fields.'], ['7.0.3', 'Added `ssub` field.']] },
  kill: { summary: 'Kill the connection of a client', complexity: 'O(N) where N is the number of client connections', history: [['2.8.12', 'Added new filter format.'], ['2.8.12', '`ID` option.'], ['3.2.0', 'Added `master` type in for `TYPE` option.'], ['5.0.0', 'Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility.'], ['6.2.0', '`LADDR` option.']] },
  'no-evict': { summary: 'Set client eviction mode for the current connection', since: '7.0.0', complexity: 'O(1)' },
  reply: { summary: 'Instruct the server whether to reply to commands', since: '3.2.0', complexity: 'O(1)' },
  unblock: { summary: 'Unblock a client blocked in a blocking command from a different connection', since: '5.0.0', complexity: 'O(log N) where N is the number of client connections' },
  tracking: { summary: 'Enable or disable server assisted client side caching support', since: '6.0.0', complexity: 'O(1). Some options may introduce additional complexity.' },
  caching: { summary: 'Instruct the server about tracking or not keys in the next request', since: '6.0.0', complexity: 'O(1)' },
  getredir: { summary: 'Get tracking notifications redirection client ID if any', since: '6.0.0', complexity: 'O(1)' },
  trackinginfo: { summary: 'Return information about server assisted client side caching for the current connection', since: '6.2.0', complexity: 'O(1)' },
  pause: { summary: 'Stop processing commands from clients for some time', since: '2.9.50', complexity: 'O(1)', history: [['6.2.0', '`CLIENT PAUSE WRITE` mode added along with the `mode` option.']] },
  unpause: { summary: 'Resume processing of clients that were paused', since: '6.2.0', complexity: 'O(N) Where N is the number of paused clients' },
  help: { summary: 'Show helpful text about the different subcommands', since: '5.0.0', complexity: 'O(1)' },
};

const sub = (name: string, arity: number, flags: string, summary: string, handler: CommandSpec['handler'], tips?: string[]) =>
  // HELP is the one CLIENT subcommand a script may call; admin ones are @admin @dangerous, as Redis derives from the flag.
  cmd('client|' + name, arity, (name === 'help' ? 'loading stale ' : 'noscript loading stale ') + flags, NO_KEYS, flags.includes('admin') ? 'admin slow dangerous connection' : 'slow connection', { ...G, summary, since: '2.4.0', tips, ...DOCS[name] }, handler);

register(
  cmd('ping', -1, 'fast', NO_KEYS, 'fast connection', { ...G, tips: ['request_policy:all_shards', 'response_policy:all_succeeded'], summary: 'Ping the server', complexity: 'O(1)' }, (ctx, args) => {
    if (args.length > 2) throw new ReplyError(ERR.arity('ping'));
    const c = ctx.client;
    if (c.subs !== null && c.proto === 2) {
      ctx.r.array(2);
      ctx.r.bulk('pong');
      ctx.r.bulk(args.length === 2 ? args[1] : '');
    } else if (args.length === 2) ctx.r.bulk(args[1]);
    else ctx.r.raw('+PONG\r\n');
  }),
  cmd('echo', 2, 'loading stale fast', NO_KEYS, 'fast connection', { ...G, summary: 'Echo the given string', complexity: 'O(1)' }, (ctx, args) => ctx.r.bulk(args[1])),
  cmd('quit', -1, 'allow_busy noscript loading stale fast no_auth', NO_KEYS, 'fast connection', { ...G, summary: 'Close the connection', complexity: 'O(1)' }, (ctx) => {
    ctx.r.ok();
    ctx.client.suspended = true;
    const c = ctx.client;
    setImmediate(() => ctx.server.closeClient(c, true));
  }),
  cmd('reset', 1, 'noscript loading stale fast no_auth allow_busy', NO_KEYS, 'fast connection', { ...G, since: '6.2.0', summary: 'Reset the connection', complexity: 'O(1)' }, (ctx) => reset(ctx)),
  cmd('hello', -1, 'noscript loading stale fast no_auth allow_busy', NO_KEYS, 'fast connection', { ...G, since: '6.0.0', summary: 'Handshake with Redis', complexity: 'O(1)', history: [['6.2.0', '`protover` made optional; when called without arguments the command reports the current connection\'s context.']] }, hello),
  cmd('auth', -2, 'noscript loading stale fast no_auth allow_busy', NO_KEYS, 'fast connection', { ...G, summary: 'Authenticate to the server', complexity: 'O(N) where N is the number of passwords defined for the user', history: [['6.0.0', 'Added ACL style (username and password).']] }, auth),
  cmd('select', 2, 'loading stale fast', NO_KEYS, 'fast connection', { ...G, summary: 'Change the selected database for the current connection', complexity: 'O(1)' }, select),
  {
    ...cmd('client', -2, 'sentinel', NO_KEYS, 'slow', { ...G, since: '2.4.0', summary: 'A container for client connection commands', complexity: 'Depends on subcommand.' }),
    subcommands: [
      sub('id', 2, '', 'Returns the unique client ID of the connection.', (ctx) => ctx.r.int(ctx.client.id)),
      sub('getname', 2, '', 'Returns the name of the connection.', (ctx) => (ctx.client.name ? ctx.r.bulk(ctx.client.name) : ctx.r.null())),
      sub('setname', 3, '', 'Sets the connection name.', (ctx, args) => {
        if (!validName(args[2])) throw new ReplyError('ERR Client names cannot contain spaces, newlines or special characters.');
        ctx.client.name = args[2];
        ctx.r.ok();
      }),
      sub('setinfo', 4, '', 'Sets information specific to the client or connection.', (ctx, args) => {
        const attr = args[2].toLowerCase();
        if (!validName(args[3]) && args[3] !== '') throw new ReplyError(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
        if (attr === 'lib-name') ctx.client.libName = args[3];
        else if (attr === 'lib-ver') ctx.client.libVer = args[3];
        else throw new ReplyError(`ERR Unrecognized option '${args[2]}'`);
        ctx.r.ok();
      }),
      sub('info', 2, '', 'Returns information about the connection.', (ctx, args) => ctx.r.verbatim(clientInfoLine(ctx.client, args) + '\n'), ['nondeterministic_output']),
      sub('list', -2, 'admin', 'Lists open connections.', clientList, ['nondeterministic_output']),
      sub('kill', -3, 'admin', 'Terminates open connections.', clientKill),
      sub('no-evict', 3, 'admin', 'Sets the client eviction mode of the connection.', (ctx, args) => {
        ctx.client.noEvict = onOff(args[2]);
        ctx.r.ok();
      }),
      sub('reply', 3, '', 'Instructs the server whether to reply to commands.', (ctx, args) => {
        const m = args[2].toLowerCase();
        if (m === 'on') {
          ctx.client.replyMode = 'on';
          ctx.r.ok();
        } else if (m === 'off' || m === 'skip') ctx.client.replyMode = m;
        else throw new ReplyError(ERR.syntax);
      }),
      sub('unblock', -3, 'admin', 'Unblocks a client blocked by a blocking command from a different connection.', (ctx, args) => {
        const id = toSafeInt(args[2]);
        if (id === null) throw new ReplyError(ERR.notInt);
        let withError = false;
        if (args.length === 4) {
          const how = args[3].toLowerCase();
          if (how === 'error') withError = true;
          else if (how !== 'timeout') throw new ReplyError('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
        } else if (args.length > 4) throw new ReplyError(ERR.syntax);
        const target = ctx.server.clients.get(id);
        ctx.r.int(target !== undefined && unblockClient(ctx.server, target, withError) ? 1 : 0);
      }),
      sub('tracking', -3, '', 'Controls server-assisted client-side caching for the connection.', clientTracking),
      sub('caching', 3, '', 'Instructs the server whether to track the keys in the next request.', (ctx, args) => {
        const t = ctx.client.tracking;
        if (t === null) throw new ReplyError('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
        const v = args[2].toLowerCase();
        if (v === 'yes') {
          if (!t.optin) throw new ReplyError('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
        } else if (v === 'no') {
          if (!t.optout) throw new ReplyError('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
        } else throw new ReplyError(ERR.syntax);
        t.caching = true;
        ctx.r.ok();
      }),
      sub('getredir', 2, '', 'Returns the client ID to which the connection\'s tracking notifications are redirected.', (ctx) => ctx.r.int(ctx.client.tracking?.redirect ?? -1)),
      sub('trackinginfo', 2, '', 'Returns information about server-assisted client-side caching for the connection.', trackingInfoReply),
      sub('pause', -3, 'admin', 'Suspends commands processing.', (ctx, args) => {
        if (args.length > 4) throw new ReplyError(`ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.`);
        let type: 'write' | 'all' = 'all';
        if (args.length === 4) {
          const m = args[3].toLowerCase();
          if (m === 'write' || m === 'all') type = m;
          else throw new ReplyError('ERR CLIENT PAUSE mode must be WRITE or ALL');
        }
        const ms = parseInt64(args[2]);
        if (ms === null) throw new ReplyError('ERR timeout is not an integer or out of range');
        if (ms < 0n) throw new ReplyError('ERR timeout is negative');
        pauseClients(ctx.server, Date.now() + Math.min(Number(ms), 2 ** 52), type);
        ctx.r.ok();
      }),
      sub('unpause', 2, 'admin', 'Resumes processing of clients that were paused.', (ctx) => {
        unpauseClients();
        ctx.r.ok();
      }),
      sub('help', 2, '', 'Returns helpful text about the different subcommands.', (ctx) => {
        ctx.r.array(CLIENT_HELP.length);
        for (const l of CLIENT_HELP) ctx.r.simple(l);
      }),
    ],
  },
);
