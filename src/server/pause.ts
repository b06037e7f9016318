/**
 * CLIENT PAUSE / UNPAUSE (networking.c pauseClients): for a while, commands
 * of other clients wait instead of running — all of them (ALL), or those
 * that may write or propagate (WRITE: write and may_replicate commands,
 * scripts that may write, an EXEC whose queue holds one). A waiting
 * command is put back in front of its client's pipeline and the client is
 * suspended; on unpause (or when the time is up) every postponed client
 * runs it again, in the order they arrived, and may be postponed again if
 * a pause is still on. While paused, keys are neither expired nor
 * evicted, so nothing changes the dataset behind the pause.
 */
import type { Client } from './client.js';
import type { Server } from './server.js';
import type { CommandSpec } from '../commands/spec.js';
import { putBack } from './read-ahead.js';

export type PauseType = 'off' | 'write' | 'all';
const RANK: Record<PauseType, number> = { off: 0, write: 1, all: 2 };

/** Read by the dispatcher and the keyspace: one field to look at on the hot path. */
export const pauseState = { type: 'off' as PauseType, end: 0 };

const postponed: Client[] = [];
let timer: NodeJS.Timeout | null = null;
let server: Server | null = null;

/** CLIENT PAUSE: the more restrictive type and the later end win over a pause already on. */
export function pauseClients(srv: Server, endMs: number, type: PauseType): void {
  server = srv;
  srv.ks.changesHeld = true;
  if (RANK[type] > RANK[pauseState.type]) pauseState.type = type;
  pauseState.end = Math.max(pauseState.end, endMs);
  if (timer !== null) clearTimeout(timer);
  timer = setTimeout(() => unpauseClients(), Math.max(0, pauseState.end - Date.now()));
  timer.unref();
}

export function unpauseClients(): void {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (pauseState.type === 'off') return;
  pauseState.type = 'off';
  pauseState.end = 0;
  if (server !== null) server.ks.changesHeld = false;
  const waiting = postponed.splice(0);
  for (const c of waiting) {
    if (c.closing) continue;
    server?.resume(c);
  }
}

/** Whether `spec` with `args` must wait under the current pause (the caller checked a pause is on). */
export function mustWait(c: Client, spec: CommandSpec, args: string[]): boolean {
  if (pauseState.type === 'all') return true;
  if (spec.name === 'exec') return c.multi !== null && c.multi.queue.some((q) => mayWrite(q.spec, q.args));
  return mayWrite(spec, args);
}

function mayWrite(spec: CommandSpec, args: string[]): boolean {
  if (spec.mayWrite !== undefined) return spec.mayWrite(args);
  return spec.flags.includes('write') || spec.flags.includes('may_replicate');
}

/** Hold c's command until the pause ends: it runs again from the front of c's pipeline. */
export function postpone(c: Client, args: string[]): void {
  putBack(c, args);
  c.suspended = true;
  postponed.push(c);
}

export function postponedCount(): number {
  let n = 0;
  for (const c of postponed) if (!c.closing) n++;
  return n;
}

export function forgetPostponed(c: Client): void {
  const i = postponed.indexOf(c);
  if (i >= 0) postponed.splice(i, 1);
}
