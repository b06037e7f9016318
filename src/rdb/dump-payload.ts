/**
 * DUMP / RESTORE payloads (cluster.c createDumpPayload, verifyDumpPayload):
 *
 *   type byte | the value in RDB form | RDB version u16le | CRC-64 of all before, u64le
 */
import { RDB_VERSION, RdbFormatError } from './constants.js';
import { crc64 } from './crc64.js';
import { RdbInput } from './input.js';
import { RdbOutput } from './output.js';
import { readValue } from './value-decoder.js';
import { writeValue } from './value-encoder.js';
import { isObjectType } from './constants.js';
import type { Value } from '../types/value.js';

export function createDumpPayload(v: Value, compress = true): Buffer {
  const out = new RdbOutput(256);
  out.compress = compress;
  writeValue(out, v);
  out.byte(RDB_VERSION & 0xff);
  out.byte(RDB_VERSION >> 8);
  out.raw(crc64(out.bytes()));
  return Buffer.from(out.bytes());
}

/** verifyDumpPayload: the footer is there, the version is one we read, the CRC matches. */
export function verifyDumpPayload(p: Buffer): boolean {
  if (p.length < 10) return false;
  const ver = p[p.length - 10] | (p[p.length - 9] << 8);
  if (ver > RDB_VERSION) return false;
  return crc64(p.subarray(0, p.length - 8)).equals(p.subarray(p.length - 8));
}

/** The value of a verified payload; RdbFormatError when it is not a well-formed value. */
export function parseDumpPayload(p: Buffer): Value {
  const inp = new RdbInput(p, 0, p.length - 10, true);
  const type = inp.byte();
  if (!isObjectType(type)) throw new RdbFormatError(`unknown value type ${type}`);
  return readValue(inp, type);
}
