/**
 * Handlers of the ETL workflow. The source is synthetic and deterministic (row i of a source is
 * computed from i), so a run can be checked against a direct computation.
 */
import type { HandlerContext } from '../src/index.ts';

export interface Chunk {
  readonly source: string;
  readonly from: number;
  readonly to: number;
}

/** Aggregates of some rows: counts and sums per region. */
export interface Aggregate {
  readonly rows: number;
  readonly revenue: number;
  readonly byRegion: Readonly<Record<string, number>>;
}

const REGIONS = ['emea', 'amer', 'apac'] as const;

/** Row `i` of the synthetic source: an order with a region and an amount in cents. */
export function row(i: number): { region: string; cents: number } {
  return { region: REGIONS[i % REGIONS.length] as string, cents: ((i * 7919) % 10_000) + 1 };
}

export const handlers = {
  'etl.plan': (job: { source: string; rows: number; chunkSize: number }): { chunks: Chunk[] } => {
    const chunks: Chunk[] = [];
    for (let from = 0; from < job.rows; from += job.chunkSize) chunks.push({ source: job.source, from, to: Math.min(job.rows, from + job.chunkSize) });
    return { chunks };
  },
  /** Extract and transform one chunk into partial aggregates (the rows never leave the handler). */
  'etl.extract': async (chunk: Chunk, ctx: HandlerContext): Promise<Aggregate> => {
    const byRegion: Record<string, number> = {};
    let revenue = 0;
    for (let i = chunk.from; i < chunk.to; i++) {
      const r = row(i);
      revenue += r.cents;
      byRegion[r.region] = (byRegion[r.region] ?? 0) + r.cents;
      if (ctx.signal.aborted) throw ctx.signal.reason;
    }
    await new Promise((resolve) => setImmediate(resolve)); // an I/O boundary, as reading a real chunk would have
    return { rows: chunk.to - chunk.from, revenue, byRegion };
  },
  /** Fan-in: merges the partials and "loads" the result. */
  'etl.load': (load: { source: string; partials: readonly Aggregate[] }): Aggregate & { source: string; chunks: number } => {
    const byRegion: Record<string, number> = {};
    let rows = 0;
    let revenue = 0;
    for (const p of load.partials) {
      rows += p.rows;
      revenue += p.revenue;
      for (const [region, cents] of Object.entries(p.byRegion)) byRegion[region] = (byRegion[region] ?? 0) + cents;
    }
    return { source: load.source, chunks: load.partials.length, rows, revenue, byRegion };
  },
};

