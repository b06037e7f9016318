/**
 * LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR / HISTOGRAM / HELP
 * (latency.c). Events come from src/server/latency-monitor.ts, per-command
 * histograms from the dispatcher's command stats.
 */
import { replyHelp } from './help.js';
import { register } from './registry.js';
import { cmd, NO_KEYS, type CommandSpec, type CmdOptions } from './spec.js';
import { ReplyError } from '../protocol/errors.js';
import { lookup, lookupSub } from './registry.js';

import { commandStats, type CommandStats } from '../server/dispatch.js';
import { eventHistory, eventNames, eventSeries, latencySettings, latestEvents, resetEvents } from '../server/latency-monitor.js';
import { slowlogSettings } from '../server/slowlog.js';
import type { CommandContext } from '../server/context.js';
import type { Reply } from '../protocol/reply.js';
import { registerInfoSection, type InfoFields } from '../server/info.js';
import { latencyTracking } from '../server/latency-histogram.js';
import { formatPercentile } from '../server/latency-params.js';

const G = { group: 'server' as const, since: '2.8.13' };
const ADMIN = 'admin noscript loading stale';

function replyCdf(r: Reply, s: CommandStats): void {
  r.map(2);
  r.bulk('calls');
  r.int(s.hist!.total);
  r.bulk('histogram_usec');
  const cdf = s.hist!.cdf();
  r.map(cdf.length);
  for (const [us, n] of cdf) {
    r.int(us);
    r.int(n);
  }
}

function histogram(ctx: CommandContext, args: string[]): void {
  const stats = commandStats();
  const picked: [string, CommandStats][] = [];
  const add = (name: string) => {
    const s = stats.get(name);
    if (s?.hist) picked.push([name, s]);
  };
  if (args.length === 2) {
    for (const [name, s] of stats) if (s.hist) picked.push([name, s]);
  } else {
    for (let i = 2; i < args.length; i++) {
      const [top, sub] = args[i].toLowerCase().split('|', 2);
      const spec = lookup(top);
      if (spec === undefined) continue;
      if (sub !== undefined) {
        const s = lookupSub(spec, sub);
        if (s !== undefined) add(s.name);
        continue;
      }
      add(spec.name);
      for (const s of spec.subcommands ?? []) add(s.name);
    }
  }
  ctx.r.map(picked.length);
  for (const [name, s] of picked) {
    ctx.r.bulk(name);
    replyCdf(ctx.r, s);
  }
}

/** analyzeLatencyForEvent: count, average, mean absolute deviation and period of the samples. */
function analyze(event: string) {
  const s = eventSeries(event)!;
  const n = s.latencies.length;
  const avg = s.latencies.reduce((a, b) => a + b, 0) / n;
  const mad = s.latencies.reduce((a, b) => a + Math.abs(b - avg), 0) / n;
  const period = n > 1 ? s.times[n - 1] - s.times[0] : 0;
  return { n, avg, mad, period, max: s.max };
}

function doctor(): string {
  const names = eventNames();
  if (names.length === 0 && latencySettings.thresholdMs === 0) {
    return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
  }
  if (names.length === 0) {
    return 'Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n';
  }
  let out = "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n";
  const advice: string[] = [];
  names.forEach((e, i) => {
    const a = analyze(e);
    out += `${i + 1}. ${e}: ${a.n} latency spikes (average ${Math.floor(a.avg)}ms, mean deviation ${Math.floor(a.mad)}ms, period ${(a.period / a.n).toFixed(2)} sec). Worst all time event ${a.max}ms.\n`;
    if (e === 'command') {
      if (slowlogSettings.slowerThan < 0) advice.push('- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  - Enable the slowlog to see which commands are slow: CONFIG SET slowlog-log-slower-than <microseconds>.');
      advice.push('- Check your slowlog to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.');
      advice.push('- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.');
    } else if (e === 'fast-command') {
      advice.push('- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  - Verify that the machine is not overcommitted (other processes competing for the CPU).');
    } else if (e === 'expire-cycle' || e === 'eviction-cycle') {
      advice.push('- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.');
    }
  });
  out += '\nI have a few advices for you:\n\n';
  out += [...new Set(advice)].join('\n') + '\n';
  return out;
}

/** latencyCommandGenSparkeline, in words: the event's samples, oldest first, as bars of '#'. */
function graph(event: string): string {
  const s = eventSeries(event);
  if (s === undefined) throw new ReplyError(`ERR No samples available for event '${event}'`);
  const max = Math.max(...s.latencies);
  const min = Math.min(...s.latencies);
  const now = Math.floor(Date.now() / 1000);
  let out = `${event} - high ${max} ms, low ${min} ms (all time high ${s.max} ms)\n`;
  out += '-'.repeat(80) + '\n';
  s.times.forEach((t, i) => {
    const bar = '#'.repeat(Math.max(1, Math.round((s.latencies[i] / Math.max(1, max)) * 40)));
    out += `${String(now - t).padStart(6)}s ago ${String(s.latencies[i]).padStart(6)} ms ${bar}\n`;
  });
  return out;
}

// INFO latencystats: each command's configured percentiles, in microseconds (not in the default INFO).
registerInfoSection(
  'latencystats',
  'Latencystats',
  () => {
    const out: InfoFields = [];
    if (!latencyTracking.on) return out;
    for (const [name, s] of commandStats()) {
      if (s.hist === null) continue;
      const ps = latencyTracking.percentiles.map((p) => `p${formatPercentile(p)}=${(s.hist!.valueAt(p) / 1000).toFixed(3)}`);
      out.push([`latency_percentiles_usec_${name}`, ps.join(',')]);
    }
    return out;
  },
  false,
);

/** Redis 7.0's COMMAND DOCS for these entries. */
const DOCS: Record<string, Partial<CmdOptions>> = {
  latest: { complexity: 'O(1)' },
  history: { complexity: 'O(1)' },
  reset: { complexity: 'O(1)' },
  graph: { complexity: 'O(1)' },
  doctor: { complexity: 'O(1)' },
  histogram: { complexity: 'O(N) where N is the number of commands with latency information being retrieved.' },
  help: { complexity: 'O(1)' },
};

const sub = (name: string, arity: number, flags: string, summary: string, handler: CommandSpec['handler'], extra: Record<string, unknown> = {}) =>
  cmd(`latency|${name}`, arity, flags, NO_KEYS, flags.includes('admin') ? 'admin slow dangerous' : 'slow', { ...G, summary, ...extra, ...DOCS[name] }, handler);

/** Redis's tips for the LATENCY reports: per-node answers a cluster client must not merge. */
const REPORT = ['nondeterministic_output', 'request_policy:all_nodes', 'response_policy:special'];

register({
  ...cmd('latency', -2, '', NO_KEYS, 'slow', { ...G, summary: 'A container for latency diagnostics commands', complexity: 'Depends on subcommand.' }),
  subcommands: [
    sub('latest', 2, ADMIN, 'Return the latest latency samples for all events.', (ctx) => {
      const es = latestEvents();
      ctx.r.array(es.length);
      for (const [name, time, latency, max] of es) {
        ctx.r.array(4);
        ctx.r.bulk(name);
        ctx.r.int(time);
        ctx.r.int(latency);
        ctx.r.int(max);
      }
    }, { tips: REPORT }),
    sub('history', 3, ADMIN, 'Return timestamp-latency samples for the event.', (ctx, args) => {
      const h = eventHistory(args[2]);
      ctx.r.array(h.length);
      for (const [t, l] of h) {
        ctx.r.array(2);
        ctx.r.int(t);
        ctx.r.int(l);
      }
    }, { tips: REPORT }),
    sub('reset', -2, ADMIN, 'Reset latency data for one or more events.', (ctx, args) => ctx.r.int(resetEvents(args.slice(2))), { tips: ['request_policy:all_nodes', 'response_policy:all_succeeded'] }),
    sub('graph', 3, ADMIN, 'Return a latency graph for the event.', (ctx, args) => ctx.r.verbatim(graph(args[2])), { tips: REPORT }),
    sub('doctor', 2, ADMIN, 'Return a human readable latency analysis report.', (ctx) => ctx.r.verbatim(doctor()), { tips: REPORT }),
    sub('histogram', -2, ADMIN, 'Return the cumulative distribution of latencies of a subset of commands or all.', histogram, { since: '7.0.0', tips: REPORT }),
    sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands.', (ctx) =>
      replyHelp(ctx.r, 'LATENCY', [
        'DOCTOR',
        '    Return a human readable latency analysis report.',
        'GRAPH <event>',
        '    Return an ASCII latency graph for the <event> class.',
        'HISTORY <event>',
        '    Return time-latency samples for the <event> class.',
        'LATEST',
        '    Return the latest latency samples for all events.',
        'RESET [<event> ...]',
        '    Reset latency data of one or more <event> classes.',
        '    (default: reset all data for all event classes)',
        'HISTOGRAM [COMMAND ...]',
        '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
        '    If no commands are specified then all histograms are replied.',
      ]), { since: '2.8.13' }),
  ],
});
