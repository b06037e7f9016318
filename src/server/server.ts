/**
 * The TCP server: accepts clients, feeds their bytes to the parser, runs
 * commands and writes all replies for one read in one write.
 */
import { newClientAuthenticated } from '../acl/users.js';
import net from 'node:net';
import tls from 'node:tls';
import { tlsEnabled, tlsOptions, watchTlsFiles } from './tls.js';
import { Client } from './client.js';
import { CommandContext, running } from './context.js';
import { forgetPostponed } from './pause.js';
import { serveHttp, sniff } from './http.js';
import { disableTracking, trackingLimitUsedSlots, trackingActive } from './tracking.js';
import { latencySample } from './latency-monitor.js';
import { beginBatch, endBatch, processCommand, scriptBusy } from './dispatch.js';
import { Keyspace } from '../keyspace/keyspace.js';
import { ProtocolError, QueryBufferOverflow } from '../protocol/parser.js';
import { Reply } from '../protocol/reply.js';
import { getInt, getString } from '../config/params.js';
import { onListenChange } from '../config/server-params.js';
import { log } from '../log.js';
import { installBlocking } from './blocking.js';
import { checkClientOutput, outputCron, UNAUTH_OUTPUT_MAX } from '../memory/client-output.js';
import { startStream } from '../memory/reply-stream.js';
import { installIdleRelease } from '../memory/idle-release.js';
import { installMemory } from '../memory/install.js';
import { hasAhead, mayBatch, nextCommand } from './read-ahead.js';
import { addToBatch } from './ready-batch.js';

export interface ServerStats {
  startTime: number;
  connectionsReceived: number;
  rejectedConnections: number;
  commands: number;
  netInputBytes: number;
  netOutputBytes: number;
}

/**
 * Every socket reads into this one buffer (Node's `onread` option) instead
 * of Node allocating a fresh 64 KB buffer per read and pushing it through
 * the Readable stream machinery: at -P 1 that per-read cost was a large part
 * of the server's CPU. Safe because the handler runs synchronously and the
 * parser copies any unparsed tail before returning (RequestParser.retain).
 */
const SHARED_READ = Buffer.allocUnsafe(64 * 1024);
const readers = new WeakMap<net.Socket, Client>();
const sharedReads = new WeakSet<net.Socket>();
/** How long a client closed after an error reply may go on sending (dropped) before the reset. */
const LINGER_MS = 500;

/**
 * net.Server has no `onread` option, so the accepted (paused) socket's
 * handle is moved into a new Socket created with one. If Node's internals
 * ever differ, the original socket is used with 'data' events.
 */
function adoptWithSharedReadBuffer(s: net.Socket, onRead: (socket: net.Socket, n: number) => void): net.Socket {
  const raw = s as unknown as { _handle: unknown };
  const handle = raw._handle;
  if (handle === null || handle === undefined) return s;
  raw._handle = null;
  const adopted: net.Socket = new net.Socket({
    handle,
    readable: true,
    writable: true,
    onread: { buffer: SHARED_READ, callback: (n: number) => void onRead(adopted, n) },
  } as net.SocketConstructorOpts);
  adopted.setNoDelay(true);
  sharedReads.add(adopted);
  return adopted;
}

/** Something to run when the server stops (snapshot on shutdown, close S3...). */
export type ShutdownHook = (opts: { save: boolean | null; force: boolean }) => Promise<void>;

export class Server {
  readonly ks: Keyspace;
  readonly clients = new Map<number, Client>();
  readonly stats: ServerStats = {
    startTime: Date.now(),
    connectionsReceived: 0,
    rejectedConnections: 0,
    commands: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
  };
  /** Data commands answer -LOADING while true. */
  loading = false;
  /** When set (after a failed save), write commands get this error (MISCONF). */
  writesDenied: string | null = null;
  readonly runId = Array.from({ length: 40 }, () => '0123456789abcdef'[(Math.random() * 16) | 0]).join('');
  readonly shutdownHooks: ShutdownHook[] = [];
  /** Work done every 1000/hz ms (active expiry, save rules...). */
  readonly cronJobs: (() => void)[] = [];

  private readonly listeners: net.Server[] = [];
  private readonly reply = new Reply();
  private readonly ctx: CommandContext;
  private nextClientId = 1;
  private cronTimer: NodeJS.Timeout | null = null;
  port = 0;

  constructor(dbnum: number) {
    this.ks = new Keyspace(dbnum);
    this.ctx = new CommandContext(this, this.ks);
    installBlocking(this.ks);
    this.reply.afterFlush = () => this.checkOutput(this.ctx.client, this.reply);
    Client.onOutput = (c) => this.checkOutput(c, null);
    installIdleRelease(this);
    installMemory(this.ks);
  }

  /** Output limits (memory/client-output.ts), after output was written for c. */
  checkOutput(c: Client, r: Reply | null): void {
    checkClientOutput(this, c, r);
  }

  async listen(): Promise<void> {
    this.boundTo = getString('bind');
    const opened = await this.openListeners(this.boundTo, getInt('port'));
    this.listeners.push(...opened.servers);
    this.port = opened.port;
    if (opened.tls.length > 0) watchTlsFiles(opened.tls);
    onListenChange((bind, port) => this.rebind(bind, port));
    this.startCron();
  }

  /**
   * Listen on every address of `bind` (space- or comma-separated; a leading
   * '-' marks an address that may be missing on this machine, as in Redis)
   * at `port`, all or nothing: if one fails the others are closed and the
   * error is thrown. TLS and the HTTP /metrics endpoint are served on these
   * listeners as on the first ones.
   */
  private async openListeners(bind: string, port: number): Promise<{ servers: net.Server[]; tls: tls.Server[]; port: number }> {
    const addrs = bind.split(/[\s,]+/).filter(Boolean);
    const secure = tlsEnabled() ? tlsOptions() : null;
    const servers: net.Server[] = [];
    const tlsServers: tls.Server[] = [];
    try {
      // No address at all is every address, as Redis's default_bindaddr.
      for (const addr of addrs.length > 0 ? addrs : ['*', '-::*']) {
        const optional = addr.startsWith('-');
        const bare = optional ? addr.slice(1) : addr;
        const host = bare === '*' ? '0.0.0.0' : bare === '::*' ? '::' : bare;
        let srv: net.Server;
        if (secure !== null) {
          // TLS sockets decrypt in JS: they take the ordinary 'data' path, not the shared read buffer.
          const t = tls.createServer({ ...secure, noDelay: true }, (s) => this.accept(s));
          t.on('tlsClientError', (err, s) => log.info({ addr: `${s.remoteAddress}:${s.remotePort}`, error: err.message }, 'TLS handshake failed'));
          srv = t;
        } else srv = net.createServer({ noDelay: true, pauseOnConnect: true }, (s) => this.accept(adoptWithSharedReadBuffer(s, (c, n) => this.onRead(c, n))));
        try {
          await new Promise<void>((resolve, reject) => {
            srv.once('error', reject);
            srv.listen({ host, port, backlog: 511, ipv6Only: host.includes(':') }, () => {
              srv.off('error', reject);
              resolve();
            });
          });
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (optional && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
          throw e;
        }
        if (secure !== null) tlsServers.push(srv as tls.Server);
        // With port 0, later addresses share the port the first one got.
        port = (srv.address() as net.AddressInfo).port;
        servers.push(srv);
      }
    } catch (e) {
      for (const srv of servers) srv.close();
      throw e;
    }
    return { servers, tls: tlsServers, port };
  }

  private rebinding: Promise<void> = Promise.resolve();
  /** The bind setting the listeners were opened with. */
  private boundTo = '';

  /**
   * CONFIG SET port / bind: listen on the new port and addresses, then stop
   * listening on the old ones (connected clients stay, as in Redis's
   * changeListenPort). If the new ones cannot all be bound, the old
   * listeners are kept and the error says so. One rebind at a time.
   */
  rebind(bind: string, port: number): Promise<void> {
    const run = async () => {
      // Port 0 picked a free port at start-up: changing the addresses keeps that port.
      if (port === 0) port = this.port;
      if (bind === this.boundTo && port === this.port) return;
      let opened;
      try {
        opened = await this.openListeners(bind, port);
      } catch (e) {
        log.warn({ bind, port, error: (e as Error).message }, 'cannot listen on the new address or port: keeping the old listeners');
        throw e;
      }
      for (const l of this.listeners.splice(0)) l.close();
      this.listeners.push(...opened.servers);
      this.port = opened.port;
      this.boundTo = bind;
      if (opened.tls.length > 0) watchTlsFiles(opened.tls);
      log.info({ port: this.port, bind }, 'listening');
    };
    const next = this.rebinding.then(run, run);
    this.rebinding = next.catch(() => {});
    return next;
  }

  private startCron(): void {
    const hz = getInt('hz');
    this.cronTimer = setInterval(() => this.cron(), Math.max(1, Math.floor(1000 / hz)));
    this.cronTimer.unref();
  }

  private cron(): void {
    // Nothing runs between a busy script's time slices (Redis runs no cron
    // while a script is busy): a save or expiry there would see half a script.
    if (scriptBusy.error() !== null) return;
    // Redis spends at most 25% of each cron period on active expiry.
    if (trackingActive.on) trackingLimitUsedSlots();
    const t0 = performance.now();
    // Redis's slow cycle: 25% of the cron period, 2% more per step of active-expire-effort.
    const effort = getInt('active-expire-effort');
    this.ks.activeExpire(Math.max(1, ((25 + 2 * (effort - 1)) * 10) / getInt('hz')), effort);
    latencySample('expire-cycle', performance.now() - t0);
    this.ks.shrinkTables(1);
    const idle = getInt('timeout');
    if (idle > 0) {
      const now = Date.now();
      for (const c of this.clients.values()) {
        if (!c.suspended && c.subs === null && now - c.lastInteraction > idle * 1000) this.closeClient(c);
      }
    }
    outputCron(this);
    for (const job of this.cronJobs) job();
  }

  private accept(socket: net.Socket): void {
    this.stats.connectionsReceived++;
    if (this.clients.size >= getInt('maxclients')) {
      this.stats.rejectedConnections++;
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    const c = new Client(
      this.nextClientId++,
      socket,
      this.ks.dbs[0],
      !newClientAuthenticated(),
    );
    this.clients.set(c.id, c);
    readers.set(socket, c);
    if (!sharedReads.has(socket)) {
      socket.on('data', (chunk: Buffer) => this.onData(c, chunk, false));
      socket.resume();
    }
    socket.on('error', () => this.closeClient(c));
    socket.on('close', () => this.closeClient(c));
  }

  /** A read into the shared buffer: parse and run what it holds, keep only the tail. */
  private onRead(socket: net.Socket, nread: number): void {
    const c = readers.get(socket);
    // A client scheduled to close reads nothing more (Redis's CLOSE_ASAP):
    // libuv may deliver many reads before the close, each one appended to
    // the parser's buffer for nothing.
    if (c === undefined || c.closing || c.closeAsap) return;
    try {
      this.onData(c, SHARED_READ.subarray(0, nread), true);
    } finally {
      c.parser.retain();
    }
  }

  private onData(c: Client, chunk: Buffer, transient: boolean): void {
    if (c.closeAsap || c.closing) return;
    if (c.sniff !== null) {
      const head = c.sniff.length === 0 ? chunk : Buffer.concat([c.sniff, chunk]);
      const kind = sniff(head);
      if (kind === 'more') {
        c.sniff = Buffer.from(head);
        return;
      }
      c.sniff = null;
      if (kind === 'http') {
        // Not a Redis client: it must not count itself in connected_clients.
        this.clients.delete(c.id);
        serveHttp(this, c.socket, head);
        this.closeClient(c, true);
        return;
      }
      if (head !== chunk) {
        chunk = head;
        transient = false;
      }
    }
    this.stats.netInputBytes += chunk.length;
    c.lastInteraction = Date.now();
    try {
      c.parser.feed(chunk, transient);
    } catch (e) {
      if (e instanceof QueryBufferOverflow) {
        log.warn({ client: c.id, addr: c.addr }, 'closing client that reached max query buffer length');
        this.closeClient(c);
        return;
      }
      throw e;
    }
    if (mayBatch(c)) addToBatch(c, this.runInput);
    else this.processInput(c);
  }

  private readonly runInput = (c: Client): void => this.processInput(c);

  /** Run every complete command the client has sent, then write the replies at once. */
  processInput(c: Client): void {
    const r = this.reply;
    const ctx = this.ctx;
    r.sink = c.sink;
    r.proto = c.proto;
    ctx.client = c;
    ctx.db = c.db;
    ctx.r = r;
    beginBatch(this.ks);
    const outer = running.ctx;
    running.ctx = ctx;
    try {
      this.runCommands(c, r, ctx);
    } finally {
      running.ctx = outer;
      endBatch();
      if (r.discard || c.closeAsap) {
        // Over its output limit: what is left is never sent, and the
        // shared reply must be clean for the next client.
        r.drop();
        r.discard = false;
      }
    }
  }

  private runCommands(c: Client, r: Reply, ctx: CommandContext): void {
    while (!c.suspended && !c.closing && !c.closeAsap) {
      let args: string[] | null;
      try {
        args = nextCommand(c, c.db);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        r.error('ERR ' + e.message);
        this.flush(c, r);
        log.info({ client: c.id, addr: c.addr, error: e.message }, 'protocol error, closing client');
        this.closeClient(c, true);
        return;
      }
      if (args === null) break;
      if (args.length === 0) continue;
      const mode = c.replyMode;
      if (mode === 'on') {
        processCommand(ctx, args);
      } else {
        // CLIENT REPLY OFF/SKIP: drop what the command wrote, except the
        // +OK of a CLIENT REPLY ON that ends OFF mode.
        const mark = r.mark();
        processCommand(ctx, args);
        if (mode === 'skip') {
          // CLIENT REPLY ON clears SKIP before answering: its +OK is sent.
          if (c.replyMode !== 'on') r.rewind(mark);
          if (c.replyMode === 'skip') c.replyMode = 'on';
        } else if (c.replyMode === 'off') r.rewind(mark);
      }
      r.proto = c.proto;
      // Redis checks an unauthenticated client's output as each reply is
      // added, before anything is written (memory/client-output.ts).
      if (!c.authenticated && c.socket.writableLength + r.pending > UNAUTH_OUTPUT_MAX) checkClientOutput(this, c, r);
      if (c.pendingStream.length > 0) {
        // What the command wrote before its streamed reply goes first; what
        // it wrote after (EXEC) is in the queued tail Replies.
        const items = c.pendingStream;
        c.pendingStream = [];
        ctx.r = r;
        this.flush(c, r);
        if (!c.closeAsap) startStream(this, c, items);
        else for (const it of items) if (!(it instanceof Reply)) it.release?.();
        return;
      }
    }
    if (c.closeAsap) return;
    this.flush(c, r);
  }

  private flush(c: Client, r: Reply): void {
    this.stats.netOutputBytes += r.pending;
    r.flush();
  }

  /** Continue a suspended client's pipeline (after it was answered). */
  resume(c: Client): void {
    c.suspended = false;
    setImmediate(() => {
      if (!c.closing && !c.suspended && (c.parser.buffered > 0 || hasAhead(c))) this.processInput(c);
    });
  }

  /** Close a client; `afterWrite` lets a final error reply reach it first. */
  closeClient(c: Client, afterWrite = false): void {
    if (c.closing) return;
    c.closing = true;
    this.clients.delete(c.id);
    forgetPostponed(c);
    disableTracking(c);
    c.onClose?.();
    for (const [db, keys] of c.watching ?? []) {
      for (const k of keys) {
        const ws = db.watched.get(k);
        ws?.delete(c);
        if (ws?.size === 0) db.watched.delete(k);
      }
    }
    c.watching = null;
    c.stream?.abort();
    this.clientClosedHooks.forEach((h) => h(c));
    // After the last reply is handed to the kernel the socket is closed,
    // not left half-open: Redis closes the fd, so a client still writing
    // (a protocol desync flooding us) gets a reset instead of being read
    // and ignored forever (Redis's "Protocol desync regression" tests).
    // Not at once, though: closing with the client's data unread sends that
    // reset straight behind the error reply, and a client whose next write
    // fails on it (Node's sockets destroy themselves then) never reads the
    // reply. For up to LINGER_MS its data is read and dropped, after our FIN.
    if (afterWrite) {
      c.sink.drain();
      const socket = c.socket;
      socket.end();
      socket.resume();
      const t = setTimeout(() => socket.destroy(), LINGER_MS);
      t.unref();
      socket.once('close', () => clearTimeout(t));
    } else {
      c.sink.discard();
      c.socket.destroy();
    }
  }

  /** Modules that keep per-client state (pub/sub, blocking) clean up here. */
  readonly clientClosedHooks: ((c: Client) => void)[] = [];

  async close(): Promise<void> {
    if (this.cronTimer) clearInterval(this.cronTimer);
    for (const l of this.listeners) l.close();
    for (const c of [...this.clients.values()]) this.closeClient(c);
  }
}
