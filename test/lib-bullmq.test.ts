/**
 * BullMQ, unchanged, against the server: every BullMQ operation is a Lua
 * script (EVALSHA with cmsgpack/cjson, 64-bit arithmetic, streams for
 * events), so this is the scripting engine under a real job queue. Jobs
 * added, delayed, retried with backoff, failed for good, processed by a
 * Worker with concurrency, produced by a job scheduler, and observed through
 * QueueEvents.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker, type Job, type Processor } from 'bullmq';
import { startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let connection: { host: string; port: number; maxRetriesPerRequest: null };
beforeAll(async () => {
  srv = await startServer();
  connection = { host: '127.0.0.1', port: srv.port, maxRetriesPerRequest: null };
});
afterAll(async () => {
  await srv?.stop();
});

/** What a test opened, closed after it whatever happened. */
let open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(open.reverse().map((x) => x.close()));
  open = [];
});

let queues = 0;
function queue(): { q: Queue; name: string } {
  const name = `q${++queues}`;
  const q = new Queue(name, { connection });
  open.push(q);
  return { q, name };
}
function worker(name: string, fn: Processor, concurrency = 1): Worker {
  const w = new Worker(name, fn, { connection, concurrency });
  w.on('error', () => {}); // connection noise at close; failures show as job states
  open.push(w);
  return w;
}
async function events(name: string): Promise<QueueEvents> {
  const ev = new QueueEvents(name, { connection });
  open.push(ev);
  await ev.waitUntilReady();
  return ev;
}

/** Resolves once `n` jobs completed on w (rejects after ms). */
function completions(w: Worker, n: number, ms = 15000): Promise<Job[]> {
  return new Promise((resolve, reject) => {
    const done: Job[] = [];
    const t = setTimeout(() => reject(new Error(`only ${done.length} of ${n} jobs completed`)), ms);
    w.on('completed', (job) => {
      done.push(job);
      if (done.length === n) {
        clearTimeout(t);
        resolve(done);
      }
    });
  });
}

describe('BullMQ', () => {
  it('adds a job that a Worker processes; QueueEvents reports it completed with its return value', async () => {
    const { q, name } = queue();
    const ev = await events(name);
    const job = await q.add('greet', { who: 'world', bytes: 'caf\u00e9 \u0000 end' });
    expect(await job.getState()).toBe('waiting');
    const finished = job.waitUntilFinished(ev, 15000);
    const completedEvent = new Promise<{ jobId: string; returnvalue: unknown }>((resolve) => ev.on('completed', resolve));
    worker(name, async (j) => `hello ${j.data.who} ${j.data.bytes.length}`);
    expect(await finished).toBe('hello world 10');
    expect(await completedEvent).toMatchObject({ jobId: job.id, returnvalue: 'hello world 10' });
    const stored = (await q.getJob(job.id!))!;
    expect(await stored.getState()).toBe('completed');
    expect(stored.returnvalue).toBe('hello world 10');
    expect(stored.attemptsMade).toBe(1);
    expect(await q.getJobCounts('completed', 'waiting', 'active')).toEqual({ completed: 1, waiting: 0, active: 0 });
  });

  it('holds a delayed job until its time', async () => {
    const { q, name } = queue();
    const w = worker(name, async (j) => j.data.n);
    const done = completions(w, 1);
    // Long enough that a slow first add (a fresh Lua state, a loaded machine) is still inside it.
    const job = await q.add('later', { n: 7 }, { delay: 1500 });
    expect(await job.getState()).toBe('delayed');
    const [j] = await done;
    expect(j.returnvalue).toBe(7);
    expect(j.processedOn! - j.timestamp).toBeGreaterThanOrEqual(1500);
  });

  it('retries a failing job with exponential backoff until it succeeds', async () => {
    const { q, name } = queue();
    const tries: number[] = [];
    const w = worker(name, async (j) => {
      tries.push(Date.now());
      if (j.attemptsMade < 2) throw new Error(`attempt ${j.attemptsMade} fails`);
      return 'third time';
    });
    const done = completions(w, 1);
    await q.add('flaky', {}, { attempts: 3, backoff: { type: 'exponential', delay: 100 } });
    const [j] = await done;
    expect(j.returnvalue).toBe('third time');
    expect(j.attemptsMade).toBe(3);
    expect(tries).toHaveLength(3);
    // Exponential: 100 ms before the second try, 200 ms before the third.
    expect(tries[1] - tries[0]).toBeGreaterThanOrEqual(90);
    expect(tries[2] - tries[1]).toBeGreaterThanOrEqual(190);
  });

  it('fails a job for good once its attempts are spent, and QueueEvents reports why', async () => {
    const { q, name } = queue();
    const ev = await events(name);
    const failed = new Promise<{ jobId: string; failedReason: string }>((resolve) => ev.on('failed', resolve));
    worker(name, async () => {
      throw new Error('always broken');
    });
    const job = await q.add('doomed', {}, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
    const e = await failed;
    expect(e).toMatchObject({ jobId: job.id, failedReason: 'always broken' });
    const stored = (await q.getJob(job.id!))!;
    expect(await stored.getState()).toBe('failed');
    expect(stored.attemptsMade).toBe(2);
  });

  it('processes a bulk of jobs with concurrency, each exactly once', async () => {
    const { q, name } = queue();
    let running = 0;
    let maxRunning = 0;
    const w = worker(
      name,
      async (j) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return j.data.i * 2;
      },
      5,
    );
    const done = completions(w, 40);
    // From 1: BullMQ stores a return value of 0 as "" (on Redis too).
    await q.addBulk(Array.from({ length: 40 }, (_, i) => ({ name: 'bulk', data: { i: i + 1 } })));
    const jobs = await done;
    expect(jobs.map((j) => j.data.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(jobs.every((j) => j.returnvalue === j.data.i * 2)).toBe(true);
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(5);
  });

  it('a job scheduler produces jobs on its interval until removed', async () => {
    const { q, name } = queue();
    const w = worker(name, async (j) => j.data.tick);
    const done = completions(w, 3);
    await q.upsertJobScheduler('every-150', { every: 150 }, { name: 'tick', data: { tick: 'tock' } });
    const jobs = await done;
    expect(jobs.every((j) => j.name === 'tick' && j.returnvalue === 'tock')).toBe(true);
    const scheds = await q.getJobSchedulers();
    expect(scheds).toHaveLength(1);
    expect(scheds[0]).toMatchObject({ key: 'every-150', every: 150, name: 'tick' });
    expect(scheds[0].iterationCount).toBeGreaterThanOrEqual(3);
    expect(await q.removeJobScheduler('every-150')).toBe(true);
    expect(await q.getJobSchedulers()).toEqual([]);
  });

  it('a repeatable job with a cron pattern is scheduled for the next matching time', async () => {
    const { q } = queue();
    await q.upsertJobScheduler('nightly', { pattern: '0 3 * * *', tz: 'UTC' }, { name: 'cron', data: {} });
    const [s] = await q.getJobSchedulers();
    expect(s.pattern).toBe('0 3 * * *');
    const next = new Date(s.next!);
    expect(next.getUTCHours()).toBe(3);
    expect(next.getUTCMinutes()).toBe(0);
    expect(s.next! - Date.now()).toBeGreaterThan(0);
    expect(s.next! - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000);
    const delayed = await q.getDelayed();
    expect(delayed.map((j) => j.name)).toEqual(['cron']);
  });
});
