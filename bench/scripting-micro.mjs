#!/usr/bin/env node
/**
 * What one script run costs inside the server, without the network: each
 * build's Server, client and command table are loaded into this process
 * and commands are called the way the dispatcher calls them (call()), so a
 * run's pieces can be told apart: a bare EVALSHA (state entry, KEYS/ARGV,
 * the reply), one redis.call round trip (in a Lua loop, per call), the
 * commands themselves, the rate limiter and the 39 KB BullMQ-sized script.
 *
 * Two builds are compared interleaved (A, B, B, A, ... in ~50 ms trials of
 * process CPU time), so load from other processes falls on both alike; the
 * B/A column is the median of the per-trial ratios [min-max].
 *
 * usage: npm run build && node --max-semi-space-size=8 bench/scripting-micro.mjs --a OLD/dist [--b NEW/dist] [--rounds 20] [--only TEXT]
 */
import { parseArgs } from 'node:util';
import { RATE_LIMITER, bullmqSized } from './scripting-workloads.mjs';
import { inProcessServer } from './in-process-server.mjs';

const { values: opt } = parseArgs({
  options: { a: { type: 'string' }, b: { type: 'string' }, rounds: { type: 'string', default: '20' }, only: { type: 'string' } },
});
if (!opt.a) throw new Error('--a DIST (a build\'s dist folder)');
const ROUNDS = Number(opt.rounds);

/** One build's server in this process: run(args) calls a command as the dispatcher does. */
async function setup(dir) {
  const { run, r } = await inProcessServer(dir);
  const load = (body) => {
    r.drop();
    run(['SCRIPT', 'LOAD', body]);
    const sha = r.pendingBytes().toString('latin1').split('\r\n')[1];
    r.drop();
    return sha;
  };
  return { run, load, r };
}

const big = await bullmqSized();
const keys = Array.from({ length: 1000 }, (_, i) => 'key:' + String(i).padStart(12, '0'));

/** [name, units per call, fn(i)] for one build. */
function cases(S, tag) {
  const rl = S.load(RATE_LIMITER);
  const ret = S.load('return 1');
  const retBytes = Buffer.from(ret, 'latin1');
  const ping = S.load("return redis.call('PING')");
  const loop = S.load("for i = 1, 100 do redis.call('PING') end return 1");
  const incr = S.load("return redis.call('INCR', KEYS[1])");
  const bigSha = S.load(big);
  let k = 0;
  const all = [
    ['PING (direct call)', 1, () => S.run(['PING'])],
    ['INCR (direct call)', 1, (i) => S.run(['INCR', keys[i % 1000]])],
    ['EVALSHA return 1, no keys', 1, () => S.run(['EVALSHA', ret, '0'])],
    ['EVALSHA return 1, 1 key 1 arg', 1, (i) => S.run(['EVALSHA', ret, '1', keys[i % 1000], 'arg'])],
    // The server's parser hands each command a new string for the sha (the case above reuses one).
    ['EVALSHA return 1, 1 key 1 arg, sha parsed anew', 1, (i) => S.run(['EVALSHA', retBytes.latin1Slice(0, 40), '1', keys[i % 1000], 'arg'])],
    ["EVALSHA return redis.call('PING')", 1, (i) => S.run(['EVALSHA', ping, '1', keys[i % 1000], 'arg'])],
    ["redis.call('PING') in a Lua loop, per call", 100, () => S.run(['EVALSHA', loop, '0'])],
    ["EVALSHA return redis.call('INCR', KEYS[1])", 1, (i) => S.run(['EVALSHA', incr, '1', keys[i % 1000], 'arg'])],
    ['EVALSHA rate limiter, existing keys (INCR)', 1, (i) => S.run(['EVALSHA', rl, '1', keys[i % 1000], 'arg'])],
    ['EVALSHA rate limiter, new keys (INCR + PEXPIRE)', 1, () => S.run(['EVALSHA', rl, '1', `new:${tag}:${k++}`, 'arg'])],
    [`EVALSHA BullMQ-sized (${(big.length / 1024).toFixed(0)} KB), existing keys`, 1, (i) => S.run(['EVALSHA', bigSha, '1', keys[i % 1000], 'arg'])],
  ];
  return all.filter(([name]) => !opt.only || name.includes(opt.only));
}

/** About `ms` of calls; process CPU nanoseconds per unit. */
function trial(S, fn, per, ms) {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let j = 0; j < 64; j++) fn(n++);
    S.r.drop();
  }
  const c = process.cpuUsage(cpu0);
  return ((c.user + c.system) * 1000) / (n * per);
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const A = await setup(opt.a);
const B = opt.b ? await setup(opt.b) : null;
const ca = cases(A, 'a');
const cb = B ? cases(B, 'b') : null;
console.log(B ? '| piece | A ns CPU | B ns CPU | B/A |\n|---|---|---|---|' : '| piece | ns CPU |\n|---|---|');
for (let i = 0; i < ca.length; i++) {
  const [name, per, fa] = ca[i];
  const fb = cb?.[i][2];
  trial(A, fa, per, 100);
  if (B) trial(B, fb, per, 100);
  const ta = [];
  const tb = [];
  const ratio = [];
  for (let r = 0; r < ROUNDS; r++) {
    // A B, then B A: neither build always runs first.
    let a;
    let b;
    if (r % 2 === 0) {
      a = trial(A, fa, per, 50);
      if (B) b = trial(B, fb, per, 50);
    } else {
      if (B) b = trial(B, fb, per, 50);
      a = trial(A, fa, per, 50);
    }
    ta.push(a);
    if (B) {
      tb.push(b);
      ratio.push(b / a);
    }
  }
  if (B) console.log(`| ${name} | ${median(ta).toFixed(0)} | ${median(tb).toFixed(0)} | ${median(ratio).toFixed(2)} [${Math.min(...ratio).toFixed(2)}-${Math.max(...ratio).toFixed(2)}] |`);
  else console.log(`| ${name} | ${median(ta).toFixed(0)} |`);
}
process.exit(0);
