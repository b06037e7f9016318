/**
 * Client-side caching (Redis's tracking.c). A client with CLIENT TRACKING
 * ON is told when a key it read may have changed:
 *  - default mode: the keys each of its read commands used are remembered
 *    (one table for all databases, key -> client ids); the first change of
 *    such a key sends the invalidation and forgets the entry;
 *  - BCAST: every change of a key under one of its prefixes is sent, in
 *    one batch per prefix after the current round of commands;
 *  - OPTIN / OPTOUT with CLIENT CACHING, NOLOOP, REDIRECT to another
 *    connection (RESP2 through the __redis__:invalidate channel).
 * The message is a RESP3 push `>2 invalidate [keys]` (a null: everything,
 * after a flush). Messages for the client whose command made the change go
 * out after that command's reply, never inside it.
 */
import { defineParam } from '../config/params.js';
import { keyPositions, type CommandSpec } from '../commands/spec.js';
import type { Client } from './client.js';
import type { Server } from './server.js';
import { running } from './context.js';

export interface TrackingState {
  redirect: number;
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** CLIENT CACHING yes (OPTIN) / no (OPTOUT), for the next command or transaction. */
  caching: boolean;
  brokenRedirect: boolean;
  prefixes: Set<string>;
}

/** Read on every key change: false while nobody ever turned tracking on. */
export const trackingActive = { on: false };

const settings = { maxKeys: 1_000_000 };
defineParam({
  name: 'tracking-table-max-keys',
  type: 'int',
  default: '1000000',
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
  mutable: true,
  help: 'keys the client-side caching table remembers; past it, keys are forgotten (their clients told to drop them). 0: no limit',
  apply: (v) => (settings.maxKeys = Number(v)),
});

/** key -> ids of the clients that may cache it. */
const table = new Map<string, Set<number>>();
let totalItems = 0;
/** prefix -> BCAST clients and the keys changed under it since the last broadcast (key -> who changed it). */
const prefixes = new Map<string, { clients: Set<Client>; keys: Map<string, Client | null> }>();
let trackingClients = 0;
let server: Server | null = null;

/** The client whose top-level command runs now (Redis's server.current_client), and that command. */
const current = { client: null as Client | null, spec: null as CommandSpec | null, args: null as string[] | null };
/** Invalidations for the current client, sent after its command's reply: keys, or null for a flush. */
const pending: (string | null)[] = [];
let broadcastScheduled = false;
let limitCounter = 0;

const CHANNEL = '__redis__:invalidate';

export function trackingInfo(): { clients: number; keys: number; items: number; prefixes: number } {
  return { clients: trackingClients, keys: table.size, items: totalItems, prefixes: prefixes.size };
}

/** CLIENT TRACKING ON, once its options were checked. */
export function enableTracking(srv: Server, c: Client, redirect: number, opts: { bcast: boolean; optin: boolean; optout: boolean; noloop: boolean }, pfx: string[]): void {
  server = srv;
  trackingActive.on = true;
  if (c.tracking === null) {
    trackingClients++;
    c.tracking = { redirect: 0, bcast: false, optin: false, optout: false, noloop: false, caching: false, brokenRedirect: false, prefixes: new Set() };
  }
  const t = c.tracking;
  t.redirect = redirect;
  t.brokenRedirect = false;
  t.bcast = opts.bcast;
  t.optin = opts.optin;
  t.optout = opts.optout;
  t.noloop = opts.noloop;
  if (opts.bcast) for (const p of pfx.length === 0 ? [''] : pfx) addPrefix(c, p);
}

function addPrefix(c: Client, p: string): void {
  let bs = prefixes.get(p);
  if (bs === undefined) prefixes.set(p, (bs = { clients: new Set(), keys: new Map() }));
  bs.clients.add(c);
  c.tracking!.prefixes.add(p);
}

/** CLIENT TRACKING OFF, RESET, disconnect. Its entries in the key table are dropped lazily, as in Redis. */
export function disableTracking(c: Client): void {
  const t = c.tracking;
  if (t === null) return;
  for (const p of t.prefixes) {
    const bs = prefixes.get(p);
    if (bs === undefined) continue;
    bs.clients.delete(c);
    if (bs.clients.size === 0) prefixes.delete(p);
  }
  c.tracking = null;
  trackingClients--;
}

/** checkPrefixCollisionsOrReply: the error text, or null. */
export function prefixCollision(c: Client, pfx: string[]): string | null {
  const overlap = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
  for (let i = 0; i < pfx.length; i++) {
    for (const old of c.tracking?.prefixes ?? []) {
      if (overlap(old, pfx[i])) return `ERR Prefix '${pfx[i]}' overlaps with an existing prefix '${old}'. Prefixes for a single client must not overlap.`;
    }
    for (let j = i + 1; j < pfx.length; j++) {
      if (overlap(pfx[i], pfx[j])) return `ERR Prefix '${pfx[i]}' overlaps with another provided prefix '${pfx[j]}'. Prefixes for a single client must not overlap.`;
    }
  }
  return null;
}

/** The dispatcher, before a top-level command: whose changes are "its own" (NOLOOP) and whose messages wait. */
export function trackingBegin(c: Client, spec: CommandSpec, args: string[]): void {
  current.client = c;
  current.spec = spec;
  current.args = args;
}

/**
 * The dispatcher, after a command ran (top level, inside EXEC or a script):
 * a read command makes its keys tracked for the client that reads (for a
 * script, the keys its caller declared).
 */
export function trackingAfterCall(c: Client, spec: CommandSpec, args: string[]): void {
  if (!spec.flags.includes('readonly') || spec.name === 'eval_ro' || spec.name === 'evalsha_ro' || spec.name === 'fcall_ro') return;
  let reader = c;
  if (c.fromScript) {
    if (current.client === null || current.spec === null) return;
    reader = current.client;
    spec = current.spec;
    args = current.args!;
  }
  const t = reader.tracking;
  if (t === null || t.bcast) return;
  if ((t.optin && !t.caching) || (t.optout && t.caching)) return;
  if (spec.flags.includes('pubsub')) return;
  for (const i of keyPositions(spec, args)) {
    const key = args[i];
    let ids = table.get(key);
    if (ids === undefined) table.set(key, (ids = new Set()));
    if (!ids.has(reader.id)) {
      ids.add(reader.id);
      totalItems++;
    }
  }
}

/**
 * After a top-level command: what waited for its reply is sent, and
 * CLIENT CACHING lasts one command (or one transaction), CLIENT commands aside.
 */
export function trackingEndCommand(c: Client, spec: CommandSpec): void {
  trackingFlushPending();
  current.client = null;
  current.spec = null;
  current.args = null;
  if (c.tracking !== null && c.tracking.caching && c.multi === null && !spec.name.startsWith('client')) c.tracking.caching = false;
}

/** signalModifiedKey's half for tracking: key changed (or expired, or was evicted). */
export function trackingInvalidateKey(key: string, bcast = true): void {
  if (bcast && prefixes.size > 0) rememberForBroadcast(key);
  const ids = table.get(key);
  if (ids === undefined) return;
  table.delete(key);
  totalItems -= ids.size;
  for (const id of ids) {
    const target = server?.clients.get(id);
    if (target === undefined || target.tracking === null || target.tracking.bcast) continue;
    if (target.tracking.noloop && target === current.client) continue;
    if (target === current.client) pending.push(key);
    else send(target, oneKey(key));
  }
}

function oneKey(key: string): Buffer {
  return Buffer.from(`*1\r\n$${Buffer.byteLength(key, 'latin1')}\r\n${key}\r\n`, 'latin1');
}

function rememberForBroadcast(key: string): void {
  for (const [p, bs] of prefixes) {
    if (!key.startsWith(p)) continue;
    bs.keys.set(key, current.client);
  }
  if (!broadcastScheduled) {
    broadcastScheduled = true;
    // Redis sends them in beforeSleep: after the commands of this round.
    setImmediate(broadcast);
  }
}

function broadcast(): void {
  broadcastScheduled = false;
  for (const bs of prefixes.values()) {
    if (bs.keys.size === 0) continue;
    const all = keysArray(bs.keys, null);
    for (const c of bs.clients) {
      if (c.tracking?.noloop) {
        const mine = keysArray(bs.keys, c);
        if (mine !== null) send(c, mine);
      } else send(c, all!);
    }
    bs.keys = new Map();
  }
}

/** trackingBuildBroadcastReply: the keys as a RESP array, without those `except` changed; null if none left. */
function keysArray(keys: Map<string, Client | null>, except: Client | null): Buffer | null {
  const parts: string[] = [];
  for (const [k, who] of keys) if (except === null || who !== except) parts.push(`$${Buffer.byteLength(k, 'latin1')}\r\n${k}\r\n`);
  if (parts.length === 0) return null;
  return Buffer.from(`*${parts.length}\r\n` + parts.join(''), 'latin1');
}

/** FLUSHALL / FLUSHDB: every tracking client is told that everything is invalid, and the table is emptied. */
export function trackingFlushed(): void {
  if (trackingClients > 0 && server !== null) {
    for (const c of server.clients.values()) {
      if (c.tracking === null) continue;
      if (c === current.client) pending.push(null);
      else send(c, nullFor(c));
    }
  }
  table.clear();
  totalItems = 0;
}

const nullFor = (c: Client) => Buffer.from(c.proto === 3 ? '_\r\n' : '$-1\r\n');

/**
 * sendTrackingMessage: `payload` (a RESP array of keys, or a null) to c, or
 * to the client it redirects to; a RESP2 client can only get them through
 * a redirection to a connection subscribed to __redis__:invalidate.
 */
function send(c: Client, payload: Buffer): void {
  const t = c.tracking!;
  let to = c;
  let redirected = false;
  if (t.redirect !== 0) {
    const r = server?.clients.get(t.redirect);
    if (r === undefined) {
      t.brokenRedirect = true;
      if (c.proto === 3) deliver(c, Buffer.from(`>2\r\n$21\r\ntracking-redir-broken\r\n:${t.redirect}\r\n`));
      return;
    }
    to = r;
    redirected = true;
  }
  let head: string;
  if (to.proto === 3) head = '>2\r\n$10\r\ninvalidate\r\n';
  else if (redirected && to.subs !== null) head = `*3\r\n$7\r\nmessage\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n`;
  else return;
  deliver(to, Buffer.concat([Buffer.from(head), payload]));
}

/** Into the running command's reply stream when `to` is the client being answered now, else straight out. */
function deliver(to: Client, b: Buffer): void {
  const ctx = running.ctx;
  if (ctx !== null && ctx.client === to && to.replyMode === 'on') ctx.r.rawBuffer(b);
  else to.sendRaw(b);
}

/** Send what waited for the current client's reply (Redis's trackingHandlePendingKeyInvalidations). */
export function trackingFlushPending(): void {
  if (pending.length === 0) return;
  const c = current.client;
  const keys = pending.splice(0);
  if (c === null || c.closing || c.tracking === null) return;
  for (const k of keys) send(c, k === null ? nullFor(c) : oneKey(k));
}

/**
 * Serving a blocked client runs its command now: its own changes wait for
 * its reply, as for a command it sent (Redis's current_client while unblocking).
 */
export function trackingServing<T>(c: Client, serve: () => T): T {
  const saved = { ...current };
  current.client = c;
  try {
    return serve();
  } finally {
    const keys = pending.splice(0);
    Object.assign(current, saved);
    if (c.tracking !== null && !c.closing) for (const k of keys) send(c, k === null ? nullFor(c) : oneKey(k));
  }
}

/** trackingLimitUsedSlots: over tracking-table-max-keys, forget keys (oldest first), telling their clients. */
export function trackingLimitUsedSlots(): void {
  const max = settings.maxKeys;
  if (max === 0 || table.size <= max) {
    limitCounter = 0;
    return;
  }
  let effort = 100 * (limitCounter + 1);
  for (const key of table.keys()) {
    if (effort-- <= 0) break;
    trackingInvalidateKey(key, false);
    if (table.size <= max) {
      limitCounter = 0;
      return;
    }
  }
  limitCounter++;
}
