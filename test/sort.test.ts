/**
 * SORT and SORT_RO over lists, sets and sorted sets, as Redis's
 * tests/unit/sort.tcl exercises them: numeric and ALPHA order, DESC, LIMIT,
 * BY patterns (and nosort), GET patterns with '#' and hash fields, STORE.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Redis5 from 'ioredis5';
import { startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let r: Redis5;
beforeAll(async () => {
  srv = await startServer();
  r = new Redis5({ port: srv.port, host: '127.0.0.1', enableReadyCheck: false });
});
afterAll(async () => {
  r.disconnect();
  await srv.stop();
});
beforeEach(async () => {
  await r.flushall();
  // weight_<n> strings and obj_<n> hashes, as sort.tcl sets them up
  for (const [id, w] of [
    ['1', '30'],
    ['2', '10'],
    ['3', '20'],
  ]) {
    await r.set('weight_' + id, w);
    await r.hset('obj_' + id, 'name', 'n' + id, 'w', String(100 - Number(w)));
  }
});

describe('numeric and alpha', () => {
  it('sorts a list numerically, DESC, and with LIMIT', async () => {
    await r.rpush('l', '3', '1', '2', '10');
    expect(await r.sort('l')).toEqual(['1', '2', '3', '10']);
    expect(await r.sort('l', 'DESC')).toEqual(['10', '3', '2', '1']);
    expect(await r.sort('l', 'LIMIT', 1, 2)).toEqual(['2', '3']);
    expect(await r.sort('l', 'LIMIT', -5, 2)).toEqual(['1', '2']);
    expect(await r.sort('l', 'LIMIT', 10, 2)).toEqual([]);
    expect(await r.sort('l', 'LIMIT', 0, -1)).toEqual(['1', '2', '3', '10']);
    expect(await r.sort('l', 'LIMIT', 3, '9223372036854775807')).toEqual(['10']);
    expect(await r.sort('l', 'ALPHA')).toEqual(['1', '10', '2', '3']);
    // The list itself is untouched.
    expect(await r.lrange('l', 0, -1)).toEqual(['3', '1', '2', '10']);
  });

  it('sorts sets and sorted sets by their members', async () => {
    await r.sadd('s', '5', '-1', '3.5');
    expect(await r.sort('s')).toEqual(['-1', '3.5', '5']);
    await r.zadd('z', 1, 'c', 2, 'a', 3, 'b');
    expect(await r.sort('z', 'ALPHA')).toEqual(['a', 'b', 'c']);
    expect(await r.sort('z', 'ALPHA', 'DESC', 'LIMIT', 0, 1)).toEqual(['c']);
    expect(await r.sort('nokey')).toEqual([]);
  });

  it('refuses what is not a number, and ties sort by the element', async () => {
    await r.rpush('l', '1', 'x');
    await expect(r.sort('l')).rejects.toThrow("ERR One or more scores can't be converted into double");
    await r.rpush('t', 'b', 'a');
    expect(await r.sort('t', 'BY', 'nokey_*')).toEqual(['a', 'b']);
  });

  it('WRONGTYPE and syntax errors', async () => {
    await r.set('str', 'v');
    await expect(r.sort('str')).rejects.toThrow(/^WRONGTYPE/);
    await r.rpush('l', '1');
    await expect(r.call('sort', 'l', 'bogus')).rejects.toThrow('ERR syntax error');
    await expect(r.call('sort', 'l', 'LIMIT', 'a', '1')).rejects.toThrow('ERR value is not an integer or out of range');
    await expect(r.call('sort_ro', 'l', 'STORE', 'x')).rejects.toThrow('ERR syntax error');
  });
});

describe('BY and GET', () => {
  beforeEach(async () => {
    await r.rpush('ids', '1', '2', '3');
  });

  it('BY a string pattern, BY a hash field, and nosort', async () => {
    expect(await r.sort('ids', 'BY', 'weight_*')).toEqual(['2', '3', '1']);
    expect(await r.sort('ids', 'BY', 'obj_*->w')).toEqual(['1', '3', '2']);
    expect(await r.sort('ids', 'BY', 'nosort')).toEqual(['1', '2', '3']);
    expect(await r.sort('ids', 'BY', 'nosort', 'DESC', 'LIMIT', 0, 2)).toEqual(['3', '2']);
    await r.zadd('z', 3, 'x', 1, 'y', 2, 'w');
    expect(await r.sort('z', 'BY', 'nosort', 'LIMIT', 1, 5)).toEqual(['w', 'x']);
    expect(await r.sort('z', 'BY', 'nosort', 'DESC')).toEqual(['x', 'w', 'y']);
  });

  it('BY with ALPHA puts missing weights first', async () => {
    await r.set('name_1', 'b');
    await r.set('name_3', 'a');
    expect(await r.sort('ids', 'BY', 'name_*', 'ALPHA')).toEqual(['2', '3', '1']);
  });

  it('GET #, string patterns, hash fields and missing values', async () => {
    expect(await r.sort('ids', 'BY', 'weight_*', 'GET', '#', 'GET', 'weight_*', 'GET', 'obj_*->name')).toEqual([
      '2', '10', 'n2',
      '3', '20', 'n3',
      '1', '30', 'n1',
    ]);
    expect(await r.sort('ids', 'GET', 'missing_*', 'GET', 'obj_*->nofield', 'LIMIT', 0, 1)).toEqual([null, null]);
    // A pattern without '*' GETs nothing.
    expect(await r.sort('ids', 'GET', 'weight_1', 'LIMIT', 0, 1)).toEqual([null]);
  });
});

describe('STORE and SORT_RO', () => {
  it('STORE writes a list (empty strings for missing GETs) and deletes dst when empty', async () => {
    await r.rpush('ids', '3', '1', '2');
    expect(await r.sort('ids', 'STORE', 'out')).toBe(3);
    expect(await r.lrange('out', 0, -1)).toEqual(['1', '2', '3']);
    expect(await r.sort('ids', 'GET', 'nothing_*', 'LIMIT', 0, 1, 'STORE', 'out')).toBe(1);
    expect(await r.lrange('out', 0, -1)).toEqual(['']);
    expect(await r.sort('nokey', 'STORE', 'out')).toBe(0);
    expect(await r.llen('out')).toBe(0);
  });

  it('STORE of an unsorted set is sorted so the stored list is deterministic', async () => {
    await r.sadd('s', 'c', 'a', 'b');
    expect(await r.sort('s', 'BY', 'nosort', 'STORE', 'out')).toBe(3);
    expect(await r.lrange('out', 0, -1)).toEqual(['a', 'b', 'c']);
  });

  it('SORT_RO sorts without writing', async () => {
    await r.rpush('l', '2', '1');
    expect(await r.call('sort_ro', 'l')).toEqual(['1', '2']);
    expect(await r.call('sort_ro', 'l', 'BY', 'weight_*', 'GET', '#')).toEqual(['2', '1']);
  });
});
