/**
 * What a command handler works with. One instance per server, re-pointed at
 * the current client before each command (no allocation per command), so a
 * handler must not keep it past its own return: code that answers later
 * keeps `ctx.client` and uses `client.send`.
 */
import type { Client } from './client.js';
import type { Database } from '../keyspace/db.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import { Reply } from '../protocol/reply.js';
import type { Server } from './server.js';
import type { ReplyProducer } from '../memory/reply-stream.js';

export class CommandContext {
  client!: Client;
  db!: Database;
  r!: Reply;
  constructor(
    readonly server: Server,
    readonly ks: Keyspace,
  ) {}

  /**
   * Answer with a reply too large to build at once (memory/reply-stream.ts):
   * the producer writes it in pieces after the command returns, the socket
   * draining in between, while this client's next commands wait. Inside
   * EXEC the later commands still run now; their replies go to a fresh
   * Reply queued behind the stream, so each reply sits between its
   * neighbours. With CLIENT REPLY OFF/SKIP the reply is dropped.
   */
  stream(p: ReplyProducer): void {
    const c = this.client;
    if (c.replyMode !== 'on' || this.r.discard) {
      p.release?.();
      return;
    }
    const tail = new Reply();
    tail.proto = c.proto;
    c.pendingStream.push(p, tail);
    this.r = tail;
  }

  /** Switch the current client's database (SELECT, and EXEC's restore). */
  selectDb(index: number): void {
    this.db = this.client.db = this.ks.dbs[index];
  }
}

/**
 * The context while the server runs a client's commands, null between
 * (timers, background eviction): whoever publishes from deep inside the
 * keyspace (keyspace notifications) learns from it whether a command's
 * client is waiting for its replies in order.
 */
export const running: { ctx: CommandContext | null } = { ctx: null };
