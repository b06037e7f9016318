/** The scripts bench/scripting.mjs and bench/scripting-ab.mjs run under EVALSHA, and the BullMQ Worker run. */
import { cpuSeconds } from './servers.mjs';

export const RATE_LIMITER = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], 60000) end
return n
`;

/** BullMQ's moveToFinished: its functions as they are, its body behind a branch this bench never takes, then the rate limiter. */
export async function bullmqSized() {
  const mod = await import('bullmq/dist/esm/scripts/moveToFinished-14.js');
  const src = Object.values(mod)[0].content;
  const lines = src.split('\n');
  let lastFn = 0;
  lines.forEach((l, i) => {
    if (/^local function /.test(l)) lastFn = i;
  });
  let end = lastFn;
  while (lines[end] !== 'end') end++;
  const preamble = lines.slice(0, end + 1).join('\n');
  const body = lines.slice(end + 1).join('\n');
  return `${preamble}\nif KEYS[2] ~= nil then\n${body}\nend\n${RATE_LIMITER}`;
}

/** Jobs/s of one Worker (concurrency 50, trivial processor) over JOBS jobs added beforehand. */
export async function bullmqWorker(srv, JOBS) {
  const port = srv.port;
  const { Queue, Worker } = await import('bullmq');
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const q = new Queue('bench', { connection });
  for (let i = 0; i < JOBS; i += 500) {
    await q.addBulk(Array.from({ length: Math.min(500, JOBS - i) }, (_, k) => ({ name: 'job', data: { i: i + k, payload: 'x'.repeat(100) } })));
  }
  let done = 0;
  let t0 = 0;
  const cpu0 = cpuSeconds(srv.pid);
  const finished = new Promise((resolve) => {
    const w = new Worker('bench', async (job) => job.data.i, { connection, concurrency: 50, autorun: false });
    w.on('completed', () => {
      if (++done === JOBS) resolve(w);
    });
    w.on('error', () => {});
    t0 = performance.now();
    w.run();
  });
  const w = await finished;
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(srv.pid) - cpu0;
  await w.close();
  await q.obliterate({ force: true });
  await q.close();
  return { ops: JOBS / secs, perCpu: JOBS / cpu };
}

