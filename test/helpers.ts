/**
 * Shared test helpers (not a test file: `npm test` runs only `*.test.ts`).
 */
import type { PartitionEnv } from '../actors/partition/reducer.ts';
import type { PartitionStats, PartitionTotals } from '../actors/partition/state.ts';
import { createRuntime, SimulatedClock, silentLogger, type CreateRuntimeOptions, type PayloadEvent, type PayloadEventType, type Runtime } from '../src/index.ts';
import { DEFAULT_BACKOFF, compileOptions, type RuntimeOptions } from '../src/options.ts';

/** mulberry32: small seeded PRNG so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** A promise settled by hand: handlers that block until the test lets them go. */
export function deferred<T = unknown>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A runtime on a simulated clock, silent, with jitter 0 unless the test says otherwise. */
export function setup(options: CreateRuntimeOptions = {}): { clock: SimulatedClock; rt: Runtime } {
  const clock = (options.clock as SimulatedClock | undefined) ?? new SimulatedClock();
  const rt = createRuntime({ logger: silentLogger, random: () => 0, ...options, clock });
  return { clock, rt };
}

/** Moves the simulated clock `times` × `ms`, letting the actors settle after each step. */
export async function advance(rt: Runtime, clock: SimulatedClock, ms: number, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) {
    clock.advance(ms);
    await rt.idle();
  }
}

/** Records every event the runtime publishes, in order. */
export function recordEvents(rt: Runtime): { all: PayloadEvent[]; of(type: PayloadEventType, id?: string): PayloadEvent[]; off(): void } {
  const all: PayloadEvent[] = [];
  const off = rt.events.on('*', (e) => all.push(e));
  return { all, of: (type, id) => all.filter((e) => e.type === type && (id === undefined || e.id === id)), off };
}

export type Totals = { -readonly [K in keyof PartitionTotals]: number };

/** Each partition's queues and totals. */
export function partitionSummaries(rt: Runtime): readonly PartitionStats[] {
  return rt.stats().partitions;
}

/** Totals summed over every partition, from `runtime.stats()`. */
export function totals(rt: Runtime): Totals {
  const sum: Totals = { accepted: 0, started: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, skipped: 0 };
  for (const s of partitionSummaries(rt)) for (const k of Object.keys(sum) as Array<keyof Totals>) sum[k] += s.totals[k];
  return sum;
}

/** Messages each partition has processed, by partition index (actor order). */
export function processedByPartition(rt: Runtime): number[] {
  return rt.tree().filter((a) => a.kind === 'partition').map((a) => a.processed);
}

/** Settles a promise-returning call without awaiting it, so the test can check it is still pending. */
export function track<T>(promise: Promise<T>): { settled: () => boolean; value: () => T | undefined; error: () => unknown; promise: Promise<T> } {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => ((done = true), (value = v)),
    (e) => ((done = true), (error = e)),
  );
  return { settled: () => done, value: () => value, error: () => error, promise };
}

/** Polls `predicate` until it holds; fails after `ms` naming what it waited for. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A partition's environment on a simulated clock, for its transitions run without an actor: no jitter, every event observed. */
export function partitionEnv(clock: SimulatedClock, retries: number, options: RuntimeOptions = {}): PartitionEnv {
  return {
    options: compileOptions({ clock, random: () => 0, ...options }),
    now: () => clock.now(),
    policyOf: () => ({ timeout: 1000, retries, backoff: { ...DEFAULT_BACKOFF, jitter: 0 } }),
    observed: () => true,
  };
}
