/**
 * `npm run bench`: Triage's core figures with BullMQ on the local Redis as the reference column
 * (and p-queue in-process for (a)), measured in the same run. Prints a table and one JSON line.
 *
 *   --quick        smaller sizes (a smoke run, not for quoting)
 *   --only=a,b     run only these sections (a throughput against p-queue and BullMQ, b qos, c timers, d memory, s durable store, w workflows,
 *                  q coordination under 3× overload: the Triage column is the coordinator on, the BullMQ column off,
 *                  k cluster of node processes: throughput with 1, 2, 3 nodes, fail-over after SIGKILL,
 *                  r recurring schedules: lateness of 1,000 every-second schedules for 30 s, beside BullMQ job schedulers
 *                    ((c) and (r) run three times, quoting the run of median p99),
 *                  u a burst is not overload: 20,000 low payloads of 2 ms at once on the default runtime, skipped, degraded,
 *                    time to drain against the ideal, largest stall,
 *                  n clients sharing a tier: a noisy neighbour's flood against another client's trickle (beside BullMQ, one
 *                    queue), and three flooding clients weighted 3:2:1)
 *   --no-bullmq    skip the reference column
 * Each section runs in a process of its own (sections.ts); `--together` runs them in this one.
 * REDIS_URL (default redis://127.0.0.1:6379) is where BullMQ runs.
 */
import { cpus, totalmem } from 'node:os';
import { bullmqNoisyNeighbour, bullmqQos, bullmqThroughput, bullmqTimers } from './bullmq.ts';
import { pqueueThroughput } from './pqueue.ts';
import { median, medianRun, round, withStall } from './stats.ts';
import { triageMemory, triageQos, triageThroughput, triageTimers } from './triage.ts';
import { triageCoordination } from './coordination.ts';
import { workflowBench } from './workflows.ts';
import { snapshotAndRecovery, storeThroughput, submitLatency } from './durability.ts';
import { bullmqSchedules, triageScheduleCpu, triageSchedules, WARM_UP_MS } from './schedules.ts';
import { clusterFailover, clusterThroughput, throughputBound, type ClusterThroughput } from './cluster.ts';
import { triageBurst } from './burst.ts';
import { triageNoisyNeighbour, triageWeights } from './neighbours.ts';
import { runSection } from './sections.ts';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const withBullmq = !args.has('--no-bullmq');
const only = [...args].find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const runs = (section: string) => !only || only.includes(section);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const SECTIONS = ['a', 'b', 'c', 'd', 's', 'w', 'q', 'k', 'r', 'u', 'n'];
const wanted = SECTIONS.filter(runs);

const sizes = quick
  ? { payloads: 20_000, bullJobs: 5_000, runs: 3, high: 100, flood: 4_000, timers: 10_000, spread: 1_000, queued: 100_000 }
  : { payloads: 200_000, bullJobs: 20_000, runs: 3, high: 500, flood: 20_000, timers: 100_000, spread: 5_000, queued: 1_000_000 };

type Row = { measure: string; triage: number; bullmq: number | undefined; target: string; met: boolean };
const rows: Row[] = [];
// Node's own flags (V8's young generation size above all) move the stalls: a run says which it had.
const nodeFlags = [...process.execArgv.filter((flag) => flag.startsWith('--max-') || flag.startsWith('--min-')), ...(process.env.NODE_OPTIONS?.split(/\s+/).filter(Boolean) ?? [])];
const result: Record<string, unknown> = { machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: round(totalmem() / 2 ** 30, 1), node: process.version, nodeFlags } };
const log = (line: string) => process.stderr.write(`${line}\n`);

/** The largest event-loop stall seen in the Triage runs of (a), (b) and (c), ms. */
const stalls: Record<string, number> = {};
/** The most main-thread CPU time in one turn during the same runs (undefined off Linux). */
const busiestTurns: Record<string, number> = {};
const noteStall = (section: string, run: { stallMs: number; busiestTurnMs: number | undefined }) => {
  stalls[section] = Math.max(stalls[section] ?? 0, run.stallMs);
  if (run.busiestTurnMs !== undefined) busiestTurns[section] = Math.max(busiestTurns[section] ?? 0, run.busiestTurnMs);
};

if (wanted.length > 1 && !args.has('--together')) {
  const flags = [...args].filter((a) => !a.startsWith('--only='));
  const stolen: Record<string, number> = {};
  for (const section of wanted) {
    const { rows: sectionRows, result: sectionResult, stolen: share } = await runSection(section, flags);
    rows.push(...(sectionRows as Row[]));
    if (share !== undefined) stolen[section] = round(share * 100, 1);
    for (const [key, value] of Object.entries(sectionResult)) {
      // Stalls and busiest turns are per section: merged, the others are each one section's.
      const held = result[key];
      result[key] = held && typeof held === 'object' && value && typeof value === 'object' ? { ...held, ...value } : value;
    }
  }
  // On a shared VM the hypervisor's steal is what moves stalls and tails from run to run.
  if (Object.keys(stolen).length > 0) {
    result.stolenPercent = stolen;
    rows.push({ measure: `CPU time the hypervisor gave to others during each section, % of the machine's (${Object.entries(stolen).map(([k, v]) => `${k} ${v}`).join(' · ')})`, triage: Math.max(...Object.values(stolen)), bullmq: undefined, target: '', met: true });
  }
  printTable();
}

if (runs('a')) {
  // 200,000 no-op payloads, four priorities in turn, waves of 10,000 (submit, wait for completion), 50 at a time.
  const wave = 10_000;
  const triage: number[] = [];
  const pq: number[] = [];
  const bull: number[] = [];
  // One round of each column first, not counted in the rates: the first run in a process is ~25%
  // slower while V8 compiles the path (each column's own code and the producer's). Its stall counts.
  {
    const warm = await withStall((serving) => triageThroughput({ payloads: sizes.payloads, partitions: 16, concurrency: 50, batch: wave }, serving));
    noteStall('a', warm);
    const warmPq = await pqueueThroughput({ payloads: sizes.payloads, wave, concurrency: 50 });
    const warmBull = withBullmq ? await bullmqThroughput({ redisUrl, jobs: sizes.bullJobs, concurrency: 50, wave }) : undefined;
    log(`a: warm-up (not counted): triage ${Math.round(warm.value)} payloads/s (largest stall ${round(warm.stallMs)} ms, busiest turn ${round(warm.busiestTurnMs ?? Number.NaN)} ms of CPU), p-queue ${Math.round(warmPq)} tasks/s${warmBull === undefined ? '' : `, bullmq ${Math.round(warmBull)} jobs/s`}`);
  }
  for (let i = 0; i < sizes.runs; i++) {
    const run = await withStall((serving) => triageThroughput({ payloads: sizes.payloads, partitions: 16, concurrency: 50, batch: wave }, serving));
    triage.push(run.value);
    noteStall('a', run);
    pq.push(await pqueueThroughput({ payloads: sizes.payloads, wave, concurrency: 50 }));
    log(`a: run ${i + 1}: triage ${Math.round(run.value)} payloads/s (largest stall ${round(run.stallMs)} ms, busiest turn ${round(run.busiestTurnMs ?? Number.NaN)} ms of CPU), p-queue ${Math.round(pq.at(-1) as number)} tasks/s`);
    if (withBullmq) {
      bull.push(await bullmqThroughput({ redisUrl, jobs: sizes.bullJobs, concurrency: 50, wave }));
      log(`a: bullmq run ${i + 1}: ${Math.round(bull.at(-1) as number)} jobs/s`);
    }
  }
  const t = median(triage);
  const p = median(pq);
  const b = withBullmq ? median(bull) : undefined;
  rows.push({ measure: '(a) no-op submit→complete, payloads/s (median)', triage: Math.round(t), bullmq: b && Math.round(b), target: '', met: true });
  rows.push({ measure: '(a) p-queue 10, same producer, tasks/s (median)', triage: Math.round(p), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(a) Triage / p-queue', triage: round(t / p), bullmq: undefined, target: '≥ 1.0', met: t >= p });
  if (b !== undefined) rows.push({ measure: '(a) Triage / BullMQ', triage: round(t / b), bullmq: undefined, target: '≥ 25', met: t / b >= 25 });
  result.throughput = { triage: triage.map(Math.round), pqueue: pq.map(Math.round), bullmq: bull.map(Math.round), runs: sizes.runs, wave };
}

if (runs('b')) {
  const qosOpts = { highJobs: sizes.high, gapMs: 5, floodJobs: sizes.flood, floodJobMs: 2, concurrency: 10 };
  const measured = await withStall((serving) => triageQos(qosOpts, serving));
  const t = measured.value;
  noteStall('b', measured);
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
  // p99 of one run moves with the machine's other load: the run of median p99 of `sizes.runs` is quoted.
  const measuredRuns = [];
  for (let i = 0; i < sizes.runs; i++) {
    const measured = await withStall((serving) => triageTimers({ timers: sizes.timers, spreadMs: sizes.spread, leadMs: 1_000, concurrency: 100, graceMs: 10_000 }, serving));
    noteStall('c', measured);
    log(`c: triage run ${i + 1}: ${JSON.stringify(measured.value)}`);
    measuredRuns.push(measured.value);
  }
  const t = medianRun(measuredRuns, (run) => run.p99);
  const p99s = measuredRuns.map((run) => run.p99).join(', ');
  const b = withBullmq ? await bullmqTimers({ redisUrl, timers: sizes.timers, spreadMs: sizes.spread }) : undefined;
  if (b) log(`c: bullmq ${JSON.stringify(b)}`);
  const early = Math.max(...measuredRuns.map((run) => run.early));
  const lost = Math.max(...measuredRuns.map((run) => run.lost));
  rows.push({ measure: '(c) timer lateness p50, ms (the run of median p99)', triage: round(t.p50), bullmq: b && round(b.p50), target: '', met: true });
  rows.push({ measure: `(c) timer lateness p99, ms (median of ${measuredRuns.length} runs: ${p99s})`, triage: round(t.p99), bullmq: b && round(b.p99), target: '≤ 5', met: t.p99 <= 5 });
  rows.push({ measure: '(c) timers run early (any run)', triage: early, bullmq: undefined, target: '0', met: early === 0 });
  rows.push({ measure: '(c) timers lost (any run)', triage: lost, bullmq: undefined, target: '0', met: lost === 0 });
  result.timers = { triage: t, runs: measuredRuns, bullmq: b };
}

const stalled = Object.entries(stalls);
if (stalled.length > 0) {
  const worst = Math.max(...stalled.map(([, ms]) => ms));
  rows.push({ measure: `largest event-loop stall during ${stalled.map(([s]) => `(${s})`).join(', ')}, ms`, triage: round(worst), bullmq: undefined, target: '≤ 10', met: worst <= 10 });
  const busiest = Object.values(busiestTurns);
  if (busiest.length > 0) rows.push({ measure: 'same runs: most main-thread CPU time in one turn (GC on the main thread included; waits for a core left out), ms', triage: round(Math.max(...busiest)), bullmq: undefined, target: '', met: true });
  result.stalls = stalls;
  result.busiestTurns = busiestTurns;
}

if (runs('d')) {
  const bytes = await triageMemory({ queued: sizes.queued, coordinator: false });
  const deferred = await triageMemory({ queued: sizes.queued, coordinator: true });
  log(`d: ${round(bytes)} bytes per queued payload; ${round(deferred)} with the coordinator deferring them to its ledger`);
  rows.push({ measure: `(d) heap bytes per queued payload (${sizes.queued.toLocaleString('en')} queued)`, triage: Math.round(bytes), bullmq: undefined, target: '≤ 300', met: bytes <= 300 });
  rows.push({ measure: '(d) same backlog deferred into the ledger (coordinator on)', triage: Math.round(deferred), bullmq: undefined, target: '', met: true });
  result.memory = { bytesPerQueued: round(bytes), bytesPerDeferred: round(deferred), queued: sizes.queued };
}

if (runs('w')) {
  const w = await workflowBench({ instances: quick ? 200 : 1_000, chainSteps: 10, fanout: 100 });
  log(`w: ${JSON.stringify(w)}`);
  const n = w.chain.instances.toLocaleString('en');
  rows.push({ measure: `(w) 10-step chain × ${n}: instances/s`, triage: Math.round(w.chain.instancesPerSecond), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(w) 10-step chain: gate cost per edge, µs', triage: round(w.chain.gateMicrosPerEdge), bullmq: undefined, target: '', met: true });
  rows.push({ measure: `(w) 100-way fan-out/fan-in × ${n}: instances/s`, triage: round(w.fanout.instancesPerSecond), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(w) fan-out/fan-in: gate cost per edge, µs', triage: round(w.fanout.gateMicrosPerEdge), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(w) 10-step dependsOn chain: gate cost per edge, µs', triage: round(w.dependsOnChain.gateMicrosPerEdge), bullmq: undefined, target: '', met: true });
  result.workflows = w;
}

if (runs('s')) {
  const redis = { kind: 'redis' as const, url: redisUrl };
  const memory = { kind: 'memory' as const };
  // (a)'s producer and sizes: waves of 10,000 submitted and awaited, 50 at a time.
  const n = sizes.payloads;
  const tput = { payloads: n, batch: 10_000, concurrency: 50 };
  const durable: number[] = [];
  const inMemory: number[] = [];
  const bull: number[] = [];
  const cpu = { redis: [] as number[], memory: [] as number[] };
  for (let i = 0; i < sizes.runs; i++) {
    const m = await storeThroughput(memory, tput);
    const r = await storeThroughput(redis, tput);
    inMemory.push(m.perSecond);
    durable.push(r.perSecond);
    cpu.memory.push(m.cpuMicros);
    cpu.redis.push(r.cpuMicros);
    if (withBullmq) bull.push(await bullmqThroughput({ redisUrl, jobs: sizes.bullJobs, concurrency: 50, wave: 10_000 }));
    log(`s: run ${i + 1}: memory ${Math.round(m.perSecond)}/s (${round(m.cpuMicros)} µs CPU each), redis ${Math.round(r.perSecond)}/s (${round(r.cpuMicros)} µs CPU each)${withBullmq ? `, bullmq ${Math.round(bull.at(-1) as number)}/s` : ''}`);
  }
  const latMemory = await submitLatency(memory, { submits: 4_000 });
  const latRedis = await submitLatency(redis, { submits: 4_000 });
  const recovery = await snapshotAndRecovery(redisUrl, { pending: quick ? 20_000 : 100_000 });
  log(`s: latency memory ${JSON.stringify(latMemory)} redis ${JSON.stringify(latRedis)}; ${JSON.stringify(recovery)}`);
  const d = median(durable);
  const b = withBullmq ? median(bull) : undefined;
  rows.push({ measure: '(s) durable submit→complete on Redis, payloads/s (median)', triage: Math.round(d), bullmq: b && Math.round(b), target: '', met: true });
  if (b !== undefined) rows.push({ measure: '(s) durable Triage / BullMQ', triage: round(d / b), bullmq: undefined, target: '≥ 15', met: d / b >= 15 });
  rows.push({ measure: '(s) same, in-memory default, payloads/s (median)', triage: Math.round(median(inMemory)), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(s) this process\'s CPU per payload on Redis, µs (median)', triage: round(median(cpu.redis)), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(s) same, in memory, µs (median)', triage: round(median(cpu.memory)), bullmq: undefined, target: '', met: true });
  for (const [name, lat] of [['on Redis', latRedis], ['in memory', latMemory]] as const) {
    rows.push({ measure: `(s) submit latency ${name} p50, ms`, triage: round(lat.p50), bullmq: undefined, target: '', met: true });
    rows.push({ measure: `(s) submit latency ${name} p99, ms`, triage: round(lat.p99), bullmq: undefined, target: '', met: true });
  }
  rows.push({ measure: `(s) snapshot of ${recovery.recovered.toLocaleString('en')} pending, ms`, triage: Math.round(recovery.snapshotMs), bullmq: undefined, target: '', met: true });
  rows.push({ measure: `(s) recovery of ${recovery.recovered.toLocaleString('en')} pending, ms`, triage: Math.round(recovery.recoveryMs), bullmq: undefined, target: '≤ 3,000', met: recovery.recoveryMs <= 3_000 });
  result.durability = { redis: durable.map(Math.round), memory: inMemory.map(Math.round), bullmq: bull.map(Math.round), cpuMicros: cpu, latency: { memory: latMemory, redis: latRedis }, recovery };
}

if (runs('q')) {
  const seconds = quick ? 4 : 10;
  const { on, off } = await triageCoordination({ seconds, slots: 20, overload: 3, drainLimitSeconds: quick ? 30 : 60 });
  log(`q: coordinator on ${JSON.stringify(on)}`);
  log(`q: coordinator off ${JSON.stringify(off)}`);
  const ratio = off.highP99 / on.highP99;
  const q = (measure: string, value: number, target = '', met = true) => rows.push({ measure: `(q) ${measure}`, triage: round(value), bullmq: undefined, target, met });
  q('3× overload: high wait p50, coordinator off, ms', off.highP50);
  q('3× overload: high wait p50, coordinator on, ms', on.highP50);
  q('3× overload: high wait p99, coordinator off, ms', off.highP99);
  q('3× overload: high wait p99, coordinator on, ms', on.highP99, `≤ off / 5 (${round(ratio)}× lower)`, ratio >= 5);
  q('3× overload: medium payloads run degraded (on)', on.mediumDegraded);
  q('3× overload: low payloads skipped into the ledger (on)', on.lowSkipped);
  q(`3× overload: ledger drained after the ${seconds} s overload (on), ms`, on.drainMs, `≤ ${(2 * seconds * 1_000).toLocaleString('en')}`, on.drainMs <= 2 * seconds * 1_000);
  q(`3× overload: backlog drained after the ${seconds} s overload (off), ms`, off.drainMs);
  result.coordination = { seconds, on, off, highP99OffOverOn: round(ratio) };
}

if (runs('k')) {
  const payloads = quick ? 6_000 : 60_000;
  const perNodes: ClusterThroughput[] = [];
  for (const nodes of [1, 2, 3]) {
    const t = await clusterThroughput({ redisUrl, nodes, partitions: 16, payloads, runs: sizes.runs, chunk: 500, inFlight: 4 });
    log(`k: ${nodes} node(s): ${t.runs.map((r) => Math.round(r.perSecond)).join(', ')} payloads/s`);
    perNodes.push(t);
  }
  log(`k: ${payloads.toLocaleString('en')} no-op payloads split over the nodes, submitted from all at once; median of ${sizes.runs} runs; CPU in cores over the median run`);
  log('| nodes | payloads/s | node CPU | node CPU per payload, µs | busiest event loop | Redis CPU | machine CPU | bound |');
  log('|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const t of perNodes) {
    const m = t.median;
    log(`| ${t.nodes} | ${Math.round(m.perSecond).toLocaleString('en')} | ${round(m.nodeCores)} | ${round((m.nodeCores / m.perSecond) * 1e6, 1)} | ${Math.round(m.nodeLoop * 100)}% | ${round(m.redisCores)} | ${round(m.machineCores)} / ${cpus().length} | ${throughputBound(m)} |`);
    rows.push({ measure: `(k) cluster submit→complete, ${t.nodes} node${t.nodes > 1 ? 's' : ''}, payloads/s (median)`, triage: Math.round(m.perSecond), bullmq: undefined, target: '', met: true });
  }
  const ttl = 1_000;
  const f = await clusterFailover({ redisUrl, partitions: 16, leaseTtlMs: ttl, kills: quick ? 4 : 10, stream: { everyMs: 50, size: 10, ms: 20 } });
  log(`k: fail-over ms per kill: ${f.kills.map((k) => `${k.victim}(${k.partitions}p) ${Math.round(k.ms)}`).join(', ')}`);
  log(`k: ${f.acknowledged.toLocaleString('en')} background payloads acknowledged, ${f.lookedUp} looked up, ${f.lost} lost${f.lost > 0 ? `: ${f.lostIds.join(' ')}` : ''}`);
  const limit = 2 * ttl;
  rows.push({ measure: `(k) fail-over, SIGKILL → its partitions served again, p50 over ${f.kills.length} kills, ms (${round(f.p50 / ttl)}× TTL)`, triage: Math.round(f.p50), bullmq: undefined, target: '', met: true });
  rows.push({ measure: `(k) fail-over p99, ms (lease TTL ${ttl.toLocaleString('en')} ms)`, triage: Math.round(f.p99), bullmq: undefined, target: `≤ 2× TTL = ${limit.toLocaleString('en')} (${round(f.p99 / ttl)}×)`, met: f.p99 <= limit });
  rows.push({ measure: `(k) acknowledged payloads lost across the kills (of ${f.acknowledged.toLocaleString('en')})`, triage: f.lost, bullmq: undefined, target: '0', met: f.lost === 0 });
  result.cluster = {
    throughput: perNodes.map((t) => ({ nodes: t.nodes, payloads: t.payloads, perSecond: t.runs.map((r) => Math.round(r.perSecond)), median: t.median })),
    failover: f,
  };
}

if (runs('r')) {
  const shape = { schedules: 1_000, everyMs: 1_000, seconds: quick ? 5 : 30 };
  // As (c): the run of median p99 of `sizes.runs` (one with --quick) is quoted, every run's p99 beside it.
  const scheduleRuns = [];
  for (let i = 0; i < (quick ? 1 : sizes.runs); i++) {
    scheduleRuns.push(await triageSchedules(shape));
    log(`r: triage run ${i + 1}: ${JSON.stringify(scheduleRuns.at(-1))}`);
  }
  const t = medianRun(scheduleRuns, (run) => run.startP99);
  const p99s = scheduleRuns.map((run) => round(run.startP99)).join(', ');
  const b = withBullmq ? await bullmqSchedules({ redisUrl, ...shape }) : undefined;
  if (b) log(`r: bullmq ${JSON.stringify(b)}`);
  const label = `${shape.schedules.toLocaleString('en')} schedules every ${shape.everyMs / 1_000} s for ${shape.seconds} s after ${WARM_UP_MS / 1_000} s of warm-up`;
  rows.push({ measure: `(r) ${label}: lateness due → handler start p50, ms (the run of median p99)`, triage: round(t.startP50), bullmq: b && round(b.startP50), target: '', met: true });
  rows.push({ measure: `(r) same: lateness due → handler start p99, ms (median of ${scheduleRuns.length} runs: ${p99s})`, triage: round(t.startP99), bullmq: b && round(b.startP99), target: '≤ 10', met: t.startP99 <= 10 });
  // One tick is 1,000 of the window's 30,000 starts: a single tick disturbed past 10 ms decides the p99.
  rows.push({ measure: `(r) same: ticks of the window whose last handler started > 10 ms late (of ${t.ticks}; each run: ${scheduleRuns.map((run) => run.ticksOver10).join(', ')})`, triage: t.ticksOver10, bullmq: undefined, target: '', met: true });
  rows.push({ measure: `(r) same: lateness p99 of the warm-up's ticks (the first ${WARM_UP_MS / 1_000} s after set-up, not in the window), ms`, triage: round(t.warmUpP99), bullmq: b && round(b.warmUpP99), target: '', met: true });
  rows.push({ measure: '(r) same: due → handler start as the engine measures it (`triage_schedule_lateness_seconds`) p50, ms', triage: round(t.metricP50), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(r) same: engine measure p99, ms', triage: round(t.metricP99), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(r) same: fired ahead of the tick (handed to submit) p50, ms (negative: after it)', triage: round(t.submitP50), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(r) same: accepted by its partition ahead of the tick, p1 (the least ahead), ms', triage: round(t.acceptP01), bullmq: undefined, target: '', met: true });
  rows.push({ measure: `(r) same: firings (of ${t.expected.toLocaleString('en')} due)`, triage: t.firings, bullmq: b?.firings, target: '', met: true });
  rows.push({ measure: '(r) same: process CPU per 1,000 firings (handler runs included), ms', triage: round(t.cpuMsPer1000 ?? Number.NaN), bullmq: undefined, target: '', met: true });
  const cpu = await triageScheduleCpu({ schedules: shape.schedules, everyMs: shape.everyMs, wakes: quick ? 10 : 30 });
  log(`r: cpu ${JSON.stringify(cpu)}`);
  rows.push({ measure: '(r) same on a simulated clock, median wake: CPU from the wake to its last firing accepted, ms', triage: round(cpu.toAcceptedMs), bullmq: undefined, target: '', met: true });
  rows.push({ measure: '(r) same: CPU of the whole wake (handler runs included), ms', triage: round(cpu.perWakeMs), bullmq: undefined, target: '', met: true });
  result.schedules = { ...shape, triage: t, runs: scheduleRuns, bullmq: b, cpu };
}

if (runs('u')) {
  const measured = await withStall((serving) => triageBurst({ payloads: quick ? 5_000 : 20_000, handlerMs: 2, concurrency: 10 }, serving));
  const t = measured.value;
  log(`u: ${JSON.stringify(t)}; largest stall ${round(measured.stallMs)} ms, busiest turn ${round(measured.busiestTurnMs ?? Number.NaN)} ms of CPU`);
  const u = (measure: string, value: number, target = '', met = true) => rows.push({ measure: `(u) ${measure}`, triage: round(value), bullmq: undefined, target, met });
  const label = `${t.payloads.toLocaleString('en')} low payloads of ~2 ms at once, concurrency 10 (${t.lowSlots} slots for low)`;
  u(`${label}: skipped`, t.skipped, '0', t.skipped === 0);
  u('same: degraded', t.degraded, '0', t.degraded === 0);
  u('same: submit → last completion, ms', t.elapsedMs);
  u(`same: ideal, payloads × the handlers' measured mean (${round(t.handlerMeanMs)} ms) ÷ low's slots, ms`, t.idealMs);
  u('same: time to drain / ideal', t.ratio, '≤ 1.5', t.ratio <= 1.5);
  u('same: largest event-loop stall, ms', measured.stallMs, '≤ 10', measured.stallMs <= 10);
  u('same: most main-thread CPU time in one turn, ms', measured.busiestTurnMs ?? Number.NaN);
  result.burst = { ...t, stallMs: round(measured.stallMs), busiestTurnMs: measured.busiestTurnMs };
}

if (runs('n')) {
  const shape = { floodPayloads: 5_000, tricklePayloads: 100, gapMs: 10, handlerMs: 2, concurrency: 10 };
  const t = await triageNoisyNeighbour(shape);
  log(`n: triage ${JSON.stringify(t)}`);
  const b = withBullmq ? await bullmqNoisyNeighbour({ redisUrl, floodJobs: shape.floodPayloads, trickleJobs: shape.tricklePayloads, gapMs: shape.gapMs, jobMs: shape.handlerMs, concurrency: shape.concurrency }) : undefined;
  if (b) log(`n: bullmq (one queue, same priority) ${JSON.stringify(b)}`);
  const label = `A floods ${shape.floodPayloads.toLocaleString('en')} medium payloads of ~2 ms, then B trickles ${shape.tricklePayloads} (${shape.gapMs} ms apart), concurrency 10`;
  rows.push({ measure: `(n) ${label}: B's wait p50, ms`, triage: round(t.p50), bullmq: b && round(b.p50), target: '', met: true });
  rows.push({ measure: "(n) same: B's wait p99, ms", triage: round(t.p99), bullmq: b && round(b.p99), target: '≤ 20', met: t.p99 <= 20 });
  rows.push({ measure: "(n) same: A's payloads not yet started when B's last started", triage: t.floodLeft, bullmq: undefined, target: '', met: true });
  const weights = { a: 3, b: 2, c: 1 };
  const shares = await triageWeights({ weights, perClient: 3_000, counted: 1_500, handlerMs: 2, concurrency: 4 });
  log(`n: weights ${JSON.stringify(shares)}`);
  for (const s of shares) {
    const met = Math.abs(s.share - s.expected) <= 0.05;
    rows.push({ measure: `(n) clients a, b, c weighted 3:2:1 flood 3,000 each, concurrency 4: ${s.client}'s share of the first 1,500 starts`, triage: round(s.share, 3), bullmq: undefined, target: `${round(s.expected, 3)} ± 0.05`, met });
  }
  result.neighbours = { ...shape, triage: t, bullmq: b, weights, shares };
}

printTable();

function printTable(): never {
  const cell = (v: number | undefined) => (v === undefined ? '—' : v.toLocaleString('en'));
  const header = '| measure | Triage | BullMQ 6.7 | target | met |';
  if (nodeFlags.length > 0) console.log(`Node flags: ${nodeFlags.join(' ')}\n`);
  console.log([header, '|---|---:|---:|---|---|', ...rows.map((r) => `| ${r.measure} | ${cell(r.triage)} | ${cell(r.bullmq)} | ${r.target} | ${r.target ? (r.met ? 'yes' : 'no') : ''} |`)].join('\n'));
  console.log(JSON.stringify({ bench: 'core', quick, ...result, rows }));
  process.exit(0);
}
