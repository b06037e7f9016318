#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * damselfly's launcher: size the V8 heap for the job, then run the server.
 *
 * V8 fixes the heap limit when the isolate is created, so when the limit
 * this process got is not the one src/memory/heap-limit.ts decides (from
 * --maxmemory, or a share of the machine's or cgroup's memory), node is run
 * again with the right flags and this process stays as a thin supervisor:
 * it forwards SIGTERM, SIGINT and SIGHUP, exits with the child's code (or
 * dies of the child's signal), and its IPC channel is how the child learns
 * that the supervisor was killed (the child then exits at once). When the
 * limit already fits, or the operator set --max-old-space-size, the server
 * runs in this process. Only node built-ins and the flag parser are loaded
 * before deciding.
 *
 * `damselfly snapshots ...` is the snapshot CLI instead (src/cli/snapshots.ts), and
 * `damselfly rdb export|import` converts Redis RDB files (src/cli/rdb.ts).
 *
 * V8 flags given to the child: --max-old-space-size, and the young
 * generation capped at LAUNCHER_SEMI_MB (8 MB) a semi-space, half V8's
 * default, unless the operator set it: the trade between scavenge cost and
 * resident memory is measured there (src/memory/heap-limit.ts). It must be
 * a process flag: set at runtime (v8.setFlagsFromString) it does not resize
 * the heap. The shebang gives it to the bin for the case the launcher does
 * not re-execute (keep the two equal).
 */
import { spawn } from 'node:child_process';
import v8 from 'node:v8';
import './config/server-params.js';
import { peekFlag } from './config/flags.js';
import { ConfigError } from './config/params.js';
import { mallocEnv } from './memory/malloc-env.js';
import { decideHeap, HEAP_DECISION_ENV, hasSemiSpaceFlag, LAUNCHER_SEMI_MB, limitFits, type HeapDecision } from './memory/heap-limit.js';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

async function runHere(decision: HeapDecision, supervised: boolean): Promise<void> {
  const { runServer } = await import('./server/run.js');
  await runServer(decision, supervised);
}

function supervise(decision: HeapDecision): void {
  const execArgv = process.execArgv.filter((a) => !/^--max[-_]old[-_]space[-_]size/.test(a));
  const v8Flags = [`--max-old-space-size=${decision.oldSpaceMb}`];
  if (!hasSemiSpaceFlag(execArgv, process.env.NODE_OPTIONS)) v8Flags.push(`--max-semi-space-size=${LAUNCHER_SEMI_MB}`);
  const child = spawn(process.execPath, [...execArgv, ...v8Flags, process.argv[1], ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...mallocEnv(process.env), [HEAP_DECISION_ENV]: JSON.stringify(decision) },
  });
  for (const sig of FORWARDED) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    process.stderr.write(`damselfly: cannot start the server process: ${e.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      // Die of the same signal, so whoever waits on us sees what the server saw.
      for (const sig of FORWARDED) process.removeAllListeners(sig);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

function main(): void {
  if (process.argv[2] === 'snapshots') {
    // The operator's tool (src/cli/snapshots.ts), not a server: no heap sizing, no supervisor.
    void import('./cli/snapshots.js').then(async ({ snapshotsCli }) => process.exit(await snapshotsCli(process.argv.slice(3)))).catch(fatal);
    return;
  }
  if (process.argv[2] === 'rdb') {
    // Redis RDB files to and from a snapshot location (src/cli/rdb.ts), not a server either.
    void import('./cli/rdb.js').then(async ({ rdbCli }) => process.exit(await rdbCli(process.argv.slice(3)))).catch(fatal);
    return;
  }
  const passed = process.env[HEAP_DECISION_ENV];
  if (passed !== undefined && process.channel !== undefined) {
    // We are the re-executed server.
    delete process.env[HEAP_DECISION_ENV];
    void runHere(JSON.parse(passed) as HeapDecision, true).catch(fatal);
    return;
  }
  let maxmemory: number;
  try {
    maxmemory = Number(peekFlag(process.argv.slice(2), 'maxmemory'));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // The server's strict parse reports it the usual way (exit 2).
    void runHere({ oldSpaceMb: null, reason: 'flags could not be read', source: 'default', capped: false }, false).catch(fatal);
    return;
  }
  const decision = decideHeap(maxmemory, process.execArgv, process.env);
  if (limitFits(decision, v8.getHeapStatistics().heap_size_limit)) void runHere(decision, false).catch(fatal);
  else supervise(decision);
}

function fatal(e: unknown): void {
  process.stderr.write(`damselfly: fatal error: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}

main();
