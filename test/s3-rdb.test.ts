/**
 * Migration in from S3: a Redis RDB file stored as prefix/<dbfilename> is
 * loaded at boot when the location holds no snapshot yet (read in ranges
 * pinned to its ETag, like snapshot data), and a damaged one stops start-up.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Proxy } from './helpers/s3-proxy.js';
import { credentialEnv, directClient, freshLocation, s3Env, type S3TestEnv } from './helpers/s3-env.js';
import { fatalExit, ready, startS3Server } from './helpers/s3-server.js';
import { startRedis } from './helpers/redis-oracle.js';
import { describeKey, fillFixture, FIXTURE_ENCODINGS } from './helpers/rdb-fixtures.js';

vi.setConfig({ testTimeout: 90_000 });

let env: S3TestEnv;
let direct: S3Client;
let rdb: Buffer;
let redisPort: number;
let stopRedis: () => void;

beforeAll(async () => {
  env = await s3Env();
  direct = directClient(env);
  Object.assign(process.env, credentialEnv(env));
  const d = mkdtempSync(path.join(tmpdir(), 'damselfly-s3rdb-'));
  const o = await startRedis(['--dir', d, '--dbfilename', 'dump.rdb']);
  redisPort = o.port;
  stopRedis = o.stop;
  const r = new Redis({ port: o.port, host: '127.0.0.1' });
  await fillFixture(r);
  await r.save();
  r.disconnect();
  rdb = readFileSync(path.join(d, 'dump.rdb'));
  rmSync(d, { recursive: true, force: true });
  return () => stopRedis();
});

describe('RDB file in S3', () => {
  it('is loaded at boot when no snapshot exists there', async () => {
    const loc = await freshLocation(env, direct);
    await direct.send(new PutObjectCommand({ Bucket: loc.bucket, Key: `${loc.prefix}/dump.rdb`, Body: rdb }));
    const proxy = await S3Proxy.start(env.endpoint);
    const s = await startS3Server(loc.url, proxy, env, ['--dbfilename', 'dump.rdb', '--save', '']);
    const c = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableReadyCheck: false });
    const redis = new Redis({ port: redisPort, host: '127.0.0.1' });
    try {
      await ready(s);
      for (const k of Object.keys(FIXTURE_ENCODINGS)) expect([k, await describeKey(c, k)]).toEqual([k, await describeKey(redis, k)]);
    } finally {
      c.disconnect();
      redis.disconnect();
      await s.stop();
      await proxy.close();
    }
  });

  it('a damaged one stops start-up under --snapshot_strict', async () => {
    const loc = await freshLocation(env, direct);
    const bad = Buffer.from(rdb);
    bad[bad.length - 1] ^= 1;
    await direct.send(new PutObjectCommand({ Bucket: loc.bucket, Key: `${loc.prefix}/dump.rdb`, Body: bad }));
    const proxy = await S3Proxy.start(env.endpoint);
    const s = await startS3Server(loc.url, proxy, env, ['--dbfilename', 'dump.rdb', '--save', '']);
    try {
      const { code, message } = await fatalExit(s);
      expect(code).not.toBe(0);
      expect(message).toMatch(/wrong RDB checksum/);
    } finally {
      await s.stop();
      await proxy.close();
    }
  });
});
