#!/usr/bin/env node
/**
 * BullMQ's scripts without the network: what one Worker sends (EVALSHA of
 * addStandardJob, moveToFinished, ...) is captured once with MONITOR on a
 * redis-server, then replayed inside this process against two builds'
 * command tables, as the dispatcher calls them (see scripting-micro.mjs).
 * Each round empties both keyspaces and walks the capture in segments of
 * SEG commands, A then B or B then A in turn; the ratio column is the
 * median of the per-segment B/A CPU ratios [min-max], steadier than whole
 * runs on a shared machine.
 *
 *   node bench/scripting-replay.mjs --capture /tmp/bull.mon [--jobs 2000]
 *   node --max-semi-space-size=8 bench/scripting-replay.mjs --a OLD/dist --b NEW/dist /tmp/bull.mon [--rounds 6]
 */
import { mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startRedis } from './servers.mjs';
import { bullmqWorker } from './scripting-workloads.mjs';
import { inProcessServer } from './in-process-server.mjs';
import { loadCapture } from './bullmq-capture.mjs';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { capture: { type: 'string' }, jobs: { type: 'string', default: '2000' }, a: { type: 'string' }, b: { type: 'string' }, rounds: { type: 'string', default: '6' } },
});

if (opt.capture) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-replay-'));
  const srv = await startRedis(dir);
  const fd = openSync(opt.capture, 'w');
  const mon = spawn('redis-cli', ['-p', String(srv.port), 'monitor'], { stdio: ['ignore', fd, 'inherit'] });
  await new Promise((r) => setTimeout(r, 300));
  await bullmqWorker(srv, Number(opt.jobs));
  await new Promise((r) => setTimeout(r, 300));
  mon.kill();
  closeSync(fd);
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
  console.log(`captured ${opt.jobs} jobs into ${opt.capture}`);
  process.exit(0);
}

if (!opt.a || positionals.length !== 1) throw new Error('--a DIST [--b DIST] CAPTURE (or --capture FILE)');

const cmds = loadCapture(positionals[0]);

/** BullMQ's ioredis says HELLO 3. */
const setup = (dir) => inProcessServer(dir, { proto: 3 });

const A = await setup(opt.a);
const B = opt.b ? await setup(opt.b) : null;

// Once through A: every command must succeed (a replay that errors measures something else).
{
  A.run(['FLUSHALL', 'SYNC']);
  A.r.drop();
  let errors = 0;
  for (const c of cmds) {
    A.run(c);
    const t = A.r.pendingBytes().toString('latin1');
    if ((t[0] === '-' || t[0] === '!') && errors++ < 3) console.error(`error reply to ${c[0]}: ${t.slice(0, 120)}`);
    A.r.drop();
  }
  console.log(`${cmds.length} commands, ${errors} error replies`);
}

function segment(S, from, to) {
  const c0 = process.cpuUsage();
  for (let i = from; i < to; i++) {
    S.run(cmds[i]);
    if ((i & 15) === 15) S.r.drop();
  }
  const c = process.cpuUsage(c0);
  S.r.drop();
  return c.user + c.system;
}

const SEG = 200;
const ROUNDS = Number(opt.rounds);
const ta = [];
const tb = [];
const ratio = [];
for (let r = 0; r <= ROUNDS; r++) {
  for (const S of B ? [A, B] : [A]) {
    S.run(['FLUSHALL', 'SYNC']);
    S.r.drop();
  }
  let sa = 0;
  let sb = 0;
  for (let from = 0, k = 0; from < cmds.length; from += SEG, k++) {
    const to = Math.min(cmds.length, from + SEG);
    let a;
    let b = 0;
    if (!B || (k + r) % 2 === 0) {
      a = segment(A, from, to);
      if (B) b = segment(B, from, to);
    } else {
      b = segment(B, from, to);
      a = segment(A, from, to);
    }
    sa += a;
    sb += b;
    if (r > 0 && B && a > 0) ratio.push(b / a);
  }
  // Round 0 warms both builds up.
  if (r > 0) {
    ta.push(sa / cmds.length);
    tb.push(sb / cmds.length);
  }
}
const median = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(`A: ${median(ta).toFixed(1)} us CPU per command` + (B ? `, B: ${median(tb).toFixed(1)}, B/A per segment ${median(ratio).toFixed(3)} [${Math.min(...ratio).toFixed(2)}-${Math.max(...ratio).toFixed(2)}] (${ratio.length} segments)` : ''));
process.exit(0);
