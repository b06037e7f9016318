/**
 * Server CPU per EVALSHA of scripts using the Lua 5.1 string/table functions
 * (src/scripting/libs/lua51-*.ts): two builds side by side, rounds
 * interleaved (A B, B A, ...), CPU read from /proc/<server pid>/stat; prints
 * the median us per call of each and B/A, then every round's value.
 *
 *   REPS=1000 nice -n 19 node bench/lua51-libs-cpu.mjs <A dist/main.js> <B dist/main.js> [rounds]
 */
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
const [A, B] = process.argv.slice(2, 4);
const ROUNDS = Number(process.argv[4] ?? 5);
const CLK = Number(execFileSync('getconf', ['CLK_TCK']).toString());
const SCRIPTS = {
  'sort 1000 numbers': `local t = {} for i = 1, 1000 do t[i] = (i * 7919) % 1000 end table.sort(t) return t[1]`,
  'sort 1000 numbers, comparator': `local t = {} for i = 1, 1000 do t[i] = (i * 7919) % 1000 end table.sort(t, function(a, b) return a > b end) return t[1]`,
  'sort 1000 strings': `local t = {} for i = 1, 1000 do t[i] = 'k' .. (i * 7919) % 1000 end table.sort(t) return t[1]`,
  'sort 1000 records by field': `local t = {} for i = 1, 1000 do t[i] = {k = (i * 7919) % 100} end table.sort(t, function(a, b) return a.k < b.k end) return t[1].k`,
  'build only (1000 numbers)': `local t = {} for i = 1, 1000 do t[i] = (i * 7919) % 1000 end return t[1]`,
  'gsub 10 KB, string repl': `local s = string.rep('hello world ', 850) local r, n = string.gsub(s, 'o', '0') return n`,
  'gsub 10 KB, %s+ -> _': `local s = string.rep('hello world ', 850) local r, n = string.gsub(s, '%s+', '_') return n`,
  'gsub 10 KB, %s* -> "" (empty matches)': `local s = string.rep('hello world ', 850) local r, n = string.gsub(s, '%s*', '') return n`,
  'gsub 10 KB, function repl': `local s = string.rep('hello world ', 850) local r, n = string.gsub(s, '%w+', function(w) return w end) return n`,
  'gsub 10 KB, table repl': `local s = string.rep('hello world ', 850) local r, n = string.gsub(s, '%w+', {hello = 'HI'}) return n`,
  '1000 small gsubs': `local s = 'bull:queue:123' local n = 0 for i = 1, 1000 do local r, k = string.gsub(s, ':', '_') n = n + k end return n`,
  '1000 small gsubs, %1': `local s = 'bull:queue:123' local n = 0 for i = 1, 1000 do local r, k = string.gsub(s, '(%w+)', '<%1>') n = n + k end return n`,
  '10 KB string build only': `local s = string.rep('hello world ', 850) return #s`,
  'gmatch split 10 KB': `local s = string.rep('ab,', 3400) local n = 0 for w in string.gmatch(s, '[^,]+') do n = n + 1 end return n`,
  'gmatch split 10 KB, [^,]* (empty matches)': `local s = string.rep('ab,', 3400) local n = 0 for w in string.gmatch(s, '[^,]*') do n = n + 1 end return n`,
  'BullMQ-like 1000 calls': `local n = 0 local t = {} for i = 1, 100 do table.insert(t, 'x' .. i) local a = string.sub('0:1234', 1, 2) local b = string.format('%06d', '123') local c = string.find('bull:q:1', ':', 1, true) local d = select('#', unpack({1, 2, 3})) n = n + #a + #b + c + d end return n`,
  'empty script': `return 1`,
};
function resp(...a) { return `*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join(''); }
async function start(main) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const p = spawn('nice', ['-n', '19', process.execPath, main, '--port', String(port), '--save', ''], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try { await call(port, ['PING']); break; } catch {}
  }
  // nice -> node launcher -> node server: the server is the leaf
  let pid = p.pid;
  await new Promise((r) => setTimeout(r, 300));
  for (;;) { try { const k = execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').map(Number)[0]; if (!k) break; pid = k; } catch { break; } }
  // the launcher and the server both: a SIGKILLed launcher does not take its server along
  return { port, pid, stop: () => { process.kill(pid, 'SIGTERM'); p.kill('SIGTERM'); } };
}
function cpu(pid) { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / CLK; }
function call(port, args, times = 1) {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let got = ''; let n = 0;
    c.on('error', reject);
    c.on('connect', () => c.write(resp(...args)));
    c.on('data', (d) => {
      got += d.toString('latin1');
      // one reply per line-ended simple reply (our scripts return integers)
      let i; while ((i = got.indexOf('\r\n')) >= 0) {
        const line = got.slice(0, i); got = got.slice(i + 2);
        if (line.startsWith('$')) { const len = Number(line.slice(1)); if (len >= 0) { got = got.slice(len + 2); } }
        if (line.startsWith('-')) { c.destroy(); reject(new Error(line)); return; }
        n++;
        if (n === times) { c.destroy(); resolve(line); return; }
        c.write(resp(...args));
      }
    });
  });
}
const servers = { A: await start(A), B: await start(B) };
const results = {};
for (const [name, body] of Object.entries(SCRIPTS)) {
  for (const k of ['A', 'B']) await call(servers[k].port, ['SCRIPT', 'LOAD', body]);
  const reps = Number(process.env.REPS ?? 500);
  results[name] = { A: [], B: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of r % 2 ? ['B', 'A'] : ['A', 'B']) {
      const s = servers[k];
      await call(s.port, ['EVALSHA', shaOf(body), '0'], 5); // warm up
      const c0 = cpu(s.pid);
      await call(s.port, ['EVALSHA', shaOf(body), '0'], reps);
      results[name][k].push(((cpu(s.pid) - c0) / reps) * 1e6);
    }
  }
  const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`${name.padEnd(40)} A ${med(results[name].A).toFixed(0).padStart(6)} us  B ${med(results[name].B).toFixed(0).padStart(6)} us  B/A ${(med(results[name].B) / med(results[name].A)).toFixed(2)}   [A ${results[name].A.map((x) => x.toFixed(0)).join(' ')}] [B ${results[name].B.map((x) => x.toFixed(0)).join(' ')}]`);
}
function shaOf(body) { return execFileSync('sha1sum', { input: body }).toString().split(' ')[0]; }
servers.A.stop(); servers.B.stop();
process.exit(0);
