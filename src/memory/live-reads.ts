/**
 * Copy-on-write for replies streamed straight from a stored value.
 *
 * Redis computes a reply in one go, so LRANGE of a million elements is the
 * list as it was when the command ran. A streamed reply (reply-stream.ts)
 * is written over many turns of the event loop, and copying the elements'
 * references up front costs ~30 ns each (a fifth of a second for a few
 * million, the very pause streaming is meant to avoid). So the reply reads
 * the live value, and registers here as its reader; every in-place change
 * of a value goes through Database.getForWrite first (the snapshotter
 * relies on the same rule), which calls beforeChange: the readers of that
 * value then copy what they have not written yet, and the change goes on.
 * Replacing, renaming or deleting the key does not touch the value object,
 * so a reader keeps reading it undisturbed.
 *
 * The copy is references only (strings are immutable and shared), at most
 * the value's size, and is paid only when a write meets a reply in flight.
 */

export interface LiveReader {
  /** The value is about to change: take what is still to be written. */
  detach(): void;
}

const readers = new Map<object, LiveReader[]>();

/** `reader` reads `value` live from now until it calls endLive or is detached. */
export function readLive(value: object, reader: LiveReader): void {
  const list = readers.get(value);
  if (list === undefined) readers.set(value, [reader]);
  else list.push(reader);
}

export function endLive(value: object, reader: LiveReader): void {
  const list = readers.get(value);
  if (list === undefined) return;
  const i = list.indexOf(reader);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) readers.delete(value);
}

/** Called before `value` is changed in place (Database.getForWrite). */
export function beforeChange(value: unknown): void {
  if (readers.size === 0 || typeof value !== 'object' || value === null) return;
  const list = readers.get(value);
  if (list === undefined) return;
  readers.delete(value);
  for (const r of list) r.detach();
}
