/** Nearest-rank percentile (p in 0–100) of a sample; NaN for an empty one. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/**
 * The largest event-loop stall (ms, 1 ms resolution) while `body` runs, from the moment it calls
 * `serving` (once its runtime is built and its own inputs are prepared: what is measured is the
 * engine at work, not the bench setting up or a runtime compiled cold), with its result.
 */
export async function withStall<T>(body: (serving: () => void) => Promise<T>): Promise<{ value: T; stallMs: number }> {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const delay = monitorEventLoopDelay({ resolution: 1 });
  try {
    const value = await body(() => delay.enable());
    return { value, stallMs: delay.max / 1e6 };
  } finally {
    delay.disable();
  }
}
