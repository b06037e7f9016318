/**
 * Every setting of the server, declared once. A parameter may be reachable
 * as a Dragonfly-style start-up flag (`--snapshot_cron`), as a Redis CONFIG
 * name (`CONFIG SET save ...`), or both. Modules add their own with
 * `defineParam` (e.g. the snapshot module its schedule, the S3 backend its
 * endpoint), so this file stays the one place that parses and validates.
 */

export type ParamType = 'int' | 'bool' | 'string' | 'memory' | 'enum';

export interface ParamDef {
  /** Redis CONFIG name (hyphenated); also accepted as a flag. */
  name: string;
  /** Dragonfly flag name (underscored) if it differs from `name`. */
  flag?: string;
  type: ParamType;
  default: string;
  help: string;
  /** CONFIG SET allowed after start-up. */
  mutable?: boolean;
  /** Not visible to CONFIG GET (e.g. start-up only flags such as flagfile). */
  flagOnly?: boolean;
  /** Sensitive: never logged, CONFIG GET still answers as Redis does. */
  secret?: boolean;
  min?: number;
  max?: number;
  values?: string[];
  /** Extra validation of the raw string; return an error text or null. */
  validate?: (raw: string) => string | null;
  /**
   * A string parameter whose new value is combined with the current one
   * (client-output-buffer-limit sets some classes, keeps the others); throws
   * an Error whose message is the CONFIG SET error text.
   */
  normalize?: (raw: string, current: string) => string;
  /** Reacts to a new value at runtime (after validation). */
  onChange?: (value: string) => void;
  /**
   * Reacts at runtime with I/O (listening on a new port): runs after every
   * value of the CONFIG SET is stored and every onChange succeeded, once per
   * `group` (port and bind rebind together), reading the values it needs;
   * a rejection rolls the whole CONFIG SET back.
   */
  applyAsync?: { group: string; run: () => Promise<void> };
  /**
   * Takes every value the parameter gets — its default, a start-up flag, a
   * CONFIG SET — for modules that keep the parsed form where the hot path
   * reads it.
   */
  apply?: (value: string) => void;
}

export class ConfigError extends Error {}

const defs = new Map<string, ParamDef>();
const byFlag = new Map<string, ParamDef>();
const values = new Map<string, string>();

function norm(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

export function defineParam(def: ParamDef): void {
  const key = norm(def.name);
  if (defs.has(key)) throw new Error(`config parameter ${def.name} defined twice`);
  defs.set(key, def);
  byFlag.set(key, def);
  if (def.flag) byFlag.set(norm(def.flag), def);
  values.set(key, def.default);
  def.apply?.(def.default);
}

export function paramByFlag(flag: string): ParamDef | undefined {
  return byFlag.get(norm(flag));
}

export function paramByName(name: string): ParamDef | undefined {
  const d = defs.get(norm(name));
  return d && !d.flagOnly ? d : undefined;
}

export function allParams(): ParamDef[] {
  return [...defs.values()];
}

/** Parse "1gb", "512mb", "100k" the way Redis's memtoull does. */
export function parseMemory(raw: string): number | null {
  const m = /^(-?\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(raw.trim());
  if (!m) return null;
  const mul: Record<string, number> = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * mul[(m[2] ?? 'b').toLowerCase()];
}

function parseBool(raw: string): boolean | null {
  const v = raw.toLowerCase();
  if (v === 'yes' || v === 'true' || v === '1') return true;
  if (v === 'no' || v === 'false' || v === '0') return false;
  return null;
}

/** Canonical string form of raw for def, or throws ConfigError. */
export function checkValue(def: ParamDef, raw: string): string {
  let out = raw;
  switch (def.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`argument couldn't be parsed into an integer`);
      const n = Number(raw);
      if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
        throw new ConfigError(`argument must be between ${def.min} and ${def.max} inclusive`);
      }
      out = String(n);
      break;
    }
    case 'memory': {
      const n = parseMemory(raw);
      if (n === null) throw new ConfigError(`argument must be a memory value`);
      if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
        throw new ConfigError(`argument must be between ${def.min} and ${def.max} inclusive`);
      }
      out = String(n);
      break;
    }
    case 'bool': {
      const b = parseBool(raw);
      if (b === null) throw new ConfigError(`argument must be 'yes' or 'no'`);
      out = b ? 'yes' : 'no';
      break;
    }
    case 'enum':
      if (!def.values!.includes(raw.toLowerCase())) {
        throw new ConfigError(`argument(s) must be one of the following: ${def.values!.join(', ')}`);
      }
      out = raw.toLowerCase();
      break;
    case 'string':
      if (def.normalize) {
        try {
          out = def.normalize(raw, values.get(norm(def.name)) ?? def.default);
        } catch (e) {
          throw new ConfigError((e as Error).message);
        }
      }
      break;
  }
  const err = def.validate?.(out);
  if (err) throw new ConfigError(err);
  return out;
}

/** Set a parameter (start-up or CONFIG SET); throws ConfigError. */
export function setParam(def: ParamDef, raw: string, runtime: boolean): void {
  if (runtime && !def.mutable) throw new ConfigError(`can't set immutable config`);
  const v = checkValue(def, raw);
  const old = values.get(norm(def.name))!;
  values.set(norm(def.name), v);
  def.apply?.(v);
  if (!runtime) return;
  try {
    def.onChange?.(v);
  } catch (e) {
    // Redis rolls a CONFIG SET back when applying it fails.
    values.set(norm(def.name), old);
    def.apply?.(old);
    throw new ConfigError((e as Error).message);
  }
}

/** An onChange for two names of one setting (lua-time-limit, min-slaves-*): a CONFIG SET of one sets the other too. */
export function mirrorTo(other: string): (value: string) => void {
  return (v) => setParam(paramByName(other)!, v, false);
}

/**
 * CONFIG SET of several parameters, all or nothing as Redis 7: every value
 * is checked, then all are stored, then each distinct onChange runs once
 * (a certificate and its key change together); if one fails, every value
 * is restored. Throws [index of the parameter to blame, ConfigError].
 */
export function setParamsAtRuntime(pairs: [ParamDef, string][]): Promise<void> | null {
  let checked: string[];
  let at = 0;
  try {
    checked = pairs.map(([def, raw], i) => {
      at = i;
      if (!def.mutable) throw new ConfigError(`can't set immutable config`);
      return checkValue(def, raw);
    });
  } catch (e) {
    throw [at, e];
  }
  const old = pairs.map(([def]) => values.get(norm(def.name))!);
  const store = (vs: string[]) =>
    pairs.forEach(([def], i) => {
      values.set(norm(def.name), vs[i]);
      def.apply?.(vs[i]);
    });
  store(checked);
  const ran = new Set<(v: string) => void>();
  /** Every value back, and every onChange that ran told so. */
  const rollback = () => {
    store(old);
    for (const f of ran) {
      try {
        f(old[pairs.findIndex(([d]) => d.onChange === f)]);
      } catch {
        // The old values worked before; nothing better to do than keep going.
      }
    }
  };
  for (let i = 0; i < pairs.length; i++) {
    const [def] = pairs[i];
    if (def.onChange === undefined || ran.has(def.onChange)) continue;
    ran.add(def.onChange);
    try {
      def.onChange(checked[i]);
    } catch (e) {
      rollback();
      throw [i, e instanceof ConfigError ? e : new ConfigError((e as Error).message)];
    }
  }
  const groups = new Map<string, number>();
  pairs.forEach(([def], i) => {
    if (def.applyAsync !== undefined && !groups.has(def.applyAsync.group)) groups.set(def.applyAsync.group, i);
  });
  if (groups.size === 0) return null;
  return (async () => {
    const done: number[] = [];
    for (const i of groups.values()) {
      try {
        await pairs[i][0].applyAsync!.run();
        done.push(i);
      } catch (e) {
        rollback();
        for (const j of done) await pairs[j][0].applyAsync!.run().catch(() => {});
        throw [i, e instanceof ConfigError ? e : new ConfigError((e as Error).message)];
      }
    }
  })();
}

export function getString(name: string): string {
  // Code asks by the normalized name: no lower-casing and regex per read on hot paths.
  const v = values.get(name) ?? values.get(norm(name));
  if (v === undefined) throw new Error(`unknown config parameter ${name}`);
  return v;
}
export function getInt(name: string): number {
  return Number(getString(name));
}
export function getBool(name: string): boolean {
  return getString(name) === 'yes';
}

/** Restore every parameter to its default (tests, CONFIG RESETSTAT does not use this). */
export function resetAll(): void {
  for (const [k, d] of defs) {
    values.set(k, d.default);
    d.apply?.(d.default);
  }
}
