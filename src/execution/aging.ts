import { TIER_RANK, type Tier } from '../payload.ts';

/**
 * Urgency of a waiting payload. Within its band a payload's urgency rises with its wait but stays
 * below the next tier's fresh work; once it has waited its tier's `maxWait` it jumps above every
 * payload that has not, so nothing starves while slots free up.
 */
export function urgency(tier: Tier, waitedMs: number, maxWaitMs: number): number {
  const ratio = waitedMs / maxWaitMs;
  if (ratio >= 1) return 100 + ratio;
  return TIER_RANK[tier] + Math.max(0, ratio) * 0.999;
}
