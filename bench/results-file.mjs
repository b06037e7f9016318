/**
 * A bench's own section of bench/RESULTS.md, between markers, so a rerun
 * with --write replaces only that section and leaves the prose around it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');

/** `name` is the bench's file name without .mjs. */
export function resultsSection(name) {
  const begin = `<!-- ${name}: begin (rewritten by bench/${name}.mjs --write) -->`;
  const end = `<!-- ${name}: end -->`;
  const wrap = (md) => `${begin}\n${md}${end}\n`;
  function write(md, file = RESULTS) {
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const i = old.indexOf(begin);
    const j = old.indexOf(end);
    const next = i >= 0 && j > i ? old.slice(0, i) + wrap(md) + old.slice(j + end.length + 1) : old + '\n' + wrap(md);
    writeFileSync(file, next);
  }
  return { wrap, write };
}
