/**
 * The operator's side of replicas (`damselfly snapshots ls|verify|copy`):
 *
 *   ls            every snapshot at every location with its vector, parent,
 *                 size and time, and what boot would do in each mode (the
 *                 same decision.ts the server uses), or why it would refuse
 *   verify [ID..] read every copy of the snapshots (all, or those named) and
 *                 check size, seq, key counts and the SHA-256 against the
 *                 manifest, as a load would, without keeping the keys
 *   copy SRC DST  repair a location: every snapshot at SRC that DST lacks
 *                 (and no tombstone retired) is streamed over, and DST
 *                 commits its own manifest for it; tombstones go too
 */
import { FenceGuard } from '../persistence/fence.js';
import type { Manifest } from '../storage/backend.js';
import { copySnapshot } from './catch-up.js';
import { verifyData } from './verify.js';
import { decide, describe, splitBrainMessage, type Decision, type LocationListing } from './decision.js';
import { listLocation } from './boot.js';
import { Location } from './location-state.js';
import { backendFor, configuredLocations, parseLocation, writeQuorum } from './locations.js';
import { formatVector } from './vector.js';

function out(line = ''): void {
  process.stdout.write(line + '\n');
}

function table(rows: string[][]): void {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const r of rows) out('  ' + r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(w[c]))).join('  '));
}

/** Every configured location (--dir first), even when there is only one. */
export function cliLocations(): { locations: Location[]; quorum: number } {
  const specs = configuredLocations();
  return { locations: specs.map((s, i) => new Location(i, s, new FenceGuard(backendFor(s)))), quorum: writeQuorum(specs.length) };
}

export interface BootVerdict {
  strict: string;
  lenient: string;
  loads: string | null;
}

/** What a server with these flags would do at boot, from one listing of each location (no retries). */
export function bootVerdict(listings: LocationListing[], d: Decision): BootVerdict {
  const names = listings.map((l) => l.name);
  const unread = listings.filter((l) => !l.ok);
  const damaged = listings.flatMap((l) => l.damaged.map((x) => `${l.name}: ${x.name}`));
  const loads = d.chosen?.id ?? null;
  let strict: string;
  if (unread.some((l) => !/^transient/.test(l.error ?? ''))) strict = `refuses to start: ${unread.map((l) => `${l.name} (${l.error})`).join('; ')}`;
  else if (!d.quorumMet) strict = `refuses to start: only ${d.read} of ${listings.length} locations could be read, ${d.readQuorum} needed (a transient failure is retried for --snapshot_load_timeout first)`;
  else if (damaged.length > 0) strict = `refuses to start: damaged manifest ${damaged[0]}`;
  else if (d.splitBrain) strict = `refuses to start: ${splitBrainMessage(d, names)}`;
  else strict = loads ? `loads ${loads}` : 'starts empty';
  const fences: string[] = [];
  if (!d.quorumMet) fences.push('too few locations read');
  if (d.splitBrain) fences.push('split brain');
  const lenient = `${loads ? `loads ${loads}` : 'starts empty'}${fences.length > 0 ? `, fenced (${fences.join(', ')})` : ''}`;
  return { strict, lenient, loads };
}

export async function listEverywhere(locations: Location[]): Promise<LocationListing[]> {
  return Promise.all(locations.map((l) => listLocation(l, () => 0, false, false)));
}

function size(n: number): string {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

export async function replicasLs(json: boolean): Promise<void> {
  const { locations, quorum } = cliLocations();
  const listings = await listEverywhere(locations);
  const d = decide(listings, quorum);
  const verdict = bootVerdict(listings, d);
  const names = listings.map((l) => l.name);
  const maximal = new Set(d.maximal.map((c) => c.id));
  const tomb = new Set(d.tombstoned);
  if (json) {
    out(
      JSON.stringify(
        {
          locations: listings.map((l) => ({ location: l.name, ok: l.ok, error: l.error, manifests: l.manifests, damaged: l.damaged, tombstones: l.tombstones })),
          writeQuorum: quorum,
          readQuorum: d.readQuorum,
          boot: verdict,
          splitBrain: d.splitBrain,
          maximal: [...maximal],
        },
        null,
        1,
      ),
    );
    return;
  }
  out(`locations: ${locations.length} (write quorum ${quorum}, read quorum ${d.readQuorum})`);
  for (const [i, l] of listings.entries()) {
    out(`  [${i}] ${l.name}${i === 0 ? ' (primary, --dir)' : ''}: ${l.ok ? `${l.manifests.length} snapshot(s), ${l.tombstones.length} tombstone(s)` : `UNREADABLE: ${l.error}`}`);
  }
  out(`boot (--snapshot_strict, the default): ${verdict.strict}`);
  out(`boot (--nosnapshot_strict): ${verdict.lenient}`);
  if (d.splitBrain) out(splitBrainMessage(d, names));
  out();
  const rows = [['SEQ', 'ID', 'CREATED', 'SIZE', 'VECTOR', 'PARENT', 'WRITER', 'LOCATIONS', 'NOTE']];
  const all = new Map<string, { m: Manifest; at: number[] }>();
  listings.forEach((l, i) => {
    for (const m of l.manifests) {
      const e = all.get(m.id);
      if (e) e.at.push(i);
      else all.set(m.id, { m, at: [i] });
    }
  });
  const sorted = [...all.values()].sort((a, b) => b.m.seq - a.m.seq || b.m.createdAt - a.m.createdAt);
  for (const { m, at } of sorted) {
    const note = tomb.has(m.id)
      ? 'TOMBSTONED (retired; ignored)'
      : m.id === verdict.loads
        ? d.splitBrain
          ? 'boot picks this (not strict)'
          : 'boot loads this'
        : maximal.has(m.id)
          ? 'CONCURRENT (split brain)'
          : 'superseded';
    rows.push([String(m.seq), m.id, new Date(m.createdAt).toISOString(), size(m.size), formatVector(m), m.parent || '-', m.writer ?? m.serverId, at.map((i) => `[${i}]`).join(','), note]);
  }
  out(`snapshots: ${sorted.length}`);
  if (sorted.length > 0) table(rows);
  for (const [i, l] of listings.entries()) for (const x of l.damaged) out(`damaged manifest at [${i}] ${l.name}: ${x.name}: ${x.reason}`);
  if (d.splitBrain) for (const c of d.maximal) out(`  concurrent: ${describe(c, names)}`);
}

/** Read one copy completely and check it against its manifest; null when it is sound. */
async function verifyCopy(loc: Location, m: Manifest): Promise<string | null> {
  try {
    return await verifyData(await loc.backend.open(m), m);
  } catch (e) {
    return (e as Error).message;
  }
}

export async function replicasVerify(ids: string[]): Promise<number> {
  const { locations } = cliLocations();
  const listings = await listEverywhere(locations);
  let bad = 0;
  let checked = 0;
  for (const [i, l] of listings.entries()) {
    if (!l.ok) {
      out(`[${i}] ${l.name}: UNREADABLE: ${l.error}`);
      bad++;
      continue;
    }
    for (const m of l.manifests) {
      if (ids.length > 0 && !ids.includes(m.id)) continue;
      checked++;
      const why = await verifyCopy(locations[i], m);
      out(`${why === null ? 'OK  ' : 'FAIL'} [${i}] ${l.name} ${m.id} (seq ${m.seq}, ${size(m.size)})${why === null ? '' : `: ${why}`}`);
      if (why !== null) bad++;
    }
    for (const x of l.damaged) {
      out(`FAIL [${i}] ${l.name} manifest ${x.name}: ${x.reason}`);
      bad++;
    }
  }
  const missing = ids.filter((id) => !listings.some((l) => l.manifests.some((m) => m.id === id)));
  for (const id of missing) out(`FAIL ${id}: at no location`);
  out(`${checked} cop${checked === 1 ? 'y' : 'ies'} checked, ${bad + missing.length} problem(s)`);
  return bad + missing.length > 0 ? 1 : 0;
}

export async function replicasCopy(src: string, dst: string): Promise<number> {
  const from = new Location(0, parseLocation(src), backendFor(parseLocation(src)));
  const to = new Location(1, parseLocation(dst), backendFor(parseLocation(dst)));
  await to.backend.check();
  const [a, b] = await listEverywhere([from, to]);
  if (!a.ok) throw new Error(`cannot read ${src}: ${a.error}`);
  if (!b.ok) throw new Error(`cannot read ${dst}: ${b.error}`);
  const retired = new Set([...a.tombstones, ...b.tombstones].map((t) => t.id));
  const there = new Set(b.manifests.map((m) => m.id));
  let copied = 0;
  for (const t of a.tombstones) if (!b.tombstones.some((x) => x.id === t.id)) await to.backend.putTombstone(t);
  for (const m of [...a.manifests].reverse()) {
    if (there.has(m.id) || retired.has(m.id)) continue;
    await copySnapshot(from, m, to);
    out(`copied ${m.id} (seq ${m.seq}, ${size(m.size)}, vector ${formatVector(m)})`);
    copied++;
  }
  out(`${copied} snapshot(s) copied from ${from.name} to ${to.name}; ${a.manifests.length - copied} already there or retired`);
  return 0;
}
