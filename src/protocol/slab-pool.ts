/**
 * Slabs for a long streamed reply (memory/reply-stream.ts), reused once the
 * socket has sent what was written from them. A 700 MB reply encoded into
 * fresh Buffers allocated 700 MB of off-heap memory in half-megabyte
 * steps; V8 answers growing external memory with full collections, and
 * with millions of values on the heap each one held the event loop for
 * 50-150 ms. With a pool the reply cycles through a handful of slabs.
 *
 * A slab goes back to the pool when the Reply has moved on from it
 * (retire) and every write of a slice of it has completed (the socket's
 * write callback): until then the socket may still read from it.
 */
export class SlabPool {
  private readonly free: Buffer[] = [];
  /** Writes started and not yet completed, per slab. */
  private readonly inFlight = new Map<Buffer, number>();
  /** Slabs the Reply moved on from, waiting for their writes. */
  private readonly retired = new Set<Buffer>();

  constructor(
    readonly size: number,
    private readonly keep = 4,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  /** The Reply no longer writes into `slab`. */
  retire(slab: Buffer): void {
    if (slab.length !== this.size) return;
    if (this.inFlight.has(slab)) this.retired.add(slab);
    else this.recycle(slab);
  }

  /** A write of part of `slab` starts; call the result when it has completed (or failed). */
  writing(slab: Buffer): () => void {
    this.inFlight.set(slab, (this.inFlight.get(slab) ?? 0) + 1);
    let called = false;
    return () => {
      if (called) return;
      called = true;
      const n = this.inFlight.get(slab)! - 1;
      if (n > 0) {
        this.inFlight.set(slab, n);
        return;
      }
      this.inFlight.delete(slab);
      if (this.retired.delete(slab)) this.recycle(slab);
    };
  }

  private recycle(slab: Buffer): void {
    if (this.free.length < this.keep) this.free.push(slab);
  }
}
