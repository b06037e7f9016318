/**
 * The snapshot fence. When boot could not read the snapshots that exist (or
 * could not tell whether any exist) and was told not to stop, the server
 * serves, but must not write a snapshot or delete one: an empty or partial
 * keyspace saved over unread snapshots, followed by retention, is exactly how
 * data gets lost. The fence stays up until an operator lifts it with
 * `CONFIG SET snapshot-fence no` after checking the backend.
 */
import { defineParam, paramByName, setParam } from '../config/params.js';
import { log } from '../log.js';
import { registerInfoSection } from '../server/info.js';
import { BackendError, type CreateOnly, type Manifest, type ManifestProblem, type SnapshotBackend, type SnapshotWriter, type StoredItem, type Tombstone } from '../storage/backend.js';

interface FenceState {
  up: boolean;
  cause: string;
  /** ms since epoch when it went up. */
  since: number;
}

const state: FenceState = { up: false, cause: '', since: 0 };

defineParam({
  name: 'snapshot-fence',
  flag: 'snapshot_fence',
  type: 'bool',
  default: 'no',
  mutable: true,
  help: 'yes while snapshots are fenced (no saves, no deletions) after a boot that could not read them; CONFIG SET snapshot-fence no lifts it',
  onChange: (v) => (v === 'yes' ? raiseFence('set by CONFIG SET snapshot-fence yes') : void liftFence()),
});
defineParam({
  name: 'snapshot_load_timeout',
  type: 'int',
  default: '60',
  min: 0,
  max: 86400,
  help: 'seconds boot keeps retrying a snapshot backend that times out, resets, throttles or answers 5xx',
});

export function fenced(): boolean {
  return state.up;
}

export function fenceCause(): string {
  return state.cause;
}

/** One line, safe for INFO and error replies. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').slice(0, 400);
}

export function raiseFence(cause: string): void {
  state.up = true;
  state.cause = oneLine(cause);
  state.since = Date.now();
  setParam(paramByName('snapshot-fence')!, 'yes', false);
  log.error({ cause: state.cause }, 'SNAPSHOTS FENCED: serving, but no snapshot will be saved or deleted until an operator runs CONFIG SET snapshot-fence no');
}

let liftCheck: (() => Promise<void>) | null = null;

/**
 * Run before the fence comes down (e.g. re-list the backend so the next
 * snapshot's seq is above every existing one, read or not).
 */
export function setLiftCheck(fn: () => Promise<void>): void {
  liftCheck = fn;
}

let lifting: Promise<void> | null = null;

/** Lift the fence; with a lift check it stays up (saves refused) until the check passes. */
export function liftFence(): Promise<void> {
  if (!state.up) {
    setParam(paramByName('snapshot-fence')!, 'no', false);
    return Promise.resolve();
  }
  if (lifting) return lifting;
  const cause = state.cause;
  const down = () => {
    log.warn({ cause }, 'snapshot fence lifted by the operator: saves and retention are enabled again');
    state.up = false;
    state.cause = '';
    state.since = 0;
    setParam(paramByName('snapshot-fence')!, 'no', false);
  };
  if (!liftCheck) {
    down();
    return Promise.resolve();
  }
  state.cause = `being lifted (was: ${cause})`;
  setParam(paramByName('snapshot-fence')!, 'yes', false);
  lifting = liftCheck()
    .then(down, (e: unknown) => raiseFence(`lifting failed, ${oneLine((e as Error).message)} (was: ${cause})`))
    .finally(() => (lifting = null));
  return lifting;
}

/** The error every save attempt gets while fenced. */
export function fenceMessage(): string {
  return `ERR snapshots are fenced (${state.cause}): saving could overwrite snapshots that were not loaded. Check the snapshot backend, then CONFIG SET snapshot-fence no`;
}

/**
 * The backend as everything above boot sees it: while fenced, nothing is
 * created or deleted, whichever code path asks.
 */
export class FenceGuard implements SnapshotBackend {
  constructor(readonly inner: SnapshotBackend) {}
  get location(): string {
    return this.inner.location;
  }
  private refuse(what: string): never {
    throw new BackendError(`${what} refused: ${fenceMessage().slice(4)}`, 'other', 'FENCED');
  }
  check(): Promise<void> {
    return this.inner.check();
  }
  create(id: string): Promise<SnapshotWriter> {
    if (state.up) this.refuse('snapshot');
    return this.inner.create(id);
  }
  list(): Promise<Manifest[]> {
    return this.inner.list();
  }
  open(manifest: Manifest) {
    return this.inner.open(manifest);
  }
  get openNamed() {
    return this.inner.openNamed?.bind(this.inner);
  }
  delete(manifest: Manifest): Promise<void> {
    if (state.up) this.refuse(`deleting snapshot ${manifest.id}`);
    return this.inner.delete(manifest);
  }
  /** Manifests the backend's last list() could not read (boot decides what they mean). */
  get damaged(): ManifestProblem[] {
    return this.inner.damaged;
  }
  stored(): Promise<StoredItem[]> {
    return this.inner.stored();
  }
  remove(item: StoredItem): Promise<void> {
    if (state.up) this.refuse(`removing ${item.name}`);
    return this.inner.remove(item);
  }
  touchLease(writer: string): Promise<void> {
    return this.inner.touchLease(writer);
  }
  dropLease(writer: string): Promise<void> {
    return this.inner.dropLease(writer);
  }
  putTombstone(t: Tombstone): Promise<void> {
    if (state.up) this.refuse(`tombstoning snapshot ${t.id}`);
    return this.inner.putTombstone(t);
  }
  tombstones(): Promise<Tombstone[]> {
    return this.inner.tombstones();
  }
  dropTombstone(id: string): Promise<void> {
    if (state.up) this.refuse(`removing the tombstone of ${id}`);
    return this.inner.dropTombstone(id);
  }
  probeCreateOnly(): Promise<CreateOnly> {
    return this.inner.probeCreateOnly();
  }
}

/** INFO persistence fields (registered after the snapshot module's own). */
export function registerFenceInfo(): void {
  registerInfoSection('persistence', 'Persistence', () => [
    ['snapshot_fenced', state.up ? 1 : 0],
    ['snapshot_fence_cause', state.cause],
    ['snapshot_fence_since', state.up ? Math.floor(state.since / 1000) : 0],
  ]);
}
