/**
 * The collection kinds the snapshot proof populates and mutates: every
 * registered data type (through its own structure's API), plus the
 * test-only TestColl that forces the piecewise paths.
 */
import type { CollectionValue } from '../../src/types/value.js';
import { TestColl } from './snapshot.js';
import { ListValue } from '../../src/types/list.js';
import { HashValue } from '../../src/types/hash.js';
import { RedisSet } from '../../src/types/set.js';
import { SortedSet } from '../../src/types/zset.js';

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
      name: 'list',
      type: 'list',
      make: (size, seed) => {
        const l = new ListValue();
        for (let i = 0; i < size; i++) l.pushTail(`l${seed}:${i}\x00\xff`);
        return l;
      },
      mutate: (v, i) => {
        const l = v as ListValue;
        if (i % 3 === 0) l.popHead();
        else if (i % 3 === 1) l.pushTail(`pushed${i}`);
        else l.setAt(0, `set${i}`);
      },
    },
    {
      name: 'hash',
      type: 'hash',
      make: (size, seed) => {
        const h = new HashValue();
        for (let i = 0; i < size; i++) h.set(`f${i}\x80`, `h${seed}:${i}`);
        return h;
      },
      mutate: (v, i) => {
        const h = v as HashValue;
        if (i % 2 === 0) h.set(`f${i % 5}\x80`, `changed${i}`);
        else h.delete(h.m.keys().next().value as string);
      },
    },
    {
      name: 'set',
      type: 'set',
      make: (size, seed) => {
        const st = new RedisSet();
        // Integers (intset-like) and binary members.
        for (let i = 0; i < size; i++) st.add(i % 2 ? String(seed * 10000 + i) : `m${seed}:${i}\xfe`);
        return st;
      },
      mutate: (v, i) => {
        const st = v as RedisSet;
        if (i % 2 === 0) st.add(`added${i}`);
        else st.delete(st.random());
      },
    },
    {
      name: 'zset',
      type: 'zset',
      make: (size, seed) => {
        const z = new SortedSet();
        const special = [-0, Infinity, -Infinity, 0.1, 1e-300, -2.5];
        for (let i = 0; i < size; i++) z.set(`z${seed}:${i}\x00`, i < special.length ? special[i] : (seed * 31 + i) / 3);
        return z;
      },
      mutate: (v, i) => {
        const z = v as SortedSet;
        if (i % 2 === 0) z.set(`z-new${i}`, i / 7);
        else {
          const first = z.at(0);
          if (first !== null) z.delete(first.member);
        }
      },
    },
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
