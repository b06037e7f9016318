#!/usr/bin/env node
/**
 * The key table alone, old against new, in-process: heap bytes per key and
 * ns per operation for N keys of 16-byte keys and 16-byte values.
 *
 *   npm run build && node bench/keytable-mem.mjs [--keys 1000000] [--old 20b648f] [--runs 3]
 *
 * "old" is src/keyspace/table.ts at git revision --old (default: the Map-per-
 * segment table, before the open-addressing one), transpiled into a temp
 * folder; "old+meta" is that table plus a parallel Map<string, number> per
 * segment for the 24-bit LRU/LFU field, the obvious way to add it; "new" is
 * dist/keyspace/table.js. Each measurement runs in a fresh
 * `node --expose-gc` child, variants interleaved run by run, so they share
 * the machine's noise; the median over --runs is printed.
 *
 * Heap bytes are the table's own structures (used_heap_size after full GCs,
 * minus the same with only the key and value strings alive): the strings
 * cost the same in every variant. get/put are on keys in random order; times
 * are the child's CPU time per operation (wall time would count other
 * processes' turns on a shared machine).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], Number(process.argv[5]));
} else {
  await main();
}

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i < 0 ? def : process.argv[i + 1];
}

async function main() {
  const n = Number(arg('--keys', '1000000'));
  const rev = arg('--old', '20b648f');
  const runs = Number(arg('--runs', '3'));
  const ts = (await import(pathToFileURL(join(root, 'node_modules/typescript/lib/typescript.js')).href)).default;
  const dir = mkdtempSync(join(tmpdir(), 'keytable-old-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    for (const f of ['table', 'hash']) {
      const src = execFileSync('git', ['show', `${rev}:src/keyspace/${f}.ts`], { cwd: root, encoding: 'utf8' });
      const js = ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 } }).outputText;
      writeFileSync(join(dir, `${f}.js`), js);
    }
    const variants = [
      ['old', join(dir, 'table.js')],
      // The parallel meta Map only makes sense for the Map-per-segment table.
      ...(rev === '20b648f' ? [['old+meta', join(dir, 'table.js')]] : []),
      ['new', join(root, 'dist/keyspace/table.js')],
    ];
    const results = new Map(variants.map(([name]) => [name, []]));
    for (let r = 0; r < runs; r++) {
      for (const [name, path] of variants) {
        const p = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', name, path, String(n)], { encoding: 'utf8' });
        if (p.status !== 0) throw new Error(`${name}: ${p.stderr}`);
        results.get(name).push(JSON.parse(p.stdout));
      }
    }
    const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const fields = [
      ['heap B/key', 'bytesPerKey', 1],
      ['+TTL B/key', 'ttlBytesPerKey', 1],
      ['insert ns', 'insertNs', 0],
      ['get hit ns', 'getNs', 0],
      ['get miss ns', 'missNs', 0],
      ['overwrite ns', 'putNs', 0],
      ['get+TTL ns', 'getTtlNs', 0],
    ];
    console.log(`keys: ${n}, 16-byte keys and values; node ${process.version}; median of ${runs} run(s); old = ${rev}`);
    console.log(`| table | ${fields.map((f) => f[0]).join(' | ')} |`);
    console.log(`|---|${fields.map(() => '---').join('|')}|`);
    for (const [name] of variants) {
      const rs = results.get(name);
      console.log(`| ${name} | ${fields.map(([, k, d]) => med(rs.map((x) => x[k])).toFixed(d)).join(' | ')} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time of this process in ns: on a shared machine, wall time counts other processes' turns. */
function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

async function child(name, path, n) {
  const { KeyTable } = await import(pathToFileURL(path).href);
  const v8 = await import('node:v8');
  const used = () => {
    global.gc();
    global.gc();
    return v8.getHeapStatistics().used_heap_size;
  };
  // Flat latin1 strings, as the protocol parser makes them.
  const keys = new Array(n);
  const vals = new Array(n);
  const misses = new Array(n);
  for (let i = 0; i < n; i++) {
    keys[i] = Buffer.from(`key:${String(i).padStart(12, '0')}`, 'latin1').toString('latin1');
    vals[i] = Buffer.from(`val:${String(i).padStart(12, '0')}`, 'latin1').toString('latin1');
    misses[i] = Buffer.from(`nok:${String(i).padStart(12, '0')}`, 'latin1').toString('latin1');
  }
  // A random order of indexes (fixed seed).
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const base = used();
  const t = new KeyTable();
  let t0 = cpuNs();
  for (let j = 0; j < n; j++) {
    const k = keys[order[j]];
    const seg = t.segmentOf(k);
    t.willMutate(seg);
    t.put(seg, k, vals[order[j]]);
  }
  const insertNs = (cpuNs() - t0) / n;
  if (name === 'old+meta') {
    // The parallel meta map, as the old layout would carry it.
    for (const seg of t.segments()) {
      seg.meta = new Map();
      for (const k of seg.m.keys()) seg.meta.set(k, 0);
    }
  }
  const filled = used();
  const bytesPerKey = (filled - base) / n;

  const timeGets = (list) => {
    let hits = 0;
    const s = cpuNs();
    for (let j = 0; j < n; j++) if (t.get(list[order[j]]) !== undefined) hits++;
    return [(cpuNs() - s) / n, hits];
  };
  timeGets(keys);
  const [getNs, hits] = timeGets(keys);
  if (hits !== n) throw new Error(`hits ${hits}`);
  const [missNs] = timeGets(misses);
  t0 = cpuNs();
  for (let j = n - 1; j >= 0; j--) {
    const k = keys[order[j]];
    const seg = t.segmentOf(k);
    t.willMutate(seg);
    t.put(seg, k, vals[j]);
  }
  const putNs = (cpuNs() - t0) / n;

  // Every key gets a TTL: what that adds.
  const before = used();
  const now = Date.now();
  for (let j = 0; j < n; j++) {
    const k = keys[j];
    t.setExpiry(t.segmentOf(k), k, now + 3_600_000 + j);
  }
  const ttlBytesPerKey = (used() - before) / n;
  // A read as db.get does it with TTLs: value, then expiry.
  t0 = cpuNs();
  let live = 0;
  for (let j = 0; j < n; j++) {
    const k = keys[order[j]];
    const seg = t.segmentOf(k);
    const v = seg.m !== undefined ? seg.m.get(k) : t.lookup(seg, k);
    if (v !== undefined && t.getExpiry(seg, k) > now) live++;
  }
  const getTtlNs = (cpuNs() - t0) / n;
  if (live !== n) throw new Error(`live ${live}`);
  globalThis.keep = [keys, vals, misses, t];
  process.stdout.write(JSON.stringify({ bytesPerKey, ttlBytesPerKey, insertNs, getNs, missNs, putNs, getTtlNs }));
}
