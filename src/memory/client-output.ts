/**
 * Applies the output limits (output-limits.ts) to clients: after anything is
 * written to a client's socket, and from the cron for the soft limit's
 * seconds and for the heap guard over all clients together.
 */
import type { Client } from '../server/client.js';
import type { Server } from '../server/server.js';
import type { Reply } from '../protocol/reply.js';
import { heapGuardBytes, overLimit, type OutputClass } from './output-limits.js';
import { registerInfoSection } from '../server/info.js';
import { log } from '../log.js';

let disconnections = 0;

/**
 * A client that still has to authenticate may hold no more pending output
 * than fits the 16 KiB reply buffer every Redis client has (PROTO_REPLY_CHUNK_BYTES):
 * redis-server 7.0.15 as Debian ships it (the CVE-2025-21605 fix) closes it
 * as soon as a reply spills past that buffer into its reply list, whatever
 * client-output-buffer-limit says. Checked after every command (server.ts),
 * as Redis checks while adding each reply: 481 pipelined PINGs are answered
 * (481 x 34 bytes of -NOAUTH), 482 close the connection with nothing sent.
 */
export const UNAUTH_OUTPUT_MAX = 16 * 1024;

registerInfoSection('stats', 'Stats', () => [['client_output_buffer_limit_disconnections', disconnections]]);

/** Redis's getClientType for limits: MONITOR clients count as normal, as there. */
export function outputClass(c: Client): OutputClass {
  return c.subs !== null ? 'pubsub' : 'normal';
}

/**
 * Close `c` if its pending output is over a limit. `r` is the reply being
 * encoded for it, if any: its later writes are discarded. Closing is
 * deferred to the next turn of the event loop (Redis's freeClientAsync), as
 * the caller may be walking a set the close edits (pub/sub delivery) or be
 * inside the client's command.
 */
export function checkClientOutput(server: Server, c: Client, r: Reply | null): boolean {
  if (c.closing || c.closeAsap) return c.closeAsap;
  const used = c.socket.writableLength + c.sink.held + c.deferredBytes + (r === null ? 0 : r.pending);
  if (used === 0) {
    c.obufSoftSince = 0;
    return false;
  }
  const why = !c.authenticated && used > UNAUTH_OUTPUT_MAX ? 'unauthenticated' : overLimit(c, outputClass(c), used, Date.now());
  if (why === null) return false;
  closeOverLimit(server, c, r, used, why);
  return true;
}

function closeOverLimit(server: Server, c: Client, r: Reply | null, used: number, why: string): void {
  c.closeAsap = true;
  if (r !== null) r.discard = true;
  disconnections++;
  const what = why === 'heap-guard' ? 'for holding too large a share of the heap in pending output' : 'for overcoming of output buffer limits';
  log.warn({ client: c.id, addr: c.addr, name: c.name, class: outputClass(c), omem: used, limit: why }, `Client scheduled to be closed ASAP ${what}.`);
  setImmediate(() => server.closeClient(c));
}

/**
 * Every cron tick: the soft limit's seconds run out without new output, and
 * all clients together may not hold more than twice one client's heap guard.
 */
export function outputCron(server: Server): void {
  let total = 0;
  const holding: Client[] = [];
  for (const c of server.clients.values()) {
    const n = c.socket.writableLength + c.sink.held + c.deferredBytes;
    if (n === 0) continue;
    if (checkClientOutput(server, c, null)) continue;
    total += n;
    holding.push(c);
  }
  const cap = 2 * heapGuardBytes();
  if (total <= cap) return;
  holding.sort((a, b) => b.socket.writableLength - a.socket.writableLength);
  for (const c of holding) {
    if (total <= cap) break;
    total -= c.socket.writableLength;
    closeOverLimit(server, c, null, c.socket.writableLength, 'heap-guard');
  }
}
