/**
 * Replies whose size is not bounded by the request or by a stored value
 * (ZRANDMEMBER/SRANDMEMBER/HRANDFIELD with a negative count: |count| picks
 * with repetition) are produced in pieces instead of being built whole: a
 * piece of about STREAM_CHUNK bytes is encoded and written, and the next one
 * waits until the socket has drained below HIGH_WATER (or for the next turn
 * of the event loop when it has not filled). So the heap holds at most a
 * piece or two of such a reply whatever the count, and other clients are
 * served between pieces; the client's own next commands wait, as they
 * would behind a long reply in Redis.
 *
 * The producer must answer from the value as it was when the command ran:
 * it pins what it needs at that point (a copy of the member references,
 * bounded by the value's size; see random-reply.ts), because the key may
 * change before the last piece is written.
 */
import { Reply } from '../protocol/reply.js';
import type { Client } from '../server/client.js';
import type { Server } from '../server/server.js';
import { log } from '../log.js';

export interface ReplyProducer {
  /** Write about `budget` more bytes of the reply; true once it is complete. */
  produce(r: Reply, budget: number): boolean;
}

/** Bytes encoded per piece: large enough that the per-piece cost vanishes, small next to the heap. */
export const STREAM_CHUNK = 256 * 1024;
/** Unsent bytes queued on the socket above which producing waits for 'drain'. */
export const HIGH_WATER = 1024 * 1024;

export function startStream(server: Server, c: Client, p: ReplyProducer): void {
  c.suspended = true;
  const r = new Reply();
  r.proto = c.proto;
  r.sink = c.socket;
  r.afterFlush = () => server.checkOutput(c, r);
  const pump = (): void => {
    if (c.closing || c.closeAsap) return;
    const before = r.mark();
    let done: boolean;
    try {
      done = p.produce(r, STREAM_CHUNK);
    } catch (e) {
      log.error({ err: e, client: c.id }, 'streamed reply failed; closing the client');
      server.closeClient(c);
      return;
    }
    server.stats.netOutputBytes += r.mark() - before;
    r.flush();
    if (c.closing || c.closeAsap) return;
    if (done) server.resume(c);
    else if (c.socket.writableLength >= HIGH_WATER) c.socket.once('drain', pump);
    else setImmediate(pump);
  };
  pump();
}
