/**
 * Replies leave in one batch per turn of the event loop, as Redis writes
 * them in beforeSleep (handleClientsWithPendingWrites): every client made
 * ready by one poll is read and answered first, then all the answers are
 * written. Writing each one as it was produced did the same number of
 * write calls, but handed the reader (redis-benchmark, a client library) a
 * wakeup per reply while this server was still busy with the next
 * client: with 50 clients at -P 1 a 39 KB script cost 38 us of server CPU
 * per call written at once and 34-36 us batched (bench/RESULTS.md).
 *
 * Only small writes (a pipeline's replies, under BATCH_MAX) to a socket
 * with nothing queued are held, at most HOLD_MAX per client: a large reply
 * and a slow reader's output go to the socket at once (its own backlog
 * already batches it), so the output limits still see what is pending
 * (they add `held`). Whatever else writes to the client (pub/sub, a
 * streamed reply, the close after an error) goes through the same sink,
 * which first writes what it holds: order is kept per client.
 */
import type { Socket } from 'node:net';
import type { Sink } from '../protocol/reply.js';

const BATCH_MAX = 16 * 1024;
const HOLD_MAX = 64 * 1024;

/** Sinks holding output, written by the next flushHeld(). */
const holding: ClientSink[] = [];
let scheduled = false;

/** Write what every client holds (also run by ready-batch.ts right after a batch, not a turn later). */
export function flushHeld(): void {
  scheduled = false;
  for (let i = 0; i < holding.length; i++) holding[i].drain();
  holding.length = 0;
}

export class ClientSink implements Sink {
  private bufs: Buffer[] = [];
  /** Bytes held, not yet handed to the socket. */
  held = 0;

  /** `batch`: whether this client's replies may wait for the end of the turn (not while it must authenticate: Redis's 16 KiB rule counts each reply as it is added). */
  constructor(
    readonly socket: Socket,
    private readonly batch: () => boolean,
  ) {}

  write(data: Buffer, done?: (err?: Error | null) => void): unknown {
    if (done === undefined && data.length <= BATCH_MAX && this.held + data.length <= HOLD_MAX && this.socket.writableLength === 0 && this.batch()) {
      if (this.held === 0) {
        holding.push(this);
        if (!scheduled) {
          scheduled = true;
          setImmediate(flushHeld);
        }
      }
      this.bufs.push(data);
      this.held += data.length;
      return true;
    }
    this.drain();
    return done === undefined ? this.socket.write(data) : this.socket.write(data, done);
  }

  /** Hand what is held to the socket now (in one writev when there are several pieces). */
  drain(): void {
    if (this.held === 0) return;
    const bufs = this.bufs;
    this.bufs = [];
    this.held = 0;
    if (this.socket.destroyed) return;
    if (bufs.length === 1) {
      this.socket.write(bufs[0]);
      return;
    }
    this.socket.cork();
    for (const b of bufs) this.socket.write(b);
    this.socket.uncork();
  }

  /** Forget what is held (the client is being destroyed). */
  discard(): void {
    this.bufs = [];
    this.held = 0;
  }
}
