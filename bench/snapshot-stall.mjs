#!/usr/bin/env node
/**
 * Does a write to a huge collection wait for the snapshot? (issue 4: "no
 * single key blocks the event loop for long")
 *   npm run build && node bench/snapshot-stall.mjs [--members 1000000] [--server other/dist/main.js]
 *
 * Each server (damselfly, then redis-server, never at the same time) gets
 * four values of --members elements each (a zset, a hash, a set, a list)
 * plus 200k strings. One client then writes to the four big values in turn
 * (ZADD, HSET, SADD, LPUSH, each a fresh member, one round trip at a time)
 * for 1 s before a BGSAVE and while it runs, sending the BGSAVE from a
 * second connection between two of its writes. Reported: the slowest write
 * and p99 before and during the snapshot, and how long the snapshot took.
 * Redis forks, so its writes during the snapshot pay for copy-on-write page
 * faults; damselfly's pay for taking each value's first piece and keeping
 * before-images (src/types/before-images.ts).
 *
 * Prints a markdown table; with --write it replaces the section
 * "## Snapshot stall on huge values (issue 4)" in bench/RESULTS.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient, encode } from './resp.mjs';
import { NODE_FLAGS, parseInfo, startDamselfly, startRedis } from './servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const MEMBERS = Number(argv.includes('--members') ? argv[argv.indexOf('--members') + 1] : 1_000_000);
const STRINGS = 200_000;
/** Another build's dist/main.js, to compare before and after a change. */
const SERVER = argv.includes('--server') ? path.resolve(argv[argv.indexOf('--server') + 1]) : undefined;
const SECTION = '## Snapshot stall on huge values (issue 4)';
const log = (s) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

/** Pipelined fill: BATCH elements per command, 64 commands per write. */
async function fill(c) {
  const BATCH = 1000;
  let payload = '';
  let n = 0;
  const flush = async () => {
    if (n > 0) await c.pipeline(payload, n);
    payload = '';
    n = 0;
  };
  for (let i = 0; i < MEMBERS; i += BATCH) {
    const z = ['ZADD', 'bigz'];
    const h = ['HSET', 'bigh'];
    const s = ['SADD', 'bigs'];
    const l = ['RPUSH', 'bigl'];
    for (let j = i; j < Math.min(MEMBERS, i + BATCH); j++) {
      z.push(j, `member:${j}`);
      h.push(`field:${j}`, `value:${j}`);
      s.push(`member:${j}`);
      l.push(`element:${j}`);
    }
    payload += encode(z) + encode(h) + encode(s) + encode(l);
    n += 4;
    if (n >= 64) await flush();
  }
  for (let i = 0; i < STRINGS; i += 1000) {
    const m = ['MSET'];
    for (let j = i; j < i + 1000; j++) m.push(`key:${j}`, 'x'.repeat(80));
    payload += encode(m);
    n++;
    if (n >= 64) await flush();
  }
  await flush();
}

function stats(lat) {
  const a = lat.slice().sort((x, y) => x - y);
  return { n: a.length, p99: a[Math.floor(a.length * 0.99)] ?? 0, max: a[a.length - 1] ?? 0 };
}

async function measure(kind) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `stall-${kind}-`));
  const s = kind === 'damselfly' ? await startDamselfly(dir, SERVER) : await startRedis(dir);
  try {
    const c = await RespClient.connect(s.port);
    const ctl = await RespClient.connect(s.port);
    log(`${kind}: filling 4 x ${MEMBERS} elements + ${STRINGS} strings`);
    await fill(c);
    const writes = [(i) => ['ZADD', 'bigz', i, `new:${i}`], (i) => ['HSET', 'bigh', `new:${i}`, 'v'], (i) => ['SADD', 'bigs', `new:${i}`], (i) => ['LPUSH', 'bigl', `new:${i}`]];
    let i = 0;
    const timed = async () => {
      const cmd = writes[i % 4](i);
      i++;
      const t = performance.now();
      const r = await c.call(...cmd);
      if (r instanceof Error) throw new Error(`${kind} ${cmd[0]}: ${r.message}`);
      return performance.now() - t;
    };
    const before = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 1000) before.push(await timed());
    const saves0 = Number(parseInfo(await ctl.call('INFO', 'persistence')).rdb_saves);
    const tSave = performance.now();
    const started = ctl.call('BGSAVE');
    const during = [];
    let done = false;
    let polling = Promise.resolve();
    let saveMs = 0;
    // Writes keep going; INFO on the second connection says when the save is over.
    while (!done) {
      during.push(await timed());
      polling = polling.then(async () => {
        if (done) return;
        const info = parseInfo(await ctl.call('INFO', 'persistence'));
        if (info.rdb_bgsave_in_progress === '0' && Number(info.rdb_saves) > saves0) {
          done = true;
          saveMs = performance.now() - tSave;
        }
      });
      if (during.length % 50 === 0) await polling;
      if (performance.now() - tSave > 300_000) throw new Error(`${kind}: BGSAVE not done after 300 s`);
    }
    const r = await started;
    if (r instanceof Error) throw new Error(`${kind} BGSAVE: ${r.message}`);
    c.close();
    ctl.close();
    return { before: stats(before), during: stats(during), saveMs };
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const t = performance.now();
  const load0 = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
  const d = await measure('damselfly');
  const r = await measure('redis');
  const f = (x) => x.toFixed(2);
  const rows = [
    '| | damselfly | redis-server |',
    '|---|---|---|',
    `| writes before BGSAVE: count, p99, max (ms) | ${d.before.n}, ${f(d.before.p99)}, ${f(d.before.max)} | ${r.before.n}, ${f(r.before.p99)}, ${f(r.before.max)} |`,
    `| writes during BGSAVE: count, p99, max (ms) | ${d.during.n}, ${f(d.during.p99)}, ${f(d.during.max)} | ${r.during.n}, ${f(r.during.p99)}, ${f(r.during.max)} |`,
    `| BGSAVE duration (s) | ${f(d.saveMs / 1000)} | ${f(r.saveMs / 1000)} |`,
  ];
  const text = [
    SECTION,
    '',
    `\`node bench/snapshot-stall.mjs --members ${MEMBERS}\` — ${new Date().toISOString()}, took ${Math.round((performance.now() - t) / 1000)} s; load average at start ${load0}; node ${process.version} ${NODE_FLAGS.join(' ')}; ${os.cpus().length} cores.`,
    `One client writes a new member to a ${MEMBERS.toLocaleString('en-US')}-element zset, hash, set and list in turn (ZADD/HSET/SADD/LPUSH, one round trip at a time), for 1 s before a BGSAVE and until it is over; ${STRINGS.toLocaleString('en-US')} strings besides.`,
    '',
    ...rows,
    '',
  ].join('\n');
  process.stdout.write(text + '\n');
  if (argv.includes('--write')) {
    const file = path.join(ROOT, 'bench/RESULTS.md');
    const old = readFileSync(file, 'utf8');
    const a = old.indexOf(SECTION);
    let next;
    if (a >= 0) {
      const b = old.indexOf('\n## ', a + SECTION.length);
      next = old.slice(0, a) + text + (b >= 0 ? '\n' + old.slice(b + 1) : '');
    } else next = old.trimEnd() + '\n\n' + text;
    writeFileSync(file, next);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
