/**
 * FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL/HELP, FCALL and
 * FCALL_RO, as Redis 7.0's functions.c: replies, error texts and command
 * table entries.
 */
import { argBytes, scriptKeySpec } from '../eval.js';
import { register } from '../../commands/registry.js';
import { cmd, NO_KEYS, type CommandSpec } from '../../commands/spec.js';
import { ReplyError, toSafeInt } from '../../protocol/errors.js';
import type { CommandContext } from '../../server/context.js';
import { feedMonitors } from '../../commands/monitor.js';
import { commandStart } from '../../server/dispatch.js';
import { getBool } from '../../config/params.js';
import { BUSY_EVAL, currentRun, killScript, prepareForRun, type ScriptFlags, type ScriptRun } from '../run-context.js';
import { runScript } from '../runner.js';
import { functionsInfo } from '../info.js';
import { decodeFunctionsPayload, encodeFunctionsPayload, verifyPayload } from './dump-payload.js';
import {
  FLAG_ALLOW_CROSS_SLOT,
  FLAG_ALLOW_OOM,
  FLAG_ALLOW_STALE,
  FLAG_NAMES,
  FLAG_NO_CLUSTER,
  FLAG_NO_WRITES,
  type FunctionInfo,
} from './libraries.js';
import { ENGINE_NAMES, libraries, libraryCodes, luaEngine, luaEngineIfCreated, newLibrarySet, swapLibraries } from './registry.js';

import { LOAD_TIMEOUT_MS } from './lua-engine.js';
import { globMatch } from '../../keyspace/glob.js';
import { memoryGuard } from '../../memory/guard.js';

functionsInfo.functions = () => libraries().functions.size;
functionsInfo.libraries = () => libraries().libraries.size;
functionsInfo.memory = () => libraries().cacheMemory;
functionsInfo.vmMemory = () => luaEngineIfCreated()?.memory() ?? 0;

function syntaxError(args: string[]): ReplyError {
  return new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${args[1]!.slice(0, 128)}'. Try ${args[0]!.toUpperCase()} HELP.`);
}

function functionLoad(ctx: CommandContext, args: string[]): void {
  let replace = false;
  let i = 2;
  while (i < args.length - 1) {
    const a = args[i++]!;
    if (a.toLowerCase() === 'replace') {
      replace = true;
      continue;
    }
    throw new ReplyError(`ERR Unknown option given: ${a}`);
  }
  if (i >= args.length) throw new ReplyError('ERR Function code is missing');
  const res = libraries().create(args[i]!, replace, LOAD_TIMEOUT_MS);
  if (typeof res !== 'string') throw new ReplyError(`ERR ${res.error}`);
  ctx.ks.dirty++;
  ctx.r.bulk(res);
}

function replyFlags(ctx: CommandContext, fi: FunctionInfo): void {
  const names = FLAG_NAMES.filter((_, i) => (fi.flags & (1 << i)) !== 0);
  ctx.r.set(names.length);
  for (const n of names) ctx.r.simple(n);
}

function functionList(ctx: CommandContext, args: string[]): void {
  let withCode = false;
  let pattern: string | null = null;
  for (let i = 2; i < args.length; i++) {
    const a = args[i]!;
    const l = a.toLowerCase();
    if (!withCode && l === 'withcode') {
      withCode = true;
      continue;
    }
    if (pattern === null && l === 'libraryname') {
      if (i >= args.length - 1) throw new ReplyError('ERR library name argument was not given');
      pattern = args[++i]!;
      continue;
    }
    throw new ReplyError(`ERR Unknown argument ${a}`);
  }
  const libs = [...libraries().libraries.values()].filter((li) => pattern === null || globMatch(pattern, li.name, true));
  const r = ctx.r;
  r.array(libs.length);
  for (const li of libs) {
    r.map(withCode ? 4 : 3);
    r.bulk('library_name');
    r.bulk(li.name);
    r.bulk('engine');
    r.bulk(li.engine);
    r.bulk('functions');
    r.array(li.functions.size);
    for (const fi of li.functions.values()) {
      r.map(3);
      r.bulk('name');
      r.bulk(fi.name);
      r.bulk('description');
      r.bulkOrNull(fi.desc);
      r.bulk('flags');
      replyFlags(ctx, fi);
    }
    if (withCode) {
      r.bulk('library_code');
      r.bulk(li.code);
    }
  }
}

function functionDelete(ctx: CommandContext, args: string[]): void {
  const set = libraries();
  const li = set.libraries.get(args[2]!);
  if (li === undefined) throw new ReplyError('ERR Library not found');
  set.unlink(li);
  for (const fi of li.functions.values()) luaEngine().free(fi);
  ctx.ks.dirty++;
  ctx.r.ok();
}

function functionFlush(ctx: CommandContext, args: string[]): void {
  if (args.length > 3) throw syntaxError(args);
  const mode = args.length === 3 ? args[2]!.toLowerCase() : null;
  if (mode !== null && mode !== 'sync' && mode !== 'async') throw new ReplyError('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  // ASYNC and SYNC end alike: the callbacks are registry refs in the shared
  // Lua state, released at once; nothing is left to free in the background.
  void (mode ?? (getBool('lazyfree-lazy-user-flush') ? 'async' : 'sync'));
  libraries().clear();
  ctx.ks.dirty++;
  ctx.r.ok();
}

function functionDump(ctx: CommandContext): void {
  ctx.r.bulk(encodeFunctionsPayload(libraryCodes()).toString('latin1'));
}

function functionRestore(ctx: CommandContext, args: string[]): void {
  if (args.length > 4) throw syntaxError(args);
  let policy: 'append' | 'replace' | 'flush' = 'append';
  if (args.length === 4) {
    const p = args[3]!.toLowerCase();
    if (p !== 'append' && p !== 'replace' && p !== 'flush') throw new ReplyError('ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.');
    policy = p;
  }
  const payload = Buffer.from(args[2]!, 'latin1');
  if (!verifyPayload(payload)) throw new ReplyError('ERR DUMP payload version or checksum are wrong');
  const codes = decodeFunctionsPayload(payload);
  if (!Array.isArray(codes)) throw new ReplyError(`ERR ${codes.error}`);
  const staged = newLibrarySet();
  for (const code of codes) {
    // rdbFunctionLoad: no timeout, and a duplicate library in the payload is an error.
    const res = staged.create(code, false, 0);
    if (typeof res !== 'string') {
      staged.clear();
      throw new ReplyError(`ERR ${res.error}`);
    }
  }
  if (policy === 'flush') {
    swapLibraries(staged);
  } else {
    const err = libraries().join(staged, policy === 'replace');
    if (err !== null) {
      staged.clear();
      throw new ReplyError(`ERR ${err.error}`);
    }
  }
  ctx.ks.dirty++;
  ctx.r.ok();
}

/** The FCALL being run now and its arguments (FUNCTION STATS shows them). */
let running: { run: ScriptRun; args: string[] } | null = null;

function functionStats(ctx: CommandContext): void {
  const cur = currentRun();
  if (cur !== null && cur.evalMode) throw new ReplyError(BUSY_EVAL);
  const r = ctx.r;
  r.map(2);
  r.bulk('running_script');
  if (cur === null || running === null || running.run !== cur) {
    r.null();
  } else {
    r.map(3);
    r.bulk('name');
    r.bulk(cur.funcName);
    r.bulk('command');
    r.bulks(running.args);
    r.bulk('duration_ms');
    r.int(Math.floor(performance.now() - cur.startTime));
  }
  r.bulk('engines');
  r.map(ENGINE_NAMES.length);
  for (const name of ENGINE_NAMES) {
    const s = libraries().stats(name);
    r.bulk(name);
    r.map(2);
    r.bulk('libraries_count');
    r.int(s.libraries);
    r.bulk('functions_count');
    r.int(s.functions);
  }
}

const FUNCTION_HELP = [
  'FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'LOAD [REPLACE] <FUNCTION CODE>',
  '    Create a new library with the given library name and code.',
  'DELETE <LIBRARY NAME>',
  '    Delete the given library.',
  'LIST [LIBRARYNAME PATTERN] [WITHCODE]',
  '    Return general information on all the libraries:',
  '    * Library name',
  '    * The engine used to run the Library',
  '    * Library description',
  '    * Functions list',
  '    * Library code (if WITHCODE is given)',
  '    It also possible to get only function that matches a pattern using LIBRARYNAME argument.',
  'STATS',
  '    Return information about the current function running:',
  '    * Function name',
  '    * Command used to run the function',
  '    * Duration in MS that the function is running',
  '    If no function is running, return nil',
  '    In addition, returns a list of available engines.',
  'KILL',
  '    Kill the current running function.',
  'FLUSH [ASYNC|SYNC]',
  '    Delete all the libraries.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the libraries.',
  '    * SYNC: Synchronously flush the libraries.',
  'DUMP',
  '    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command',
  'RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]',
  '    Restore the libraries represented by the given payload, it is possible to give a restore policy to',
  '    control how to handle existing libraries (default APPEND):',
  '    * FLUSH: delete all existing libraries.',
  '    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.',
  '    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old',
  '      libraries with the new libraries (notice that even on this option there is a chance of failure',
  '      in case of functions name collision with another library).',
  'HELP',
  '    Prints this help.',
];

function toScriptFlags(f: number): ScriptFlags {
  return {
    compat: false,
    noWrites: (f & FLAG_NO_WRITES) !== 0,
    allowOom: (f & FLAG_ALLOW_OOM) !== 0,
    allowStale: (f & FLAG_ALLOW_STALE) !== 0,
    noCluster: (f & FLAG_NO_CLUSTER) !== 0,
    allowCrossSlot: (f & FLAG_ALLOW_CROSS_SLOT) !== 0,
  };
}

/** What FCALL of a function that may write counts as for the memory guard. */
const DENYOOM_WRITE = { name: 'fcall', flags: ['write', 'denyoom'], pre: { denyOom: true } } as unknown as CommandSpec;

/** getLongLongFromObject: a canonical signed 64-bit integer, clamped to ±Infinity past 2^53. */
function parseNumkeys(s: string): number | null {
  const n = toSafeInt(s);
  if (n !== null) return n;
  if (!/^-?[1-9][0-9]*$/.test(s) || s.length > 20) return null;
  const b = BigInt(s);
  if (b < -(2n ** 63n) || b >= 2n ** 63n) return null;
  return b < 0n ? -Infinity : Infinity;
}

function fcall(ctx: CommandContext, args: string[], spec: CommandSpec, ro: boolean): void {
  // Fed before the commands the function runs, as fcallCommandGeneric does.
  feedMonitors(ctx, spec, args);
  const fi = libraries().getFunction(args[1]!);
  if (fi === undefined) throw new ReplyError('ERR Function not found');
  // Redis's processCommand sees FCALL with the function's flags
  // (fcallGetCommandFlags): one that may write is a denyoom write command,
  // refused with the generic -OOM / -MISCONF before it runs.
  if ((fi.flags & FLAG_NO_WRITES) === 0) {
    if ((fi.flags & FLAG_ALLOW_OOM) === 0 && !ctx.server.loading) {
      const oom = memoryGuard(ctx.ks, ctx.client, DENYOOM_WRITE);
      if (oom !== null) throw new ReplyError(oom);
    }
    if (ctx.server.writesDenied !== null) throw new ReplyError(ctx.server.writesDenied);
  }
  const numkeys = parseNumkeys(args[2]!);
  if (numkeys === null) throw new ReplyError('ERR Bad number of keys provided');
  if (numkeys > args.length - 3) throw new ReplyError("ERR Number of keys can't be greater than number of args");
  if (numkeys < 0) throw new ReplyError("ERR Number of keys can't be negative");
  const engine = luaEngine().engine;
  // The function is compiled already: its run starts when the command did (a clock read less).
  const run = prepareForRun(ctx, fi.name, toScriptFlags(fi.flags), ro, false, commandStart());
  if (run === null) return;
  running = { run, args };
  const handle = fi.handle;
  runScript(engine, run, (vm, co) => {
    vm.pushRef(co, handle);
    vm.newTable(co, numkeys, 0);
    for (let i = 0; i < numkeys; i++) {
      vm.pushString(co, args[3 + i]!);
      vm.rawSetI(co, -2, i + 1);
    }
    vm.newTable(co, args.length - 3 - numkeys, 0);
    for (let i = 3 + numkeys; i < args.length; i++) {
      vm.pushString(co, args[i]!);
      vm.rawSetI(co, -2, i - 2 - numkeys);
    }
    return 2;
  }, argBytes(args));
}

/** FCALL's key positions (functionGetKeys: numkeys at index 2, keys after it). */
export function fcallKeys(args: string[]): number[] {
  const n = toSafeInt(args[2] ?? '');
  if (n === null || n < 1 || n > args.length - 3) return [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(3 + i);
  return out;
}

const G = { group: 'scripting', since: '7.0.0' };
const fcallArgs = [
  { name: 'function', type: 'string' as const },
  { name: 'numkeys', type: 'integer' as const },
  { name: 'key', type: 'key' as const, optional: true, multiple: true },
  { name: 'arg', type: 'string' as const, optional: true, multiple: true },
];

const fcallSpec: CommandSpec = cmd(
  'fcall',
  -3,
  'noscript skip_monitor may_replicate no_mandatory_keys stale',
  NO_KEYS,
  'slow scripting',
  { ...G, summary: 'Invoke a function', complexity: 'Depends on the function that is executed.', args: fcallArgs, getKeys: fcallKeys, keySpec: scriptKeySpec(false, 'RW and UPDATE') },
  (ctx, args) => fcall(ctx, args, fcallSpec, false),
);
// fcallGetCommandFlags: a no-writes function does not write; an unknown one is answered by FCALL's own flags.
fcallSpec.mayWrite = (args) => {
  const fi = libraries().getFunction(args[1]);
  return fi === undefined || (fi.flags & FLAG_NO_WRITES) === 0;
};
const fcallRoSpec: CommandSpec = cmd(
  'fcall_ro',
  -3,
  'noscript skip_monitor no_mandatory_keys stale readonly',
  NO_KEYS,
  'slow scripting',
  { ...G, summary: 'Invoke a read-only function', complexity: 'Depends on the function that is executed.', args: fcallArgs, getKeys: fcallKeys, keySpec: scriptKeySpec(true, 'RO and ACCESS') },
  (ctx, args) => fcall(ctx, args, fcallRoSpec, true),
);

register(fcallSpec, fcallRoSpec, {
  ...cmd('function', -2, '', NO_KEYS, 'slow', { ...G, summary: 'A container for function commands', complexity: 'Depends on subcommand.' }),
  subcommands: [
    cmd('function|delete', 3, 'noscript write', NO_KEYS, 'write slow scripting', { ...G, summary: 'Delete a function by name', complexity: 'O(1)', args: [{ name: 'library-name', type: 'string' }], tips: ['request_policy:all_shards', 'response_policy:all_succeeded'] }, functionDelete),
    cmd('function|dump', 2, 'noscript', NO_KEYS, 'slow scripting', { ...G, summary: 'Dump all functions into a serialized binary payload', complexity: 'O(N) where N is the number of functions' }, functionDump),
    cmd(
      'function|flush',
      -2,
      'noscript write',
      NO_KEYS,
      'write slow scripting',
      {
        ...G,
        summary: 'Deleting all functions',
        complexity: 'O(N) where N is the number of functions deleted', tips: ['request_policy:all_shards', 'response_policy:all_succeeded'], args: [{ name: 'async', type: 'oneof', optional: true, arguments: [{ name: 'async', type: 'pure-token', token: 'ASYNC' }, { name: 'sync', type: 'pure-token', token: 'SYNC' }] }],
      },
      functionFlush,
    ),
    cmd('function|help', 2, 'loading stale', NO_KEYS, 'slow scripting', { ...G, summary: 'Show helpful text about the different subcommands', complexity: 'O(1)' }, (ctx) => {
      ctx.r.array(FUNCTION_HELP.length);
      for (const l of FUNCTION_HELP) ctx.r.simple(l);
    }),
    cmd('function|kill', 2, 'noscript allow_busy', NO_KEYS, 'slow scripting', { ...G, summary: 'Kill the function currently in execution.', complexity: 'O(1)', tips: ['request_policy:all_shards', 'response_policy:one_succeeded'] }, (ctx) => killScript(ctx, false)),
    cmd(
      'function|list',
      -2,
      'noscript',
      NO_KEYS,
      'slow scripting',
      {
        ...G,
        summary: 'List information about all the functions',
        complexity: 'O(N) where N is the number of functions',
        args: [
          { name: 'library-name-pattern', type: 'string', token: 'LIBRARYNAME', optional: true },
          { name: 'withcode', type: 'pure-token', token: 'WITHCODE', optional: true },
        ], tips: ['nondeterministic_output_order'],
      },
      functionList,
    ),
    cmd(
      'function|load',
      -3,
      'noscript write denyoom',
      NO_KEYS,
      'write slow scripting',
      {
        ...G,
        summary: 'Create a function with the given arguments (name, code, description)',
        complexity: 'O(1) (considering compilation time is redundant)',
        args: [
          { name: 'replace', type: 'pure-token', token: 'REPLACE', optional: true },
          { name: 'function-code', type: 'string' },
        ], tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      },
      functionLoad,
    ),
    cmd(
      'function|restore',
      -3,
      'noscript write denyoom',
      NO_KEYS,
      'write slow scripting',
      {
        ...G,
        summary: 'Restore all the functions on the given payload',
        complexity: 'O(N) where N is the number of functions on the payload',
        args: [
          { name: 'serialized-value', type: 'string' },
          {
            name: 'policy',
            type: 'oneof',
            optional: true,
            arguments: [
              { name: 'flush', type: 'pure-token', token: 'FLUSH' },
              { name: 'append', type: 'pure-token', token: 'APPEND' },
              { name: 'replace', type: 'pure-token', token: 'REPLACE' },
            ],
          },
        ], tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      },
      functionRestore,
    ),
    cmd('function|stats', 2, 'noscript allow_busy', NO_KEYS, 'slow scripting', { ...G, summary: 'Return information about the function currently running (name, description, duration)', complexity: 'O(1)', tips: ['nondeterministic_output', 'request_policy:all_shards', 'response_policy:special'] }, functionStats),
  ],
});
