/**
 * Triage's side of the benchmark: each function builds its own runtime on the embedded default,
 * measures one thing, and stops the runtime.
 */
import { createRuntime, silentLogger, type Runtime } from '../src/index.ts';
import { percentile } from './stats.ts';
import { produce } from './producer.ts';

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

/** (a) No-op payloads, mixed priorities, submit → complete: payloads/s. */
export async function triageThroughput(opts: { payloads: number; partitions: number; concurrency: number; chunk: number; inFlight: number }): Promise<number> {
  const runtime = createRuntime({ partitions: opts.partitions, concurrency: opts.concurrency, logger: silentLogger, retainTerminal: 1_000 });
  runtime.handle('noop', () => undefined);
  const finished = completions(runtime, opts.payloads);
  const started = performance.now();
  await produce(runtime, opts, (n) => ({ type: 'noop', priority: (n % 10) + 1 }));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await runtime.stop();
  return opts.payloads / seconds;
}

export interface QosResult { aloneP50: number; aloneP99: number; floodP50: number; floodP99: number }

/** (b) Wait of high payloads trickled in, alone and during a flood of low ones. */
export async function triageQos(opts: { highJobs: number; gapMs: number; floodJobs: number; floodJobMs: number; concurrency: number }): Promise<QosResult> {
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

  const alone = make();
  const aloneWaits = await trickle(alone);
  await alone.stop();

  const flooded = make();
  flooded.handle('low', () => sleep(opts.floodJobMs));
  await flooded.submitMany(Array.from({ length: opts.floodJobs }, () => ({ type: 'low', priority: 'low' as const })));
  const floodWaits = await trickle(flooded);
  await flooded.stop();

  return {
    aloneP50: percentile(aloneWaits, 50),
    aloneP99: percentile(aloneWaits, 99),
    floodP50: percentile(floodWaits, 50),
    floodP99: percentile(floodWaits, 99),
  };
}

/** (c) Lateness of timers spread over a window: handler start − due time. */
export async function triageTimers(opts: { timers: number; spreadMs: number; concurrency: number }): Promise<{ p50: number; p99: number }> {
  const runtime = createRuntime({ partitions: 16, concurrency: opts.concurrency, logger: silentLogger, retainTerminal: 1_000 });
  const lateness: number[] = [];
  runtime.handle('timer', (data: { due: number }) => void lateness.push(Date.now() - data.due));
  const finished = completions(runtime, opts.timers);
  // Due = the moment just before the chunk is submitted + its delay, as on the BullMQ side, so the
  // time spent submitting is not counted as lateness. Chunks go out in a shuffled order of delays.
  const delays = Array.from({ length: opts.timers }, (_, i) => 1 + Math.floor((i * opts.spreadMs) / opts.timers));
  shuffle(delays);
  for (let i = 0; i < delays.length; i += 1_000) {
    const base = Date.now();
    await runtime.submitMany(delays.slice(i, i + 1_000).map((delay) => ({ type: 'timer', delay, data: { due: base + delay } })));
  }
  await finished;
  await runtime.stop();
  return { p50: percentile(lateness, 50), p99: percentile(lateness, 99) };
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
