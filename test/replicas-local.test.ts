/**
 * Snapshot replicas across local folders (issue 13): the fan-out save and
 * its quorum, version vectors, boot's choice without wall clocks, split
 * brain (a partition; two processes with one --server_id), retention with a
 * lagging location. Every server is the real one over TCP; a location
 * "goes down" by having its folder replaced with a plain file (the server
 * runs as root, so permissions would not stop it). The S3 versions, with
 * the fault proxy, are in s3-replicas.test.ts.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { until, type TestServer } from './helpers/server.js';
import { client, editManifest, exitOf, folderManifests, folderTombstones, locationLine, persistenceInfo, snapshotsCli, startOn, tempDir } from './helpers/replicas.js';

// Several servers start one after another in most tests: minutes on a busy 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function on(locs: string[], extra: string[] = [], opts: Parameters<typeof startOn>[2] = {}): Promise<TestServer> {
  const s = await startOn(locs, extra, opts);
  servers.push(s);
  return s;
}

function folders(n: number): string[] {
  const root = tempDir();
  return Array.from({ length: n }, (_, i) => path.join(root, `loc${i}`));
}

/** Take a folder location down (a file where the folder was) and bring it back. */
function down(dir: string): () => void {
  renameSync(dir, dir + '.away');
  writeFileSync(dir, 'not a folder');
  return () => {
    rmSync(dir);
    renameSync(dir + '.away', dir);
  };
}

/** A server on `locs` that loads what is there, sets key=value and saves; then it is stopped. */
async function saveOnce(locs: string[], key: string, value: string, extra: string[] = []): Promise<void> {
  const s = await on(locs, extra);
  const r = client(s);
  await r.set(key, value);
  expect(await r.call('save')).toBe('OK');
  r.disconnect();
  await s.stop();
}

describe('configuration', () => {
  it('a location of an unknown kind stops start-up with one line naming it', async () => {
    const [a] = folders(1);
    const s = await on([a], ['--snapshot_replicas=ftp://host/x'], { noWait: true });
    const { code } = await exitOf(s);
    expect(code).not.toBe(0);
    expect(s.logs.map((l) => l.msg).join('\n')).toMatch(/snapshot_replicas.*ftp:\/\/host\/x: only local folders and s3:\/\/bucket\/prefix/);
  });

  it('an unknown S3 setting and a quorum above the number of locations are refused', async () => {
    const [a, b] = folders(2);
    const s1 = await on([a], ['--snapshot_replicas=s3://b/p?endpont=x:1'], { noWait: true });
    expect((await exitOf(s1)).code).not.toBe(0);
    expect(s1.logs.map((l) => l.msg).join('\n')).toMatch(/unknown setting 'endpont'/);
    const s2 = await on([a, b], ['--snapshot_write_quorum=3'], { noWait: true });
    const e2 = await exitOf(s2);
    expect(e2.code).not.toBe(0);
    expect(e2.message).toMatch(/--snapshot_write_quorum=3 but there are only 2 snapshot location/);
  });
});

describe('saving to several folders', () => {
  it('every location commits its own manifest with a version vector; the next snapshot dominates and names its parent', async () => {
    const locs = folders(3);
    const s = await on(locs, ['--server_id=blue']);
    const r = client(s);
    await r.set('k', 'v1');
    expect(await r.call('save')).toBe('OK');
    const info = await persistenceInfo(r);
    expect(info.snapshot_locations).toBe('3');
    expect(info.snapshot_write_quorum).toBe('3');
    for (let i = 0; i < 3; i++) expect(locationLine(info, i)).toMatchObject({ status: 'ok', create_only: 'enforced', location: `file://${locs[i]}` });
    const first = locs.map((d) => folderManifests(d));
    for (const ms of first) expect(ms).toHaveLength(1);
    const m1 = first[0][0];
    expect(first[1][0].id).toBe(m1.id);
    expect(Object.keys(m1.vv!)).toEqual([m1.writer]);
    expect(m1.writer).toMatch(/^blue\/[0-9a-f]{12}$/);
    r.disconnect();
    await s.stop();

    const s2 = await on(locs, ['--server_id=blue']);
    const r2 = client(s2);
    expect(await r2.get('k')).toBe('v1');
    await r2.set('k', 'v2');
    expect(await r2.call('save')).toBe('OK');
    const m2 = folderManifests(locs[2])[0];
    expect(m2.parent).toBe(m1.id);
    // The adopted entry, plus this process's own: the same --server_id, another incarnation.
    expect(m2.vv![m1.writer!]).toBe(1);
    expect(m2.writer).not.toBe(m1.writer);
    expect(m2.vv![m2.writer!]).toBe(1);
    r2.disconnect();
  });

  it('quorum met with a location down: the save succeeds, INFO says who missed it, and it is caught up once back', async () => {
    const locs = folders(2);
    const s = await on(locs, ['--snapshot_write_quorum=1']);
    const r = client(s);
    await r.set('k', 'before');
    expect(await r.call('save')).toBe('OK');
    const up = down(locs[1]);
    await r.set('k', 'during');
    expect(await r.call('save')).toBe('OK');
    const info = await persistenceInfo(r);
    expect(locationLine(info, 1).status).toBe('behind');
    expect(locationLine(info, 1).last_error).not.toBe('');
    const newest = folderManifests(locs[0])[0];
    up();
    await until(async () => folderManifests(locs[1]).some((m) => m.id === newest.id), 'the lagging location to be caught up', 20000);
    await until(async () => locationLine(await persistenceInfo(r), 1).status === 'ok', 'INFO to show the location ok', 5000);
    expect(locationLine(await persistenceInfo(r), 1).caught_up).toBe('1');
    r.disconnect();
    await s.stop();
    // The copy is a complete snapshot on its own: a server on that folder alone loads it.
    const alone = await on([locs[1]]);
    const ra = client(alone);
    expect(await ra.get('k')).toBe('during');
    ra.disconnect();
  });

  it('catch-up checks what it copies: a source whose data was damaged is never committed at the lagging location', async () => {
    const locs = folders(2);
    const s = await on(locs, ['--snapshot_write_quorum=1']);
    const r = client(s);
    await r.set('k', 'v'.repeat(10000));
    const up = down(locs[1]);
    expect(await r.call('save')).toBe('OK');
    const newest = folderManifests(locs[0])[0];
    // One flipped byte in the middle of the data: the size is unchanged, so only a content check can tell.
    const file = path.join(locs[0], newest.dataName);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(file, bytes);
    up();
    await until(async () => /does not match its manifest|checksum|mismatch/.test(locationLine(await persistenceInfo(r), 1).last_error ?? ''), 'the catch-up to refuse the damaged copy', 20000);
    expect(folderManifests(locs[1]).some((m) => m.id === newest.id)).toBe(false);
    expect(locationLine(await persistenceInfo(r), 1).status).toBe('behind');
    r.disconnect();
  });

  it('DEBUG RELOAD with the primary down reads the snapshot back from the replica that committed it', async () => {
    const locs = folders(2);
    const s = await on(locs, ['--snapshot_write_quorum=1', '--enable-debug-command', 'yes']);
    const r = client(s);
    const up = down(locs[0]);
    await r.set('k', 'v');
    expect(await r.call('debug', 'reload')).toBe('OK');
    expect(await r.get('k')).toBe('v');
    expect(folderManifests(locs[1])).toHaveLength(1);
    up();
    r.disconnect();
  });

  it('quorum not met: BGSAVE fails, writes get MISCONF, and the next save after recovery clears it', async () => {
    const locs = folders(2);
    const s = await on(locs, ['--save', '3600 1']);
    const r = client(s);
    await r.set('k', 'v');
    const up = down(locs[1]);
    await r.call('bgsave');
    await until(async () => (await persistenceInfo(r)).rdb_last_bgsave_status === 'err', 'the background save to fail');
    await expect(r.set('k', 'w')).rejects.toThrow(/MISCONF/);
    expect(s.logs.some((l) => /write quorum is 2/.test(String((l.err as { message?: string })?.message ?? '')))).toBe(true);
    up();
    expect(await r.call('save')).toBe('OK');
    expect(await r.set('k', 'w')).toBe('OK');
    r.disconnect();
  });
});

describe('boot across locations', () => {
  it('a dominating vector wins even with an older wall-clock time', async () => {
    const locs = folders(2);
    await saveOnce(locs, 'k', 'ancestor');
    await saveOnce(locs, 'k', 'descendant');
    const [older, newer] = [folderManifests(locs[0])[1], folderManifests(locs[0])[0]];
    // The descendant's writer had a clock an hour behind; the ancestor's an hour ahead.
    for (const d of locs) {
      editManifest(d, newer.id, { createdAt: Date.now() - 3600_000 });
      editManifest(d, older.id, { createdAt: Date.now() + 3600_000 });
    }
    const ls = await snapshotsCli(['ls', '--dir', locs[0], `--snapshot_replicas=${locs[1]}`]);
    expect(ls.stdout).toContain(`boot (--snapshot_strict, the default): loads ${newer.id}`);
    const s = await on(locs);
    const r = client(s);
    expect(await r.get('k')).toBe('descendant');
    expect((await persistenceInfo(r)).snapshot_boot_decision).toContain(`loaded ${newer.id}`);
    r.disconnect();
  });

  it('manifests from before vectors load by seq, and the next save dominates them', async () => {
    const locs = folders(2);
    await saveOnce(locs, 'k', 'one');
    await saveOnce(locs, 'k', 'two');
    for (const d of locs) for (const m of folderManifests(d)) editManifest(d, m.id, { vv: undefined, parent: undefined, writer: undefined });
    expect(folderManifests(locs[0]).every((m) => m.vv === undefined)).toBe(true);
    const s = await on(locs);
    const r = client(s);
    expect(await r.get('k')).toBe('two');
    await r.set('k', 'three');
    expect(await r.call('save')).toBe('OK');
    r.disconnect();
    await s.stop();
    const s2 = await on(locs);
    const r2 = client(s2);
    expect(await r2.get('k')).toBe('three');
    r2.disconnect();
  });

  it('a partition (A saved to location 1 only, B to location 2 only, same ancestor): strict refuses naming both; not strict picks one and starts fenced', async () => {
    const locs = folders(2);
    await saveOnce(locs, 'k', 'ancestor');
    await saveOnce([locs[0]], 'k', 'side-a', ['--server_id=server-a']);
    await saveOnce([locs[1]], 'k', 'side-b', ['--server_id=server-b']);
    const a = folderManifests(locs[0])[0];
    const b = folderManifests(locs[1])[0];
    expect(a.parent).toBe(b.parent);

    const ls = await snapshotsCli(['ls', '--dir', locs[0], `--snapshot_replicas=${locs[1]}`]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/boot \(--snapshot_strict, the default\): refuses to start: SPLIT BRAIN/);
    expect(ls.stdout).toMatch(/boot \(--nosnapshot_strict\): loads \S+, fenced \(split brain\)/);
    for (const m of [a, b]) expect(ls.stdout).toMatch(new RegExp(`${m.id} .*${m.writer!.replace('/', '\\/')} .*(CONCURRENT \\(split brain\\)|boot picks this)`));
    expect(ls.stdout).toMatch(new RegExp(`${a.parent} .*superseded`));

    const strict = await on(locs, [], { noWait: true });
    const { code, message } = await exitOf(strict);
    expect(code).not.toBe(0);
    expect(message).toMatch(/SPLIT BRAIN/);
    for (const x of [a.id, b.id, a.writer!, b.writer!, `file://${locs[0]}`, `file://${locs[1]}`, new Date(a.createdAt).toISOString()]) expect(message).toContain(x);

    const lenient = await on(locs, ['--nosnapshot_strict']);
    const r = client(lenient);
    const info = await persistenceInfo(r);
    expect(info.snapshot_split_brain).toBe('1');
    expect(info.snapshot_fenced).toBe('1');
    expect(info.snapshot_fence_cause).toMatch(/split brain/);
    // Equal vector sums: the newer one by time is the deterministic pick.
    const pick = b.createdAt >= a.createdAt ? b : a;
    expect(info.snapshot_boot_decision).toContain(`picked ${pick.id}`);
    expect(await r.get('k')).toBe(pick === a ? 'side-a' : 'side-b');
    await expect(r.call('save')).rejects.toThrow(/fenced/);
    expect(lenient.logs.some((l) => /SPLIT BRAIN/.test(l.msg) && l.level >= 50)).toBe(true);
    // The operator accepts the pick: the next snapshot dominates both sides, so the next boot is clean.
    await r.call('config', 'set', 'snapshot-fence', 'no');
    await until(async () => (await persistenceInfo(r)).snapshot_fenced === '0', 'the fence to come down');
    expect(await r.call('save')).toBe('OK');
    r.disconnect();
    await lenient.stop();
    const after = await on(locs);
    const ra = client(after);
    expect((await persistenceInfo(ra)).snapshot_split_brain).toBe('0');
    ra.disconnect();
  });

  it('two processes with the same --server_id saving concurrently from one ancestor are split brain', async () => {
    const locs = folders(2);
    await saveOnce(locs, 'k', 'ancestor', ['--server_id=web']);
    const blue = await on(locs, ['--server_id=web']);
    const green = await on(locs, ['--server_id=web']);
    const rb = client(blue);
    const rg = client(green);
    await rb.set('k', 'blue');
    await rg.set('k', 'green');
    expect(await rb.call('save')).toBe('OK');
    expect(await rg.call('save')).toBe('OK');
    rb.disconnect();
    rg.disconnect();
    const ms = folderManifests(locs[0]).slice(0, 2);
    expect(ms[0].writer).not.toBe(ms[1].writer);
    expect(ms.every((m) => m.writer!.startsWith('web/'))).toBe(true);
    const s = await on(locs, [], { noWait: true });
    const { code, message } = await exitOf(s);
    expect(code).not.toBe(0);
    expect(message).toMatch(/SPLIT BRAIN/);
    for (const m of ms) expect(message).toContain(m.id);
  });

  it('one location, two processes with one --server_id saving from the same ancestor: split brain too', async () => {
    const [dir] = folders(1);
    await saveOnce([dir], 'k', 'ancestor', ['--server_id=web']);
    const blue = await on([dir], ['--server_id=web']);
    const green = await on([dir], ['--server_id=web']);
    for (const [s, v] of [[blue, 'blue'], [green, 'green']] as const) {
      const r = client(s);
      await r.set('k', v);
      expect(await r.call('save')).toBe('OK');
      r.disconnect();
    }
    const [x, y] = folderManifests(dir);
    const strict = await on([dir], [], { noWait: true });
    const { code, message } = await exitOf(strict);
    expect(code).not.toBe(0);
    expect(message).toMatch(/SPLIT BRAIN/);
    expect(message).toContain(x.id);
    expect(message).toContain(y.id);
    const lenient = await on([dir], ['--nosnapshot_strict']);
    const r = client(lenient);
    const info = await persistenceInfo(r);
    expect(info.snapshot_split_brain).toBe('1');
    expect(info.snapshot_fenced).toBe('1');
    r.disconnect();
  });

  it('one location, not strict: the split-brain pick is the larger vector sum, not the newest seq', async () => {
    const [dir] = folders(1);
    await saveOnce([dir], 'k', 'ancestor', ['--server_id=web']);
    const blue = await on([dir], ['--server_id=web']);
    const green = await on([dir], ['--server_id=web']);
    const rg = client(green);
    await rg.set('k', 'green');
    expect(await rg.call('save')).toBe('OK');
    rg.disconnect();
    const greenM = folderManifests(dir).reduce((a, b) => (b.seq > a.seq ? b : a));
    const rb = client(blue);
    for (const v of ['blue1', 'blue2']) {
      await rb.set('k', v);
      expect(await rb.call('save')).toBe('OK');
    }
    rb.disconnect();
    const all = folderManifests(dir);
    const blueTop = all.reduce((a, b) => (b.seq > a.seq ? b : a));
    expect(blueTop.seq).toBeGreaterThan(greenM.seq);
    // Green's history gains weight from a writer blue never saw: still concurrent with blue, and the larger sum.
    editManifest(dir, greenM.id, { vv: { ...greenM.vv, 'ghost/000000000000': 5 } });
    const lenient = await on([dir], ['--nosnapshot_strict']);
    const r = client(lenient);
    expect(await r.get('k')).toBe('green');
    expect((await persistenceInfo(r)).snapshot_fenced).toBe('1');
    r.disconnect();
  });

  it('fewer locations readable than N - W + 1: not strict loads what it can and starts fenced', async () => {
    const locs = folders(3);
    await saveOnce(locs, 'k', 'v');
    const up1 = down(locs[1]);
    const up2 = down(locs[2]);
    // A folder that is not there is "bucket missing": fatal under strict, as with one location.
    const strict = await on(locs, ['--snapshot_load_timeout=0'], { noWait: true });
    const { code, message } = await exitOf(strict);
    expect(code).not.toBe(0);
    expect(message).toMatch(/does not exist/);
    // With W = 1 of 3, a successful save may be at any single location: all 3 must be read.
    const lenient = await on(locs, ['--snapshot_load_timeout=0', '--nosnapshot_strict', '--snapshot_write_quorum=1']);
    const r = client(lenient);
    expect(await r.get('k')).toBe('v');
    const info = await persistenceInfo(r);
    expect(info.snapshot_fenced).toBe('1');
    expect(info.snapshot_fence_cause).toMatch(/only 1 of 3 snapshot locations could be read, and 3 are needed/);
    expect(locationLine(info, 1).status).toBe('unread');
    r.disconnect();
    await lenient.stop();
    // With W = all (the default), any one location holds every successful save.
    const whole = await on(locs, ['--snapshot_load_timeout=0', '--nosnapshot_strict']);
    const rw = client(whole);
    expect((await persistenceInfo(rw)).snapshot_fenced).toBe('0');
    rw.disconnect();
    up1();
    up2();
  });
});

describe('retention across locations', () => {
  it('a tombstone goes once no location holds its snapshot and it is older than the orphan grace; not while a location is unread', async () => {
    const locs = folders(2);
    const s = await on(locs, ['--snapshot_keep=1', '--snapshot_orphan_grace=300ms', '--snapshot_write_quorum=1']);
    const r = client(s);
    await r.set('k', '1');
    expect(await r.call('save')).toBe('OK');
    const first = folderManifests(locs[0])[0].id;
    await r.set('k', '2');
    expect(await r.call('save')).toBe('OK');
    // Just retired: younger than the grace, so its tombstone stays at both.
    await until(async () => folderTombstones(locs[0]).includes(first) && folderTombstones(locs[1]).includes(first), 'the tombstones of the first snapshot');
    const older = Date.now() + 400;
    await until(async () => Date.now() > older, 'the grace to pass', 2000);
    // A location that cannot be read: no tombstone may go (it might hold a copy).
    const second = folderManifests(locs[0])[0].id;
    const up = down(locs[1]);
    await r.set('k', '3');
    expect(await r.call('save')).toBe('OK');
    await until(async () => folderTombstones(locs[0]).includes(second), 'the retention pass of the third save');
    expect(folderTombstones(locs[0])).toContain(first);
    up();
    await r.set('k', '4');
    expect(await r.call('save')).toBe('OK');
    await until(async () => !folderTombstones(locs[0]).includes(first) && !folderTombstones(locs[1]).includes(first), 'the spent tombstone to be removed everywhere');
    expect(folderManifests(locs[0]).map((m) => m.id)).not.toContain(first);
    r.disconnect();
  });

  it('a location that lagged behind a retention pass does not bring the deleted snapshots back', async () => {
    const locs = folders(2);
    const s = await on(locs, ['--snapshot_write_quorum=1', '--snapshot_keep=2']);
    const r = client(s);
    for (const v of ['1', '2']) {
      await r.set('k', v);
      expect(await r.call('save')).toBe('OK');
    }
    const early = folderManifests(locs[1]).map((m) => m.id);
    expect(early).toHaveLength(2);
    const up = down(locs[1]);
    for (const v of ['3', '4']) {
      await r.set('k', v);
      expect(await r.call('save')).toBe('OK');
    }
    await until(async () => folderManifests(locs[0]).length === 2 && folderTombstones(locs[0]).length === 2, 'retention at the reachable location');
    expect(folderTombstones(locs[0]).sort()).toEqual([...early].sort());
    up();
    // Back: the lagging folder still holds the two deleted snapshots until the next pass.
    expect(folderManifests(locs[1]).map((m) => m.id).sort()).toEqual([...early].sort());
    const ls = await snapshotsCli(['ls', '--dir', locs[0], `--snapshot_replicas=${locs[1]}`]);
    for (const id of early) expect(ls.stdout).toMatch(new RegExp(`${id} .*TOMBSTONED`));
    await r.set('k', '5');
    expect(await r.call('save')).toBe('OK');
    await until(async () => !folderManifests(locs[1]).some((m) => early.includes(m.id)), 'the retired snapshots to leave the lagging location');
    expect(folderTombstones(locs[1]).sort()).toEqual(expect.arrayContaining([...early].sort()));
    r.disconnect();
    await s.stop();
    const s2 = await on(locs);
    const r2 = client(s2);
    expect(await r2.get('k')).toBe('5');
    r2.disconnect();
  });
});

describe('operator CLI', () => {
  it('rm removes a snapshot at every location, tombstoned at each first; gc collects orphans at every location', async () => {
    const locs = folders(2);
    await saveOnce(locs, 'k', 'v1');
    await saveOnce(locs, 'k', 'v2');
    const [newest, oldest] = folderManifests(locs[1]);
    const flags = ['--dir', locs[0], `--snapshot_replicas=${locs[1]}`];
    const rm = await snapshotsCli(['rm', newest.id, ...flags]);
    expect(rm.code, rm.stderr).toBe(0);
    for (const d of locs) {
      expect(folderManifests(d).map((m) => m.id)).toEqual([oldest.id]);
      expect(folderTombstones(d)).toEqual([newest.id]);
    }
    // A dead writer's data object at the replica only: gc there, not just at --dir.
    const orphan = path.join(locs[1], `${oldest.id.replace(/-\d+$/, '')}-000099.aaaaaaaaaaaa.dfs`);
    writeFileSync(orphan, 'x'.repeat(100));
    const longAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(orphan, longAgo, longAgo);
    const gc = await snapshotsCli(['gc', ...flags, '--snapshot_orphan_grace', '1h']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain(`file://${locs[1]}:`);
    expect(existsSync(orphan)).toBe(false);
    // What is left loads.
    const s = await on(locs);
    const r = client(s);
    expect(await r.get('k')).toBe('v1');
    r.disconnect();
  });

  it('verify reads every copy and names a damaged one; copy repairs a location from another', async () => {
    const locs = folders(2);
    await saveOnce(locs, 'k', 'v');
    const m = folderManifests(locs[1])[0];
    const ok = await snapshotsCli(['verify', '--dir', locs[0], `--snapshot_replicas=${locs[1]}`]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/2 copies checked, 0 problem/);
    // One flipped byte in the replica's copy.
    const data = path.join(locs[1], m.dataName);
    const buf = readFileSync(data);
    buf[buf.length >> 1] ^= 0xff;
    writeFileSync(data, buf);
    const bad = await snapshotsCli(['verify', '--dir', locs[0], `--snapshot_replicas=${locs[1]}`]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`FAIL \\[1\\] file://${locs[1]} ${m.id}`));
    expect(bad.stdout).toMatch(new RegExp(`OK +\\[0\\] file://${locs[0]} ${m.id}`));
    const fresh = folders(1)[0];
    mkdirSync(fresh);
    const cp = await snapshotsCli(['copy', locs[0], fresh]);
    expect(cp.code).toBe(0);
    expect(cp.stdout).toContain(`copied ${m.id}`);
    const s = await on([fresh]);
    const r = client(s);
    expect(await r.get('k')).toBe('v');
    r.disconnect();
  });
});
