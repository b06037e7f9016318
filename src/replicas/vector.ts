/**
 * Version vectors on snapshot manifests: the seed's G-counter. Each key is a
 * writer incarnation (src/replicas/lineage.ts), each value how many saves
 * that incarnation attempted. A writer increments only its own entry, and a
 * server that loads a snapshot adopts its vector, so every snapshot it saves
 * afterwards dominates (>= in every entry, > in one) what it loaded. Two
 * snapshots neither of which dominates the other come from two writers that
 * saved after the same ancestor without seeing each other: split brain.
 * Wall-clock time plays no part in this order.
 *
 * Bounded size. Every process is a new incarnation, so thousands of restarts
 * would mean thousands of entries. Entries that every live manifest carries
 * with the same value cannot tell live manifests apart; a writer folds them
 * out of its next vector into `vvFolded`: their count, their sum, and the XOR
 * of one hash per (key, value). Comparing a folded vector with one that
 * still lists those entries checks, by that hash, that what was folded is
 * exactly what the other lists (so the hidden values are equal). When it
 * cannot tell, the two are reported concurrent: a false split brain, never a
 * false "newer", is the price of an unlucky fold.
 *
 * Manifests from before vectors have none: an empty vector, which every
 * vector dominates; among themselves they are ordered by seq as before.
 */
import { createHash } from 'node:crypto';

export type VV = Record<string, number>;

export interface Folded {
  /** Entries folded so far. */
  n: number;
  /** Their values' sum (the tie-break "larger vector sum" counts them). */
  sum: number;
  /** XOR of sha256("key=value") over them, hex. */
  h: string;
}

export interface Versioned {
  vv?: VV;
  vvFolded?: Folded;
}

export type Order = 'equal' | 'before' | 'after' | 'concurrent';

const ZERO = '0'.repeat(64);

function entryHash(k: string, v: number): Buffer {
  return createHash('sha256').update(`${k}=${v}`).digest();
}

function xorHex(h: string, entries: [string, number][]): string {
  const acc = Buffer.from(h, 'hex');
  for (const [k, v] of entries) {
    const e = entryHash(k, v);
    for (let i = 0; i < 32; i++) acc[i] ^= e[i];
  }
  return acc.toString('hex');
}

function foldHash(x: Versioned): string {
  return x.vvFolded?.h ?? ZERO;
}

/** Why a manifest's vector fields cannot be trusted, or null (absent fields are fine: an old manifest). */
export function vectorDamage(x: Versioned): string | null {
  if (x.vv !== undefined) {
    if (typeof x.vv !== 'object' || x.vv === null || Array.isArray(x.vv)) return 'vv is not an object';
    for (const [k, v] of Object.entries(x.vv)) if (!Number.isSafeInteger(v) || v < 0 || k === '') return `vv entry ${k} is not a counter`;
  }
  const f = x.vvFolded;
  if (f !== undefined && (typeof f !== 'object' || f === null || !Number.isSafeInteger(f.n) || !Number.isSafeInteger(f.sum) || !/^[0-9a-f]{64}$/.test(String(f.h)))) return 'vvFolded is malformed';
  return null;
}

/** Explicit entries compared with missing = 0, over `keys`. */
function plain(a: VV, b: VV, keys: Iterable<string>): Order {
  let less = false;
  let more = false;
  for (const k of keys) {
    const x = a[k] ?? 0;
    const y = b[k] ?? 0;
    if (x < y) less = true;
    else if (x > y) more = true;
  }
  if (less && more) return 'concurrent';
  if (less) return 'before';
  if (more) return 'after';
  return 'equal';
}

/** How a relates to b: 'after' = a dominates b. */
export function compare(a: Versioned, b: Versioned): Order {
  const va = a.vv ?? {};
  const vb = b.vv ?? {};
  const fa = foldHash(a);
  const fb = foldHash(b);
  const all = new Set([...Object.keys(va), ...Object.keys(vb)]);
  if (fa === fb) return plain(va, vb, all);
  const onlyA = Object.entries(va).filter(([k]) => !(k in vb));
  const onlyB = Object.entries(vb).filter(([k]) => !(k in va));
  // a folded exactly what b still lists on its own (same values): those are equal, the rest decides.
  if (fa === xorHex(fb, onlyB)) return plain(va, vb, Object.keys(va));
  if (fb === xorHex(fa, onlyA)) return plain(va, vb, Object.keys(vb));
  return 'concurrent';
}

export function dominates(a: Versioned, b: Versioned): boolean {
  return compare(a, b) === 'after';
}

/** Sum of every entry, folded ones included. */
export function vectorSum(x: Versioned): number {
  return Object.values(x.vv ?? {}).reduce((s, v) => s + v, 0) + (x.vvFolded?.sum ?? 0);
}

/** Entry-wise maximum (what a server adopts when it must dominate several snapshots). */
export function merge(list: Versioned[]): Versioned {
  const vv: VV = {};
  let folded: Folded | undefined;
  for (const x of list) {
    for (const [k, v] of Object.entries(x.vv ?? {})) vv[k] = Math.max(vv[k] ?? 0, v);
    // Different folds cannot be merged exactly: keep the largest; comparisons stay fail-safe (concurrent).
    if (x.vvFolded && (!folded || x.vvFolded.n > folded.n)) folded = x.vvFolded;
  }
  return folded ? { vv, vvFolded: folded } : { vv };
}

/**
 * Fold out of `x` the entries (other than `keep`) that every manifest in
 * `live` lists with the same value and the same fold as x. Returns x itself
 * when nothing qualifies.
 */
export function fold(x: Versioned, live: Versioned[], keep: string): Versioned {
  const vv = x.vv ?? {};
  const fx = foldHash(x);
  if (live.some((l) => foldHash(l) !== fx)) return x;
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(vv)) {
    if (k === keep) continue;
    if (live.every((l) => l.vv?.[k] === v)) out.push([k, v]);
  }
  if (out.length === 0) return x;
  const rest: VV = {};
  const folded = new Set(out.map(([k]) => k));
  for (const [k, v] of Object.entries(vv)) if (!folded.has(k)) rest[k] = v;
  const prev = x.vvFolded ?? { n: 0, sum: 0, h: ZERO };
  return { vv: rest, vvFolded: { n: prev.n + out.length, sum: prev.sum + out.reduce((s, [, v]) => s + v, 0), h: xorHex(prev.h, out) } };
}

/** One line for logs and the CLI: {a:3,b:1} (+5 folded). */
export function formatVector(x: Versioned): string {
  const e = Object.entries(x.vv ?? {}).map(([k, v]) => `${k}=${v}`);
  const f = x.vvFolded ? ` +${x.vvFolded.n} folded` : '';
  return e.length === 0 && !f ? '{}' : `{${e.join(',')}}${f}`;
}
