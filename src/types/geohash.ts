/**
 * Redis's geohash (geohash.c, geohash_helper.c): a position is a sorted set
 * score holding the 52-bit interleave of 26-bit latitude and longitude
 * cells (latitude in the even bits), over Redis's ranges (-180..180,
 * -85.05112878..85.05112878). The arithmetic is the C code's in doubles,
 * so scores and decoded positions are the same numbers redis-server
 * computes. Distances use sin/cos/asin from V8 (fdlibm) where glibc's may
 * differ in the last bit, invisible after the 4-decimal rounding of
 * replies; STOREDIST, which stores the whole double, uses distanceExact.
 */
import { asinCR, cosCR, sinCR } from './geo-math.js';

export const GEO_STEP_MAX = 26;
export const GEO_LAT_MIN = -85.05112878;
export const GEO_LAT_MAX = 85.05112878;
export const GEO_LONG_MIN = -180;
export const GEO_LONG_MAX = 180;

const D_R = Math.PI / 180.0;
export const EARTH_RADIUS_IN_METERS = 6372797.560856;
const MERCATOR_MAX = 20037726.37;

const degRad = (ang: number) => ang * D_R;
const radDeg = (ang: number) => ang / D_R;

interface Range {
  min: number;
  max: number;
}

const LONG_RANGE: Range = { min: GEO_LONG_MIN, max: GEO_LONG_MAX };
const LAT_RANGE: Range = { min: GEO_LAT_MIN, max: GEO_LAT_MAX };
/** The standard geohash ranges GEOHASH re-encodes with. */
export const STD_LONG_RANGE: Range = { min: -180, max: 180 };
export const STD_LAT_RANGE: Range = { min: -90, max: 90 };

/** A geohash of `step` bits per coordinate; bits < 2^(2*step). */
export interface HashBits {
  bits: bigint;
  step: number;
}

export interface Area {
  hash: HashBits;
  longitude: Range;
  latitude: Range;
}

// ---------- bit interleaving on doubles (hot: every candidate point) ----------

/** The 16 low bits of x spread to the even bits of a 32-bit number. */
function spread16(x: number): number {
  x &= 0xffff;
  x = (x | (x << 8)) & 0x00ff00ff;
  x = (x | (x << 4)) & 0x0f0f0f0f;
  x = (x | (x << 2)) & 0x33333333;
  x = (x | (x << 1)) & 0x55555555;
  return x >>> 0;
}

/** The even bits of a 32-bit number squeezed into 16 bits. */
function squash32(x: number): number {
  x &= 0x55555555;
  x = (x | (x >>> 1)) & 0x33333333;
  x = (x | (x >>> 2)) & 0x0f0f0f0f;
  x = (x | (x >>> 4)) & 0x00ff00ff;
  x = (x | (x >>> 8)) & 0x0000ffff;
  return x;
}

const TWO32 = 4294967296;

/** interleave64(x, y) as a double, x in the even bits; exact below 2^53, else rounded as ZADD's strtod would. */
function interleave(x: number, y: number): number {
  const xs = spread16(x) + spread16(x >>> 16) * TWO32;
  const ys = spread16(y) + spread16(y >>> 16) * TWO32;
  return xs + 2 * ys;
}

/** Decoded coordinates of the last decodeScore call (no allocation per point). */
export const xy = [0, 0];

/** C's (uint64_t) conversion of a double, as gcc emits it on x86-64, split in 32-bit halves. */
function toUint64Halves(score: number): [number, number] {
  if (score >= 0 && score < 9007199254740992) {
    const t = Math.floor(score);
    return [Math.floor(t / TWO32), t % TWO32];
  }
  let u: bigint;
  if (Number.isNaN(score)) u = 1n << 63n;
  else if (score >= 9223372036854775808) {
    // x - 2^63, cvttsd2si, then the top bit flipped (0x8000... "indefinite" when too big).
    const d = score - 9223372036854775808;
    u = (d >= 9223372036854775808 ? 1n << 63n : BigInt(Math.trunc(d))) ^ (1n << 63n);
  } else if (score >= 0) u = BigInt(Math.trunc(score));
  else if (score < -9223372036854775808) u = 1n << 63n;
  else u = (1n << 64n) + BigInt(Math.trunc(score));
  u &= (1n << 64n) - 1n;
  return [Number(u >> 32n), Number(u & 0xffffffffn)];
}

/**
 * decodeGeohash: the position (into xy) a score stands for, the centre of
 * its step-26 cell, clamped to the ranges. Never fails, as in Redis.
 */
export function decodeScore(score: number): void {
  const [hi, lo] = toUint64Halves(score);
  const ilato = squash32(lo) + squash32(hi) * 65536;
  const ilono = squash32(lo >>> 1) + squash32(hi >>> 1) * 65536;
  const latScale = LAT_RANGE.max - LAT_RANGE.min;
  const longScale = LONG_RANGE.max - LONG_RANGE.min;
  const div = 67108864; // 1 << 26
  const latMin = LAT_RANGE.min + ((ilato * 1.0) / div) * latScale;
  const latMax = LAT_RANGE.min + (((ilato + 1) * 1.0) / div) * latScale;
  const lonMin = LONG_RANGE.min + ((ilono * 1.0) / div) * longScale;
  const lonMax = LONG_RANGE.min + (((ilono + 1) * 1.0) / div) * longScale;
  let x = (lonMin + lonMax) / 2;
  if (x > GEO_LONG_MAX) x = GEO_LONG_MAX;
  if (x < GEO_LONG_MIN) x = GEO_LONG_MIN;
  let y = (latMin + latMax) / 2;
  if (y > GEO_LAT_MAX) y = GEO_LAT_MAX;
  if (y < GEO_LAT_MIN) y = GEO_LAT_MIN;
  xy[0] = x;
  xy[1] = y;
}

/** GEOADD's score: the step-26 hash of a valid position, as a double (geohashAlign52Bits of it). */
export function encodeScore(longitude: number, latitude: number): number {
  return encodeDouble(LONG_RANGE, LAT_RANGE, longitude, latitude, GEO_STEP_MAX);
}

function encodeDouble(lr: Range, ar: Range, longitude: number, latitude: number, step: number): number {
  let latOffset = (latitude - ar.min) / (ar.max - ar.min);
  let longOffset = (longitude - lr.min) / (lr.max - lr.min);
  latOffset *= 2 ** step;
  longOffset *= 2 ** step;
  return interleave(latOffset >>> 0, longOffset >>> 0);
}

/** geohashEncode; null where Redis returns 0 (out of range). */
export function encode(lr: Range, ar: Range, longitude: number, latitude: number, step: number): HashBits | null {
  if (step > 32 || step === 0) return null;
  if (longitude > GEO_LONG_MAX || longitude < GEO_LONG_MIN || latitude > GEO_LAT_MAX || latitude < GEO_LAT_MIN) return null;
  if (latitude < ar.min || latitude > ar.max || longitude < lr.min || longitude > lr.max) return null;
  let latOffset = (latitude - ar.min) / (ar.max - ar.min);
  let longOffset = (longitude - lr.min) / (lr.max - lr.min);
  latOffset *= 2 ** step;
  longOffset *= 2 ** step;
  return { bits: interleaveBig(latOffset >>> 0, longOffset >>> 0), step };
}

function interleaveBig(x: number, y: number): bigint {
  const xs = BigInt(spread16(x)) | (BigInt(spread16(x >>> 16)) << 32n);
  const ys = BigInt(spread16(y)) | (BigInt(spread16(y >>> 16)) << 32n);
  return xs | (ys << 1n);
}

/** geohashDecode: the cell of a hash (null for a zeroed one). */
function decodeArea(hash: HashBits): Area {
  const lo = Number(hash.bits & 0xffffffffn);
  const hi = Number((hash.bits >> 32n) & 0xffffffffn);
  const ilato = squash32(lo) + squash32(hi) * 65536;
  const ilono = squash32(lo >>> 1) + squash32(hi >>> 1) * 65536;
  const latScale = LAT_RANGE.max - LAT_RANGE.min;
  const longScale = LONG_RANGE.max - LONG_RANGE.min;
  const div = 2 ** hash.step;
  return {
    hash,
    latitude: { min: LAT_RANGE.min + ((ilato * 1.0) / div) * latScale, max: LAT_RANGE.min + (((ilato + 1) * 1.0) / div) * latScale },
    longitude: { min: LONG_RANGE.min + ((ilono * 1.0) / div) * longScale, max: LONG_RANGE.min + (((ilono + 1) * 1.0) / div) * longScale },
  };
}

const MASK64 = (1n << 64n) - 1n;
const AAAA = 0xaaaaaaaaaaaaaaaan;
const FIVE = 0x5555555555555555n;

function moveX(hash: HashBits, d: number): HashBits {
  if (d === 0) return hash;
  let x = hash.bits & AAAA;
  const y = hash.bits & FIVE;
  const zz = FIVE >> BigInt(64 - hash.step * 2);
  if (d > 0) x = (x + (zz + 1n)) & MASK64;
  else {
    x = x | zz;
    x = (x - (zz + 1n)) & MASK64;
  }
  x &= AAAA >> BigInt(64 - hash.step * 2);
  return { bits: x | y, step: hash.step };
}

function moveY(hash: HashBits, d: number): HashBits {
  if (d === 0) return hash;
  const x = hash.bits & AAAA;
  let y = hash.bits & FIVE;
  const zz = AAAA >> BigInt(64 - hash.step * 2);
  if (d > 0) y = (y + (zz + 1n)) & MASK64;
  else {
    y = y | zz;
    y = (y - (zz + 1n)) & MASK64;
  }
  y &= FIVE >> BigInt(64 - hash.step * 2);
  return { bits: x | y, step: hash.step };
}

interface Neighbors {
  north: HashBits | null;
  east: HashBits | null;
  west: HashBits | null;
  south: HashBits | null;
  north_east: HashBits | null;
  south_east: HashBits | null;
  north_west: HashBits | null;
  south_west: HashBits | null;
}

function neighborsOf(h: HashBits): Neighbors {
  return {
    east: moveX(h, 1),
    west: moveX(h, -1),
    south: moveY(h, -1),
    north: moveY(h, 1),
    north_west: moveY(moveX(h, -1), 1),
    north_east: moveY(moveX(h, 1), 1),
    south_east: moveY(moveX(h, 1), -1),
    south_west: moveY(moveX(h, -1), -1),
  };
}

// ---------- search shapes ----------

export interface Shape {
  circular: boolean;
  /** Centre: longitude, latitude. */
  x: number;
  y: number;
  /** Meters per unit (km: 1000). */
  conversion: number;
  radius: number;
  width: number;
  height: number;
}

function estimateStepsByRadius(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return 26;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > 26) step = 26;
  return step;
}

function boundingBox(s: Shape): [number, number, number, number] {
  const longitude = s.x;
  const latitude = s.y;
  const height = s.conversion * (s.circular ? s.radius : s.height / 2);
  const width = s.conversion * (s.circular ? s.radius : s.width / 2);
  const latDelta = radDeg(height / EARTH_RADIUS_IN_METERS);
  const longDeltaTop = radDeg(width / EARTH_RADIUS_IN_METERS / Math.cos(degRad(latitude + latDelta)));
  const longDeltaBottom = radDeg(width / EARTH_RADIUS_IN_METERS / Math.cos(degRad(latitude - latDelta)));
  const southern = latitude < 0;
  return [
    southern ? longitude - longDeltaBottom : longitude - longDeltaTop,
    latitude - latDelta,
    southern ? longitude + longDeltaBottom : longitude + longDeltaTop,
    latitude + latDelta,
  ];
}

/**
 * geohashCalculateAreasByShapeWGS84: the centre cell and its 8 neighbours
 * (null where Redis zeroes one out), in the order Redis searches them:
 * centre, N, S, E, W, NE, NW, SE, SW.
 */
export function searchAreas(s: Shape): (HashBits | null)[] {
  const [minLon, minLat, maxLon, maxLat] = boundingBox(s);
  const longitude = s.x;
  const latitude = s.y;
  let radiusMeters = s.circular ? s.radius : Math.sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2));
  radiusMeters *= s.conversion;
  let steps = estimateStepsByRadius(radiusMeters, latitude);
  let hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps)!;
  let nb = neighborsOf(hash);
  let area = decodeArea(hash);

  let decreaseStep = false;
  {
    const north = decodeArea(nb.north!);
    const south = decodeArea(nb.south!);
    const east = decodeArea(nb.east!);
    const west = decodeArea(nb.west!);
    if (north.latitude.max < maxLat) decreaseStep = true;
    if (south.latitude.min > minLat) decreaseStep = true;
    if (east.longitude.max < maxLon) decreaseStep = true;
    if (west.longitude.min > minLon) decreaseStep = true;
  }
  if (steps > 1 && decreaseStep) {
    steps--;
    hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps)!;
    nb = neighborsOf(hash);
    area = decodeArea(hash);
  }
  if (steps >= 2) {
    if (area.latitude.min < minLat) {
      nb.south = null;
      nb.south_west = null;
      nb.south_east = null;
    }
    if (area.latitude.max > maxLat) {
      nb.north = null;
      nb.north_east = null;
      nb.north_west = null;
    }
    if (area.longitude.min < minLon) {
      nb.west = null;
      nb.south_west = null;
      nb.north_west = null;
    }
    if (area.longitude.max > maxLon) {
      nb.east = null;
      nb.south_east = null;
      nb.north_east = null;
    }
  }
  return [hash, nb.north, nb.south, nb.east, nb.west, nb.north_east, nb.north_west, nb.south_east, nb.south_west];
}

/** scoresOfGeoHashBox: the score interval [min, max) of the points inside a cell. */
export function boxScores(h: HashBits): [number, number] {
  const shift = BigInt(52 - h.step * 2);
  return [Number((h.bits << shift) & MASK64), Number(((h.bits + 1n) << shift) & MASK64)];
}

// ---------- distances ----------

function latDistance(lat1d: number, lat2d: number): number {
  return EARTH_RADIUS_IN_METERS * Math.abs(degRad(lat2d) - degRad(lat1d));
}

/** geohashGetDistance: haversine on Redis's earth radius. */
export function distance(lon1d: number, lat1d: number, lon2d: number, lat2d: number): number {
  const lon1r = degRad(lon1d);
  const lon2r = degRad(lon2d);
  const v = Math.sin((lon2r - lon1r) / 2);
  if (v === 0.0) return latDistance(lat1d, lat2d);
  const lat1r = degRad(lat1d);
  const lat2r = degRad(lat2d);
  const u = Math.sin((lat2r - lat1r) / 2);
  const a = u * u + Math.cos(lat1r) * Math.cos(lat2r) * v * v;
  return 2.0 * EARTH_RADIUS_IN_METERS * Math.asin(Math.sqrt(a));
}

/** distance() with correctly rounded sin/cos/asin (geo-math.ts): the last bit as glibc gives it in ~99% of cases. */
export function distanceExact(lon1d: number, lat1d: number, lon2d: number, lat2d: number): number {
  const lon1r = degRad(lon1d);
  const lon2r = degRad(lon2d);
  const v = sinCR((lon2r - lon1r) / 2);
  if (v === 0.0) return latDistance(lat1d, lat2d);
  const lat1r = degRad(lat1d);
  const lat2r = degRad(lat2d);
  const u = sinCR((lat2r - lat1r) / 2);
  const a = u * u + cosCR(lat1r) * cosCR(lat2r) * v * v;
  return 2.0 * EARTH_RADIUS_IN_METERS * asinCR(Math.sqrt(a));
}

/** geoWithinShape for the point in xy: its distance from the centre, or -1 if outside. */
export function withinShape(s: Shape, px: number, py: number): number {
  if (s.circular) {
    const d = distance(s.x, s.y, px, py);
    return d > s.radius * s.conversion ? -1 : d;
  }
  const widthM = s.width * s.conversion;
  const heightM = s.height * s.conversion;
  if (latDistance(py, s.y) > heightM / 2) return -1;
  if (distance(px, py, s.x, py) > widthM / 2) return -1;
  return distance(s.x, s.y, px, py);
}

// ---------- GEOHASH's standard string ----------

const ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz';

/** The 11-character standard geohash of the position in a score (the last character always '0'). */
export function geohashString(score: number): string {
  decodeScore(score);
  const h = encode(STD_LONG_RANGE, STD_LAT_RANGE, xy[0], xy[1], 26);
  // Always in range: decoding clamps to Redis's (narrower) ranges.
  const bits = h === null ? 0n : h.bits;
  let out = '';
  for (let i = 0; i < 11; i++) {
    const idx = i === 10 ? 0 : Number((bits >> BigInt(52 - (i + 1) * 5)) & 0x1fn);
    out += ALPHABET[idx];
  }
  return out;
}
