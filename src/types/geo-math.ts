/**
 * Correctly rounded sin, cos and asin for the geo distance formula.
 *
 * redis-server computes distances with glibc's libm. V8's Math.sin/cos/asin
 * (fdlibm) are within an ulp but round differently from glibc in ~2-7% of
 * calls; glibc's results are the correctly rounded ones in all but ~0.1%
 * (measured against mpmath). Where a distance shows to the last bit
 * (STOREDIST scores, printed with 17 digits) it is computed with these:
 * double-double evaluation (~90 bits: Taylor series after reducing by
 * pi/2 in three parts; asin by one Newton step on that sine), rounded once.
 * They cost microseconds, so searches use Math's for everything else,
 * where replies round to 4 decimals anyway.
 */

// ---- double-double helpers: results in R (no allocation) ----

/** Results of the helpers below: doubles in a typed array, not boxed module variables. */
const R = new Float64Array(2);

const SPLITTER = 134217729; // 2^27 + 1

/** a*b exactly as R[0] + R[1] (Dekker). */
function twoProd(a: number, b: number): void {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  R[0] = p;
  R[1] = ah * bh - p + ah * bl + al * bh + al * bl;
}

/** (ah, al) + (bh, bl) into R. */
function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  const s = ah + bh;
  const bb = s - ah;
  const e = ah - (s - bb) + (bh - bb) + al + bl;
  R[0] = s + e;
  R[1] = e - (R[0] - s);
}

/** (ah, al) * (bh, bl) into R. */
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh);
  const p = R[0];
  const e = R[1] + (ah * bl + al * bh);
  R[0] = p + e;
  R[1] = e - (R[0] - p);
}

/** (ah, al) / b for a small exact integer b, into R. */
function ddDivSmall(ah: number, al: number, b: number): void {
  const q1 = ah / b;
  twoProd(q1, b);
  const r = ah - R[0] - R[1] + al;
  const q2 = r / b;
  R[0] = q1 + q2;
  R[1] = q2 - (R[0] - q1);
}

// ---- pi/2 in three parts (fdlibm's pio2_1, pio2_2, pio2_3 and the last tail) ----

const PIO2_1 = 1.57079632673412561417e0; // first 33 bits
const PIO2_2 = 6.0771005063039659766e-11; // next 33 bits
const PIO2_3 = 2.0222662487111665558e-21; // next 33 bits
const PIO2_3T = 8.47842766036889956997e-32; // the rest
const TWO_OVER_PI = 0.6366197723675814;

/**
 * sin (odd=true) or cos of the reduced argument (rh, rl), |r| <= ~pi/4,
 * by its Taylor series in double-double, into R. Terms stop below
 * 2^-90 of the result: far more than rounding to a double needs.
 */
function seriesReduced(rh: number, rl: number, odd: boolean): void {
  ddMul(rh, rl, rh, rl);
  const r2h = R[0];
  const r2l = R[1];
  let th = odd ? rh : 1;
  let tl = odd ? rl : 0;
  let sh = th;
  let sl = tl;
  const limit = 1e-27 * Math.abs(sh);
  for (let n = 1; n < 30; n++) {
    ddMul(th, tl, r2h, r2l);
    ddDivSmall(R[0], R[1], odd ? 2 * n * (2 * n + 1) : (2 * n - 1) * (2 * n));
    th = R[0];
    tl = R[1];
    if (n & 1) ddAdd(sh, sl, -th, -tl);
    else ddAdd(sh, sl, th, tl);
    sh = R[0];
    sl = R[1];
    if (Math.abs(th) < limit) break;
  }
  R[0] = sh;
  R[1] = sl;
}

/** sin (wantSin) or cos of a double x with |x| <= ~2pi, in double-double, into R. */
function sinOrCosDD(x: number, wantSin: boolean): void {
  const k = Math.round(x * TWO_OVER_PI);
  // x - k*pi/2: k*PIO2_1 is exact and so is the first subtraction (|k| is small).
  ddAdd(x - k * PIO2_1, 0, -k * PIO2_2, 0);
  ddAdd(R[0], R[1], -k * PIO2_3, 0);
  ddAdd(R[0], R[1], -k * PIO2_3T, 0);
  const q = ((k % 4) + 4) % 4;
  // sin(r + q pi/2) and cos(r + q pi/2) from sin r / cos r.
  const useSin = wantSin ? (q & 1) === 0 : (q & 1) === 1;
  seriesReduced(R[0], R[1], useSin);
  const negate = wantSin ? q >= 2 : q === 1 || q === 2;
  if (negate) {
    R[0] = -R[0];
    R[1] = -R[1];
  }
}

/** sin(x) correctly rounded (for the |x| <= ~2pi the distance formula passes). */
export function sinCR(x: number): number {
  if (x === 0) return x;
  sinOrCosDD(x, true);
  return R[0] + R[1];
}

/** cos(x) correctly rounded (|x| <= ~2pi). */
export function cosCR(x: number): number {
  sinOrCosDD(x, false);
  return R[0] + R[1];
}

/** asin of (yh, yl) in [0, 0.5], as double-double in R[0], R[1]: one Newton step from Math.asin. */
function asinSmallDD(yh: number, yl: number): void {
  const z0 = Math.asin(yh);
  sinOrCosDD(z0, true);
  // z1 = z0 + (y - sin z0) / cos z0; the step is ~1e-16 of z, so a double cos is plenty.
  ddAdd(yh, yl, -R[0], -R[1]);
  const d = (R[0] + R[1]) / Math.cos(z0);
  const s = z0 + d;
  R[0] = s;
  R[1] = d - (s - z0);
}

const PIO2_H = 1.5707963267948966;
const PIO2_L = 6.123233995736766e-17;

/** asin(y) correctly rounded for y in [0, 1] (the distance formula's sqrt(a)). */
export function asinCR(y: number): number {
  if (!(y >= 0 && y <= 1)) return Math.asin(y);
  if (y === 0) return y;
  if (y === 1) return PIO2_H;
  if (y <= 0.5) {
    asinSmallDD(y, 0);
    return R[0] + R[1];
  }
  // asin(y) = pi/2 - 2 asin(sqrt((1 - y) / 2)); (1 - y) / 2 is exact here.
  const w = (1 - y) / 2;
  const s0 = Math.sqrt(w);
  twoProd(s0, s0);
  const corr = (w - R[0] - R[1]) / (2 * s0);
  const sh = s0 + corr;
  const sl = corr - (sh - s0);
  asinSmallDD(sh, sl);
  const th = R[0];
  const tl = R[1];
  ddAdd(PIO2_H, PIO2_L, -2 * th, -2 * tl);
  return R[0] + R[1];
}
