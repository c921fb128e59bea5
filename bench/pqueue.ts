/**
 * The in-process reference column of (a): p-queue 10 with priorities and the same producer as the
 * Triage column (add a wave of tasks, wait until the queue is idle, add the next).
 */
import { TIER_PRIORITIES } from './waves.ts';

interface PQueueLike {
  add(task: () => unknown, options: { priority: number }): Promise<unknown>;
  onIdle(): Promise<void>;
}
type PQueueClass = new (options: { concurrency: number }) => PQueueLike;

/** p-queue is a bench-only dependency, loaded when this column runs. */
async function loadPQueue(): Promise<PQueueClass> {
  const specifier = 'p-queue';
  const module = (await import(specifier)) as { default: PQueueClass };
  return module.default;
}

/** p-queue's priorities for critical, high, medium, low (higher runs first). */
const PQUEUE_PRIORITY = [10, 7, 5, 2] as const;

export async function pqueueThroughput(opts: { payloads: number; wave: number; concurrency: number }): Promise<number> {
  const PQueue = await loadPQueue();
  const queue = new PQueue({ concurrency: opts.concurrency });
  const noop = () => undefined;
  const started = performance.now();
  for (let offset = 0; offset < opts.payloads; offset += opts.wave) {
    const end = Math.min(opts.payloads, offset + opts.wave);
    for (let i = offset; i < end; i++) void queue.add(noop, { priority: PQUEUE_PRIORITY[i % TIER_PRIORITIES.length] as number });
    await queue.onIdle();
  }
  return opts.payloads / ((performance.now() - started) / 1000);
}
