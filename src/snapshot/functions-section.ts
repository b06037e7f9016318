/**
 * Function libraries in snapshots. A snapshot's header may carry
 * `functions`: the code of every library at the snapshot's instant (msgpack
 * bin each), which is all Redis's RDB keeps of them too. The scripting
 * module fills these hooks (src/scripting/functions/persistence.ts), so the
 * snapshot code does not depend on the Lua engine.
 */

/** Libraries compiled from a snapshot, not yet installed. */
export interface StagedFunctions {
  /**
   * Installs them: 'replace-all' drops the current libraries first (boot,
   * DEBUG RELOAD), 'add' refuses a library that exists already (NOFLUSH),
   * 'merge' replaces it (NOFLUSH MERGE). Returns an error text or null;
   * on error nothing changed.
   */
  install(mode: 'replace-all' | 'add' | 'merge'): string | null;
}

export const functionsSection = {
  /** The code of every library now. */
  save: (): string[] => [],
  /** Compiles libraries read from a snapshot: the staged set, or an error text (async: the engine may load first). */
  stage: (codes: string[]): StagedFunctions | string | Promise<StagedFunctions | string> => (codes.length === 0 ? { install: () => null } : 'this server has no function engine'),
};
