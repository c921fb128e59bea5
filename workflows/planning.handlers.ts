/**
 * Handlers of the planning workflow: a small trip planner. `solve` does real work (it scores
 * itineraries) and honours `ctx.degraded` by searching less, so a load policy can run speculative
 * variants cheaply instead of not at all.
 */
import type { HandlerContext } from '../src/index.ts';

export interface PlanRequest {
  readonly destination: string;
  readonly days: number;
  readonly budget: number;
}

export interface Variant extends PlanRequest {
  readonly label: string;
}

export interface Plan {
  readonly variant: Variant;
  readonly score: number;
  readonly itinerary: readonly string[];
  readonly searched: number;
  readonly degraded: boolean;
}

const SIGHTS = ['museum', 'old town', 'harbour', 'market', 'castle', 'park', 'gallery', 'river walk', 'cathedral', 'food tour'];

/** How long one solve takes, ms (tests and `triage run` keep it small; a real planner takes longer). */
export const solveDelay = { ms: 5 };

export const handlers = {
  /** The requested variant and its siblings: one day shorter or longer, 20% cheaper or dearer. */
  'planning.variants': (request: PlanRequest & { siblings: number }): { requested: Variant; siblings: Variant[] } => {
    const requested: Variant = { destination: request.destination, days: request.days, budget: request.budget, label: 'requested' };
    const candidates: Variant[] = [];
    for (const dDays of [-1, 1, 0]) {
      for (const factor of [0.8, 1.2, 1]) {
        if (dDays === 0 && factor === 1) continue;
        const days = request.days + dDays;
        if (days < 1) continue;
        candidates.push({ destination: request.destination, days, budget: Math.round(request.budget * factor), label: `${days}d/${Math.round(request.budget * factor)}` });
      }
    }
    return { requested, siblings: candidates.slice(0, request.siblings) };
  },
  'planning.solve': async (variant: Variant, ctx: HandlerContext): Promise<Plan> => {
    // Degraded: search a tenth of the space. The score is a deterministic function of the search.
    const space = ctx.degraded ? 200 : 2_000;
    let best = -Infinity;
    let bestSeed = 0;
    for (let seed = 0; seed < space; seed++) {
      const score = ((seed * 2654435761 + variant.days * 97 + variant.budget) % 1_000) / 10 - Math.abs(variant.budget / variant.days - 150) / 10;
      if (score > best) [best, bestSeed] = [score, seed];
    }
    await new Promise((resolve) => setTimeout(resolve, solveDelay.ms));
    const itinerary = Array.from({ length: variant.days }, (_, day) => `day ${day + 1}: ${SIGHTS[(bestSeed + day * 3) % SIGHTS.length]}`);
    return { variant, score: Math.round(best * 10) / 10, itinerary, searched: space, degraded: ctx.degraded };
  },
  'planning.present': (choice: { requested: Plan; alternatives: readonly (Plan | undefined)[] }) => ({
    plan: choice.requested,
    alternatives: choice.alternatives
      .filter((p): p is Plan => p !== undefined)
      .sort((a, b) => b.score - a.score)
      .slice(0, 3)
      .map((p) => ({ label: p.variant.label, score: p.score })),
  }),
};

