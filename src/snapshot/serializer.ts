/**
 * One forkless point-in-time snapshot in progress (Dragonfly's scheme).
 *
 * At start (epoch E, one synchronous step) every db's table is captured by
 * its index and hooked: from then on, a segment about to change that this
 * snapshot has not written yet is written first, whole, with its pre-change
 * contents (table.willMutate -> hook). Meanwhile a walker visits the
 * remaining segments in slices that yield to the event loop. Each segment is
 * written exactly once, as it was at E, so the result is the keyspace at E:
 * keys created later land in already-written segments or force their segment
 * out before they exist; keys deleted later are written before they go.
 * FLUSHDB replaces a db's table object, so the captured old table simply
 * stays unchanged; SWAPDB swaps table objects, which keep their hooks and
 * their db index at E.
 *
 * A collection larger than one piece is written a piece at a time across
 * slices without holding anything up: from the moment its first piece is
 * taken, the value keeps before-images of what changes (or, for a list, is
 * copied; see src/types/before-images.ts), so writers change it freely while
 * the snapshot still writes it as it was at E. Its segment counts as written
 * as soon as every key in it is written or open this way.
 */
import { Readable } from 'node:stream';
import { codecFor } from './codec.js';
import { functionsSection } from './functions-section.js';
import { FrameEncoder, type SnapshotFooter, type SnapshotHeader } from './format.js';
import type { KeyTable, Segment } from '../keyspace/table.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Value } from '../types/value.js';

/** Items per collection piece. */
export const PIECE_ITEMS = 1024;
/**
 * How long the walker runs before yielding to the event loop. Under load it
 * takes a share of the time the loop spent serving clients since its last
 * slice, so a request waits for at most about that much more (the GET p99
 * target during a snapshot is 2x); with nothing else to do, it runs longer.
 */
const SLICE_SHARE = 0.25;
const SLICE_MIN_MS = 0.25;
const SLICE_MAX_MS = 1;
/** A gap this short means the loop had nothing else to do. */
const IDLE_GAP_MS = 0.1;

let lastEpoch = 0;

interface Captured {
  db: number;
  table: KeyTable;
}

/** A collection whose first piece is written and whose rest is still to come. */
interface OpenValue {
  db: number;
  key: string;
  it: Iterator<unknown[]>;
  next: IteratorResult<unknown[]>;
}

export class SnapshotJob {
  readonly epoch: number;
  readonly startedAt: number;
  readonly stream: Readable;
  readonly counts: number[];
  footer: SnapshotFooter | null = null;
  /** Keys written so far (INFO current_save_keys_processed). */
  keysDone = 0;
  readonly keysTotal: number;

  private readonly enc: FrameEncoder;
  private readonly caps: Captured[];
  private ti = 0;
  private slot = 0;
  /** Large collections being written; drained before the walk goes on, so their before-images stay few. */
  private open: OpenValue[] = [];
  private scheduled = false;
  /** When the last slice ended (performance.now()). */
  private sliceEnd = 0;
  private wanted = true;
  private finished = false;
  private cancelled = false;

  constructor(ks: Keyspace, header: Omit<SnapshotHeader, 'dbCount' | 'createdAt' | 'magic' | 'version'>) {
    this.epoch = ++lastEpoch;
    this.startedAt = Date.now();
    this.stream = new Readable({ read: () => this.onRead(), highWaterMark: 1024 * 1024 });
    this.enc = new FrameEncoder((b) => {
      if (!this.cancelled && !this.stream.push(b)) this.wanted = false;
    });
    this.caps = ks.dbs.map((d) => ({ db: d.id, table: d.table }));
    this.counts = this.caps.map(() => 0);
    this.keysTotal = this.caps.reduce((n, c) => n + c.table.size, 0);
    for (const cap of this.caps) {
      cap.table.snapEpoch = this.epoch;
      cap.table.snapshotHook = (seg) => this.writeSegment(cap.db, seg);
    }
    const functions = functionsSection.save();
    this.enc.start({
      ...header,
      magic: 'damselfly-snapshot',
      version: 1,
      createdAt: this.startedAt,
      dbCount: this.caps.length,
      ...(functions.length > 0 ? { functions: functions.map((c) => Buffer.from(c, 'latin1')) } : {}),
    });
  }

  /** A large collection is open: its first piece written, the rest to come (tests aim writes with it). */
  get midCollection(): boolean {
    return this.open.length > 0;
  }

  /** Bytes produced so far. */
  get bytes(): number {
    return this.enc.offset;
  }

  /** Stop hooking writes (done, failed or abandoned). */
  private release(): void {
    for (const { table } of this.caps) {
      if (table.snapEpoch === this.epoch) {
        table.snapEpoch = 0;
        table.snapshotHook = null;
      }
    }
  }

  cancel(err?: Error): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.release();
    this.closeOpen();
    this.stream.destroy(err);
  }

  private onRead(): void {
    this.wanted = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.finished || this.cancelled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      try {
        this.step();
      } catch (e) {
        this.cancel(e as Error);
      }
    });
  }

  /**
   * Write a segment whole: the walker's unit of work, and the hook when a
   * segment not yet written is about to change. A segment holds at most 64
   * keys (tens of microseconds); large values in it only have their first
   * piece taken here and stay open, so nothing needs a walk that resumes
   * mid-segment.
   */
  private writeSegment(db: number, seg: Segment): void {
    seg.forEachKey((k, v, at) => this.writeKey(db, k, v, at));
    seg.snapEpoch = this.epoch;
  }

  /** Write one key; a collection larger than one piece stays open (see OpenValue). */
  private writeKey(db: number, key: string, v: Value, at: number | undefined): void {
    let exp: number | null = null;
    if (at !== undefined) {
      // Already logically gone at the snapshot's instant.
      if (at <= this.startedAt) return;
      exp = at;
    }
    this.counts[db]++;
    this.keysDone++;
    if (typeof v === 'string') {
      this.enc.addString(db, key, exp, v);
      return;
    }
    // The first next() fixes the value's contents as of now (before-images).
    const it = codecFor(v.type).pieces(v, PIECE_ITEMS);
    const first = it.next();
    const next = first.done ? first : it.next();
    this.enc.addCollStart(db, key, exp, v.type, first.done ? [] : first.value, next.done === true);
    if (!next.done) this.open.push({ db, key, it, next });
  }

  /** Write the next piece of the oldest open collection. */
  private nextPiece(): void {
    const o = this.open[0];
    const piece = o.next.value as unknown[];
    o.next = o.it.next();
    const last = o.next.done === true;
    this.enc.addPiece(o.db, o.key, piece, last);
    if (last) this.open.shift();
  }

  /** Release the before-images of collections left open (cancel). */
  private closeOpen(): void {
    for (const o of this.open) o.it.return?.();
    this.open = [];
  }

  /** Walk a slice of the keyspace. */
  private step(): void {
    const now = performance.now();
    const gap = now - this.sliceEnd;
    const deadline = now + (gap < IDLE_GAP_MS ? SLICE_MAX_MS : Math.min(SLICE_MAX_MS, Math.max(SLICE_MIN_MS, gap * SLICE_SHARE)));
    while (this.wanted && !this.cancelled) {
      // A piece is about a thousand items, a segment at most 64 keys.
      if (performance.now() >= deadline) break;
      if (this.open.length > 0) {
        this.nextPiece();
        continue;
      }
      if (this.ti >= this.caps.length) {
        this.finish();
        return;
      }
      const cap = this.caps[this.ti];
      const dir = cap.table.dir;
      if (this.slot >= dir.length) {
        this.ti++;
        this.slot = 0;
        continue;
      }
      // Segments not yet written never split (a split follows a write, which
      // writes the segment first), so each stays at its slot even when the
      // directory doubles; slots that alias one are skipped by the epoch.
      const seg = dir[this.slot++];
      if (seg.snapEpoch < this.epoch) this.writeSegment(cap.db, seg);
    }
    this.sliceEnd = performance.now();
    if (this.wanted) this.schedule();
  }

  private finish(): void {
    this.finished = true;
    this.release();
    this.footer = this.enc.finish(this.counts);
    this.stream.push(null);
  }
}
