/**
 * client-output-buffer-limit as Redis 7.0 has it: per client class (normal,
 * replica, pubsub) a hard limit, a soft limit and soft seconds; a client over
 * the hard limit, or over the soft limit for longer than soft seconds, is
 * closed and logged (Redis's checkClientOutputBufferLimits).
 *
 * A client's output buffer here is what Node holds for its socket and has
 * not handed to the kernel yet (socket.writableLength) plus the reply still
 * being encoded. Redis counts its reply list the same way (the kernel's
 * socket buffer is not part of it).
 *
 * Redis leaves normal clients unlimited by default; so would this server,
 * but a client that never reads could then buffer replies until the process
 * dies. The heap guard closes it first: no client may hold more than a
 * quarter of the heap limit in pending output, nor all clients together
 * more than half of it (heapGuardBytes).
 */
import v8 from 'node:v8';
import { defineParam, getString } from '../config/params.js';

export type OutputClass = 'normal' | 'slave' | 'pubsub';

export interface ClassLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}

const CLASSES: OutputClass[] = ['normal', 'slave', 'pubsub'];
const DEFAULT = 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60';
const ERR_ARGS = 'Wrong number of arguments in buffer limit configuration.';
const ERR_CLASS = 'Invalid client class specified in buffer limit configuration.';
const ERR_VALUE = 'Error in hard, soft or soft_seconds setting in buffer limit configuration.';

/** Redis's memtoull: digits with an optional unit, no sign. */
function memValue(raw: string): number | null {
  const m = /^(\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(raw);
  if (!m) return null;
  const mul: Record<string, number> = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * mul[(m[2] ?? 'b').toLowerCase()];
}

function className(name: string): OutputClass | 'master' | null {
  const n = name.toLowerCase();
  if (n === 'normal' || n === 'pubsub' || n === 'master') return n;
  if (n === 'slave' || n === 'replica') return 'slave';
  return null;
}

function parseAll(s: string): Map<OutputClass, ClassLimit> {
  const out = new Map<OutputClass, ClassLimit>();
  const w = s.split(/\s+/).filter(Boolean);
  for (let i = 0; i + 3 < w.length; i += 4) {
    out.set(w[i] as OutputClass, { hard: Number(w[i + 1]), soft: Number(w[i + 2]), softSeconds: Number(w[i + 3]) });
  }
  return out;
}

function format(m: Map<OutputClass, ClassLimit>): string {
  return CLASSES.map((c) => {
    const l = m.get(c)!;
    return `${c} ${l.hard} ${l.soft} ${l.softSeconds}`;
  }).join(' ');
}

/**
 * CONFIG SET client-output-buffer-limit "<class> <hard> <soft> <secs> ...":
 * the named classes change, the others keep their value; validated whole
 * before anything changes, with redis-server's error texts. "master" is a
 * valid class name in Redis's parser but not settable (Invalid client class).
 */
export function mergeLimits(raw: string, current: string): string {
  const w = raw.split(/\s+/).filter(Boolean);
  if (w.length % 4 !== 0) throw new Error(ERR_ARGS);
  const m = parseAll(current);
  for (let i = 0; i < w.length; i += 4) {
    const cls = className(w[i]);
    if (cls === null || cls === 'master') throw new Error(ERR_CLASS);
    const hard = memValue(w[i + 1]);
    const soft = memValue(w[i + 2]);
    const secs = /^\d+$/.test(w[i + 3]) ? Number(w[i + 3]) : null;
    if (hard === null || soft === null || secs === null) throw new Error(ERR_VALUE);
    m.set(cls, { hard, soft, softSeconds: secs });
  }
  return format(m);
}

defineParam({
  name: 'client-output-buffer-limit',
  type: 'string',
  default: DEFAULT,
  mutable: true,
  help: 'per client class (normal, replica, pubsub): hard limit, soft limit, soft seconds; a client over it is closed',
  normalize: mergeLimits,
});

let cachedRaw = '';
let cached = new Map<OutputClass, ClassLimit>();

export function limitsOf(cls: OutputClass): ClassLimit {
  const raw = getString('client-output-buffer-limit');
  if (raw !== cachedRaw) {
    cached = parseAll(raw);
    cachedRaw = raw;
  }
  return cached.get(cls)!;
}

let guardBytes = 0;

/** What the heap guard allows one client's pending output (see the header). The heap limit never changes: read once, not after every write. */
export function heapGuardBytes(): number {
  if (guardBytes === 0) guardBytes = Math.max(64 * 1024 * 1024, Math.floor(v8.getHeapStatistics().heap_size_limit / 4));
  return guardBytes;
}

/** What one client tracks for the soft limit. */
export interface OutputState {
  /** ms since epoch when the soft limit was first seen reached, 0 if not. */
  obufSoftSince: number;
}

/**
 * Redis's checkClientOutputBufferLimits: the reason to close the client, or
 * null. Soft time is counted in whole seconds as Redis's unixtime does (a
 * client is closed once more than softSeconds have passed).
 */
export function overLimit(state: OutputState, cls: OutputClass, used: number, now: number): string | null {
  if (used >= heapGuardBytes()) return 'heap-guard';
  const l = limitsOf(cls);
  if (l.hard > 0 && used >= l.hard) return 'hard';
  if (l.soft > 0 && used >= l.soft) {
    if (state.obufSoftSince === 0) state.obufSoftSince = now;
    else if (Math.floor(now / 1000) - Math.floor(state.obufSoftSince / 1000) > l.softSeconds) return 'soft';
  } else state.obufSoftSince = 0;
  return null;
}
