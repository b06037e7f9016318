/**
 * Credential rotation under a long multipart upload: credentials come from a
 * shared credentials file the test rewrites mid-upload, and the proxy rejects
 * the old key from that moment on. The upload must finish with the new key
 * (each refused request refreshes the credentials and is retried once).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { S3Backend, parseS3Url } from '../src/storage/s3.js';
import type { Manifest } from '../src/storage/backend.js';
import { S3Proxy, on } from './helpers/s3-proxy.js';
import { directClient, freshLocation, s3Env, type S3TestEnv } from './helpers/s3-env.js';

const MiB = 1024 * 1024;
let env: S3TestEnv;
let proxy: S3Proxy;
let dir: string;
let credFile: string;

function writeCredentials(accessKey: string, secretKey: string): void {
  writeFileSync(credFile, `[default]\naws_access_key_id = ${accessKey}\naws_secret_access_key = ${secretKey}\n`);
}

beforeAll(async () => {
  env = await s3Env();
  proxy = await S3Proxy.start(env.endpoint);
  dir = mkdtempSync(path.join(tmpdir(), 'damselfly-creds-'));
  credFile = path.join(dir, 'credentials');
  writeCredentials(env.accessKey, env.secretKey);
  // Only the shared credentials file: nothing from the environment, ~/.aws or IMDS.
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN']) delete process.env[k];
  process.env.AWS_SHARED_CREDENTIALS_FILE = credFile;
  process.env.AWS_CONFIG_FILE = path.join(dir, 'no-config');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});
afterAll(async () => {
  await proxy?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it.runIf(!process.env.S3_ENDPOINT || process.env.S3_ACCESS_KEY_ALT)('a multipart upload survives the key being rotated under it', async () => {
  const loc = await freshLocation(env, directClient(env));
  const b = new S3Backend(parseS3Url(loc.url), {
    endpoint: proxy.url,
    region: env.region,
    ec2Metadata: false,
    signPayload: true,
    checksum: 'auto',
    partSize: 5 * MiB,
    concurrency: 2,
    requestTimeoutMs: 10000,
  });
  const data = Buffer.alloc(26 * MiB);
  for (let i = 0; i + 4 <= data.length; i += 4) data.writeUInt32LE((i * 2246822519) >>> 0, i);

  // Rotate once the second part has been sent: new key in the file, old key refused from now on.
  let parts = 0;
  proxy.add(on.uploadPart(), {
    before: async () => {
      if (++parts === 2) {
        writeCredentials(env.altAccessKey!, env.altSecretKey!);
        proxy.rejectKey(env.accessKey, 'InvalidAccessKeyId');
      }
    },
  });
  const before = proxy.requests.length;
  try {
    const w = await b.create('rotated');
    const { size, etag } = await w.upload(Readable.from(chunks(data)));
    const m: Manifest = { format: 1, id: 'rotated', seq: 1, createdAt: Date.now(), serverId: 't', dataName: w.dataName, size, checksum: createHash('sha256').update(data).digest('hex'), keys: [0], etag };
    await w.commit(m);
    const sent = proxy.requests.slice(before);
    const refused = sent.filter((q) => q.fault?.startsWith('reject-key'));
    expect(refused.length).toBeGreaterThanOrEqual(1);
    // Every refused request was retried with the new key, and the upload completed with it.
    expect(sent.some((q) => q.method === 'POST' && q.query.has('uploadId') && q.accessKey === env.altAccessKey && q.status === 200)).toBe(true);
    expect(sent.filter((q) => q.accessKey === env.altAccessKey && on.uploadPart()(q)).length).toBeGreaterThanOrEqual(refused.filter(on.uploadPart()).length);
    // The snapshot is complete and intact.
    const list = await b.list();
    expect(list.map((x) => x.id)).toEqual(['rotated']);
    const back: Buffer[] = [];
    for await (const c of await b.open(list[0])) back.push(c as Buffer);
    expect(Buffer.concat(back).equals(data)).toBe(true);
  } finally {
    proxy.reset();
  }
});

function* chunks(data: Buffer): Generator<Buffer> {
  for (let i = 0; i < data.length; i += MiB) yield data.subarray(i, i + MiB);
}
