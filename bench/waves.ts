/**
 * The producer of (a): submit a wave with `submitMany` (in batches of `batch`), wait until all of it
 * has completed, then submit the next. It is how p-queue is fastest (add, then `onIdle`), and the
 * p-queue and BullMQ columns use the same one.
 */
import type { Runtime } from '../src/index.ts';

/** The four tiers, round robin. */
export const TIER_PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;

/** Counts `completed` events; `reached(n)` resolves once n have been seen. */
export class Completions {
  private count = 0;
  private target = Number.POSITIVE_INFINITY;
  private wake: (() => void) | undefined;

  constructor(runtime: Runtime) {
    runtime.events.on('completed', () => {
      if (++this.count >= this.target) this.wake?.();
    });
  }

  reached(n: number): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve) => {
      this.target = n;
      this.wake = () => {
        this.target = Number.POSITIVE_INFINITY;
        this.wake = undefined;
        resolve();
      };
    });
  }
}

export async function produceInWaves(runtime: Runtime, opts: { payloads: number; batch: number }): Promise<void> {
  const completions = new Completions(runtime);
  for (let offset = 0; offset < opts.payloads; offset += opts.batch) {
    const size = Math.min(opts.batch, opts.payloads - offset);
    await runtime.submitMany(Array.from({ length: size }, (_, i) => ({ type: 'noop', priority: TIER_PRIORITIES[(offset + i) % TIER_PRIORITIES.length] })));
    await completions.reached(offset + size);
  }
}
