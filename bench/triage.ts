/**
 * Triage's side of the benchmark: each function builds its own runtime on the embedded default,
 * measures one thing, and stops the runtime.
 */
import { createRuntime, silentLogger, type Runtime } from '../src/index.ts';
import { percentile } from './stats.ts';
import { produceInWaves } from './waves.ts';

/** Deterministic shuffle (the same order every run), so runs compare. */
function shuffle<T>(items: T[]): void {
  let seed = 42;
  for (let i = items.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function completions(runtime: Runtime, expected: number): Promise<void> {
  return new Promise((resolve) => {
    let done = 0;
    runtime.events.on('completed', () => {
      if (++done === expected) resolve();
    });
  });
}

/** (a) No-op payloads, four priorities in turn, submitted in waves (waves.ts): payloads/s. */
export async function triageThroughput(opts: { payloads: number; partitions: number; concurrency: number; batch: number }, serving = () => {}): Promise<number> {
  const runtime = createRuntime({ partitions: opts.partitions, concurrency: opts.concurrency, logger: silentLogger, retainTerminal: 1_000 });
  runtime.handle('noop', () => undefined);
  serving();
  const started = performance.now();
  await produceInWaves(runtime, opts);
  const seconds = (performance.now() - started) / 1000;
  await runtime.stop();
  return opts.payloads / seconds;
}

export interface QosResult { aloneP50: number; aloneP99: number; floodP50: number; floodP99: number }

/** (b) Wait of high payloads trickled in, alone and during a flood of low ones. */
export async function triageQos(opts: { highJobs: number; gapMs: number; floodJobs: number; floodJobMs: number; concurrency: number }, serving = () => {}): Promise<QosResult> {
  const trickle = async (runtime: Runtime): Promise<number[]> => {
    const waits: number[] = [];
    runtime.handle('high', async (data: { submittedAt: number }) => {
      waits.push(performance.now() - data.submittedAt);
      await sleep(opts.floodJobMs);
    });
    const ids: string[] = [];
    for (let i = 0; i < opts.highJobs; i++) {
      ids.push(await runtime.submit({ type: 'high', priority: 'high', data: { submittedAt: performance.now() } }));
      await sleep(opts.gapMs);
    }
    await Promise.all(ids.map((id) => runtime.waitFor(id)));
    return waits;
  };
  const make = () => createRuntime({ partitions: 16, concurrency: opts.concurrency, logger: silentLogger });
  // The flood's inputs are prepared before anything is measured, as (c)'s are: building 20,000
  // objects in one turn is the caller's work, not the engine's.
  const flood = Array.from({ length: opts.floodJobs }, () => ({ type: 'low', priority: 'low' as const }));

  const alone = make();
  serving();
  const aloneWaits = await trickle(alone);
  await alone.stop();

  const flooded = make();
  flooded.handle('low', () => sleep(opts.floodJobMs));
  await flooded.submitMany(flood);
  const floodWaits = await trickle(flooded);
  await flooded.stop();

  return {
    aloneP50: percentile(aloneWaits, 50),
    aloneP99: percentile(aloneWaits, 99),
    floodP50: percentile(floodWaits, 50),
    floodP99: percentile(floodWaits, 99),
  };
}

export interface TimerResult { p50: number; p99: number; early: number; lost: number }

/**
 * (c) Timers with `runAt` spread evenly over `spreadMs`, the first due `leadMs` after the submit
 * starts, submitted in batches of 10,000 in a shuffled order: lateness = handler start − runAt.
 * Early: started before its runAt. Lost: not run within `graceMs` after the last was due.
 */
export async function triageTimers(opts: { timers: number; spreadMs: number; leadMs: number; concurrency: number; graceMs: number }, serving = () => {}): Promise<TimerResult> {
  // The due times in a shuffled order, prepared before anything is measured (offsets from the first).
  const offsets = Array.from({ length: opts.timers }, (_, i) => Math.floor((i * opts.spreadMs) / opts.timers));
  shuffle(offsets);
  const runtime = createRuntime({ partitions: 16, concurrency: opts.concurrency, logger: silentLogger, retainTerminal: 1_000 });
  serving();
  const lateness: number[] = [];
  runtime.handle('timer', (runAt: number) => void lateness.push(Date.now() - runAt));
  // Warm-up, not measured: 5,000 timers over 250 ms, so the timer path (sweep, grant, run) is
  // compiled before the measured ones fall due; cold, the first 300 ms of them are late by ~150 ms.
  const warm = Date.now() + 50;
  const warmed = completions(runtime, 5_000);
  await runtime.submitMany(Array.from({ length: 5_000 }, (_, i) => ({ type: 'timer', runAt: warm + (i % 250), data: warm + (i % 250) })));
  await warmed;
  lateness.length = 0;
  const finished = completions(runtime, opts.timers);
  const first = Date.now() + opts.leadMs;
  for (let i = 0; i < offsets.length; i += 10_000) {
    await runtime.submitMany(offsets.slice(i, i + 10_000).map((offset) => ({ type: 'timer', runAt: first + offset, data: first + offset })));
  }
  const last = first + opts.spreadMs;
  await Promise.race([finished, sleep(Math.max(0, last + opts.graceMs - Date.now()))]);
  await runtime.stop();
  return { p50: percentile(lateness, 50), p99: percentile(lateness, 99), early: lateness.filter((ms) => ms < 0).length, lost: opts.timers - lateness.length };
}

/** (d) Heap bytes per queued payload, beyond the data, with `queued` payloads waiting. */
/**
 * With the coordinator on, a million waiting payloads is critical load: low work is moved into the
 * ledger (deferred), which costs more than waiting in a mailbox. `coordinator: false` measures the
 * mailbox itself; `true` what the same backlog costs once deferred.
 */
export async function triageMemory(opts: { queued: number; coordinator: boolean }): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const runtime = createRuntime({ partitions: 16, concurrency: 1, logger: silentLogger, ...(opts.coordinator ? {} : { coordinator: false }) });
  let release: () => void = () => {};
  runtime.handle('block', () => new Promise<void>((resolve) => (release = resolve)));
  runtime.handle('work', () => undefined);
  await runtime.submit({ type: 'block', priority: 'critical' });
  await runtime.idle();
  const data = 1; // a small number: the payload's data costs nothing beyond the record slot
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < opts.queued; i += 10_000) {
    await runtime.submitMany(Array.from({ length: Math.min(10_000, opts.queued - i) }, () => ({ type: 'work', priority: 'low' as const, data })));
  }
  await runtime.idle();
  gc();
  const after = process.memoryUsage().heapUsed;
  release();
  await runtime.stop();
  return (after - before) / opts.queued;
}
