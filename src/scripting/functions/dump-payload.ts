/**
 * FUNCTION DUMP / RESTORE payloads, byte for byte as Redis 7.0 writes and
 * reads them (functions.c functionDumpCommand, rdb.c rdbSaveFunctions and
 * rdbFunctionLoad, cluster.c verifyDumpPayload):
 *
 *   ( RDB_OPCODE_FUNCTION2 (245) | rdb string: the library's code )*
 *   RDB version, u16le (10)
 *   CRC-64/Jones of everything before it, u64le
 *
 * The code is an RDB string: LZF-compressed when longer than 20 bytes and
 * compression saves at least 4 (rdbcompression defaults to yes). Reading
 * also takes the 7.0-rc format (opcode 246: name, engine, optional
 * description, body) and integer-encoded strings, as Redis does.
 */
import { OP_FUNCTION as RDB_OPCODE_FUNCTION, OP_FUNCTION2 as RDB_OPCODE_FUNCTION2, RDB_VERSION, RdbFormatError } from '../../rdb/constants.js';
import { crc64 } from '../../rdb/crc64.js';
import { RdbInput } from '../../rdb/input.js';
import { RdbOutput } from '../../rdb/output.js';
import { verifyDumpPayload } from '../../rdb/dump-payload.js';

/** The payload FUNCTION DUMP answers, for libraries' code (latin1 strings). */
export function encodeFunctionsPayload(codes: Iterable<string>): Buffer {
  const out = new RdbOutput();
  for (const code of codes) {
    out.byte(RDB_OPCODE_FUNCTION2);
    out.string(code);
  }
  out.byte(RDB_VERSION & 0xff);
  out.byte(RDB_VERSION >> 8);
  out.raw(crc64(out.bytes()));
  return Buffer.from(out.bytes());
}

/** verifyDumpPayload: at least the footer, a known RDB version, a matching CRC. */
export const verifyPayload = verifyDumpPayload;

/** rdbGenericLoadStringObject, or null when it cannot be read. */
function str(r: RdbInput): string | null {
  try {
    return r.string();
  } catch (e) {
    if (e instanceof RdbFormatError) return null;
    throw e;
  }
}

/**
 * The libraries' code a verified payload holds, in order, or the error
 * Redis's FUNCTION RESTORE answers (without the "ERR " prefix).
 */
export function decodeFunctionsPayload(p: Buffer): string[] | { error: string } {
  const r = new RdbInput(p, 0, p.length - 10, true);
  const codes: string[] = [];
  while (r.pos < r.end) {
    const type = r.byte();
    if (type !== RDB_OPCODE_FUNCTION && type !== RDB_OPCODE_FUNCTION2) return { error: 'given type is not a function' };
    if (type === RDB_OPCODE_FUNCTION2) {
      const code = str(r);
      if (code === null) return { error: 'Failed loading library payload' };
      codes.push(code);
      continue;
    }
    // 7.0-rc1/rc2: name, engine, description flag (and description), body.
    const name = str(r);
    if (name === null) return { error: 'Failed loading library name' };
    const engine = str(r);
    if (engine === null) return { error: 'Failed loading engine name' };
    let hasDesc: number;
    try {
      hasDesc = r.count();
    } catch (e) {
      if (e instanceof RdbFormatError) return { error: 'Failed loading library description indicator' };
      throw e;
    }
    if (hasDesc !== 0 && str(r) === null) return { error: 'Failed loading library description' };
    const blob = str(r);
    if (blob === null) return { error: 'Failed loading library blob' };
    codes.push(`#!${engine} name=${name}\n${blob}`);
  }
  return codes;
}
