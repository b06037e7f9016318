/**
 * glibc malloc settings that let freed memory leave the process. By default
 * glibc raises its mmap threshold each time a large block is freed (up to
 * 32 MB), so after a burst of big Buffers (reply slabs, query buffers,
 * large values) later allocations of that size come from the heap arenas,
 * which are returned to the system only from their top. Measured on the
 * spike of test/memory-return.test.ts (600 MB of queued replies, then 400
 * MB of values flushed), after the idle collection: 216 MB resident by
 * default, 101 MB with these (base 58 MB).
 *
 * glibc reads them from the environment at process start only: a launcher
 * that starts the server (the heap-sizing re-exec) passes mallocEnv(env) to
 * it, so every way of starting the server has them; an operator may still
 * set each. Without a launcher they apply when set in the environment.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  /** Blocks of 128 KB and more are mmapped, and unmapped when freed. */
  MALLOC_MMAP_THRESHOLD_: '131072',
  /** Free memory at the top of an arena above 4 MB is given back. */
  MALLOC_TRIM_THRESHOLD_: '4194304',
};

/** `env` with the settings above added where it does not set them. */
export function mallocEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...MALLOC_ENV, ...env };
}
