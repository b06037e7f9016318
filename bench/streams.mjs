#!/usr/bin/env node
/**
 * Streams side by side with redis-server (issue 12 targets):
 *   - XADD s * f v and XRANGE s - + COUNT 10 through redis-benchmark at -P 16
 *     (target: >= 0.8x redis-server ops/s);
 *   - XREADGROUP COUNT 10 > then XACK of what it returned, by a node driver
 *     with several consumers (messages acknowledged per second);
 *   - memory of a 1M-entry stream with one 16-byte field and one 16-byte
 *     value per entry: RSS growth and used_memory (target: <= 1.5x).
 *
 * usage: node bench/streams.mjs [--reps 3] [--n 500000] [--entries 1000000] [--json out.json]
 * Both servers run back to back per repetition (order alternates); ratios
 * are per repetition, the median is reported with [min-max].
 */
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startDamselfly, startRedis, redisBenchmark, statusKiB, parseInfo } from './servers.mjs';

const { values: opt } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    n: { type: 'string', default: '500000' },
    entries: { type: 'string', default: '1000000' },
    json: { type: 'string' },
  },
});
const REPS = Number(opt.reps);
const N = Number(opt.n);
const ENTRIES = Number(opt.entries);

const resp = (...a) => `*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('');

/** A raw pipelining connection: send many commands, count replies by their first line (simple replies only). */
async function connect(port) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r, j) => (s.once('connect', r), s.once('error', j)));
  return s;
}

/** XADD `count` entries (16-byte field, 16-byte value) in pipelined batches; waits for every reply. */
async function fill(port, key, count) {
  const s = await connect(port);
  let replies = 0;
  let tail = '';
  const done = new Promise((resolve) => {
    s.on('data', (d) => {
      const t = tail + d.toString('latin1');
      // Each XADD reply is $N\r\n<id>\r\n: count the bulk headers.
      let i = 0;
      for (;;) {
        const j = t.indexOf('\r\n', i);
        if (j < 0) break;
        if (t[i] === '$') replies++;
        else if (t[i] === '-') throw new Error('XADD failed: ' + t.slice(i, j));
        i = j + 2;
      }
      tail = t.slice(i);
      if (replies >= count) resolve();
    });
  });
  const field = 'field-0123456789'; // 16 bytes
  const BATCH = 1000;
  for (let i = 0; i < count; i += BATCH) {
    let chunk = '';
    for (let k = i; k < Math.min(count, i + BATCH); k++) chunk += resp('XADD', key, '*', field, 'v' + String(k).padStart(15, '0'));
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    // Bound what is in flight so neither server is measured with MBs of queued input.
    while (i - replies > 20 * BATCH) await new Promise((r) => setTimeout(r, 1));
  }
  await done;
  s.destroy();
}

async function info(port, section) {
  const s = await connect(port);
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  s.write(resp('INFO', section));
  for (;;) {
    const m = /^\$(\d+)\r\n/.exec(got);
    if (m && got.length >= m[0].length + Number(m[1])) break;
    await new Promise((r) => s.once('data', r));
  }
  s.destroy();
  return parseInfo(got.replace(/^\$\d+\r\n/, ''));
}

async function cmd(port, ...args) {
  const s = await connect(port);
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  s.write(resp(...args));
  while (!got.endsWith('\r\n')) await new Promise((r) => s.once('data', r));
  s.destroy();
  return got;
}

function rps(csv) {
  const line = csv.trim().split('\n').pop();
  return Number(JSON.parse('[' + line + ']')[1]);
}

/** XREADGROUP COUNT 10 > + XACK of the IDs, by `consumers` clients until `total` messages are acknowledged. */
async function groupWorkload(port, total, consumers = 8) {
  await fill(port, 'gs', total);
  await cmd(port, 'XGROUP', 'CREATE', 'gs', 'g', '0');
  let acked = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: consumers }, async (_, ci) => {
      const s = await connect(port);
      let buf = '';
      s.on('data', (d) => (buf += d.toString('latin1')));
      const next = async (pred) => {
        while (!pred()) await new Promise((r) => s.once('data', r));
      };
      for (;;) {
        buf = '';
        s.write(resp('XREADGROUP', 'GROUP', 'g', 'c' + ci, 'COUNT', '10', 'STREAMS', 'gs', '>'));
        // Done when the reply is complete: count the IDs it carries (nil/empty ends the run).
        await next(() => buf.startsWith('*-1\r\n') || buf.startsWith('_\r\n') || /\r\n$/.test(buf) && complete(buf));
        const ids = [...buf.matchAll(/\*2\r\n\$\d+\r\n(\d+-\d+)\r\n/g)].map((m) => m[1]);
        if (ids.length === 0) break;
        buf = '';
        s.write(resp('XACK', 'gs', 'g', ...ids));
        await next(() => buf.endsWith('\r\n'));
        acked += Number(buf.slice(1, -2));
      }
      s.destroy();
    }),
  );
  return acked / ((performance.now() - t0) / 1000);
}

/** A complete RESP2 reply? (arrays of bulks and arrays only, as XREADGROUP answers) */
function complete(s) {
  let i = 0;
  const need = [1];
  while (need.length > 0) {
    if (need[need.length - 1] === 0) {
      need.pop();
      continue;
    }
    const j = s.indexOf('\r\n', i);
    if (j < 0) return false;
    const t = s[i];
    const n = Number(s.slice(i + 1, j));
    need[need.length - 1]--;
    if (t === '*') {
      i = j + 2;
      if (n > 0) need.push(n);
    } else if (t === '$') {
      if (n < 0) {
        i = j + 2;
        continue;
      }
      if (s.length < j + 2 + n + 2) return false;
      i = j + 2 + n + 2;
    } else i = j + 2;
  }
  return i === s.length;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function withServer(kind, fn) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-streams-'));
  const srv = kind === 'damselfly' ? await startDamselfly(dir) : await startRedis(dir);
  try {
    return await fn(srv);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = { xadd: [], xrange: [], group: [], memory: [] };
const load0 = loadavg();
const start = Date.now();
for (let rep = 0; rep < REPS; rep++) {
  const order = rep % 2 === 0 ? ['damselfly', 'redis'] : ['redis', 'damselfly'];
  const got = {};
  for (const kind of order) {
    got[kind] = await withServer(kind, async (srv) => {
      // Warm-up (node's JIT, both servers' allocators), not measured.
      await redisBenchmark(srv.port, ['-P', '16', '-n', String(Math.min(N, 100000)), 'XADD', 'warm', '*', 'f', 'v']);
      await redisBenchmark(srv.port, ['-P', '16', '-n', String(Math.min(N, 100000)), 'XRANGE', 'warm', '-', '+', 'COUNT', '10']);
      const xadd = rps(await redisBenchmark(srv.port, ['-P', '16', '-n', String(N), 'XADD', 'bs', '*', 'f', 'v']));
      const xrange = rps(await redisBenchmark(srv.port, ['-P', '16', '-n', String(N), 'XRANGE', 'bs', '-', '+', 'COUNT', '10']));
      const group = await groupWorkload(srv.port, Math.min(N, 200000));
      await cmd(srv.port, 'FLUSHALL');
      await new Promise((r) => setTimeout(r, 500));
      const rss0 = statusKiB(srv.pid, 'VmRSS') * 1024;
      const used0 = Number((await info(srv.port, 'memory')).used_memory);
      await fill(srv.port, 'mem', ENTRIES);
      if (kind === 'damselfly') await cmd(srv.port, 'MEMORY', 'PURGE');
      await new Promise((r) => setTimeout(r, 1000));
      const len = Number((await cmd(srv.port, 'XLEN', 'mem')).slice(1));
      if (len !== ENTRIES) throw new Error(`${kind}: XLEN ${len}, wanted ${ENTRIES}`);
      const rss1 = statusKiB(srv.pid, 'VmRSS') * 1024;
      const used1 = Number((await info(srv.port, 'memory')).used_memory);
      const usage = Number((await cmd(srv.port, 'MEMORY', 'USAGE', 'mem')).slice(1));
      return { xadd, xrange, group, rss: rss1 - rss0, used: used1 - used0, usage };
    });
  }
  const d = got.damselfly;
  const r = got.redis;
  results.xadd.push({ d: d.xadd, r: r.xadd, ratio: d.xadd / r.xadd });
  results.xrange.push({ d: d.xrange, r: r.xrange, ratio: d.xrange / r.xrange });
  results.group.push({ d: d.group, r: r.group, ratio: d.group / r.group });
  results.memory.push({ d: d.rss, r: r.rss, ratio: d.rss / r.rss, dUsed: d.used, rUsed: r.used, dUsage: d.usage, rUsage: r.usage });
  console.error(`rep ${rep + 1}/${REPS}:`, JSON.stringify({ d, r }));
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const row = (name, cfg, rs, target) => {
  const ratios = rs.map((x) => x.ratio);
  return `| ${name} | ${cfg} | ${fmt(median(rs.map((x) => x.d)))} | ${fmt(median(rs.map((x) => x.r)))} | **${median(ratios).toFixed(2)}** [${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}] | ${target} |`;
};
const mib = (b) => (b / 1048576).toFixed(1);
const m = results.memory;
const out = [
  `- date: ${new Date().toISOString()} (run took ${Math.round((Date.now() - start) / 1000)} s), ${REPS} repetition(s), order alternating`,
  `- load average at start: ${load0.map((x) => x.toFixed(2)).join(' / ')}, at end: ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`,
  '',
  '| workload | config | damselfly | redis | ratio (median [min-max]) | target |',
  '|---|---|---|---|---|---|',
  row('XADD s * f v', `-P 16 -c 50, ops/s`, results.xadd, '>= 0.8'),
  row('XRANGE s - + COUNT 10', `-P 16 -c 50, ops/s`, results.xrange, '>= 0.8'),
  row('XREADGROUP COUNT 10 + XACK', '8 consumers, messages/s', results.group, ''),
  `| ${ENTRIES.toLocaleString('en-US')}-entry stream, 16-byte field + 16-byte value | RSS growth, MiB | ${mib(median(m.map((x) => x.d)))} | ${mib(median(m.map((x) => x.r)))} | **${median(m.map((x) => x.ratio)).toFixed(2)}** [${Math.min(...m.map((x) => x.ratio)).toFixed(2)}-${Math.max(...m.map((x) => x.ratio)).toFixed(2)}] | <= 1.5 |`,
  `| same | used_memory growth, MiB | ${mib(median(m.map((x) => x.dUsed)))} | ${mib(median(m.map((x) => x.rUsed)))} | ${(median(m.map((x) => x.dUsed)) / median(m.map((x) => x.rUsed))).toFixed(2)} | |`,
  `| same | MEMORY USAGE, MiB | ${mib(median(m.map((x) => x.dUsage)))} | ${mib(median(m.map((x) => x.rUsage)))} | | |`,
].join('\n');
console.log(out);
if (opt.json) writeFileSync(opt.json, JSON.stringify(results, null, 2));
