#!/usr/bin/env node
/**
 * The network fuzz run (issue 16): millions of mutated RESP frames over
 * many connections against dist/main.js (see net-fuzz-core.mjs for what is
 * sent and checked). Prints a summary and a Markdown block for
 * bench/RESULTS.md; exits non-zero on any problem (crash, PING not
 * answered, a close without Redis's protocol error text).
 *
 * Usage: node bench/net-fuzz.mjs [--frames 3000000] [--connections 50] [--seconds 900] [--seed 1] [--maxmemory 256mb] [--write]
 * (--write replaces its section of bench/RESULTS.md)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runNetFuzz } from './net-fuzz-core.mjs';
import { startDamselfly, startRedis } from './servers.mjs';
import { resultsSection } from './results-file.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i < 0 ? def : argv[i + 1];
};
const FRAMES = Number(opt('frames', 3_000_000));
const CONNECTIONS = Number(opt('connections', 50));
const SECONDS = Number(opt('seconds', 900));
const SEED = Number(opt('seed', 1));
const MAXMEMORY = opt('maxmemory', '256mb');
const WRITE = argv.includes('--write');
/** `redis` runs the same fuzz against redis-server, to tell its behaviour from ours. */
const SERVER = opt('server', 'damselfly');

const dir = mkdtempSync(path.join(os.tmpdir(), 'damselfly-net-fuzz-'));
const load0 = os.loadavg();
// A temporary --dir and a maxmemory that evicts: nothing a fuzzed command does can reach the machine's files or memory.
const srv =
  SERVER === 'redis'
    ? await startRedis(dir, ['--maxmemory', MAXMEMORY, '--maxmemory-policy', 'allkeys-lru'])
    : await startDamselfly(dir, { args: ['--maxmemory', MAXMEMORY, '--maxmemory-policy', 'allkeys-lru', '--loglevel', 'warning'] });
const fmt = (n) => Math.round(n).toLocaleString('en-US');
let st;
try {
  const startKiB = Number(/VmRSS:\s+(\d+)/.exec((await import('node:fs')).readFileSync(`/proc/${srv.pid}/status`, 'latin1'))[1]);
  st = await runNetFuzz({
    port: srv.port,
    pid: srv.pid,
    connections: CONNECTIONS,
    frames: FRAMES,
    seconds: SECONDS,
    seed: SEED,
    onProgress: (s, ms) => process.stderr.write(`\r${(ms / 1000).toFixed(0)} s: ${fmt(s.framesSent)} frames, ${s.protocolErrorCloses} protocol-error closes, RSS peak ${fmt(s.peakRssKiB / 1024)} MiB   `),
  });
  process.stderr.write('\n');
  const alive = srv.proc.exitCode === null;
  const info = await (async () => {
    const { RespClient } = await import('./resp.mjs');
    const c = await RespClient.connect(srv.port);
    try {
      return String(await c.call('INFO', 'stats'));
    } finally {
      c.close();
    }
  })();
  const processed = /total_commands_processed:(\d+)/.exec(info)?.[1];
  const errors = /total_error_replies:(\d+)/.exec(info)?.[1];
  // RSS over the run in tenths: a bounded run plateaus instead of climbing.
  const tenths = [];
  for (let i = 1; i <= 10; i++) {
    const upTo = (st.seconds * 1000 * i) / 10;
    const inTenth = st.rssSamples.filter(([t]) => t <= upTo && t > upTo - (st.seconds * 100));
    tenths.push(inTenth.length ? Math.max(...inTenth.map(([, k]) => k)) : 0);
  }
  const load1 = os.loadavg();
  const kinds = [...st.errorKinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} (${fmt(n)})`).join('; ');
  const md = `- ${new Date().toISOString()}: \`node bench/net-fuzz.mjs --frames ${FRAMES} --connections ${CONNECTIONS} --seed ${SEED}${SERVER === 'redis' ? ' --server redis' : ''}\` against ${SERVER === 'redis' ? 'redis-server 7.0.15' : 'damselfly (dist/main.js)'}
- ${fmt(st.framesSent)} frames (${(st.bytesSent / 1e6).toFixed(0)} MB) over ${CONNECTIONS} concurrent connections in ${st.seconds.toFixed(0)} s (${fmt(st.framesSent / st.seconds)} frames/s); the server counted ${fmt(Number(processed))} commands processed and ${fmt(Number(errors))} error replies (each batch of ~64 frames also sends 5 commands of its own: DISCARD, the three UNSUBSCRIBEs and a PING marker)
- server: --maxmemory ${MAXMEMORY} --maxmemory-policy allkeys-lru, temporary --dir, FLUSHALL every 2 s from another connection
- connections closed by the server after a protocol error, each ending with \`-ERR Protocol error: ...\`: ${fmt(st.protocolErrorCloses)}; closed while a large reply was still arriving, its end and the error line lost (a reset, or 64 KB+ received in the batch: a close with our later frames unread in the server's socket makes its kernel reset the connection and drop what was queued to us, as redis-server's does): ${fmt(st.cut)}; closed any other way: ${st.otherCloses}; batches that stalled (blocked or waiting for a bulk) and were dropped by the fuzzer: ${fmt(st.stalls)}; connections opened: ${fmt(st.reconnects)}
- protocol errors seen: ${kinds}
- PING on a fresh connection every 250 ms: ${fmt(st.pings)} answered, slowest ${st.maxPingMs.toFixed(0)} ms; server alive at the end: ${alive ? 'yes' : 'NO'}
- RSS (VmRSS, sampled every 100 ms): ${fmt(startKiB / 1024)} MiB at start, peak ${fmt(st.peakRssKiB / 1024)} MiB, ${fmt(st.finalRssKiB / 1024)} MiB at the end; peak per tenth of the run (MiB): ${tenths.map((k) => fmt(k / 1024)).join(', ')}
- load average (1 min) at start ${load0[0].toFixed(2)}, at end ${load1[0].toFixed(2)} (2 cores)
- problems: ${st.problems.length === 0 ? 'none' : st.problems.join(' | ')}
`;
  console.log(md);
  if (WRITE && SERVER !== 'redis') resultsSection('net-fuzz').write('## Network fuzz run (issue 16)\n\n' + md);
} finally {
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(st && st.problems.length === 0 ? 0 : 1);
