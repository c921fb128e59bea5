/**
 * ETL fan-out / fan-in: plan the chunks of a source, extract and transform every chunk in
 * parallel (one payload per chunk), then merge the partial aggregates and load them (the join
 * runs once every chunk has ended).
 */
import { v, workflow } from '../src/dsl/index.ts';
import type { handlers } from './etl.handlers.ts';

const count = v.pipe(v.number(), v.integer(), v.minValue(1));
export const EtlInput = v.strictObject({ source: v.pipe(v.string(), v.nonEmpty()), rows: count, chunkSize: count });
export type EtlInput = v.InferOutput<typeof EtlInput>;

export default workflow<EtlInput, typeof handlers>('etl', {
  description: 'split a source into chunks, transform them in parallel, merge and load',
  input: EtlInput,
  sample: { source: 'orders-2024', rows: 20_000, chunkSize: 500 },
})
  .step('plan', {
    handler: 'etl.plan',
    input: ({ input }) => ({ source: input.source, rows: input.rows, chunkSize: input.chunkSize }),
  })
  .each('extract', {
    handler: 'etl.extract',
    after: ['plan'],
    complexity: 3,
    retries: 2,
    over: ({ results }) => results.plan.chunks,
    input: ({ item }) => item,
  })
  .step('load', {
    handler: 'etl.load',
    after: ['extract'],
    input: ({ input, results }) => ({ source: input.source, partials: results.extract }),
  })
  .output(({ results }) => results.load);
