/**
 * The process's default metrics (CPU, memory, heap, event-loop lag, GC, handles) on a registry of
 * their own, created once per process. They describe the process, not a runtime: two runtimes in
 * one process share them, and each prom-client default collector starts a monitor that cannot be
 * stopped, so one set per process is also the only set that does not leak.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

export function processRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
