/**
 * Start-up flags, Dragonfly style: `--name=value`, `--name value`, `--name`
 * / `--noname` for booleans, and `--flagfile=path` with one flag a line,
 * `#` comments and `${VAR}` expanded from the environment. Names take `-` or
 * `_` alike. An unknown flag or a bad value stops start-up with a message
 * that names it.
 */
import { readFileSync } from 'node:fs';
import { checkValue, ConfigError, paramByFlag, setParam, type ParamDef } from './params.js';

/** Expand ${VAR} from env; an unset variable is an error (a silent empty value hides typos). */
export function expandVars(text: string, env: NodeJS.ProcessEnv, where: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new ConfigError(`${where}: environment variable ${name} is not set`);
    return v;
  });
}

interface Pending {
  def: ParamDef;
  raw: string;
  where: string;
}

/**
 * lenient: flags this process has not defined are skipped instead of refused
 * (the launcher parses before the modules that define them are loaded; the
 * server parses again, strictly, and reports them). An unknown flag written
 * `--name value` takes the next token unless it starts with `--`.
 */
function parseTokens(tokens: string[], where: (i: number) => string, out: Pending[], env: NodeJS.ProcessEnv, depth: number, lenient = false): void {
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (!tok.startsWith('-')) throw new ConfigError(`${where(i)}: unexpected argument '${tok}' (flags look like --name=value)`);
    const body = tok.replace(/^--?/, '');
    const eq = body.indexOf('=');
    let name = eq < 0 ? body : body.slice(0, eq);
    let raw: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    let def = paramByFlag(name);
    if (!def && raw === undefined && name.startsWith('no')) {
      const neg = paramByFlag(name.slice(2));
      if (neg?.type === 'bool') {
        def = neg;
        raw = 'no';
        name = name.slice(2);
      }
    }
    if (!def) {
      if (!lenient) throw new ConfigError(`${where(i)}: unknown flag --${name}`);
      if (raw === undefined && i + 1 < tokens.length && !tokens[i + 1].startsWith('--')) i++;
      continue;
    }
    if (raw === undefined) {
      if (def.type === 'bool') raw = 'yes';
      else if (i + 1 < tokens.length && !tokens[i + 1].startsWith('--')) raw = tokens[++i];
      else throw new ConfigError(`${where(i)}: flag --${name} needs a value`);
    }
    if (def.name === 'flagfile') {
      if (depth > 4) throw new ConfigError(`${where(i)}: flagfiles nested too deep`);
      readFlagfile(raw, out, env, depth + 1, lenient);
      continue;
    }
    out.push({ def, raw, where: where(i) });
  }
}

function readFlagfile(path: string, out: Pending[], env: NodeJS.ProcessEnv, depth: number, lenient: boolean): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`--flagfile=${path}: ${(e as Error).message}`);
  }
  const lines = text.split(/\r?\n/);
  lines.forEach((line, n) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const where = `${path}:${n + 1}`;
    parseTokens([expandVars(t, env, where)], () => where, out, env, depth, lenient);
  });
}

/** Apply argv (without node and script) to the parameters; throws ConfigError naming the flag. */
export function applyFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): void {
  const pending: Pending[] = [];
  parseTokens(argv, (i) => `argument ${i + 1}`, pending, env, 0);
  for (const p of pending) {
    try {
      setParam(p.def, p.raw, false);
    } catch (e) {
      throw new ConfigError(`${p.where}: invalid value for --${p.def.flag ?? p.def.name}: ${(e as Error).message}`);
    }
  }
}

/**
 * The value `name` would get from argv and flagfiles (default if unset),
 * without applying anything and ignoring flags not defined yet: the launcher
 * (src/main.ts) reads --maxmemory this way before loading the server.
 * Throws ConfigError for what the strict parse would refuse too.
 */
export function peekFlag(argv: string[], name: string, env: NodeJS.ProcessEnv = process.env): string {
  const want = paramByFlag(name);
  if (!want) throw new Error(`unknown parameter ${name}`);
  const pending: Pending[] = [];
  parseTokens(argv, (i) => `argument ${i + 1}`, pending, env, 0, true);
  let value = checkValue(want, want.default);
  for (const p of pending) {
    if (p.def !== want) continue;
    try {
      value = checkValue(p.def, p.raw);
    } catch (e) {
      throw new ConfigError(`${p.where}: invalid value for --${p.def.flag ?? p.def.name}: ${(e as Error).message}`);
    }
  }
  return value;
}
