/**
 * Network fuzzing of the RESP front end: many connections send mutated
 * request frames (bit flips, truncations, bad/huge/negative lengths, inline
 * garbage, RESP3 types where only bulks are allowed, random command names
 * and argument counts) mixed with valid commands, while a watcher checks
 * that the server stays up, answers PING on a fresh connection, closes a
 * connection after a protocol error only with Redis's error text, and keeps
 * its RSS bounded.
 *
 * Shared by bench/net-fuzz.mjs (millions of frames) and
 * test/net-fuzz.test.ts (a bounded run). Deterministic for a given seed,
 * apart from how the server's replies interleave.
 *
 * What a fuzzed command may do to the machine is limited twice: frames go
 * through a deny filter (no SHUTDOWN, DEBUG, CONFIG, CLIENT, scripting,
 * replication, SAVE...), and the server is meant to run with a temporary
 * --dir and a maxmemory with an eviction policy; the controller also runs
 * FLUSHALL every couple of seconds.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';

/** A fuzzed frame containing any of these words (any case) is not sent. */
const DENY = [
  'shutdown', 'debug', 'config', 'client', 'monitor', 'slaveof', 'replicaof', 'failover', 'sync', 'script',
  'function', 'eval', 'fcall', 'acl', 'module', 'pause', 'quit', 'migrate', 'save', 'flushall', 'flushdb',
  'keys', 'latency', 'slowlog', 'auth', 'reset', 'swapdb', 'move', 'lastsave', 'memory', 'object freq',
];

/** xorshift32: reproducible streams per connection. */
export function rng(seed) {
  let s = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (a) => a[int(a.length)], chance: (p) => next() < p };
}

const enc = (args) => {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`;
  return s;
};

function randomBytes(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(r.int(256));
  return s;
}

const ODD_NUMBERS = ['0', '-1', '1', '-0', '+1', '01', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '1e308', '-1e309', 'nan', 'inf', '-inf', '0x10', '1.5', '', ' 1', '2147483648', '-2147483649', '4294967296'];

function arg(r) {
  switch (r.int(6)) {
    case 0:
      return String(r.int(100) - 10);
    case 1:
      return r.pick(ODD_NUMBERS);
    case 2:
      return randomBytes(r, r.int(16));
    case 3:
      return r.chance(0.02) ? 'x'.repeat(1 + r.int(8192)) : 'v' + r.int(1000);
    default:
      return 'fz:' + r.int(200);
  }
}

const key = (r) => (r.chance(0.05) ? randomBytes(r, 1 + r.int(8)) : 'fz:' + r.int(200));
const small = (r) => String(r.int(20) - 5);
const num = (r) => (r.chance(0.8) ? small(r) : r.pick(ODD_NUMBERS));

/** Real commands with arguments in their shape (often valid, sometimes not). */
const SHAPED = [
  (r) => ['SET', key(r), arg(r), ...(r.chance(0.2) ? [r.pick(['EX', 'PX', 'NX', 'XX', 'GET', 'KEEPTTL']), num(r)] : [])],
  (r) => ['GET', key(r)],
  (r) => ['DEL', key(r), key(r)],
  (r) => ['INCRBY', key(r), num(r)],
  (r) => ['INCRBYFLOAT', key(r), num(r)],
  (r) => ['APPEND', key(r), arg(r)],
  (r) => ['MSET', key(r), arg(r), key(r), arg(r)],
  (r) => ['MGET', key(r), key(r), key(r)],
  (r) => ['GETRANGE', key(r), num(r), num(r)],
  (r) => ['SETRANGE', key(r), String(r.int(100)), arg(r)],
  (r) => ['SETBIT', key(r), String(r.int(1000)), r.pick(['0', '1', '2'])],
  (r) => ['BITCOUNT', key(r), num(r), num(r)],
  (r) => ['LPUSH', key(r), arg(r), arg(r)],
  (r) => ['RPUSH', key(r), arg(r)],
  (r) => ['LRANGE', key(r), num(r), num(r)],
  (r) => ['LPOP', key(r), ...(r.chance(0.5) ? [num(r)] : [])],
  (r) => ['LINSERT', key(r), r.pick(['BEFORE', 'AFTER', 'x']), arg(r), arg(r)],
  (r) => ['LPOS', key(r), arg(r), 'RANK', num(r)],
  (r) => ['BLPOP', key(r), '0.01'],
  (r) => ['HSET', key(r), arg(r), arg(r)],
  (r) => ['HGETALL', key(r)],
  (r) => ['HINCRBY', key(r), arg(r), num(r)],
  (r) => ['HRANDFIELD', key(r), String(r.int(10) - 5)],
  (r) => ['SADD', key(r), arg(r), arg(r)],
  (r) => ['SMEMBERS', key(r)],
  (r) => ['SINTERSTORE', key(r), key(r), key(r)],
  (r) => ['SRANDMEMBER', key(r), String(r.int(10) - 5)],
  (r) => ['ZADD', key(r), ...(r.chance(0.2) ? [r.pick(['NX', 'XX', 'GT', 'LT', 'CH', 'INCR'])] : []), num(r), arg(r)],
  (r) => ['ZRANGE', key(r), num(r), num(r), ...(r.chance(0.3) ? [r.pick(['BYSCORE', 'BYLEX', 'REV', 'WITHSCORES'])] : [])],
  (r) => ['ZRANGEBYLEX', key(r), r.pick(['-', '[a', '(b', 'x']), r.pick(['+', '[z', 'y'])],
  (r) => ['ZUNIONSTORE', key(r), r.pick(['2', '1', '0', '-1', '3']), key(r), key(r)],
  (r) => ['XADD', key(r), r.pick(['*', '1-1', '0-0', '99999999999999-1', 'x']), arg(r), arg(r)],
  (r) => ['XRANGE', key(r), '-', '+', 'COUNT', num(r)],
  (r) => ['XTRIM', key(r), 'MAXLEN', num(r)],
  (r) => ['XREAD', 'COUNT', '5', 'STREAMS', key(r), '0'],
  (r) => ['PFADD', key(r), arg(r)],
  (r) => ['PFCOUNT', key(r), key(r)],
  (r) => ['GEOADD', key(r), num(r), num(r), arg(r)],
  (r) => ['GEOSEARCH', key(r), 'FROMLONLAT', num(r), num(r), 'BYRADIUS', String(r.int(1000)), 'km'],
  (r) => ['EXPIRE', key(r), num(r)],
  (r) => ['PEXPIREAT', key(r), num(r)],
  (r) => ['TTL', key(r)],
  (r) => ['TYPE', key(r)],
  (r) => ['EXISTS', key(r), key(r)],
  (r) => ['RENAME', key(r), key(r)],
  (r) => ['COPY', key(r), key(r), 'REPLACE'],
  (r) => ['SORT', key(r), ...(r.chance(0.5) ? ['LIMIT', small(r), small(r)] : []), ...(r.chance(0.5) ? ['ALPHA'] : [])],
  (r) => ['SCAN', r.pick(['0', '17', 'x', '-1']), 'COUNT', r.pick(['10', '0', '-1', '1000'])],
  (r) => ['OBJECT', r.pick(['ENCODING', 'REFCOUNT', 'IDLETIME', 'HELP']), key(r)],
  (r) => ['DUMP', key(r)],
  (r) => ['SELECT', r.pick(['0', '1', '15', '16', '-1', 'x'])],
  (r) => ['DBSIZE'],
  (r) => ['PING', ...(r.chance(0.5) ? [arg(r)] : [])],
  (r) => ['ECHO', arg(r)],
  (r) => ['WATCH', key(r)],
  (r) => ['PUBLISH', 'ch' + r.int(5), arg(r)],
  // Always with names: COMMAND INFO/DOCS of every command is a reply of hundreds of KB (see 'cut' in runNetFuzz).
  (r) => ['COMMAND', r.pick(['COUNT', 'INFO', 'DOCS', 'GETKEYS', 'x']), 'get', ...(r.chance(0.5) ? ['set'] : [])],
  (r) => ['TIME'],
  (r) => ['INFO', r.pick(['server', 'keyspace', 'x', 'commandstats'])],
];

/** Commands that change what the connection's later commands do: rarer, and undone by each batch's trailer. */
const STATEFUL = [
  (r) => [r.pick(['MULTI', 'EXEC', 'DISCARD'])],
  (r) => ['HELLO', r.pick(['2', '3', '4', '1', 'x'])],
  (r) => [r.pick(['SUBSCRIBE', 'UNSUBSCRIBE', 'PSUBSCRIBE', 'PUNSUBSCRIBE', 'SSUBSCRIBE']), 'ch' + r.int(5)],
];

const NAMES = ['GET', 'SET', 'LPUSH', 'ZADD', 'HSET', 'XADD', 'SORT', 'OBJECT', 'COMMAND', 'SETRANGE', 'BITFIELD', 'GEORADIUS', 'ZRANGESTORE', 'LMPOP', 'XREADGROUP', 'XGROUP', 'XINFO', 'PUBSUB', 'EXPIRETIME', 'GETEX', 'LCS', 'SINTERCARD', 'ZINTERCARD', 'XAUTOCLAIM', 'XCLAIM', 'BITPOS', 'HSCAN', 'ZSCAN', 'SSCAN', 'TOUCH', 'UNLINK', 'RANDOMKEY', 'STRLEN', 'GETSET', 'SMOVE', 'LSET', 'LTRIM', 'LREM', 'ZREMRANGEBYSCORE'];

/** A real command name with a random number of random arguments, or a name nobody has. */
function randomCommand(r) {
  if (r.chance(0.3)) {
    const len = 1 + r.int(12);
    let name = '';
    for (let i = 0; i < len; i++) name += String.fromCharCode(r.chance(0.9) ? 65 + r.int(26) : r.int(256));
    return [name, ...Array.from({ length: r.int(4) }, () => arg(r))];
  }
  // Small counts only: a numeric argument is never big enough to make a reply or value huge.
  return [r.pick(NAMES), ...Array.from({ length: r.int(9) }, () => (r.chance(0.5) ? key(r) : r.chance(0.5) ? small(r) : arg(r)))];
}

/** An inline command; `broken` allows unbalanced quotes (a protocol error). */
function inline(r, broken) {
  // Quotes inside a token open a quoted string (sdssplitargs): only a broken line gets stray ones.
  const clean = (t) => (broken ? t : t.replace(/["']/g, 'q'));
  const parts = Array.from({ length: r.int(6) }, () => {
    switch (r.int(5)) {
      case 0:
        return '"' + clean(randomBytes(r, r.int(10)).replace(/[\r\n\0]/g, 'q')) + (!broken || r.chance(0.7) ? '"' : '');
      case 1:
        return "'" + 'abc\\x41\\n' + (!broken || r.chance(0.7) ? "'" : '');
      case 2:
        return '"\\x' + clean(randomBytes(r, 2).replace(/[\r\n\0]/g, 'q')) + '"';
      default:
        return clean(arg(r).replace(/[\r\n\0 \t]/g, '_')) || 'x';
    }
  });
  const name = r.pick(['PING', 'ECHO', 'SET', 'GET', 'EXISTS', 'HSET', clean(randomBytes(r, 3).replace(/[\r\n\0*\t ]/g, 'z'))]);
  return `${name} ${parts.join(' ')}${r.chance(0.5) ? '\r\n' : '\n'}`;
}

const RESP3 = ['%1\r\n+a\r\n:1\r\n', '~2\r\n+a\r\n+b\r\n', '>2\r\n+p\r\n+q\r\n', '|1\r\n+k\r\n+v\r\n', ',3.14\r\n', ',inf\r\n', '(12345678901234567890\r\n', '=7\r\ntxt:abc\r\n', '#t\r\n', '_\r\n', '+simple\r\n', '-ERR x\r\n', ':42\r\n', '*-1\r\n', '$-1\r\n', '*1\r\n*1\r\n$1\r\nx\r\n'];

/** A frame that is wrong at the protocol level in one of the ways a broken client or an attacker sends. */
function malformed(r) {
  switch (r.int(12)) {
    case 0: {
      // Bit flips in a valid frame.
      const f = Buffer.from(enc(SHAPED[r.int(SHAPED.length)](r)), 'latin1');
      for (let i = 1 + r.int(3); i > 0; i--) f[r.int(f.length)] ^= 1 << r.int(8);
      return f.toString('latin1');
    }
    case 1: {
      const f = enc(SHAPED[r.int(SHAPED.length)](r));
      return f.slice(0, r.int(f.length));
    }
    case 2:
      return `*${r.pick(['-1', '0', '-5', '2147483648', '99999999999999999999', 'x', '', '1 ', '+1', '01', '-0', '1000000'])}\r\n` + (r.chance(0.5) ? enc(['PING']).slice(4) : '');
    case 3: {
      const len = r.pick(['-1', '-2', '536870913', '99999999999', 'x', '', '3x', '01', '1000000', '400000000', '40000']);
      return `*2\r\n$4\r\nECHO\r\n$${len}\r\nabc\r\n`;
    }
    case 4: {
      // A bulk whose declared length is off by a little.
      const v = arg(r);
      return `*2\r\n$4\r\nECHO\r\n$${Math.max(0, v.length + r.int(5) - 2)}\r\n${v}\r\n`;
    }
    case 5:
      return '*2\r\n$4\r\nECHO\r\n' + r.pick(RESP3);
    case 6:
      return r.pick(RESP3) + (r.chance(0.5) ? r.pick(RESP3) : '');
    case 7:
      return inline(r, true);
    case 8:
      return randomBytes(r, 1 + r.int(64));
    case 9:
      // An inline line longer than Redis's 64 KiB, unterminated (long enough that a read ends before the trailer's LF).
      return 'A'.repeat(256 * 1024 + r.int(4096));
    case 10:
      // A length line that never ends.
      return (r.chance(0.5) ? '*' : '*1\r\n$') + '1'.repeat(256 * 1024);
    default:
      return '*3\r\n$3\r\nSET\r\n$2\r\nfz\r\n' + r.pick(['$', '*1\r\n', ':1\r\n', '$3\r\nab']);
  }
}

function safe(frame) {
  const low = frame.toLowerCase();
  return !DENY.some((w) => low.includes(w));
}

/** One frame: mostly valid or semantically odd commands, sometimes an inline one, a few bit-flipped. */
function frame(r) {
  let f;
  const k = r.next();
  if (k < 0.01) f = enc(r.pick(STATEFUL)(r));
  else if (k < 0.6) f = enc(SHAPED[r.int(SHAPED.length)](r));
  else if (k < 0.85) f = enc(randomCommand(r));
  else f = inline(r, false).replace(/\n(?!$)/g, ' ');
  if (r.chance(0.003)) {
    const b = Buffer.from(f, 'latin1');
    b[r.int(b.length)] ^= 1 << r.int(8);
    f = b.toString('latin1');
  }
  return f;
}

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** PING on a new connection; ms it took, or throws after timeoutMs. */
export async function freshPing(port, timeoutMs) {
  const t0 = performance.now();
  const s = await connect(port);
  try {
    return await new Promise((resolve, reject) => {
      let got = '';
      const timer = setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms (got ${JSON.stringify(got)})`)), timeoutMs);
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (got === '+PONG\r\n') {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.write('*1\r\n$4\r\nPING\r\n');
    });
  } finally {
    s.destroy();
  }
}

/** One command on its own connection, its raw reply. */
async function command(port, args) {
  const s = await connect(port);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${args[0]}: no reply`)), 30000);
      s.once('data', (d) => {
        clearTimeout(timer);
        resolve(d.toString('latin1'));
      });
      s.once('error', reject);
      s.write(enc(args));
    });
  } finally {
    s.destroy();
  }
}

const TRAILER = enc(['DISCARD']) + enc(['UNSUBSCRIBE']) + enc(['PUNSUBSCRIBE']) + enc(['SUNSUBSCRIBE']);
/** Commands each batch adds to its frames. */
export const TRAILER_COMMANDS = 5;

const PROTOCOL_ERROR_TAIL = /-ERR Protocol error: [^\r\n]*\r\n$/;

/**
 * Fuzz the server at `port` (process `pid`, for RSS) with `connections`
 * connections until `frames` frames were sent or `seconds` passed.
 * Returns counts; `problems` lists what went wrong (empty on a clean run).
 */
export async function runNetFuzz({ port, pid, connections = 50, frames = 100_000, seconds = 60, seed = 1, batch = 64, flushEveryMs = 2000, pingEveryMs = 250, pingTimeoutMs = 5000, onProgress = null }) {
  const st = { framesSent: 0, bytesSent: 0, batches: 0, protocolErrorCloses: 0, cut: 0, otherCloses: 0, stalls: 0, reconnects: 0, pings: 0, maxPingMs: 0, peakRssKiB: 0, rssSamples: [], problems: [], errorKinds: new Map() };
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let stop = false;
  const done = () => stop || st.framesSent >= frames || performance.now() > deadline;
  const problem = (what) => {
    if (st.problems.length < 50) st.problems.push(what);
    if (/server (exited|down)/.test(what)) stop = true;
  };

  const sampler = setInterval(() => {
    const kib = rssKiB(pid);
    if (kib === 0) return problem('server exited (no /proc status)');
    st.peakRssKiB = Math.max(st.peakRssKiB, kib);
    st.rssSamples.push([Math.round(performance.now() - t0), kib]);
  }, 100);

  const pinger = (async () => {
    while (!done()) {
      try {
        const ms = await freshPing(port, pingTimeoutMs);
        st.pings++;
        st.maxPingMs = Math.max(st.maxPingMs, ms);
      } catch (e) {
        problem(`server down: fresh PING failed: ${e.message}`);
      }
      await new Promise((r) => setTimeout(r, pingEveryMs));
    }
  })();

  const flusher = (async () => {
    while (!done()) {
      await new Promise((r) => setTimeout(r, flushEveryMs));
      try {
        const rep = await command(port, ['FLUSHALL']);
        if (rep !== '+OK\r\n') problem(`FLUSHALL answered ${JSON.stringify(rep.slice(0, 200))}`);
      } catch (e) {
        problem(`server down: FLUSHALL failed: ${e.message}`);
      }
      onProgress?.(st, performance.now() - t0);
    }
  })();

  async function worker(id) {
    const r = rng(seed * 7919 + id * 104729);
    let n = 0;
    while (!done()) {
      let s;
      try {
        s = await connect(port);
      } catch (e) {
        problem(`server down: connect failed: ${e.message}`);
        return;
      }
      st.reconnects++;
      let tail = Buffer.alloc(0);
      let closedByServer = false;
      let destroyedByUs = false;
      let waiting = null;
      let batchBytes = 0;
      s.on('data', (d) => {
        batchBytes += d.length;
        tail = Buffer.concat([tail, d]);
        if (waiting !== null && tail.includes(waiting.token)) waiting.resolve('marker');
        if (tail.length > 512) tail = tail.subarray(tail.length - 256);
      });
      let reset = false;
      s.on('error', (e) => {
        if (e.code === 'ECONNRESET') reset = true;
      });
      s.on('close', () => {
        closedByServer = !destroyedByUs;
        waiting?.resolve('closed');
      });
      while (!done() && !s.destroyed) {
        let out = '';
        let count = 0;
        for (let i = 0; i < batch; i++) {
          const f = frame(r);
          if (!safe(f)) continue;
          out += f;
          count++;
        }
        if (r.chance(0.4)) {
          const f = malformed(r);
          if (safe(f)) {
            out += f;
            count++;
          }
        }
        const token = `mk${id}x${n++}z`;
        // Leave a MULTI or subscriptions the batch started, so the PING marker runs and the next batch is
        // not all queued or refused (each an error reply otherwise, harmless).
        out += TRAILER + enc(['PING', token]);
        batchBytes = 0;
        const outcome = await new Promise((resolve) => {
          waiting = { token: Buffer.from(token), resolve };
          const timer = setTimeout(() => resolve('stall'), 2000);
          waiting.resolve = (v) => {
            clearTimeout(timer);
            resolve(v);
          };
          s.write(out, 'latin1');
        });
        waiting = null;
        st.framesSent += count;
        st.bytesSent += out.length;
        st.batches++;
        if (outcome === 'stall') {
          // Blocked (BLPOP 0 after a flip), inside a bulk still "arriving", or a stuck subscriber: start over.
          st.stalls++;
          destroyedByUs = true;
          s.destroy();
        } else if (outcome === 'closed') {
          const text = tail.toString('latin1');
          if (closedByServer && PROTOCOL_ERROR_TAIL.test(text)) {
            st.protocolErrorCloses++;
            const kind = /-ERR Protocol error: ([^\r\n]*)/.exec(text.slice(text.lastIndexOf('-ERR Protocol error')))[1].replace(/\d+/g, 'N').replace(/got '.*'$/s, "got 'c'");
            st.errorKinds.set(kind, (st.errorKinds.get(kind) ?? 0) + 1);
          } else if (closedByServer && (reset || batchBytes >= 64 * 1024)) {
            // Closed after a protocol error while our later frames sat unread in the server's socket: its
            // kernel then answers with a reset, which discards what was still queued to us (the end of a large
            // reply, and the error line). redis-server closes the same way (bench/net-fuzz.mjs --server redis).
            st.cut++;
          } else {
            st.otherCloses++;
            problem(`connection closed without a protocol error text; last bytes ${JSON.stringify(text.slice(-120))}`);
          }
        }
      }
      destroyedByUs = true;
      s.destroy();
    }
  }

  await Promise.all(Array.from({ length: connections }, (_, i) => worker(i)));
  stop = true;
  await Promise.all([pinger, flusher]);
  clearInterval(sampler);
  st.seconds = (performance.now() - t0) / 1000;
  try {
    st.finalPingMs = await freshPing(port, pingTimeoutMs);
  } catch (e) {
    problem(`server down at the end: ${e.message}`);
  }
  st.finalRssKiB = rssKiB(pid);
  return st;
}
