/**
 * The complexity analyzer's state and pure transitions: an exponentially weighted moving average
 * (EWMA) of what each client's payloads of each type really cost — wall time, CPU time, heap.
 *
 * Why EWMA and not a window: one number per measure per (client, type) whatever the traffic, so
 * thousands of clients cost a few hundred bytes each; it follows drift (a client whose payloads
 * grow heavier is re-scored within ~1/alpha observations) and needs no buffer of past samples.
 * A window would answer "the last N" exactly but cost N samples per key and jump when old
 * samples fall out. Costs arrive summed per interval; n samples of mean m move the average as n
 * single updates of m would: avg += (1 − (1 − alpha)^n) × (m − avg).
 */
import { PMap } from '../../src/collections/index.ts';
import type { CostSums } from '../../src/execution/meter.ts';
import type { CompiledComplexity } from '../../src/load/options.ts';

export interface CostAverage {
  readonly clientId: string;
  readonly type: string;
  /** Runs observed (wall time is measured on every run). */
  readonly samples: number;
  readonly wallMs: number;
  /** Runs whose CPU and heap were metered (one in `sampleEvery`). */
  readonly cpuSamples: number;
  readonly cpuMs: number;
  readonly memorySamples: number;
  readonly memoryBytes: number;
  readonly updatedAt: number;
}

export interface ComplexityState {
  /** Keyed `clientId \u0000 type`. */
  readonly averages: PMap<CostAverage>;
  readonly observations: number;
}

export type ComplexityMessage =
  | { readonly type: 'costs'; readonly sums: readonly CostSums[]; readonly at: number }
  /** At boot: the averages the last snapshot kept. */
  | { readonly type: 'restore'; readonly saved: ComplexityState };

export const initialComplexityState = (): ComplexityState => ({ averages: PMap.empty(), observations: 0 });

export const keyOf = (clientId: string, type: string): string => `${clientId}\u0000${type}`;

export function reduceComplexity(state: ComplexityState, message: ComplexityMessage, options: CompiledComplexity): ComplexityState {
  if (message.type === 'restore') return message.saved;
  if (message.sums.length === 0) return state;
  let { averages, observations } = state;
  for (const sums of message.sums) {
    if (sums.n === 0) continue;
    const key = keyOf(sums.clientId, sums.type);
    const prev = averages.get(key);
    const move = (avg: number, seen: number, n: number, mean: number) => (seen === 0 ? mean : avg + (1 - (1 - options.alpha) ** n) * (mean - avg));
    averages = averages.set(key, {
      clientId: sums.clientId,
      type: sums.type,
      samples: (prev?.samples ?? 0) + sums.n,
      wallMs: move(prev?.wallMs ?? 0, prev?.samples ?? 0, sums.n, sums.wallMs / sums.n),
      cpuSamples: (prev?.cpuSamples ?? 0) + sums.cpuN,
      cpuMs: sums.cpuN === 0 ? prev?.cpuMs ?? 0 : move(prev?.cpuMs ?? 0, prev?.cpuSamples ?? 0, sums.cpuN, sums.cpuMs / sums.cpuN),
      memorySamples: (prev?.memorySamples ?? 0) + sums.memN,
      memoryBytes: sums.memN === 0 ? prev?.memoryBytes ?? 0 : move(prev?.memoryBytes ?? 0, prev?.memorySamples ?? 0, sums.memN, sums.memBytes / sums.memN),
      updatedAt: message.at,
    });
    observations += sums.n;
  }
  return { averages, observations };
}

/** The observed cost on the 1–10 scale: 1 + log2(cost / unitMs), cost in wall-ms equivalents. */
export function observedScore(avg: CostAverage, options: CompiledComplexity): number {
  const cost = avg.wallMs + options.cpuWeight * avg.cpuMs + options.memoryWeight * (avg.memoryBytes / 1_048_576);
  return Math.min(10, Math.max(1, 1 + Math.log2(Math.max(1, cost / options.unitMs))));
}

/** How much the observed cost counts against the client's score: grows with samples, capped. */
export const observedWeight = (samples: number, options: CompiledComplexity): number =>
  Math.min(options.maxWeight, samples / (samples + options.priorSamples));

/** Client score blended with observed cost, then inflated under load; 1–10. */
export function effectiveScore(clientScore: number, observed: number | undefined, weight: number, inflation: number): number {
  const blended = observed === undefined ? clientScore : (1 - weight) * clientScore + weight * observed;
  return Math.min(10, Math.max(1, blended * (1 + inflation)));
}
