/**
 * Geo commands against the real redis-server 7.0: the same commands on
 * both, reply bytes compared in RESP2 and RESP3. Fixed cases cover what
 * tests/unit/geo.tcl checks (options, errors, units, STORE variants);
 * seeded random point sets and queries (radius and box, from a member or a
 * position, every WITH option, COUNT with and without ANY, ASC/DESC,
 * STORE/STOREDIST) compare scores, orders, distances and coordinates
 * reply for reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';
import { startRedis, type Oracle } from './helpers/redis-oracle.js';
import { session } from './helpers/resp-session.js';

let srv: TestServer;
let oracle: Oracle;
beforeAll(async () => {
  [srv, oracle] = await Promise.all([startServer(['--save', '']), startRedis()]);
});
afterAll(async () => {
  oracle?.stop();
  await srv?.stop();
});

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Stored distances to 13 significant digits: glibc's sin/cos/asin are not
 * correctly rounded in ~0.1% of calls and ours (correctly rounded) then
 * differ in the last bit (0.3% of distances measured); members, order and
 * every other score must still be identical.
 */
const loose = (reply: string) => reply.replace(/(\$\d+\r\n|,)(\d+\.\d+(?:e[-+]\d+)?)\r\n/g, (_m, head: string, f: string) => `${head[0]}~${Number(f).toPrecision(13)}\r\n`);

/** `looseAt`: indexes (in cmds) of replies holding STOREDIST scores. */
async function sameAsRedis(cmds: string[][], protos: (2 | 3)[] = [2, 3], looseAt: Set<number> = new Set()): Promise<void> {
  for (const proto of protos) {
    const all = [['FLUSHALL'], ...cmds];
    const [ours, theirs] = await Promise.all([session(srv.port, proto, all), session(oracle.port, proto, all)]);
    for (let i = 1; i < all.length; i++) {
      if (looseAt.has(i - 1)) {
        ours[i] = loose(ours[i]);
        theirs[i] = loose(theirs[i]);
      }
      if (ours[i] !== theirs[i]) expect({ proto, i, cmd: all[i].join(' ').slice(0, 300), reply: ours[i] }).toEqual({ proto, i, cmd: all[i].join(' ').slice(0, 300), reply: theirs[i] });
    }
  }
}

const c = (s: string) => s.match(/"[^"]*"|\S+/g)!.map((a) => (a.startsWith('"') ? a.slice(1, -1) : a));

describe('geo commands as redis-server 7.0', () => {
  it('GEOADD options, scores, GEOPOS, GEOHASH, GEODIST and their errors', async () => {
    await sameAsRedis([
      c('GEOADD nyc -73.9454966 40.747533 "lic market"'), c('GEOADD nyc -73.9454966 40.747533 "lic market"'), c('GEOADD nyc CH 40.747533 -73.9454966 "lic market"'),
      c('GEOADD nyc NX -73.9454966 40.747533 "lic market"'), c('GEOADD nyc XX -83.9454966 40.747533 "lic market"'), c('GEOADD nyc CH NX -73.9454966 40.747533 "lic market"'),
      c('GEOADD nyc CH XX -73.9454966 40.747533 "lic market"'), c('GEOADD nyc xx nx -73.9454966 40.747533 "lic market"'), c('GEOADD nyc ch xx foo -73.9454966 40.747533 "lic market"'),
      c('GEOADD nyc -73.9454966 40.747533 "lic market" foo bar "luck market"'), c('GEOADD nyc 200 100 x'), c('GEOADD nyc 180.0078125 0 x'), c('GEOADD nyc 0 85.06 x'), c('GEOADD nyc inf 0 x'),
      c('GEOADD nyc 1e400 0 x'), c('GEOADD nyc " 1" 0 x'), c('GEOADD nyc 0x10 0 x'), c('GEOADD nyc ch ch ch'), c('GEOADD newkey XX 1 1 a'), c('EXISTS newkey'),
      c('GEOADD nyc -73.9733487 40.7648057 "central park n/q/r" -73.9903085 40.7362513 "union square" -74.0131604 40.7126674 "wtc one" -73.7858139 40.6428986 "jfk" -73.9375699 40.7498929 "q4" -73.9564142 40.7480973 4545'),
      c('ZRANGE nyc 0 -1 WITHSCORES'), c('OBJECT ENCODING nyc'), c('TYPE nyc'),
      c('GEOADD edge 180 85.05112878 ne -180 -85.05112878 sw 0 0 origin -0 -0 negzero 179.99999999 0 e 1e-300 1e-300 tiny'), c('ZRANGE edge 0 -1 WITHSCORES'),
      c('GEOPOS edge ne sw origin negzero e tiny missing'), c('GEOHASH edge ne sw origin negzero e tiny missing'), c('GEOPOS nokey a b'), c('GEOHASH nokey a'), c('GEOPOS nyc'),
      c('GEOADD points -5.6 42.6 test 10 20 a 30 40 b 13.361389 38.115556 Palermo 15.087269 37.502669 Catania'), c('GEOHASH points test a b Palermo'), c('GEOPOS points test a x b Palermo'),
      c('GEODIST points Palermo Catania'), c('GEODIST points Palermo Catania km'), c('GEODIST points Palermo Catania KM'), c('GEODIST points Palermo Catania mi'), c('GEODIST points Palermo Catania ft'),
      c('GEODIST points Palermo Catania m'), c('GEODIST points Palermo Palermo'), c('GEODIST points Palermo Catania furlong'), c('GEODIST points Palermo Catania km x'),
      c('GEODIST points Palermo Agrigento'), c('GEODIST points Ragusa Agrigento'), c('GEODIST empty_key Palermo Catania'), c('GEODIST edge ne sw'), c('GEODIST edge origin tiny'),
      // Scores no GEOADD writes: what Redis decodes from them.
      c('ZADD odd -1 neg 0.5 half 4503599627370496 big 9e18 huge 1e30 vast inf pinf -inf ninf 4503599627370495 top'), c('GEOPOS odd neg half big huge vast pinf ninf top'),
      c('GEOHASH odd neg half big huge vast pinf ninf top'), c('GEODIST odd neg top'), c('GEORADIUSBYMEMBER odd top 100 km WITHCOORD WITHHASH WITHDIST'),
      c('SET str x'), c('GEOADD str 1 1 a'), c('GEOPOS str a'), c('GEOHASH str a'), c('GEODIST str a b'), c('GEOSEARCH str FROMLONLAT 0 0 BYRADIUS 1 km'),
    ]);
  });

  it('GEORADIUS / GEOSEARCH options, errors and STORE variants', async () => {
    const nyc = c('GEOADD nyc -73.9454966 40.747533 "lic market" -73.9733487 40.7648057 "central park n/q/r" -73.9903085 40.7362513 "union square" -74.0131604 40.7126674 "wtc one" -73.7858139 40.6428986 "jfk" -73.9375699 40.7498929 "q4" -73.9564142 40.7480973 4545');
    await sameAsRedis([
      nyc,
      c('GEORADIUS nyc -73.9798091 40.7598464 3 km asc'), c('GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc'),
      c('GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 frommember xxx bybox 6 6 km asc'), c('GEOSEARCH nyc bybox 3 3 km asc desc withhash withdist withcoord'),
      c('GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 byradius 3 km bybox 3 3 km asc'), c('GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 asc desc withhash withdist withcoord'),
      c('geoSearch nyc fromlonlat -73.9798091 40.7598464'), c('GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc storedist'),
      c('GEORADIUS nyc -73.9798091 40.7598464 3 km withdist asc'), c('GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km withdist asc'),
      c('GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 3'), c('GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 3 ANY'), c('GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 3 ANY ASC'),
      c('GEORADIUS nyc -73.9798091 40.7598464 10 km ANY ASC'), c('GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT'), c('GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 2 DESC'),
      c('GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 0'), c('GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT -3'), c('GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT x'),
      c('GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 99999999999999999999'), c('GEORADIUS nyc -73.9798091 40.7598464 -1 km'), c('GEORADIUS nyc -73.9798091 40.7598464 x km'),
      c('GEORADIUS nyc -73.9798091 40.7598464 10 parsec'), c('GEORADIUS nyc -73.9798091 95 10 km'), c('GEORADIUS nyc -73.9798091 40.7598464 10 KM WITHCOORD WITHHASH WITHDIST'),
      c('GEORADIUS nyc -73.9798091 40.7598464 10 mi WITHDIST DESC'), c('GEORADIUS nyc -73.9798091 40.7598464 30000 ft WITHDIST'), c('GEORADIUS nyc -73.9798091 40.7598464 10 km foo'),
      c('GEORADIUSBYMEMBER nyc "wtc one" 7 km'), c('GEORADIUSBYMEMBER nyc "wtc one" 7 km withdist'), c('GEORADIUSBYMEMBER nyc nobody 7 km'), c('GEORADIUSBYMEMBER nokey nobody x y'),
      c('GEORADIUSBYMEMBER nokey nobody 7 km STORE dst'), c('GEORADIUSBYMEMBER_RO nyc "wtc one" 7 km store x'), c('GEORADIUS_RO nyc -73.9798091 40.7598464 3 km store x'),
      c('GEORADIUS_RO nyc -73.9798091 40.7598464 3 km withcoord'), c('GEORADIUSBYMEMBER_RO nyc "wtc one" 7 km count 2 desc withdist'),
      c('GEOSEARCH nyc frommember "wtc one" bybox 14 14 km'), c('GEOSEARCH nyc frommember nobody bybox 14 14 km'), c('GEOSEARCH nokey frommember nobody bybox 14 14 km'),
      c('GEOSEARCH nyc frommember "wtc one" bybox -1 14 km'), c('GEOSEARCH nyc frommember "wtc one" bybox x 14 km'), c('GEOSEARCH nyc frommember "wtc one" bybox 1 y km'),
      c('GEOSEARCH nyc frommember "wtc one" byradius 5 km store x'), c('GEOSEARCH nyc frommember "wtc one" byradius 5'), c('GEOSEARCH nyc fromlonlat 1 byradius 5 km'),
      c('GEOSEARCH nyc frommember "wtc one" fromlonlat 1 1 byradius 5 km'), c('GEOSEARCH nyc frommember "wtc one" byradius 5 km withhash withcoord withdist count 4 any desc'),
      c('GEORADIUS nyc -73.9798091 40.7598464 3 km store'), c('GEOSEARCHSTORE abc nyc fromlonlat 13.361389 38.115556 byradius 50 km store abc'),
      c('GEORADIUS nyc -73.9798091 40.7598464 50 km store points2 withdist'), c('GEORADIUS nyc -73.9798091 40.7598464 50 km store points2 withhash'),
      c('GEOSEARCHSTORE d nyc fromlonlat -73.9798091 40.7598464 byradius 50 km withcoord'), c('GEORADIUS nyc -73.9798091 40.7598464 50 km store points2'), c('ZRANGE points2 0 -1 WITHSCORES'),
      c('GEORADIUS nyc -73.9798091 40.7598464 50 km storedist points2 store points3'), c('ZRANGE points3 0 -1 WITHSCORES'), c('EXISTS points2'),
      c('GEORADIUS nyc -73.9798091 40.7598464 50 km store points2 storedist points3'), c('ZRANGE points3 0 -1 WITHSCORES'),
      c('GEORADIUSBYMEMBER nyc q4 5 km storedist pd asc count 2'), c('ZRANGE pd 0 -1 WITHSCORES'), c('GEORADIUSBYMEMBER nyc q4 5 km storedist pd desc count 2'), c('ZRANGE pd 0 -1 WITHSCORES'),
      c('GEOSEARCHSTORE ps nyc frommember q4 bybox 20 20 km storedist'), c('ZRANGE ps 0 -1 WITHSCORES'), c('OBJECT ENCODING ps'), c('GEOSEARCHSTORE ps nyc frommember q4 bybox 20 20 km'),
      c('ZRANGE ps 0 -1 WITHSCORES'), c('SET ps x'), c('EXPIRE ps 100'), c('GEOSEARCHSTORE ps nyc frommember q4 byradius 1 m'), c('EXISTS ps'), c('SET ps x'),
      c('GEOSEARCHSTORE ps nyc frommember q4 byradius 3 km count 1'), c('TTL ps'), c('TYPE ps'), c('GEOSEARCHSTORE ps nokey frommember q4 byradius 3 km'), c('EXISTS ps'),
      c('GEORADIUS nokey 0 0 1 km'), c('GEORADIUS nokey 0 0 1 km STORE dst'), c('GEORADIUS nokey 500 0 1 km'), c('SET str x'), c('GEORADIUS str 0 0 1 km'), c('GEORADIUSBYMEMBER str m 1 km'),
      c('GEOADD users -47.271613776683807 -54.534504198047678 user_000000'), c('GEORADIUS users 0 0 50000 km WITHCOORD'),
      c('GEOADD k1 -0.15307903289794921875 85 n1 0.3515625 85.00019260486917005437 n2'), c('GEORADIUSBYMEMBER k1 n1 4891.94 m'),
      c('GEOADD k2 45 65 n1 -135 85.05 n2'), c('GEORADIUSBYMEMBER k2 n1 5009431 m'),
      c('GEOADD Sicily 179.5 36 point1 -179.5 36 point2'), c('GEOSEARCH Sicily fromlonlat 179 37 bybox 400 400 km asc'), c('GEOSEARCH Sicily fromlonlat -179 37 bybox 400 400 km asc withdist withcoord'),
      c('GEOADD sm -122.407107 37.794300 1 -122.227336 37.794300 2'), c('GEORADIUS sm -122.407107 37.794300 30 mi ASC WITHDIST'),
      c('GEOADD dup 10 10 a 10 10 b 10 10 c 10 10 d 10 10 e 10 10 f 10 10 g 10 10 h 10.001 10 i'), c('GEORADIUS dup 10 10 10 km COUNT 3 ASC'), c('GEORADIUS dup 10 10 10 km COUNT 8 DESC'),
      c('GEORADIUS dup 10 10 10 km ASC'), c('GEORADIUS dup 10 10 10 km DESC'), c('GEORADIUS dup 10 10 0 km'), c('GEORADIUS dup 10 10 0 m WITHDIST'),
      c('COMMAND INFO geoadd geodist geohash geopos georadius georadius_ro georadiusbymember georadiusbymember_ro geosearch geosearchstore'),
      c('COMMAND GETKEYS GEORADIUS a 1 1 1 km STORE b STOREDIST c'), c('COMMAND GETKEYS GEOSEARCHSTORE d s FROMLONLAT 1 1 BYRADIUS 1 km'),
    ]);
  });

  it('random points and queries: the same scores, members, orders, distances and coordinates', async () => {
    const r = rng(Number(process.env.GEO_SEED ?? 2024));
    const cmds: string[][] = [];
    const looseAt = new Set<number>();
    const keys = ['pts', 'few'];
    // One big set (skiplist) and one small one (listpack); points everywhere, a cluster, and duplicates.
    for (const [key, n] of [['pts', 3000], ['few', 60]] as const) {
      const args = ['GEOADD', key];
      for (let j = 0; j < n; j++) {
        const cluster = j % 3 === 0;
        const lon = cluster ? 12 + r() * 2 : -180 + r() * 360;
        const lat = cluster ? 41 + r() * 2 : -85 + r() * 170;
        args.push(String(lon), String(lat), `p${j}`);
        if (j % 50 === 0) args.push(String(lon), String(lat), `twin${j}`);
      }
      cmds.push(args);
    }
    cmds.push(c('ZRANGE pts 0 -1 WITHSCORES'), c('ZRANGE few 0 -1 WITHSCORES'));
    const units = ['m', 'km', 'mi', 'ft'];
    const perUnit: Record<string, number> = { m: 1, km: 1000, mi: 1609.34, ft: 0.3048 };
    for (let q = 0; q < 400; q++) {
      const key = keys[q % 5 === 0 ? 1 : 0];
      const u = units[Math.floor(r() * 4)];
      const big = r() < 0.1;
      const meters = big ? 1e5 + r() * 5e6 : r() < 0.5 ? r() * 3e5 : r() * 5e3;
      const dist = String(Math.round((meters / perUnit[u]) * 1000) / 1000);
      const near = r() < 0.5;
      const lon = String(near ? 12 + r() * 2 : -180 + r() * 360);
      const lat = String(near ? 41 + r() * 2 : -85 + r() * 170);
      const member = `p${Math.floor(r() * (key === 'few' ? 60 : 3000))}`;
      const opts: string[] = [];
      for (const o of ['WITHDIST', 'WITHCOORD', 'WITHHASH']) if (r() < 0.5) opts.push(o);
      const sort = r();
      if (sort < 0.3) opts.push('ASC');
      else if (sort < 0.6) opts.push('DESC');
      if (r() < 0.5) {
        opts.push('COUNT', String(1 + Math.floor(r() * 20)));
        if (r() < 0.4) opts.push('ANY');
      }
      const from = r() < 0.5 ? ['FROMMEMBER', member] : ['FROMLONLAT', lon, lat];
      const by = r() < 0.5 ? ['BYRADIUS', dist, u] : ['BYBOX', dist, String(Math.round(r() * meters) / perUnit[u]), u];
      switch (q % 4) {
        case 0:
          cmds.push(['GEORADIUS', key, lon, lat, dist, u, ...opts]);
          break;
        case 1:
          cmds.push(['GEORADIUSBYMEMBER_RO', key, member, dist, u, ...opts]);
          break;
        case 2:
          cmds.push(['GEOSEARCH', key, ...from, ...by, ...opts]);
          break;
        default: {
          const store = opts.filter((o) => !o.startsWith('WITH'));
          const storedist = r() < 0.5;
          if (r() < 0.5) cmds.push(['GEOSEARCHSTORE', 'dst', key, ...from, ...by, ...store, ...(storedist ? ['STOREDIST'] : [])]);
          else cmds.push(['GEORADIUS', key, lon, lat, dist, u, ...store, storedist ? 'STOREDIST' : 'STORE', 'dst']);
          if (storedist) looseAt.add(cmds.length);
          cmds.push(c('ZRANGE dst 0 -1 WITHSCORES'));
        }
      }
    }
    for (let j = 0; j < 200; j++) cmds.push(['GEODIST', 'pts', `p${Math.floor(r() * 3000)}`, `p${Math.floor(r() * 3000)}`, units[j % 4]]);
    const some = Array.from({ length: 300 }, (_, j) => `p${j * 10}`);
    cmds.push(['GEOPOS', 'pts', ...some], ['GEOHASH', 'pts', ...some]);
    await sameAsRedis(cmds, [2, 3], looseAt);
  }, 120000);
});
