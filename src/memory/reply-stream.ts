/**
 * Replies too large to build at once (collection listings past a few
 * thousand items, collection-replies.ts; random picks with a huge count,
 * random-reply.ts) are produced in pieces instead of being built whole: a
 * piece of about STREAM_CHUNK bytes is encoded and written, and the next one
 * waits until the socket has drained below HIGH_WATER (or for the next turn
 * of the event loop when it has not filled). So the heap holds at most a
 * piece or two of such a reply whatever its size, other clients are served
 * between pieces, and each byte is copied once (into the slab whose slices
 * go to the socket). The client's own next commands wait, as they would
 * behind a long reply in Redis.
 *
 * The producer must answer from the data as it was when the command ran
 * (live-reads.ts, random-reply.ts), because keys may change before the last
 * piece is written.
 *
 * What the client must receive after the streamed reply is queued behind
 * it: inside EXEC, the replies of the transaction's later commands (the
 * command context switches to a fresh Reply for them, see
 * CommandContext.stream); and anything sent to the client out of band
 * meanwhile (pub/sub messages, MONITOR lines: Client.send) is held in
 * Client.deferred until the reply is complete, as Redis appends it after
 * the reply it already built.
 */
import { Reply } from '../protocol/reply.js';
import { SlabPool } from '../protocol/slab-pool.js';
import type { Client } from '../server/client.js';
import type { Server } from '../server/server.js';
import { log } from '../log.js';

export interface ReplyProducer {
  /** Write about `budget` more bytes of the reply; true once it is complete. */
  produce(r: Reply, budget: number): boolean;
  /** The reply will not be produced (further): let go of what it reads. */
  release?(): void;
}

/** What follows a command that streams: producers, and replies already encoded (EXEC's later commands). */
export type StreamItem = ReplyProducer | Reply;

/** Bytes encoded per piece: large enough that the per-piece cost vanishes, small next to the heap. */
export const STREAM_CHUNK = 256 * 1024;
/** Unsent bytes queued on the socket above which producing waits for 'drain'. */
export const HIGH_WATER = 1024 * 1024;
/** The streaming Reply's slabs hold two pieces, each without growing (growing copies). */
const STREAM_SLAB = 2 * STREAM_CHUNK + 64 * 1024;
const STREAM_ROOM = STREAM_CHUNK + 32 * 1024;

function releaseAll(items: StreamItem[], from: number): void {
  for (let i = from; i < items.length; i++) {
    const it = items[i];
    if (!(it instanceof Reply)) it.release?.();
  }
}

export function startStream(server: Server, c: Client, items: StreamItem[]): void {
  c.suspended = true;
  c.deferred = [];
  const r = new Reply(STREAM_SLAB, STREAM_ROOM);
  r.pool = new SlabPool(STREAM_SLAB);
  r.proto = c.proto;
  r.sink = c.sink;
  r.afterFlush = () => server.checkOutput(c, r);
  let at = 0;
  const stopped = (): boolean => {
    if (!c.closing && !c.closeAsap) return false;
    releaseAll(items, at);
    at = items.length;
    c.stream = null;
    return true;
  };
  c.stream = { abort: () => void stopped() };
  const pump = (): void => {
    if (stopped()) return;
    while (at < items.length) {
      const item = items[at];
      if (item instanceof Reply) {
        r.flush();
        if (item.pending > 0) writeEncoded(server, c, item.pendingBytes(), true);
        at++;
        if (stopped()) return;
        continue;
      }
      const before = r.mark();
      let done: boolean;
      try {
        done = item.produce(r, STREAM_CHUNK);
      } catch (e) {
        log.error({ err: e, client: c.id }, 'streamed reply failed; closing the client');
        releaseAll(items, at);
        at = items.length;
        server.closeClient(c);
        return;
      }
      server.stats.netOutputBytes += r.mark() - before;
      r.flush();
      if (stopped()) return;
      if (!done) {
        if (c.socket.writableLength >= HIGH_WATER) c.socket.once('drain', pump);
        else setImmediate(pump);
        return;
      }
      at++;
    }
    c.stream = null;
    const held = c.deferred;
    c.deferred = null;
    c.deferredBytes = 0;
    // Counted in net output when they were sent (pub/sub), as written directly.
    for (const b of held ?? []) writeEncoded(server, c, b, false);
    if (!c.closing && !c.closeAsap) server.resume(c);
  };
  pump();
}

/** Protocol bytes already encoded for c, written as they are. */
function writeEncoded(server: Server, c: Client, b: Buffer, count: boolean): void {
  if (c.closing || c.closeAsap) return;
  if (count) server.stats.netOutputBytes += b.length;
  c.sink.write(b);
  server.checkOutput(c, null);
}
