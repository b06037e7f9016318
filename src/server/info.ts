/**
 * INFO: each module contributes the section it knows about (the snapshot
 * module "persistence", the server "clients", ...). A section returns
 * field/value pairs written as "name:value" lines under "# Title".
 */
import type { Server } from './server.js';

export type InfoFields = [string, string | number][];

interface Section {
  name: string;
  title: string;
  /** Part of INFO with no argument / "default". */
  inDefault: boolean;
  fields: (server: Server) => InfoFields;
}

const sections: Section[] = [];

/** Redis's section order, whatever order the modules registered in. */
const ORDER = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'commandstats', 'errorstats', 'latencystats', 'cluster', 'keyspace'];
const rank = (name: string) => {
  const i = ORDER.indexOf(name);
  return i < 0 ? ORDER.length : i;
};

export function registerInfoSection(name: string, title: string, fields: (server: Server) => InfoFields, inDefault = true): void {
  const existing = sections.find((s) => s.name === name);
  if (existing) {
    // Several modules may add fields to one section (persistence: snapshot + fence).
    const prev = existing.fields;
    existing.fields = (s) => [...prev(s), ...fields(s)];
    return;
  }
  sections.push({ name, title, inDefault, fields });
  sections.sort((a, b) => rank(a.name) - rank(b.name));
}

/** The INFO text for the requested section names (empty = default). */
export function infoText(server: Server, wanted: string[]): string {
  const w = wanted.map((x) => x.toLowerCase());
  const all = w.includes('all') || w.includes('everything');
  const dflt = w.length === 0 || w.includes('default');
  const out: string[] = [];
  for (const s of sections) {
    if (!(all || (dflt && s.inDefault) || w.includes(s.name))) continue;
    const lines = s.fields(server).map(([k, v]) => `${k}:${v}`);
    out.push(`# ${s.title}\r\n${lines.map((l) => l + '\r\n').join('')}`);
  }
  return out.join('\r\n');
}

/** The fields of the named sections as values (for /metrics, which must say what INFO says). */
export function infoValues(server: Server, names: string[]): Map<string, string | number> {
  const out = new Map<string, string | number>();
  for (const s of sections) if (names.includes(s.name)) for (const [k, v] of s.fields(server)) out.set(k, v);
  return out;
}
