/**
 * A bounded network fuzz run (the long one is bench/net-fuzz.mjs): 50
 * connections send mutated RESP frames mixed with valid commands. The
 * server must stay up, answer PING on fresh connections throughout, close
 * a connection only after Redis's protocol error text, and keep its RSS
 * bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';
import { MB, rss } from './helpers/memory.js';
// @ts-expect-error: a plain .mjs module shared with the bench, no type declarations
import { runNetFuzz } from '../bench/net-fuzz-core.mjs';

let srv: TestServer;
beforeAll(async () => {
  // A temporary --dir (the helper's) and an evicting maxmemory: fuzzed writes cannot grow without bound.
  srv = await startServer(['--save', '', '--maxmemory', '128mb', '--maxmemory-policy', 'allkeys-lru']);
});
afterAll(async () => {
  await srv?.stop();
});

describe('network fuzz', () => {
  it('50 connections of mutated frames: the server stays up, answers PING, closes only with protocol errors, RSS bounded', async () => {
    const base = rss(srv.pid);
    const st = await runNetFuzz({ port: srv.port, pid: srv.pid, connections: 50, frames: 60_000, seconds: 40, seed: 16 });
    console.log(
      `net fuzz: ${st.framesSent} frames in ${st.seconds.toFixed(1)} s, ${st.protocolErrorCloses} protocol-error closes, ${st.cut} cut, ${st.stalls} stalls, ` +
        `RSS ${(base / MB).toFixed(0)} -> peak ${(st.peakRssKiB / 1024).toFixed(0)} MiB, slowest PING ${st.maxPingMs.toFixed(0)} ms; ` +
        [...st.errorKinds].map(([k, n]) => `${k}: ${n}`).join(', '),
    );
    expect(st.problems).toEqual([]);
    expect(st.framesSent).toBeGreaterThanOrEqual(20_000);
    expect(st.pings).toBeGreaterThan(0);
    // The run did reach the error paths, several of them.
    expect(st.protocolErrorCloses).toBeGreaterThan(50);
    expect(st.errorKinds.size).toBeGreaterThanOrEqual(4);
    expect(st.otherCloses).toBe(0);
    expect(st.peakRssKiB * 1024 - base).toBeLessThan(300 * MB);
    expect(srv.proc.exitCode).toBe(null);
    expect(srv.logs.filter((l) => l.level >= 50)).toEqual([]);
    // No connection was closed for its output (heap guard, output limits) or its input size: only protocol errors.
    expect(srv.logs.filter((l) => /closed ASAP|max query buffer/.test(l.msg))).toEqual([]);
  }, 90_000);
});
