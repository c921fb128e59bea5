/**
 * The main job (`npm start`): a mixed workload on the embedded default. Prints what ran, in which
 * tier, and how long each tier waited — high tiers stay fast while a flood of low work queues up.
 */
import { createRuntime, TIERS, type CreateRuntimeOptions, type PayloadEvent, type Runtime, type Tier } from '../src/index.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface TierReport {
  readonly tier: Tier;
  readonly ran: number;
  readonly failed: number;
  readonly retried: number;
  readonly waitP50: number;
  readonly waitP99: number;
  readonly waitMax: number;
}

/** The runtime settings the main job runs with (also `triage start --demo`). */
export const mainJobOptions: CreateRuntimeOptions = { concurrency: 8, handlerDefaults: { retries: 2, backoff: { initialMs: 20, jitter: 0.5 } } };

/** The main job's handlers: quick checkouts, reports that report progress, flaky thumbnails. */
export function registerMainJob(runtime: Runtime): void {
  runtime.handle('checkout', async (order: { total: number }) => {
    await sleep(3);
    return { charged: order.total };
  });
  runtime.handle('report', async (_: { day: number }, ctx) => {
    for (let step = 1; step <= 3; step++) {
      await sleep(2);
      ctx.progress(step / 3);
    }
    return 'ok';
  });
  let flaky = 0;
  runtime.handle('thumbnail', async (image: { pixels: number }, ctx) => {
    await sleep(1 + image.pixels / 1_000);
    // Transient: one first attempt in 25 fails, and its retry (with backoff) succeeds.
    if (ctx.attempt === 1 && ++flaky % 25 === 0) throw new Error('transient storage error');
    return image.pixels;
  });
}

/** One round of the workload; `note` hears every id as it is accepted. Resolves with the checkout ids. */
export async function submitMainJob(runtime: Runtime, scale: number, note: (ids: string[]) => void = () => {}): Promise<string[]> {
  // A flood of low, sometimes heavy, background work arrives first…
  note(await runtime.submitMany(Array.from({ length: 400 * scale }, (_, i) => ({
    type: 'thumbnail', priority: 'low' as const, complexity: (i % 10) + 1, clientId: 'gallery', data: { pixels: (i % 5) * 1_000 },
  }))));
  note(await runtime.submitMany(Array.from({ length: 60 * scale }, (_, day) => ({ type: 'report', priority: 5, clientId: 'finance', data: { day } }))));
  // …then customers check out while it runs; they must not wait behind the flood.
  const checkouts: string[] = [];
  for (let i = 0; i < 40 * scale; i++) {
    const id = await runtime.submit({ type: 'checkout', priority: i % 10 === 0 ? 'critical' : 'high', clientId: 'shop', data: { total: 10 + i } });
    note([id]);
    checkouts.push(id);
    await sleep(5);
  }
  return checkouts;
}

/** Watches one round: what ran in which tier, and how long each tier waited to start. */
export function trackTiers(runtime: Runtime): { note(ids: string[]): void; report(): TierReport[]; off(): void } {
  const waits = new Map<Tier, number[]>(TIERS.map((t) => [t, []]));
  const submittedAt = new Map<string, number>();
  type Counts = { ran: number; failed: number; retried: number };
  const counts = new Map<Tier, Counts>(TIERS.map((t) => [t, { ran: 0, failed: 0, retried: 0 }]));
  const count = (event: PayloadEvent, key: keyof Counts) => {
    if (submittedAt.has(event.id)) (counts.get(event.tier) as Counts)[key] += 1;
  };
  const offs = [
    runtime.events.on('started', (e) => {
      const at = submittedAt.get(e.id);
      if (e.attempt === 1 && at !== undefined) waits.get(e.tier)?.push(e.at - at);
    }),
    runtime.events.on('completed', (e) => count(e, 'ran')),
    runtime.events.on('failed', (e) => count(e, 'failed')),
    runtime.events.on('retrying', (e) => count(e, 'retried')),
  ];
  return {
    note: (ids) => ids.forEach((id) => submittedAt.set(id, Date.now())),
    report: () =>
      TIERS.map((tier) => {
        const sorted = [...(waits.get(tier) ?? [])].sort((a, b) => a - b);
        const c = counts.get(tier) as Counts;
        const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
        return { tier, ...c, waitP50: at(0.5), waitP99: at(0.99), waitMax: sorted.at(-1) ?? 0 };
      }),
    off: () => offs.forEach((off) => off()),
  };
}

/** The report as a small table. */
export function formatReport(report: readonly TierReport[]): string {
  const rows = report.map((r) =>
    `${r.tier.padEnd(9)} ${String(r.ran).padStart(4)} ${String(r.failed).padStart(7)} ${String(r.retried).padStart(8)} ${r.waitP50.toFixed(1).padStart(12)} ${r.waitMax.toFixed(1).padStart(12)}`);
  return ['tier       ran  failed  retried  wait p50 ms  wait max ms', ...rows].join('\n');
}

export async function runMainJob(scale = 1): Promise<TierReport[]> {
  const runtime = createRuntime(mainJobOptions);
  registerMainJob(runtime);
  const tracker = trackTiers(runtime);
  const checkouts = await submitMainJob(runtime, scale, tracker.note);
  await Promise.all(checkouts.map((id) => runtime.waitFor(id)));
  await runtime.stop({ drain: true });
  return tracker.report();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  console.log(formatReport(await runMainJob()));
  console.log(`done in ${Date.now() - started} ms`);
}
