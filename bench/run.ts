/**
 * `npm run bench`: Triage's core figures with BullMQ on the local Redis as the reference column,
 * measured in the same run. Prints a table and one JSON line.
 *
 *   --quick        smaller sizes (a smoke run, not for quoting)
 *   --only=a,b     run only these sections (a throughput, b qos, c timers, d memory)
 *   --no-bullmq    skip the reference column
 * REDIS_URL (default redis://127.0.0.1:6379) is where BullMQ runs.
 */
import { cpus, totalmem } from 'node:os';
import { bullmqQos, bullmqThroughput, bullmqTimers } from './bullmq.ts';
import { median, round } from './stats.ts';
import { triageMemory, triageQos, triageThroughput, triageTimers } from './triage.ts';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const withBullmq = !args.has('--no-bullmq');
const only = [...args].find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const runs = (section: string) => !only || only.includes(section);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const sizes = quick
  ? { payloads: 20_000, bullJobs: 5_000, runs: 3, high: 100, flood: 4_000, timers: 10_000, spread: 1_000, queued: 100_000 }
  : { payloads: 200_000, bullJobs: 20_000, runs: 3, high: 500, flood: 20_000, timers: 100_000, spread: 5_000, queued: 1_000_000 };

type Row = { measure: string; triage: number; bullmq: number | undefined; target: string; met: boolean };
const rows: Row[] = [];
const result: Record<string, unknown> = { machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: round(totalmem() / 2 ** 30, 1), node: process.version } };
const log = (line: string) => process.stderr.write(`${line}\n`);

if (runs('a')) {
  const triage: number[] = [];
  const bull: number[] = [];
  for (let i = 0; i < sizes.runs; i++) {
    triage.push(await triageThroughput({ payloads: sizes.payloads, partitions: 16, concurrency: 100, chunk: 1_000 }));
    log(`a: triage run ${i + 1}: ${Math.round(triage.at(-1) as number)} payloads/s`);
    if (withBullmq) {
      bull.push(await bullmqThroughput({ redisUrl, jobs: sizes.bullJobs, concurrency: 100 }));
      log(`a: bullmq run ${i + 1}: ${Math.round(bull.at(-1) as number)} jobs/s`);
    }
  }
  const t = median(triage);
  rows.push({ measure: '(a) no-op submit→complete, payloads/s (median)', triage: Math.round(t), bullmq: withBullmq ? Math.round(median(bull)) : undefined, target: '≥ 100,000', met: t >= 100_000 });
  result.throughput = { triage: triage.map(Math.round), bullmq: bull.map(Math.round), runs: sizes.runs };
}

if (runs('b')) {
  const qosOpts = { highJobs: sizes.high, gapMs: 5, floodJobs: sizes.flood, floodJobMs: 2, concurrency: 10 };
  const t = await triageQos(qosOpts);
  log(`b: triage ${JSON.stringify(t)}`);
  const b = withBullmq ? await bullmqQos({ redisUrl, ...qosOpts }) : undefined;
  if (b) log(`b: bullmq ${JSON.stringify(b)}`);
  const ratio = t.floodP99 / t.aloneP99;
  rows.push({ measure: '(b) high wait p50 alone, ms', triage: round(t.aloneP50), bullmq: b && round(b.aloneP50), target: '', met: true });
  rows.push({ measure: '(b) high wait p99 alone, ms', triage: round(t.aloneP99), bullmq: b && round(b.aloneP99), target: '', met: true });
  rows.push({ measure: '(b) high wait p50 during flood, ms', triage: round(t.floodP50), bullmq: b && round(b.floodP50), target: '', met: true });
  rows.push({ measure: '(b) high wait p99 during flood, ms', triage: round(t.floodP99), bullmq: b && round(b.floodP99), target: `≤ 1.5 × alone (${round(ratio)}×)`, met: ratio <= 1.5 });
  result.qos = { triage: t, bullmq: b, floodOverAloneP99: round(ratio) };
}

if (runs('c')) {
  const t = await triageTimers({ timers: sizes.timers, spreadMs: sizes.spread, concurrency: 100 });
  log(`c: triage ${JSON.stringify(t)}`);
  const b = withBullmq ? await bullmqTimers({ redisUrl, timers: sizes.timers, spreadMs: sizes.spread }) : undefined;
  if (b) log(`c: bullmq ${JSON.stringify(b)}`);
  rows.push({ measure: '(c) timer lateness p50, ms', triage: round(t.p50), bullmq: b && round(b.p50), target: '', met: true });
  rows.push({ measure: '(c) timer lateness p99, ms', triage: round(t.p99), bullmq: b && round(b.p99), target: '≤ 5', met: t.p99 <= 5 });
  result.timers = { triage: t, bullmq: b };
}

if (runs('d')) {
  const bytes = await triageMemory({ queued: sizes.queued });
  log(`d: ${round(bytes)} bytes per queued payload`);
  rows.push({ measure: `(d) heap bytes per queued payload (${sizes.queued.toLocaleString('en')} queued)`, triage: Math.round(bytes), bullmq: undefined, target: '≤ 400', met: bytes <= 400 });
  result.memory = { bytesPerQueued: round(bytes), queued: sizes.queued };
}

const cell = (v: number | undefined) => (v === undefined ? '—' : v.toLocaleString('en'));
const header = '| measure | Triage | BullMQ 6.7 | target | met |';
console.log([header, '|---|---:|---:|---|---|', ...rows.map((r) => `| ${r.measure} | ${cell(r.triage)} | ${cell(r.bullmq)} | ${r.target} | ${r.target ? (r.met ? 'yes' : 'no') : ''} |`)].join('\n'));
console.log(JSON.stringify({ bench: 'core', quick, ...result, rows }));
process.exit(0);
