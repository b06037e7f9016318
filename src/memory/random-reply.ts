/**
 * The reply of ZRANDMEMBER/SRANDMEMBER/HRANDFIELD with a negative count:
 * |count| independent picks, so its size is bounded by nothing the server
 * stores (`SRANDMEMBER s -100000000` is a few bytes in, gigabytes out). Up
 * to INLINE_PICKS it is written at once as before; past that it is streamed
 * (reply-stream.ts) from a pool pinned when the command ran:
 *  - a value with more members than picks: the picks themselves, drawn now;
 *  - otherwise: a copy of the member references, picked from as pieces go.
 * Either way the pool is at most the value's size in references (strings
 * are immutable and shared, never copied), and the reply is exactly one
 * that the value as of the command could have produced, whatever writes
 * to the key happen while it streams.
 */
import { Reply } from '../protocol/reply.js';
import type { ReplyProducer } from './reply-stream.js';

/** Up to this many picks the reply is built in the command, as any reply. */
export const INLINE_PICKS = 1000;

/** A pool encoding to more than this is not kept encoded (picks are encoded one by one). */
const ENCODED_POOL_MAX = 32 * 1024 * 1024;

export class RandomPicks implements ReplyProducer {
  private written = 0;
  private started = false;
  /** The pool's entries encoded once, entry i at offsets[i]..offsets[i+1]: a pick is then a copy. */
  private encoded: Buffer | null = null;
  private offsets: Float64Array | null = null;
  /**
   * @param count picks to write
   * @param poolSize entries in the pool; equal to `count` when `drawn`
   * @param drawn the pool holds the picks in order (else pick at random)
   * @param header writes the array header(s)
   * @param write writes pool entry i
   */
  constructor(
    private readonly count: number,
    private readonly poolSize: number,
    private readonly drawn: boolean,
    private readonly header: (r: Reply) => void,
    private readonly write: (r: Reply, i: number) => void,
  ) {}

  /**
   * Entries picked again and again are encoded once (formatting a score
   * per pick made a reply 5x slower). Drawn picks are each written once.
   */
  private encodePool(proto: 2 | 3): void {
    const enc = new Reply();
    enc.proto = proto;
    const offsets = new Float64Array(this.poolSize + 1);
    for (let i = 0; i < this.poolSize; i++) {
      this.write(enc, i);
      offsets[i + 1] = enc.pending;
      if (enc.pending > ENCODED_POOL_MAX) return;
    }
    this.encoded = enc.pendingBytes();
    this.offsets = offsets;
  }

  produce(r: Reply, budget: number): boolean {
    if (!this.started) {
      this.header(r);
      this.started = true;
      if (!this.drawn) this.encodePool(r.proto);
    }
    const stop = r.mark() + budget;
    const { count, poolSize, drawn, write, encoded, offsets } = this;
    let n = this.written;
    while (n < count) {
      const i = drawn ? n : Math.floor(Math.random() * poolSize);
      if (encoded !== null) r.rawSlice(encoded, offsets![i], offsets![i + 1]);
      else write(r, i);
      n++;
      if ((n & 31) === 0 && r.mark() >= stop) break;
    }
    this.written = n;
    return n >= count;
  }
}

/** Picks of plain strings (SRANDMEMBER, HRANDFIELD without values). */
export function stringPicks(count: number, size: number, drawOne: () => string, all: () => readonly string[]): RandomPicks {
  let pool: string[];
  let drawn: boolean;
  if (size > count) {
    pool = new Array<string>(count);
    for (let i = 0; i < count; i++) pool[i] = drawOne();
    drawn = true;
  } else {
    pool = all().slice();
    drawn = false;
  }
  return new RandomPicks(
    count,
    pool.length,
    drawn,
    (r) => r.array(count),
    (r, i) => r.bulk(pool[i]),
  );
}

/**
 * Picks of pairs (ZRANDMEMBER WITHSCORES, HRANDFIELD WITHVALUES): a flat
 * array of 2*count in RESP2, an array of count 2-arrays in RESP3.
 */
export function pairPicks(
  count: number,
  firsts: readonly string[],
  seconds: readonly string[] | Float64Array,
  drawn: boolean,
  proto: 2 | 3,
): RandomPicks {
  const nested = proto === 3;
  const numeric = seconds instanceof Float64Array;
  return new RandomPicks(
    count,
    firsts.length,
    drawn,
    (r) => r.array(nested ? count : count * 2),
    (r, i) => {
      if (nested) r.array(2);
      r.bulk(firsts[i]);
      if (numeric) r.double((seconds as Float64Array)[i]);
      else r.bulk((seconds as readonly string[])[i]);
    },
  );
}
