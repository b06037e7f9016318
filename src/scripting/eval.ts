/**
 * EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, as Redis 7.0's eval.c.
 */
import { register } from '../commands/registry.js';
import { cmd, NO_KEYS, type CommandSpec, type KeySpecDoc } from '../commands/spec.js';
import { ReplyError, toSafeInt } from '../protocol/errors.js';
import type { CommandContext } from '../server/context.js';
import { performance } from 'node:perf_hooks';
import { feedMonitors } from '../commands/monitor.js';
import { commandStart } from '../server/dispatch.js';
import { getBool } from '../config/params.js';
import { cachedScript, scriptBySha, createScript, evalEngine, extractShebang, flushScripts, type CachedScript } from './script-cache.js';
import { killScript, prepareForRun } from './run-context.js';
import { runScript } from './runner.js';
import { newReusedArray, type LuaState, type LuaVm, type ReusedArray } from './vm/lua-vm.js';
import './params.js';

const NOSCRIPT = 'NOSCRIPT No matching script. Please use EVAL.';

/** numkeys as eval.c checks it (getLongLongFromObjectOrReply, then the bounds). */
export function parseNumkeys(args: string[], at: number): number {
  const s = args[at]!;
  // One digit (nearly every call) needs no parsing.
  const c = s.length === 1 ? s.charCodeAt(0) - 48 : -1;
  const n = (c >= 0 && c <= 9 ? c : null) ?? toSafeInt(s) ?? (/^-?[1-9][0-9]*$/.test(s) && s.length <= 20 && BigInt(s) >= -(2n ** 63n) && BigInt(s) < 2n ** 63n ? (s.startsWith('-') ? -Infinity : Infinity) : null);
  if (n === null) throw new ReplyError('ERR value is not an integer or out of range');
  if (n > args.length - at - 1) throw new ReplyError("ERR Number of keys can't be greater than number of args");
  if (n < 0) throw new ReplyError("ERR Number of keys can't be negative");
  return n;
}

/** EVAL's key positions (COMMAND GETKEYS, and what a cluster client computes). */
export function evalKeys(args: string[]): number[] {
  const n = toSafeInt(args[2] ?? '');
  if (n === null || n < 1) return [];
  const out: number[] = [];
  for (let i = 0; i < n && 3 + i < args.length; i++) out.push(3 + i);
  return out;
}


/** Roughly what the keys and arguments of EVAL/FCALL take on the Lua heap. */
export function argBytes(args: string[]): number {
  let n = 0;
  for (let i = 3; i < args.length; i++) n += args[i]!.length + 16;
  return n;
}

/** The names KEYS and ARGV in the Lua module's memory (0: not made yet): set on every run without a Map lookup. */
let keysName = 0;
let argvName = 0;

/** KEYS and ARGV of up to this many elements reuse a table kept per length. */
const REUSED_MAX = 32;

/**
 * KEYS or ARGV: a table of args[from..to), the one kept for this length
 * when there is one. A script cannot keep its KEYS past its run (every
 * table it could store it in is read-only), so no run sees another's.
 */
function pushArgs(vm: LuaVm, co: LuaState, kept: ReusedArray[], args: string[], from: number, to: number): void {
  const n = to - from;
  if (n > REUSED_MAX) return vm.pushStringArray(co, args, from, to);
  vm.pushStringArrayInto(co, (kept[n] ??= newReusedArray()), args, from, to);
}

function evalGeneric(ctx: CommandContext, args: string[], spec: CommandSpec, evalsha: boolean, ro: boolean): void {
  // Fed here, before the script's own commands, as eval.c does.
  feedMonitors(ctx, spec, args);
  if (evalsha && args[1]!.length !== 40) throw new ReplyError(NOSCRIPT);
  const numkeys = parseNumkeys(args, 2);
  let sha: string;
  let script: CachedScript | undefined;
  if (evalsha) {
    const found = scriptBySha(args[1]!);
    if (found === undefined) throw new ReplyError(NOSCRIPT);
    sha = found.sha;
    script = found.script;
  } else {
    const created = createScript(args[1]!);
    if (typeof created === 'string') throw new ReplyError(created);
    sha = created.sha;
    script = created.script;
  }
  const engine = evalEngine();
  // EVALSHA ran no compiler before this: its run starts when the command did (a clock read less).
  const run = prepareForRun(ctx, sha, script.flags, ro, true, evalsha ? commandStart() : performance.now());
  if (run === null) return;
  const ref = script.ref;
  runScript(engine, run, (vm, co) => {
    // KEYS and ARGV go straight into the globals' backing table (one lookup
    // of it for both). Its metatable has no __newindex, so setField (names
    // interned as C strings) sets them raw.
    keysName ||= vm.fieldName('KEYS');
    argvName ||= vm.fieldName('ARGV');
    const mid = 3 + numkeys;
    const kept = numkeys <= REUSED_MAX && args.length - mid <= REUSED_MAX;
    if (!kept || !vm.setKeysArgv(co, engine.env.backingRef, (engine.keysTables[numkeys] ??= newReusedArray()), (engine.argvTables[args.length - mid] ??= newReusedArray()), args, 3, mid, args.length, keysName, argvName)) {
      vm.pushRef(co, engine.env.backingRef);
      pushArgs(vm, co, engine.keysTables, args, 3, mid);
      vm.setFieldAt(co, -2, keysName);
      pushArgs(vm, co, engine.argvTables, args, mid, args.length);
      vm.setFieldAt(co, -2, argvName);
      vm.pop(co);
    }
    vm.pushRef(co, ref);
    return 0;
  }, argBytes(args));
}

const SCRIPT_HELP = [
  'SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DEBUG (YES|SYNC|NO)',
  '    Set the debug mode for subsequent scripts executed.',
  'EXISTS <sha1> [<sha1> ...]',
  '    Return information about the existence of the scripts in the script cache.',
  'FLUSH [ASYNC|SYNC]',
  '    Flush the Lua scripts cache. Very dangerous on replicas.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the scripts cache.',
  '    * SYNC: Synchronously flush the scripts cache.',
  'KILL',
  '    Kill the currently executing Lua script.',
  'LOAD <script>',
  '    Load a script into the scripts cache without executing it.',
  'HELP',
  '    Prints this help.',
];

const G = { group: 'scripting', complexity: 'Depends on the script that is executed.' };
const evalArgs = (first: string) => [
  { name: first, type: 'string' as const },
  { name: 'numkeys', type: 'integer' as const },
  { name: 'key', type: 'key' as const, optional: true, multiple: true },
  { name: 'arg', type: 'string' as const, optional: true, multiple: true },
];

function evalSpec(name: string, flags: string, summary: string, since: string, evalsha: boolean, ro: boolean): CommandSpec {
  const keySpec = scriptKeySpec(ro, evalsha ? null : ro ? 'RO and ACCESS' : 'RW and UPDATE');
  const spec: CommandSpec = cmd(name, -3, flags, NO_KEYS, 'slow scripting', { ...G, summary, since, args: evalArgs(evalsha ? 'sha1' : 'script'), getKeys: evalKeys, keySpec }, (ctx, args) =>
    evalGeneric(ctx, args, spec, evalsha, ro),
  );
  if (!ro) spec.mayWrite = (args) => scriptMayWrite(args[1], evalsha);
  return spec;
}

/**
 * Redis's key spec for EVAL/FCALL and their variants: numkeys at argument
 * 2, then that many keys; nothing is known of their use, so the worst is
 * assumed (EVALSHA* carry no note in Redis's table).
 */
export function scriptKeySpec(ro: boolean, worst: string | null): KeySpecDoc {
  return {
    flags: ro ? ['RO', 'access'] : ['RW', 'access', 'update'],
    ...(worst === null ? {} : { notes: `We cannot tell how the keys will be used so we assume the worst, ${worst}` }),
    begin: { index: 2 },
    find: { keynumidx: 0, firstkey: 1, keystep: 1 },
  };
}

/**
 * evalGetCommandFlags: a script declared `no-writes` by its shebang does
 * not write; one without a shebang, or not in the cache yet for EVALSHA,
 * may (EVAL's own may_replicate flag).
 */
function scriptMayWrite(bodyOrSha: string, evalsha: boolean): boolean {
  const flags = evalsha ? cachedScript(bodyOrSha.toLowerCase())?.flags : shebangFlags(bodyOrSha);
  return flags === undefined || flags.compat || !flags.noWrites;
}

function shebangFlags(body: string) {
  const sb = extractShebang(body);
  return typeof sb === 'string' ? undefined : sb.flags;
}

const S = { group: 'scripting' };

register(
  evalSpec('eval', 'noscript skip_monitor may_replicate no_mandatory_keys stale', 'Execute a Lua script server side', '2.6.0', false, false),
  evalSpec('evalsha', 'noscript skip_monitor may_replicate no_mandatory_keys stale', 'Execute a Lua script server side', '2.6.0', true, false),
  evalSpec('eval_ro', 'noscript skip_monitor no_mandatory_keys stale readonly', 'Execute a read-only Lua script server side', '7.0.0', false, true),
  evalSpec('evalsha_ro', 'noscript skip_monitor no_mandatory_keys stale readonly', 'Execute a read-only Lua script server side', '7.0.0', true, true),
  {
    ...cmd('script', -2, '', NO_KEYS, 'slow', { ...S, summary: 'A container for Lua scripts management commands', since: '2.6.0', complexity: 'Depends on subcommand.' }),
    subcommands: [
      cmd('script|load', 3, 'noscript stale', NO_KEYS, 'slow scripting', { ...S, summary: 'Load the specified Lua script into the script cache.', since: '2.6.0', args: [{ name: 'script', type: 'string' }], tips: ['request_policy:all_nodes', 'response_policy:all_succeeded'], complexity: 'O(N) with N being the length in bytes of the script body.' }, (ctx, args) => {
        const created = createScript(args[2]!);
        if (typeof created === 'string') throw new ReplyError(created);
        ctx.r.bulk(created.sha);
      }),
      cmd('script|exists', -3, 'noscript', NO_KEYS, 'slow scripting', { ...S, summary: 'Check existence of scripts in the script cache.', since: '2.6.0', args: [{ name: 'sha1', type: 'string', multiple: true }], tips: ['request_policy:all_shards', 'response_policy:agg_logical_and'], complexity: 'O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).' }, (ctx, args) => {
        ctx.r.array(args.length - 2);
        for (let i = 2; i < args.length; i++) ctx.r.int(cachedScript(args[i]!.toLowerCase()) !== undefined ? 1 : 0);
      }),
      cmd('script|flush', -2, 'noscript', NO_KEYS, 'slow scripting', { ...S, summary: 'Remove all the scripts from the script cache.', since: '2.6.0', tips: ['request_policy:all_nodes', 'response_policy:all_succeeded'], complexity: 'O(N) with N being the number of scripts in cache', history: [['6.2.0', 'Added the `ASYNC` and `SYNC` flushing mode modifiers.']] }, (ctx, args) => {
        const mode = args.length === 3 ? args[2]!.toLowerCase() : null;
        if (args.length > 3 || (mode !== null && mode !== 'sync' && mode !== 'async')) throw new ReplyError('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
        // ASYNC and SYNC end alike: the old Lua state is dropped at once and its
        // memory goes back to the WASM heap; there is nothing left to free later.
        void (mode ?? (getBool('lazyfree-lazy-user-flush') ? 'async' : 'sync'));
        flushScripts();
        ctx.r.ok();
      }),
      cmd('script|kill', 2, 'noscript allow_busy', NO_KEYS, 'slow scripting', { ...S, summary: 'Kill the script currently in execution.', since: '2.6.0', tips: ['request_policy:all_shards', 'response_policy:one_succeeded'], complexity: 'O(1)' }, (ctx) => killScript(ctx, true)),
      cmd('script|help', 2, 'loading stale', NO_KEYS, 'slow scripting', { ...S, summary: 'Show helpful text about the different subcommands', since: '5.0.0', complexity: 'O(1)' }, (ctx) => {
        ctx.r.array(SCRIPT_HELP.length);
        for (const l of SCRIPT_HELP) ctx.r.simple(l);
      }),
      cmd('script|debug', 3, 'noscript', NO_KEYS, 'slow scripting', { ...S, summary: 'Set the debug mode for executed scripts.', since: '3.2.0', complexity: 'O(1)' }, (_ctx, args) => {
        const m = args[2]!.toLowerCase();
        if (m !== 'yes' && m !== 'sync' && m !== 'no') throw new ReplyError('ERR Use SCRIPT DEBUG YES/SYNC/NO');
        if (m === 'no') return _ctx.r.ok();
        throw new ReplyError('ERR SCRIPT DEBUG (the Lua debugger) is not supported by this server');
      }),
    ],
  },
);
