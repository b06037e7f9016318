#!/usr/bin/env node
/**
 * Throughput over TLS side by side (issue 16): redis-benchmark --tls
 * against damselfly (--tls on its main port) and against redis-server 7.0
 * (Debian's build, its tls-port), GET and SET at -P 1 and -P 16 with
 * -r 1000000 over 50 clients. Certificates (a CA and a server certificate
 * for 127.0.0.1) are made at run time with openssl in a temporary folder.
 * Both servers run back to back per repetition (order alternates); ratios
 * are per repetition, the median is reported with [min-max], for ops/s and
 * for ops per server CPU-second (utime+stime from /proc: on a shared 2-core
 * machine wall-clock ops/s mostly measures who got the cores).
 *
 * usage: node bench/tls.mjs [--reps 3] [--n 200000] [--write]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, freePort, redisBenchmark, startDamselfly, startRedis } from './servers.mjs';
import { resultsSection } from './results-file.mjs';

const { values: opt } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    n: { type: 'string', default: '200000' },
    write: { type: 'boolean', default: false },
  },
});
const REPS = Number(opt.reps);
const N = Number(opt.n);

const certs = mkdtempSync(path.join(tmpdir(), 'bench-tls-certs-'));
const f = (name) => path.join(certs, name);
const ssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=damselfly-bench-ca');
ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1');
ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '1', '-extfile', f('server.ext'));

const WORKLOADS = [
  { name: 'SET', args: ['-t', 'set'] },
  { name: 'GET', args: ['-t', 'get'] },
];

function rps(csv) {
  const line = csv.trim().split('\n').pop();
  return Number(JSON.parse('[' + line + ']')[1]);
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** A server speaking TLS; `port` is the TLS one. */
async function withServer(kind, fn) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-tls-'));
  let srv;
  let port;
  if (kind === 'damselfly') {
    srv = await startDamselfly(dir, { args: ['--tls', '--tls_cert_file', f('server.crt'), '--tls_key_file', f('server.key')] });
    port = srv.port;
  } else {
    // The plain port stays for startRedis's readiness probe; the bench uses the TLS one.
    port = await freePort();
    srv = await startRedis(dir, ['--tls-port', String(port), '--tls-cert-file', f('server.crt'), '--tls-key-file', f('server.key'), '--tls-ca-cert-file', f('ca.crt'), '--tls-auth-clients', 'no']);
  }
  try {
    return await fn(port, srv.pid);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const TLS = ['--tls', '--cacert', f('ca.crt'), '--sni', 'localhost'];

async function run(port, pid) {
  const out = {};
  // Warm-up (node's JIT, and the keyspace GET reads), not measured.
  await redisBenchmark(port, [...TLS, '-P', '16', '-n', '100000', '-r', '1000000', '-t', 'set']);
  for (const p of ['1', '16']) {
    for (const w of WORKLOADS) {
      const n = String(p === '1' ? N / 2 : N * 2);
      const cpu0 = cpuSeconds(pid);
      const ops = rps(await redisBenchmark(port, [...TLS, '-P', p, '-n', n, '-r', '1000000', ...w.args]));
      const cpu = cpuSeconds(pid) - cpu0;
      out[`${w.name}|${p}`] = { ops, perCpu: Number(n) / Math.max(cpu, 0.01) };
    }
  }
  return out;
}

const results = {};
const load0 = loadavg();
const start = Date.now();
try {
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? ['damselfly', 'redis'] : ['redis', 'damselfly'];
    const got = {};
    for (const kind of order) got[kind] = await withServer(kind, run);
    for (const k of Object.keys(got.damselfly)) {
      const d = got.damselfly[k];
      const r = got.redis[k];
      (results[k] ??= []).push({ d: d.ops, r: r.ops, ratio: d.ops / r.ops, dc: d.perCpu, rc: r.perCpu, cratio: d.perCpu / r.perCpu });
    }
    console.error(`rep ${rep + 1}/${REPS}:`, JSON.stringify(got));
  }
} finally {
  rmSync(certs, { recursive: true, force: true });
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const range = (a) => `**${median(a).toFixed(2)}** [${Math.min(...a).toFixed(2)}-${Math.max(...a).toFixed(2)}]`;
const lines = [
  `- date: ${new Date().toISOString()} (run took ${Math.round((Date.now() - start) / 1000)} s), ${REPS} repetition(s), order alternating; \`node bench/tls.mjs\``,
  `- redis-benchmark --tls --cacert (TLS 1.3, RSA-2048 certificate made at run time) -c 50 -r 1000000, -n ${fmt(N / 2)} at -P 1 and ${fmt(N * 2)} at -P 16; damselfly with --tls on its main port, redis-server 7.0.15 with tls-port (tls-auth-clients no)`,
  `- load average at start: ${load0.map((x) => x.toFixed(2)).join(' / ')}, at end: ${loadavg().map((x) => x.toFixed(2)).join(' / ')} (2 cores${load0[0] > 3 ? '; a loaded machine, so the CPU-normalised ratio is the steadier figure' : ''})`,
  '',
  '| workload | config | damselfly ops/s | redis ops/s | ratio (median [min-max]) | damselfly ops/CPU-s | redis ops/CPU-s | CPU ratio |',
  '|---|---|---|---|---|---|---|---|',
];
for (const [k, rs] of Object.entries(results)) {
  const [name, p] = k.split('|');
  lines.push(
    `| ${name} | -P ${p} | ${fmt(median(rs.map((x) => x.d)))} | ${fmt(median(rs.map((x) => x.r)))} | ${range(rs.map((x) => x.ratio))} | ${fmt(median(rs.map((x) => x.dc)))} | ${fmt(median(rs.map((x) => x.rc)))} | ${range(rs.map((x) => x.cratio))} |`,
  );
}
const md = lines.join('\n') + '\n';
console.log(md);
if (opt.write) resultsSection('tls').write('## TLS throughput side by side (issue 16)\n\n' + md);
