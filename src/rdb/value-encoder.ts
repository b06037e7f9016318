/**
 * A value of this server in RDB form (rdb.c rdbSaveObjectType and
 * rdbSaveObject), in the encoding Redis 7.0 would have for it, which OBJECT
 * ENCODING reports: strings (integer, LZF or raw), lists as quicklist 2 of
 * listpack nodes, intset or hashtable sets, listpack or hashtable hashes,
 * listpack or skiplist sorted sets, streams with their consumer groups.
 */
import * as C from './constants.js';
import type { RdbOutput } from './output.js';
import { ListpackWriter } from './listpack.js';
import { writeIntset } from './ziplist.js';
import { writeStream } from './stream-encoder.js';
import { listParams, type ListValue } from '../types/list.js';
import type { HashValue } from '../types/hash.js';
import type { RedisSet } from '../types/set.js';
import type { SortedSet } from '../types/zset.js';
import type { StreamValue } from '../types/stream.js';
import type { Value } from '../types/value.js';
import { formatDouble } from '../protocol/reply.js';

const lp = new ListpackWriter();

/** Redis's packed_threshold: an element this large gets a plain quicklist node. */
const PACKED_THRESHOLD = 1 << 30;

/** Bytes a quicklist node may reach (list-max-listpack-size: -1..-5 are 4..64 KB; a count is capped at 8 KB). */
function nodeLimit(): { bytes: number; count: number } {
  const fill = listParams().size;
  if (fill < 0) return { bytes: 4096 << Math.min(-fill - 1, 4), count: Infinity };
  return { bytes: 8192, count: Math.max(fill, 1) };
}

function writeList(out: RdbOutput, l: ListValue): void {
  const lim = nodeLimit();
  const n = l.size;
  // Node boundaries first (the node count comes before the nodes).
  const cuts: number[] = [];
  let bytes = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const len = l.at(i).length + 11;
    const plain = l.at(i).length >= PACKED_THRESHOLD;
    if (count > 0 && (plain || bytes + len > lim.bytes || count >= lim.count)) {
      cuts.push(i);
      bytes = 0;
      count = 0;
    }
    bytes += len;
    count++;
    if (plain) {
      cuts.push(i + 1);
      bytes = 0;
      count = 0;
    }
  }
  if (count > 0) cuts.push(n);
  out.len(cuts.length);
  let from = 0;
  for (const to of cuts) {
    if (to - from === 1 && l.at(from).length >= PACKED_THRESHOLD) {
      out.len(C.QUICKLIST_PLAIN);
      out.string(l.at(from));
    } else {
      out.len(C.QUICKLIST_PACKED);
      lp.reset();
      for (let i = from; i < to; i++) lp.addString(l.at(i));
      out.blob(lp.finish());
    }
    from = to;
  }
}

function writeHash(out: RdbOutput, h: HashValue): number {
  if (h.encoding() === 'listpack') {
    lp.reset();
    for (const [f, v] of h.m) {
      lp.addString(f);
      lp.addString(v);
    }
    out.blob(lp.finish());
    return C.T_HASH_LISTPACK;
  }
  out.len(h.size);
  for (const [f, v] of h.m) {
    out.string(f);
    out.string(v);
  }
  return C.T_HASH;
}

function writeSet(out: RdbOutput, s: RedisSet): void {
  if (s.encoding() === 'intset') return out.blob(writeIntset(s.values()));
  out.len(s.size);
  for (const m of s.values()) out.string(m);
}

function writeZset(out: RdbOutput, z: SortedSet): void {
  if (z.encoding() === 'listpack') {
    lp.reset();
    for (const e of z.entries()) {
      lp.addString(e.member);
      lp.addString(formatDouble(e.score));
    }
    out.blob(lp.finish());
    return;
  }
  // Highest score first, as Redis saves a skiplist (so loading inserts at the head).
  out.len(z.size);
  for (let r = z.size - 1; r >= 0; r--) {
    const e = z.at(r)!;
    out.string(e.member);
    out.binaryDouble(e.score);
  }
}

/** The RDB type byte Redis would write for v (rdbSaveObjectType). */
export function rdbTypeOf(v: Value): number {
  if (typeof v === 'string') return C.T_STRING;
  switch (v.type) {
    case 'list':
      return C.T_LIST_QUICKLIST_2;
    case 'set':
      return v.encoding() === 'intset' ? C.T_SET_INTSET : C.T_SET;
    case 'zset':
      return v.encoding() === 'listpack' ? C.T_ZSET_LISTPACK : C.T_ZSET_2;
    case 'hash':
      return v.encoding() === 'listpack' ? C.T_HASH_LISTPACK : C.T_HASH;
    case 'stream':
      return C.T_STREAM_LISTPACKS_2;
  }
}

/** The type byte, then the value (a DUMP payload's body). */
export function writeValue(out: RdbOutput, v: Value): void {
  out.byte(rdbTypeOf(v));
  writeValueBody(out, v);
}

/** The value without its type byte (which an RDB file writes before the key). */
export function writeValueBody(out: RdbOutput, v: Value): void {
  if (typeof v === 'string') return out.string(v);
  switch (v.type) {
    case 'list':
      return writeList(out, v as ListValue);
    case 'set':
      return writeSet(out, v as RedisSet);
    case 'zset':
      return writeZset(out, v as SortedSet);
    case 'hash':
      writeHash(out, v as HashValue);
      return;
    case 'stream':
      return writeStream(out, v as StreamValue);
  }
}
