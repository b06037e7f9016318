/**
 * A command's latency distribution, as Redis keeps one per command
 * (an HdrHistogram of nanoseconds, 1 ns to 1 s, two significant digits):
 * exact below 256 ns, then 128 buckets per power of two, so any value is
 * known within 1%. It answers LATENCY HISTOGRAM (cumulative counts at
 * 1, 2, 4... microseconds) and INFO latencystats (percentiles).
 */

const MAX_NS = 1_000_000_000;
const SUB = 128;
/** Buckets up to 2^30 ns (past MAX_NS). */
const SIZE = 2 * SUB + (30 - 8 + 1) * SUB;

function indexOf(ns: number): number {
  if (ns < 2 * SUB) return ns;
  const m = 31 - Math.clz32(ns); // 2^m <= ns < 2^(m+1), m >= 8
  return 2 * SUB + (m - 8) * SUB + ((ns >>> (m - 7)) & (SUB - 1));
}

/** The largest value counted in the bucket at index i (hdr's highest_equivalent_value). */
function highestOf(i: number): number {
  if (i < 2 * SUB) return i;
  const m = 8 + Math.floor((i - 2 * SUB) / SUB);
  const sub = (i - 2 * SUB) % SUB;
  const step = 2 ** (m - 7);
  return (SUB + sub) * step + step - 1;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(SIZE);
  total = 0;

  /** Record one command's time, in microseconds (fractional). */
  record(us: number): void {
    let ns = Math.round(us * 1000);
    if (ns < 1) ns = 1;
    else if (ns > MAX_NS) ns = MAX_NS;
    this.counts[indexOf(ns)]++;
    this.total++;
  }

  /** hdr_value_at_percentile, in nanoseconds. */
  valueAt(percentile: number): number {
    const want = Math.max(1, Math.ceil((Math.min(percentile, 100) / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i];
      if (seen >= want) return highestOf(i);
    }
    return 0;
  }

  /**
   * fillCommandCDF: [microseconds, cumulative count] at each power of two
   * from 1024 ns, where the count grew.
   */
  cdf(): [number, number][] {
    const out: [number, number][] = [];
    let i = 0;
    let seen = 0;
    let prev = 0;
    for (let v = 1024; seen < this.total; v *= 2) {
      const last = indexOf(Math.min(v, 2 ** 30 - 1));
      for (; i <= last; i++) seen += this.counts[i];
      if (seen > prev) out.push([Math.floor(highestOf(last) / 1000), seen]);
      prev = seen;
    }
    return out;
  }
}

/** latency-tracking and latency-tracking-info-percentiles, read on every command. */
export const latencyTracking = { on: true, percentiles: [50, 99, 99.9] };
