/**
 * Start/stop the test Swift from TypeScript (globalSetup and per-file
 * fallback). No vitest import here: globalSetup runs outside the workers.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPTS = path.dirname(fileURLToPath(import.meta.url));

export interface S3TestEnv {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** A second valid key pair, for credential rotation. */
  altAccessKey?: string;
  altSecretKey?: string;
  /** Set: use this bucket (unique prefixes) instead of creating buckets. */
  bucket?: string;
  external: boolean;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Start a Swift with test/s3/start-swift.sh; `stop` kills exactly its processes. */
export async function startSwift(): Promise<{ env: S3TestEnv; stop: () => Promise<void> }> {
  const out = await run(path.join(SCRIPTS, 'start-swift.sh'), []);
  const kv = Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const env: S3TestEnv = {
    endpoint: kv.S3_ENDPOINT,
    accessKey: kv.S3_ACCESS_KEY,
    secretKey: kv.S3_SECRET_KEY,
    altAccessKey: kv.S3_ACCESS_KEY_ALT,
    altSecretKey: kv.S3_SECRET_KEY_ALT,
    region: kv.S3_REGION,
    external: false,
  };
  return { env, stop: async () => void (await run(path.join(SCRIPTS, 'stop-swift.sh'), [kv.S3_DIR, '--rm'])) };
}

