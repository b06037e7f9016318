/**
 * The `redis` table scripts call (script_lua.c's luaRegisterRedisAPI and
 * eval.c's debug helpers), Redis's math.random, and the Lua 5.1 tostring.
 * Texts of every error are Redis 7.0's.
 */
import { createHash } from 'node:crypto';
import { LuaType, type LuaState, type LuaVm } from './vm/lua-vm.js';
import { formatG } from './vm/number-format.js';
import { currentRun, scriptCall } from './run-context.js';
import { pushErrorTable, pushRespAsLua } from './conversions.js';
import { VERSION } from '../version.js';
import { getString } from '../config/params.js';
import { log } from '../log.js';
import { HELD_ARRAY, HELD_BULK, HELD_INT, HELD_NULL, HELD_PAIR, type ScriptReply } from './script-reply.js';
import { lookup, lookupSub } from '../commands/registry.js';
import { ACL_OK, checkCommand } from '../acl/check.js';

/** Raises {err=...} built from an error text, as luaPushError + luaError do. */
function raiseError(vm: LuaVm, L: LuaState, text: string): never {
  pushErrorTable(vm, L, text);
  return vm.raiseValue(L);
}

let lastNumber = NaN;
let lastNumberText = '';

/** luaArgsToRedisArgv: numbers as %.17g, strings byte-exact, anything else refused. */
function argsOf(vm: LuaVm, L: LuaState): string[] | string {
  const args = vm.readArgs(L);
  const argc = args.length;
  if (argc === 0) return 'Please specify at least one argument for this redis lib call';
  if (vm.argOthers === 0) return args as string[];
  for (let i = 1; i <= argc; i++) {
    if (args[i - 1] !== undefined) continue;
    if (vm.argType(L, i) !== LuaType.NUMBER) return 'Lua redis lib command arguments must be strings or integers';
    const d = vm.argNumber(L, i);
    // A script passes the same number again and again (BullMQ's timestamp),
    // and String() of one past V8's small integers misses its number cache.
    if (d === lastNumber && d !== 0) {
      args[i - 1] = lastNumberText;
      continue;
    }
    // An integral value within 2^53 prints the same as %.17g prints it, Lua
    // integer or float (5.1 has only doubles); -0 is "-0" there. Past 2^53 an
    // integer goes through a double, as Redis's 5.1 numbers always do.
    const exact = Number.isInteger(d) && d >= -9007199254740992 && d <= 9007199254740992 && !Object.is(d, -0);
    const text = exact ? String(d) : formatG(d, 17);
    if (exact) {
      lastNumber = d;
      lastNumberText = text;
    }
    args[i - 1] = text;
  }
  return args as string[];
}

let inUse = false;

function genericCommand(vm: LuaVm, L: LuaState, raise: boolean): number {
  const run = currentRun();
  if (run === null) return raiseError(vm, L, 'redis.call/pcall can only be called inside a script invocation');
  const args = argsOf(vm, L);
  // The arguments stay below what is pushed next: a C function returns the
  // values on top, and the reply and error pushes use relative indexes.
  if (typeof args === 'string') {
    pushErrorTable(vm, L, args);
    return raise ? vm.raiseValue(L) : 1;
  }
  if (inUse) {
    const w = 'luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?';
    log.warn(w);
    pushErrorTable(vm, L, w);
    return 1;
  }
  inUse = true;
  let out: ScriptReply | string;
  try {
    out = scriptCall(run, args);
  } finally {
    inUse = false;
  }
  if (typeof out === 'string') {
    pushErrorTable(vm, L, out, true);
    return raise ? vm.raiseValue(L) : 1;
  }
  // A single scalar reply was held as a value (script-reply.ts): no RESP to parse.
  if (out.heldWhole) {
    pushHeld(vm, L, out);
    return 1;
  }
  const bytes = out.pendingSlab;
  const start = out.pendingStart;
  pushRespAsLua(vm, L, bytes, start, false);
  if (raise && bytes[start] === 45 /* - */) return vm.raiseValue(L);
  return 1;
}

/**
 * Pushes a held reply as pushRespAsLua pushes the RESP it stands for (never
 * an error). What is held is read first: a Lua allocation may run a __gc
 * finalizer, which may call redis.call and so reuse the reply.
 */
function pushHeld(vm: LuaVm, L: LuaState, r: ScriptReply): void {
  const str = r.heldStr;
  switch (r.heldKind) {
    case HELD_BULK:
      vm.pushString(L, str);
      break;
    case HELD_INT:
      vm.pushInteger(L, r.heldInt);
      break;
    case HELD_NULL:
      // `_` (RESP3) is nil, `$-1` (RESP2) false.
      if (r.proto === 3) vm.pushNil(L);
      else vm.pushBoolean(L, false);
      break;
    case HELD_ARRAY:
      vm.pushStringsOrFalse(L, r.heldItems);
      break;
    case HELD_PAIR:
      vm.pushIntPair(L, r.heldInt as number, r.heldSep, r.heldInt2);
      break;
    default:
      vm.newTable(L, 0, 1);
      vm.pushString(L, str);
      vm.setField(L, -2, 'ok');
  }
}

function redisCall(vm: LuaVm, L: LuaState): number {
  return genericCommand(vm, L, true);
}
function redisPcall(vm: LuaVm, L: LuaState): number {
  return genericCommand(vm, L, false);
}

function sha1hex(vm: LuaVm, L: LuaState): number {
  if (vm.getTop(L) !== 1) return raiseError(vm, L, 'wrong number of arguments');
  const s = vm.coerceLatin1(L, 1) ?? '';
  vm.pushString(L, createHash('sha1').update(s, 'latin1').digest('hex'));
  return 1;
}

function errorReply(vm: LuaVm, L: LuaState): number {
  if (vm.getTop(L) !== 1 || vm.type(L, -1) !== LuaType.STRING) {
    pushErrorTable(vm, L, 'wrong number or type of arguments');
    return 1;
  }
  const s = vm.toLatin1(L, -1)!;
  pushErrorTable(vm, L, s.startsWith('-') ? s : '-' + s);
  return 1;
}

function statusReply(vm: LuaVm, L: LuaState): number {
  if (vm.getTop(L) !== 1 || vm.type(L, -1) !== LuaType.STRING) {
    pushErrorTable(vm, L, 'wrong number or type of arguments');
    return 1;
  }
  vm.newTable(L, 0, 1);
  vm.pushValue(L, -2);
  vm.setField(L, -2, 'ok'); // a new table: no metatable, so as a raw set
  return 1;
}

function setRepl(vm: LuaVm, L: LuaState): number {
  const run = currentRun();
  if (run === null) return raiseError(vm, L, 'redis.set_repl can only be called inside a script invocation');
  if (vm.getTop(L) !== 1) return raiseError(vm, L, 'redis.set_repl() requires two arguments.');
  const flags = Math.trunc(vm.toNumber(L, -1) ?? 0);
  if ((flags & ~3) !== 0) return raiseError(vm, L, 'Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.');
  run.replFlags = flags;
  return 0;
}

function replicateCommands(vm: LuaVm, L: LuaState): number {
  vm.pushBoolean(L, true);
  return 1;
}

/** SCRIPT DEBUG is not supported, so these are the no-ops Redis makes them outside a debugging session. */
function breakpoint(vm: LuaVm, L: LuaState): number {
  vm.pushBoolean(L, false);
  return 1;
}
function debugLog(): number {
  return 0;
}

/** Whether the script's caller may run this command with these arguments (ACLCheckAllUserCommandPerm), without running it. */
function aclCheckCmd(vm: LuaVm, L: LuaState): number {
  const run = currentRun();
  if (run === null) return raiseError(vm, L, 'redis.acl_check_cmd can only be called inside a script invocation');
  const args = argsOf(vm, L);
  if (typeof args === 'string') return raiseError(vm, L, args);
  // lookupCommand: a container with an argument after it names its subcommand.
  let spec = lookup(args[0]!);
  if (spec?.subcommands !== undefined && args.length >= 2) spec = lookupSub(spec, args[1]!);
  if (spec === undefined) return raiseError(vm, L, 'Invalid command passed to redis.acl_check_cmd()');
  vm.pushBoolean(L, checkCommand(run.caller.user, spec, args).res === ACL_OK);
  return 1;
}

const VERBOSITY: Record<string, number> = { debug: 0, verbose: 1, notice: 2, warning: 3, info: 2, error: 3 };

function redisLog(vm: LuaVm, L: LuaState): number {
  const argc = vm.getTop(L);
  if (argc < 2) return raiseError(vm, L, 'redis.log() requires two arguments or more.');
  if (!vm.isNumber(L, 1)) return raiseError(vm, L, 'First argument must be a number (log level).');
  const level = Math.trunc(vm.toNumber(L, 1)!);
  if (level < 0 || level > 3) return raiseError(vm, L, 'Invalid debug level.');
  if (level < (VERBOSITY[getString('loglevel')] ?? 2)) return 0;
  const parts: string[] = [];
  for (let i = 2; i <= argc; i++) {
    const s = vm.type(L, i) === LuaType.NUMBER ? lua51ToString(vm, L, i) : vm.coerceLatin1(L, i);
    if (s !== null) parts.push(s);
  }
  const msg = parts.join(' ');
  if (level === 3) log.warn({ script: true }, msg);
  else if (level === 2) log.info({ script: true }, msg);
  else log.debug({ script: true }, msg);
  return 0;
}

function setResp(vm: LuaVm, L: LuaState): number {
  const run = currentRun();
  if (run === null) return raiseError(vm, L, 'redis.setresp can only be called inside a script invocation');
  if (vm.getTop(L) !== 1) return raiseError(vm, L, 'redis.setresp() requires one argument.');
  const resp = Math.trunc(vm.toNumber(L, 1) ?? 0);
  if (resp !== 2 && resp !== 3) return raiseError(vm, L, 'RESP version must be 2 or 3.');
  run.client.proto = resp;
  return 0;
}

const REDIS_VERSION = VERSION.redis;
/** 0x00MMmmpp, as Redis's REDIS_VERSION_NUM. */
const REDIS_VERSION_NUM = REDIS_VERSION.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);

// ---- math.random: Redis's redisLrand48, identical on every platform ----

const LRAND_A = 0x5deece66dn;
const MASK48 = (1n << 48n) - 1n;
let lrandX = 0x1234abcd330en;
const LRAND48_MAX = 2147483647;

function lrand48(): number {
  lrandX = (LRAND_A * lrandX + 0xbn) & MASK48;
  return Number(lrandX >> 17n);
}
function srand48(seed: number): void {
  lrandX = ((BigInt(seed >>> 0) & 0xffffffffn) << 16n) | 0x330en;
}

function checkInt(vm: LuaVm, L: LuaState, arg: number): number {
  const n = vm.toNumber(L, arg);
  if (n === null) vm.argError(L, arg, `number expected, got ${vm.type(L, arg) === LuaType.NONE ? 'no value' : vm.typeName(vm.type(L, arg))}`);
  return Math.trunc(n) | 0;
}

function pushIntegral(vm: LuaVm, L: LuaState, n: number): void {
  if (Number.isSafeInteger(n)) vm.pushInteger(L, n);
  else vm.pushNumber(L, n);
}

function mathRandom(vm: LuaVm, L: LuaState): number {
  if (currentRun() === null) return vm.raise(L, 'math.random can only be called inside a script invocation');
  const r = (lrand48() % LRAND48_MAX) / LRAND48_MAX;
  switch (vm.getTop(L)) {
    case 0:
      vm.pushNumber(L, r);
      break;
    case 1: {
      const u = checkInt(vm, L, 1);
      if (!(1 <= u)) vm.argError(L, 1, 'interval is empty');
      pushIntegral(vm, L, Math.floor(r * u) + 1);
      break;
    }
    case 2: {
      const l = checkInt(vm, L, 1);
      const u = checkInt(vm, L, 2);
      if (!(l <= u)) vm.argError(L, 2, 'interval is empty');
      pushIntegral(vm, L, Math.floor(r * (u - l + 1)) + l);
      break;
    }
    default:
      return vm.raise(L, 'wrong number of arguments');
  }
  return 1;
}

function mathRandomseed(vm: LuaVm, L: LuaState): number {
  if (currentRun() === null) return vm.raise(L, 'math.randomseed can only be called inside a script invocation');
  srand48(checkInt(vm, L, 1));
  return 0;
}

// ---- tostring as Lua 5.1 prints numbers (%.14g: 3.0 is "3") ----

function lua51ToString(vm: LuaVm, L: LuaState, idx: number): string {
  return formatG(vm.toNumber(L, idx)!, 14);
}

/** Installed with the original tostring as upvalue 1. */
function tostring51(vm: LuaVm, L: LuaState): number {
  if (vm.type(L, 1) === LuaType.NUMBER) {
    vm.pushString(L, lua51ToString(vm, L, 1));
    return 1;
  }
  if (vm.getTop(L) === 0) vm.argError(L, 1, 'value expected');
  vm.pushValue(L, -1001000 - 1); // upvalue 1: the original tostring
  vm.pushValue(L, 1);
  vm.call(L, 1, 1);
  return 1;
}

/**
 * Creates the `redis` table and the replaced math/tostring functions in a
 * fresh state (before protection). The FUNCTION engine adds its own
 * members (register_function) on top.
 */
export function installRedisApi(vm: LuaVm): void {
  const L = vm.L;
  vm.newTable(L, 0, 32);
  vm.setFunctions(L, -1, {
    call: redisCall,
    pcall: redisPcall,
    log: redisLog,
    setresp: setResp,
    sha1hex,
    error_reply: errorReply,
    status_reply: statusReply,
    set_repl: setRepl,
    acl_check_cmd: aclCheckCmd,
    breakpoint,
    debug: debugLog,
    replicate_commands: replicateCommands,
  });
  const ints: [string, number][] = [
    ['LOG_DEBUG', 0],
    ['LOG_VERBOSE', 1],
    ['LOG_NOTICE', 2],
    ['LOG_WARNING', 3],
    ['REPL_NONE', 0],
    ['REPL_AOF', 1],
    ['REPL_SLAVE', 2],
    ['REPL_REPLICA', 2],
    ['REPL_ALL', 3],
    ['REDIS_VERSION_NUM', REDIS_VERSION_NUM],
  ];
  for (const [k, v] of ints) {
    vm.pushInteger(L, v);
    vm.rawSetField(L, -2, k);
  }
  vm.pushString(L, REDIS_VERSION);
  vm.rawSetField(L, -2, 'REDIS_VERSION');
  vm.setGlobal(L, 'redis');

  vm.getGlobal(L, 'math');
  vm.setFunctions(L, -1, { random: mathRandom, randomseed: mathRandomseed });
  vm.pop(L);

  vm.getGlobal(L, 'tostring');
  vm.pushFunction(L, tostring51, 1);
  vm.setGlobal(L, 'tostring');
}
