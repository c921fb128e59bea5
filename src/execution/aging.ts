import { TIER_RANK, type Tier } from '../payload.ts';

/** Where overdue work scores from: above every tier's band (0–3.999). */
const OVERDUE_FLOOR = 100;

/**
 * Urgency of a waiting payload. Within its band a payload's urgency rises with its wait but stays
 * below the next tier's fresh work. Once it has waited its tier's `maxWait` it is overdue and
 * scores above every payload that is not, by how long ago its deadline (queued at + `maxWait`)
 * passed, in ms: overdue work is served earliest deadline first, whatever its tier. (A ratio of
 * wait to `maxWait` would not do: a high tier's backlog, with a shorter `maxWait`, grows its ratio
 * faster than an overdue low payload's and would win forever.) Every wait is thus bounded while
 * slots free up.
 */
export function urgency(tier: Tier, waitedMs: number, maxWaitMs: number): number {
  const overdueMs = waitedMs - maxWaitMs;
  if (overdueMs >= 0) return OVERDUE_FLOOR + overdueMs;
  return TIER_RANK[tier] + Math.max(0, waitedMs / maxWaitMs) * 0.999;
}
