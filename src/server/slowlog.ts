/**
 * The slow log (Redis's slowlog.c): commands whose execution took at least
 * `slowlog-log-slower-than` microseconds (negative: off, 0: every command),
 * newest first, at most `slowlog-max-len` entries. Each entry keeps at most
 * 32 arguments and 128 bytes of each, so a huge command costs the log
 * little, and secrets are redacted.
 */
import { defineParam } from '../config/params.js';
import type { CommandSpec } from '../commands/spec.js';
import type { Client } from './client.js';
import { redactedArgs } from './redaction.js';

const MAX_ARGC = 32;
const MAX_STRING = 128;

export interface SlowlogEntry {
  id: number;
  /** Unix time in seconds. */
  time: number;
  /** Microseconds. */
  duration: number;
  args: string[];
  peer: string;
  name: string;
}

/** Oldest first; replies read it backwards. */
const entries: SlowlogEntry[] = [];
let nextId = 0;

/** Read on every command: kept parsed here, set whenever the parameters are. */
export const slowlogSettings = { slowerThan: 10000, maxLen: 128 };

defineParam({
  name: 'slowlog-log-slower-than',
  type: 'int',
  default: '10000',
  min: -1,
  max: Number.MAX_SAFE_INTEGER,
  mutable: true,
  help: 'commands slower than this many microseconds go to the SLOWLOG (0: all, -1: none)',
  apply: (v) => (slowlogSettings.slowerThan = Number(v)),
});
defineParam({
  name: 'slowlog-max-len',
  type: 'int',
  default: '128',
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
  mutable: true,
  help: 'entries the SLOWLOG keeps (older ones are dropped)',
  apply: (v) => {
    slowlogSettings.maxLen = Number(v);
    trim();
  },
});

function trim(): void {
  const over = entries.length - slowlogSettings.maxLen;
  if (over > 0) entries.splice(0, over);
}

function shown(spec: CommandSpec, args: string[]): string[] {
  const hide = redactedArgs(spec, args);
  const n = Math.min(args.length, MAX_ARGC);
  const out = new Array<string>(n);
  for (let j = 0; j < n; j++) {
    if (n !== args.length && j === n - 1) out[j] = `... (${args.length - n + 1} more arguments)`;
    else if (hide.has(j)) out[j] = '(redacted)';
    else {
      const a = args[j];
      // A copy, not a.slice(): V8's slice of a long string keeps the whole
      // string alive, and the log would hold huge values for good.
      out[j] = a.length > MAX_STRING ? `${Buffer.from(a.slice(0, MAX_STRING), 'latin1').toString('latin1')}... (${a.length - MAX_STRING} more bytes)` : a;
    }
  }
  return out;
}

/** Log a command that took `us` microseconds, if it is slow enough (the caller checked slowerThan >= 0). */
export function slowlogPush(c: Client, spec: CommandSpec, args: string[], us: number): void {
  // EXEC is not logged: the commands it ran are (Redis's skip_slowlog).
  if (spec.name === 'exec') return;
  entries.push({ id: nextId++, time: Math.floor(Date.now() / 1000), duration: Math.floor(us), args: shown(spec, args), peer: c.addr, name: c.name });
  trim();
}

export function slowlogEntries(count: number): SlowlogEntry[] {
  const out: SlowlogEntry[] = [];
  for (let i = entries.length - 1; i >= 0 && out.length < count; i--) out.push(entries[i]);
  return out;
}

export function slowlogLen(): number {
  return entries.length;
}

export function slowlogReset(): void {
  entries.length = 0;
}
