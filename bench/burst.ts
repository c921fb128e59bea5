/**
 * (u) A burst is not overload: the default runtime (coordinator on, the real clock, in memory) on
 * an otherwise idle process gets `payloads` low payloads at once in one `submitMany`; each handler
 * sleeps `handlerMs`. Queues exist to absorb that: nothing should be skipped or degraded, and it
 * should drain about as fast as the slots low may use allow.
 *
 * The ideal is payloads × the handlers' measured mean duration ÷ the slots low may occupy (the
 * runtime's own `reservedShare` / `reservedFor` decide those). The measured mean, not `handlerMs`:
 * `setTimeout(2)` takes ~2–3 ms on Node (whole-millisecond timers, the loop's turn), and the ratio
 * is to say what the engine adds, not what the timer does.
 */
import { createRuntime, silentLogger } from '../src/index.ts';
import { tierSlotLimit } from '../src/options.ts';
import { Completions } from './waves.ts';

export interface BurstOptions {
  readonly payloads: number;
  readonly handlerMs: number;
  readonly concurrency: number;
}

export interface BurstResult {
  readonly payloads: number;
  readonly completed: number;
  readonly skipped: number;
  readonly degraded: number;
  /** Submit → last completion, ms (NaN if it did not finish within the limit). */
  readonly elapsedMs: number;
  /** The handlers' measured mean duration, ms. */
  readonly handlerMeanMs: number;
  /** Slots the low tier may occupy. */
  readonly lowSlots: number;
  /** payloads × handlerMeanMs ÷ lowSlots. */
  readonly idealMs: number;
  readonly ratio: number;
  /** Level changes, `level@seconds` after the submit (none expected). */
  readonly levels: readonly string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function triageBurst(opts: BurstOptions, serving = () => {}): Promise<BurstResult> {
  // Garbage of an earlier section is collected now, not in the middle of the burst.
  (globalThis as { gc?: () => void }).gc?.();
  const runtime = createRuntime({ concurrency: opts.concurrency, logger: silentLogger });
  let handlerTotalMs = 0;
  let handlerRuns = 0;
  runtime.handle('low-work', async () => {
    const began = performance.now();
    await sleep(opts.handlerMs);
    handlerTotalMs += performance.now() - began;
    handlerRuns++;
  });
  let skipped = 0;
  let degraded = 0;
  runtime.events.on('skipped', () => void skipped++);
  runtime.events.on('degraded', () => void degraded++);
  const levels: string[] = [];
  runtime.events.on('coordinator.decision', (d) => void (d.action === 'level' && levels.push(`${d.level}@${((performance.now() - started) / 1_000).toFixed(1)}s: ${d.reason}`)));
  const completions = new Completions(runtime);
  let completed = 0;
  runtime.events.on('completed', () => void completed++);
  const items = Array.from({ length: opts.payloads }, () => ({ type: 'low-work', priority: 'low' as const }));
  const lowSlots = tierSlotLimit(runtime.options, runtime.options.concurrency, 'low');
  // Skipped work would be rescheduled once load falls: give it time, but do not hang the bench.
  const limitMs = Math.max(60_000, (10 * opts.payloads * opts.handlerMs) / lowSlots);
  serving();

  const started = performance.now();
  await runtime.submitMany(items);
  let limit: ReturnType<typeof setTimeout> | undefined;
  const finished = await Promise.race([
    completions.reached(opts.payloads).then(() => true),
    new Promise<false>((resolve) => (limit = setTimeout(() => resolve(false), limitMs))),
  ]);
  const elapsedMs = finished ? performance.now() - started : Number.NaN;
  clearTimeout(limit);
  await runtime.stop();

  const handlerMeanMs = handlerTotalMs / handlerRuns;
  const idealMs = (opts.payloads * handlerMeanMs) / lowSlots;
  return { payloads: opts.payloads, completed, skipped, degraded, elapsedMs, handlerMeanMs, lowSlots, idealMs, ratio: elapsedMs / idealMs, levels };
}
