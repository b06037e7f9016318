/**
 * Reads a snapshot stream frame by frame, checking every frame's CRC, the
 * record structure, and the footer's counts and SHA-256. The caller's sink
 * gets keys as they are decoded; it must treat them as provisional until
 * read() resolves (the loader stages them in fresh tables and installs them
 * only then), because damage near the end is only known at the end.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { codecFor, type ValueBuilder } from './codec.js';
import {
  decodePiece,
  FORMAT_VERSION,
  FRAME_HEADER,
  FRAME_MAX,
  frameCrc,
  HEADER_MAGIC,
  KIND_FOOTER,
  KIND_HEADER,
  KIND_RECORDS,
  MAGIC,
  packr,
  REC_COLL,
  REC_PIECE,
  REC_STRING,
  SnapshotFormatError,
  type SnapshotFooter,
  type SnapshotHeader,
} from './format.js';
import type { Value } from '../types/value.js';
import '../protocol/latin1.js';

export interface SnapshotSink {
  header?(h: SnapshotHeader): void;
  /** One complete key. `expireAt` is absolute ms or null. */
  key(db: number, key: string, value: Value, expireAt: number | null): void;
}

interface Open {
  builder: ValueBuilder;
  expireAt: number | null;
}

/** Start of a msgpack bin's bytes at p, or -1 if p is not a bin header. */
function readBin(b: Buffer, p: number): number {
  switch (b[p]) {
    case 0xc4:
      return p + 2;
    case 0xc5:
      return p + 3;
    case 0xc6:
      return p + 5;
    default:
      return -1;
  }
}

/** Length of the msgpack bin at p, or -1 if its header is cut off or p is not a bin. */
function binLen(b: Buffer, p: number): number {
  switch (b[p]) {
    case 0xc4:
      return p + 2 <= b.length ? b[p + 1] : -1;
    case 0xc5:
      return p + 3 <= b.length ? b.readUInt16BE(p + 1) : -1;
    case 0xc6:
      return p + 5 <= b.length ? b.readUInt32BE(p + 1) : -1;
    default:
      return -1;
  }
}

/**
 * Short strings straight from the bytes: String.fromCharCode with a fixed
 * argument count builds a one-byte string without leaving JS, which for
 * keys, fields and members (mostly under 24 bytes) is about twice as fast
 * as latin1Slice's call into C++. One function per length, generated once.
 */
const SHORT_MAX = 24;
const shortLatin1: ((b: Buffer, a: number) => string)[] = [];
for (let n = 0; n <= SHORT_MAX; n++) {
  const args = Array.from({ length: n }, (_, i) => `b[a + ${i}]`).join(', ');
  shortLatin1.push(new Function('fromCharCode', `return (b, a) => fromCharCode(${args});`)(String.fromCharCode) as (b: Buffer, a: number) => string);
}

/** b[start, end) as a latin1 string (one char per byte). */
function latin1(b: Buffer, start: number, end: number): string {
  const n = end - start;
  return n <= SHORT_MAX ? shortLatin1[n](b, start) : b.latin1Slice(start, end);
}

function str(x: unknown): string | null {
  if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('latin1');
  return null;
}

export class SnapshotReader {
  /** Bytes of a magic or frame that a chunk boundary split, awaiting the rest. */
  private stash = Buffer.alloc(0);
  private stashLen = 0;
  /** Bytes received but not yet consumed (the stash, or the rest of the chunk being processed). */
  private pendingLen = 0;
  /** Offset of the first pending byte. */
  private offset = 0;
  private frame = 0;
  private header: SnapshotHeader | null = null;
  private footer: SnapshotFooter | null = null;
  private readonly hash = createHash('sha256');
  private readonly open = new Map<string, Open>();
  private readonly counts: number[] = [];
  private records = 0;
  /** Items of the piece being decoded by hand; builders read it during add() only. */
  private readonly items: unknown[] = [];
  /** Bytes consumed so far (progress). */
  consumed = 0;

  constructor(private readonly sink: SnapshotSink) {}

  private fail(kind: 'truncated' | 'corrupt', msg: string, at = this.offset): never {
    throw new SnapshotFormatError(kind, msg, at, this.frame);
  }

  /**
   * Total size of the unit (magic or frame) starting at p, or -1 while its
   * frame header is incomplete. Checks the header as soon as it is there.
   */
  private unitSize(b: Buffer, p: number, avail: number): number {
    if (this.offset === 0) return MAGIC.length;
    if (avail < FRAME_HEADER) return -1;
    const kind = b[p];
    const len = b.readUInt32LE(p + 1);
    if (kind !== KIND_HEADER && kind !== KIND_RECORDS && kind !== KIND_FOOTER) this.fail('corrupt', `bad frame kind 0x${kind.toString(16)}`);
    if (len > FRAME_MAX) this.fail('corrupt', `frame length ${len} out of range`);
    return FRAME_HEADER + len;
  }

  /** Feed the next bytes of the stream. Frames are decoded in place; only one split by a chunk boundary is copied. */
  push(chunk: Buffer): void {
    this.consumed += chunk.length;
    if (this.footer !== null) this.fail('corrupt', `${chunk.length} unexpected bytes after the footer`, this.offset + this.pendingLen);
    const n = chunk.length;
    let p = 0;
    this.pendingLen = this.stashLen + n;
    while (this.stashLen > 0) {
      const known = this.unitSize(this.stash, 0, this.stashLen);
      const need = known < 0 ? FRAME_HEADER : known;
      const take = Math.min(need - this.stashLen, n - p);
      this.stashPut(chunk, p, p + take);
      p += take;
      if (this.stashLen < need) return;
      if (known < 0) continue; // the header is complete now: learn the frame's size
      this.unit(this.stash, 0, need);
      this.stashLen = 0;
      this.pendingLen = n - p;
      if (this.footer !== null) return this.afterFooter();
    }
    while (p < n) {
      const size = this.unitSize(chunk, p, n - p);
      if (size < 0 || size > n - p) break;
      this.unit(chunk, p, size);
      p += size;
      this.pendingLen = n - p;
      if (this.footer !== null) return this.afterFooter();
    }
    if (p < n) this.stashPut(chunk, p, n);
  }

  private afterFooter(): void {
    if (this.pendingLen > 0) this.fail('corrupt', `${this.pendingLen} unexpected bytes after the footer`);
  }

  /** Append chunk[from, to) to the stash, growing it as bytes arrive (a damaged length must not allocate up front). */
  private stashPut(chunk: Buffer, from: number, to: number): void {
    const need = this.stashLen + (to - from);
    if (need > this.stash.length) {
      const nb = Buffer.allocUnsafe(Math.max(need, this.stash.length * 2, 64 * 1024));
      this.stash.copy(nb, 0, 0, this.stashLen);
      this.stash = nb;
    }
    chunk.copy(this.stash, this.stashLen, from, to);
    this.stashLen = need;
  }

  /** One complete magic or frame, b[p, p+size). */
  private unit(b: Buffer, p: number, size: number): void {
    const f = b.subarray(p, p + size);
    if (this.offset === 0) {
      if (!f.equals(MAGIC)) this.fail('corrupt', 'not a damselfly snapshot (bad magic)', 0);
      this.hash.update(f);
      this.offset = size;
      return;
    }
    const at = this.offset;
    this.offset = at + size;
    const kind = f[0];
    const payload = f.subarray(FRAME_HEADER);
    if (frameCrc(f, payload) !== f.readUInt32LE(5)) this.fail('corrupt', 'frame checksum mismatch', at);
    this.onFrame(kind, payload, at);
    if (kind !== KIND_FOOTER) this.hash.update(f);
    this.frame++;
  }

  private onFrame(kind: number, payload: Buffer, at: number): void {
    if (this.frame === 0 && kind !== KIND_HEADER) this.fail('corrupt', 'first frame is not the header', at);
    if (kind === KIND_HEADER) {
      if (this.frame !== 0) this.fail('corrupt', 'second header frame', at);
      const h = this.unpackOne(payload, at) as SnapshotHeader;
      if (h === null || typeof h !== 'object' || h.magic !== HEADER_MAGIC) this.fail('corrupt', 'bad header', at);
      if (h.version !== FORMAT_VERSION) this.fail('corrupt', `unsupported format version ${h.version} (this server reads ${FORMAT_VERSION})`, at);
      if (!Number.isInteger(h.dbCount) || h.dbCount < 1) this.fail('corrupt', 'bad db count in header', at);
      this.header = h;
      for (let i = 0; i < h.dbCount; i++) this.counts.push(0);
      this.sink.header?.(h);
      return;
    }
    if (kind === KIND_FOOTER) {
      this.onFooter(this.unpackOne(payload, at) as SnapshotFooter, at);
      return;
    }
    let p = 0;
    while (p < payload.length) {
      const b0 = payload[p];
      const tag = payload[p + 1];
      let q = 0;
      if (b0 === 0x95 && tag === REC_STRING) q = this.fastString(payload, p, at);
      else if (b0 === 0x97 && tag === REC_COLL) q = this.fastColl(payload, p, at);
      else if (b0 === 0x95 && tag === REC_PIECE) q = this.fastPiece(payload, p, at);
      if (q > 0) {
        p = q;
        continue;
      }
      let rec: unknown;
      let end = 0;
      try {
        packr.unpackMultiple(payload.subarray(p), (v: unknown, _s?: number, e?: number) => {
          rec = v;
          end = e ?? 0;
          return false;
        });
      } catch (e) {
        this.fail('corrupt', `undecodable record at payload offset ${p}: ${(e as Error).message}`, at);
      }
      if (end <= 0) this.fail('corrupt', `undecodable record at payload offset ${p}`, at);
      this.onRecord(rec, at);
      p += end;
    }
  }

  /*
   * The fast paths below decode records as FrameEncoder writes them, with no
   * intermediate objects, and return the next offset; they return 0 before
   * any side effect when the bytes take another (valid or not) shape, and the
   * generic msgpack path then decodes or rejects the record.
   */

  // The fields head() decodes (kept on the reader: no object per record).
  private hdb = 0;
  private hkey = 0;
  private hklen = 0;
  private hexp: number | null = null;

  /**
   * The db, key and expiry that open a string or collection record (tag
   * byte and array header at p): sets the h* fields and returns the offset
   * after them, or 0 if the bytes are not in the encoder's exact shape.
   */
  private head(b: Buffer, p: number): number {
    const n = b.length;
    p += 2;
    if (!(b[p] < 0x80)) return 0;
    this.hdb = b[p++];
    const kstart = readBin(b, p);
    const klen = binLen(b, p);
    if (kstart < 0 || klen < 0 || kstart + klen >= n) return 0;
    this.hkey = kstart;
    this.hklen = klen;
    p = kstart + klen;
    if (b[p] === 0xc0) {
      this.hexp = null;
      return p + 1;
    }
    if (b[p] === 0xcb && p + 9 <= n) {
      this.hexp = b.readDoubleBE(p + 1);
      return p + 9;
    }
    return 0;
  }

  /** [REC_STRING, db, key, exp, value] */
  private fastString(b: Buffer, p: number, at: number): number {
    const n = b.length;
    p = this.head(b, p);
    if (p === 0) return 0;
    const { hdb: db, hkey: kstart, hklen: klen, hexp: exp } = this;
    const v = readBin(b, p);
    const vlen = binLen(b, p);
    if (v < 0 || vlen < 0 || v + vlen > n) return 0;
    this.checkDb(db, at);
    this.records++;
    this.counts[db]++;
    this.sink.key(db, latin1(b, kstart, kstart + klen), latin1(b, v, v + vlen), exp);
    return v + vlen;
  }

  /** [REC_COLL, db, key, exp, type, piece, last] */
  private fastColl(b: Buffer, p: number, at: number): number {
    const n = b.length;
    p = this.head(b, p);
    if (p === 0) return 0;
    const { hdb: db, hkey: kstart, hklen: klen, hexp: exp } = this;
    if ((b[p] & 0xe0) !== 0xa0) return 0;
    const tlen = b[p] & 0x1f;
    const tstart = p + 1;
    p = tstart + tlen;
    if (p >= n) return 0;
    const end = this.fastItems(b, p);
    if (end === 0) return 0;
    this.records++;
    this.checkDb(db, at);
    const key = latin1(b, kstart, kstart + klen);
    let id = '';
    if (this.open.size > 0) {
      id = db + '\0' + key;
      if (this.open.has(id)) this.fail('corrupt', 'collection started twice', at);
    }
    const type = latin1(b, tstart, tstart + tlen);
    let builder: ValueBuilder;
    try {
      builder = codecFor(type).builder();
    } catch {
      this.fail('corrupt', `unknown type ${type}`, at);
    }
    const o = { builder, expireAt: exp };
    const last = b[end - 1] === 0xc3;
    if (!last) {
      if (id === '') id = db + '\0' + key;
      this.open.set(id, o);
    }
    this.addItems(id, db, key, o, last, at);
    return end;
  }

  /** [REC_PIECE, db, key, piece, last] */
  private fastPiece(b: Buffer, p: number, at: number): number {
    const n = b.length;
    p += 2;
    if (!(b[p] < 0x80)) return 0;
    const db = b[p++];
    const kstart = readBin(b, p);
    const klen = binLen(b, p);
    if (kstart < 0 || klen < 0 || kstart + klen >= n) return 0;
    const end = this.fastItems(b, kstart + klen);
    if (end === 0) return 0;
    this.records++;
    this.checkDb(db, at);
    const key = latin1(b, kstart, kstart + klen);
    const id = db + '\0' + key;
    const o = this.open.get(id);
    if (o === undefined) this.fail('corrupt', 'piece of a collection that was not started', at);
    this.addItems(id, db, key, o, b[end - 1] === 0xc3, at);
    return end;
  }

  /**
   * A piece array at p and the `last` boolean after it, decoded into
   * this.items; returns the offset after `last`, or 0 if anything is not in
   * the encoder's shape (bin strings, fixint/int32/float64 numbers, true = -0).
   */
  private fastItems(b: Buffer, p: number): number {
    const n = b.length;
    let count: number;
    const h = b[p];
    if ((h & 0xf0) === 0x90) {
      count = h & 0x0f;
      p++;
    } else if (h === 0xdc && p + 3 <= n) {
      count = b.readUInt16BE(p + 1);
      p += 3;
    } else if (h === 0xdd && p + 5 <= n) {
      count = b.readUInt32BE(p + 1);
      p += 5;
    } else return 0;
    // Each item takes at least one byte: a count beyond the payload is not this shape.
    if (count > n - p) return 0;
    const items = this.items;
    items.length = 0;
    for (let i = 0; i < count; i++) {
      if (p >= n) return 0;
      const x = b[p];
      if (x === 0xc4) {
        if (p + 2 > n) return 0;
        const s = p + 2;
        const e = s + b[p + 1];
        if (e > n) return 0;
        items[i] = latin1(b, s, e);
        p = e;
      } else if (x < 0x80) {
        items[i] = x;
        p++;
      } else if (x === 0xcb) {
        if (p + 9 > n) return 0;
        items[i] = b.readDoubleBE(p + 1);
        p += 9;
      } else if (x === 0xd2) {
        if (p + 5 > n) return 0;
        items[i] = b.readInt32BE(p + 1);
        p += 5;
      } else if (x === 0xc3) {
        items[i] = -0;
        p++;
      } else if (x === 0xc5 || x === 0xc6) {
        const s = readBin(b, p);
        const len = binLen(b, p);
        if (len < 0 || s + len > n) return 0;
        items[i] = latin1(b, s, s + len);
        p = s + len;
      } else return 0;
    }
    if (p >= n || (b[p] !== 0xc2 && b[p] !== 0xc3)) return 0;
    return p + 1;
  }

  /** this.items into the open collection; the key is complete when `last`. */
  private addItems(id: string, db: number, key: string, o: Open, last: boolean, at: number): void {
    try {
      o.builder.add(this.items);
    } catch (e) {
      this.fail('corrupt', `bad collection piece: ${(e as Error).message}`, at);
    }
    this.items.length = 0;
    if (last) this.close(id, db, key, o, at);
  }

  /** The last piece of a collection is in: build it and hand the key over. */
  private close(id: string, db: number, key: string, o: Open, at: number): void {
    if (id !== '') this.open.delete(id);
    let v: Value;
    try {
      v = o.builder.done();
    } catch (e) {
      this.fail('corrupt', `bad collection: ${(e as Error).message}`, at);
    }
    this.counts[db]++;
    this.sink.key(db, key, v, o.expireAt);
  }

  private unpackOne(payload: Buffer, at: number): unknown {
    try {
      return packr.unpack(payload);
    } catch (e) {
      this.fail('corrupt', `undecodable frame: ${(e as Error).message}`, at);
    }
  }

  private checkDb(db: unknown, at: number): number {
    if (!Number.isInteger(db) || (db as number) < 0 || (db as number) >= this.header!.dbCount) this.fail('corrupt', `record for db ${String(db)} out of range`, at);
    return db as number;
  }

  private onRecord(r: unknown, at: number): void {
    if (!Array.isArray(r)) this.fail('corrupt', 'record is not an array', at);
    this.records++;
    const tag = r[0];
    const db = this.checkDb(r[1], at);
    const key = str(r[2]);
    if (key === null) this.fail('corrupt', 'record key is not binary', at);
    if (tag === REC_STRING || tag === REC_COLL) {
      const exp = r[3];
      if (exp !== null && typeof exp !== 'number') this.fail('corrupt', 'bad expiry', at);
      if (tag === REC_STRING) {
        const v = str(r[4]);
        if (v === null) this.fail('corrupt', 'string value is not binary', at);
        this.counts[db]++;
        this.sink.key(db, key, v, exp);
        return;
      }
      const id = db + '\0' + key;
      if (this.open.has(id)) this.fail('corrupt', 'collection started twice', at);
      let builder: ValueBuilder;
      try {
        builder = codecFor(String(r[4])).builder();
      } catch {
        this.fail('corrupt', `unknown type ${String(r[4])}`, at);
      }
      const o = { builder, expireAt: exp };
      this.open.set(id, o);
      this.piece(id, db, key, o, r[5], r[6], at);
      return;
    }
    if (tag === REC_PIECE) {
      const id = db + '\0' + key;
      const o = this.open.get(id);
      if (o === undefined) this.fail('corrupt', 'piece of a collection that was not started', at);
      this.piece(id, db, key, o, r[3], r[4], at);
      return;
    }
    this.fail('corrupt', `unknown record tag ${String(tag)}`, at);
  }

  private piece(id: string, db: number, key: string, o: Open, piece: unknown, last: unknown, at: number): void {
    if (!Array.isArray(piece)) this.fail('corrupt', 'collection piece is not an array', at);
    try {
      o.builder.add(decodePiece(piece));
    } catch (e) {
      this.fail('corrupt', `bad collection piece: ${(e as Error).message}`, at);
    }
    if (last === true) this.close(id, db, key, o, at);
  }

  private onFooter(f: SnapshotFooter, at: number): void {
    if (f === null || typeof f !== 'object' || !Array.isArray(f.keys)) this.fail('corrupt', 'bad footer', at);
    if (this.open.size > 0) this.fail('corrupt', `${this.open.size} collection(s) left incomplete`, at);
    if (f.bytes !== at) this.fail('corrupt', `footer says ${f.bytes} data bytes, found ${at}`, at);
    if (f.records !== this.records) this.fail('corrupt', `footer says ${f.records} records, found ${this.records}`, at);
    if (f.frames !== this.frame + 1) this.fail('corrupt', `footer says ${f.frames} frames, found ${this.frame + 1}`, at);
    for (let i = 0; i < this.counts.length; i++) {
      if ((f.keys[i] ?? 0) !== this.counts[i]) this.fail('corrupt', `footer says db ${i} has ${f.keys[i]} keys, found ${this.counts[i]}`, at);
    }
    const digest = this.hash.digest('hex');
    if (digest !== f.sha256) this.fail('corrupt', 'data checksum mismatch', at);
    this.footer = f;
  }

  /** Call at end of stream: the footer must have been read. */
  end(): { header: SnapshotHeader; footer: SnapshotFooter } {
    if (this.footer === null) {
      const where = this.offset + this.pendingLen;
      if (this.offset === 0 && this.pendingLen < MAGIC.length) this.fail('truncated', `stream ends after ${where} bytes, before the magic`, where);
      if (this.pendingLen > 0) this.fail('truncated', `stream ends inside frame ${this.frame} (${this.pendingLen} of its bytes present)`, this.offset);
      this.fail('truncated', `stream ends after ${this.frame} frames with no footer`, where);
    }
    return { header: this.header!, footer: this.footer };
  }

  /** Read a whole stream. Rejects with SnapshotFormatError on damage. */
  static async read(stream: Readable, sink: SnapshotSink, onChunk?: (consumed: number) => void | Promise<void>): Promise<{ header: SnapshotHeader; footer: SnapshotFooter }> {
    const r = new SnapshotReader(sink);
    try {
      for await (const chunk of stream) {
        r.push(chunk as Buffer);
        if (onChunk) await onChunk(r.consumed);
      }
    } finally {
      stream.destroy();
    }
    return r.end();
  }
}
