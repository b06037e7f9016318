/**
 * One connection: its socket, request parser and session state (db, protocol,
 * name, auth, transaction, subscriptions, blocking).
 */
import type { TrackingState } from './tracking.js';
import type { Socket } from 'node:net';
import { clientLimits, RequestParser } from '../protocol/parser.js';
import { Reply } from '../protocol/reply.js';
import { ClientSink } from './write-batch.js';
import type { Database, Watcher } from '../keyspace/db.js';
import type { CommandSpec } from '../commands/spec.js';
import type { StreamItem } from '../memory/reply-stream.js';
import type { User } from '../acl/user.js';
import { getDefaultUser } from '../acl/users.js';

/** MULTI state: queued commands and whether one was rejected while queueing. */
export interface MultiState {
  queue: { spec: CommandSpec; args: string[] }[];
  failed: boolean;
}

/** Pub/sub subscriptions (kept by the pubsub family). */
export interface SubState {
  channels: Set<string>;
  patterns: Set<string>;
}

export class Client implements Watcher {
  readonly id: number;
  readonly parser: RequestParser;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  name = '';
  libName = '';
  libVer = '';
  proto: 2 | 3 = 2;
  authenticated: boolean;
  /** The ACL user it runs as: default until AUTH/HELLO AUTH (src/acl/). */
  user: User = getDefaultUser();
  db: Database;
  /** Last command run, for CLIENT LIST cmd=. */
  lastCommand = 'NULL';
  /** CLIENT REPLY: 'on', 'off', or 'skip' (the next command only). */
  replyMode: 'on' | 'off' | 'skip' = 'on';
  multi: MultiState | null = null;
  /** WATCHed keys: db -> keys. */
  watching: Map<Database, Set<string>> | null = null;
  /** A WATCHed key changed: the next EXEC fails. */
  dirtyCas = false;
  subs: SubState | null = null;
  /** Running EXEC's queue: blocking commands must not block. */
  inExec = false;
  /** The client a script's commands run on (Redis's CLIENT_SCRIPT): some commands refuse options there. */
  get fromScript(): boolean {
    return false;
  }
  /**
   * Suspended: a command (blocking pop, SAVE) will answer later; until then
   * the rest of the pipeline waits in the parser, as in Redis.
   */
  suspended = false;
  /** Until its first line arrived, a connection may be an HTTP request (server/http.ts): its bytes so far. */
  sniff: Buffer | null = Buffer.alloc(0);
  /** CLIENT TRACKING state (src/server/tracking.ts); null when off. */
  tracking: TrackingState | null = null;
  /**
   * Commands parsed ahead of the one running (server/read-ahead.ts), from
   * aheadPos on; a command held by CLIENT PAUSE goes back to the front.
   */
  ahead: string[][] = [];
  aheadPos = 0;
  /** A protocol error found while reading ahead: answered once the commands before it have run. */
  aheadError: unknown = null;
  /** Called when the connection closes (blocking ops unregister here). */
  onClose: (() => void) | null = null;
  closing = false;
  noEvict = false;
  /**
   * Over its output limit (memory/client-output.ts): nothing more is run or
   * sent for it, and it is closed on the next turn of the event loop.
   */
  closeAsap = false;
  /** When the soft output limit was first seen reached (ms), 0 if not. */
  obufSoftSince = 0;
  /**
   * Streamed replies the command just run will produce in pieces, with what
   * follows them (memory/reply-stream.ts); empty when none.
   */
  pendingStream: StreamItem[] = [];
  /** The streamed reply being written, if any: abort() lets go of it when the client goes. */
  stream: { abort(): void } | null = null;
  /**
   * Out-of-band output (pub/sub, MONITOR, unblocked replies) that arrives
   * while a streamed reply is being written: held here and written after it.
   */
  deferred: Buffer[] | null = null;
  deferredBytes = 0;
  /** Set by the server: checks output limits after something was written to the socket. */
  static onOutput: ((c: Client) => void) | null = null;

  /** Everything written to the client goes through here (write-batch.ts): replies wait for the end of the turn. */
  readonly sink: ClientSink;

  constructor(
    id: number,
    readonly socket: Socket,
    db: Database,
    needsAuth: boolean,
  ) {
    this.sink = new ClientSink(socket, () => this.authenticated);
    this.id = id;
    this.db = db;
    this.authenticated = !needsAuth;
    this.parser = new RequestParser(clientLimits(needsAuth));
  }

  get addr(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }
  get laddr(): string {
    return `${this.socket.localAddress}:${this.socket.localPort}`;
  }

  setAuthenticated(v: boolean): void {
    this.authenticated = v;
    this.parser.limits.unauthenticated = !v;
  }

  watchedKeyTouched(): void {
    this.dirtyCas = true;
  }

  /**
   * Write a reply outside the request loop (unblocked pop, pub/sub message,
   * deferred SAVE): encoded in its own buffer and written at once.
   */
  send(write: (r: Reply) => void): void {
    if (this.closing || this.closeAsap) return;
    const r = new Reply();
    r.proto = this.proto;
    if (this.deferred !== null) {
      write(r);
      if (r.pending > 0) this.hold(r.pendingBytes());
      return;
    }
    r.sink = this.sink;
    write(r);
    r.flush();
    Client.onOutput?.(this);
  }

  /** Output to write once the streamed reply in progress is complete. */
  private hold(b: Buffer): void {
    this.deferred!.push(b);
    this.deferredBytes += b.length;
    Client.onOutput?.(this);
  }

  /** Write pre-encoded protocol bytes (a message shared by many subscribers). */
  sendRaw(b: Buffer): void {
    if (this.closing || this.closeAsap) return;
    if (this.deferred !== null) return this.hold(b);
    this.sink.write(b);
    Client.onOutput?.(this);
  }
}
