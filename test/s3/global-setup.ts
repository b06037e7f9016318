/**
 * vitest globalSetup: one throw-away Swift (test/s3/start-swift.sh) for every
 * S3 test file of the run, stopped at the end. Skipped when S3_ENDPOINT points
 * at another S3 (the same suite then runs there) and when the run's file
 * filters name no S3 test (other suites should not pay for a Swift start).
 */
import type { TestProject } from 'vitest/node';
import { startSwift, type S3TestEnv } from './swift.js';

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3TestEnv | null;
  }
}

function runWantsS3(argv: string[]): boolean {
  const i = argv.findIndex((a) => a === 'run' || a === 'watch' || a === 'dev');
  const filters = argv.slice(i + 1).filter((a) => !a.startsWith('-'));
  return filters.length === 0 || filters.some((f) => /s3/i.test(f));
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  if (process.env.S3_ENDPOINT || !runWantsS3(process.argv)) {
    project.provide('s3', null);
    return;
  }
  let swift: Awaited<ReturnType<typeof startSwift>>;
  try {
    swift = await startSwift();
  } catch (e) {
    // Only the S3 files need it: they retry on their own and fail with this reason; the rest of the run goes on.
    console.warn(`S3 tests: could not start the test Swift: ${(e as Error).message}`);
    project.provide('s3', null);
    return;
  }
  project.provide('s3', swift.env);
  return swift.stop;
}
