/**
 * Busy scripts: past busy-reply-threshold other clients get Redis's -BUSY
 * replies (the server stays reachable), SCRIPT KILL stops a script that has
 * not written (pcall cannot catch it), a script that wrote is UNKILLABLE,
 * and SHUTDOWN NOSAVE stops the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, resp, startServer, until, type TestServer } from './helpers/server.js';

const BUSY = '-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer(['--busy-reply-threshold', '200']);
});
afterAll(async () => srv?.stop());

async function client(): Promise<RawClient> {
  return RawClient.connect(srv.port);
}

/** Sends PING until it is answered with -BUSY (the script passed the threshold). */
async function waitBusy(c: RawClient): Promise<void> {
  await until(async () => {
    c.write(resp('PING'));
    return (await c.readUntil('\r\n')) === BUSY;
  }, 'BUSY replies', 15000);
}

const KILLED = /^-ERR Script killed by user with SCRIPT KILL\.\.\. script: [0-9a-f]{40}, on @user_script:1\.\r\n$/;

/** SCRIPT KILL from b ends the script a runs: a gets the kill error, and the server answers PING again. */
async function killAndCheck(a: RawClient, b: RawClient): Promise<void> {
  b.write(resp('SCRIPT', 'KILL'));
  expect(await b.readUntil('\r\n')).toBe('+OK\r\n');
  expect(await a.readUntil('\r\n')).toMatch(KILLED);
  b.write(resp('PING'));
  expect(await b.readUntil('\r\n')).toBe('+PONG\r\n');
}

describe('a script past busy-reply-threshold', () => {
  // Runs start unhooked once the watchdog is up (watchdog.ts); without it every
  // run would be hooked from its start and the tests below would pass anyway.
  it('is watched by the watchdog thread, not hooked from its start', async () => {
    const c = await client();
    try {
      c.write(resp('EVAL', 'return 1', '0'));
      expect(await c.readUntil('\r\n')).toBe(':1\r\n');
      await srv.waitForLog((l) => String(l.msg).startsWith('script watchdog running'));
      expect(srv.logs.some((l) => String(l.msg).startsWith('script watchdog unavailable'))).toBe(false);
    } finally {
      c.close();
    }
  });

  it('is atomic before the threshold, then others get -BUSY, and SCRIPT KILL ends it', async () => {
    const a = await client();
    const b = await client();
    try {
      b.write(resp('CONFIG', 'RESETSTAT'));
      expect(await b.readUntil('\r\n')).toBe('+OK\r\n');
      const body = 'local i = 0 while true do i = i + 1 end';
      a.write(resp('EVAL', body, '0'));
      // Two connections: the server may read b's PING before a's EVAL, and
      // answer it. Once the script runs nothing else does before the
      // threshold, and the PING waiting then is answered -BUSY.
      await until(async () => {
        b.write(resp('PING'));
        return (await b.readUntil('\r\n')) === BUSY;
      }, 'a BUSY reply');
      // What Redis serves while busy: MULTI/DISCARD, and the -BUSY for everything else.
      b.write(resp('MULTI'));
      expect(await b.readUntil('\r\n')).toBe('+OK\r\n');
      b.write(resp('DISCARD'));
      expect(await b.readUntil('\r\n')).toBe('+OK\r\n');
      b.write(resp('GET', 'x'));
      expect(await b.readUntil('\r\n')).toBe(BUSY);
      b.write(resp('SCRIPT', 'KILL'));
      expect(await b.readUntil('\r\n')).toBe('+OK\r\n');
      expect(await a.readUntil('\r\n')).toMatch(/^-ERR Script killed by user with SCRIPT KILL\.\.\. script: [0-9a-f]{40}, on @user_script:1\.\r\n$/);
      b.write(resp('PING'));
      expect(await b.readUntil('\r\n')).toBe('+PONG\r\n');
      b.write(resp('SCRIPT', 'KILL'));
      expect(await b.readUntil('\r\n')).toBe('-NOTBUSY No scripts in execution right now.\r\n');
      // The killed client's connection goes on.
      a.write(resp('PING'));
      expect(await a.readUntil('\r\n')).toBe('+PONG\r\n');
      // The kill error came after EVAL's call returned (the script was suspended): EVAL is still failed.
      b.write(resp('INFO', 'everything'));
      const len = Number((await b.readUntil('\r\n')).slice(1, -2));
      const info = await b.read(len + 2);
      expect(info).toMatch(/\r\ncmdstat_eval:calls=1,[^\r]*,rejected_calls=0,failed_calls=1\r\n/);
      expect(info).toMatch(/\r\nerrorstat_ERR:count=1\r\n/);
      expect(info).toMatch(/\r\nerrorstat_BUSY:count=2\r\n/);
      expect(info).toMatch(/\r\nerrorstat_NOTBUSY:count=1\r\n/);
    } finally {
      a.close();
      b.close();
    }
  });

  it('cannot swallow the kill with pcall', async () => {
    const a = await client();
    const b = await client();
    try {
      a.write(resp('EVAL', 'while true do pcall(function() while true do end end) end', '0'));
      await waitBusy(b);
      b.write(resp('SCRIPT', 'KILL'));
      expect(await b.readUntil('\r\n')).toBe('+OK\r\n');
      expect(await a.readUntil('\r\n')).toMatch(/^-ERR Script killed by user with SCRIPT KILL\.\.\./);
    } finally {
      a.close();
      b.close();
    }
  });

  // A run's own thread gets its count hook only once the run has gone on a
  // while (watchdog.ts); coroutines made before that have theirs from the start.
  it('is stopped inside a coroutine made before the run was watched, by wrap or by resume', async () => {
    for (const body of [
      "coroutine.wrap(function() while true do end end)() return 'ended'",
      "local co = coroutine.create(function() while true do end end) coroutine.resume(co) while true do end",
      "local outer = coroutine.wrap(function() local inner = coroutine.create(function() while true do end end) coroutine.resume(inner) while true do end end) outer()",
    ]) {
      const a = await client();
      const b = await client();
      try {
        a.write(resp('EVAL', body, '0'));
        await waitBusy(b);
        await killAndCheck(a, b);
      } finally {
        a.close();
        b.close();
      }
    }
  });

  it('is time-sliced inside coroutines without the script seeing a yield it did not make', async () => {
    const a = await client();
    const b = await client();
    try {
      // 600 ms of work inside a coroutine, nested in another, past the 200 ms threshold: the
      // slices are passed up, and the coroutines' own yields and returns are what the script gets.
      const spin = "local t = redis.call('time') local s = t[1] * 1000000 + t[2] while true do local n = redis.call('time') if n[1] * 1000000 + n[2] - s > 600000 then break end end";
      const body =
        `local inner = coroutine.create(function(x) ${spin} local y = coroutine.yield(x + 1, 'yielded') return y * 2 end) ` +
        "local outer = coroutine.wrap(function() local ok, a, b = coroutine.resume(inner, 1) local ok2, c = coroutine.resume(inner, 10) return a, b, c, tostring(ok and ok2), coroutine.status(inner) end) " +
        'return {outer()}';
      a.write(resp('EVAL', body, '0'));
      await waitBusy(b);
      expect(await a.readUntil('dead\r\n', 20000)).toBe('*5\r\n:2\r\n$7\r\nyielded\r\n:20\r\n$4\r\ntrue\r\n$4\r\ndead\r\n');
    } finally {
      a.close();
      b.close();
    }
  });

  // 5.4's C table.sort and string.gsub call comparators and replacement
  // functions with lua_call, across which the hook cannot yield: the server
  // stopped answering. Lua 5.1's versions (libs/lua51-*.ts) call them from Lua.
  describe('looping forever inside a library callback', () => {
    const loops: [string, string][] = [
      ['a table.sort comparator', 'table.sort({3, 2, 1}, function(a, b) while true do end end)'],
      ['an __lt metamethod table.sort calls', 'local mt = {__lt = function() while true do end end} table.sort({setmetatable({}, mt), setmetatable({}, mt)})'],
      ['a string.gsub replacement function', "string.gsub('abc', '%w', function(c) while true do end end)"],
      ['the __index of a string.gsub replacement table', "string.gsub('abc', '%w', setmetatable({}, {__index = function() while true do end end}))"],
    ];
    for (const [where, body] of loops) {
      it(`is time-sliced in ${where}: -BUSY, SCRIPT KILL, then PONG`, async () => {
        const a = await client();
        const b = await client();
        try {
          b.write(resp('CONFIG', 'SET', 'busy-reply-threshold', '50'));
          expect(await b.readUntil('\r\n')).toBe('+OK\r\n');
          a.write(resp('EVAL', body, '0'));
          await waitBusy(b);
          await killAndCheck(a, b);
        } finally {
          b.write(resp('CONFIG', 'SET', 'busy-reply-threshold', '200'));
          await b.readUntil('\r\n');
          a.close();
          b.close();
        }
      });
    }

    it('is time-sliced in a comparator of a function: FUNCTION KILL ends it', async () => {
      const a = await client();
      const b = await client();
      try {
        const lib = "#!lua name=sortloop\nredis.register_function('sortloop', function() table.sort({3, 2, 1}, function(x, y) while true do end end) end)";
        b.write(resp('FUNCTION', 'LOAD', 'REPLACE', lib));
        expect(await b.readUntil('sortloop\r\n')).toBe('$8\r\nsortloop\r\n');
        a.write(resp('FCALL', 'sortloop', '0'));
        await until(async () => {
          b.write(resp('PING'));
          return (await b.readUntil('\r\n')) === '-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n';
        }, 'BUSY replies', 15000);
        b.write(resp('FUNCTION', 'KILL'));
        expect(await b.readUntil('\r\n')).toBe('+OK\r\n');
        // (Redis 7.0's text names SCRIPT KILL for functions too)
        expect(await a.readUntil('\r\n')).toBe('-ERR Script killed by user with SCRIPT KILL... script: sortloop, on @user_function:2.\r\n');
        b.write(resp('PING'));
        expect(await b.readUntil('\r\n')).toBe('+PONG\r\n');
      } finally {
        a.close();
        b.close();
      }
    });
  });

  it("keeps the caller's pipeline waiting and answers it in order", async () => {
    const a = await client();
    const b = await client();
    try {
      a.write(resp('EVAL', "local t = redis.call('time') local s = tonumber(t[1]) while true do local n = redis.call('time') if tonumber(n[1]) - s >= 3 then break end end return 'done'", '0') + resp('PING'));
      await waitBusy(b);
      expect(await a.readUntil('+PONG\r\n', 20000)).toBe('$4\r\ndone\r\n+PONG\r\n');
      b.write(resp('PING'));
      expect(await b.readUntil('\r\n')).toBe('+PONG\r\n');
    } finally {
      a.close();
      b.close();
    }
  });

  it('is UNKILLABLE once it wrote, and SHUTDOWN NOSAVE still stops the server', async () => {
    const own = await startServer(['--busy-reply-threshold', '100']);
    const a = await RawClient.connect(own.port);
    const b = await RawClient.connect(own.port);
    try {
      a.write(resp('EVAL', "redis.call('set', KEYS[1], 'v') while true do end", '1', 'written'));
      await until(async () => {
        b.write(resp('PING'));
        return (await b.readUntil('\r\n')) === BUSY;
      }, 'BUSY replies');
      b.write(resp('SCRIPT', 'KILL'));
      expect(await b.readUntil('\r\n')).toBe(
        '-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n',
      );
      b.write(resp('SHUTDOWN'));
      expect(await b.readUntil('\r\n')).toBe(BUSY);
      b.write(resp('SHUTDOWN', 'NOSAVE'));
      expect(await own.exited).toBe(0);
    } finally {
      a.close();
      b.close();
      await own.stop();
    }
  });
});

describe('the watchdog thread of an idle server', () => {
  // It sleeps after a second without a script (an idle server should not
  // wake 50 times a second); the next script must wake it, or a script
  // looping forever would never be time-sliced and the server would stop answering.
  it('sleeps, and a script that then runs forever is still stopped by SCRIPT KILL', async () => {
    const own = await startServer(['--busy-reply-threshold', '200', '--loglevel', 'debug']);
    const a = await RawClient.connect(own.port);
    const b = await RawClient.connect(own.port);
    try {
      a.write(resp('EVAL', 'return 1', '0'));
      expect(await a.readUntil('\r\n')).toBe(':1\r\n');
      await own.waitForLog((l) => String(l.msg).startsWith('script watchdog running'));
      // The first run was hooked from its start (the watchdog was not up yet)
      // and its thread stays hooked: a new Lua state has a thread that is not.
      a.write(resp('SCRIPT', 'FLUSH'));
      expect(await a.readUntil('\r\n')).toBe('+OK\r\n');
      a.write(resp('EVAL', 'return 2', '0'));
      expect(await a.readUntil('\r\n')).toBe(':2\r\n');
      await own.waitForLog((l) => String(l.msg).startsWith('script watchdog sleeping'));
      a.write(resp('EVAL', 'while true do end', '0'));
      await until(async () => {
        b.write(resp('PING'));
        return (await b.readUntil('\r\n')) === BUSY;
      }, 'BUSY replies', 15000);
      await killAndCheck(a, b);
    } finally {
      a.close();
      b.close();
      await own.stop();
    }
  });
});
