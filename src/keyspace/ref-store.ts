/**
 * RefStore: the JS objects a KeyTable's slots stand for - collections,
 * strings too short for the ValueStore (counters, flags), and keys or values
 * that did not fit a store - reached by index, so that the table's slot
 * arrays hold numbers only.
 *
 * Why: a segment whose slots are all numbers is a FixedDoubleArray to V8,
 * which the garbage collector marks without reading a word of it. Slot
 * arrays that held pointers (even if most slots were small integers) were
 * read word by word at every major GC: at 20M keys ~700 MB of them, about a
 * second of marking a collection, done in steps on the main thread when the
 * concurrent markers fall behind (2 cores, a client on the same machine):
 * round trips of 100-220 ms under a 1 KiB SET load, in bursts just before
 * each mark-compact (bench/RESULTS.md). In process, a full GC over 600k
 * 96-word arrays took 210 ms of CPU as tagged arrays, 80 as double arrays.
 *
 * A reference is REF + index: above every int32, so a slot word is a store
 * handle (an int32) or a reference, told apart by `w >= REF`. Freed indexes
 * are reused; trim() (memory purges) cuts the free ones at the end of the
 * array, all of them once the table holds no reference (a dropped table
 * drops its store whole).
 */
export const REF = 2 ** 32;

export class RefStore {
  private readonly objs: unknown[] = [];
  private readonly free: number[] = [];

  /** A reference to x. */
  put(x: unknown): number {
    const f = this.free;
    if (f.length > 0) {
      const i = f.pop()!;
      this.objs[i] = x;
      return REF + i;
    }
    this.objs.push(x);
    return REF + this.objs.length - 1;
  }

  get(w: number): unknown {
    return this.objs[w - REF];
  }

  /** The object behind w is gone: its index may be reused. */
  release(w: number): void {
    const i = w - REF;
    this.objs[i] = undefined;
    this.free.push(i);
  }

  /**
   * Give back the array's free tail: indexes past the last one in use
   * leave the array and the free list. Returns the bytes released (8 an
   * index, the array's word).
   */
  trim(): number {
    const objs = this.objs;
    let end = objs.length;
    // No stored object is undefined (values and keys never are): a free index holds it.
    while (end > 0 && objs[end - 1] === undefined) end--;
    const cut = objs.length - end;
    if (cut === 0) return 0;
    objs.length = end;
    let w = 0;
    const f = this.free;
    for (let i = 0; i < f.length; i++) if (f[i] < end) f[w++] = f[i];
    f.length = w;
    return cut * 8;
  }

  /** References in use (tests). */
  get live(): number {
    return this.objs.length - this.free.length;
  }
}
