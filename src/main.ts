#!/usr/bin/env node
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
 * V8 flags given to the child: --max-old-space-size, and a semi-space
 * (the young generation's size) unless the operator set one: 8 MB, half
 * V8's default, or more when a local --dir holds a large snapshot or RDB
 * file to load (decideSemiSpace in src/memory/heap-limit.ts, where the trade
 * between scavenge cost and resident memory is measured). It must be a
 * process flag: set at runtime (v8.setFlagsFromString) it does not resize
 * the heap. With the operator's own --max-old-space-size the server runs in
 * this process on node's flags as given (V8's 16 MB semi-space unless set).
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import './config/server-params.js';
import { peekFlag } from './config/flags.js';
import { ConfigError } from './config/params.js';
import { mallocEnv } from './memory/malloc-env.js';
import { decideHeap, decideSemiSpace, HEAP_DECISION_ENV, initialOldSpaceFlagMb, initialOldSpaceMb, LAUNCHER_SEMI_MB, limitFits, semiSpaceMb, type HeapDecision } from './memory/heap-limit.js';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

async function runHere(decision: HeapDecision, supervised: boolean): Promise<void> {
  const { runServer } = await import('./server/run.js');
  await runServer(decision, supervised);
}

function supervise(decision: HeapDecision): void {
  const execArgv = process.execArgv.filter((a) => !/^--max[-_]old[-_]space[-_]size/.test(a));
  const v8Flags = [`--max-old-space-size=${decision.oldSpaceMb}`];
  if (decision.semiMb != null) v8Flags.push(`--max-semi-space-size=${decision.semiMb}`);
  if (decision.initialOldMb != null) v8Flags.push(`--initial-old-space-size=${decision.initialOldMb}`);
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
  // With the operator's own --max-old-space-size the server runs here, on node's flags as given.
  if (decision.oldSpaceMb !== null) {
    // What the dataset will be: the file this boot loads, or what maxmemory allows, whichever is more.
    const boot = bootDataBytes();
    decision.semiMb = decideSemiSpace(process.execArgv, process.env.NODE_OPTIONS, Math.max(boot, maxmemory));
    if (decision.semiMb !== null && decision.semiMb > LAUNCHER_SEMI_MB) {
      const why = boot >= maxmemory ? `the ${(boot / 1e9).toFixed(1)} GB of data to load` : `maxmemory ${(maxmemory / 1e9).toFixed(1)} GB`;
      decision.semiReason = `young generation of ${decision.semiMb} MiB semi-spaces for ${why}`;
    }
    const semiNow = semiSpaceMb(process.execArgv, process.env.NODE_OPTIONS);
    decision.initialOldMb = initialOldSpaceFlagMb(process.execArgv, process.env.NODE_OPTIONS) !== null ? null : initialOldSpaceMb(decision.semiMb ?? semiNow);
  }
  const fits = limitFits(decision, v8.getHeapStatistics().heap_size_limit, semiSpaceMb(process.execArgv, process.env.NODE_OPTIONS), initialOldSpaceFlagMb(process.execArgv, process.env.NODE_OPTIONS));
  if (fits) void runHere(decision, false).catch(fatal);
  else supervise(decision);
}

/**
 * The largest snapshot data file (*.dfs) or RDB file (--dbfilename) in a
 * local --dir: about what this boot will load (decideSemiSpace). 0 for S3,
 * an empty or unreadable folder: the server reports those itself.
 */
function bootDataBytes(): number {
  try {
    const argv = process.argv.slice(2);
    const dir = peekFlag(argv, 'dir');
    if (/^s3:\/\//i.test(dir)) return 0;
    const rdb = peekFlag(argv, 'dbfilename');
    let most = 0;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.dfs') && name !== rdb) continue;
      const st = statSync(path.join(dir, name)); // through a symlink, as the loader reads it
      if (st.isFile()) most = Math.max(most, st.size);
    }
    return most;
  } catch {
    return 0;
  }
}

function fatal(e: unknown): void {
  process.stderr.write(`damselfly: fatal error: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}

main();
