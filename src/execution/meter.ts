/**
 * What runs really cost, for the complexity analyzer and the coordinator's backlog estimate.
 *
 * Wall time is measured for every run (one clock read at each end). CPU and heap are read from the
 * load sampler's meters on one run in `sampleEvery` (the CPU meter is the event loop's busy time,
 * where all handler JavaScript runs). Payloads overlap and the meter is shared, so a sampled run is
 * charged the CPU used while it ran divided by the mean number of runs in flight over that time
 * (the time integral of the in-flight count, kept with one multiply-add per start and end). Heap growth is attributed the same way and
 * clamped at 0 (a collection during the run would otherwise make it negative). Both are estimates:
 * a run that burns CPU next to idle ones is under-charged, its idle neighbours over-charged; the
 * analyzer's averages smooth that over many samples.
 *
 * Costs are summed per client and type without allocating per run, and drained once per interval.
 */
export interface CostSource {
  cpuMicros(): number;
  heapUsed(): number;
}

/** One client's payloads of one type, since the last drain. */
export interface CostSums {
  readonly clientId: string;
  readonly type: string;
  /** Runs counted (batch members count one each). */
  n: number;
  wallMs: number;
  cpuN: number;
  cpuMs: number;
  memN: number;
  memBytes: number;
}

/** A run's meter readings at its start (negative when it is not sampled). */
export interface MeterMark {
  cpu0: number;
  heap0: number;
  integral0: number;
}

export class RunMeter {
  private active = 0;
  private integral = 0;
  private lastAt = 0;
  private counter = 0;
  private sums = new Map<string, Map<string, CostSums>>();
  /** EWMA of run wall time, ms: the coordinator turns queue depth into time with it. */
  meanRunMs = 0;
  private runs = 0;

  constructor(
    private readonly source: CostSource | undefined,
    private readonly sampleEvery: number,
  ) {}

  begin(mark: MeterMark, now: number): void {
    this.advance(now);
    this.active++;
    if (this.source && ++this.counter >= this.sampleEvery) {
      this.counter = 0;
      mark.cpu0 = this.source.cpuMicros();
      mark.heap0 = this.source.heapUsed();
      mark.integral0 = this.integral;
    } else {
      mark.cpu0 = -1;
    }
  }

  /**
   * The run ended. `clientId`/`type` undefined: cancelled or timed out, not a cost observation.
   * `members` > 1 for a batch: its cost is split evenly.
   */
  end(mark: MeterMark, startedAt: number, now: number, clientId: string | undefined, type: string, members: number): void {
    this.advance(now);
    this.active--;
    if (clientId === undefined) return;
    const wall = Math.max(0, now - startedAt);
    // A plain mean over the first 20 runs, then a moving average that follows the last ~20.
    this.runs++;
    this.meanRunMs += (wall / members - this.meanRunMs) / Math.min(this.runs, 20);
    if (!this.source) return;
    const sums = this.sumsOf(clientId, type);
    sums.n += members;
    sums.wallMs += wall;
    if (mark.cpu0 < 0) return;
    // Mean runs in flight while this one ran; with no time passing (a simulated clock), those in flight now.
    const inFlight = wall > 0 ? Math.max(1, (this.integral - mark.integral0) / wall) : Math.max(1, this.active + 1);
    sums.cpuN += members;
    sums.cpuMs += Math.max(0, this.source.cpuMicros() - mark.cpu0) / 1000 / inFlight;
    sums.memN += members;
    sums.memBytes += Math.max(0, this.source.heapUsed() - mark.heap0) / inFlight;
  }

  /** Everything summed since the last drain. */
  drain(): CostSums[] {
    if (this.sums.size === 0) return [];
    const out: CostSums[] = [];
    for (const byType of this.sums.values()) for (const sums of byType.values()) out.push(sums);
    this.sums = new Map();
    return out;
  }

  private advance(now: number): void {
    if (now > this.lastAt) {
      this.integral += this.active * (now - this.lastAt);
      this.lastAt = now;
    }
  }

  private sumsOf(clientId: string, type: string): CostSums {
    let byType = this.sums.get(clientId);
    if (!byType) this.sums.set(clientId, (byType = new Map()));
    let sums = byType.get(type);
    if (!sums) byType.set(type, (sums = { clientId, type, n: 0, wallMs: 0, cpuN: 0, cpuMs: 0, memN: 0, memBytes: 0 }));
    return sums;
  }
}
