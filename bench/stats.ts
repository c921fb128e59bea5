import { readFileSync } from 'node:fs';

/** Nearest-rank percentile (p in 0–100) of a sample; NaN for an empty one. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** The run whose `measure` is the median of the runs' (the lower middle of an even count), so its other figures go with it. */
export function medianRun<T>(runs: readonly T[], measure: (run: T) => number): T {
  if (runs.length === 0) throw new Error('no runs');
  const sorted = [...runs].sort((a, b) => measure(a) - measure(b));
  return sorted[Math.ceil(sorted.length / 2) - 1] as T;
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/** The main thread's time on a CPU so far, ns (Linux: its schedstat); undefined where that is not readable. */
function mainThreadCpuNs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/**
 * The largest event-loop stall (ms, 1 ms resolution) while `body` runs, from the moment it calls
 * `serving` (once its runtime is built and its own inputs are prepared: what is measured is the
 * engine at work, not the bench setting up or a runtime compiled cold), with its result. Beside it,
 * the most CPU time the main thread had in any one gap between two 1 ms ticks (`busiestTurnMs`, GC
 * work on the main thread included): on a shared machine a stall is also the time the process waited
 * for a core, which this leaves out.
 */
export async function withStall<T>(body: (serving: () => void) => Promise<T>): Promise<{ value: T; stallMs: number; busiestTurnMs: number | undefined }> {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let busiest: number | undefined;
  let lastCpu: number | undefined;
  let ticker: ReturnType<typeof setTimeout> | undefined;
  const tick = (): void => {
    const cpu = mainThreadCpuNs();
    if (cpu !== undefined && lastCpu !== undefined) busiest = Math.max(busiest ?? 0, (cpu - lastCpu) / 1e6);
    lastCpu = cpu;
    ticker = setTimeout(tick, 1);
  };
  try {
    const value = await body(() => {
      delay.enable();
      tick();
    });
    return { value, stallMs: delay.max / 1e6, busiestTurnMs: busiest };
  } finally {
    delay.disable();
    clearTimeout(ticker);
  }
}
