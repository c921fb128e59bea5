/**
 * Load signals from one round: the process sample as measured, and queue signals computed from the
 * partitions' reports and the pool. Queue depth becomes time (`backlogMs`) and arrivals become a
 * share of capacity (`offeredLoad`) through the pool's mean run time, so the thresholds mean the
 * same on a pool of 4 slots running 1 s jobs and one of 400 running 1 ms jobs.
 */
import type { LoadSignals } from '../../src/load/levels.ts';
import type { CompiledOptions } from '../../src/options.ts';
import type { CoordinatorState } from './state.ts';

/** Arrivals are smoothed over about this long, so one burst is not mistaken for sustained load. */
const ARRIVAL_SMOOTHING_MS = 1_000;

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
  const completed = state.reports.map((r, p) => r?.totals.completed ?? state.completed[p] ?? 0);
  const elapsedRound = Math.max(1, at - state.arrivals.at);
  const throughput = completed.map((n, p) => (Math.max(0, n - (state.completed[p] ?? 0)) * 1000) / elapsedRound);
  for (const report of state.reports) {
    if (!report) continue;
    queued += report.depth.critical + report.depth.high + report.depth.medium + report.depth.low;
    accepted += report.totals.accepted;
    oldestWaitRatio = Math.max(
      oldestWaitRatio,
      report.oldestWait.critical / runtime.maxWait.critical,
      report.oldestWait.high / runtime.maxWait.high,
    );
  }
  const elapsed = at - state.arrivals.at;
  let arrivals = state.arrivals;
  if (elapsed > 0) {
    const rate = (Math.max(0, accepted - state.arrivals.accepted) * 1000) / elapsed;
    const weight = 1 - Math.exp(-elapsed / ARRIVAL_SMOOTHING_MS);
    arrivals = { accepted, at, perSecond: state.arrivals.perSecond + weight * (rate - state.arrivals.perSecond) };
  }
  const slots = Math.max(1, pool.size);
  const signals: LoadSignals = {
    eventLoopDelayMs: process.eventLoopDelayMs,
    eventLoopUtilization: process.eventLoopUtilization,
    cpu: process.cpu,
    heapUsedRatio: process.heapUsedRatio,
    rssBytes: process.rssBytes,
    backlogMs: (queued * pool.meanRunMs) / slots,
    oldestWaitRatio,
    offeredLoad: (arrivals.perSecond * pool.meanRunMs) / (slots * 1000),
  };
  return { signals, arrivals, queued, throughput, completed };
}
