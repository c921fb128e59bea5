/**
 * (r) Recurring schedules: N schedules firing every second for S seconds, in-process (the
 * embedded default), beside N BullMQ job schedulers (`upsertJobScheduler` with `every`) on the
 * local Redis. The first WARM_UP_MS after set-up are measured apart (the first ticks run the
 * path while V8 still compiles it, as in any process that has just started) and the window of
 * `seconds` follows them. Lateness is measured from the instant a tick was due to its handler's start: for
 * Triage in the handler (high-resolution) and as the engine's own `schedule.started` measure (the
 * `triage_schedule_lateness_seconds` metric, ms resolution); for BullMQ in its processor (a
 * scheduler's job id names the instant it was due). Triage fires ahead (`scheduleLeadMs`, 200 by
 * default): how long before the tick each firing was handed to submit and accepted by its partition
 * is reported too (negative: after the tick). The process's CPU time per 1,000 firings (handler
 * runs included) is a figure the machine's other load moves less.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { createRuntime, SimulatedClock, silentLogger } from '../src/index.ts';
import { percentile } from './stats.ts';

export interface ScheduleLateness {
  readonly firings: number;
  readonly expected: number;
  /** How long before the tick its firing was handed to submit (negative: after), ms; likewise accepted. */
  readonly submitP50: number;
  readonly submitP99: number;
  readonly acceptP50: number;
  readonly acceptP99: number;
  /** The least ahead 1 % of acceptances (p1 of the ahead times), ms. */
  readonly acceptP01: number;
  /** Due → handler start as the engine measures it (`schedule.started`, the lateness metric), ms. */
  readonly metricP50: number;
  readonly metricP99: number;
  /** CPU time of the process (user + system) per 1,000 firings while measuring, ms. */
  readonly cpuMsPer1000: number | undefined;
  readonly startP50: number;
  readonly startP99: number;
  /** Due → handler start p99 of the ticks in the first WARM_UP_MS after set-up (the code warming up), not in the window, ms. */
  readonly warmUpP99: number;
  /** Ticks of the window whose last handler started more than 10 ms after it was due, and ticks in all. */
  readonly ticksOver10: number;
  readonly ticks: number;
}

/** The ticks this long after set-up are the warm-up, measured apart from the window, ms. */
export const WARM_UP_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function triageSchedules(opts: { schedules: number; everyMs: number; seconds: number }): Promise<ScheduleLateness> {
  const rt = createRuntime({ logger: silentLogger, concurrency: 256 });
  const tickOf = new Map<string, number>();
  const submit: number[] = [];
  const accept: number[] = [];
  const start: number[] = [];
  const warmUp: number[] = [];
  const metric: number[] = [];
  let warming = false;
  let measuring = false;
  /** The latest start of each tick in the window, ms after it was due. */
  const lastOfTick = new Map<number, number>();
  rt.handle('tick', (_data, ctx) => {
    const tick = tickOf.get(ctx.id);
    if (tick !== undefined && (measuring || warming)) {
      const late = performance.timeOrigin + performance.now() - tick;
      (measuring ? start : warmUp).push(late);
      if (measuring) lastOfTick.set(tick, Math.max(lastOfTick.get(tick) ?? 0, late));
    }
    tickOf.delete(ctx.id);
  });
  rt.events.on('schedule.fired', (firing) => {
    tickOf.set(firing.id, firing.tick);
    if (!measuring) return;
    // How far ahead of the tick: positive when before it.
    submit.push(firing.tick - firing.submittedAt);
    accept.push(firing.tick - firing.at);
  });
  rt.events.on('schedule.started', (started) => void (measuring && metric.push(started.at - started.tick)));
  await rt.ready();
  for (let i = 0; i < opts.schedules; i++) await rt.schedules.set({ id: `s${i}`, every: opts.everyMs, payload: { type: 'tick', data: i } });
  warming = true;
  await sleep(WARM_UP_MS);
  warming = false;
  measuring = true;
  const cpu = process.cpuUsage();
  await sleep(opts.seconds * 1_000);
  measuring = false;
  const used = process.cpuUsage(cpu);
  await rt.stop();
  const lasts = [...lastOfTick.values()];
  return {
    ...summary(submit, accept, start, warmUp, opts),
    metricP50: percentile(metric, 50),
    metricP99: percentile(metric, 99),
    cpuMsPer1000: (used.user + used.system) / 1_000 / (accept.length / 1_000),
    ticksOver10: lasts.filter((ms) => ms > 10).length,
    ticks: lasts.length,
  };
}

/**
 * The same 1,000 schedules on a simulated clock, woken one second at a time with nothing else
 * waiting: the process's CPU from the wake to the acceptance of the instant's last firing, and for
 * the whole wake (handler runs included), medians over `wakes`. CPU time, not wall time, so the
 * machine's other load moves it far less than the lateness above.
 */
export async function triageScheduleCpu(opts: { schedules: number; everyMs: number; wakes: number }): Promise<{ toAcceptedMs: number; perWakeMs: number }> {
  const clock = new SimulatedClock(1_800_000_000_000);
  const rt = createRuntime({ logger: silentLogger, clock, concurrency: 256 });
  rt.handle('tick', () => undefined);
  let from = process.cpuUsage();
  let accepted = 0;
  let fired = 0;
  const ms = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1_000;
  rt.events.on('schedule.fired', () => {
    // Read once, at the instant's last firing: a read per firing (~1.5 µs each) would be measured too.
    if (++fired === opts.schedules) accepted = ms(process.cpuUsage(from));
  });
  await rt.ready();
  for (let i = 0; i < opts.schedules; i++) await rt.schedules.set({ id: `s${i}`, every: opts.everyMs, payload: { type: 'tick', data: i } });
  const toAccepted: number[] = [];
  const perWake: number[] = [];
  for (let i = 0; i < opts.wakes + 5; i++) {
    fired = 0;
    from = process.cpuUsage();
    clock.advance(opts.everyMs);
    await rt.idle();
    const whole = ms(process.cpuUsage(from));
    if (i < 5 || fired !== opts.schedules) continue; // warm-up
    toAccepted.push(accepted);
    perWake.push(whole);
  }
  await rt.stop();
  return { toAcceptedMs: percentile(toAccepted, 50), perWakeMs: percentile(perWake, 50) };
}

export async function bullmqSchedules(opts: { redisUrl: string; schedules: number; everyMs: number; seconds: number }): Promise<ScheduleLateness> {
  const connection = { url: opts.redisUrl, retryStrategy: () => null };
  const prefix = `triage-bench-${randomBytes(6).toString('hex')}`;
  const queue = new Queue('schedules', { connection, prefix, defaultJobOptions: { removeOnComplete: true } });
  const start: number[] = [];
  const warmUp: number[] = [];
  let warming = false;
  let measuring = false;
  const worker = new Worker('schedules', async (job: Job) => {
    // A scheduler's job is named after the instant it is due: `repeat:<scheduler>:<millis>`.
    const due = Number(job.id?.slice(job.id.lastIndexOf(':') + 1));
    if (Number.isFinite(due) && (measuring || warming)) (measuring ? start : warmUp).push(Date.now() - due);
  }, { connection, prefix, concurrency: 256 });
  try {
    for (let i = 0; i < opts.schedules; i++) await queue.upsertJobScheduler(`s${i}`, { every: opts.everyMs }, { name: 'tick', data: i });
    warming = true;
    await sleep(WARM_UP_MS);
    warming = false;
    measuring = true;
    await sleep(opts.seconds * 1_000);
    measuring = false;
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  return summary([], [], start, warmUp, opts);
}

function summary(submit: number[], accept: number[], start: number[], warmUp: number[], opts: { schedules: number; everyMs: number; seconds: number }): ScheduleLateness {
  return {
    firings: start.length,
    expected: Math.round((opts.schedules * opts.seconds * 1_000) / opts.everyMs),
    submitP50: percentile(submit, 50),
    submitP99: percentile(submit, 99),
    acceptP50: percentile(accept, 50),
    acceptP99: percentile(accept, 99),
    acceptP01: percentile(accept, 1),
    metricP50: Number.NaN,
    metricP99: Number.NaN,
    cpuMsPer1000: undefined,
    startP50: percentile(start, 50),
    startP99: percentile(start, 99),
    warmUpP99: percentile(warmUp, 99),
    ticksOver10: Number.NaN,
    ticks: Number.NaN,
  };
}
