/**
 * Scripting parameters. busy-reply-threshold and lua-time-limit are one
 * setting under two names, as in Redis 7.0 (each CONFIG SET updates both).
 */
import { defineParam, getInt, mirrorTo } from '../config/params.js';

defineParam({
  name: 'busy-reply-threshold',
  type: 'int',
  default: '5000',
  min: 0,
  mutable: true,
  onChange: mirrorTo('lua-time-limit'),
  help: 'ms a script (EVAL, FCALL) runs before other clients get -BUSY and SCRIPT KILL / FUNCTION KILL can stop it (0: never)',
});
defineParam({ name: 'lua-time-limit', type: 'int', default: '5000', min: 0, mutable: true, onChange: mirrorTo('busy-reply-threshold'), help: 'alias of busy-reply-threshold' });
defineParam({
  name: 'lua-memory-limit',
  flag: 'lua_memory_limit',
  type: 'memory',
  default: String(1024 * 1024 * 1024),
  min: 1024 * 1024,
  max: 1536 * 1024 * 1024,
  mutable: true,
  onChange: (v) => (memoryLimit = Number(v)),
  help: 'bytes each Lua state (scripts, functions) may allocate; past it the script fails with "not enough memory" (the WASM heap is 2 GiB at most and never shrinks)',
});

/** The threshold in ms; a start-up flag may have set either name. */
export function busyThreshold(): number {
  const a = getInt('busy-reply-threshold');
  const b = getInt('lua-time-limit');
  return a !== 5000 ? a : b;
}

/** lua-memory-limit, read once (every script run needs it; CONFIG SET updates it). */
let memoryLimit: number | null = null;
export function luaMemoryLimit(): number {
  return (memoryLimit ??= getInt('lua-memory-limit'));
}
