/**
 * What a command handler works with. One instance per server, re-pointed at
 * the current client before each command (no allocation per command), so a
 * handler must not keep it past its own return: code that answers later
 * keeps `ctx.client` and uses `client.send`.
 */
import type { Client } from './client.js';
import type { Database } from '../keyspace/db.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Reply } from '../protocol/reply.js';
import type { Server } from './server.js';

export class CommandContext {
  client!: Client;
  db!: Database;
  r!: Reply;
  constructor(
    readonly server: Server,
    readonly ks: Keyspace,
  ) {}

  /** Switch the current client's database (SELECT, and EXEC's restore). */
  selectDb(index: number): void {
    this.db = this.client.db = this.ks.dbs[index];
  }
}
