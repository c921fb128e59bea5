/**
 * Routing policy: which tier a payload waits in. A small pure function, tested on its own.
 * (How urgent a waiting payload becomes as it ages is `urgency`, in src/execution/aging.ts.)
 */
import { TIERS, type Tier } from '../../src/payload.ts';

export interface RoutingInput {
  /** 1–10, 10 most urgent. */
  readonly priority: number;
  /** The effective complexity (1–10) used for routing. */
  readonly complexity: number;
}

export interface RoutingPolicy {
  /** At or above this complexity a payload is routed one tier down. */
  readonly heavyComplexity: number;
}

/** The tier a priority maps to before complexity is considered. */
export function tierOfPriority(priority: number): Tier {
  if (priority >= 9) return 'critical';
  if (priority >= 7) return 'high';
  if (priority >= 4) return 'medium';
  return 'low';
}

/**
 * Heavy payloads move one tier down so they do not crowd out light work of the same priority.
 * Critical work is never demoted: it is critical because someone is waiting on it.
 */
export function routeTier(input: RoutingInput, policy: RoutingPolicy): Tier {
  return routeTierOf(input.priority, input.complexity, policy);
}

/** `routeTier` on plain numbers: the hot path routes with a boosted priority and an effective score without building an object. */
export function routeTierOf(priority: number, complexity: number, policy: RoutingPolicy): Tier {
  const base = tierOfPriority(priority);
  if (base === 'critical' || complexity < policy.heavyComplexity) return base;
  return TIERS[Math.min(TIERS.length - 1, TIERS.indexOf(base) + 1)] as Tier;
}
