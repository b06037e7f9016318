/**
 * Whether a command that may grow memory can run now: the checks the
 * dispatcher makes for denyoom commands (and for anything queued in MULTI),
 * as Redis's processCommand does with performEvictions()'s verdict. Each
 * check answers the -OOM text to reply with, or null. The heap guard
 * (heap.ts) is one; maxmemory enforcement adds its own.
 */
import { heapRefusal } from './heap.js';

export const oomChecks: (() => string | null)[] = [heapRefusal];

export function oomRefusal(): string | null {
  for (let i = 0; i < oomChecks.length; i++) {
    const why = oomChecks[i]();
    if (why !== null) return why;
  }
  return null;
}
