/**
 * Redis's pqsort.c (Bentley & McIlroy's quicksort that only recurses into
 * partitions overlapping [lrange, rrange]): GEORADIUS/GEOSEARCH with COUNT
 * sort just the first COUNT points with it. Ported element for element,
 * because the order it leaves equal distances in is part of the reply.
 */
type Cmp<T> = (a: T, b: T) => number;

function swap<T>(a: T[], i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** vecswap: swap n elements starting at i and j. */
function vecswap<T>(a: T[], i: number, j: number, n: number): void {
  for (let k = 0; k < n; k++) swap(a, i + k, j + k);
}

function med3<T>(a: T[], x: number, y: number, z: number, cmp: Cmp<T>): number {
  return cmp(a[x], a[y]) < 0 ? (cmp(a[y], a[z]) < 0 ? y : cmp(a[x], a[z]) < 0 ? z : x) : cmp(a[y], a[z]) > 0 ? y : cmp(a[x], a[z]) < 0 ? x : z;
}

/** _pqsort on a[base, base+n), keeping only partitions that overlap elements [lr, rr]. */
function pqsortRange<T>(arr: T[], base: number, n: number, cmp: Cmp<T>, lr: number, rr: number): void {
  for (;;) {
    if (n < 7) {
      for (let pm = base + 1; pm < base + n; pm++) {
        for (let pl = pm; pl > base && cmp(arr[pl - 1], arr[pl]) > 0; pl--) swap(arr, pl, pl - 1);
      }
      return;
    }
    let pm = base + Math.floor(n / 2);
    if (n > 7) {
      let pl = base;
      let pn = base + n - 1;
      if (n > 40) {
        const d = Math.floor(n / 8);
        pl = med3(arr, pl, pl + d, pl + 2 * d, cmp);
        pm = med3(arr, pm - d, pm, pm + d, cmp);
        pn = med3(arr, pn - 2 * d, pn - d, pn, cmp);
      }
      pm = med3(arr, pl, pm, pn, cmp);
    }
    swap(arr, base, pm);
    let pa = base + 1;
    let pb = pa;
    let pc = base + n - 1;
    let pd = pc;
    for (;;) {
      let r: number;
      while (pb <= pc && (r = cmp(arr[pb], arr[base])) <= 0) {
        if (r === 0) {
          swap(arr, pa, pb);
          pa++;
        }
        pb++;
      }
      while (pb <= pc && (r = cmp(arr[pc], arr[base])) >= 0) {
        if (r === 0) {
          swap(arr, pc, pd);
          pd--;
        }
        pc--;
      }
      if (pb > pc) break;
      swap(arr, pb, pc);
      pb++;
      pc--;
    }
    const pn = base + n;
    let r = Math.min(pa - base, pb - pa);
    vecswap(arr, base, pb - r, r);
    r = Math.min(pd - pc, pn - pd - 1);
    vecswap(arr, pb, pn - r, r);
    if ((r = pb - pa) > 1) {
      const l = base;
      const e = base + r - 1;
      if (!((lr < l && rr < l) || (lr > e && rr > e))) pqsortRange(arr, base, r, cmp, lr, rr);
    }
    if ((r = pd - pc) > 1) {
      base = pn - r;
      n = r;
      const e = base + r - 1;
      if (!((lr < base && rr < base) || (lr > e && rr > e))) continue;
    }
    return;
  }
}

/** pqsort(a, n, cmp, lrange, rrange): elements lrange..rrange end up where a full sort puts them. */
export function partialSort<T>(a: T[], cmp: Cmp<T>, lrange: number, rrange: number): void {
  pqsortRange(a, 0, a.length, cmp, lrange, rrange);
}
