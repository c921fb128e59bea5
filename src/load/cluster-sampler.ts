/**
 * The process load the elected coordinator of a cluster decides on: the worst of its own and of
 * what the other nodes last reported, signal by signal. A node that is critical makes the cluster
 * critical: its partitions are where the pressure is, whatever the coordinator's own process feels.
 */
import type { LoadSampler, ProcessLoad } from './sampler.ts';

export interface RemoteLoads {
  /** The process load of the other nodes, as they last reported it (fresh reports only). */
  remoteLoads(): readonly ProcessLoad[];
}

export function clusterSampler(own: LoadSampler, cluster: RemoteLoads): LoadSampler {
  return {
    ...own,
    sample: () => worstOf(own.sample(), cluster.remoteLoads()),
    cpuMicros: () => own.cpuMicros(),
    heapUsed: () => own.heapUsed(),
    start: own.start && (() => own.start!()),
    stop: own.stop && (() => own.stop!()),
  };
}

function worstOf(own: ProcessLoad, others: readonly ProcessLoad[]): ProcessLoad {
  let worst = own;
  for (const load of others) {
    worst = {
      eventLoopDelayMs: Math.max(worst.eventLoopDelayMs, load.eventLoopDelayMs),
      eventLoopUtilization: Math.max(worst.eventLoopUtilization, load.eventLoopUtilization),
      cpu: Math.max(worst.cpu, load.cpu),
      heapUsedBytes: Math.max(worst.heapUsedBytes, load.heapUsedBytes),
      heapUsedRatio: Math.max(worst.heapUsedRatio, load.heapUsedRatio),
      rssBytes: Math.max(worst.rssBytes, load.rssBytes),
    };
  }
  return worst;
}
