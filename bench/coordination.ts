/**
 * (q) Load-aware coordination under overload: offered load 3× the pool's capacity for 10 s, mixed
 * high / medium / low, run twice in the same process — coordinator on, then off — on identical
 * load. Reports high-tier wait (p50/p99), medium payloads run degraded, low payloads skipped into
 * the ledger, and the time from the end of the overload until the ledger is drained (every skipped
 * payload rescheduled and finished; with the coordinator off, until the backlog is done).
 *
 * The workload: 20 slots (fixed: no adaptive pool, so both runs have the same capacity). Handlers
 * sleep like I/O-bound work: high 50 ms, medium 50 ms (12.5 ms when `ctx.degraded`: a degraded
 * handler does a quarter of the work), low 20 ms. By count 7% high, 41% medium, 52% low: by pool
 * time 10% / 60% / 30%; 1,714 payloads/s are 3× the 20,000 slot-ms per second the pool has.
 * Both runs use the same `maxWait` (medium 2 s, low 5 s; high keeps its 5 s default).
 */
import { createRuntime, silentLogger, type HandlerContext } from '../src/index.ts';
import { percentile } from './stats.ts';

export interface CoordinationOptions {
  readonly seconds: number;
  readonly slots: number;
  /** Offered load as a multiple of capacity. */
  readonly overload: number;
  /** Longest wait for the backlog or ledger to drain after the overload, s. */
  readonly drainLimitSeconds: number;
}

export interface CoordinationRun {
  readonly coordinator: boolean;
  readonly submitted: number;
  readonly highP50: number;
  readonly highP99: number;
  readonly highCount: number;
  readonly mediumDegraded: number;
  readonly lowSkipped: number;
  /** From the end of the overload until the ledger (on) or the backlog (off) is drained, ms; NaN if it was not within the limit. */
  readonly drainMs: number;
  /** Level changes, `level@seconds` from the start of the overload. */
  readonly levels: readonly string[];
}

const COST = { high: 50, medium: 50, low: 20 } as const;
const DEGRADED_SHARE = 0.25;
/** 100 payloads by tier (7 high, 41 medium, 52 low), in a fixed shuffled order so runs compare. */
const PATTERN: ReadonlyArray<keyof typeof COST> = (() => {
  const out = [...Array<'high'>(7).fill('high'), ...Array<'medium'>(41).fill('medium'), ...Array<'low'>(52).fill('low')] as Array<keyof typeof COST>;
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as keyof typeof COST, out[i] as keyof typeof COST];
  }
  return out;
})();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function coordinationRun(opts: CoordinationOptions, coordinator: boolean): Promise<CoordinationRun> {
  const runtime = createRuntime({
    partitions: 16,
    concurrency: opts.slots,
    logger: silentLogger,
    retainTerminal: 1_000,
    maxWait: { medium: 2_000, low: 5_000 },
    coordinator: coordinator ? {} : false,
  });
  const highWaits: number[] = [];
  let mediumDegraded = 0;
  let finished = 0;
  let loadEnded = Number.POSITIVE_INFINITY;
  const work = (tier: keyof typeof COST) => async (submittedAt: number, ctx: HandlerContext) => {
    if (tier === 'high' && submittedAt < loadEnded) highWaits.push(performance.now() - submittedAt);
    if (ctx.degraded && tier === 'medium') mediumDegraded++;
    await sleep(ctx.degraded ? COST[tier] * DEGRADED_SHARE : COST[tier]);
  };
  for (const tier of ['high', 'medium', 'low'] as const) runtime.handle(tier, work(tier));
  runtime.events.on('completed', () => void finished++);
  const levels: string[] = [];
  // Level changes, as `level@seconds since the overload began`, to show when relief came and went.
  runtime.events.on('coordinator.decision', (d) => void (d.action === 'level' && levels.push(`${d.level}@${((performance.now() - started) / 1_000).toFixed(1)}s`)));

  const capacityPerSecond = (opts.slots * 1_000) / PATTERN.reduce((ms, tier) => ms + COST[tier] / PATTERN.length, 0);
  const rate = opts.overload * capacityPerSecond;
  const started = performance.now();
  let submitted = 0;
  const submits: Array<Promise<unknown>> = [];
  while (performance.now() - started < opts.seconds * 1_000) {
    const due = Math.floor(((performance.now() - started) / 1_000) * rate);
    const now = performance.now();
    const batch = [];
    for (; submitted < due; submitted++) {
      const tier = PATTERN[submitted % PATTERN.length] as keyof typeof COST;
      batch.push({ type: tier, priority: tier, data: now });
    }
    if (batch.length > 0) submits.push(runtime.submitMany(batch));
    await sleep(5);
  }
  loadEnded = performance.now();
  await Promise.all(submits);
  const lowSkipped = () => runtime.stats().partitions.reduce((n, p) => n + p.flow.deferred, 0);
  const drained = () => finished >= submitted && (runtime.coordinator?.ledger(0).total ?? 0) === 0;
  let drainMs = Number.NaN;
  while (performance.now() - loadEnded < opts.drainLimitSeconds * 1_000) {
    if (drained()) {
      drainMs = performance.now() - loadEnded;
      break;
    }
    await sleep(20);
  }
  const result: CoordinationRun = {
    coordinator,
    submitted,
    highP50: percentile(highWaits, 50),
    highP99: percentile(highWaits, 99),
    highCount: highWaits.length,
    mediumDegraded,
    lowSkipped: lowSkipped(),
    drainMs,
    levels,
  };
  await runtime.stop();
  return result;
}

/** Both runs, coordinator on first (the second run gets the warmer JIT, so any bias favours "off"). */
export async function triageCoordination(opts: CoordinationOptions): Promise<{ on: CoordinationRun; off: CoordinationRun }> {
  const on = await coordinationRun(opts, true);
  const off = await coordinationRun(opts, false);
  return { on, off };
}
