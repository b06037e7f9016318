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
  // Redis evicts before every command while maxmemory is set, refusable or not.
  const evictFailed = mem.maxmemory !== 0 && performEvictions(ks) === Evict.FAIL;
  // The other checks count and log refusals, so they are asked only for a command that would be refused.
  if (!refusable(c, spec)) return null;
  if (evictFailed) return OOM_ERROR;
  for (let i = 0; i < extraMemoryChecks.length; i++) {
    const reason = extraMemoryChecks[i]();
    if (reason !== null) return reason;
  }
  return null;
}

/** Whether `spec` is refused when memory is short (Redis's reject_cmd_on_oom). */
function refusable(c: Client, spec: CommandSpec): boolean {
  if (spec.pre!.denyOom) return true;
  const m = c.multi;
  if (m === null) return false;
  if (!ALLOWED_IN_MULTI.has(spec.name)) return true;
  return spec.name === 'exec' && m.queue.some((q) => q.spec.pre!.denyOom);
}
