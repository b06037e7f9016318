/**
 * Where the S3 tests find their S3: S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY
 * (any S3; optional S3_BUCKET, S3_REGION, S3_ACCESS_KEY_ALT/S3_SECRET_KEY_ALT),
 * else the Swift the globalSetup started, else one started for this file.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, inject } from 'vitest';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startSwift, type S3TestEnv } from '../s3/swift.js';

export type { S3TestEnv };


let cached: Promise<S3TestEnv> | null = null;

export function s3Env(): Promise<S3TestEnv> {
  if (cached) return cached;
  const e = process.env;
  const provided = inject('s3');
  if (e.S3_ENDPOINT) {
    cached = Promise.resolve({
      endpoint: e.S3_ENDPOINT,
      accessKey: e.S3_ACCESS_KEY ?? '',
      secretKey: e.S3_SECRET_KEY ?? '',
      region: e.S3_REGION ?? 'us-east-1',
      altAccessKey: e.S3_ACCESS_KEY_ALT,
      altSecretKey: e.S3_SECRET_KEY_ALT,
      bucket: e.S3_BUCKET,
      external: true,
    });
  } else if (provided) {
    cached = Promise.resolve(provided);
  } else {
    cached = startSwift().then((s) => {
      afterAll(s.stop);
      return s.env;
    });
  }
  return cached;
}

/** A client straight to the S3 server (no proxy), for arranging and inspecting. */
export function directClient(env: S3TestEnv): S3Client {
  return new S3Client({
    endpoint: env.endpoint,
    region: env.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function randomName(stem: string): string {
  return `${stem}-${randomBytes(5).toString('hex')}`;
}

/** A fresh, empty bucket+prefix for one test. */
export async function freshLocation(env: S3TestEnv, client: S3Client): Promise<{ bucket: string; prefix: string; url: string }> {
  if (env.bucket) {
    const prefix = randomName('damselfly-test');
    return { bucket: env.bucket, prefix, url: `s3://${env.bucket}/${prefix}` };
  }
  const bucket = randomName('dfly');
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return { bucket, prefix: 'snaps', url: `s3://${bucket}/snaps` };
}

/** Environment for a child server or SDK: these credentials and nothing from ~/.aws or IMDS. */
export function credentialEnv(env: S3TestEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    AWS_ACCESS_KEY_ID: env.accessKey,
    AWS_SECRET_ACCESS_KEY: env.secretKey,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/damselfly-test-credentials',
    AWS_CONFIG_FILE: '/nonexistent/damselfly-test-config',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}
