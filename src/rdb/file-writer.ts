/**
 * Writes a keyspace as a Redis RDB file (version 10, what redis-server 7.0
 * writes and loads; rdb.c rdbSaveRio): aux fields, function libraries, then
 * per database SELECTDB, RESIZEDB and every key with its expiry, EOF and
 * the CRC-64 of the whole file (zero with rdbchecksum no, as Redis).
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import * as C from './constants.js';
import { Crc64 } from './crc64.js';
import { RdbOutput } from './output.js';
import { rdbTypeOf, writeValueBody } from './value-encoder.js';
import type { Keyspace } from '../keyspace/keyspace.js';

/** What Redis tools read from the aux fields: this file is a Redis 7.0 RDB. */
const REDIS_VER = '7.0.15';
const FLUSH_AT = 1 << 20;

export interface RdbWriteOptions {
  compress: boolean;
  checksum: boolean;
}

export interface RdbWriteResult {
  bytes: number;
  keys: number;
  expiredSkipped: number;
}

export async function writeRdb(ks: Keyspace, functions: readonly string[], sink: Writable, opts: RdbWriteOptions): Promise<RdbWriteResult> {
  const out = new RdbOutput(FLUSH_AT * 2);
  out.compress = opts.compress;
  const crc = new Crc64();
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (out.pos === 0) return;
    const chunk = Buffer.from(out.bytes());
    if (opts.checksum) crc.update(chunk);
    bytes += chunk.length;
    out.reset();
    if (!sink.write(chunk)) await once(sink, 'drain');
  };
  const aux = (k: string, v: string) => {
    out.byte(C.OP_AUX);
    out.string(k);
    out.string(v);
  };
  out.raw(Buffer.from(`REDIS${String(C.RDB_VERSION).padStart(4, '0')}`, 'latin1'));
  aux('redis-ver', REDIS_VER);
  aux('redis-bits', '64');
  aux('ctime', String(Math.floor(Date.now() / 1000)));
  aux('used-mem', String(process.memoryUsage().heapUsed));
  aux('aof-base', '0');
  for (const code of functions) {
    out.byte(C.OP_FUNCTION2);
    out.string(code);
  }
  const now = Date.now();
  let keys = 0;
  let expiredSkipped = 0;
  for (const db of ks.dbs) {
    const t = db.table;
    if (t.size === 0) continue;
    out.byte(C.OP_SELECTDB);
    out.len(db.id);
    out.byte(C.OP_RESIZEDB);
    out.len(t.size);
    let expires = 0;
    for (const seg of t.segments()) expires += seg.expiresSize;
    out.len(expires);
    for (const seg of t.segments()) {
      seg.forEachKey((key, value, expireAt) => {
        if (expireAt !== undefined) {
          if (expireAt <= now) {
            expiredSkipped++;
            return;
          }
          out.byte(C.OP_EXPIRETIME_MS);
          out.millis(expireAt);
        }
        // The type byte, then key and value (rdbSaveKeyValuePair).
        out.byte(rdbTypeOf(value));
        out.string(key);
        writeValueBody(out, value);
        keys++;
      });
      if (out.pos >= FLUSH_AT) await flush();
    }
  }
  out.byte(C.OP_EOF);
  await flush();
  const tail = opts.checksum ? crc.digest() : Buffer.alloc(8);
  bytes += 8;
  if (!sink.write(tail)) await once(sink, 'drain');
  return { bytes, keys, expiredSkipped };
}
