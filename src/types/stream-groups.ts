/**
 * Consumer groups of a stream (streamCG, streamConsumer, streamNACK in
 * Redis): the group's pending-entries list (PEL) maps IDs to NACKs in ID
 * order, each consumer keeps its own ordered PEL sharing the same NACK
 * objects, as Redis shares them between its two radix trees.
 */
import { IdMap } from './id-map.js';
import type { StreamID } from './stream-id.js';

export class Nack {
  constructor(
    public consumer: Consumer | null,
    public deliveryTime: number,
    public deliveryCount: number,
  ) {}
}

export class Consumer {
  readonly pel = new IdMap<Nack>();
  constructor(
    readonly name: string,
    public seenTime: number,
  ) {}
}

export class Group {
  readonly pel = new IdMap<Nack>();
  readonly consumers = new Map<string, Consumer>();
  constructor(
    readonly name: string,
    public lastId: StreamID,
    /** -1: unknown (SCG_INVALID_ENTRIES_READ). */
    public entriesRead: number,
  ) {}

  /** Consumers in name order (Redis's rax order). */
  sortedConsumers(): Consumer[] {
    return [...this.consumers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** streamCreateConsumer: null if it exists. */
  addConsumer(name: string, now: number): Consumer | null {
    if (this.consumers.has(name)) return null;
    const c = new Consumer(name, now);
    this.consumers.set(name, c);
    return c;
  }

  /** streamDelConsumer: its pending entries leave the group's PEL too. Returns how many it had. */
  deleteConsumer(c: Consumer): number {
    const n = c.pel.size;
    for (const [id] of c.pel.entries()) this.pel.delete(id);
    this.consumers.delete(c.name);
    return n;
  }

  /** Acknowledge one ID: true if it was pending. */
  ack(id: StreamID): boolean {
    const nack = this.pel.delete(id);
    if (nack === undefined) return false;
    nack.consumer?.pel.delete(id);
    return true;
  }

  /** A pending entry from a snapshot (the consumer is created if the record came first). */
  loadPending(id: StreamID, consumer: string, time: number, count: number): void {
    let c = this.consumers.get(consumer);
    if (c === undefined) c = this.addConsumer(consumer, time)!;
    const nack = new Nack(c, time, count);
    this.pel.set(id, nack);
    c.pel.set(id, nack);
  }

  memoryCost(): number {
    return 200 + this.pel.size * 80 + this.consumers.size * 150;
  }
}

/** A deep copy (COPY, snapshot capture): NACKs stay shared between the copies' PELs only. */
export function cloneGroups(groups: Map<string, Group>): Map<string, Group> {
  const out = new Map<string, Group>();
  for (const [name, g] of groups) {
    const ng = new Group(name, g.lastId, g.entriesRead);
    const cmap = new Map<Consumer, Consumer>();
    for (const [cn, c] of g.consumers) {
      const nc = new Consumer(cn, c.seenTime);
      ng.consumers.set(cn, nc);
      cmap.set(c, nc);
    }
    for (const [id, nack] of g.pel.entries()) {
      const owner = nack.consumer === null ? null : cmap.get(nack.consumer)!;
      const nn = new Nack(owner, nack.deliveryTime, nack.deliveryCount);
      ng.pel.set(id, nn);
      owner?.pel.set(id, nn);
    }
    out.set(name, ng);
  }
  return out;
}
