/**
 * The one question the dispatcher asks about memory before running a
 * command: may it run, or must it be refused with an OOM error? Redis's
 * processCommand block "if (server.maxmemory ...)".
 *
 * Reasons to refuse: used_memory over maxmemory with nothing evictable
 * (noeviction, or no candidate keys), and whatever `extraMemoryChecks`
 * report (e.g. the V8 heap near its limit). Under any of them the same
 * commands are refused as in Redis 7.0: those flagged denyoom, EXEC of a
 * transaction that queued one, and, inside MULTI, every command but EXEC,
 * DISCARD, QUIT and RESET (queueing itself takes memory).
 */
import type { CommandSpec } from '../commands/spec.js';
import type { Client } from '../server/client.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import { Evict, performEvictions } from './evict.js';
import { mem } from './settings.js';
import { heapRefusal } from './heap.js';

export const OOM_ERROR = "OOM command not allowed when used memory > 'maxmemory'.";

/** More reasons to refuse memory-growing commands: each returns an error text, or null if fine. */
export const extraMemoryChecks: (() => string | null)[] = [heapRefusal];

const ALLOWED_IN_MULTI = new Set(['exec', 'discard', 'quit', 'reset']);

/** Evicts if needed; returns the error to refuse `spec` with, or null to run it. */
export function memoryGuard(ks: Keyspace, c: Client, spec: CommandSpec): string | null {
  let reason: string | null = null;
  if (mem.maxmemory !== 0 && performEvictions(ks) === Evict.FAIL) reason = OOM_ERROR;
  for (let i = 0; reason === null && i < extraMemoryChecks.length; i++) reason = extraMemoryChecks[i]();
  if (reason === null) return null;
  if (spec.pre!.denyOom) return reason;
  const m = c.multi;
  if (m !== null) {
    if (!ALLOWED_IN_MULTI.has(spec.name)) return reason;
    if (spec.name === 'exec' && m.queue.some((q) => q.spec.pre!.denyOom)) return reason;
  }
  return null;
}

/** True when the dispatcher must call memoryGuard at all (the common case costs one test). */
export function memoryGuardActive(): boolean {
  return mem.maxmemory !== 0 || extraMemoryChecks.length !== 0;
}
