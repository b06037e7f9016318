/**
 * The snapshot file format, version 1 (documented in docs/snapshot-format.md).
 *
 *   magic "DMSFSNAP" (8 bytes)
 *   frame*            kind u8 | payload length u32le | crc32 u32le | payload
 *
 * The first frame ('H') holds the header map, the last ('F') the footer map;
 * every frame between ('R') holds msgpack records back to back. Frames are
 * what make damage locatable: each carries a CRC32 over its kind, length and
 * payload, so the reader names the frame and byte offset where the data goes
 * bad, and a missing footer is truncation, never a short keyspace. The
 * footer's SHA-256 covers every byte before the footer frame and is the
 * checksum the manifest carries.
 *
 * Records (msgpack arrays; keys and string values are msgpack bin, binary-safe):
 *   [0, db, key, expireAt|null, value]                 a string
 *   [1, db, key, expireAt|null, type, piece, last]     a collection's first piece
 *   [2, db, key, piece, last]                          its next pieces
 * A collection's pieces may be interleaved with other records (a write may
 * force a segment out while a large value is half written), so continuation
 * records name their key.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';

export const MAGIC = Buffer.from('DMSFSNAP', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_MAGIC = 'damselfly-snapshot';
export const FRAME_HEADER = 9;
/** A frame is closed once its payload passes this size. */
export const FRAME_TARGET = 64 * 1024;
/** FrameEncoder's slab size: frames are carved out of it. */
const SLAB = 160 * 1024;
/** Sanity bound: a length beyond this is damage, not a frame. */
export const FRAME_MAX = 1024 * 1024 * 1024;

export const KIND_HEADER = 0x48; // 'H'
export const KIND_RECORDS = 0x52; // 'R'
export const KIND_FOOTER = 0x46; // 'F'

export const REC_STRING = 0;
export const REC_COLL = 1;
export const REC_PIECE = 2;

export interface SnapshotHeader {
  magic: string;
  version: number;
  createdAt: number;
  serverId: string;
  seq: number;
  dbCount: number;
  /** Function libraries' code (functions-section.ts); absent when there are none. */
  functions?: Uint8Array[];
}

export interface SnapshotFooter {
  /** Keys per db (index = db number). */
  keys: number[];
  records: number;
  frames: number;
  /** Byte offset of the footer frame = bytes covered by sha256. */
  bytes: number;
  sha256: string;
}

export const packr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });

/**
 * Piece items come back as bin (strings, to latin1) and numbers; `true`
 * stands for -0, which msgpack would otherwise turn into integer 0.
 */
export function decodePiece(piece: unknown[]): unknown[] {
  for (let i = 0; i < piece.length; i++) {
    const x = piece[i];
    if (x instanceof Uint8Array) piece[i] = Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('latin1');
    else if (x === true) piece[i] = -0;
  }
  return piece;
}

/**
 * Turns records into framed bytes. `emit` receives each finished frame;
 * the running SHA-256 and offset let finish() write the footer.
 */
export class FrameEncoder {
  /**
   * Frames are built in place in a slab, behind room for their 9-byte
   * header, and emitted as views of it: no copy per frame, and one
   * allocation per SLAB bytes (the slab is freed once its frames are written).
   */
  private buf = Buffer.allocUnsafe(SLAB);
  /** Where the open frame starts in buf (its header). */
  private fstart = 0;
  /** Write position in buf: the open frame's payload is [fstart + FRAME_HEADER, len). */
  private len = FRAME_HEADER;
  private readonly hash: Hash = createHash('sha256');
  /** Bytes emitted so far (magic included). */
  offset = 0;
  frames = 0;
  records = 0;

  constructor(private readonly emit: (chunk: Buffer) => void) {}

  start(header: SnapshotHeader): void {
    this.out(Buffer.from(MAGIC));
    this.frame(KIND_HEADER, packr.pack(header));
  }

  private reserve(n: number): void {
    if (this.len + n > this.buf.length) {
      // A new slab; the open frame moves to its start.
      const open = this.len - this.fstart;
      const nb = Buffer.allocUnsafe(Math.max(SLAB, 2 * (open + n)));
      this.buf.copy(nb, 0, this.fstart, this.len);
      this.buf = nb;
      this.fstart = 0;
      this.len = open;
    }
  }

  /** The open frame's payload has reached its target size. */
  private get full(): boolean {
    return this.len - this.fstart >= FRAME_TARGET + FRAME_HEADER;
  }

  /**
   * The hot path, [REC_STRING, db, key, exp, value] encoded by hand (the
   * same msgpack bytes a packer would produce, minus the per-record copies).
   */
  addString(db: number, key: string, exp: number | null, value: string): void {
    this.reserve(key.length + value.length + 32);
    const buf = this.buf;
    let p = this.len;
    buf[p++] = 0x95;
    buf[p++] = REC_STRING;
    p = writeDb(buf, p, db);
    p = writeBin(buf, p, key);
    p = writeExp(buf, p, exp);
    p = writeBin(buf, p, value);
    this.len = p;
    this.records++;
    if (this.full) this.flush();
  }

  /** [REC_COLL, db, key, exp, type, piece, last] by hand (see addString). */
  addCollStart(db: number, key: string, exp: number | null, type: string, piece: readonly unknown[], last: boolean): void {
    this.reserve(key.length + type.length + 32);
    let p = this.len;
    const buf = this.buf;
    buf[p++] = 0x97;
    buf[p++] = REC_COLL;
    p = writeDb(buf, p, db);
    p = writeBin(buf, p, key);
    p = writeExp(buf, p, exp);
    buf[p++] = 0xa0 | type.length;
    p += buf.latin1Write(type, p);
    this.len = p;
    this.piece(piece, last);
  }

  /** [REC_PIECE, db, key, piece, last] by hand. */
  addPiece(db: number, key: string, piece: readonly unknown[], last: boolean): void {
    this.reserve(key.length + 16);
    let p = this.len;
    const buf = this.buf;
    buf[p++] = 0x95;
    buf[p++] = REC_PIECE;
    p = writeDb(buf, p, db);
    p = writeBin(buf, p, key);
    this.len = p;
    this.piece(piece, last);
  }

  private piece(piece: readonly unknown[], last: boolean): void {
    const n = piece.length;
    this.reserve(5);
    let p = this.len;
    if (n < 16) this.buf[p++] = 0x90 | n;
    else if (n < 65536) {
      this.buf[p++] = 0xdc;
      this.buf.writeUInt16BE(n, p);
      p += 2;
    } else {
      this.buf[p++] = 0xdd;
      this.buf.writeUInt32BE(n, p);
      p += 4;
    }
    this.len = p;
    for (let i = 0; i < n; i++) {
      const x = piece[i];
      if (typeof x === 'string') {
        this.reserve(x.length + 5);
        this.len = writeBin(this.buf, this.len, x);
      } else if (typeof x === 'number') {
        this.reserve(9);
        this.len = writeNum(this.buf, this.len, x);
      } else throw new Error(`snapshot pieces hold strings and numbers, not ${typeof x}`);
    }
    this.reserve(1);
    this.buf[this.len++] = last ? 0xc3 : 0xc2;
    this.records++;
    if (this.full) this.flush();
  }

  add(record: unknown[]): void {
    const b = packr.pack(record);
    this.reserve(b.length);
    // packr reuses its output buffer: copy before the next pack.
    b.copy(this.buf, this.len);
    this.len += b.length;
    this.records++;
    if (this.full) this.flush();
  }

  /** Close the current records frame, if any. */
  flush(): void {
    const at = this.fstart;
    if (this.len === at + FRAME_HEADER) return;
    const f = this.buf.subarray(at, this.len);
    f[0] = KIND_RECORDS;
    f.writeUInt32LE(this.len - at - FRAME_HEADER, 1);
    f.writeUInt32LE(crc32(f.subarray(FRAME_HEADER), crc32(f.subarray(0, 5))), 5);
    this.fstart = this.len;
    this.len += FRAME_HEADER;
    this.reserve(0);
    this.out(f);
    this.frames++;
  }

  finish(keys: number[]): SnapshotFooter {
    this.flush();
    const footer: SnapshotFooter = { keys, records: this.records, frames: this.frames + 1, bytes: this.offset, sha256: this.hash.digest('hex') };
    const f = frameBytes(KIND_FOOTER, packr.pack(footer));
    this.offset += f.length;
    this.emit(f);
    return footer;
  }

  private frame(kind: number, payload: Buffer): void {
    this.out(frameBytes(kind, payload));
    this.frames++;
  }

  private out(b: Buffer): void {
    this.hash.update(b);
    this.offset += b.length;
    this.emit(b);
  }
}

function writeDb(buf: Buffer, p: number, db: number): number {
  if (db < 128) buf[p++] = db;
  else {
    buf[p++] = 0xcd;
    buf.writeUInt16BE(db, p);
    p += 2;
  }
  return p;
}

function writeExp(buf: Buffer, p: number, exp: number | null): number {
  if (exp === null) buf[p++] = 0xc0;
  else {
    buf[p++] = 0xcb;
    buf.writeDoubleBE(exp, p);
    p += 8;
  }
  return p;
}

/** A piece's number: -0 as `true` (see encodePiece), small integers compact, the rest float64. */
function writeNum(buf: Buffer, p: number, x: number): number {
  if (Object.is(x, -0)) buf[p++] = 0xc3;
  else if (Number.isInteger(x) && x >= 0 && x < 128) buf[p++] = x;
  else if (Number.isInteger(x) && x >= -2147483648 && x <= 2147483647) {
    buf[p++] = 0xd2;
    buf.writeInt32BE(x, p);
    p += 4;
  } else {
    buf[p++] = 0xcb;
    buf.writeDoubleBE(x, p);
    p += 8;
  }
  return p;
}

function writeBin(buf: Buffer, p: number, s: string): number {
  const n = s.length;
  if (n < 256) {
    buf[p++] = 0xc4;
    buf[p++] = n;
  } else if (n < 65536) {
    buf[p++] = 0xc5;
    buf.writeUInt16BE(n, p);
    p += 2;
  } else {
    buf[p++] = 0xc6;
    buf.writeUInt32BE(n, p);
    p += 4;
  }
  return p + buf.latin1Write(s, p);
}

function frameBytes(kind: number, payload: Buffer): Buffer {
  const f = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  f[0] = kind;
  f.writeUInt32LE(payload.length, 1);
  payload.copy(f, FRAME_HEADER);
  const c = crc32(payload, crc32(f.subarray(0, 5)));
  f.writeUInt32LE(c, 5);
  return f;
}

/** Damage found by the reader: where, and what. */
export class SnapshotFormatError extends Error {
  constructor(
    readonly kind: 'truncated' | 'corrupt',
    message: string,
    /** Byte offset of the damaged frame (or of the end of data). */
    readonly offset: number,
    readonly frame: number,
  ) {
    super(`snapshot ${kind} at byte ${offset} (frame ${frame}): ${message}`);
  }
}

export function frameCrc(head: Buffer, payload: Buffer): number {
  return crc32(payload, crc32(head.subarray(0, 5)));
}
