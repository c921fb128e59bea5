/**
 * Process load sampling behind an injectable interface. The runtime asks once per coordinator
 * interval; tests inject a scripted sampler so every load level and transition is deterministic.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** What the process looked like over the last interval. */
export interface ProcessLoad {
  /** p99 event-loop delay over the interval, ms. */
  readonly eventLoopDelayMs: number;
  /** Share of the interval the event loop was busy, 0–1. */
  readonly eventLoopUtilization: number;
  /** Process CPU time (user + system) over the interval, as a share of one core (can exceed 1 with GC threads). */
  readonly cpu: number;
  readonly heapUsedBytes: number;
  /** Heap used over V8's heap size limit, 0–1. */
  readonly heapUsedRatio: number;
  readonly rssBytes: number;
}

export interface LoadSampler {
  /** Load since the previous call (the first call measures since `start`). */
  sample(): ProcessLoad;
  /**
   * Cumulative CPU time of the thread handlers run on, µs: the complexity analyzer's CPU meter.
   * The system sampler reads the event loop's active time (perf_hooks): no system call, ~0.3 µs,
   * where process.cpuUsage() costs a getrusage call (measured at ~100 µs a read under load here).
   */
  cpuMicros(): number;
  /** Current V8 heap in use, bytes: the complexity analyzer's memory meter. */
  heapUsed(): number;
  start?(): void;
  stop?(): void;
}

export const IDLE_LOAD: ProcessLoad = Object.freeze({
  eventLoopDelayMs: 0, eventLoopUtilization: 0, cpu: 0, heapUsedBytes: 0, heapUsedRatio: 0, rssBytes: 0,
});

/** The real process: perf_hooks event-loop delay and utilisation, process.cpuUsage, heap and RSS. */
export function systemLoadSampler(): LoadSampler {
  let histogram: IntervalHistogram | undefined;
  let elu = performance.eventLoopUtilization();
  let cpu = process.cpuUsage();
  let at = performance.now();
  const heapLimit = getHeapStatistics().heap_size_limit;
  return {
    start() {
      // 20 ms resolution: fine enough for thresholds in the tens of ms, cheap enough to leave on.
      histogram ??= monitorEventLoopDelay({ resolution: 20 });
      histogram.enable();
      elu = performance.eventLoopUtilization();
      cpu = process.cpuUsage();
      at = performance.now();
    },
    stop() {
      histogram?.disable();
    },
    sample() {
      const now = performance.now();
      const nextElu = performance.eventLoopUtilization();
      const nextCpu = process.cpuUsage();
      const elapsedMicros = Math.max(1, (now - at) * 1000);
      const usage = (nextCpu.user - cpu.user + nextCpu.system - cpu.system) / elapsedMicros;
      const memory = process.memoryUsage();
      const delayNs = histogram && histogram.count > 0 ? histogram.percentile(99) : 0;
      histogram?.reset();
      const load: ProcessLoad = {
        eventLoopDelayMs: delayNs / 1e6,
        eventLoopUtilization: performance.eventLoopUtilization(nextElu, elu).utilization,
        cpu: usage,
        heapUsedBytes: memory.heapUsed,
        heapUsedRatio: memory.heapUsed / heapLimit,
        rssBytes: memory.rss,
      };
      elu = nextElu;
      cpu = nextCpu;
      at = now;
      return load;
    },
    cpuMicros: () => performance.eventLoopUtilization().active * 1000,
    heapUsed: () => getHeapStatistics().used_heap_size,
  };
}

/**
 * A sampler that reports whatever the test sets, and meters that advance only when told. With a
 * simulated clock the real process's load means nothing (its intervals are not the clock's), so the
 * runtime uses one of these, idle, unless a sampler is injected.
 */
export class ScriptedLoadSampler implements LoadSampler {
  private load: ProcessLoad = IDLE_LOAD;
  private cpu = 0;
  private heap = 0;

  /** Sets (part of) what the next samples report; unset fields keep their values. */
  set(load: Partial<ProcessLoad>): this {
    this.load = { ...this.load, ...load };
    return this;
  }

  /** Back to an idle process. */
  reset(): this {
    this.load = IDLE_LOAD;
    return this;
  }

  /** Advances the CPU meter (µs) and sets the heap meter: what a handler "costs" in a test. */
  spend(cpuMicros: number, heapBytes = this.heap): this {
    this.cpu += cpuMicros;
    this.heap = heapBytes;
    return this;
  }

  sample(): ProcessLoad {
    return this.load;
  }

  cpuMicros(): number {
    return this.cpu;
  }

  heapUsed(): number {
    return this.heap;
  }
}
