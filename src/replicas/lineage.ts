/**
 * This process's place in the snapshot history: the vector it adopted at
 * boot (the loaded snapshot's), the id of the snapshot its next one follows
 * (parent), and its own incarnation key in every vector it writes.
 *
 * The incarnation is `<server_id>/<writer id>`: the writer id is random per
 * process (src/storage/writer.ts), so two processes started with the same
 * --server_id (a blue/green overlap) still write different keys and their
 * concurrent snapshots compare as concurrent, not as one history.
 */
import { hostname } from 'node:os';
import { defineParam, getString } from '../config/params.js';
import type { Manifest } from '../storage/backend.js';
import { WRITER_ID } from '../storage/writer.js';
import { fold, merge, type Versioned, type VV } from './vector.js';

defineParam({ name: 'server_id', type: 'string', default: '', help: "this server's name in snapshot version vectors (empty: the host name); each process adds its own random incarnation to it" });

/** Above this many entries a writer folds what every live manifest shares (vector.ts). */
export const MAX_VECTOR_ENTRIES = 32;

export function incarnation(): string {
  const id = getString('server_id').trim() || hostname();
  return `${id.replace(/[^A-Za-z0-9._-]/g, '_')}/${WRITER_ID}`;
}

/** The version fields a new manifest carries. */
export interface Stamp {
  vv: VV;
  vvFolded?: Versioned['vvFolded'];
  parent: string;
  writer: string;
}

class Lineage {
  private base: Versioned = {};
  private parent = '';
  /** Saves this incarnation attempted (its vector entry). */
  private attempts = 0;
  /** Every live manifest at every location, when all of them were read: what folding may rely on. */
  private live: Versioned[] | null = null;

  /** Boot loaded `from` (or nothing): the next snapshot must dominate `base`. */
  adopt(base: Versioned, parent: string): void {
    this.base = { ...(base.vv ? { vv: { ...base.vv } } : {}), ...(base.vvFolded ? { vvFolded: base.vvFolded } : {}) };
    this.parent = parent;
  }

  /** Dominate every one of these (an operator lifted a split-brain fence, accepting what was loaded). */
  adoptAll(list: Versioned[], parent: string): void {
    this.adopt(merge([this.base, ...list]), parent);
  }

  /** What every location holds, after a complete listing (null: some location was not read). */
  setLive(list: Versioned[] | null): void {
    this.live = list;
  }

  /** The fields of the next snapshot's manifest; counts an attempt. */
  next(): Stamp {
    const me = incarnation();
    const vv = { ...(this.base.vv ?? {}) };
    this.attempts = Math.max(this.attempts, vv[me] ?? 0) + 1;
    vv[me] = this.attempts;
    let v: Versioned = { vv, ...(this.base.vvFolded ? { vvFolded: this.base.vvFolded } : {}) };
    if (Object.keys(vv).length > MAX_VECTOR_ENTRIES && this.live !== null) v = fold(v, this.live, me);
    return { vv: v.vv!, ...(v.vvFolded ? { vvFolded: v.vvFolded } : {}), parent: this.parent, writer: me };
  }

  /** `m` was committed somewhere: what follows must dominate it. */
  committed(m: Manifest): void {
    this.adopt(m, m.id);
    if (this.live !== null) this.live.push(m);
  }

  get parentId(): string {
    return this.parent;
  }

  get vector(): Versioned {
    return this.base;
  }
}

export const lineage = new Lineage();
