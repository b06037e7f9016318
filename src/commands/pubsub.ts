/**
 * Pub/sub family: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH
 * PUBSUB, and the sharded SSUBSCRIBE SUNSUBSCRIBE SPUBLISH (one node: a
 * shard channel is a channel of its own namespace that patterns ignore).
 *
 * Subscribe confirmations and messages are pushes: `>` frames in RESP3,
 * plain arrays in RESP2. A published message is encoded once per protocol
 * and the same bytes are written to every subscriber.
 */
import { register } from './registry.js';
import { keyAt, cmd, NO_KEYS, type CommandSpec, type CmdOptions } from './spec.js';
import { ReplyError } from '../protocol/errors.js';
import { globMatch } from '../keyspace/glob.js';
import { resetHooks, shardSubscriptions } from './connection.js';
import type { CommandContext } from '../server/context.js';
import type { Client } from '../server/client.js';
import type { Server } from '../server/server.js';
import { notifySink } from '../keyspace/notify.js';
import { running } from '../server/context.js';
import { subscriptionsOf } from '../acl/sessions.js';

const G = { group: 'pubsub' };

/** channel -> subscribers, pattern -> subscribers, shard channel -> subscribers */
const channels = new Map<string, Set<Client>>();
const patterns = new Map<string, Set<Client>>();
const shardChannels = new Map<string, Set<Client>>();
/** Shard subscriptions per client (Client.subs has no room for them). */
const shardSubs = new Map<Client, Set<string>>();

function bulk(s: string): string {
  return '$' + s.length + '\r\n' + s + '\r\n';
}

/** A push frame of bulk strings, or with a final integer (`count`). */
function frame(proto: 2 | 3, parts: (string | null)[], count?: number): Buffer {
  const n = parts.length + (count === undefined ? 0 : 1);
  let s = (proto === 3 ? '>' : '*') + n + '\r\n';
  for (const p of parts) s += p === null ? (proto === 3 ? '_\r\n' : '$-1\r\n') : bulk(p);
  if (count !== undefined) s += ':' + count + '\r\n';
  return Buffer.from(s, 'latin1');
}

/**
 * A push to the client running the command: it goes after the replies it
 * is pipelined behind. Pushes are sent even under CLIENT REPLY OFF/SKIP, as
 * Redis does, so then they are flushed at once (a flushed reply cannot be
 * rewound).
 */
function pushToSelf(ctx: CommandContext, b: Buffer): void {
  ctx.r.rawBuffer(b);
  if (ctx.client.replyMode !== 'on') ctx.r.flush();
}

function subsOf(c: Client) {
  if (c.subs === null) c.subs = { channels: new Set(), patterns: new Set() };
  return c.subs;
}

/** Subscriptions that count in (P)SUBSCRIBE replies: channels plus patterns. */
function subscriptionCount(c: Client): number {
  return c.subs === null ? 0 : c.subs.channels.size + c.subs.patterns.size;
}

subscriptionsOf.shard = (c) => shardSubs.get(c) ?? [];

function shardCount(c: Client): number {
  return shardSubs.get(c)?.size ?? 0;
}

/** Leave subscribed mode once nothing is left (RESP2 clients may run anything again). */
function maybeLeave(c: Client): void {
  if (c.subs !== null && c.subs.channels.size === 0 && c.subs.patterns.size === 0 && shardCount(c) === 0) c.subs = null;
}

function addTo(m: Map<string, Set<Client>>, name: string, c: Client): void {
  let s = m.get(name);
  if (s === undefined) m.set(name, (s = new Set()));
  s.add(c);
}

function removeFrom(m: Map<string, Set<Client>>, name: string, c: Client): void {
  const s = m.get(name);
  if (s === undefined) return;
  s.delete(c);
  if (s.size === 0) m.delete(name);
}

function subscribe(ctx: CommandContext, args: string[]): void {
  const c = ctx.client;
  const subs = subsOf(c);
  for (let i = 1; i < args.length; i++) {
    const ch = args[i];
    if (!subs.channels.has(ch)) {
      subs.channels.add(ch);
      addTo(channels, ch, c);
    }
    pushToSelf(ctx, frame(c.proto, ['subscribe', ch], subscriptionCount(c)));
  }
}

function unsubscribeChannel(ctx: CommandContext | null, c: Client, ch: string): void {
  if (c.subs?.channels.delete(ch)) removeFrom(channels, ch, c);
  if (ctx !== null) pushToSelf(ctx, frame(c.proto, ['unsubscribe', ch], subscriptionCount(c)));
}

function unsubscribe(ctx: CommandContext, args: string[]): void {
  const c = ctx.client;
  const list = args.length > 1 ? args.slice(1) : [...(c.subs?.channels ?? [])];
  if (list.length === 0) pushToSelf(ctx, frame(c.proto, ['unsubscribe', null], subscriptionCount(c)));
  for (const ch of list) unsubscribeChannel(ctx, c, ch);
  maybeLeave(c);
}

function psubscribe(ctx: CommandContext, args: string[]): void {
  const c = ctx.client;
  const subs = subsOf(c);
  for (let i = 1; i < args.length; i++) {
    const p = args[i];
    if (!subs.patterns.has(p)) {
      subs.patterns.add(p);
      addTo(patterns, p, c);
    }
    pushToSelf(ctx, frame(c.proto, ['psubscribe', p], subscriptionCount(c)));
  }
}

function punsubscribe(ctx: CommandContext, args: string[]): void {
  const c = ctx.client;
  const list = args.length > 1 ? args.slice(1) : [...(c.subs?.patterns ?? [])];
  if (list.length === 0) pushToSelf(ctx, frame(c.proto, ['punsubscribe', null], subscriptionCount(c)));
  for (const p of list) {
    if (c.subs?.patterns.delete(p)) removeFrom(patterns, p, c);
    pushToSelf(ctx, frame(c.proto, ['punsubscribe', p], subscriptionCount(c)));
  }
  maybeLeave(c);
}

function ssubscribe(ctx: CommandContext, args: string[]): void {
  const c = ctx.client;
  subsOf(c);
  let mine = shardSubs.get(c);
  if (mine === undefined) shardSubs.set(c, (mine = new Set()));
  for (let i = 1; i < args.length; i++) {
    const ch = args[i];
    if (!mine.has(ch)) {
      mine.add(ch);
      addTo(shardChannels, ch, c);
    }
    pushToSelf(ctx, frame(c.proto, ['ssubscribe', ch], mine.size));
  }
}

function sunsubscribe(ctx: CommandContext, args: string[]): void {
  const c = ctx.client;
  const mine = shardSubs.get(c);
  const list = args.length > 1 ? args.slice(1) : [...(mine ?? [])];
  if (list.length === 0) pushToSelf(ctx, frame(c.proto, ['sunsubscribe', null], shardCount(c)));
  for (const ch of list) {
    if (mine?.delete(ch)) removeFrom(shardChannels, ch, c);
    pushToSelf(ctx, frame(c.proto, ['sunsubscribe', ch], shardCount(c)));
  }
  if (mine?.size === 0) shardSubs.delete(c);
  maybeLeave(c);
}

/** Drop every subscription of c without telling it (disconnect, RESET). */
function dropAll(c: Client): void {
  if (c.subs !== null) {
    for (const ch of c.subs.channels) removeFrom(channels, ch, c);
    for (const p of c.subs.patterns) removeFrom(patterns, p, c);
  }
  for (const ch of shardSubs.get(c) ?? []) removeFrom(shardChannels, ch, c);
  shardSubs.delete(c);
  c.subs = null;
}

/** Encodes a message lazily, once per protocol version. */
class Encoded {
  private v2: Buffer | null = null;
  private v3: Buffer | null = null;
  constructor(private readonly parts: string[]) {}
  get(proto: 2 | 3): Buffer {
    if (proto === 3) return (this.v3 ??= frame(3, this.parts));
    return (this.v2 ??= frame(2, this.parts));
  }
}

let server: Server | null = null;

/**
 * A subscriber that does not read would make the server buffer messages
 * without bound: sendRaw applies client-output-buffer-limit (pubsub class,
 * 32mb hard by default) and closes it, as Redis does (memory/client-output.ts).
 */
function deliver(ctx: CommandContext | null, subscribers: Set<Client>, msg: Encoded): number {
  let n = 0;
  for (const s of subscribers) {
    n++;
    const b = msg.get(s.proto);
    if (ctx !== null && s === ctx.client) pushToSelf(ctx, b);
    else {
      s.sendRaw(b);
      if (server !== null) server.stats.netOutputBytes += b.length;
    }
  }
  return n;
}

/**
 * Publish to channel subscribers and matching patterns; returns the number
 * of receivers. `ctx` is the publishing command (its own client's copy goes
 * in order with its replies); other modules may pass null.
 */
export function publishMessage(ctx: CommandContext | null, channel: string, message: string): number {
  let n = 0;
  const subs = channels.get(channel);
  if (subs !== undefined) n += deliver(ctx, subs, new Encoded(['message', channel, message]));
  for (const [p, clients] of patterns) {
    if (globMatch(p, channel)) n += deliver(ctx, clients, new Encoded(['pmessage', p, channel, message]));
  }
  return n;
}

function wrongArgs(args: string[]): string {
  return `ERR unknown subcommand or wrong number of arguments for '${args[1].slice(0, 128)}'. Try ${args[0].toUpperCase()} HELP.`;
}

function channelList(ctx: CommandContext, m: Map<string, Set<Client>>, args: string[]): void {
  const pat = args.length === 3 ? args[2] : null;
  const out: string[] = [];
  for (const ch of m.keys()) if (pat === null || globMatch(pat, ch)) out.push(ch);
  ctx.r.bulks(out);
}

function numsub(ctx: CommandContext, m: Map<string, Set<Client>>, args: string[]): void {
  // A flat array even in RESP3, as Redis 7.0 answers.
  ctx.r.array((args.length - 2) * 2);
  for (let i = 2; i < args.length; i++) {
    ctx.r.bulk(args[i]);
    ctx.r.int(m.get(args[i])?.size ?? 0);
  }
}

const PUBSUB_HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

resetHooks.push((ctx) => dropAll(ctx.client));
// Inside a command the client's own copy goes in order with its replies;
// expiry and eviction in the background have no command.
notifySink.publish = (channel, message) => void publishMessage(running.ctx, channel, message);
shardSubscriptions.count = shardCount;

/** Disconnects clean up through the server's hook list, registered on first use. */
function ensureCloseHook(ctx: CommandContext): void {
  if (server === ctx.server) return;
  server = ctx.server;
  server.clientClosedHooks.push(dropAll);
}

const SUB_FLAGS = 'pubsub noscript loading stale';
const chanArg = (name: string, optional = false) => [{ name, type: 'string' as const, multiple: true, optional }];

function withHook(h: (ctx: CommandContext, args: string[]) => void) {
  return (ctx: CommandContext, args: string[]) => {
    ensureCloseHook(ctx);
    h(ctx, args);
  };
}

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  channels: { summary: 'List active channels', complexity: 'O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)' },
  numsub: { summary: 'Get the count of subscribers for channels', complexity: 'O(N) for the NUMSUB subcommand, where N is the number of requested channels' },
  numpat: { summary: 'Get the count of unique patterns pattern subscriptions', complexity: 'O(1)' },
  shardchannels: { summary: 'List active shard channels', complexity: 'O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).' },
  shardnumsub: { summary: 'Get the count of subscribers for shard channels', complexity: 'O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels' },
  help: { summary: 'Show helpful text about the different subcommands', complexity: 'O(1)' },
};

const psub = (name: string, arity: number, summary: string, since: string, handler: CommandSpec['handler']) =>
  cmd('pubsub|' + name, arity, name === 'help' ? 'loading stale' : 'pubsub loading stale', NO_KEYS, name === 'help' ? 'slow' : 'pubsub slow', { ...G, summary, since, ...DOCS[name] }, handler);

register(
  cmd('subscribe', -2, SUB_FLAGS, NO_KEYS, 'pubsub slow', { ...G, since: '2.0.0', args: chanArg('channel'), summary: 'Listen for messages published to the given channels', complexity: 'O(N) where N is the number of channels to subscribe to.' }, withHook(subscribe)),
  cmd('unsubscribe', -1, SUB_FLAGS, NO_KEYS, 'pubsub slow', { ...G, since: '2.0.0', args: chanArg('channel', true), summary: 'Stop listening for messages posted to the given channels', complexity: 'O(N) where N is the number of clients already subscribed to a channel.' }, unsubscribe),
  cmd('psubscribe', -2, SUB_FLAGS, NO_KEYS, 'pubsub slow', { ...G, since: '2.0.0', summary: 'Listen for messages published to channels matching the given patterns', complexity: 'O(N) where N is the number of patterns the client is already subscribed to.', args: [{ name: 'pattern', type: 'block', multiple: true, arguments: [{ name: 'pattern', type: 'pattern' }] }] }, withHook(psubscribe)),
  cmd('punsubscribe', -1, SUB_FLAGS, NO_KEYS, 'pubsub slow', { ...G, since: '2.0.0', args: [{ name: 'pattern', type: 'pattern', multiple: true, optional: true }], summary: 'Stop listening for messages posted to channels matching the given patterns', complexity: 'O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).' }, punsubscribe),
  cmd('ssubscribe', -2, SUB_FLAGS, [1, -1, 1], 'pubsub slow', { ...G, since: '7.0.0', args: chanArg('shardchannel'), keySpec: keyAt(1, 'not_key', undefined, -1, 1), summary: 'Listen for messages published to the given shard channels', complexity: 'O(N) where N is the number of shard channels to subscribe to.' }, withHook(ssubscribe)),
  cmd('sunsubscribe', -1, SUB_FLAGS, [1, -1, 1], 'pubsub slow', { ...G, since: '7.0.0', args: chanArg('shardchannel', true), keySpec: keyAt(1, 'not_key', undefined, -1, 1), summary: 'Stop listening for messages posted to the given shard channels', complexity: 'O(N) where N is the number of clients already subscribed to a shard channel.' }, sunsubscribe),
  cmd('publish', 3, 'pubsub loading stale fast may_replicate', NO_KEYS, 'pubsub fast', { ...G, since: '2.0.0', args: [{ name: 'channel', type: 'string' }, { name: 'message', type: 'string' }], summary: 'Post a message to a channel', complexity: 'O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).' }, (ctx, args) => {
    ctx.r.int(publishMessage(ctx, args[1], args[2]));
  }),
  cmd('spublish', 3, 'pubsub loading stale fast may_replicate', [1, 1, 1], 'pubsub fast', { ...G, summary: 'Post a message to a shard channel', since: '7.0.0', args: [{ name: 'shardchannel', type: 'string' }, { name: 'message', type: 'string' }], keySpec: keyAt(1, 'not_key'), complexity: 'O(N) where N is the number of clients subscribed to the receiving shard channel.' }, (ctx, args) => {
    const subs = shardChannels.get(args[1]);
    ctx.r.int(subs === undefined ? 0 : deliver(ctx, subs, new Encoded(['smessage', args[1], args[2]])));
  }),
  {
    ...cmd('pubsub', -2, '', NO_KEYS, 'slow', { ...G, since: '2.8.0', summary: 'A container for Pub/Sub commands', complexity: 'Depends on subcommand.' }),
    subcommands: [
      psub('channels', -2, 'Returns the active channels.', '2.8.0', (ctx, args) => {
        if (args.length > 3) throw new ReplyError(wrongArgs(args));
        channelList(ctx, channels, args);
      }),
      psub('numsub', -2, 'Returns a count of subscribers to channels.', '2.8.0', (ctx, args) => numsub(ctx, channels, args)),
      psub('numpat', 2, 'Returns a count of unique pattern subscriptions.', '2.8.0', (ctx) => ctx.r.int(patterns.size)),
      psub('shardchannels', -2, 'Returns the active shard channels.', '7.0.0', (ctx, args) => {
        if (args.length > 3) throw new ReplyError(wrongArgs(args));
        channelList(ctx, shardChannels, args);
      }),
      psub('shardnumsub', -2, 'Returns the count of subscribers of shard channels.', '7.0.0', (ctx, args) => numsub(ctx, shardChannels, args)),
      psub('help', 2, 'Returns helpful text about the different subcommands.', '6.2.0', (ctx) => {
        ctx.r.array(PUBSUB_HELP.length);
        for (const l of PUBSUB_HELP) ctx.r.simple(l);
      }),
    ],
  },
);
