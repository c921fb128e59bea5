/**
 * Planning with speculation: the variant the user asked for is solved at high priority, while
 * sibling variants (a day shorter or longer, cheaper or dearer) are solved speculatively at low
 * priority, so the answer the user waits for is never stuck behind them.
 *
 * Under load the speculative work yields: low-priority payloads are served after high work and
 * never take the slots reserved for high tiers; being `optional`, a sibling the load coordinator
 * skips is cancelled and left out (a gap, not a failure, and the plan does not wait for load to
 * fall). They are also tagged `speculative`, heavy (complexity 7), and their handler does less when
 * `ctx.degraded`, for policies that degrade rather than skip.
 */
import { v, workflow } from '../src/dsl/index.ts';
import type { handlers } from './planning.handlers.ts';

export const PlanningInput = v.strictObject({
  user: v.pipe(v.string(), v.nonEmpty()),
  destination: v.pipe(v.string(), v.nonEmpty()),
  days: v.pipe(v.number(), v.integer(), v.minValue(1)),
  budget: v.pipe(v.number(), v.minValue(0)),
  /** How many sibling variants to explore speculatively. */
  siblings: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
export type PlanningInput = v.InferOutput<typeof PlanningInput>;

export default workflow<PlanningInput, typeof handlers>('planning', {
  description: 'the requested variant at high priority, speculative siblings at low priority',
  input: PlanningInput,
  sample: { user: 'ada', destination: 'Lisbon', days: 4, budget: 600, siblings: 6 },
})
  .step('variants', {
    handler: 'planning.variants',
    priority: 'high',
    input: ({ input }) => ({ destination: input.destination, days: input.days, budget: input.budget, siblings: input.siblings }),
  })
  .step('requested', {
    handler: 'planning.solve',
    after: ['variants'],
    priority: 'high',
    input: ({ results }) => results.variants.requested,
  })
  .each('speculative', {
    handler: 'planning.solve',
    after: ['variants'],
    priority: 'low',
    complexity: 7,
    tags: ['speculative'],
    optional: true,
    over: ({ results }) => results.variants.siblings,
    input: ({ item }) => item,
  })
  .step('present', {
    handler: 'planning.present',
    after: ['requested', 'speculative'],
    priority: 'high',
    input: ({ results }) => ({ requested: results.requested, alternatives: results.speculative }),
  })
  .output(({ input, results }) => ({ user: input.user, ...results.present }));
