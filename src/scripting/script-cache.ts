/**
 * The EVAL state and its script cache: sha1 of the whole body (shebang
 * included) -> compiled function (a registry ref) and its shebang flags.
 * Never persisted, as in Redis 7.0. SCRIPT FLUSH drops the cache and the
 * whole Lua state with it.
 */
import { createHash } from 'node:crypto';
import { createEngine, type ScriptEngine } from './engine.js';
import { COMPAT_FLAGS, type ScriptFlags } from './run-context.js';

export interface CachedScript {
  body: string;
  flags: ScriptFlags;
  ref: number;
}

let engine: ScriptEngine | null = null;
const scripts = new Map<string, CachedScript>();
/**
 * The same scripts by body, for EVAL: a Map lookup of the body costs a
 * string hash and one compare, where sha1 through node:crypto cost ~1.3 us
 * (8% of a rate-limiter EVAL's server time in a profile).
 */
const byBody = new Map<string, { sha: string; script: CachedScript }>();
/** Bytes of cached bodies and keys (used_memory_scripts_eval), as Redis counts them. */
let scriptsMem = 0;

export function evalEngine(): ScriptEngine {
  engine ??= createEngine(undefined, true);
  return engine;
}

export function sha1hex(body: string): string {
  return createHash('sha1').update(body, 'latin1').digest('hex');
}

export function cachedScript(sha: string): CachedScript | undefined {
  return scripts.get(sha);
}

/**
 * EVALSHA's sha arguments as clients sent them (any case), with what they
 * named, for the last few scripts run: a client runs the same few shas
 * again and again, and comparing its fresh argument with `===` to these
 * (a length check, then the bytes) skips the lower-casing and the string
 * hash a Map lookup of a new 40-char string costs (~5% of a bare EVALSHA
 * in process). Emptied by SCRIPT FLUSH with the cache.
 */
const RECENT = 8;
const recentArgs: string[] = [];
const recentEntries: { sha: string; script: CachedScript }[] = [];
let recentNext = 0;

/** cachedScript for an EVALSHA argument as sent (not lower-cased yet), and its lower-case sha. */
export function scriptBySha(arg: string): { sha: string; script: CachedScript } | undefined {
  for (let i = 0; i < recentArgs.length; i++) {
    if (recentArgs[i] === arg) return recentEntries[i];
  }
  const sha = arg.toLowerCase();
  const script = scripts.get(sha);
  if (script === undefined) return undefined;
  const entry = { sha, script };
  recentArgs[recentNext] = arg;
  recentEntries[recentNext] = entry;
  recentNext = (recentNext + 1) % RECENT;
  return entry;
}

export function scriptCount(): number {
  return scripts.size;
}

export function scriptsMemory(): number {
  return scriptsMem + scripts.size * 64;
}

/** SCRIPT FLUSH: a new Lua state; the old one (and every compiled script) goes. */
export function flushScripts(): void {
  scripts.clear();
  byBody.clear();
  recentArgs.length = 0;
  recentEntries.length = 0;
  recentNext = 0;
  scriptsMem = 0;
  const old = engine;
  engine = null;
  old?.vm.close();
}

const FLAG_NAMES: Record<string, keyof ScriptFlags> = {
  'no-writes': 'noWrites',
  'allow-oom': 'allowOom',
  'allow-stale': 'allowStale',
  'no-cluster': 'noCluster',
  'allow-cross-slot-keys': 'allowCrossSlot',
};

/** evalExtractShebangFlags: the flags and the shebang's length, or an error text. */
export function extractShebang(body: string): { flags: ScriptFlags; shebangLen: number } | string {
  if (!body.startsWith('#!')) return { flags: COMPAT_FLAGS, shebangLen: 0 };
  const end = body.indexOf('\n');
  if (end < 0) return 'Invalid script shebang';
  const parts = body.slice(0, end).split(/[ \t\r\v\f]+/).filter(Boolean);
  if (parts.length === 0) return 'Invalid engine in script shebang';
  if (parts[0] !== '#!lua') return `Unexpected engine in script shebang: ${parts[0]}`;
  const flags: ScriptFlags = { ...COMPAT_FLAGS, compat: false };
  for (const p of parts.slice(1)) {
    if (!p.startsWith('flags=')) return `Unknown lua shebang option: ${p}`;
    const list = p.slice(6);
    if (list === '') continue;
    for (const f of list.split(',')) {
      const k = FLAG_NAMES[f];
      if (k === undefined) return `Unexpected flag in script shebang: ${f}`;
      flags[k] = true;
    }
  }
  return { flags, shebangLen: end };
}

/**
 * luaCreateFunction: compiles and caches a body (or finds it cached).
 * Returns the sha, or the error reply text.
 */
export function createScript(body: string): { sha: string; script: CachedScript } | string {
  const known = byBody.get(body);
  if (known !== undefined) return known;
  const sha = sha1hex(body);
  const found = scripts.get(sha);
  if (found !== undefined) {
    // SCRIPT LOAD cached it: remember it by body too.
    const entry = { sha, script: found };
    byBody.set(found.body, entry);
    return entry;
  }
  const sb = extractShebang(body);
  if (typeof sb === 'string') return `ERR ${sb}`;
  const e = evalEngine();
  const vm = e.vm;
  // The shebang line is skipped but its newline kept, so line numbers stay right.
  const err = vm.load(vm.L, sb.shebangLen > 0 ? body.slice(sb.shebangLen) : body, '@user_script');
  if (err !== null) return `ERR Error compiling script (new function): ${lua51SyntaxText(err)}`;
  const script: CachedScript = { body, flags: sb.flags, ref: vm.ref(vm.L) };
  scripts.set(sha, script);
  const entry = { sha, script };
  byBody.set(body, entry);
  scriptsMem += body.length + 40;
  return entry;
}

/** Bytes the EVAL Lua state holds (0 before the first script). */
export function evalVmMemory(): number {
  return engine?.vm.used ?? 0;
}

/** Lua 5.4 writes "near <eof>" where 5.1 (and so Redis) writes "near '<eof>'". */
export function lua51SyntaxText(msg: string): string {
  return msg.replace(/ near <eof>$/, " near '<eof>'");
}
