/**
 * Copy-on-write inside a collection, for snapshots of values too large to
 * write in one go (Dragonfly serializes big values in chunks; Node has no
 * fork to freeze them for us).
 *
 * A snapshot writing a big hash, set or sorted set walks its live Map a
 * piece at a time while clients keep changing it. Meanwhile the value keeps
 * before-images: the first change to a member records what the member was
 * (its value, or undefined if it did not exist) in `undo`. The walk skips
 * recorded members and, once the live Map is done, writes the recorded ones
 * that existed. So every member present at the start is written with its
 * value at the start, members added later are not, and the cost of a write
 * is one Map lookup while the snapshot runs, nothing otherwise.
 *
 * A member written by the walk and changed afterwards is recorded too, and
 * written a second time with the same value: readers must treat a repeated
 * member as harmless (builders overwrite, and the values are equal).
 */

/** A collection that can keep before-images of its members. */
export interface BeforeImages<V> {
  /** Member -> value before its first change since the walk began (undefined: absent). */
  undo: Map<string, V | undefined> | null;
}

/** Record `member`'s value before a change, if a snapshot walk is open. Call before changing it. */
export function recordBefore<V>(owner: BeforeImages<V>, member: string, before: V | undefined): void {
  const undo = owner.undo;
  if (undo !== null && !undo.has(member)) undo.set(member, before);
}

/**
 * The members of `live` as they are at the first next() call, in pieces of
 * up to `per` items (`pairs`: member and value; otherwise members only),
 * even if `live` changes between pieces. Drain the iterator or call
 * return() on it: until then the owner keeps before-images.
 */
export function* piecesAtStart<V>(owner: BeforeImages<V>, live: Map<string, V>, per: number, pairs: boolean): Generator<unknown[], void, undefined> {
  const undo = new Map<string, V | undefined>();
  owner.undo = undo;
  try {
    let piece: unknown[] = [];
    for (const [member, value] of live) {
      if (undo.has(member)) continue;
      if (pairs) piece.push(member, value);
      else piece.push(member);
      if (piece.length >= per) {
        yield piece;
        piece = [];
      }
    }
    // Every member present at the start is now written or recorded: later
    // changes no longer matter, and the record stops growing.
    owner.undo = null;
    for (const [member, value] of undo) {
      if (value === undefined) continue;
      if (pairs) piece.push(member, value);
      else piece.push(member);
      if (piece.length >= per) {
        yield piece;
        piece = [];
      }
    }
    if (piece.length > 0) yield piece;
  } finally {
    if (owner.undo === undo) owner.undo = null;
  }
}
