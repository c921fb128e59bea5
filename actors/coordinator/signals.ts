/**
 * Load signals from one round: the process sample as measured, and queue signals computed from the
 * partitions' reports and the pool. Queued work becomes time through the pool's mean run time, so
 * the thresholds mean the same on a pool of 4 slots running 1 s jobs and one of 400 running 1 ms
 * jobs. A queue that is merely long is what a queue is for: the queue signals that move a level say
 * that waiting work will miss its deadlines (`projectedWaitRatio`, `oldestWaitRatio`) or that
 * arrivals have outrun the pool for tens of seconds (`offeredLoad`), not that a burst arrived.
 */
import type { LoadSignals } from '../../src/load/levels.ts';
import { TIERS } from '../../src/payload.ts';
import type { CompiledOptions } from '../../src/options.ts';
import type { CoordinatorState } from './state.ts';

/**
 * Arrivals, CPU and event-loop utilisation are averaged over about this long (an exponential
 * average's time constant): a burst the pool drains in seconds hardly moves them, arrivals above
 * capacity or a core kept busy for tens of seconds do. A burst of cheap payloads keeps the loop and
 * a core busy while it drains, which is healthy; what says the process itself is short of breath
 * at once is the event loop's delay, and heap.
 */
const SUSTAINED_MS = 20_000;

export interface RoundSignals {
  readonly signals: LoadSignals;
  readonly arrivals: CoordinatorState['arrivals'];
  /** Payloads queued in every tier of every partition. */
  readonly queued: number;
  /** Completions per second of each partition over the round (with `completed`, the totals they were measured from). */
  readonly throughput: readonly number[];
  readonly completed: readonly number[];
}

export function roundSignals(state: CoordinatorState, runtime: Pick<CompiledOptions, 'maxWait'>): RoundSignals {
  const { process, pool, roundAt: at } = state;
  let queued = 0;
  let accepted = 0;
  let oldestWaitRatio = 0;
  const queuedByTier = { critical: 0, high: 0, medium: 0, low: 0 };
  const completed = state.reports.map((r, p) => r?.totals.completed ?? state.completed[p] ?? 0);
  const elapsedRound = Math.max(1, at - state.arrivals.at);
  const throughput = completed.map((n, p) => (Math.max(0, n - (state.completed[p] ?? 0)) * 1000) / elapsedRound);
  for (const report of state.reports) {
    if (!report) continue;
    // What limits or pauses hold is not waiting for a slot: it says nothing of load (and more slots would not run it).
    const { held } = report;
    for (const tier of TIERS) {
      const waiting = report.depth[tier] - (held?.[tier] ?? 0);
      queuedByTier[tier] += waiting;
      queued += waiting;
    }
    accepted += report.totals.accepted;
    oldestWaitRatio = Math.max(
      oldestWaitRatio,
      report.oldestWait.critical / runtime.maxWait.critical,
      report.oldestWait.high / runtime.maxWait.high,
    );
  }
  if (pool.held) {
    for (const tier of TIERS) {
      const held = Math.min(pool.held[tier], queuedByTier[tier]);
      queuedByTier[tier] -= held;
      queued -= held;
    }
  }
  const elapsed = at - state.arrivals.at;
  const weight = elapsed > 0 ? 1 - Math.exp(-elapsed / SUSTAINED_MS) : 0;
  /** The previous round's average moved towards this round's sample. */
  const sustained = (previous: number, sample: number): number => previous + weight * (sample - previous);
  const slots = Math.max(1, pool.size);
  let arrivals = state.arrivals;
  if (elapsed > 0) {
    const rate = (Math.max(0, accepted - state.arrivals.accepted) * 1000) / elapsed;
    // Each round's arrivals are priced at the mean run time of that round, then averaged: the
    // average of a product, not the product of an average arrival rate and whatever ran last
    // (after an overload the backlog's full-cost payloads made the arrivals of 20 s ago look like load).
    const offered = (rate * pool.meanRunMs) / (slots * 1000);
    arrivals = { accepted, at, perSecond: sustained(state.arrivals.perSecond, rate), offered: sustained(state.arrivals.offered, offered) };
  }
  // The newest payload of a tier waits for all queued at its tier and above: that work in pool
  // time, over the tier's maxWait, is how late the tier will be at the current service rate.
  let ahead = 0;
  let projectedWaitRatio = 0;
  for (const tier of TIERS) {
    ahead += queuedByTier[tier];
    projectedWaitRatio = Math.max(projectedWaitRatio, (ahead * pool.meanRunMs) / slots / runtime.maxWait[tier]);
  }
  const signals: LoadSignals = {
    eventLoopDelayMs: process.eventLoopDelayMs,
    eventLoopUtilization: sustained(state.signals.eventLoopUtilization, process.eventLoopUtilization),
    cpu: sustained(state.signals.cpu, process.cpu),
    heapUsedRatio: process.heapUsedRatio,
    rssBytes: process.rssBytes,
    backlogMs: (queued * pool.meanRunMs) / slots,
    oldestWaitRatio,
    projectedWaitRatio,
    offeredLoad: arrivals.offered,
  };
  return { signals, arrivals, queued, throughput, completed };
}
