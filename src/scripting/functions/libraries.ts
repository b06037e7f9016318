/**
 * The function libraries (Redis 7.0's functionsLibCtx): libraries by name
 * (case-sensitive, as Redis's dict), every function by name
 * (case-insensitive: FCALL test and FCALL TEST are the same function), and
 * how a library's code becomes a library (functionsCreateWithLibraryCtx):
 * metadata line, name rules, then the engine runs the code to register its
 * functions. Failures leave the set exactly as it was.
 */

/** Function flags in scripts_flags_def order (FUNCTION LIST prints them in this order). */
export const FLAG_NAMES = ['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'] as const;
export const FLAG_NO_WRITES = 1;
export const FLAG_ALLOW_OOM = 2;
export const FLAG_ALLOW_STALE = 4;
export const FLAG_NO_CLUSTER = 8;
export const FLAG_ALLOW_CROSS_SLOT = 16;

/** Bit of a flag name (case-insensitive, as strcasecmp), or 0 if unknown. */
export function flagBit(name: string): number {
  const i = FLAG_NAMES.indexOf(name.toLowerCase() as (typeof FLAG_NAMES)[number]);
  return i < 0 ? 0 : 1 << i;
}

export interface FunctionInfo {
  name: string;
  library: LibraryInfo;
  /** The engine's handle on the compiled callback (a Lua registry ref). */
  handle: number;
  desc: string | null;
  flags: number;
}

export interface LibraryInfo {
  name: string;
  engine: string;
  /** The whole code as given to FUNCTION LOAD, metadata line included. */
  code: string;
  /** This library's functions by exact name, in registration order. */
  functions: Map<string, FunctionInfo>;
}

/** What the set needs from an engine (function_lua.ts is the only one, "LUA"). */
export interface FunctionEngine {
  readonly name: string;
  /**
   * Runs `body` (the code after the metadata line, its newline kept) so it
   * registers functions into `li`; returns an error text or null.
   */
  create(li: LibraryInfo, body: string, timeoutMs: number): string | null;
  /** Releases a function's compiled callback. */
  free(fi: FunctionInfo): void;
}

export const NAME_ERROR = 'Library names can only contain letters, numbers, or underscores(_) and must be at least one character long';

/** functionsVerifyName: [A-Za-z0-9_]+ */
export function validName(name: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(name);
}

/** sdssplitargs on the metadata line: space-separated, with "..." and '...' quoting. */
function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  const isSpace = (c: string): boolean => c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\v' || c === '\f';
  while (true) {
    while (i < n && isSpace(line[i]!)) i++;
    if (i >= n) return out;
    let cur = '';
    let inq = false;
    let insq = false;
    for (;;) {
      const c = line[i];
      if (inq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          i++;
          const e = line[i]!;
          cur += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e;
        } else if (c === '"') {
          if (i + 1 < n && !isSpace(line[i + 1]!)) return null;
          inq = false;
          i++;
          break;
        } else cur += c;
      } else if (insq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === "'") {
          i++;
          cur += "'";
        } else if (c === "'") {
          if (i + 1 < n && !isSpace(line[i + 1]!)) return null;
          insq = false;
          i++;
          break;
        } else cur += c;
      } else {
        if (c === undefined || isSpace(c)) break;
        if (c === '"') inq = true;
        else if (c === "'") insq = true;
        else cur += c;
      }
      i++;
    }
    out.push(cur);
  }
}

export interface LibraryMetadata {
  engine: string;
  name: string;
  /** The code after the metadata line, starting with its newline (line numbers stay right). */
  body: string;
}

/** functionExtractLibMetaData: the "#!<engine> name=<name>" line. */
export function extractMetadata(code: string): LibraryMetadata | { error: string } {
  if (!code.startsWith('#!')) return { error: 'Missing library metadata' };
  const end = code.indexOf('\n');
  if (end < 0) return { error: 'Invalid library metadata' };
  const parts = splitArgs(code.slice(0, end));
  if (parts === null || parts.length === 0) return { error: 'Invalid library metadata' };
  const engine = parts[0]!.slice(2);
  let name: string | null = null;
  for (const part of parts.slice(1)) {
    if (part.slice(0, 5).toLowerCase() === 'name=') {
      if (name !== null) return { error: 'Invalid metadata value, name argument was given multiple times' };
      name = part.slice(5);
      continue;
    }
    return { error: `Invalid metadata value given: ${part}` };
  }
  if (name === null) return { error: 'Library name was not given' };
  return { engine, name, body: code.slice(end) };
}

export interface EngineStats {
  libraries: number;
  functions: number;
}

export class LibrarySet {
  readonly libraries = new Map<string, LibraryInfo>();
  /** Lower-cased name -> function. */
  readonly functions = new Map<string, FunctionInfo>();
  /** Bytes of names, descriptions and code (functions_caches / used_memory_scripts share). */
  cacheMemory = 0;

  constructor(readonly engines: ReadonlyMap<string, FunctionEngine>) {}

  getFunction(name: string): FunctionInfo | undefined {
    return this.functions.get(name.toLowerCase());
  }

  stats(engine: string): EngineStats {
    let libraries = 0;
    let functions = 0;
    for (const li of this.libraries.values()) {
      if (li.engine !== engine) continue;
      libraries++;
      functions += li.functions.size;
    }
    return { libraries, functions };
  }

  link(li: LibraryInfo): void {
    for (const fi of li.functions.values()) {
      // Redis's dictAdd: a case-variant of a name already linked stays unreachable.
      const k = fi.name.toLowerCase();
      if (!this.functions.has(k)) this.functions.set(k, fi);
      this.cacheMemory += fnSize(fi);
    }
    this.libraries.set(li.name, li);
    this.cacheMemory += libSize(li);
  }

  unlink(li: LibraryInfo): void {
    for (const fi of li.functions.values()) {
      const k = fi.name.toLowerCase();
      if (this.functions.get(k) === fi) this.functions.delete(k);
      this.cacheMemory -= fnSize(fi);
    }
    this.libraries.delete(li.name);
    this.cacheMemory -= libSize(li);
  }

  /** Unlinks and frees every library. */
  clear(): void {
    for (const li of [...this.libraries.values()]) {
      this.unlink(li);
      freeLibrary(this.engines, li);
    }
    this.cacheMemory = 0;
  }

  /**
   * functionsCreateWithLibraryCtx: compiles `code` into a library and links
   * it; returns its name, or the error text (without "ERR ").
   */
  create(code: string, replace: boolean, timeoutMs: number): string | { error: string } {
    const md = extractMetadata(code);
    if ('error' in md) return md;
    if (!validName(md.name)) return { error: NAME_ERROR };
    const engine = findEngine(this.engines, md.engine);
    if (engine === undefined) return { error: `Engine '${md.engine}' not found` };
    const old = this.libraries.get(md.name);
    if (old !== undefined && !replace) return { error: `Library '${md.name}' already exists` };
    if (old !== undefined) this.unlink(old);
    const li: LibraryInfo = { name: md.name, engine: engine.name, code, functions: new Map() };
    const fail = (error: string): { error: string } => {
      freeLibrary(this.engines, li);
      if (old !== undefined) this.link(old);
      return { error };
    };
    const err = engine.create(li, md.body, timeoutMs);
    if (err !== null) return fail(err);
    if (li.functions.size === 0) return fail('No functions registered');
    for (const fi of li.functions.values()) {
      if (this.functions.has(fi.name.toLowerCase())) return fail(`Function ${fi.name} already exists`);
    }
    this.link(li);
    if (old !== undefined) freeLibrary(this.engines, old);
    return md.name;
  }

  /**
   * libraryJoin: moves every library of `src` into this set. On a library
   * name collision without `replace`, or any function name collision, this
   * set is left as it was and the error returned; `src` is then untouched.
   */
  join(src: LibrarySet, replace: boolean): { error: string } | null {
    const replaced: LibraryInfo[] = [];
    const revert = (error: string): { error: string } => {
      for (const li of replaced) this.link(li);
      return { error };
    };
    for (const li of src.libraries.values()) {
      const old = this.libraries.get(li.name);
      if (old === undefined) continue;
      if (!replace) return revert(`Library ${li.name} already exists`);
      this.unlink(old);
      replaced.push(old);
    }
    for (const fi of src.functions.values()) {
      if (this.functions.has(fi.name.toLowerCase())) return revert(`Function ${fi.name} already exists`);
    }
    for (const li of [...src.libraries.values()]) {
      src.unlink(li);
      this.link(li);
    }
    src.cacheMemory = 0;
    for (const li of replaced) freeLibrary(this.engines, li);
    return null;
  }
}

function findEngine(engines: ReadonlyMap<string, FunctionEngine>, name: string): FunctionEngine | undefined {
  // Engine names are matched case-insensitively (engineDictType).
  return engines.get(name.toUpperCase());
}

function freeLibrary(engines: ReadonlyMap<string, FunctionEngine>, li: LibraryInfo): void {
  const e = engines.get(li.engine);
  for (const fi of li.functions.values()) e?.free(fi);
  li.functions.clear();
}

// Redis's accounting (functionMallocSize / libraryMallocSize), approximated from lengths.
function fnSize(fi: FunctionInfo): number {
  return 48 + fi.name.length + (fi.desc?.length ?? 0) + 16;
}
function libSize(li: LibraryInfo): number {
  return 48 + li.name.length + li.code.length;
}
