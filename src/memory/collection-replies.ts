/**
 * Replies listing a stored collection (LRANGE, SMEMBERS, HGETALL/HKEYS/
 * HVALS, the ZRANGE family) or a computed one (set algebra, KEYS). Up to
 * STREAM_MIN_ITEMS items they are written by the command like any reply;
 * past that they are streamed (reply-stream.ts): encoded a slice at a time
 * into the socket as it drains, so a 700 MB reply neither holds the event
 * loop for seconds nor sits whole in memory, and each byte is copied once
 * (string -> slab; the slab's slices go to the socket as they are).
 *
 * A stored collection is read live, not copied: the reader registers with
 * live-reads.ts, and if a write reaches the value before the reply is
 * written, the reader first copies the references it still needs. The
 * reply is thus the value as it was when the command ran, as in Redis.
 */
import type { Reply } from '../protocol/reply.js';
import type { ReplyProducer } from './reply-stream.js';
import { endLive, readLive, type LiveReader } from './live-reads.js';
import type { CommandContext } from '../server/context.js';
import type { ListValue } from '../types/list.js';
import type { RedisSet } from '../types/set.js';
import type { HashValue } from '../types/hash.js';
import type { SortedSet } from '../types/zset.js';
import type { TreeCursor } from '../types/ordertree.js';

/**
 * Up to this many items a reply is written at once. Streaming costs a write
 * of its own and a turn of the event loop before the client's next
 * command: not worth it for what takes well under a millisecond.
 */
export const STREAM_MIN_ITEMS = 2048;

/** Items are written in runs of this many between checks of the slice's size. */
const RUN = 16;

/**
 * `total` items written one by one, from the live value until it is about
 * to change (then from a copy of the rest).
 */
abstract class LiveItems implements ReplyProducer, LiveReader {
  private started = false;
  protected written = 0;
  /** Items written when the copy was taken: copy index = written - copyBase. */
  protected copyBase = -1;

  constructor(
    private readonly value: object | null,
    protected readonly total: number,
  ) {
    if (value !== null) readLive(value, this);
  }

  protected abstract header(r: Reply): void;
  /** Write item number `written` (from the copy once copyBase >= 0). */
  protected abstract item(r: Reply): void;
  protected abstract takeCopy(): void;

  detach(): void {
    if (this.copyBase >= 0 || this.written >= this.total) return;
    this.takeCopy();
    this.copyBase = this.written;
  }

  produce(r: Reply, budget: number): boolean {
    if (!this.started) {
      this.started = true;
      this.header(r);
    }
    const stop = r.mark() + budget;
    const total = this.total;
    while (this.written < total) {
      const end = Math.min(total, this.written + RUN);
      while (this.written < end) {
        this.item(r);
        this.written++;
      }
      if (r.mark() >= stop) break;
    }
    if (this.written < total) return false;
    this.release();
    return true;
  }

  release(): void {
    if (this.value !== null) endLive(this.value, this);
  }
}

class ListItems extends LiveItems {
  private rest: string[] = [];
  constructor(
    private readonly l: ListValue,
    private readonly start: number,
    count: number,
  ) {
    super(l, count);
  }
  protected header(r: Reply): void {
    r.array(this.total);
  }
  protected item(r: Reply): void {
    r.bulk(this.copyBase < 0 ? this.l.at(this.start + this.written) : this.rest[this.written - this.copyBase]);
  }
  protected takeCopy(): void {
    this.rest = this.l.range(this.start + this.written, this.start + this.total - 1);
  }
}

class SetItems extends LiveItems {
  private members: readonly string[];
  constructor(s: RedisSet) {
    super(s, s.size);
    this.members = s.values();
  }
  protected header(r: Reply): void {
    r.set(this.total);
  }
  protected item(r: Reply): void {
    r.bulk(this.members[this.copyBase < 0 ? this.written : this.written - this.copyBase]);
  }
  protected takeCopy(): void {
    this.members = this.members.slice(this.written);
  }
}

class HashItems extends LiveItems {
  private it: Iterator<string | [string, string]>;
  private rest: (string | [string, string])[] = [];
  constructor(
    h: HashValue,
    private readonly pairs: boolean,
    keys: boolean,
  ) {
    super(h, h.size);
    this.it = pairs ? h.m.entries() : keys ? h.m.keys() : h.m.values();
  }
  protected header(r: Reply): void {
    if (this.pairs) r.map(this.total);
    else r.array(this.total);
  }
  protected item(r: Reply): void {
    const x = this.copyBase < 0 ? this.it.next().value! : this.rest[this.written - this.copyBase];
    if (this.pairs) {
      const [f, v] = x as [string, string];
      r.bulk(f);
      r.bulk(v);
    } else r.bulk(x as string);
  }
  protected takeCopy(): void {
    // A Map iterator follows later changes: drain it before this one.
    const rest = new Array<string | [string, string]>(this.total - this.written);
    for (let i = 0; i < rest.length; i++) rest[i] = this.it.next().value!;
    this.rest = rest;
  }
}

class ZsetItems extends LiveItems {
  private members: string[] = [];
  private scores: Float64Array = new Float64Array(0);
  constructor(
    z: SortedSet,
    private readonly cur: TreeCursor,
    count: number,
    private readonly withscores: boolean,
    private readonly nested: boolean,
  ) {
    super(z, count);
  }
  protected header(r: Reply): void {
    r.array(this.withscores && !this.nested ? 2 * this.total : this.total);
  }
  protected item(r: Reply): void {
    let member: string;
    let score: number;
    if (this.copyBase < 0) {
      this.cur.next();
      member = this.cur.member;
      score = this.cur.score;
    } else {
      const i = this.written - this.copyBase;
      member = this.members[i];
      score = this.scores[i];
    }
    if (!this.withscores) return r.bulk(member);
    if (this.nested) r.array(2);
    r.bulk(member);
    r.double(score);
  }
  protected takeCopy(): void {
    const n = this.total - this.written;
    this.members = new Array<string>(n);
    this.scores = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.cur.next();
      this.members[i] = this.cur.member;
      this.scores[i] = this.cur.score;
    }
  }
}

/** Items of something computed for this reply alone (nothing else changes it). */
class OwnedItems extends LiveItems {
  constructor(
    n: number,
    private readonly head: (r: Reply, n: number) => void,
    private readonly write: (r: Reply, i: number) => void,
  ) {
    super(null, n);
  }
  protected header(r: Reply): void {
    this.head(r, this.total);
  }
  protected item(r: Reply): void {
    this.write(r, this.written);
  }
  protected takeCopy(): void {}
}

/** LRANGE: elements start..end inclusive (already clamped). */
export function replyListRange(ctx: CommandContext, l: ListValue, start: number, end: number): void {
  const n = end - start + 1;
  if (n > STREAM_MIN_ITEMS) return ctx.stream(new ListItems(l, start, n));
  const r = ctx.r;
  r.array(n);
  for (let i = start; i <= end; i++) r.bulk(l.at(i));
}

/** SMEMBERS. An intset lists sorted (Redis order): that needs a sorted copy anyway. */
export function replySetMembers(ctx: CommandContext, s: RedisSet): void {
  if (s.size > STREAM_MIN_ITEMS && s.encoding() !== 'intset') return ctx.stream(new SetItems(s));
  replyStrings(ctx, s.members(), (r, n) => r.set(n));
}

/** HGETALL (keys and vals), HKEYS, HVALS. */
export function replyHash(ctx: CommandContext, h: HashValue, keys: boolean, vals: boolean): void {
  if (h.size > STREAM_MIN_ITEMS) return ctx.stream(new HashItems(h, keys && vals, keys));
  const r = ctx.r;
  if (keys && vals) {
    r.map(h.size);
    for (const [f, v] of h.m) {
      r.bulk(f);
      r.bulk(v);
    }
  } else {
    r.array(h.size);
    if (keys) for (const f of h.m.keys()) r.bulk(f);
    else for (const v of h.m.values()) r.bulk(v);
  }
}

/**
 * `count` entries of z from `rank` going up (down when rev); undefined when
 * the reply is small enough to be written from a collected array instead.
 */
export function streamZsetSpan(ctx: CommandContext, z: SortedSet, rank: number, count: number, rev: boolean, withscores: boolean): boolean {
  if (count <= STREAM_MIN_ITEMS) return false;
  ctx.stream(new ZsetItems(z, z.tree.cursor(rank, rev), count, withscores, ctx.client.proto === 3));
  return true;
}

/** A computed list of strings (the caller's own array), `head` writing the aggregate header. */
export function replyStrings(ctx: CommandContext, items: readonly string[], head: (r: Reply, n: number) => void): void {
  replyOwned(ctx, items.length, head, (r, i) => r.bulk(items[i]));
}

/** A computed reply of n items: `head` writes the header, `item(r, i)` item i. */
export function replyOwned(ctx: CommandContext, n: number, head: (r: Reply, n: number) => void, item: (r: Reply, i: number) => void): void {
  if (n > STREAM_MIN_ITEMS) return ctx.stream(new OwnedItems(n, head, item));
  const r = ctx.r;
  head(r, n);
  for (let i = 0; i < n; i++) item(r, i);
}
