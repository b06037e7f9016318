/**
 * Reads a Redis RDB file (rdb.c rdbLoadRio) as it streams in, handing each
 * record to a visitor: aux fields, SELECTDB / RESIZEDB, keys with their
 * expiry and LRU/LFU hints, function libraries. The file's CRC-64 is
 * computed over every byte as it goes and checked at EOF (a zero checksum
 * means the writer had rdbchecksum off, as Redis accepts).
 *
 * Records are decoded synchronously from a window of the file; one that
 * runs past the window is decoded again once more data is in (NEED_MORE),
 * the window growing until the record fits, however large the value.
 */
import type { Readable } from 'node:stream';
import * as C from './constants.js';
import { RdbFormatError, RdbModuleError } from './constants.js';
import { Crc64 } from './crc64.js';
import { NEED_MORE, RdbInput } from './input.js';
import { readValue } from './value-decoder.js';
import type { Value } from '../types/value.js';

export interface RdbVisitor {
  aux?(key: string, value: string): void;
  resizeDb?(db: number, keys: number, expires: number): void;
  /**
   * A key: expireAt is absolute ms or null; idle (RDB_OPCODE_IDLE, seconds)
   * and freq (RDB_OPCODE_FREQ) are -1 when absent. Positional: millions of
   * calls, no object each.
   */
  key(db: number, key: string, value: Value, expireAt: number | null, idle: number, freq: number): void;
  /** A key whose value was empty (Redis skips those with a warning). */
  emptyKey?(db: number, key: string): void;
  /** A function library's code (RDB_OPCODE_FUNCTION2, or the 7.0-rc form turned into it). */
  library?(code: string): void;
}

export interface RdbSummary {
  version: number;
  bytes: number;
  /** false when the file carried a zero checksum (written with rdbchecksum no). */
  checksumVerified: boolean;
}

/** Damage in an RDB file: where, and what. */
export class RdbFileError extends RdbFormatError {
  constructor(
    readonly offset: number,
    readonly why: string,
    readonly truncated: boolean,
  ) {
    super(`RDB file ${truncated ? 'truncated' : 'damaged'} at byte ${offset}: ${why}`);
  }
}

const CHUNK = 1 << 20;

export async function readRdb(data: Readable | AsyncIterable<Buffer>, visitor: RdbVisitor, progress?: (bytes: number) => void): Promise<RdbSummary> {
  const it = (data as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const inp = new RdbInput(Buffer.alloc(0), 0, 0, false);
  const crc = new Crc64();
  /** File offset of inp.buf[0]. */
  let base = 0;
  /** Bytes of the window already in the CRC. */
  let crcTo = 0;
  let ended = false;

  /**
   * Keep the window from `from` on and append at least `want` more bytes (or
   * everything left). The window is one buffer reused for the whole file
   * (values are copied out of it as strings), grown only when a record
   * needs more: a fresh multi-MB buffer per chunk costs page faults.
   */
  let window = Buffer.allocUnsafeSlow(2 * CHUNK);
  const refill = async (from: number, want: number): Promise<void> => {
    crc.update(inp.buf, crcTo, from);
    const keep = inp.end - from;
    const pending: Buffer[] = [];
    let got = 0;
    while (!ended && got < want) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      pending.push(b);
      got += b.length;
    }
    const need = keep + got;
    if (need > window.length) {
      const nw = Buffer.allocUnsafeSlow(Math.max(need, window.length * 2));
      inp.buf.copy(nw, 0, from, inp.end);
      window = nw;
    } else inp.buf.copy(window, 0, from, inp.end);
    let at = keep;
    for (const b of pending) at += b.copy(window, at);
    base += from;
    inp.buf = window;
    inp.pos = 0;
    inp.end = at;
    inp.final = ended;
    crcTo = 0;
    progress?.(base + inp.end);
  };

  const fail = (e: unknown, at: number): never => {
    if (e instanceof RdbFileError) throw e;
    if (e instanceof RdbModuleError) throw new RdbFileError(base + at, e.message, false);
    if (e instanceof RdbFormatError) {
      const truncated = e.message === 'unexpected end of data';
      throw new RdbFileError(base + at, truncated ? 'the file ends in the middle of a record' : e.message, truncated);
    }
    throw e;
  };

  await refill(0, 9);
  if (inp.end < 9 || inp.buf.latin1Slice(0, 5) !== 'REDIS') throw new RdbFileError(0, 'not an RDB file (no REDIS signature)', false);
  const verText = inp.buf.latin1Slice(5, 9);
  const version = /^\d{4}$/.test(verText) ? Number(verText) : NaN;
  if (!(version >= 1 && version <= C.RDB_VERSION)) throw new RdbFileError(5, `RDB version ${verText} is not one this server reads (1 to ${C.RDB_VERSION})`, false);
  inp.pos = 9;

  let db = 0;
  let expireAt: number | null = null;
  let idle = -1;
  let freq = -1;
  let want = CHUNK;
  for (;;) {
    const rec = inp.pos;
    try {
      const type = inp.byte();
      switch (type) {
        case C.OP_EXPIRETIME_MS:
          expireAt = inp.millis();
          break;
        case C.OP_EXPIRETIME:
          expireAt = inp.seconds() * 1000;
          break;
        case C.OP_IDLE:
          idle = inp.count();
          break;
        case C.OP_FREQ:
          freq = inp.byte();
          break;
        case C.OP_SELECTDB:
          db = inp.count();
          break;
        case C.OP_RESIZEDB: {
          const keys = inp.count();
          const expires = inp.count();
          visitor.resizeDb?.(db, keys, expires);
          break;
        }
        case C.OP_AUX: {
          const k = inp.string();
          const v = inp.string();
          visitor.aux?.(k, v);
          break;
        }
        case C.OP_MODULE_AUX:
          throw new RdbModuleError(`module aux data (module type id ${String(inp.u64())}): this server has no modules to load it`);
        case C.OP_FUNCTION2: {
          const code = inp.string();
          visitor.library?.(code);
          break;
        }
        case C.OP_FUNCTION: {
          // 7.0-rc: name, engine, description flag (and description), body.
          const name = inp.string();
          const engine = inp.string();
          if (inp.count() !== 0) inp.string();
          const body = inp.string();
          visitor.library?.(`#!${engine} name=${name}\n${body}`);
          break;
        }
        case C.OP_EOF: {
          const end = inp.pos;
          if (version >= 5) {
            inp.need(8);
            crc.update(inp.buf, crcTo, end);
            crcTo = end;
            const stored = inp.buf.subarray(end, end + 8);
            const zero = stored.every((x) => x === 0);
            if (!zero && !crc.digest().equals(stored)) throw new RdbFileError(base + end, 'wrong RDB checksum (the file is damaged)', false);
            inp.pos = end + 8;
            return { version, bytes: base + inp.pos, checksumVerified: !zero };
          }
          return { version, bytes: base + end, checksumVerified: false };
        }
        default: {
          if (!C.isObjectType(type)) throw new RdbFormatError(`unknown record type ${type}`);
          const key = inp.string();
          let value: Value;
          try {
            value = readValue(inp, type);
          } catch (e) {
            if (!(e instanceof C.RdbEmptyKeyError)) throw e;
            visitor.emptyKey?.(db, key);
            expireAt = null;
            idle = freq = -1;
            break;
          }
          visitor.key(db, key, value, expireAt, idle, freq);
          expireAt = null;
          idle = freq = -1;
        }
      }
      want = CHUNK;
    } catch (e) {
      if (e !== NEED_MORE) fail(e, rec);
      if (ended) fail(new RdbFormatError('unexpected end of data'), rec);
      // The record did not fit: keep it, read more (twice as much each time it still does not fit).
      await refill(rec, want);
      want = Math.min(want * 2, 1 << 30);
    }
  }
}
