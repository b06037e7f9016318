/**
 * Geo family (geo.c): GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS[_RO],
 * GEORADIUSBYMEMBER[_RO], GEOSEARCH, GEOSEARCHSTORE. A geo set is a plain
 * sorted set whose scores are Redis's 52-bit geohashes
 * (src/types/geohash.ts), so one written by redis-server reads back the
 * same here and the other way round. Searches walk the same 9 cells in the
 * same order with the same score intervals, so unsorted and COUNT ANY
 * replies come in Redis's order too; sorting is Redis's: a stable full
 * sort (glibc's merge sort) or its partial quicksort (pqsort.c) when COUNT
 * cuts the list.
 */
import { register } from './registry.js';
import { cmd, type KeySpecDoc } from './spec.js';
import { ERR, ReplyError, toFloat } from '../protocol/errors.js';
import type { CommandContext } from '../server/context.js';
import { SortedSet } from '../types/zset.js';
import { readZset } from './zsets.js';
import { notify, NOTIFY_GENERIC, NOTIFY_ZSET } from '../keyspace/notify.js';
import { GEO_LAT_MAX, GEO_LAT_MIN, GEO_LONG_MAX, GEO_LONG_MIN, boxScores, decodeScore, distance, distanceExact, encodeScore, geohashString, searchAreas, withinShape, xy, type Shape } from '../types/geohash.js';
import { partialSort } from '../types/pqsort.js';
import { fixedHalfEven, humanDouble } from '../types/geo-format.js';

const G = { group: 'geo' };

/** string2d: what strtod reads whole, no leading space, no NaN, no overflow or underflow. */
function parseDouble(s: string): number | null {
  if (s.length === 0 || /^\s/.test(s)) return null;
  const hex = /^([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/i.exec(s);
  if (hex !== null) return hexDouble(hex);
  const n = toFloat(s);
  if (n === null) return null;
  if (n === Infinity || n === -Infinity) {
    if (!/inf/i.test(s)) return null;
  } else if (n === 0 && /[1-9]/.test(s.split(/e/i)[0])) return null;
  return n;
}

/** strtod's hexadecimal form (0x1.8p3); null where string2d refuses it (no digits, overflow, underflow to 0). */
function hexDouble(m: RegExpExecArray): number | null {
  const frac = m[3] ?? '';
  const digits = (m[2] + frac).replace(/^0+/, '');
  if (m[2] === '' && frac === '') return null;
  const sign = m[1] === '-' ? -1 : 1;
  if (digits === '') return sign * 0;
  let e = (m[4] === undefined ? 0 : Number(m[4])) - 4 * frac.length;
  let v = Number(BigInt('0x' + digits));
  // Scale in steps that stay exact while the value is normal.
  while (e > 0 && Number.isFinite(v)) {
    const k = Math.min(e, 1000);
    v *= 2 ** k;
    e -= k;
  }
  while (e < 0 && v !== 0) {
    const k = Math.min(-e, 1000);
    v /= 2 ** k;
    e += k;
  }
  if (!Number.isFinite(v) || v === 0) return null;
  return sign * v;
}

function doubleOrReply(s: string, msg: string = ERR.notFloat): number {
  const n = parseDouble(s);
  if (n === null) throw new ReplyError(msg.startsWith('ERR ') ? msg : 'ERR ' + msg);
  return n;
}

/** %f as glibc prints it (inf, nan, exact digits, ties to even). */
function printfF(x: number): string {
  if (Number.isNaN(x)) return x < 0 ? '-nan' : 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return fixedHalfEven(x, 6);
}

/** extractLongLatOrReply: two doubles, then Redis's range check. */
function lonLat(lonArg: string, latArg: string): [number, number] {
  const lon = doubleOrReply(lonArg);
  const lat = doubleOrReply(latArg);
  if (lon < GEO_LONG_MIN || lon > GEO_LONG_MAX || lat < GEO_LAT_MIN || lat > GEO_LAT_MAX) {
    throw new ReplyError(`ERR invalid longitude,latitude pair ${printfF(lon)},${printfF(lat)}`);
  }
  return [lon, lat];
}

/** extractUnitOrReply: meters per unit. */
function unit(s: string): number {
  switch (s.toLowerCase()) {
    case 'm':
      return 1;
    case 'km':
      return 1000;
    case 'ft':
      return 0.3048;
    case 'mi':
      return 1609.34;
  }
  throw new ReplyError('ERR unsupported unit provided. please use M, KM, FT, MI');
}

/** addReplyDoubleDistance: fixedpoint_d2string with 4 decimals (llrint, so ties to even). */
function distanceText(d: number): string {
  if (d === 0) return '0.0000';
  const scaled = d * 10000;
  let v = Math.round(scaled);
  if (v - scaled === 0.5 && v % 2 !== 0) v -= 1;
  const neg = v < 0;
  let digits = String(Math.abs(v));
  if (digits.length < 5) digits = digits.padStart(5, '0');
  const text = digits.slice(0, -4) + '.' + digits.slice(-4);
  return neg ? '-' + text : text;
}

function replyCoord(ctx: CommandContext, d: number): void {
  const s = humanDouble(d);
  if (ctx.r.proto === 3) ctx.r.raw(',' + s + '\r\n');
  else ctx.r.bulk(s);
}

// ---------- GEOADD ----------

function geoadd(ctx: CommandContext, args: string[]): void {
  let xx = false;
  let nx = false;
  let ch = false;
  let i = 2;
  for (; i < args.length; i++) {
    const o = args[i].toLowerCase();
    if (o === 'nx') nx = true;
    else if (o === 'xx') xx = true;
    else if (o === 'ch') ch = true;
    else break;
  }
  if ((args.length - i) % 3 !== 0 || (xx && nx)) throw new ReplyError(ERR.syntax);
  const n = (args.length - i) / 3;
  const scores = new Array<number>(n);
  for (let j = 0; j < n; j++) {
    const [lon, lat] = lonLat(args[i + j * 3], args[i + j * 3 + 1]);
    scores[j] = encodeScore(lon, lat);
  }
  // From here on it is ZADD key [NX|XX] [CH] score member ... (geo.c rewrites the command to it).
  if (n === 0) throw new ReplyError(ERR.syntax);
  const db = ctx.db;
  const key = args[1];
  let z = readZset(db, key, true);
  const fresh = z === undefined;
  if (z === undefined) {
    if (xx) return ctx.r.int(0);
    z = new SortedSet(args[i + 2].length);
  }
  let added = 0;
  let updated = 0;
  for (let j = 0; j < n; j++) {
    const member = args[i + j * 3 + 2];
    const cur = z.score(member);
    if (cur === undefined) {
      if (xx) continue;
      z.set(member, scores[j]);
      added++;
    } else if (!nx && cur !== scores[j]) {
      z.set(member, scores[j]);
      updated++;
    }
  }
  if (added + updated > 0) {
    if (fresh) db.set(key, z);
    else db.modified(key);
    db.signalReady(key);
    notify(NOTIFY_ZSET, 'zadd', key, db.id);
  }
  ctx.r.int(ch ? added + updated : added);
}

// ---------- GEODIST / GEOHASH / GEOPOS ----------

function geodist(ctx: CommandContext, args: string[]): void {
  let toMeter = 1;
  if (args.length === 5) toMeter = unit(args[4]);
  else if (args.length > 5) throw new ReplyError(ERR.syntax);
  const z = readZset(ctx.db, args[1]);
  if (z === undefined) return ctx.r.null();
  const s1 = z.score(args[2]);
  const s2 = z.score(args[3]);
  if (s1 === undefined || s2 === undefined) return ctx.r.null();
  decodeScore(s1);
  const x1 = xy[0];
  const y1 = xy[1];
  decodeScore(s2);
  ctx.r.bulk(distanceText(distance(x1, y1, xy[0], xy[1]) / toMeter));
}

function geohash(ctx: CommandContext, args: string[]): void {
  const z = readZset(ctx.db, args[1]);
  ctx.r.array(args.length - 2);
  for (let j = 2; j < args.length; j++) {
    const s = z?.score(args[j]);
    if (s === undefined) ctx.r.null();
    else ctx.r.bulk(geohashString(s));
  }
}

function geopos(ctx: CommandContext, args: string[]): void {
  const z = readZset(ctx.db, args[1]);
  ctx.r.array(args.length - 2);
  for (let j = 2; j < args.length; j++) {
    const s = z?.score(args[j]);
    if (s === undefined) {
      ctx.r.nullArray();
      continue;
    }
    decodeScore(s);
    const x = xy[0];
    const y = xy[1];
    ctx.r.array(2);
    replyCoord(ctx, x);
    replyCoord(ctx, y);
  }
}

// ---------- the radius / box searches ----------

const RADIUS_COORDS = 1;
const RADIUS_MEMBER = 2;
const RADIUS_NOSTORE = 4;
const GEOSEARCH = 8;
const GEOSEARCHSTORE = 16;

const SORT_NONE = 0;
const SORT_ASC = 1;
const SORT_DESC = 2;

interface GeoPoint {
  longitude: number;
  latitude: number;
  dist: number;
  score: number;
  member: string;
}

/** geoGetPointsInRange over one cell's score interval [min, max). */
function pointsInRange(z: SortedSet, min: number, max: number, shape: Shape, out: GeoPoint[], limit: number): void {
  const [lo, hi] = z.scoreSpan({ min, max, minex: false, maxex: true });
  if (hi <= lo) return;
  z.tree.walk(lo, false, hi - lo, (member, score) => {
    decodeScore(score);
    const d = withinShape(shape, xy[0], xy[1]);
    if (d >= 0) out.push({ longitude: xy[0], latitude: xy[1], dist: d, score, member });
    if (out.length !== 0 && limit !== 0 && out.length >= limit) return false;
    return true;
  });
}

/** membersOfAllNeighbors: the 9 cells in Redis's order, a cell equal to the last one searched skipped. */
function searchPoints(z: SortedSet, shape: Shape, limit: number): GeoPoint[] {
  const cells = searchAreas(shape);
  const out: GeoPoint[] = [];
  let lastProcessed = 0;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    if (c === null) continue;
    const last = cells[lastProcessed];
    if (lastProcessed !== 0 && last !== null && c.bits === last.bits && c.step === last.step) continue;
    if (out.length !== 0 && limit !== 0 && out.length >= limit) break;
    const [min, max] = boxScores(c);
    pointsInRange(z, min, max, shape, out, limit);
    lastProcessed = i;
  }
  return out;
}

function sortAsc(a: GeoPoint, b: GeoPoint): number {
  return a.dist > b.dist ? 1 : a.dist === b.dist ? 0 : -1;
}
function sortDesc(a: GeoPoint, b: GeoPoint): number {
  return -sortAsc(a, b);
}

function georadiusGeneric(ctx: CommandContext, args: string[], srcKeyIndex: number, flags: number): void {
  const db = ctx.db;
  let storekey: string | null = null;
  let storedist = false;
  const z = readZset(db, args[srcKeyIndex]);
  const shape: Shape = { circular: true, x: 0, y: 0, conversion: 0, radius: 0, width: 0, height: 0 };
  let baseArgs: number;
  if (flags & RADIUS_COORDS) {
    baseArgs = 6;
    [shape.x, shape.y] = lonLat(args[2], args[3]);
    shape.radius = radiusArg(args[4]);
    shape.conversion = unit(args[5]);
  } else if (flags & RADIUS_MEMBER && z === undefined) {
    baseArgs = 5;
  } else if (flags & RADIUS_MEMBER) {
    baseArgs = 5;
    const s = z!.score(args[2]);
    if (s === undefined) throw new ReplyError('ERR could not decode requested zset member');
    decodeScore(s);
    shape.x = xy[0];
    shape.y = xy[1];
    shape.radius = radiusArg(args[3]);
    shape.conversion = unit(args[4]);
  } else {
    baseArgs = 2;
    if (flags & GEOSEARCHSTORE) {
      baseArgs = 3;
      storekey = args[1];
    }
  }

  let withdist = false;
  let withhash = false;
  let withcoords = false;
  let frommember = false;
  let fromloc = false;
  let byradius = false;
  let bybox = false;
  let sort = SORT_NONE;
  let any = false;
  let count = 0;
  const remaining = args.length - baseArgs;
  for (let i = 0; i < remaining; i++) {
    const at = baseArgs + i;
    const arg = args[at].toLowerCase();
    if (arg === 'withdist') withdist = true;
    else if (arg === 'withhash') withhash = true;
    else if (arg === 'withcoord') withcoords = true;
    else if (arg === 'any') any = true;
    else if (arg === 'asc') sort = SORT_ASC;
    else if (arg === 'desc') sort = SORT_DESC;
    else if (arg === 'count' && i + 1 < remaining) {
      const n = /^(-?[1-9][0-9]*|0)$/.test(args[at + 1]) ? BigInt(args[at + 1]) : null;
      if (n === null || n < -(2n ** 63n) || n >= 2n ** 63n) throw new ReplyError(ERR.notInt);
      if (n <= 0n) throw new ReplyError('ERR COUNT must be > 0');
      count = Number(n);
      i++;
    } else if (arg === 'store' && i + 1 < remaining && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
      storekey = args[at + 1];
      storedist = false;
      i++;
    } else if (arg === 'storedist' && i + 1 < remaining && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
      storekey = args[at + 1];
      storedist = true;
      i++;
    } else if (arg === 'storedist' && flags & GEOSEARCH && flags & GEOSEARCHSTORE) {
      storedist = true;
    } else if (arg === 'frommember' && i + 1 < remaining && flags & GEOSEARCH && !fromloc) {
      if (z !== undefined) {
        const s = z.score(args[at + 1]);
        if (s === undefined) throw new ReplyError('ERR could not decode requested zset member');
        decodeScore(s);
        shape.x = xy[0];
        shape.y = xy[1];
      }
      frommember = true;
      i++;
    } else if (arg === 'fromlonlat' && i + 2 < remaining && flags & GEOSEARCH && !frommember) {
      [shape.x, shape.y] = lonLat(args[at + 1], args[at + 2]);
      fromloc = true;
      i += 2;
    } else if (arg === 'byradius' && i + 2 < remaining && flags & GEOSEARCH && !bybox) {
      shape.radius = radiusArg(args[at + 1]);
      shape.conversion = unit(args[at + 2]);
      shape.circular = true;
      byradius = true;
      i += 2;
    } else if (arg === 'bybox' && i + 3 < remaining && flags & GEOSEARCH && !byradius) {
      const w = doubleOrReply(args[at + 1], 'need numeric width');
      const h = doubleOrReply(args[at + 2], 'need numeric height');
      if (h < 0 || w < 0) throw new ReplyError('ERR height or width cannot be negative');
      shape.width = w;
      shape.height = h;
      shape.conversion = unit(args[at + 3]);
      shape.circular = false;
      bybox = true;
      i += 3;
    } else throw new ReplyError(ERR.syntax);
  }

  if (storekey !== null && (withdist || withhash || withcoords)) {
    throw new ReplyError(`ERR ${flags & GEOSEARCHSTORE ? 'GEOSEARCHSTORE' : 'STORE option in GEORADIUS'} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`);
  }
  if (flags & GEOSEARCH && !(frommember || fromloc)) throw new ReplyError(`ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ${args[0]}`);
  if (flags & GEOSEARCH && !(byradius || bybox)) throw new ReplyError(`ERR exactly one of BYRADIUS and BYBOX can be specified for ${args[0]}`);
  if (any && count === 0) throw new ReplyError('ERR the ANY argument requires COUNT argument');

  if (z === undefined) {
    if (storekey !== null) {
      if (db.delete(storekey)) notify(NOTIFY_GENERIC, 'del', storekey, db.id);
      ctx.r.int(0);
    } else ctx.r.array(0);
    return;
  }

  if (count !== 0 && sort === SORT_NONE && !any) sort = SORT_ASC;

  const ga = searchPoints(z, shape, any ? count : 0);
  if (ga.length === 0 && storekey === null) return ctx.r.array(0);

  const resultLength = ga.length;
  const returned = count === 0 || resultLength < count ? resultLength : count;
  if (sort !== SORT_NONE) {
    const cmp = sort === SORT_ASC ? sortAsc : sortDesc;
    if (returned === resultLength) ga.sort(cmp);
    else partialSort(ga, cmp, 0, returned - 1);
  }

  if (storekey === null) {
    const options = (withdist ? 1 : 0) + (withcoords ? 1 : 0) + (withhash ? 1 : 0);
    ctx.r.array(returned);
    for (let i = 0; i < returned; i++) {
      const gp = ga[i];
      const dist = gp.dist / shape.conversion;
      if (options !== 0) ctx.r.array(options + 1);
      ctx.r.bulk(gp.member);
      if (withdist) ctx.r.bulk(distanceText(dist));
      if (withhash) ctx.r.int(Math.trunc(gp.score));
      if (withcoords) {
        ctx.r.array(2);
        replyCoord(ctx, gp.longitude);
        replyCoord(ctx, gp.latitude);
      }
    }
    return;
  }

  if (returned > 0) {
    const out = new SortedSet();
    for (let i = 0; i < returned; i++) {
      const gp = ga[i];
      out.set(gp.member, storedist ? distanceExact(shape.x, shape.y, gp.longitude, gp.latitude) / shape.conversion : gp.score);
    }
    out.fixEncoding();
    db.set(storekey, out);
    notify(NOTIFY_ZSET, flags & GEOSEARCH ? 'geosearchstore' : 'georadiusstore', storekey, db.id);
  } else if (db.delete(storekey)) notify(NOTIFY_GENERIC, 'del', storekey, db.id);
  ctx.r.int(returned);
}

/** extractDistanceOrReply's number part. */
function radiusArg(s: string): number {
  const d = doubleOrReply(s, 'need numeric radius');
  if (d < 0) throw new ReplyError('ERR radius cannot be negative');
  return d;
}

// ---------- the command table ----------

const keyAt = (index: number, flags: string): KeySpecDoc => ({ flags: flags.split(' '), begin: { index }, find: { lastkey: 0, keystep: 1, limit: 0 } });
const storeKeySpecs = (startfrom: number): KeySpecDoc[] => [
  keyAt(1, 'RO access'),
  { flags: ['OW', 'update'], begin: { keyword: 'STORE', startfrom }, find: { lastkey: 0, keystep: 1, limit: 0 } },
  { flags: ['OW', 'update'], begin: { keyword: 'STOREDIST', startfrom }, find: { lastkey: 0, keystep: 1, limit: 0 } },
];

/**
 * The keys COMMAND GETKEYS reports, from the key specs as Redis 7.0 does:
 * the source, then the key after the first STORE and after the first
 * STOREDIST found from `startfrom` (the last argument is never a keyword).
 */
function georadiusKeys(startfrom: number): (args: string[]) => number[] {
  const find = (args: string[], kw: string): number => {
    for (let i = startfrom; i < args.length - 1; i++) if (args[i].toLowerCase() === kw) return i + 1;
    return -1;
  };
  return (args) => {
    const out = [1];
    const store = find(args, 'store');
    if (store > 0) out.push(store);
    const storedist = find(args, 'storedist');
    if (storedist > 0) out.push(storedist);
    return out;
  };
}

const RADIUS_COMPLEXITY =
  'O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.';
const SEARCH_COMPLEXITY =
  'O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape';

register(
  cmd('geoadd', -5, 'write denyoom', [1, 1, 1], 'write geo slow', { ...G, since: '3.2.0', summary: 'Add one or more geospatial items in the geospatial index represented using a sorted set', complexity: 'O(log(N)) for each item added, where N is the number of elements in the sorted set.', keySpec: keyAt(1, 'RW update'), history: [['6.2.0', 'Added the `CH`, `NX` and `XX` options.']] }, geoadd),
  cmd('geodist', -4, 'readonly', [1, 1, 1], 'read geo slow', { ...G, since: '3.2.0', summary: 'Returns the distance between two members of a geospatial index', complexity: 'O(log(N))', keySpec: keyAt(1, 'RO access') }, geodist),
  cmd('geohash', -2, 'readonly', [1, 1, 1], 'read geo slow', { ...G, since: '3.2.0', summary: 'Returns members of a geospatial index as standard geohash strings', complexity: 'O(log(N)) for each member requested, where N is the number of elements in the sorted set.', keySpec: keyAt(1, 'RO access') }, geohash),
  cmd('geopos', -2, 'readonly', [1, 1, 1], 'read geo slow', { ...G, since: '3.2.0', summary: 'Returns longitude and latitude of members of a geospatial index', complexity: 'O(N) where N is the number of members requested.', keySpec: keyAt(1, 'RO access') }, geopos),
  cmd('georadius', -6, 'write denyoom', [1, 1, 1], 'write geo slow', { ...G, since: '3.2.0', summary: 'Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point', complexity: RADIUS_COMPLEXITY, keySpec: storeKeySpecs(6), getKeys: georadiusKeys(6), docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` argument', history: [['6.2.0', 'Added the `ANY` option for `COUNT`.'], ['7.0.0', 'Added support for uppercase unit names.']] }, (ctx, args) =>
    georadiusGeneric(ctx, args, 1, RADIUS_COORDS),
  ),
  cmd('georadius_ro', -6, 'readonly', [1, 1, 1], 'read geo slow', { ...G, since: '3.2.10', summary: 'A read-only variant for GEORADIUS', complexity: RADIUS_COMPLEXITY, keySpec: keyAt(1, 'RO access'), docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`GEOSEARCH` with the `BYRADIUS` argument', history: [['6.2.0', 'Added the `ANY` option for `COUNT`.']] }, (ctx, args) =>
    georadiusGeneric(ctx, args, 1, RADIUS_COORDS | RADIUS_NOSTORE),
  ),
  cmd('georadiusbymember', -5, 'write denyoom', [1, 1, 1], 'write geo slow', { ...G, since: '3.2.0', summary: 'Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member', complexity: RADIUS_COMPLEXITY, keySpec: storeKeySpecs(5), getKeys: georadiusKeys(5), docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` and `FROMMEMBER` arguments', history: [['7.0.0', 'Added support for uppercase unit names.']] }, (ctx, args) =>
    georadiusGeneric(ctx, args, 1, RADIUS_MEMBER),
  ),
  cmd('georadiusbymember_ro', -5, 'readonly', [1, 1, 1], 'read geo slow', { ...G, since: '3.2.10', summary: 'A read-only variant for GEORADIUSBYMEMBER', complexity: RADIUS_COMPLEXITY, keySpec: keyAt(1, 'RO access'), docFlags: ['deprecated'], deprecatedSince: '6.2.0', replacedBy: '`GEOSEARCH` with the `BYRADIUS` and `FROMMEMBER` arguments' }, (ctx, args) =>
    georadiusGeneric(ctx, args, 1, RADIUS_MEMBER | RADIUS_NOSTORE),
  ),
  cmd('geosearch', -7, 'readonly', [1, 1, 1], 'read geo slow', { ...G, since: '6.2.0', summary: 'Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.', complexity: SEARCH_COMPLEXITY, keySpec: keyAt(1, 'RO access'), history: [['7.0.0', 'Added support for uppercase unit names.']] }, (ctx, args) =>
    georadiusGeneric(ctx, args, 1, GEOSEARCH),
  ),
  cmd('geosearchstore', -8, 'write denyoom', [1, 2, 1], 'write geo slow', { ...G, since: '6.2.0', summary: 'Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.', complexity: SEARCH_COMPLEXITY, keySpec: [keyAt(1, 'OW update'), keyAt(2, 'RO access')], history: [['7.0.0', 'Added support for uppercase unit names.']] }, (ctx, args) =>
    georadiusGeneric(ctx, args, 2, GEOSEARCH | GEOSEARCHSTORE),
  ),
);
