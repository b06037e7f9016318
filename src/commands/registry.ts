/**
 * The one command registry. Families (src/commands/<family>.ts) call
 * `register(...)` with their table entries; the dispatcher looks commands up
 * here, and COMMAND reports from here, so a new command is one entry plus one
 * handler in the file of its family.
 */
import { precompute, type CommandSpec } from './spec.js';

const byName = new Map<string, CommandSpec>();

/**
 * A small direct-mapped cache in front of byName, by name: a script's
 * redis.call passes the same JS string for a name again and again (see
 * LuaVm.recurringStringAt), and a slot check is a few reads where the Map
 * lookup showed as 1.5% of a BullMQ run. Emptied by register().
 */
const FRONT = 256;
const frontName = new Array<string>(FRONT).fill('');
const frontSpec = new Array<CommandSpec | undefined>(FRONT).fill(undefined);

export function register(...specs: CommandSpec[]): void {
  frontName.fill('');
  for (const spec of specs) {
    if (byName.has(spec.name)) throw new Error(`command ${spec.name} registered twice`);
    if (!spec.handler && !spec.subcommands) throw new Error(`command ${spec.name} has no handler`);
    for (const sub of spec.subcommands ?? []) {
      if (!sub.name.startsWith(spec.name + '|')) throw new Error(`subcommand ${sub.name} of ${spec.name}`);
    }
    // Specs built without cmd() (or with flags edited after) get theirs here.
    spec.pre = precompute(spec);
    for (const sub of spec.subcommands ?? []) sub.pre = precompute(sub);
    byName.set(spec.name, spec);
    // Clients send "GET" or "get": both spellings hit the map without lower-casing.
    byName.set(spec.name.toUpperCase(), spec);
  }
}

/** Look a command up by the name a client sent (any case). */
export function lookup(name: string): CommandSpec | undefined {
  const n = name.length;
  if (n === 0) return undefined;
  // Every char counts: a slot from the length and the end chars alone put
  // HGET and HSET, HMGET, HMSET and LPUSH... of one BullMQ script together.
  let h = n;
  for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) | 0;
  const slot = (h ^ (h >>> 7)) & (FRONT - 1);
  if (frontName[slot] === name) return frontSpec[slot];
  const spec = byName.get(name) ?? byName.get(name.toLowerCase());
  if (spec !== undefined) {
    frontName[slot] = name;
    frontSpec[slot] = spec;
  }
  return spec;
}

export function lookupSub(parent: CommandSpec, sub: string): CommandSpec | undefined {
  const want = parent.name + '|' + sub.toLowerCase();
  return parent.subcommands?.find((s) => s.name === want);
}

/** Every top-level command, once. */
export function allCommands(): CommandSpec[] {
  const out: CommandSpec[] = [];
  for (const [k, v] of byName) if (k === v.name) out.push(v);
  return out;
}

export function arityOk(spec: CommandSpec, argc: number): boolean {
  return spec.arity >= 0 ? argc === spec.arity : argc >= -spec.arity;
}
