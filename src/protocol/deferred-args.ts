/**
 * Deferred arguments: a giant request whose arguments are only looked up
 * or hashed (DEL, UNLINK, EXISTS, TOUCH, the set algebra commands' source
 * keys, PFADD's elements: a million of them) keeps them as bytes until the
 * command runs, and the command makes each one a string as it needs it.
 *
 * Why: every argument parsed as a string lives until the whole request has
 * arrived (seconds for 55 MB), so V8's young-generation collector copies
 * each one twice and promotes it into freshly faulted old-space pages, only
 * for the command to drop it right after one lookup. Parsing a 4M-key DEL
 * spent two thirds of its time there (bench/RESULTS.md, issue 10). Made at
 * the command instead, a key dies young, which costs the collector nothing.
 *
 * The request's bytes go into 1 MB chunks (an argument never straddles
 * two; a larger one gets a chunk of its own), positions into typed arrays:
 * ~12 bytes an argument besides its bytes, against ~40 as a string.
 *
 * What the parser hands on is still a `string[]` to everything that reads
 * it (arity, ACL key checks, MONITOR, SLOWLOG, MULTI queueing, CLIENT
 * PAUSE): a Proxy whose elements are made on each read. Only the commands
 * that asked for deferral (deferArgs) read the arena directly, a batch of
 * keys at a time (argBatches, eachArg).
 */
import { latin1 } from './latin1.js';

/** Requests with fewer arguments parse as usual: the saving is per argument, the setup is not. */
export const DEFER_MIN = 1 << 16;
const CHUNK = 1 << 20;
/** Position slots allocated before arguments arrive (the count is only the client's word). */
const SLOTS_TRUSTED = 1 << 16;

/** Lower-case names of the commands whose giant requests are deferred. */
const deferrable = new Set<string>();

/** Declare commands that read their arguments through argBatches (registration time). */
export function deferArgs(...names: string[]): void {
  for (const n of names) deferrable.add(n);
}

export function isDeferrable(name: string): boolean {
  return name.length <= 16 && deferrable.has(name.toLowerCase());
}

export class ArgArena {
  private readonly chunks: Buffer[] = [];
  /** The chunk being filled, and its index in chunks. */
  private cur: Buffer = Buffer.alloc(0);
  private curIndex = 0;
  private fill = 0;
  private chunkOf: Uint32Array;
  private start: Uint32Array;
  private len: Uint32Array;
  /** Arguments held. */
  count = 0;

  constructor(expected: number) {
    const n = Math.max(16, Math.min(expected, SLOTS_TRUSTED));
    this.chunkOf = new Uint32Array(n);
    this.start = new Uint32Array(n);
    this.len = new Uint32Array(n);
  }

  private slot(): number {
    const i = this.count++;
    if (i === this.len.length) {
      const grow = (a: Uint32Array) => {
        const b = new Uint32Array(a.length * 4);
        b.set(a);
        return b;
      };
      this.chunkOf = grow(this.chunkOf);
      this.start = grow(this.start);
      this.len = grow(this.len);
    }
    return i;
  }

  /** Copy in buf[from, from + n). */
  add(buf: Buffer, from: number, n: number): void {
    if (n > CHUNK) {
      this.own(Buffer.from(buf.subarray(from, from + n)), n);
      return;
    }
    if (this.fill + n > this.cur.length) {
      this.cur = Buffer.allocUnsafeSlow(CHUNK);
      this.curIndex = this.chunks.push(this.cur) - 1;
      this.fill = 0;
    }
    const i = this.slot();
    const cur = this.cur;
    // Buffer#copy makes a Uint8Array view per call: 100+ bytes of garbage
    // for every 10-byte key, which is what this file exists to avoid.
    if (n <= 64) for (let k = 0, o = this.fill; k < n; k++) cur[o + k] = buf[from + k];
    else buf.copy(cur, this.fill, from, from + n);
    this.chunkOf[i] = this.curIndex;
    this.start[i] = this.fill;
    this.len[i] = n;
    this.fill += n;
  }

  /** Take `whole` (its first n bytes are the argument) as a chunk of its own, uncopied. */
  own(whole: Buffer, n: number): void {
    const i = this.slot();
    this.chunkOf[i] = this.chunks.push(whole) - 1;
    this.start[i] = 0;
    this.len[i] = n;
  }

  /** Argument i (0 = the first one added) as a string; a new one on each call. */
  at(i: number): string {
    const n = this.len[i];
    // An empty argument may have no chunk at all.
    return n === 0 ? '' : latin1(this.chunks[this.chunkOf[i]], this.start[i], n);
  }
}

/** The arena behind a deferred request, by its proxy. */
const arenas = new WeakMap<object, ArgArena>();

/** A request of `name` and the arena's arguments, as a read-only-looking string array. */
export function deferredRequest(name: string, arena: ArgArena): string[] {
  const total = arena.count + 1;
  const elem = (p: string | symbol): number => {
    if (typeof p !== 'string' || p.length === 0 || p.length > 10) return -1;
    const c = p.charCodeAt(0);
    if (c < 48 || c > 57 || (c === 48 && p.length > 1)) return -1;
    const i = Number(p);
    return Number.isInteger(i) && i < total ? i : -1;
  };
  const proxy = new Proxy([] as string[], {
    get(target, p, receiver) {
      if (p === 'length') return total;
      const i = elem(p);
      if (i === 0) return name;
      if (i > 0) return arena.at(i - 1);
      return Reflect.get(target, p, receiver);
    },
    // Array.prototype methods (slice, map, indexOf...) ask before they read.
    has(target, p) {
      return elem(p) >= 0 || Reflect.has(target, p);
    },
  });
  arenas.set(proxy, arena);
  return proxy;
}

/** Keys of a deferred request handed out per batch: made as needed, not kept. */
export class ArgBatches {
  private readonly keys: string[];
  constructor(private readonly arena: ArgArena, size: number) {
    this.keys = new Array<string>(size).fill('');
  }
  /** Arguments of the request (the name included). */
  get total(): number {
    return this.arena.count + 1;
  }
  /**
   * Arguments i, i+1, ... (i >= 1) in the first `n` slots of a reused
   * array; returns n, at most the batch size. The previous batch's strings
   * are dropped.
   */
  fill(i: number): number {
    const keys = this.keys;
    const n = Math.min(keys.length, this.arena.count + 1 - i);
    for (let j = 0; j < n; j++) keys[j] = this.arena.at(i - 1 + j);
    for (let j = n; j < keys.length; j++) keys[j] = '';
    return n;
  }
  get batch(): readonly string[] {
    return this.keys;
  }
}

/**
 * A deferred request's arguments in batches of `size`, or undefined for a
 * plain array (then read args as usual). A command that reads its keys this
 * way declares it with deferArgs().
 */
export function argBatches(args: string[], size: number): ArgBatches | undefined {
  // Only a request of DEFER_MIN arguments or more can be deferred: no map lookup for the others.
  if (args.length < DEFER_MIN) return undefined;
  const arena = arenas.get(args);
  return arena === undefined ? undefined : new ArgBatches(arena, size);
}

const EACH_BATCH = 1024;

/**
 * fn(args[i], i) for i from `from` on, in order, until fn returns false:
 * from a plain array, or made batch by batch for a deferred request (then
 * each string is dropped once fn returns; a command that keeps some, as a
 * set it loads, keeps what it looked up, not the names). For commands that
 * read their arguments once, in order, and declare it with deferArgs().
 */
export function eachArg(args: string[], from: number, fn: (arg: string, i: number) => boolean | void): void {
  const b = argBatches(args, EACH_BATCH);
  if (b === undefined) {
    for (let i = from; i < args.length; i++) if (fn(args[i], i) === false) return;
    return;
  }
  for (let i = from; i < b.total; i += EACH_BATCH) {
    const n = b.fill(i);
    const batch = b.batch;
    for (let j = 0; j < n; j++) if (fn(batch[j], i + j) === false) return;
  }
}

/** Whether args is a deferred request (tests, diagnostics). */
export function isDeferred(args: string[]): boolean {
  return arenas.has(args);
}
