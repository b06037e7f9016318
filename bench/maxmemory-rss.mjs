#!/usr/bin/env node
/**
 * Does eviction keep RSS near maxmemory under a sustained write load?
 *
 * Starts damselfly with `--maxmemory 1gb --maxmemory-policy allkeys-lru` on
 * a heap big enough not to be the limit (--max-old-space-size=4096), notes
 * the empty server's RSS, then runs redis-benchmark SETs of 1 KiB values
 * over 10M random keys (so nearly every write is a new key and, once full,
 * costs an eviction) for DURATION seconds, sampling the server's RSS
 * (/proc/PID/status VmRSS) every 100 ms and INFO every second.
 *
 * Reports the peak RSS against the bound the issue sets:
 * 1.25 x maxmemory + the empty server's RSS; and how used_memory tracked
 * RSS once full (their ratio, min/max over the samples).
 *
 *   node bench/maxmemory-rss.mjs [--maxmemory 1gb] [--duration 120] [--value 1024]
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient } from './resp.mjs';
import { parseInfo } from './servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const MAXMEMORY = arg('maxmemory', '1gb');
const DURATION = Number(arg('duration', '120'));
const VALUE = Number(arg('value', '1024'));
const MB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'df-rss-'));
  const proc = spawn(
    process.execPath,
    ['--max-semi-space-size=8', '--max-old-space-size=4096', path.join(ROOT, 'dist/main.js'), '--port', '0', '--dir', dir, '--save', '', '--maxmemory', MAXMEMORY, '--maxmemory-policy', 'allkeys-lru'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let port = 0;
  await new Promise((resolve, reject) => {
    let buf = '';
    proc.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    proc.stdout.on('data', (d) => {
      buf += d;
      for (const line of buf.split('\n')) {
        try {
          const j = JSON.parse(line);
          if (j.msg === 'listening') port = j.port;
          if (j.msg === 'ready to accept connections') resolve();
        } catch {}
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
  });
  proc.stdout.resume();
  const c = await RespClient.connect(port);
  const info = async () => parseInfo(await c.call('INFO'));
  await sleep(500);
  const emptyRss = rssOf(proc.pid);
  const maxmemory = Number((await info()).maxmemory);
  const bound = 1.25 * maxmemory + emptyRss;
  console.log(`maxmemory ${(maxmemory / MB).toFixed(0)} MB, empty server RSS ${(emptyRss / MB).toFixed(1)} MB, bound ${(bound / MB).toFixed(0)} MB`);

  const bench = spawn('redis-benchmark', ['-p', String(port), '-t', 'set', '-r', '10000000', '-d', String(VALUE), '-P', '16', '-c', '50', '-n', '100000000', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const t0 = Date.now();
  let peakRss = 0;
  let peakAt = 0;
  const ratios = [];
  let last = null;
  let nextInfo = t0 + 1000;
  while (Date.now() - t0 < DURATION * 1000) {
    const rss = rssOf(proc.pid);
    if (rss > peakRss) {
      peakRss = rss;
      peakAt = (Date.now() - t0) / 1000;
    }
    if (Date.now() >= nextInfo) {
      nextInfo += 1000;
      last = await info();
      const used = Number(last.used_memory);
      // Once full (evicting), how RSS relates to used_memory.
      if (Number(last.evicted_keys) > 0) ratios.push(rss / used);
      const s = Math.round((Date.now() - t0) / 1000);
      if (s % 10 === 0) {
        console.log(`${s}s rss ${(rss / MB).toFixed(0)} MB used_memory ${(used / MB).toFixed(0)} MB keys ${last.db0?.split(',')[0] ?? 0} evicted ${last.evicted_keys} ops/s ${last.instantaneous_ops_per_sec}`);
      }
    }
    await sleep(100);
  }
  bench.kill('SIGINT');
  const evicted = Number(last.evicted_keys);
  ratios.sort((a, b) => a - b);
  const q = (p) => ratios[Math.min(ratios.length - 1, Math.floor(p * ratios.length))];
  console.log(
    JSON.stringify(
      {
        maxmemoryMB: maxmemory / MB,
        emptyRssMB: +(emptyRss / MB).toFixed(1),
        boundMB: +(bound / MB).toFixed(0),
        peakRssMB: +(peakRss / MB).toFixed(0),
        peakAtS: peakAt,
        withinBound: peakRss <= bound,
        peakOverMaxmemory: +(peakRss / maxmemory).toFixed(3),
        rssOverUsedMemory: ratios.length ? { min: +q(0).toFixed(3), median: +q(0.5).toFixed(3), max: +q(1).toFixed(3) } : null,
        evictedKeys: evicted,
        durationS: DURATION,
        valueBytes: VALUE,
      },
      null,
      1,
    ),
  );
  c.close?.();
  proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
