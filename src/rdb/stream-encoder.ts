/**
 * A stream to RDB_TYPE_STREAM_LISTPACKS_2 as Redis 7.0 writes it (rdb.c
 * rdbSaveObject): live entries packed into listpack nodes the way
 * streamAppendItem fills them (stream-node-max-entries / -bytes), then
 * length, last, first and max-deleted IDs, entries-added, and the consumer
 * groups in name order with their PELs and consumers.
 */
import type { RdbOutput } from './output.js';
import { ListpackWriter } from './listpack.js';
import { nodeLimits, type StreamValue, type StreamEntry } from '../types/stream.js';
import type { StreamID, U64 } from '../types/stream-id.js';

const F_SAMEFIELDS = 2;

function idBytes(id: StreamID): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeBigUInt64BE(BigInt(id.ms), 0);
  b.writeBigUInt64BE(BigInt(id.seq), 8);
  return b;
}

function diff(a: U64, b: U64): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return BigInt.asIntN(64, BigInt(a) - BigInt(b));
}

const lp = new ListpackWriter();

/** Writes one node (entries share the first one's master ID and fields). */
function writeNode(out: RdbOutput, entries: StreamEntry[]): void {
  const master = entries[0];
  const nf = master.fv.length >> 1;
  lp.reset();
  lp.addInt(entries.length);
  lp.addInt(0);
  lp.addInt(nf);
  for (let i = 0; i < nf; i++) lp.addString(master.fv[2 * i]);
  lp.addInt(0);
  for (const e of entries) {
    const n = e.fv.length >> 1;
    let same = n === nf;
    for (let i = 0; same && i < n; i++) if (e.fv[2 * i] !== master.fv[2 * i]) same = false;
    lp.addInt(same ? F_SAMEFIELDS : 0);
    lp.addInt(diff(e.id.ms, master.id.ms));
    lp.addInt(diff(e.id.seq, master.id.seq));
    if (same) {
      for (let i = 0; i < n; i++) lp.addString(e.fv[2 * i + 1]);
      lp.addInt(n + 3);
    } else {
      lp.addInt(n);
      for (const x of e.fv) lp.addString(x);
      lp.addInt(2 * n + 4);
    }
  }
  out.blob(idBytes(master.id));
  out.blob(lp.finish());
}

export function writeStream(out: RdbOutput, s: StreamValue): void {
  const entries = s.range(null, null, false, 0);
  const lim = nodeLimits();
  // Split as streamAppendItem would: a new node once the current one is full.
  const nodes: StreamEntry[][] = [];
  let cur: StreamEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    let size = 0;
    for (const x of e.fv) size += x.length + 2;
    if (cur.length > 0 && (bytes + size >= lim.bytes || (lim.entries !== 0 && cur.length >= lim.entries))) {
      nodes.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(e);
    bytes += size + 8;
  }
  if (cur.length > 0) nodes.push(cur);
  out.len(nodes.length);
  for (const n of nodes) writeNode(out, n);
  out.len(s.length);
  out.u64(s.lastId.ms);
  out.u64(s.lastId.seq);
  out.u64(s.firstId.ms);
  out.u64(s.firstId.seq);
  out.u64(s.maxDeletedId.ms);
  out.u64(s.maxDeletedId.seq);
  out.len(s.entriesAdded);
  const groups = s.sortedGroups();
  out.len(groups.length);
  for (const g of groups) {
    out.string(g.name);
    out.u64(g.lastId.ms);
    out.u64(g.lastId.seq);
    out.u64(g.entriesRead);
    out.len(g.pel.size);
    for (const [id, nack] of g.pel.entries()) {
      out.raw(idBytes(id));
      out.millis(nack.deliveryTime);
      out.len(nack.deliveryCount);
    }
    const consumers = g.sortedConsumers();
    out.len(consumers.length);
    for (const c of consumers) {
      out.string(c.name);
      out.millis(c.seenTime);
      out.len(c.pel.size);
      for (const [id] of c.pel.entries()) out.raw(idBytes(id));
    }
  }
}
