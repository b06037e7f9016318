/**
 * The Reply the commands a script calls write to (the script client's).
 *
 * redis.call turns a command's reply into a Lua value; for the usual
 * replies, one bulk string, integer, null, status or array of bulk strings, writing RESP only to
 * parse it back (header digits, CRLF, then a scan for them) was a tenth of
 * a nested HGET's cost. So the first of these a command writes, while
 * nothing else is pending, is held as a value instead (heldKind); redis.call
 * pushes it as pushRespAsLua would have pushed its RESP (redis-api.ts
 * pushHeld). Anything else the command writes or reads of the reply first
 * writes the held value out as RESP, so the bytes and their order are
 * exactly what a plain Reply would hold: every public member of Reply is
 * overridden here for that (test/scripting-vm.test.ts checks none is
 * missed), and the RESP path stays for every other reply.
 */
import { Reply } from '../protocol/reply.js';

export const HELD_NONE = 0;
export const HELD_BULK = 1;
export const HELD_INT = 2;
/** A null bulk: false in Lua under RESP2, nil under RESP3 (as `$-1` and `_` convert). */
export const HELD_NULL = 3;
export const HELD_STATUS = 4;
/**
 * An array of bulk strings (RESP2 nulls among them: false in Lua), as
 * HMGET or ZRANGE write it; complete once heldLeft is 0.
 */
export const HELD_ARRAY = 5;
/** Two non-negative safe integers and a separator byte as one bulk string (a stream ID): heldInt, heldSep, heldInt2. */
export const HELD_PAIR = 6;

export class ScriptReply extends Reply {
  heldKind = HELD_NONE;
  /** The bulk string or status text held. */
  heldStr = '';
  /** The integer held: a safe integer or a bigint. */
  heldInt: number | bigint = 0;
  /** HELD_PAIR's separator byte and second number. */
  heldSep = 0;
  heldInt2 = 0;
  /** The array's elements so far (null: a RESP2 null), a new array per reply. */
  heldItems: (string | null)[] = [];
  /** Elements the held array still expects. */
  heldLeft = 0;

  /** Whether what is held is a whole reply redis.call can take (an array only once complete). */
  get heldWhole(): boolean {
    return this.heldKind !== HELD_NONE && this.heldLeft === 0;
  }

  /** Whether a value may be held now: nothing held or pending before it. */
  private canHold(): boolean {
    return this.heldKind === HELD_NONE && super.pending === 0;
  }

  /** Writes a held value as the RESP it stands for; nothing is held after. */
  release(): void {
    const k = this.heldKind;
    if (k === HELD_NONE) return;
    this.heldKind = HELD_NONE;
    if (k === HELD_ARRAY) {
      const items = this.heldItems;
      super.array(items.length + this.heldLeft);
      this.heldLeft = 0;
      for (let i = 0; i < items.length; i++) {
        const s = items[i]!;
        if (s === null) super.null();
        else super.bulk(s);
      }
    } else if (k === HELD_BULK) super.bulk(this.heldStr);
    else if (k === HELD_PAIR) super.bulkIntPair(this.heldInt as number, this.heldSep, this.heldInt2);
    else if (k === HELD_INT) super.int(this.heldInt);
    else if (k === HELD_NULL) super.null();
    else super.simple(this.heldStr);
  }

  override bulk(s: string): void {
    if (this.heldKind === HELD_ARRAY && this.heldLeft > 0) {
      this.heldItems.push(s);
      this.heldLeft--;
      return;
    }
    if (this.canHold()) {
      this.heldKind = HELD_BULK;
      this.heldStr = s;
      return;
    }
    this.release();
    super.bulk(s);
  }
  override int(n: number | bigint): void {
    // An integer that is not safe (or not an integer) keeps its RESP text: it is parsed as written.
    if ((typeof n === 'bigint' || Number.isSafeInteger(n)) && this.canHold()) {
      this.heldKind = HELD_INT;
      this.heldInt = n;
      return;
    }
    this.release();
    super.int(n);
  }
  override null(): void {
    // In an array only RESP2's (false in Lua; RESP3's `_` there is nil, which the RESP path handles).
    if (this.heldKind === HELD_ARRAY && this.heldLeft > 0 && this.proto === 2) {
      this.heldItems.push(null);
      this.heldLeft--;
      return;
    }
    if (this.canHold()) {
      this.heldKind = HELD_NULL;
      return;
    }
    this.release();
    super.null();
  }
  override ok(): void {
    this.simple('OK');
  }
  override simple(s: string): void {
    // A CR would end the status line where the RESP parser reads it: such a text keeps its RESP.
    if (s.indexOf('\r') < 0 && this.canHold()) {
      this.heldKind = HELD_STATUS;
      this.heldStr = s;
      return;
    }
    this.release();
    super.simple(s);
  }
  override bulkOrNull(s: string | null | undefined): void {
    if (s == null) this.null();
    else this.bulk(s);
  }

  // Everything else writes (or shows) the held value first.

  override get pending(): number {
    this.release();
    return super.pending;
  }
  override flush(): void {
    this.release();
    super.flush();
  }
  override drop(): void {
    this.heldKind = HELD_NONE;
    this.heldLeft = 0;
    super.drop();
  }
  override mark(): number {
    this.release();
    return super.mark();
  }
  override rewind(mark: number): void {
    this.release();
    super.rewind(mark);
  }
  override raw(s: string): void {
    this.release();
    super.raw(s);
  }
  override bulkIntPair(a: number, sep: number, b: number): void {
    // Held as numbers: redis.call writes the digits into the Lua heap itself (lua-vm.ts pushIntPair).
    if (a >= 0 && b >= 0 && Number.isSafeInteger(a) && Number.isSafeInteger(b) && this.canHold()) {
      this.heldKind = HELD_PAIR;
      this.heldInt = a;
      this.heldSep = sep;
      this.heldInt2 = b;
      return;
    }
    this.release();
    super.bulkIntPair(a, sep, b);
  }
  override bulkBytes(b: Buffer, from: number, to: number): void {
    this.release();
    super.bulkBytes(b, from, to);
  }
  override rawSlice(b: Buffer, from: number, to: number): void {
    this.release();
    super.rawSlice(b, from, to);
  }
  override get pendingSlab(): Buffer {
    this.release();
    return super.pendingSlab;
  }
  override get pendingStart(): number {
    this.release();
    return super.pendingStart;
  }
  override get pendingEnd(): number {
    this.release();
    return super.pendingEnd;
  }
  override pendingBytes(): Buffer {
    this.release();
    return super.pendingBytes();
  }
  override rawBuffer(b: Buffer): void {
    this.release();
    super.rawBuffer(b);
  }
  override error(msg: string, counted = true): void {
    this.release();
    super.error(msg, counted);
  }
  override nullArray(): void {
    this.release();
    super.nullArray();
  }
  override array(n: number): void {
    if (n >= 0 && this.canHold()) {
      this.heldKind = HELD_ARRAY;
      this.heldItems = [];
      this.heldLeft = n;
      return;
    }
    this.release();
    super.array(n);
  }
  override map(n: number): void {
    // RESP2 writes a map as a flat array of 2n (the same bytes): held as one (HGETALL).
    if (this.proto === 2 && n >= 0) return this.array(2 * n);
    this.release();
    super.map(n);
  }
  override set(n: number): void {
    // RESP2 writes a set as an array (the same bytes): held as one (SMEMBERS).
    if (this.proto === 2 && n >= 0) return this.array(n);
    this.release();
    super.set(n);
  }
  override push(n: number): void {
    this.release();
    super.push(n);
  }
  override bool(b: boolean): void {
    this.release();
    super.bool(b);
  }
  override double(d: number): void {
    this.release();
    super.double(d);
  }
  override verbatim(s: string, format?: string): void {
    this.release();
    super.verbatim(s, format);
  }
  override bulks(items: readonly (string | null)[]): void {
    this.release();
    super.bulks(items);
  }
}
