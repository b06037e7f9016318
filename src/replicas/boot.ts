/**
 * Boot with several snapshot locations: list every location (each one
 * classified and retried as the single-location strict boot does), decide
 * with decision.ts, load the chosen snapshot from the fastest location that
 * holds it (checksums verified by the loader), falling back to its other
 * copies, and say what happened in the log and INFO.
 *
 * | situation                                    | strict              | not strict                  |
 * | one snapshot dominates                        | load it             | load it                     |
 * | split brain (concurrent maximal snapshots)    | exit, naming them   | deterministic pick, fenced  |
 * | bucket missing / access refused at a location | exit                | location unread             |
 * | transient errors at a location                | retried up to --snapshot_load_timeout, then unread     |
 * | fewer than N - W + 1 locations read           | exit                | best of those read, fenced  |
 * | every copy of the chosen snapshot damaged     | exit                | the next best one, loudly   |
 * | damaged manifest at a location                | exit                | ignored, loudly             |
 */
import { log } from '../log.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Manifest } from '../storage/backend.js';
import { BootError, StrictRefusal, type BootLoadResult } from '../persistence/boot.js';
import { raiseFence } from '../persistence/fence.js';
import { loadSnapshot, type LoadProgress } from '../persistence/loader.js';
import { bootFailureOf, MAX_LOAD_RESTARTS } from '../persistence/safe-boot.js';
import { decide, describe, splitBrainMessage, type Decision, type LocationListing } from './decision.js';
import { lineage } from './lineage.js';
import type { Location } from './location-state.js';
import type { ReplicaSet } from './replica-set.js';
import { formatVector } from './vector.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Once the read quorum is met, how long boot still waits for a location that keeps failing transiently. */
const STRAGGLER_MS = 5000;

/** What the last boot decided, for INFO persistence. */
export const bootReport = { decision: '', splitBrain: false, read: 0, readQuorum: 0 };

function msg(e: unknown): string {
  return String((e as Error)?.message ?? e).replace(/[\r\n]+/g, ' ');
}

/** List one location, retrying transient failures until `deadline()` says stop. */
export async function listLocation(loc: Location, deadline: () => number, strict: boolean, create = true): Promise<LocationListing> {
  const t0 = Date.now();
  let backoff = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      // check() makes a missing local folder (the server's default ./data); looking at one (the CLI) must not.
      if (create || loc.spec.kind === 's3') await loc.backend.check();
      const manifests = await loc.backend.list();
      const damaged = loc.backend.damaged;
      const tombstones = await loc.backend.tombstones();
      return { name: loc.name, ok: true, manifests, damaged, tombstones, ms: Date.now() - t0 };
    } catch (e) {
      const kind = bootFailureOf(e);
      const left = deadline() - Date.now();
      if (kind === 'transient' && left > 0) {
        log.warn({ location: loc.name, attempt, retryInMs: Math.min(backoff, left), error: msg(e) }, 'snapshot location unavailable: retrying');
        await sleep(Math.min(backoff, left));
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      const error = `${kind}: ${msg(e)}`;
      // As with one location: only what kept failing transiently is left to the read quorum under strict.
      if (strict && kind !== 'transient') {
        const what = kind === 'missing' ? 'does not exist' : kind === 'auth' ? 'refused access' : 'cannot be listed';
        throw new BootError(`snapshot location ${loc.name} ${what}: ${msg(e)} (--snapshot_strict: refusing to start; --nosnapshot_strict starts without this location, fenced if too few locations can be read)`, { cause: e });
      }
      return { name: loc.name, ok: false, manifests: [], damaged: [], tombstones: [], error, ms: Date.now() - t0 };
    }
  }
}

/** Every location listed in parallel; stragglers get a short grace once the read quorum is met. */
export async function listAll(set: ReplicaSet, strict: boolean, timeoutMs: number): Promise<LocationListing[]> {
  const hardDeadline = Date.now() + timeoutMs;
  let quorumAt = 0;
  let ok = 0;
  const deadline = () => (quorumAt > 0 ? Math.min(hardDeadline, quorumAt + STRAGGLER_MS) : hardDeadline);
  return Promise.all(
    set.locations.map((loc) =>
      listLocation(loc, deadline, strict).then((l) => {
        if (l.ok && ++ok >= set.readQuorum && quorumAt === 0) quorumAt = Date.now();
        loc.status = l.ok ? 'ok' : 'unread';
        if (!l.ok) loc.lastError = l.error ?? '';
        return l;
      }),
    ),
  );
}

/** Load `m` from location `loc`, restarting when the object changed underneath. */
async function loadFrom(loc: Location, m: Manifest, ks: Keyspace, progress: LoadProgress) {
  for (let restarts = 0; ; restarts++) {
    try {
      const result = await loadSnapshot(loc.backend, m, ks, progress);
      const fnErr = result.functions.install('replace-all');
      if (fnErr !== null) throw new Error(`function libraries: ${fnErr}`);
      return result;
    } catch (e) {
      if (bootFailureOf(e) === 'changed' && restarts < MAX_LOAD_RESTARTS) continue;
      throw e;
    }
  }
}

export async function bootFromReplicas(set: ReplicaSet, ks: Keyspace, opts: { strict: boolean; progress: LoadProgress; timeoutMs: number }): Promise<BootLoadResult | null> {
  const names = set.locations.map((l) => l.name);
  const listings = await listAll(set, opts.strict, opts.timeoutMs);
  // After the listing (which creates a missing local folder): is create-only enforced where we could read?
  await Promise.all(set.locations.filter((l, i) => listings[i].ok).map((l) => l.probe()));
  const unread = listings.filter((l) => !l.ok);
  for (const l of unread) log.error({ location: l.name, error: l.error }, 'snapshot location could not be read at boot');
  for (const [i, l] of listings.entries()) {
    if (l.damaged.length === 0) continue;
    const what = `damaged snapshot manifest(s) in ${names[i]}: ${l.damaged.map((d) => `${d.name}: ${d.reason}`).join('; ')}`;
    if (opts.strict) throw new StrictRefusal(`${what}. Refusing to start (--snapshot_strict): a damaged manifest may describe the newest snapshot. Restart with --nosnapshot_strict to load the newest readable snapshot, or inspect with \`damselfly snapshots ls\`.`);
    log.error({ location: names[i], damaged: l.damaged }, `IGNORING ${what}`);
    set.locations[i].kept.add(l.damaged.map((d) => ({ manifest: d.name, reason: d.reason })));
  }
  const maxSeq = Math.max(0, ...listings.flatMap((l) => [...l.manifests.map((m) => m.seq), ...l.tombstones.map((t) => t.seq)]));
  let d = decide(listings, set.quorum);
  bootReport.read = d.read;
  bootReport.readQuorum = d.readQuorum;
  const fenceCauses: string[] = [];
  if (!d.quorumMet) {
    const why = `only ${d.read} of ${set.locations.length} snapshot locations could be read, and ${d.readQuorum} are needed (--snapshot_write_quorum=${set.quorum}) to be sure of seeing the newest successful save (unread: ${unread.map((l) => `${l.name}: ${l.error}`).join('; ')})`;
    if (opts.strict) throw new BootError(`${why} (--snapshot_strict: refusing to start; --nosnapshot_strict starts with the best snapshot it can read, fenced)`);
    fenceCauses.push(why);
  }
  if (d.damaged.length > 0 && opts.strict) {
    throw new StrictRefusal(`snapshot manifests with a malformed version vector: ${d.damaged.map((x) => `${x.name} at ${names[x.at]}: ${x.reason}`).join('; ')} (--snapshot_strict: refusing to start)`);
  }
  if (d.splitBrain) {
    const text = splitBrainMessage(d, names);
    bootReport.splitBrain = true;
    if (opts.strict) {
      throw new StrictRefusal(`${text}. Refusing to start (--snapshot_strict). With --nosnapshot_strict the server would load ${d.maximal[0].id} (larger vector sum, then newer time, then writer id) and start fenced; or remove the snapshot to discard with \`damselfly snapshots rm\`.`);
    }
    log.error({ snapshots: d.maximal.map((c) => describe(c, names)) }, `${text}; loading ${d.maximal[0].id} by the deterministic pick (larger vector sum, newer time, writer id) and starting FENCED`);
    fenceCauses.push(`split brain: loaded ${d.maximal[0].id}, concurrent with ${d.maximal.slice(1).map((c) => c.id).join(', ')}`);
  }
  const skipped: BootLoadResult['skipped'] = [];
  const without = new Set<string>();
  for (;;) {
    const c = d.chosen;
    if (c === null) {
      bootReport.decision = skipped.length > 0 ? `no snapshot could be loaded` : `no snapshot: started empty`;
      if (skipped.length > 0) throw new BootError(`none of the snapshots at ${names.join(', ')} can be loaded; refusing to start empty while snapshots exist`);
      if (fenceCauses.length > 0) raiseFence(fenceCauses.join('; '));
      log.info({ locations: names }, 'no snapshot found at any location: starting with an empty dataset');
      return null;
    }
    const failures: string[] = [];
    for (const copy of c.copies) {
      const loc = set.locations[copy.at];
      log.info({ snapshot: c.id, seq: copy.m.seq, vector: formatVector(copy.m), location: loc.name }, 'loading snapshot');
      try {
        const result = await loadFrom(loc, copy.m, ks, opts.progress);
        if (skipped.length > 0) log.error({ snapshot: c.id, skipped: skipped.map((s) => s.manifest.id) }, `FELL BACK TO AN OLDER SNAPSHOT: ${c.id} was loaded because ${skipped.length} newer snapshot(s) could not be read at any location`);
        bootReport.decision = `${d.splitBrain ? 'split brain, picked' : 'loaded'} ${describe(c, names)}`;
        if (fenceCauses.length > 0) raiseFence(fenceCauses.join('; '));
        lineage.adopt(copy.m, c.id);
        lineage.setLive(d.quorumMet && unread.length === 0 ? d.candidates.map((x) => x.m) : null);
        // Locations read that lack it get it in the background; while fenced nothing is copied (the next save after the lift catches up).
        const holders = new Set(c.copies.map((x) => x.at));
        if (fenceCauses.length === 0) set.catchUp.afterBoot(c.id, set.locations.filter((l, i) => listings[i].ok && !holders.has(i)));
        for (const x of c.copies) set.locations[x.at].committed(x.m);
        return { manifest: copy.m, result, skipped, maxSeq };
      } catch (e) {
        const kind = bootFailureOf(e);
        if (kind === 'config') throw new BootError(`cannot load snapshot ${c.id} from ${loc.name}: ${msg(e)}`, { cause: e });
        failures.push(`${loc.name}: ${kind}: ${msg(e)}`);
        log.error({ snapshot: c.id, location: loc.name, error: msg(e) }, 'this copy of the snapshot cannot be loaded: trying another location');
      }
    }
    const why = failures.join('; ');
    if (opts.strict) {
      throw new StrictRefusal(`the newest snapshot ${describe(c, names)} cannot be loaded from any location: ${why}. Refusing to start with older data (--snapshot_strict); with --nosnapshot_strict the server would load the next best snapshot, keeping this one.`);
    }
    log.error({ snapshot: c.id, error: why }, `SNAPSHOT ${c.id} IS UNREADABLE AT EVERY LOCATION: trying the next best one`);
    skipped.push({ manifest: c.m, reason: why });
    for (const x of c.copies) set.locations[x.at].kept.add([{ id: c.id, seq: c.m.seq, reason: why }]);
    without.add(c.id);
    d = decideWithout(listings, set.quorum, without);
    // Without the unreadable one, what is left may be concurrent snapshots: that is split brain as well.
    if (d.splitBrain && !bootReport.splitBrain) {
      bootReport.splitBrain = true;
      log.error({ snapshots: d.maximal.map((x) => describe(x, names)) }, `${splitBrainMessage(d, names)}; loading ${d.maximal[0].id} by the deterministic pick and starting FENCED`);
      fenceCauses.push(`split brain: loaded ${d.maximal[0].id}, concurrent with ${d.maximal.slice(1).map((x) => x.id).join(', ')}`);
    }
  }
}

function decideWithout(listings: LocationListing[], quorum: number, without: Set<string>): Decision {
  return decide(listings, quorum, without);
}
