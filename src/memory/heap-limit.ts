/**
 * How large the V8 heap should be, decided before the server exists.
 *
 * Every value is a JS string on the V8 heap (src/types/value.ts), so the
 * heap limit is the dataset's ceiling. V8's default (about 4 GiB here,
 * whatever the machine has) is wrong both ways: a 24 GiB host dies of
 * "Reached heap limit" at 4 GiB, and a small container is allowed a heap
 * it cannot back. The limit is fixed when the isolate is created, so
 * src/main.ts decides here and re-executes node with --max-old-space-size
 * when the current limit does not fit.
 *
 * The formula (README, dragonfly.conf.example):
 *  - the operator set --max-old-space-size (node flag or NODE_OPTIONS):
 *    kept as is;
 *  - --maxmemory M > 0: 1.5 x M + 256 MiB. The heap guard (heap.ts) refuses
 *    writes once live data passes REFUSE_AT (75%) of the old generation, and
 *    0.75 x (1.5 M + 256 MiB) = 1.125 M + 192 MiB stays above M, so eviction
 *    at maxmemory acts first; the rest is garbage between collections, a
 *    snapshot's working memory and client buffers;
 *  - maxmemory 0: SHARE (75%) of the memory the process may use, the
 *    smaller of the machine's RAM and the cgroup's limit (v2 memory.max, v1
 *    hierarchical_memory_limit, walked up to the mount's root). The other
 *    quarter is for what is not on the V8 heap: socket and file Buffers,
 *    node itself, the kernel's page cache for snapshots.
 *  - both capped at that same share of memory: a heap the host cannot back
 *    ends with the kernel's OOM killer, which loses more than an -OOM reply.
 *
 * This file is imported by the launcher before anything heavy: node built-ins
 * only.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const MiB = 1024 * 1024;
export const SHARE = 0.75;
export const MAXMEMORY_FACTOR = 1.5;
export const MAXMEMORY_EXTRA = 256 * MiB;
/** Below this a heap cannot even boot the server with room to spare. */
const MIN_HEAP = 128 * MiB;

/** The memory the process may use and where that figure comes from. */
export interface MemoryCap {
  bytes: number;
  source: string;
}

/** cgroup files say "max" (v2) or a page-rounded 2^63 (v1) for "no limit". */
function parseLimit(text: string): number | null {
  const t = text.trim();
  if (t === '' || t === 'max') return null;
  const n = Number(t);
  if (!Number.isFinite(n) || n <= 0 || n >= 2 ** 62) return null;
  return n;
}

function read(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

interface Mount {
  root: string;
  point: string;
  fstype: string;
  options: string;
}

/** /proc/self/mountinfo: "id parent maj:min root mountpoint opts ... - fstype source superopts". */
function mounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const f = pre.split(' ');
    const g = post.split(' ');
    out.push({ root: f[3], point: f[4].replace(/\\040/g, ' '), fstype: g[0], options: g[2] ?? '' });
  }
  return out;
}

/** The directory of our cgroup under a mount whose root is `root`, or null if it is outside it. */
function dirUnder(m: Mount, cgPath: string): string | null {
  const root = m.root === '/' ? '' : m.root;
  if (root !== '' && cgPath !== root && !cgPath.startsWith(root + '/')) return null;
  return path.join(m.point, cgPath.slice(root.length));
}

/**
 * The cgroup memory limit of this process, or null. `proc` is /proc normally;
 * tests point it at a directory laid out the same way.
 */
export function cgroupLimit(proc = '/proc'): MemoryCap | null {
  const cg = read(path.join(proc, 'self/cgroup'));
  const mi = read(path.join(proc, 'self/mountinfo'));
  if (cg === null || mi === null) return null;
  const ms = mounts(mi);
  let best: MemoryCap | null = null;
  const take = (bytes: number | null, source: string) => {
    if (bytes !== null && (best === null || bytes < best.bytes)) best = { bytes, source };
  };
  for (const line of cg.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, hier, controllers, cgPath] = m;
    if (hier === '0' && controllers === '') {
      // v2: every level's memory.max limits us; walk up to the mount's root.
      for (const mt of ms.filter((x) => x.fstype === 'cgroup2')) {
        let dir = dirUnder(mt, cgPath);
        while (dir !== null) {
          const f = path.join(dir, 'memory.max');
          take(parseLimit(read(f) ?? ''), f);
          if (dir === mt.point || dir === path.dirname(dir)) break;
          dir = path.dirname(dir);
        }
      }
    } else if (controllers.split(',').includes('memory')) {
      // v1: hierarchical_memory_limit already folds in the ancestors' limits.
      for (const mt of ms.filter((x) => x.fstype === 'cgroup' && x.options.split(',').includes('memory'))) {
        const dir = dirUnder(mt, cgPath);
        if (dir === null) continue;
        const stat = read(path.join(dir, 'memory.stat'));
        const h = stat ? /^hierarchical_memory_limit (\d+)$/m.exec(stat) : null;
        if (h) take(parseLimit(h[1]), path.join(dir, 'memory.stat'));
        else take(parseLimit(read(path.join(dir, 'memory.limit_in_bytes')) ?? ''), path.join(dir, 'memory.limit_in_bytes'));
      }
    }
  }
  return best;
}

export function memoryCap(proc = '/proc'): MemoryCap {
  const total: MemoryCap = { bytes: os.totalmem(), source: 'machine memory' };
  const cg = cgroupLimit(proc);
  return cg !== null && cg.bytes < total.bytes ? { bytes: cg.bytes, source: `cgroup limit (${cg.source})` } : total;
}

/**
 * The MiB value of a node flag (`--name=N` or `--name N`, dashes or
 * underscores) among node flags, and where it was set: the command line is
 * applied after NODE_OPTIONS, so it wins; within one, the last one does.
 */
function nodeFlagMb(name: string, execArgv: readonly string[], nodeOptions: string | undefined): { mb: number; where: string } | null {
  const re = new RegExp(`^--${name.replace(/-/g, '[-_]')}(?:=(\\d+))?$`);
  const find = (tokens: readonly string[], where: string) => {
    let found: { mb: number; where: string } | null = null;
    for (let i = 0; i < tokens.length; i++) {
      const m = re.exec(tokens[i]);
      if (!m) continue;
      const v = m[1] ?? tokens[i + 1];
      if (v !== undefined && /^\d+$/.test(v)) found = { mb: Number(v), where };
    }
    return found;
  };
  return find(execArgv, 'node command line') ?? find((nodeOptions ?? '').split(/\s+/).filter(Boolean), 'NODE_OPTIONS');
}

/** An explicit --max-old-space-size among node flags (process.execArgv, NODE_OPTIONS), in MiB. */
export function explicitOldSpace(execArgv: readonly string[], nodeOptions: string | undefined): { mb: number; where: string } | null {
  return nodeFlagMb('max-old-space-size', execArgv, nodeOptions);
}

export function hasSemiSpaceFlag(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return semiSpaceMb(execArgv, nodeOptions) !== null;
}

/** An explicit --max-semi-space-size among node flags, in MiB. */
export function semiSpaceMb(execArgv: readonly string[], nodeOptions: string | undefined): number | null {
  return nodeFlagMb('max-semi-space-size', execArgv, nodeOptions)?.mb ?? null;
}

/**
 * The semi-space the launcher gives the server when the operator did not
 * choose one (src/main.ts), in MiB: half V8's default. V8 grows the young
 * generation from 1 MiB up to this while objects survive, and it stays
 * there: two semi-spaces of resident memory. Each scavenge also has a fixed
 * cost that grows with the old generation (decideSemiSpace), paid once per
 * semi-space of allocation. With 1M small keys (bench/keyspace-1m.mjs):
 * 2 MiB gave SET -P 16 0.66x redis-server and RSS 1.47x; 8 MiB 0.83x (GET
 * -P 16 0.78x) and RSS 1.48x, once the Lua module stopped loading at boot;
 * 16 MiB 0.79x and RSS 1.60x.
 */
export const LAUNCHER_SEMI_MB = 8;
/**
 * The most decideSemiSpace gives, MiB. A scavenge copies what survives of up
 * to one semi-space, and during a load most of it does: booting a 20M-key
 * snapshot (10.8 GB) took 62.7 s with 64 MiB and scavenges up to 76 ms, 67.6 s
 * with 32 and none over 40 ms, 79.3 s with 16 (bench/RESULTS.md), so 32 keeps
 * a boot's pauses well under 100 ms for a few percent of its time.
 */
const SEMI_MAX_MB = 32;
/**
 * Dataset bytes per byte of semi-space before the semi-space doubles: the
 * young generation (two semi-spaces) stays within ~3% of what the dataset
 * will occupy. Loading an RDB file of 1.2 GB (10M keys) took 85 s with
 * 2 MiB, 52 s with 8, 43 s with 16 and 38.5 s with 64 (before the value
 * slabs left V8's external memory; 33 s after, with the 32 this gives it).
 */
const BOOT_BYTES_PER_SEMI_BYTE = 64;

/**
 * The semi-space for a server whose dataset is expected to reach
 * `datasetBytes` (the snapshot or RDB file a local --dir holds to load, or
 * maxmemory, whichever is more), in MiB, or null when the operator set one.
 * Each scavenge visits the header of every page of the old generation (V8's
 * ScavengerCollector::CollectGarbage; `perf` put 8% of a 10M-key RDB load
 * in that loop alone), so a large dataset wants fewer scavenges. V8 takes
 * the size at start-up only: a server that grows large after an empty boot
 * with maxmemory 0 keeps LAUNCHER_SEMI_MB (set --max-semi-space-size for it).
 */
export function decideSemiSpace(execArgv: readonly string[], nodeOptions: string | undefined, datasetBytes: number): number | null {
  if (hasSemiSpaceFlag(execArgv, nodeOptions)) return null;
  let mb = LAUNCHER_SEMI_MB;
  while (mb < SEMI_MAX_MB && mb * MiB * BOOT_BYTES_PER_SEMI_BYTE < datasetBytes) mb *= 2;
  return mb;
}

/** V8's default semi-space on 64-bit builds (node 20 and 22), in MiB. */
const DEFAULT_SEMI_MB = 16;

/** Old-generation floor per MiB of semi-space (initialOldSpaceMb). */
const OLD_FLOOR_PER_SEMI = 16;

/**
 * The --initial-old-space-size the launcher gives the server, in MiB: V8
 * then runs no mark-compact while the old generation is smaller. Why: V8
 * starts incremental marking as soon as the room left under its old-
 * generation limit is no more than the young generation's capacity, and
 * after a mark-compact of a small old generation it sets the limit just
 * that far above what is live. With keys, values and slots off the heap the
 * old generation is small (28-90 MB for 4M-20M keys), so a BGSAVE, which
 * promotes little, ran mark-compact after mark-compact back to back: 55 at
 * 4M keys, 153 at 20M with pauses up to 316 ms ("Start (task): 28MB / 44MB
 * / 16MB" each time). With this floor: none during the BGSAVE at 4M keys
 * (bench/RESULTS.md). Sized on the semi-space (whose double is the young
 * generation): 128 MiB for the launcher's 8.
 */
export function initialOldSpaceMb(semiMb: number | null): number {
  return OLD_FLOOR_PER_SEMI * (semiMb ?? DEFAULT_SEMI_MB);
}

/** An explicit --initial-old-space-size among node flags, in MiB. */
export function initialOldSpaceFlagMb(execArgv: readonly string[], nodeOptions: string | undefined): number | null {
  return nodeFlagMb('initial-old-space-size', execArgv, nodeOptions)?.mb ?? null;
}

/**
 * The old generation's maximum, in bytes: what V8's own out-of-memory rules
 * are relative to (its "ineffective mark-compacts" abort fires once the old
 * generation stays above 80% of it), unlike heap_size_limit, which adds the
 * young generation's three semi-spaces (48 MiB with V8's default semi-space:
 * a sixth of a 256 MiB heap).
 */
export function oldGenerationLimit(heapSizeLimit: number, execArgv: readonly string[], nodeOptions: string | undefined): number {
  const explicit = explicitOldSpace(execArgv, nodeOptions);
  if (explicit !== null) return Math.min(heapSizeLimit, explicit.mb * MiB);
  const semi = semiSpaceMb(execArgv, nodeOptions) ?? DEFAULT_SEMI_MB;
  return Math.max(MIN_HEAP / 2, heapSizeLimit - 3 * semi * MiB);
}

/** What the launcher decided, passed to the server (logged at start-up, shown in INFO memory). */
export interface HeapDecision {
  /** The old-space size asked of V8 in MiB, or null when the operator's flag is kept. */
  oldSpaceMb: number | null;
  /** One sentence: why this limit. */
  reason: string;
  /** 'operator' | 'maxmemory' | 'memory-share' | 'default' */
  source: string;
  /** maxmemory asked for more than the capped heap can hold. */
  capped: boolean;
  /** The semi-space asked of V8 in MiB (decideSemiSpace), or null when the operator's flag is kept; absent: not decided. */
  semiMb?: number | null;
  /** Why that semi-space, when it is not the default. */
  semiReason?: string;
  /** The --initial-old-space-size asked of V8 in MiB (initialOldSpaceMb), or null when the operator set one; absent: not decided. */
  initialOldMb?: number | null;
}

const fmt = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(b / MiB)} MiB`);

export function decideHeap(maxmemory: number, execArgv: readonly string[], env: NodeJS.ProcessEnv, cap: MemoryCap = memoryCap()): HeapDecision {
  const explicit = explicitOldSpace(execArgv, env.NODE_OPTIONS);
  if (explicit !== null) {
    return { oldSpaceMb: null, reason: `--max-old-space-size=${explicit.mb} set on the ${explicit.where}: kept as is`, source: 'operator', capped: false };
  }
  const ceiling = Math.max(MIN_HEAP, Math.floor(cap.bytes * SHARE));
  if (maxmemory > 0) {
    const want = Math.max(MIN_HEAP, maxmemory * MAXMEMORY_FACTOR + MAXMEMORY_EXTRA);
    const capped = want > ceiling;
    const bytes = capped ? ceiling : want;
    const reason = capped
      ? `1.5 x maxmemory ${fmt(maxmemory)} + 256 MiB would exceed ${SHARE * 100}% of the ${cap.source} (${fmt(cap.bytes)}): capped there; writes get -OOM before maxmemory is reached`
      : `1.5 x maxmemory ${fmt(maxmemory)} + 256 MiB`;
    return { oldSpaceMb: Math.floor(bytes / MiB), reason, source: 'maxmemory', capped };
  }
  return { oldSpaceMb: Math.floor(ceiling / MiB), reason: `maxmemory is 0: ${SHARE * 100}% of the ${cap.source} (${fmt(cap.bytes)})`, source: 'memory-share', capped: false };
}

/**
 * The current isolate's limit already fits the decision (no re-exec): within
 * 10%, and its semi-space (`semiMb`, from this process's flags; null: V8's
 * default) and initial old space (`initialOldMb`, the same) are the ones
 * decided.
 */
export function limitFits(d: HeapDecision, heapSizeLimit: number, semiMb: number | null = null, initialOldMb: number | null = null): boolean {
  if (d.semiMb != null && d.semiMb !== (semiMb ?? DEFAULT_SEMI_MB)) return false;
  if (d.initialOldMb != null && d.initialOldMb !== initialOldMb) return false;
  if (d.oldSpaceMb === null) return true;
  const want = d.oldSpaceMb * MiB;
  return Math.abs(heapSizeLimit - want) <= want * 0.1;
}

export const HEAP_DECISION_ENV = 'DAMSELFLY_HEAP_DECISION';
