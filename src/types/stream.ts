/**
 * The stream type (t_stream.c). Entries live in nodes the way Redis packs
 * them into listpacks under a radix tree: a node is one Buffer holding up to
 * `stream-node-max-entries` entries (and about `stream-node-max-bytes`),
 * each entry encoded as
 *
 *   flags u8 | ms - node.ms (varint) | seq (varint) | [nfields (varint)] | (len varint, bytes)*
 *
 * with the field names left out when they equal the node's master fields
 * (the first entry's), as Redis's SAMEFIELDS flag does. Deleted entries keep
 * their bytes with the DELETED flag until their node empties. Nodes sit in
 * an array sorted by their master ID: a range seek is a binary search over
 * nodes and a scan inside one node, XADD appends to the last node, and
 * trimming drops whole nodes from the head. A 16-byte value costs ~21 bytes
 * in its node, against ~100 as JS strings in arrays.
 *
 * Consumer groups, consumers and pending entries follow Redis's structures
 * (src/types/stream-groups.ts).
 *
 * Snapshots: node Buffers are copy-on-write against a snapshot's capture.
 * The codec's capture bumps `epoch`; a node created before it is copied the
 * first time it would change in place (XDEL, exact trims, appends to the
 * tail node), so the capture keeps reading the nodes as they were while
 * writers go on, and the cost to a writer is one node copy (a few KB).
 */
import { defineParam, getInt } from '../config/params.js';
import { registerCodec } from '../snapshot/codec.js';
import type { CollectionValue } from './value.js';
import { addU64, cmpId, cmpU64, idStr, isZero, norm, parseId, subU64, ZERO_ID, type StreamID, type U64 } from './stream-id.js';
import { Group, cloneGroups } from './stream-groups.js';

defineParam({ name: 'stream-node-max-bytes', type: 'memory', default: '4096', min: 0, max: 9223372036854775807, help: 'Maximum bytes of a stream node before a new one starts (0: no limit).', mutable: true, onChange: () => (limits = null) });
defineParam({ name: 'stream-node-max-entries', type: 'int', default: '100', min: 0, max: 9223372036854775807, help: 'Maximum entries of a stream node before a new one starts (0: no limit).', mutable: true, onChange: () => (limits = null) });

/** Redis's STREAM_LISTPACK_MAX_SIZE: one entry's elements may not exceed it, and it caps node size. */
export const NODE_MAX_SIZE = 1 << 30;

let limits: { bytes: number; entries: number } | null = null;
export function nodeLimits(): { bytes: number; entries: number } {
  if (limits === null) {
    let bytes = getInt('stream-node-max-bytes');
    if (bytes === 0 || bytes > NODE_MAX_SIZE) bytes = NODE_MAX_SIZE;
    limits = { bytes, entries: getInt('stream-node-max-entries') };
  }
  return limits;
}

const F_DELETED = 1;
const F_SAMEFIELDS = 2;

export class StreamNode {
  constructor(
    public buf: Buffer,
    /** Bytes used in buf. */
    public len: number,
    /** Master ID: the first entry ever added to this node (it may be deleted since). */
    readonly ms: U64,
    readonly seq: U64,
    readonly fields: string[],
    /** Live and deleted entries. */
    public live: number,
    public dead: number,
    /** The stream's epoch when this node was made (copy-on-write, see above). */
    public epoch: number,
  ) {}

  clone(epoch: number): StreamNode {
    const b = Buffer.allocUnsafeSlow(this.buf.length);
    this.buf.copy(b, 0, 0, this.len);
    return new StreamNode(b, this.len, this.ms, this.seq, this.fields, this.live, this.dead, epoch);
  }

  /** The buffer cut to what is used (a node that will not grow any more). */
  shrink(): void {
    if (this.buf.length - this.len > 64) {
      const b = Buffer.allocUnsafeSlow(this.len);
      this.buf.copy(b, 0, 0, this.len);
      this.buf = b;
    }
  }
}

// ---- varints (LEB128; u64 halves as numbers while they are safe) ----

let rpos = 0;

function readVar(b: Buffer, p: number): U64 {
  let v = 0;
  let mul = 1;
  const start = p;
  for (;;) {
    const x = b[p++];
    v += (x & 127) * mul;
    if (x < 128) break;
    mul *= 128;
    if (mul > 562949953421312) return readBigVar(b, start);
  }
  rpos = p;
  return v;
}

function readBigVar(b: Buffer, p: number): U64 {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const x = b[p++];
    v |= BigInt(x & 127) << shift;
    if (x < 128) break;
    shift += 7n;
  }
  rpos = p;
  return norm(v);
}

/** A small non-negative varint (lengths, counts). */
function readLen(b: Buffer, p: number): number {
  let x = b[p++];
  if (x < 128) {
    rpos = p;
    return x;
  }
  return readVar(b, p - 1) as number;
}

let scratch = Buffer.allocUnsafeSlow(4096);

function ensureScratch(n: number): void {
  if (scratch.length < n) scratch = Buffer.allocUnsafeSlow(Math.max(n, scratch.length * 2));
}

function writeVar(b: Buffer, p: number, x: U64): number {
  if (typeof x === 'number') {
    while (x >= 128) {
      b[p++] = (x % 128) | 128;
      x = Math.floor(x / 128);
    }
    b[p++] = x;
    return p;
  }
  let v = x;
  while (v >= 128n) {
    b[p++] = Number(v & 127n) | 128;
    v >>= 7n;
  }
  b[p++] = Number(v);
  return p;
}

/** Strings up to this length are copied by a JS loop: cheaper than a call into C++ (latin1Write). */
const SHORT_STR = 32;

function writeStr(b: Buffer, p: number, s: string): number {
  const n = s.length;
  p = writeVar(b, p, n);
  if (n > SHORT_STR) return p + b.latin1Write(s, p);
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  return p;
}

/** One entry as read out of a node. */
export interface StreamEntry {
  id: StreamID;
  /** field, value, field, value... */
  fv: string[];
}

// The entry decoded by `decodeHead`: its flags, ID and where its fields start and it ends.
let eFlags = 0;
let eMs: U64 = 0;
let eSeq: U64 = 0;
let eFieldsAt = 0;
let eNext = 0;
let eCount = 0;
let eAt = 0;

/** Decode the entry at p of node n up to its fields; skip to its end (eNext). */
function decodeHead(n: StreamNode, p: number): void {
  const b = n.buf;
  eAt = p;
  eFlags = b[p];
  const d = readVar(b, p + 1);
  eMs = d === 0 ? n.ms : addU64Any(n.ms, d);
  eSeq = readVar(b, rpos);
  let q = rpos;
  if (eFlags & F_SAMEFIELDS) {
    eCount = n.fields.length;
    eFieldsAt = q;
    for (let i = 0; i < eCount; i++) q = readLen(b, q) + rpos;
  } else {
    eCount = readLen(b, q);
    q = rpos;
    eFieldsAt = q;
    for (let i = 0; i < eCount * 2; i++) q = readLen(b, q) + rpos;
  }
  eNext = q;
}

function addU64Any(a: U64, d: U64): U64 {
  if (typeof a === 'number' && typeof d === 'number') {
    const r = a + d;
    if (Number.isSafeInteger(r)) return r;
  }
  return norm(BigInt(a) + BigInt(d));
}

/** The field/value strings of the entry last decoded by decodeHead. */
function decodeFields(n: StreamNode): string[] {
  const b = n.buf;
  let p = eFieldsAt;
  const out: string[] = new Array(eCount * 2);
  if (eFlags & F_SAMEFIELDS) {
    for (let i = 0; i < eCount; i++) {
      const l = readLen(b, p);
      p = rpos;
      out[2 * i] = n.fields[i];
      out[2 * i + 1] = b.latin1Slice(p, p + l);
      p += l;
    }
  } else {
    for (let i = 0; i < eCount * 2; i++) {
      const l = readLen(b, p);
      p = rpos;
      out[i] = b.latin1Slice(p, p + l);
      p += l;
    }
  }
  return out;
}

/**
 * Where entries are written as RESP (protocol/reply.ts's Reply): an entry
 * goes out as [id, [field, value, ...]] straight from its node's bytes, with
 * no strings or entry objects made on the way (they were most of XRANGE's
 * time and garbage).
 */
export interface EntryWriter {
  array(n: number): void;
  bulk(s: string): void;
  bulkBytes(b: Buffer, from: number, to: number): void;
  bulkIntPair(a: number, sep: number, b: number): void;
}

/** The entry last decoded by decodeHead, written as [id, [field, value, ...]]. */
function writeEntry(w: EntryWriter, n: StreamNode): void {
  w.array(2);
  if (typeof eMs === 'number' && typeof eSeq === 'number') w.bulkIntPair(eMs, 45 /* - */, eSeq);
  else w.bulk(idStr({ ms: eMs, seq: eSeq }));
  const b = n.buf;
  let p = eFieldsAt;
  w.array(eCount * 2);
  if (eFlags & F_SAMEFIELDS) {
    const fields = n.fields;
    for (let i = 0; i < eCount; i++) {
      const l = readLen(b, p);
      p = rpos;
      w.bulk(fields[i]);
      w.bulkBytes(b, p, p + l);
      p += l;
    }
  } else {
    for (let i = 0; i < eCount * 2; i++) {
      const l = readLen(b, p);
      p = rpos;
      w.bulkBytes(b, p, p + l);
      p += l;
    }
  }
}

const EMPTY_NODE = new StreamNode(Buffer.alloc(0), 0, 0, 0, [], 0, 0, 0);
/** Entries selected by writeRange before they are written (reused: no garbage per call). */
const hitNodes: StreamNode[] = [];
const hitOffsets: number[] = [];

/** Trimming request (streamAddTrimArgs). */
export interface TrimArgs {
  strategy: 'maxlen' | 'minid';
  approx: boolean;
  /** 0: no limit. */
  limit: number;
  maxlen: number;
  minid: StreamID;
}

export class StreamValue implements CollectionValue {
  readonly type = 'stream' as const;
  nodes: StreamNode[] = [];
  length = 0;
  lastId: StreamID = ZERO_ID;
  firstId: StreamID = ZERO_ID;
  maxDeletedId: StreamID = ZERO_ID;
  entriesAdded = 0;
  /** Consumer groups by name (XINFO lists them sorted, as Redis's rax). */
  groups: Map<string, Group> | null = null;
  /** Bumped by each snapshot capture: nodes made before are copied before changing. */
  epoch = 0;
  /** Bytes held in node buffers (MEMORY USAGE, used_memory accounting). */
  bytes = 0;

  encoding(): string {
    return 'stream';
  }

  get size(): number {
    return this.length;
  }

  /** What this value costs in memory, roughly: node buffers, node objects, groups. */
  memoryCost(): number {
    let c = 200 + this.bytes + this.nodes.length * 160;
    if (this.groups !== null) for (const g of this.groups.values()) c += g.memoryCost();
    return c;
  }

  clone(): StreamValue {
    const s = new StreamValue();
    s.nodes = this.nodes.map((n) => n.clone(0));
    s.length = this.length;
    s.lastId = this.lastId;
    s.firstId = this.firstId;
    s.maxDeletedId = this.maxDeletedId;
    s.entriesAdded = this.entriesAdded;
    s.groups = this.groups === null ? null : cloneGroups(this.groups);
    s.bytes = this.bytes;
    return s;
  }

  /** Node i, ready to change in place (copied first if a snapshot captured it). */
  private mut(i: number): StreamNode {
    const n = this.nodes[i];
    if (n.epoch === this.epoch) return n;
    const c = n.clone(this.epoch);
    this.nodes[i] = c;
    return c;
  }

  /**
   * Append an entry with this ID (already checked > lastId); fv holds
   * field, value pairs from fvAt on.
   */
  append(id: StreamID, fv: string[], fvAt: number): void {
    const nf = (fv.length - fvAt) >> 1;
    let total = 0;
    for (let i = fvAt; i < fv.length; i++) total += fv[i].length;
    const lim = nodeLimits();
    let ni = this.nodes.length - 1;
    let node = ni >= 0 ? this.nodes[ni] : null;
    if (node !== null) {
      if (node.len + total >= lim.bytes || (lim.entries !== 0 && node.live + node.dead >= lim.entries)) {
        if (node.epoch === this.epoch) {
          this.bytes -= node.buf.length;
          node.shrink();
          this.bytes += node.buf.length;
        }
        node = null;
      }
    }
    ensureScratch(total + fv.length * 10 + 32);
    const b = scratch;
    let same = false;
    if (node !== null && node.fields.length === nf) {
      same = true;
      for (let i = 0; i < nf; i++) {
        if (node.fields[i] !== fv[fvAt + 2 * i]) {
          same = false;
          break;
        }
      }
    }
    let p = 1;
    if (node === null) {
      same = true;
      const fields: string[] = new Array(nf);
      for (let i = 0; i < nf; i++) fields[i] = fv[fvAt + 2 * i];
      b[0] = F_SAMEFIELDS;
      p = writeVar(b, 1, 0); // ms delta from the master
      p = writeVar(b, p, id.seq);
      for (let i = 0; i < nf; i++) p = writeStr(b, p, fv[fvAt + 2 * i + 1]);
      // Room for a full node of entries like this one (each Buffer is a
      // malloc, an ArrayBuffer and a sweep: growing from a few entries by
      // doubling cost 6-7 of them per node). The margin is within what
      // shrink() leaves alone, so equal entries fill it with no copy; a
      // node that outgrows it doubles, one that closes with more room is shrunk.
      const room = lim.entries === 0 ? p * 4 : p * lim.entries + 64;
      const buf = Buffer.allocUnsafeSlow(Math.max(p, Math.min(room, lim.bytes)));
      b.copy(buf, 0, 0, p);
      node = new StreamNode(buf, p, id.ms, id.seq, fields, 1, 0, this.epoch);
      this.nodes.push(node);
      this.bytes += buf.length;
    } else {
      b[0] = same ? F_SAMEFIELDS : 0;
      p = writeVar(b, 1, subU64(id.ms, node.ms));
      p = writeVar(b, p, id.seq);
      if (same) {
        for (let i = 0; i < nf; i++) p = writeStr(b, p, fv[fvAt + 2 * i + 1]);
      } else {
        p = writeVar(b, p, nf);
        for (let i = fvAt; i < fv.length; i++) p = writeStr(b, p, fv[i]);
      }
      node = this.mut(ni);
      if (node.len + p > node.buf.length) {
        const nb = Buffer.allocUnsafeSlow(Math.max(node.len + p, Math.min(node.buf.length * 2, Math.max(lim.bytes, node.len + p))));
        node.buf.copy(nb, 0, 0, node.len);
        this.bytes += nb.length - node.buf.length;
        node.buf = nb;
      }
      const nb = node.buf;
      if (p <= 64) {
        // A small entry (the usual one) by a JS loop: Buffer#copy costs more than it copies.
        let q = node.len;
        for (let i = 0; i < p; i++) nb[q++] = b[i];
      } else b.copy(nb, node.len, 0, p);
      node.len += p;
      node.live++;
    }
    this.length++;
    this.entriesAdded++;
    this.lastId = id;
    if (this.length === 1) this.firstId = id;
  }

  /** Index of the last node whose master ID <= id, or -1. */
  private nodeAtOrBefore(id: StreamID): number {
    const ns = this.nodes;
    let lo = 0;
    let hi = ns.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const n = ns[mid];
      const c = cmpU64(n.ms, id.ms) || cmpU64(n.seq, id.seq);
      if (c <= 0) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /**
   * Live entries with start <= ID <= end, in ID order (or reversed), at most
   * count (0: all). `start`/`end` null mean unbounded.
   */
  range(start: StreamID | null, end: StreamID | null, rev: boolean, count: number): StreamEntry[] {
    const out: StreamEntry[] = [];
    this.walk(start, end, rev, (n) => {
      out.push({ id: { ms: eMs, seq: eSeq }, fv: decodeFields(n) });
      return count === 0 || out.length < count;
    });
    return out;
  }

  /**
   * What range() selects, written to w as an array of entries (XRANGE's
   * reply) without decoding them into strings; returns how many.
   */
  writeRange(w: EntryWriter, start: StreamID | null, end: StreamID | null, rev: boolean, count: number): number {
    let k = 0;
    this.walk(start, end, rev, (n) => {
      hitNodes[k] = n;
      hitOffsets[k] = eAt;
      k++;
      return count === 0 || k < count;
    });
    w.array(k);
    for (let i = 0; i < k; i++) {
      const n = hitNodes[i];
      decodeHead(n, hitOffsets[i]);
      writeEntry(w, n);
    }
    // Let go of the nodes (a later XDEL or trim may drop them); a small
    // selection keeps the arrays' room (truncating cost a regrowth per call).
    if (k > 1024) {
      hitNodes.length = 0;
      hitOffsets.length = 0;
    } else hitNodes.fill(EMPTY_NODE, 0, k);
    return k;
  }

  /** IDs only (no field decoding), same selection as range. */
  rangeIds(start: StreamID | null, end: StreamID | null, rev: boolean, count: number): StreamID[] {
    const out: StreamID[] = [];
    this.walk(start, end, rev, () => {
      out.push({ ms: eMs, seq: eSeq });
      return count === 0 || out.length < count;
    });
    return out;
  }

  /** Calls fn for each live entry in range (decoded by decodeHead) until it returns false. */
  private walk(start: StreamID | null, end: StreamID | null, rev: boolean, fn: (n: StreamNode) => boolean): void {
    const ns = this.nodes;
    if (ns.length === 0) return;
    if (!rev) {
      let ni = start === null ? 0 : Math.max(0, this.nodeAtOrBefore(start));
      for (; ni < ns.length; ni++) {
        const n = ns[ni];
        if (end !== null && (cmpU64(n.ms, end.ms) || cmpU64(n.seq, end.seq)) > 0) return;
        let p = 0;
        while (p < n.len) {
          decodeHead(n, p);
          p = eNext;
          if (eFlags & F_DELETED) continue;
          if (start !== null && (cmpU64(eMs, start.ms) || cmpU64(eSeq, start.seq)) < 0) continue;
          if (end !== null && (cmpU64(eMs, end.ms) || cmpU64(eSeq, end.seq)) > 0) return;
          if (!fn(n)) return;
        }
      }
    } else {
      let ni = end === null ? ns.length - 1 : this.nodeAtOrBefore(end);
      const offs: number[] = [];
      for (; ni >= 0; ni--) {
        const n = ns[ni];
        offs.length = 0;
        for (let p = 0; p < n.len; ) {
          offs.push(p);
          decodeHead(n, p);
          p = eNext;
        }
        for (let k = offs.length - 1; k >= 0; k--) {
          decodeHead(n, offs[k]);
          if (eFlags & F_DELETED) continue;
          if (end !== null && (cmpU64(eMs, end.ms) || cmpU64(eSeq, end.seq)) > 0) continue;
          if (start !== null && (cmpU64(eMs, start.ms) || cmpU64(eSeq, start.seq)) < 0) return;
          if (!fn(n)) return;
        }
      }
    }
  }

  /** Find a live entry: its node index and offset, or null. */
  private find(id: StreamID): [number, number] | null {
    const ni = this.nodeAtOrBefore(id);
    if (ni < 0) return null;
    const n = this.nodes[ni];
    for (let p = 0; p < n.len; ) {
      decodeHead(n, p);
      const c = cmpU64(eMs, id.ms) || cmpU64(eSeq, id.seq);
      if (c === 0) return eFlags & F_DELETED ? null : [ni, p];
      if (c > 0) return null;
      p = eNext;
    }
    return null;
  }

  exists(id: StreamID): boolean {
    return this.find(id) !== null;
  }

  /** One entry, or null if absent or deleted. */
  entry(id: StreamID): StreamEntry | null {
    const at = this.find(id);
    if (at === null) return null;
    const n = this.nodes[at[0]];
    decodeHead(n, at[1]);
    return { id: { ms: eMs, seq: eSeq }, fv: decodeFields(n) };
  }

  /** XDEL of one ID (streamDeleteItem); true if it was there. */
  deleteId(id: StreamID): boolean {
    const at = this.find(id);
    if (at === null) return false;
    const [ni, p] = at;
    const n = this.mut(ni);
    n.buf[p] |= F_DELETED;
    n.live--;
    n.dead++;
    this.length--;
    if (n.live === 0) this.dropNode(ni);
    return true;
  }

  private dropNode(i: number): void {
    this.bytes -= this.nodes[i].buf.length;
    this.nodes.splice(i, 1);
  }

  /** First (or last) live ID, or null if empty (streamGetEdgeID). */
  edgeId(last: boolean): StreamID | null {
    const ids = this.rangeIds(null, null, last, 1);
    return ids.length === 0 ? null : ids[0];
  }

  /** streamLastValidID: the last live entry, or 0-0. */
  lastValidId(): StreamID {
    return this.edgeId(true) ?? ZERO_ID;
  }

  /** Entries deleted by the trim (streamTrim, same node-by-node rules as Redis). */
  trim(a: TrimArgs): number {
    let deleted = 0;
    while (this.nodes.length > 0) {
      if (a.strategy === 'maxlen' && this.length <= a.maxlen) break;
      const n0 = this.nodes[0];
      const entries = n0.live;
      if (a.limit !== 0 && deleted + entries > a.limit) break;
      let remove: boolean;
      if (a.strategy === 'maxlen') remove = this.length - entries >= a.maxlen;
      else {
        // The node's last entry, deleted or not (lpGetEdgeStreamID).
        let lastAt = 0;
        for (let p = 0; p < n0.len; p = eNext) {
          lastAt = p;
          decodeHead(n0, p);
        }
        decodeHead(n0, lastAt);
        remove = (cmpU64(eMs, a.minid.ms) || cmpU64(eSeq, a.minid.seq)) < 0;
      }
      if (remove) {
        this.dropNode(0);
        this.length -= entries;
        deleted += entries;
        continue;
      }
      if (a.approx) break;
      const n = this.mut(0);
      let fromNode = 0;
      for (let p = 0; p < n.len; ) {
        decodeHead(n, p);
        const at = p;
        p = eNext;
        const stop = a.strategy === 'maxlen' ? this.length <= a.maxlen : (cmpU64(eMs, a.minid.ms) || cmpU64(eSeq, a.minid.seq)) >= 0;
        if (stop) break;
        if (!(eFlags & F_DELETED)) {
          n.buf[at] |= F_DELETED;
          fromNode++;
          this.length--;
        }
      }
      n.live -= fromNode;
      n.dead += fromNode;
      deleted += fromNode;
      if (n.live === 0) this.dropNode(0);
      break;
    }
    if (this.length === 0) this.firstId = ZERO_ID;
    else if (deleted > 0) this.firstId = this.edgeId(false)!;
    return deleted;
  }

  /** Redis's raxSize (radix-tree-keys): one key per node. */
  get radixKeys(): number {
    return this.nodes.length;
  }

  // ---- consumer groups ----

  group(name: string): Group | undefined {
    return this.groups?.get(name);
  }

  /** Groups in name order (byte-wise, as Redis's rax). */
  sortedGroups(): Group[] {
    if (this.groups === null) return [];
    return [...this.groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** streamRangeHasTombstones */
  rangeHasTombstones(start: StreamID | null, end: StreamID | null): boolean {
    if (this.length === 0 || isZero(this.maxDeletedId)) return false;
    if (cmpId(this.firstId, this.maxDeletedId) > 0) return false;
    const s = start ?? ZERO_ID;
    if (cmpId(s, this.maxDeletedId) <= 0 && (end === null || cmpId(this.maxDeletedId, end) <= 0)) return true;
    return false;
  }

  /** streamEstimateDistanceFromFirstEverEntry; -1 when it cannot be known. */
  estimateDistance(id: StreamID): number {
    if (this.entriesAdded === 0) return 0;
    if (this.length === 0 && cmpId(id, this.lastId) < 1) return this.entriesAdded;
    const cmpLast = cmpId(id, this.lastId);
    if (cmpLast === 0) return this.entriesAdded;
    if (cmpLast > 0) return -1;
    const cmpFirst = cmpId(id, this.firstId);
    if (isZero(this.maxDeletedId) || cmpId(this.maxDeletedId, this.firstId) < 0) {
      if (cmpFirst < 0) return this.entriesAdded - this.length;
      if (cmpFirst === 0) return this.entriesAdded - this.length + 1;
    }
    return -1;
  }

  /** The group's lag (streamReplyWithCGLag), or null when unknown. */
  lag(g: Group): number | null {
    if (this.entriesAdded === 0) return 0;
    if (g.entriesRead !== -1 && !this.rangeHasTombstones(g.lastId, null)) return this.entriesAdded - g.entriesRead;
    const read = this.estimateDistance(g.lastId);
    return read === -1 ? null : this.entriesAdded - read;
  }

  // ---- snapshot capture ----

  /**
   * Everything this stream is, as of now, for the snapshot codec: the node
   * array (shared, copy-on-write from here on), metadata and a copy of the
   * groups.
   */
  capture(): StreamCapture {
    this.epoch++;
    return {
      nodes: this.nodes.slice(),
      meta: [idStr(this.lastId), this.entriesAdded, idStr(this.maxDeletedId), idStr(this.firstId), this.length],
      groups: this.groups === null ? [] : [...cloneGroups(this.groups).values()],
    };
  }

  /** Rebuild from a snapshot's entries (already in ID order) without re-checking. */
  loadEntry(id: StreamID, fv: string[]): void {
    this.append(id, fv, 0);
  }
}

export interface StreamCapture {
  nodes: StreamNode[];
  meta: (string | number)[];
  groups: Group[];
}

/** Entries of a node, live ones only, as [id string, nfields, f, v, ...] items. */
function nodeItems(n: StreamNode, out: unknown[]): void {
  for (let p = 0; p < n.len; ) {
    decodeHead(n, p);
    p = eNext;
    if (eFlags & F_DELETED) continue;
    out.push(eMs + '-' + eSeq, eCount);
    const fv = decodeFields(n);
    for (let i = 0; i < fv.length; i++) out.push(fv[i]);
  }
}

/**
 * Snapshot records of a stream (docs/snapshot-format.md), pieces tagged by
 * their first item:
 *   ['M', lastId, entriesAdded, maxDeletedId, firstId, length]   once, first
 *   ['E', id, nfields, f, v, ..., id, nfields, ...]              entries in ID order
 *   ['G', name, lastDeliveredId, entriesRead (-1: unknown)]       a group
 *   ['C', group, consumer, seenTime]                             a consumer
 *   ['P', group, id, consumer, deliveryTime, deliveryCount, ...] pending entries in ID order
 */
registerCodec({
  type: 'stream',
  *pieces(v, maxItems) {
    const cap = (v as StreamValue).capture();
    yield ['M', ...cap.meta];
    let piece: unknown[] = ['E'];
    for (const n of cap.nodes) {
      nodeItems(n, piece);
      if (piece.length >= maxItems) {
        yield piece;
        piece = ['E'];
      }
    }
    if (piece.length > 1) yield piece;
    for (const g of cap.groups) {
      yield ['G', g.name, idStr(g.lastId), g.entriesRead];
      for (const c of g.consumers.values()) yield ['C', g.name, c.name, c.seenTime];
      piece = ['P', g.name];
      for (const [id, nack] of g.pel.entries()) {
        piece.push(idStr(id), nack.consumer!.name, nack.deliveryTime, nack.deliveryCount);
        if (piece.length >= maxItems) {
          yield piece;
          piece = ['P', g.name];
        }
      }
      if (piece.length > 2) yield piece;
    }
  },
  builder() {
    const s = new StreamValue();
    let meta: unknown[] | null = null;
    const id = (x: unknown) => parseId(x as string, 0, true).id;
    return {
      add(piece) {
        const tag = piece[0];
        // The reader reuses the piece array: keep a copy.
        if (tag === 'M') meta = piece.slice();
        else if (tag === 'E') {
          for (let i = 1; i < piece.length; ) {
            const eid = id(piece[i]);
            const nf = piece[i + 1] as number;
            const fv = piece.slice(i + 2, i + 2 + 2 * nf) as string[];
            // Entries come in order; one written twice (a snapshot retry) is skipped.
            if (s.length === 0 || cmpId(eid, s.lastId) > 0) s.loadEntry(eid, fv);
            i += 2 + 2 * nf;
          }
        } else if (tag === 'G') {
          s.groups ??= new Map();
          s.groups.set(piece[1] as string, new Group(piece[1] as string, id(piece[2]), piece[3] as number));
        } else if (tag === 'C') {
          s.group(piece[1] as string)!.addConsumer(piece[2] as string, piece[3] as number);
        } else if (tag === 'P') {
          const g = s.group(piece[1] as string)!;
          for (let i = 2; i + 3 < piece.length; i += 4) g.loadPending(id(piece[i]), piece[i + 1] as string, piece[i + 2] as number, piece[i + 3] as number);
        } else throw new Error(`unknown stream record ${String(tag)}`);
      },
      done() {
        if (meta !== null) {
          s.lastId = id(meta[1]);
          s.entriesAdded = meta[2] as number;
          s.maxDeletedId = id(meta[3]);
          s.firstId = s.length === 0 ? ZERO_ID : id(meta[4]);
        }
        return s;
      },
    };
  },
});
