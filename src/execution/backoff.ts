import type { CompiledBackoff } from '../options.ts';

/**
 * Delay before retry number `retry` (1 for the first retry): exponential, capped, with jitter that
 * only shortens the delay so the cap holds and a herd of retries spreads out.
 */
export function backoffDelay(backoff: CompiledBackoff, retry: number, random: () => number): number {
  const exponential = backoff.initialMs * backoff.factor ** Math.max(0, retry - 1);
  const capped = Math.min(backoff.maxMs, exponential);
  return Math.round(capped * (1 - backoff.jitter * random()));
}
