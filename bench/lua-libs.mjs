/**
 * The bundled Lua libraries under EVALSHA, side by side with redis-server:
 * scripts of the shapes BullMQ runs (cmsgpack.unpack of msgpack options,
 * cjson.encode/decode of a job) and a struct+bit one, driven by
 * redis-benchmark at -P 1 and -P 16. Prints ops/s and damselfly/redis ratios.
 * The binary inputs sit in a key each script GETs (argv cannot carry them).
 *
 *   npm run build && node bench/lua-libs.mjs [requests]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDamselfly, startRedis } from './servers.mjs';

const N = Number(process.argv[2] ?? 20000);

// A BullMQ-like options object, msgpack-encoded (map of 6: strings, ints, a nested map, a float)
const opts = Buffer.from(
  '86a8617474656d70747303a564656c6179cd03e8a87072696f72697479' +
    '00a974696d657374616d70cf00000193a0f2a000a76261636b6f666682a474797065ab6578706f6e656e7469616ca564656c6179cd03e8a4726174' +
    '65cb3fb999999999999a',
  'hex',
);
const job = JSON.stringify({ name: 'job', data: { foo: 'bar', n: 12345, list: [1, 2, 3, 4, 5], nested: { a: true, c: 'hello world' } }, attempts: 3 });

const SCRIPTS = {
  'cmsgpack.unpack (BullMQ options)': [`local o = cmsgpack.unpack(redis.call('GET', KEYS[1])) return o.attempts + o.backoff.delay`, opts],
  'cjson.decode + encode (job)': [`local j = cjson.decode(redis.call('GET', KEYS[1])) j.data.n = j.data.n + 1 return cjson.encode(j)`, Buffer.from(job)],
  'struct + bit': [`local a, b = struct.unpack('>I4i2', redis.call('GET', KEYS[1])) return bit.band(bit.bxor(a, b), 0xffff)`, Buffer.from('01020304fffe', 'hex')],
};

function canon(reply) {
  const sortKeys = (v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v;
  try {
    return JSON.stringify(sortKeys(JSON.parse(reply)));
  } catch {
    return reply;
  }
}

function cli(port, args, input) {
  return execFileSync('redis-cli', ['-p', String(port), ...(input ? ['-x'] : []), ...args], { encoding: 'latin1', input }).trim();
}

function bench(port, sha, key, pipeline) {
  const out = execFileSync('redis-benchmark', ['-p', String(port), '-n', String(N), '-c', '50', '-P', String(pipeline), '-q', 'EVALSHA', sha, '1', key], {
    encoding: 'latin1',
  });
  const m = /([\d.]+) requests per second/.exec(out);
  if (!m) throw new Error('no figure in: ' + out);
  return Number(m[1]);
}

const dir = mkdtempSync(path.join(tmpdir(), 'lua-libs-bench-'));
const servers = [await startDamselfly(path.join(dir, 'd')), await startRedis(dir)];
try {
  const rows = [];
  let k = 0;
  for (const [name, [body, input]] of Object.entries(SCRIPTS)) {
    const key = `lua-libs-input-${k++}`;
    for (const s of servers) cli(s.port, ['SET', key], input);
    const shas = servers.map((s) => cli(s.port, ['SCRIPT', 'LOAD', body]));
    const replies = servers.map((s, i) => cli(s.port, ['EVALSHA', shas[i], '1', key]));
    // (an object's key order follows the table traversal, which differs between Lua 5.1 and 5.4)
    if (canon(replies[0]) !== canon(replies[1])) throw new Error(`${name}: replies differ: ${replies[0]} vs ${replies[1]}`);
    for (const p of [1, 16]) {
      const [d, r] = servers.map((s, i) => bench(s.port, shas[i], key, p));
      rows.push({ script: name, P: p, damselfly: Math.round(d), redis: Math.round(r), ratio: (d / r).toFixed(2) });
    }
  }
  console.table(rows);
  console.log(`load average at the end: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
}
