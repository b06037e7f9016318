/**
 * A stream in RDB form (RDB_TYPE_STREAM_LISTPACKS and _2, rdb.c): its
 * listpack nodes keyed by master ID, the metadata, then consumer groups
 * with their pending entries and consumers. Node layout (t_stream.c):
 *
 *   master entry: count | deleted | nfields | field... | 0
 *   entry:        flags | ms-diff | seq-diff | [nfields | field value...] or [value...] | lp-count
 *
 * Entries are re-appended into our own nodes; deleted ones are dropped.
 * Everything Redis's deep sanitization checks is checked here too.
 */
import { RdbFormatError } from './constants.js';
import type { RdbInput } from './input.js';
import { lpString, readListpack, type LpItem } from './listpack.js';
import { StreamValue } from '../types/stream.js';
import { Group, Nack } from '../types/stream-groups.js';
import { cmpId, norm, ZERO_ID, type StreamID, type U64 } from '../types/stream-id.js';

const F_DELETED = 1;
const F_SAMEFIELDS = 2;

function corrupt(why: string): never {
  throw new RdbFormatError(`stream: ${why}`);
}

function rawId(b: Buffer, p = 0): StreamID {
  return { ms: norm(b.readBigUInt64BE(p)), seq: norm(b.readBigUInt64BE(p + 8)) };
}

function int(x: LpItem | undefined): number | bigint {
  if (typeof x !== 'number' && typeof x !== 'bigint') corrupt('listpack element is not an integer');
  return x;
}

function small(x: LpItem | undefined): number {
  const v = int(x);
  if (typeof v !== 'number' || v < 0) corrupt('bad count in listpack');
  return v;
}

/** master + diff, in u64 (the diff is stored as an int64). */
function plus(a: U64, d: number | bigint): U64 {
  if (typeof a === 'number' && typeof d === 'number') {
    const r = a + d;
    if (Number.isSafeInteger(r) && r >= 0) return r;
  }
  return norm(BigInt.asUintN(64, BigInt(a) + BigInt(d)));
}

function readNode(s: StreamValue, master: StreamID, items: LpItem[]): void {
  if (items.length === 0) corrupt('empty listpack inside stream');
  const count = small(items[0]);
  const deleted = small(items[1]);
  const nf = small(items[2]);
  if (3 + nf >= items.length) corrupt('truncated master entry');
  const fields: string[] = new Array(nf);
  for (let i = 0; i < nf; i++) fields[i] = lpString(items[3 + i]);
  if (int(items[3 + nf]) !== 0) corrupt('bad master entry terminator');
  let p = 4 + nf;
  let live = 0;
  let dead = 0;
  while (p < items.length) {
    const start = p;
    const flags = small(items[p]);
    const id: StreamID = { ms: plus(master.ms, int(items[p + 1])), seq: plus(master.seq, int(items[p + 2])) };
    p += 3;
    let fv: string[];
    if (flags & F_SAMEFIELDS) {
      if (p + nf > items.length) corrupt('truncated entry');
      fv = new Array(nf * 2);
      for (let i = 0; i < nf; i++) {
        fv[2 * i] = fields[i];
        fv[2 * i + 1] = lpString(items[p + i]);
      }
      p += nf;
    } else {
      const n = small(items[p]);
      p++;
      if (n === 0 || p + 2 * n > items.length) corrupt('truncated entry');
      fv = new Array(2 * n);
      for (let i = 0; i < 2 * n; i++) fv[i] = lpString(items[p + i]);
      p += 2 * n;
    }
    // lp-count: how many elements the entry has before it.
    if (p >= items.length || small(items[p]) !== p - start) corrupt('bad lp-count');
    p++;
    if (flags & F_DELETED) {
      dead++;
      continue;
    }
    live++;
    if (s.length > 0 && cmpId(id, s.lastId) <= 0) corrupt('entry IDs out of order');
    s.append(id, fv, 0);
  }
  if (live !== count || dead !== deleted) corrupt('master entry counts do not match the entries');
  if (live === 0 && dead === 0) corrupt('empty listpack inside stream');
}

/** Bytes of a 128-bit ID stored raw (rdbWriteRaw of a big-endian streamID). */
function idBytes(inp: RdbInput): StreamID {
  return rawId(inp.bytes(16));
}

export function readStream(inp: RdbInput, v2: boolean): StreamValue {
  const s = new StreamValue();
  const nodes = inp.count();
  let prevMaster: StreamID | null = null;
  for (let i = 0; i < nodes; i++) {
    const key = inp.stringBytes();
    if (key.length !== 16) corrupt('stream node key is not a 128-bit ID');
    const master = rawId(key);
    if (prevMaster !== null && cmpId(master, prevMaster) <= 0) corrupt('node keys out of order');
    prevMaster = master;
    readNode(s, master, readListpack(inp.stringBytes()));
  }
  const length = inp.u64();
  const lastId: StreamID = { ms: inp.u64(), seq: inp.u64() };
  if (length !== s.length) corrupt(`length ${length} differs from the ${s.length} entries`);
  let firstId: StreamID = s.length > 0 ? s.edgeId(false)! : ZERO_ID;
  let maxDeletedId: StreamID = ZERO_ID;
  let entriesAdded: number = s.length;
  if (v2) {
    firstId = { ms: inp.u64(), seq: inp.u64() };
    maxDeletedId = { ms: inp.u64(), seq: inp.u64() };
    const added = inp.u64();
    if (typeof added !== 'number') corrupt('entries-added out of range');
    entriesAdded = added;
  }
  if (s.length > 0 && cmpId(s.lastId, lastId) > 0) corrupt('last ID below the last entry');
  s.lastId = lastId;
  s.firstId = s.length === 0 ? ZERO_ID : firstId;
  s.maxDeletedId = maxDeletedId;
  s.entriesAdded = entriesAdded;

  const ngroups = inp.count();
  for (let i = 0; i < ngroups; i++) {
    const name = inp.string();
    const gid: StreamID = { ms: inp.u64(), seq: inp.u64() };
    let entriesRead: number;
    if (v2) {
      const r = inp.u64();
      // SCG_INVALID_ENTRIES_READ (-1) is stored as 2^64 - 1.
      entriesRead = typeof r === 'number' ? r : r === 18446744073709551615n ? -1 : corrupt('entries-read out of range');
    } else entriesRead = s.estimateDistance(gid);
    s.groups ??= new Map();
    if (s.groups.has(name)) corrupt('duplicated consumer group name');
    const g = new Group(name, gid, entriesRead);
    s.groups.set(name, g);
    const npel = inp.count();
    for (let j = 0; j < npel; j++) {
      const id = idBytes(inp);
      const time = inp.millis();
      const count = inp.count();
      if (g.pel.has(id)) corrupt('duplicated global PEL entry');
      g.pel.set(id, new Nack(null, time, count));
    }
    const nconsumers = inp.count();
    for (let j = 0; j < nconsumers; j++) {
      const cname = inp.string();
      const seen = inp.millis();
      const c = g.addConsumer(cname, seen);
      if (c === null) corrupt('duplicate stream consumer');
      const n = inp.count();
      for (let k = 0; k < n; k++) {
        const id = idBytes(inp);
        const nack = g.pel.get(id);
        if (nack === undefined) corrupt('consumer PEL entry not in the group PEL');
        if (nack.consumer !== null) corrupt('PEL entry owned by two consumers');
        nack.consumer = c;
        c.pel.set(id, nack);
      }
    }
    for (const [, nack] of g.pel.entries()) if (nack.consumer === null) corrupt('group PEL entry without a consumer');
  }
  return s;
}
