/**
 * (n) Clients sharing a tier (the mailbox's weighted deficit round robin, src/fairness.ts), on the
 * embedded default with the coordinator on and the real clock:
 *
 * - A noisy neighbour: client A submits a flood of medium payloads at once, then client B trickles
 *   its own medium payloads in at a fixed gap. B's wait (handler start − submit) should not be A's
 *   backlog: FIFO across clients would make B wait for all of A.
 * - Weights: clients a, b, c flood at once with weights 3, 2, 1; of the first starts, each should
 *   get its weight's share.
 *
 * Payloads keep their default shard key (their id), so every client's work is spread over all the
 * partitions: B's trickle is fair only if the partitions holding A's flood also take turns.
 */
import { createRuntime, silentLogger, type HandlerContext } from '../src/index.ts';
import { percentile } from './stats.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface NeighbourOptions {
  readonly floodPayloads: number;
  readonly tricklePayloads: number;
  readonly gapMs: number;
  readonly handlerMs: number;
  readonly concurrency: number;
}

export interface NeighbourResult {
  readonly p50: number;
  readonly p99: number;
  readonly trickled: number;
  /** A's payloads not yet started when B's last one started: more than 0, or B just waited A out. */
  readonly floodLeft: number;
}

export async function triageNoisyNeighbour(opts: NeighbourOptions, serving = () => {}): Promise<NeighbourResult> {
  const runtime = createRuntime({ concurrency: opts.concurrency, logger: silentLogger });
  const waits: number[] = [];
  let floodStarted = 0;
  let floodLeft = Number.NaN;
  runtime.handle('work', async (data: { submittedAt?: number }, ctx: HandlerContext) => {
    if (ctx.clientId === 'B') {
      waits.push(performance.now() - (data.submittedAt as number));
      if (waits.length === opts.tricklePayloads) floodLeft = opts.floodPayloads - floodStarted;
    } else {
      floodStarted++;
    }
    await sleep(opts.handlerMs);
  });
  serving();
  await runtime.submitMany(Array.from({ length: opts.floodPayloads }, () => ({ type: 'work', clientId: 'A', priority: 'medium' as const, data: {} })));
  // A fixed schedule (not sleep-after-submit), as the BullMQ column does, so submit time does not stretch the gaps.
  const ids: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < opts.tricklePayloads; i++) {
    const ahead = t0 + i * opts.gapMs - performance.now();
    if (ahead > 0) await sleep(ahead);
    ids.push(await runtime.submit({ type: 'work', clientId: 'B', priority: 'medium', data: { submittedAt: performance.now() } }));
  }
  await Promise.all(ids.map((id) => runtime.waitFor(id)));
  await runtime.stop();
  return { p50: percentile(waits, 50), p99: percentile(waits, 99), trickled: waits.length, floodLeft };
}

export interface WeightOptions {
  readonly weights: Readonly<Record<string, number>>;
  readonly perClient: number;
  /** Starts counted, from the first. */
  readonly counted: number;
  readonly handlerMs: number;
  readonly concurrency: number;
}

export interface WeightShare {
  readonly client: string;
  readonly starts: number;
  readonly share: number;
  readonly expected: number;
}

export async function triageWeights(opts: WeightOptions, serving = () => {}): Promise<WeightShare[]> {
  const runtime = createRuntime({ concurrency: opts.concurrency, logger: silentLogger, fairness: { weights: opts.weights } });
  const clients = Object.keys(opts.weights);
  const starts = new Map(clients.map((client) => [client, 0]));
  let counted = 0;
  let enough: () => void = () => {};
  const reached = new Promise<void>((resolve) => (enough = resolve));
  runtime.handle('work', async (_: unknown, ctx: HandlerContext) => {
    if (counted < opts.counted) {
      starts.set(ctx.clientId, (starts.get(ctx.clientId) ?? 0) + 1);
      if (++counted === opts.counted) enough();
    }
    await sleep(opts.handlerMs);
  });
  serving();
  // Each client's flood in turn in one call: served first come first served, a would have the slots to itself.
  await runtime.submitMany(clients.flatMap((clientId) => Array.from({ length: opts.perClient }, () => ({ type: 'work', clientId, priority: 'medium' as const }))));
  await reached;
  await runtime.stop();
  const total = clients.reduce((sum, client) => sum + (opts.weights[client] as number), 0);
  return clients.map((client) => {
    const n = starts.get(client) ?? 0;
    return { client, starts: n, share: n / opts.counted, expected: (opts.weights[client] as number) / total };
  });
}
