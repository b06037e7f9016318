/**
 * The collection kinds the snapshot proof populates and mutates: every
 * registered data type (through its own structure's API), plus the
 * test-only TestColl that forces the piecewise paths.
 */
import type { CollectionValue } from '../../src/types/value.js';
import { TestColl } from './snapshot.js';

export interface Kind {
  name: string;
  type: string;
  make(size: number, seed: number): CollectionValue;
  /** Change v in place (the caller took it with getForWrite). */
  mutate(v: CollectionValue, i: number): void;
}

export function collectionKinds(): Kind[] {
  return [
    {
      name: 'tcoll',
      type: 'stream',
      make: (size, seed) => new TestColl(Array.from({ length: size }, (_, i) => (i % 4 === 3 ? seed + i / 7 : `e${seed}:${i}\xff\x00`))),
      mutate: (v, i) => {
        const t = v as TestColl;
        if (i % 3 === 0) t.items.pop();
        else t.items.push(`m${i}`);
      },
    },
  ];
}
