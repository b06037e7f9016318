#!/usr/bin/env node
/**
 * BullMQ's scripts counted in instructions, not time: on this shared 2-core
 * machine two runs of one build differ by 10-15% in time, which hides the
 * few percent a change of the script path makes. valgrind's callgrind
 * counts the instructions a replay executes, whatever else the machine
 * does, so two builds can be told apart by 1%.
 *
 * Each build replays the first N commands of a BullMQ capture (see
 * scripting-replay.mjs --capture) in process, P1 and then P2 times over
 * (`node --predictable --predictable-gc-schedule`: V8 compiles and collects
 * on the main thread, on a fixed heap-growing schedule), under callgrind; the difference between the
 * two counts is P2 - P1 passes of a warm server. V8's compiler and garbage
 * collector are counted apart (their share moves with where a collection
 * falls, not with the code under test); the rest, "mutator" instructions per
 * pass, is the figure to compare. Four valgrind runs, two at a time: about
 * eight minutes. Needs valgrind (Debian's package: apt-get install valgrind).
 *
 * Its noise floor is not zero: one build against itself read 1.018 and 1.048
 * (2026-12-08), the collector's share moving between the short and the long
 * run and its write barriers and allocation paths with it. So trust a
 * difference above ~5% with the default passes; more passes narrow it.
 *
 *   node bench/scripting-instructions.mjs --a OLD/dist --b NEW/dist /tmp/bull.mon [--commands 600] [--passes 4,8]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { a: { type: 'string' }, b: { type: 'string' }, commands: { type: 'string', default: '600' }, passes: { type: 'string', default: '4,8' }, child: { type: 'string' } },
});

if (opt.child) {
  // Inside valgrind: replay the capture `passes` times into a fresh keyspace each time.
  const { inProcessServer } = await import('./in-process-server.mjs');
  const { loadCapture } = await import('./bullmq-capture.mjs');
  const S = await inProcessServer(path.resolve(opt.child), { proto: 3 });
  const cmds = loadCapture(positionals[0]).slice(0, Number(opt.commands));
  for (let p = 0; p < Number(opt.passes); p++) {
    S.run(['FLUSHALL', 'SYNC']);
    S.r.drop();
    for (let i = 0; i < cmds.length; i++) {
      S.run(cmds[i]);
      if ((i & 15) === 15) S.r.drop();
    }
    S.r.drop();
  }
  process.exit(0);
}

if (!opt.a || !opt.b || positionals.length !== 1) throw new Error('--a DIST --b DIST CAPTURE');
const [p1, p2] = opt.passes.split(',').map(Number);
const work = mkdtempSync(path.join(tmpdir(), 'bench-instr-'));
const self = fileURLToPath(import.meta.url);

/** One valgrind run; resolves with its callgrind output file. */
function count(dist, passes, tag) {
  const out = path.join(work, `${tag}.${passes}`);
  const args = ['--tool=callgrind', '--smc-check=all', `--callgrind-out-file=${out}`, process.execPath, '--predictable', '--predictable-gc-schedule', self, '--child', dist, '--passes', String(passes), '--commands', opt.commands, positionals[0]];
  return new Promise((resolve, reject) => {
    const p = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`valgrind ${tag} ${passes}: exit ${code}\n${err.slice(-2000)}`))));
  });
}

const COMPILER = /compiler::|wasm::|Compil/;
const GC = /Scaveng|Marking|Mark[A-Z]|Sweep|heap::|Heap::|Evacuat|GCTracer|MinorGC/;

/** Total, compiler and GC instructions of one run. */
function split(file) {
  const text = execFileSync('callgrind_annotate', ['--threshold=100', file], { maxBuffer: 256 << 20 }).toString();
  const r = { total: 0, compiler: 0, gc: 0 };
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+) \([ \d.]+%\)\s+(.*)$/.exec(line);
    if (!m) continue;
    const n = Number(m[1].replaceAll(',', ''));
    if (m[2].includes('PROGRAM TOTALS')) r.total = n;
    else if (COMPILER.test(m[2])) r.compiler += n;
    else if (GC.test(m[2])) r.gc += n;
  }
  return r;
}

/** Per pass of a warm server, in millions: [mutator, compiler, gc]. */
function perPass(lo, hi) {
  const n = p2 - p1;
  const t = (hi.total - lo.total) / n;
  const c = (hi.compiler - lo.compiler) / n;
  const g = (hi.gc - lo.gc) / n;
  return { mutator: (t - c - g) / 1e6, compiler: c / 1e6, gc: g / 1e6 };
}

try {
  const [a1, b1] = await Promise.all([count(opt.a, p1, 'a'), count(opt.b, p1, 'b')]);
  const [a2, b2] = await Promise.all([count(opt.a, p2, 'a'), count(opt.b, p2, 'b')]);
  const A = perPass(split(a1), split(a2));
  const B = perPass(split(b1), split(b2));
  const show = (x) => `${x.mutator.toFixed(1)} M mutator (compiler ${x.compiler.toFixed(1)} M, GC ${x.gc.toFixed(1)} M)`;
  console.log(`${opt.commands} commands per pass, passes ${p1 + 1}-${p2}:`);
  console.log(`A ${show(A)}\nB ${show(B)}\nB/A mutator ${(B.mutator / A.mutator).toFixed(3)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
