/**
 * A full garbage collection on demand (MEMORY PURGE, idle-release.ts).
 * Node exposes gc() only under --expose-gc; the flag can also be set at
 * run time, after which a new V8 context has the function. No flag is
 * needed on the command line, so every way of starting the server has it.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gcFn: (() => void) | null = null;

function load(): (() => void) | null {
  if (gcFn !== null) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return (gcFn = g);
  try {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Run a full, compacting collection now; false if this V8 would not give us gc(). */
export function fullGc(): boolean {
  const g = load();
  if (g === null) return false;
  g();
  return true;
}
