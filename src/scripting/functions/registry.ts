/**
 * The server's current function libraries and the engines they run on
 * (Redis's curr_functions_lib_ctx and engines dict). The Lua engine is
 * created on first use, so a server that never loads a function never
 * creates its Lua state.
 */
import { LibrarySet, type FunctionEngine } from './libraries.js';
import { LuaFunctionEngine } from './lua-engine.js';

let lua: LuaFunctionEngine | null = null;

/** Engines by upper-cased name; the Lua engine is built when first looked at. */
const engines: ReadonlyMap<string, FunctionEngine> = {
  get(name: string): FunctionEngine | undefined {
    return name === 'LUA' ? luaEngine() : undefined;
  },
  has(name: string): boolean {
    return name === 'LUA';
  },
} as ReadonlyMap<string, FunctionEngine>;

export const ENGINE_NAMES = ['LUA'];

let current = new LibrarySet(engines);

export function luaEngine(): LuaFunctionEngine {
  lua ??= new LuaFunctionEngine();
  return lua;
}

/** Whether the Lua engine exists yet (its memory counts only then). */
export function luaEngineIfCreated(): LuaFunctionEngine | null {
  return lua;
}

export function libraries(): LibrarySet {
  return current;
}

/** A fresh, empty set using the same engines (RESTORE and snapshot loading stage into one). */
export function newLibrarySet(): LibrarySet {
  return new LibrarySet(engines);
}

/** Installs `set` as the current libraries, freeing the old ones (FUNCTION RESTORE FLUSH, snapshot load). */
export function swapLibraries(set: LibrarySet): void {
  const old = current;
  current = set;
  old.clear();
}

/** Code of every library, for FUNCTION DUMP and snapshots. */
export function libraryCodes(): string[] {
  return [...current.libraries.values()].map((li) => li.code);
}
