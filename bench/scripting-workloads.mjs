/** The scripts bench/scripting.mjs and bench/scripting-ab.mjs run under EVALSHA. */

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
