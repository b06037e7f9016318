/**
 * What the stream command files share: key lookup with Redis's type check,
 * integer arguments, entry replies, and streamReplyWithRange (the read path
 * of XRANGE, XREAD and XREADGROUP with its consumer-group bookkeeping).
 */
import { ERR, ReplyError, parseInt64 } from '../protocol/errors.js';
import type { Reply } from '../protocol/reply.js';
import type { Database } from '../keyspace/db.js';
import { StreamValue, type StreamEntry } from '../types/stream.js';
import { Nack, type Consumer, type Group } from '../types/stream-groups.js';
import { cmpId, idStr, incrId, type StreamID } from '../types/stream-id.js';
import type { KeySpecDoc } from './spec.js';


/** XREAD/XREADGROUP: the keys are the first half of what follows STREAMS. */
export function keysAfterStreams(startfrom: number): KeySpecDoc {
  return { flags: ['RO', 'access'], begin: { keyword: 'STREAMS', startfrom }, find: { lastkey: -1, keystep: 1, limit: 2 } };
}

export const NONDETERMINISTIC = ['nondeterministic_output'];

export function streamForRead(db: Database, key: string): StreamValue | undefined {
  const v = db.get(key);
  if (v === undefined || v instanceof StreamValue) return v;
  throw new ReplyError(ERR.wrongType);
}

export function streamForWrite(db: Database, key: string): StreamValue | undefined {
  const v = db.getForWrite(key);
  if (v === undefined || v instanceof StreamValue) return v;
  throw new ReplyError(ERR.wrongType);
}

/** getLongLongFromObjectOrReply (values past 2^53 lose precision; none of ours care). */
export function llArg(s: string, msg?: string): number {
  // Up to 15 characters a digit loop is exact: no regex or BigInt for a COUNT 10.
  const len = s.length;
  if (len > 0 && len <= 15) {
    const neg = s.charCodeAt(0) === 45; /* - */
    let i = neg ? 1 : 0;
    const c0 = s.charCodeAt(i);
    // A leading digit 1-9, or a lone "0" (string2ll refuses "-0" and leading zeros).
    if ((c0 >= 49 && c0 <= 57) || (c0 === 48 && len === 1)) {
      let v = 0;
      for (; i < len; i++) {
        const d = s.charCodeAt(i) - 48;
        if (d < 0 || d > 9) break;
        v = v * 10 + d;
      }
      if (i === len) return neg ? -v : v;
    }
  }
  const n = parseInt64(s);
  if (n === null) throw new ReplyError(msg !== undefined ? 'ERR ' + msg : ERR.notInt);
  return Number(n);
}

/** An ID as a bulk string, its digits written straight into the reply (no string made). */
export function replyId(r: Reply, id: StreamID): void {
  const { ms, seq } = id;
  if (typeof ms === 'number' && typeof seq === 'number') r.bulkIntPair(ms, 45 /* - */, seq);
  else r.bulk(idStr(id));
}

export function replyEntry(r: Reply, e: StreamEntry): void {
  r.array(2);
  replyId(r, e.id);
  const fv = e.fv;
  r.array(fv.length);
  for (let i = 0; i < fv.length; i++) r.bulk(fv[i]);
}

export function replyEntries(r: Reply, es: StreamEntry[]): void {
  r.array(es.length);
  for (let i = 0; i < es.length; i++) replyEntry(r, es[i]);
}

/**
 * New entries after `after` for a reader (XREAD) or a group's consumer
 * (XREADGROUP `>`): as streamReplyWithRange, advancing the group's last ID
 * and entries-read and adding each entry to the PELs unless NOACK. Writes
 * the entries array.
 */
export function replyNewEntries(r: Reply, s: StreamValue, after: StreamID, count: number, group: Group | null, consumer: Consumer | null, noack: boolean): number {
  const start = incrId(after);
  if (group === null) {
    // A plain reader (XREAD): no bookkeeping needs the entries, they go straight out.
    if (start === null) {
      r.array(0);
      return 0;
    }
    return s.writeRange(r, start, null, false, count);
  }
  const es = start === null ? [] : s.range(start, null, false, count);
  if (group !== null) {
    const now = Date.now();
    for (const e of es) {
      const id = e.id;
      if (cmpId(id, group.lastId) > 0) {
        if (group.entriesRead !== -1 && !s.rangeHasTombstones(id, null)) group.entriesRead++;
        else if (s.entriesAdded !== 0) group.entriesRead = s.estimateDistance(id);
        group.lastId = id;
      }
      if (!noack) deliver(group, consumer!, id, now);
    }
  }
  replyEntries(r, es);
  return es.length;
}

/** Add id to the group's and consumer's PEL (a NACK owned by another consumer moves). */
function deliver(group: Group, consumer: Consumer, id: StreamID, now: number): void {
  const old = group.pel.get(id);
  if (old === undefined) {
    const nack = new Nack(consumer, now, 1);
    group.pel.set(id, nack);
    consumer.pel.set(id, nack);
    return;
  }
  old.consumer?.pel.delete(id);
  old.consumer = consumer;
  old.deliveryTime = now;
  old.deliveryCount = 1;
  consumer.pel.set(id, old);
}

/**
 * XREADGROUP with an ID other than `>`: the consumer's own pending entries
 * from `start` (streamReplyWithRangeFromConsumerPEL); a deleted entry is
 * answered as [id, nil]. Each one served counts as a new delivery.
 */
export function replyConsumerHistory(r: Reply, s: StreamValue, start: StreamID, count: number, consumer: Consumer): number {
  const now = Date.now();
  const items: [StreamID, StreamEntry | null][] = [];
  for (const [id, nack] of consumer.pel.from(start)) {
    if (count !== 0 && items.length >= count) break;
    const e = s.entry(id);
    if (e !== null) {
      nack.deliveryTime = now;
      nack.deliveryCount++;
    }
    items.push([id, e]);
  }
  r.array(items.length);
  for (const [id, e] of items) {
    if (e !== null) replyEntry(r, e);
    else {
      r.array(2);
      replyId(r, id);
      r.nullArray();
    }
  }
  return items.length;
}

export function noGroupError(key: string, group: string, suffix = ''): ReplyError {
  return new ReplyError(`NOGROUP No such key '${key}' or consumer group '${group}'${suffix}`);
}


/** addReplySubcommandSyntaxError */
export function subcommandSyntax(args: string[]): ReplyError {
  return new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${args[1].slice(0, 128)}'. Try ${args[0].toUpperCase()} HELP.`);
}
