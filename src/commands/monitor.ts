/**
 * MONITOR: every command executed after it is echoed to the monitoring
 * clients, as Redis prints it: time, db, client address, quoted arguments.
 * Admin commands are not shown and passwords are redacted, as in Redis.
 */
import { cmd, NO_KEYS } from './spec.js';
import { commandObservers } from '../server/dispatch.js';
import type { Client } from '../server/client.js';
import type { CommandContext } from '../server/context.js';
import { redactedArgs } from '../server/redaction.js';
import type { CommandSpec } from './spec.js';

const monitors = new Set<Client>();
let installed = false;

/** Redis's sdscatrepr: a double-quoted string with C escapes for the unprintable bytes. */
export function quoteRepr(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '\\' || ch === '"') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c < 0x20 || c > 0x7e) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/**
 * Echo one command to the monitors. The dispatcher calls it after each
 * command; EVAL/EVALSHA/FCALL (skip_monitor) call it before running, so the
 * commands their script runs appear after them, as in Redis.
 */
export function feedMonitors(ctx: CommandContext, spec: CommandSpec, args: string[]): void {
  if (monitors.size === 0 || ctx.server.loading) return;
  feedAll(ctx, args, spec);
}

function feed(ctx: CommandContext, spec: CommandSpec, args: string[]): void {
  if (monitors.size === 0 || ctx.server.loading) return;
  const f = spec.flags as string[];
  if (f.includes('admin') || f.includes('skip_monitor')) return;
  feedAll(ctx, args, spec);
}

function feedAll(ctx: CommandContext, args: string[], spec?: CommandSpec): void {
  const t = performance.timeOrigin + performance.now();
  const sec = Math.floor(t / 1000);
  const usec = Math.floor((t - sec * 1000) * 1000);
  const hide = spec ? redactedArgs(spec, args) : new Set<number>();
  const argv = args.map((a, i) => (hide.has(i) ? '"(redacted)"' : quoteRepr(a)));
  const line = `+${sec}.${String(usec).padStart(6, '0')} [${ctx.db.id} ${ctx.client.addr}] ${argv.join(' ')}\r\n`;
  const buf = Buffer.from(line, 'latin1');
  for (const m of monitors) if (m !== ctx.client || spec?.name !== 'monitor') m.sendRaw(buf);
}

/** CLIENT LIST shows a monitor with flag O. */
export function isMonitor(c: Client): boolean {
  return monitors.has(c);
}

/** RESET ends MONITOR mode, as Redis's clearClientConnectionState. */
export function stopMonitoring(c: Client): void {
  monitors.delete(c);
}

export const monitorCommand = cmd(
  'monitor',
  1,
  'admin noscript loading stale',
  NO_KEYS,
  'admin slow dangerous',
  { group: 'server', summary: 'Listen for all requests received by the server in real time' },
  (ctx) => {
    if (!installed) {
      installed = true;
      commandObservers.push(feed);
      ctx.server.clientClosedHooks.push((c) => monitors.delete(c));
    }
    monitors.add(ctx.client);
    ctx.r.ok();
  },
);
