/**
 * Wait times of the attempts started since the last `take()`, per tier, as counts in log-spaced
 * buckets: one array increment per start, and p50/p99 read once a second by the admin's series.
 * Buckets grow by 25% from 10 µs, so a quantile is within 12% of the true value up to ~9 minutes.
 */
import { TIERS, type Tier } from '../payload.ts';

const BUCKETS = 80;
const FIRST_MS = 0.01;
const GROWTH = 1.25;
const LOG_GROWTH = Math.log(GROWTH);
const TIER_INDEX: Readonly<Record<Tier, number>> = { critical: 0, high: 1, medium: 2, low: 3 };

/** p50 and p99 of one tier's waits, ms; null when nothing started in that tier. */
export interface WaitQuantiles {
  readonly p50: number | null;
  readonly p99: number | null;
  readonly count: number;
}

export class WaitWindow {
  private readonly counts = new Uint32Array(BUCKETS * TIERS.length);
  private readonly totals = new Uint32Array(TIERS.length);

  observe(tier: Tier, seconds: number): void {
    const ms = seconds * 1000;
    const bucket = ms <= FIRST_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / FIRST_MS) / LOG_GROWTH));
    const t = TIER_INDEX[tier];
    this.counts[t * BUCKETS + bucket]! += 1;
    this.totals[t]! += 1;
  }

  /** The quantiles per tier since the last call, and starts afresh. */
  take(): Record<Tier, WaitQuantiles> {
    const out = {} as Record<Tier, WaitQuantiles>;
    TIERS.forEach((tier, t) => {
      const count = this.totals[t] ?? 0;
      out[tier] = { p50: this.quantile(t, count, 0.5), p99: this.quantile(t, count, 0.99), count };
    });
    this.counts.fill(0);
    this.totals.fill(0);
    return out;
  }

  private quantile(t: number, count: number, q: number): number | null {
    if (count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[t * BUCKETS + b] ?? 0;
      // The bucket's geometric middle: its bounds are FIRST_MS × GROWTH^(b-1) and × GROWTH^b.
      if (seen >= rank) return b === 0 ? FIRST_MS : FIRST_MS * GROWTH ** (b - 0.5);
    }
    return FIRST_MS * GROWTH ** (BUCKETS - 1);
  }
}
