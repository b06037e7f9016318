/**
 * Server administration and introspection: INFO, CONFIG, DBSIZE, FLUSH*,
 * SWAPDB, TIME, LATENCY, DEBUG, MEMORY, SHUTDOWN, COMMAND (what Redis's
 * unit/info-command.tcl, unit/info.tcl and unit/introspection.tcl cover
 * for these).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import Redis5 from 'ioredis5';
import { RawClient, resp, redisCli, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis;
beforeAll(async () => {
  srv = await startServer(['--enable-debug-command', 'yes']);
  r = new Redis({ port: srv.port, lazyConnect: true });
  await r.connect();
});
afterAll(async () => {
  r.disconnect();
  await srv.stop();
});
beforeEach(async () => {
  await r.select(0);
  await r.flushall();
});

const err = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => e.message);
const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

describe('INFO', () => {
  it('default sections carry Redis\'s field names', async () => {
    const info = await r.info();
    for (const s of ['# Server', '# Clients', '# Memory', '# Stats', '# Replication', '# CPU', '# Keyspace']) expect(info).toContain(s);
    expect(field(info, 'redis_version')).toBe('7.0.15');
    expect(field(info, 'redis_mode')).toBe('standalone');
    expect(field(info, 'tcp_port')).toBe(String(srv.port));
    expect(field(info, 'process_id')).toBe(String(srv.pid));
    expect(field(info, 'role')).toBe('master');
    expect(field(info, 'connected_slaves')).toBe('0');
    expect(Number(field(info, 'connected_clients'))).toBeGreaterThanOrEqual(1);
    expect(Number(field(info, 'used_memory'))).toBeGreaterThan(0);
    expect(field(info, 'used_memory_human')).toMatch(/^\d+(\.\d+)?[BKMG]$/);
    expect(Number(field(info, 'used_cpu_user'))).toBeGreaterThan(0);
    expect(field(info, 'damselfly_version')).toBeDefined();
    expect(info).not.toContain('rejected_calls');
  });

  it('all / everything add commandstats; a section name selects just it (any case)', async () => {
    await r.get('x');
    for (const a of ['all', 'everything']) {
      const info = await r.info(a);
      expect(info).toContain('used_memory');
      expect(info).toMatch(/cmdstat_get:calls=\d+,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=0/);
    }
    const cpu = await r.info('cpu');
    expect(cpu).toContain('used_cpu_user');
    expect(cpu).not.toContain('used_memory');
    const stats = await r.info('commandSTATS');
    expect(stats).toContain('rejected_calls');
    expect(stats).not.toContain('used_memory');
    const two = (await r.call('INFO', 'cpu', 'default')) as string;
    expect(two.match(/used_cpu_user_children/g)!.length).toBe(1);
    expect(two).toContain('master_repl_offset');
  });

  it('counts hits, misses, commands and failed calls', async () => {
    await r.config('RESETSTAT');
    await r.set('k', 'v');
    await r.get('k');
    await r.get('nokey');
    await err(r.call('EXPIRE', 'k', 'notanumber'));
    const info = await r.info('all');
    expect(field(info, 'keyspace_hits')).toBe('1');
    expect(field(info, 'keyspace_misses')).toBe('1');
    expect(info).toMatch(/cmdstat_expire:calls=1,.*failed_calls=1/);
    expect(Number(field(info, 'total_commands_processed'))).toBeGreaterThanOrEqual(4);
  });

  it('keyspace lists non-empty databases with keys and expires', async () => {
    await r.set('a', '1');
    await r.set('b', '1');
    await r.expire('b', 100);
    await r.select(3);
    await r.set('c', '1');
    const info = await r.info('keyspace');
    expect(info).toMatch(/^db0:keys=2,expires=1,avg_ttl=\d+\r$/m);
    expect(info).toMatch(/^db3:keys=1,expires=0,avg_ttl=0\r$/m);
    expect(info).not.toContain('db1:');
  });

  it('is a verbatim string in RESP3 and a bulk string in RESP2', async () => {
    const c = await RawClient.connect(srv.port);
    c.write(resp('HELLO', '3'));
    await c.readUntil('modules\r\n*0\r\n');
    c.write(resp('INFO', 'cpu'));
    expect(await c.read(1)).toBe('=');
    const head = await c.readUntil('\r\n');
    expect((await c.read(4))).toBe('txt:');
    void head;
    c.close();
    const c2 = await RawClient.connect(srv.port);
    c2.write(resp('INFO', 'cpu'));
    expect(await c2.read(1)).toBe('$');
    c2.close();
  });
});

describe('CONFIG', () => {
  it('GET takes several patterns and answers pairs', async () => {
    const got = (await r.config('GET', 'maxmemory*')) as string[];
    expect(got).toContain('maxmemory');
    expect(got).toContain('maxmemory-policy');
    const multi = (await r.call('CONFIG', 'GET', 'hz', 'databases')) as string[];
    expect(multi).toEqual(['hz', '10', 'databases', '16']);
  });

  it('SET validates, is all-or-nothing, and refuses immutable or duplicated parameters', async () => {
    expect(await r.config('SET', 'hz', '20')).toBe('OK');
    expect(await r.config('GET', 'hz')).toEqual(['hz', '20']);
    expect(await err(r.call('CONFIG', 'SET', 'hz', '30', 'maxmemory-policy', 'bogus'))).toMatch(/^ERR CONFIG SET failed \(possibly related to argument 'maxmemory-policy'\)/);
    expect(await r.config('GET', 'hz')).toEqual(['hz', '20']);
    expect(await err(r.call('CONFIG', 'SET', 'hz', '30', 'hz', '40'))).toMatch(/duplicate parameter/);
    expect(await err(r.call('CONFIG', 'SET', 'databases', '20'))).toMatch(/can't set immutable config/);
    expect(await err(r.call('CONFIG', 'SET', 'nosuchparam', '1'))).toBe("ERR Unknown option or number of arguments for CONFIG SET - 'nosuchparam'");
    expect(await err(r.call('CONFIG', 'SET', 'daemonize', 'yes'))).toBe("ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config");
    expect(await err(r.call('CONFIG', 'SET', 'maxmemory', '10000001', 'maxmemory-clients', '200%'))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100",
    );
    expect(await r.config('GET', 'maxmemory')).toEqual(['maxmemory', '0']);
    await r.config('SET', 'hz', '10');
  });

  it('RESETSTAT zeroes the counters', async () => {
    await r.get('nokey');
    await r.config('RESETSTAT');
    const info = await r.info('stats');
    expect(field(info, 'keyspace_misses')).toBe('0');
    expect(await r.info('commandstats')).not.toContain('cmdstat_get');
  });
});

describe('databases', () => {
  it('DBSIZE, FLUSHDB and FLUSHALL', async () => {
    await r.set('a', '1');
    await r.set('b', '1');
    expect(await r.dbsize()).toBe(2);
    await r.select(1);
    await r.set('c', '1');
    expect(await r.flushdb()).toBe('OK');
    expect(await r.dbsize()).toBe(0);
    await r.select(0);
    expect(await r.dbsize()).toBe(2);
    expect(await r.call('FLUSHALL', 'ASYNC')).toBe('OK');
    expect(await r.dbsize()).toBe(0);
    expect(await err(r.call('FLUSHALL', 'FOO'))).toBe('ERR syntax error');
  });

  it('SWAPDB swaps contents and TTLs', async () => {
    await r.set('a', 'in0');
    await r.expire('a', 100);
    await r.select(1);
    await r.set('b', 'in1');
    expect(await r.swapdb(0, 1)).toBe('OK');
    expect(await r.get('a')).toBe('in0');
    expect(await r.ttl('a')).toBeGreaterThan(90);
    expect(await r.get('b')).toBeNull();
    await r.select(0);
    expect(await r.get('b')).toBe('in1');
    expect(await err(r.swapdb(0, 100))).toBe('ERR DB index is out of range');
    expect(await err(r.call('SWAPDB', 'x', '1'))).toBe('ERR invalid first DB index');
    expect(await err(r.call('SWAPDB', '0', 'y'))).toBe('ERR invalid second DB index');
  });
});

describe('TIME, LATENCY, DEBUG, MEMORY', () => {
  it('TIME answers seconds and microseconds near the clock', async () => {
    const [s, us] = (await r.time()) as unknown as [string, string];
    expect(Math.abs(Number(s) - Date.now() / 1000)).toBeLessThan(5);
    expect(Number(us)).toBeGreaterThanOrEqual(0);
    expect(Number(us)).toBeLessThan(1000000);
  });

  it('LATENCY answers empty reports while the monitor is off', async () => {
    expect(await r.call('LATENCY', 'LATEST')).toEqual([]);
    expect(await r.call('LATENCY', 'HISTORY', 'command')).toEqual([]);
    expect(await r.call('LATENCY', 'RESET')).toBe(0);
    // Redis's answer while latency-monitor-threshold is 0 and nothing was ever recorded.
    expect(await r.call('LATENCY', 'DOCTOR')).toMatch(/^I'm sorry, Dave, I can't do that. Latency monitoring is disabled/);
  });

  it('DEBUG SLEEP stalls every client, as Redis does', async () => {
    const other = new Redis({ port: srv.port });
    await other.ping();
    const t0 = Date.now();
    const sleeping = r.debug('sleep', '0.3');
    await new Promise((res) => setTimeout(res, 20));
    await other.ping();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(await sleeping).toBe('OK');
    other.disconnect();
  });

  it('DEBUG rejects unknown subcommands and is off unless enabled', async () => {
    expect(await err(r.debug('nosuch'))).toBe("ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP.");
    const off = await startServer([]);
    try {
      const c = new Redis({ port: off.port });
      expect(await err(c.debug('sleep', '0'))).toMatch(/^ERR DEBUG command not allowed/);
      c.disconnect();
    } finally {
      await off.stop();
    }
  });

  it('MEMORY USAGE grows with the value and is null for a missing key', async () => {
    await r.set('small', 'x');
    await r.set('big', 'x'.repeat(10000));
    const small = (await r.call('MEMORY', 'USAGE', 'small')) as number;
    const big = (await r.call('MEMORY', 'USAGE', 'big')) as number;
    expect(small).toBeGreaterThan(0);
    expect(big).toBeGreaterThan(small + 9000);
    expect(await r.call('MEMORY', 'USAGE', 'missing')).toBeNull();
  });
});

describe('MONITOR', () => {
  it('streams executed commands with db, address and quoted args; hides admin commands and passwords', async () => {
    const m = await RawClient.connect(srv.port);
    m.write(resp('MONITOR'));
    expect(await m.readUntil('\r\n')).toBe('+OK\r\n');
    await r.set('mon', 'a"b\x00');
    await r.config('GET', 'hz');
    await r.call('AUTH', 'secret').catch(() => null);
    await r.get('mon');
    const l1 = await m.readUntil('\r\n');
    expect(l1).toMatch(/^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "set" "mon" "a\\"b\\x00"\r\n$/);
    const l2 = await m.readUntil('\r\n');
    expect(l2).toMatch(/"AUTH" "\(redacted\)"/);
    const l3 = await m.readUntil('\r\n');
    expect(l3).toMatch(/"get" "mon"/);
    m.close();
  });
});

describe('SHUTDOWN', () => {
  it('rejects bad option combinations', async () => {
    expect(await err(r.call('SHUTDOWN', 'SAVE', 'NOSAVE'))).toBe('ERR syntax error');
    expect(await err(r.call('SHUTDOWN', 'ABORT', 'NOW'))).toBe('ERR syntax error');
    expect(await err(r.call('SHUTDOWN', 'FOO'))).toBe('ERR syntax error');
    expect(await err(r.call('SHUTDOWN', 'ABORT'))).toBe('ERR No shutdown in progress.');
  });

  it('SHUTDOWN NOSAVE stops the process with exit code 0', async () => {
    const s = await startServer([]);
    const out = await redisCli(s.port, ['SHUTDOWN', 'NOSAVE']).catch((e: Error) => e.message);
    void out;
    expect(await s.exited).toBe(0);
    await s.stop();
  });
});

describe('COMMAND', () => {
  it('COUNT matches the table and INFO has Redis 7\'s 10-element shape', async () => {
    const n = (await r.command('COUNT')) as number;
    const all = (await r.command()) as unknown[][];
    expect(all.length).toBe(n);
    const [get] = (await r.command('INFO', 'get')) as unknown[][];
    expect(get.length).toBe(10);
    expect(get.slice(0, 6)).toEqual(['get', 2, ['readonly', 'fast'], 1, 1, 1]);
    expect(get[6]).toEqual(['@read', '@string', '@fast']);
    expect(await r.command('INFO', 'nosuchcommand')).toEqual([null]);
    const [cfg] = (await r.command('INFO', 'config')) as unknown[][];
    const subs = cfg[9] as unknown[][];
    expect(subs.map((s) => s[0])).toContain('config|get');
    const [cfgGet] = (await r.command('INFO', 'config|get')) as unknown[][];
    expect(cfgGet[0]).toBe('config|get');
  });

  it('answers flags as a RESP3 set of status replies', async () => {
    const c = await RawClient.connect(srv.port);
    c.write(resp('HELLO', '3'));
    await c.readUntil('modules\r\n*0\r\n');
    c.write(resp('COMMAND', 'INFO', 'del'));
    const head = await c.readUntil('+write\r\n');
    expect(head).toContain('*1\r\n*10\r\n$3\r\ndel\r\n:-2\r\n~1\r\n+write\r\n');
    c.close();
  });

  it('DOCS gives summary, since, group and arguments as redis-cli reads them', async () => {
    const docs = (await r.command('DOCS', 'expire')) as unknown[];
    expect(docs[0]).toBe('expire');
    const m = docs[1] as unknown[];
    const asObj = Object.fromEntries(Array.from({ length: m.length / 2 }, (_, i) => [m[2 * i], m[2 * i + 1]]));
    expect(asObj.group).toBe('generic');
    expect(asObj.since).toBe('1.0.0');
    expect(asObj.summary).toBe("Set a key's time to live in seconds");
    const args = (asObj.arguments as unknown[][]).map((a) => a[1]);
    expect(args).toEqual(['key', 'seconds', 'condition']);
    expect(await r.command('DOCS', 'nosuch')).toEqual([]);
  });

  it('GETKEYS extracts keys and answers Redis\'s errors', async () => {
    expect(await r.command('GETKEYS', 'set', 'a', 'b')).toEqual(['a']);
    expect(await r.command('GETKEYS', 'del', 'a', 'b', 'c')).toEqual(['a', 'b', 'c']);
    expect(await r.command('GETKEYS', 'rename', 'x', 'y')).toEqual(['x', 'y']);
    expect(await err(r.command('GETKEYS', 'nosuch', 'a'))).toBe('ERR Invalid command specified');
    // GETKEYS's own arity is -4 (command name and an argument), as in Redis 7.0.
    expect(await err(r.command('GETKEYS', 'get'))).toBe("ERR wrong number of arguments for 'command|getkeys' command");
    expect(await err(r.command('GETKEYS', 'get', 'a', 'b'))).toBe('ERR Invalid number of arguments specified for command');
    expect(await err(r.command('GETKEYS', 'ping', 'x'))).toBe('ERR The command has no key arguments');
  });

  it('LIST and its filters', async () => {
    const all = (await r.command('LIST')) as string[];
    expect(all).toContain('get');
    expect(all).toContain('config|get');
    expect((await r.command('LIST', 'FILTERBY', 'PATTERN', 'pexpire*')) as string[]).toEqual(expect.arrayContaining(['pexpire', 'pexpireat', 'pexpiretime']));
    const keyspace = (await r.command('LIST', 'FILTERBY', 'ACLCAT', 'keyspace')) as string[];
    expect(keyspace).toContain('del');
    expect(keyspace).not.toContain('get');
    expect(await r.command('LIST', 'FILTERBY', 'MODULE', 'x')).toEqual([]);
    expect(await err(r.command('LIST', 'FILTERBY', 'FOO', 'x'))).toBe('ERR syntax error');
  });

  it('a RESP2 client (ioredis v5) reads COMMAND replies too', async () => {
    const c = new Redis5({ port: srv.port });
    const [info] = (await c.command('INFO', 'set')) as unknown[][];
    expect(info[0]).toBe('set');
    c.disconnect();
  });
});
