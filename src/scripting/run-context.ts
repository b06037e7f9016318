/**
 * One script run, shared by EVAL and FCALL (Redis's script.c): the checks
 * before a run, the commands a script calls (redis.call), the script
 * client they run on, SCRIPT/FUNCTION KILL, and the busy state other
 * clients see once a script runs past busy-reply-threshold.
 *
 * Only one script runs at a time (a script cannot call EVAL, and while one
 * is suspended between time slices every other client gets -BUSY), so the
 * current run is module state, as Redis's curr_run_ctx is.
 */
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { Client } from '../server/client.js';
import type { CommandContext } from '../server/context.js';
import { ScriptReply } from './script-reply.js';
import { call, rejectedCall, scriptBusy } from '../server/dispatch.js';
import { countErrorReply, errorsSinceLastLook } from '../server/error-stats.js';
import { lookup, lookupSub, arityOk } from '../commands/registry.js';
import { precompute, type CommandSpec } from '../commands/spec.js';
import { memoryGuard } from '../memory/guard.js';
import { mem } from '../memory/settings.js';
import { log } from '../log.js';
import { ACL_OK, aclErrorMessage, checkCommand, DENIED_CMD } from '../acl/check.js';
import { addLogEntry } from '../acl/log.js';
import { NOREPLICAS, tooFewReplicas } from '../server/min-replicas.js';

/** Script flags (shebang `flags=` and FUNCTION flags), as script.h names them. */
export interface ScriptFlags {
  /** No shebang: EVAL's compatibility mode (writes allowed, no pre-run checks). */
  compat: boolean;
  noWrites: boolean;
  allowOom: boolean;
  allowStale: boolean;
  noCluster: boolean;
  allowCrossSlot: boolean;
}

export const COMPAT_FLAGS: ScriptFlags = { compat: true, noWrites: false, allowOom: false, allowStale: false, noCluster: false, allowCrossSlot: false };

export const BUSY_EVAL = 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.';
export const BUSY_FUNCTION = 'BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.';

/** The client commands called by scripts run on (Redis's lua_client): MONITOR shows it as "lua". */
export class ScriptClient extends Client {
  readonly reply = new ScriptReply();
  constructor(db: Client['db']) {
    super(0, null as unknown as Socket, db, false);
    // A script's blocking commands answer at once, as inside EXEC.
    this.inExec = true;
  }
  override get fromScript(): boolean {
    return true;
  }
  override get addr(): string {
    return 'lua';
  }
  override get laddr(): string {
    return 'lua';
  }
}

export interface ScriptRun {
  /** EVAL/EVALSHA (true) or FCALL: decides error texts and which KILL applies. */
  evalMode: boolean;
  /** The sha (EVAL) or function name (FCALL), as errors name it. */
  funcName: string;
  caller: Client;
  ctx: CommandContext;
  client: ScriptClient;
  readOnly: boolean;
  allowOom: boolean;
  /** A write command ran: the script can no longer be killed. */
  writeDirty: boolean;
  killed: boolean;
  /** Past busy-reply-threshold: other clients get -BUSY. */
  timedOut: boolean;
  /** performance.now() at start (the script command's start when nothing slow, as compiling, came before the run). */
  startTime: number;
  /** redis.set_repl flags (validated; there is no replication to apply them to yet). */
  replFlags: number;
}

let current: ScriptRun | null = null;
let scriptClient: ScriptClient | null = null;
scriptBusy.error = busyError;

export function currentRun(): ScriptRun | null {
  return current;
}

/** The -BUSY error other clients get now, or null when no script is past the threshold. */
export function busyError(): string | null {
  if (current === null || !current.timedOut) return null;
  return current.evalMode ? BUSY_EVAL : BUSY_FUNCTION;
}

/**
 * Redis's scriptPrepareForRun: refuses a run the flags do not allow (the
 * error is written to the caller), or makes it the current run.
 */
export function prepareForRun(ctx: CommandContext, funcName: string, flags: ScriptFlags, ro: boolean, evalMode: boolean, startTime = performance.now()): ScriptRun | null {
  const r = ctx.r;
  const server = ctx.server;
  if (!flags.compat) {
    if (!flags.noWrites) {
      if (server.writesDenied !== null) {
        r.error("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.");
        return null;
      }
      if (tooFewReplicas()) {
        r.error(NOREPLICAS);
        return null;
      }
      if (ro) {
        r.error('ERR Can not execute a script with write flag using *_ro command.');
        return null;
      }
    }
    if (!flags.allowOom && !flags.noWrites && overMaxmemory(ctx)) {
      r.error("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'");
      return null;
    }
  }
  scriptClient ??= new ScriptClient(ctx.client.db);
  const sc = scriptClient;
  sc.db = ctx.client.db;
  // The script's commands run with the caller's permissions (Redis's scriptPrepareForRun).
  sc.user = ctx.client.user;
  sc.proto = 2;
  sc.reply.proto = 2;
  sc.reply.drop();
  const run: ScriptRun = {
    evalMode,
    funcName,
    caller: ctx.client,
    ctx,
    client: sc,
    readOnly: ro || (!flags.compat && flags.noWrites),
    allowOom: !flags.compat && flags.allowOom,
    writeDirty: false,
    killed: false,
    timedOut: false,
    startTime,
    replFlags: 3,
  };
  current = run;
  // The script sees the time it starts at, not the time of the batch it
  // came in (creating the Lua state or compiling the script may take long).
  ctx.ks.tick();
  ctx.ks.clockFrozen = true;
  return run;
}

/** Redis's scriptResetRun. */
export function endRun(run: ScriptRun): void {
  if (current !== run) return;
  current = null;
  run.ctx.ks.clockFrozen = false;
  if (run.timedOut) log.warn({ script: run.funcName, ms: Math.round(performance.now() - run.startTime) }, 'slow script finished: the server serves other clients again');
}

/** Whether a denyoom command would be refused now (the pre-command OOM state). */
function overMaxmemory(ctx: CommandContext): boolean {
  return mem.maxmemory !== 0 && memoryGuard(ctx.ks, ctx.client, DENYOOM_PROBE) !== null;
}
const DENYOOM_PROBE = { name: 'eval', flags: ['denyoom'], pre: { denyOom: true } } as unknown as CommandSpec;

/**
 * A command the script may not run: the error is counted as sent (to the
 * script client), and the command as rejected, as script.c's scriptCall
 * does; the {err=...} table made of it is then not counted again.
 */
function rejected(spec: CommandSpec | undefined, err: string): string {
  countErrorReply(err, err.startsWith('-'));
  if (spec !== undefined) rejectedCall(spec);
  errorsSinceLastLook();
  return err;
}

/**
 * Runs one command for the current script (redis.call / redis.pcall) with
 * Redis's checks, in scriptCall's order. Returns the Reply holding its RESP
 * bytes (pending, valid until the next call), or an error text ("-CODE msg"
 * or "msg") the caller turns into an {err=...} table.
 */
export function scriptCall(run: ScriptRun, args: string[]): ScriptReply | string {
  let spec = lookup(args[0]!);
  if (spec !== undefined && spec.subcommands !== undefined) {
    spec = args.length >= 2 ? lookupSub(spec, args[1]!) : undefined;
  }
  if (spec === undefined || !arityOk(spec, args.length)) {
    return rejected(spec, spec === undefined ? 'Unknown Redis command called from script' : 'Wrong number of args calling Redis command from script');
  }
  const pre = spec.pre ?? (spec.pre = precompute(spec));
  if (pre.noScript) {
    return rejected(spec, 'This Redis command is not allowed from script');
  }
  const sc0 = run.client;
  if (!sc0.user.unrestricted) {
    const v = checkCommand(sc0.user, spec, args);
    if (v.res !== ACL_OK) {
      addLogEntry(run.caller, v.res, 'lua', v.res === DENIED_CMD ? spec.name : args[v.pos]!, sc0.user.name);
      return rejected(spec, 'The user executing the script ' + aclErrorMessage(v.res));
    }
  }
  const write = pre.write;
  if (run.readOnly && (write || pre.mayReplicate)) {
    return rejected(spec, 'Write commands are not allowed from read-only scripts.');
  }
  const ctx = run.ctx;
  if (write && !run.writeDirty && ctx.server.writesDenied !== null) {
    return rejected(spec, '-' + ctx.server.writesDenied);
  }
  if (write && !run.writeDirty && tooFewReplicas()) return rejected(spec, '-' + NOREPLICAS);
  if (!run.allowOom && !run.writeDirty && pre.denyOom && mem.maxmemory !== 0) {
    const oom = memoryGuard(ctx.ks, run.client, spec);
    if (oom !== null) {
      return rejected(spec, '-' + oom);
    }
  }
  if (write) run.writeDirty = true;
  const sc = run.client;
  const savedClient = ctx.client;
  const savedDb = ctx.db;
  const savedReply = ctx.r;
  ctx.client = sc;
  ctx.db = sc.db;
  ctx.r = sc.reply;
  sc.reply.proto = sc.proto;
  sc.reply.drop();
  try {
    call(ctx, spec, args);
  } finally {
    sc.db = ctx.db; // SELECT inside the script lasts for this run
    ctx.client = savedClient;
    ctx.db = savedDb;
    ctx.r = savedReply;
  }
  return sc.reply;
}

/** SCRIPT KILL (isEval) / FUNCTION KILL: Redis's scriptKill. */
export function killScript(ctx: CommandContext, isEval: boolean): void {
  const run = current;
  if (run === null || !run.timedOut) return ctx.r.error('NOTBUSY No scripts in execution right now.');
  if (run.writeDirty) {
    return ctx.r.error(
      'UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.',
    );
  }
  if (isEval && !run.evalMode) return ctx.r.error(BUSY_FUNCTION);
  if (!isEval && run.evalMode) return ctx.r.error(BUSY_EVAL);
  run.killed = true;
  ctx.r.ok();
}
