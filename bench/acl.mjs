/**
 * What ACL checks cost on the hot path: GET and SET at -P 1 and -P 16
 * (redis-benchmark -c 50), side by side with redis-server 7.0.15:
 *  - as the default user (everything allowed: one property read per command),
 *  - as a user limited to keys `key:*` (a key-pattern check per command),
 *  - and, with BASELINE=path/to/other/dist/main.js, this build's default
 *    user against that build (e.g. main before ACL), to show no regression.
 * Each repetition runs the servers back to back (order alternating); ratios
 * are per repetition, the median shown with [min-max].
 *
 *   node bench/acl.mjs [--reps 3] [--n 1000000] [--write]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import path from 'node:path';
import { startDamselfly, startRedis, redisBenchmark, cpuSeconds } from './servers.mjs';
import { RespClient } from './resp.mjs';
import { resultsSection } from './results-file.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf('--' + name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const REPS = opt('reps', 3);
const N = opt('n', 1_000_000);
const BASELINE = process.env.BASELINE ?? null;
const USER_RULES = ['on', '>bench-pass', '~key:*', '+@all'];

async function withServer(kind, fn) {
  const dir = mkdtempSync(path.join(tmpdir(), 'acl-bench-'));
  const s = kind === 'redis' ? await startRedis(dir) : await startDamselfly(dir, kind === 'baseline' ? { main: BASELINE } : {});
  try {
    const c = await RespClient.connect(s.port);
    await c.call('ACL', 'SETUSER', 'bench', ...USER_RULES);
    c.close();
    return await fn(s);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ops/s and ops per server CPU-second of one redis-benchmark test. */
async function measure(s, test, pipeline, user) {
  const auth = user ? ['--user', 'bench', '-a', 'bench-pass'] : [];
  const cpu0 = cpuSeconds(s.pid);
  const out = await redisBenchmark(s.port, [...auth, '-t', test, '-P', String(pipeline), '-n', String(N), '-r', '100000']);
  const cpu = cpuSeconds(s.pid) - cpu0;
  const line = out.trim().split('\n').find((l) => l.startsWith(`"${test.toUpperCase()}"`));
  const ops = Number(JSON.parse('[' + line + ']')[1]);
  return { ops, perCpu: N / cpu };
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const f2 = (n) => n.toFixed(2);

const comparisons = [
  { name: 'default user', a: 'damselfly', b: 'redis', user: false },
  { name: 'user with ~key:*', a: 'damselfly', b: 'redis', user: true },
];
if (BASELINE) comparisons.push({ name: 'default user, this build vs BASELINE', a: 'damselfly', b: 'baseline', user: false });

const rows = [];
const load0 = loadavg();
const t0 = Date.now();
for (const cmp of comparisons) {
  for (const test of ['get', 'set']) {
    for (const p of [1, 16]) {
      const ratios = [];
      const cpuRatios = [];
      const as = [];
      const bs = [];
      for (let rep = 0; rep < REPS; rep++) {
        const order = rep % 2 === 0 ? [cmp.a, cmp.b] : [cmp.b, cmp.a];
        const got = {};
        for (const kind of order) got[kind] = await withServer(kind, (s) => measure(s, test, p, cmp.user));
        as.push(got[cmp.a]);
        bs.push(got[cmp.b]);
        ratios.push(got[cmp.a].ops / got[cmp.b].ops);
        cpuRatios.push(got[cmp.a].perCpu / got[cmp.b].perCpu);
      }
      const row = {
        cmp: cmp.name, test: test.toUpperCase(), p,
        a: median(as.map((x) => x.ops)), b: median(bs.map((x) => x.ops)),
        ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios),
        cpu: median(cpuRatios), cmin: Math.min(...cpuRatios), cmax: Math.max(...cpuRatios),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
const load1 = loadavg();
const md =
  `## ACL on the hot path (bench/acl.mjs)\n\n` +
  `- date: ${new Date().toISOString()} (run took ${Math.round((Date.now() - t0) / 1000)} s), ${cpus().length} cores, load average at start ${load0.map(f2).join(' / ')}, at end ${load1.map(f2).join(' / ')}` +
  ` (the machine was shared with other test runs: expect noise)\n` +
  `- redis-benchmark -c 50 -n ${N} -r 100000, ${REPS} repetition(s), ratio = first / second server per repetition, median [min-max]; CPU = ops per server CPU-second\n` +
  `- "user with ~key:*": both servers authenticated as \`ACL SETUSER bench on >... ~key:* +@all\`, so every command checks its key against a pattern\n\n` +
  `| comparison | test | -P | first ops/s | second ops/s | ops ratio | CPU ratio |\n|---|---|---|---|---|---|---|\n` +
  rows
    .map((r) => `| ${r.cmp} (${r.cmp.includes('BASELINE') ? 'this build / baseline' : 'damselfly / redis'}) | ${r.test} | ${r.p} | ${fmt(r.a)} | ${fmt(r.b)} | **${f2(r.ratio)}** [${f2(r.min)}-${f2(r.max)}] | **${f2(r.cpu)}** [${f2(r.cmin)}-${f2(r.cmax)}] |`)
    .join('\n') +
  '\n';
console.log(md);
if (argv.includes('--write')) resultsSection('acl').write(md);
