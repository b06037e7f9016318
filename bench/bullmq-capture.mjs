/**
 * A BullMQ Worker's commands as captured by `bench/scripting-replay.mjs
 * --capture` (redis-cli MONITOR on a redis-server), read back as argument
 * arrays for the in-process benches (scripting-replay, scripting-instructions).
 */
import { readFileSync } from 'node:fs';

/** One MONITOR line's arguments (sdscatrepr quoting), or null for a script's own commands and other lines. */
function parseLine(line) {
  const m = /^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
  if (!m || m[1] === 'lua') return null;
  const s = m[2];
  const out = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ') {
      i++;
      continue;
    }
    i++; // opening quote
    let v = '';
    while (s[i] !== '"') {
      if (s[i] === '\\') {
        const c = s[i + 1];
        if (c === 'x') {
          v += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        v += { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '\\': '\\', '"': '"' }[c];
        i += 2;
        continue;
      }
      v += s[i++];
    }
    i++;
    out.push(v);
  }
  return out;
}

// Connection set-up and the Worker's blocking wait are not what is measured.
const SKIP = new Set(['hello', 'client', 'info', 'quit', 'bzpopmin', 'monitor', 'select']);

/** The capture's commands, without connection set-up and the blocking wait. */
export function loadCapture(file) {
  return readFileSync(file, 'latin1')
    .split('\n')
    .map(parseLine)
    .filter((a) => a && a.length && !SKIP.has(a[0].toLowerCase()));
}

