/**
 * The admin page's history: one point per second for the last 15 minutes, in a ring of fixed size.
 * A point is read from what the runtime already counts (partition totals, queue depths, the pool,
 * the load level) and the waits of the attempts started in that second; sampling costs one pass
 * over the partitions' counters a second, nothing per payload.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { WaitQuantiles } from '../metrics/wait-window.ts';
import { TIERS, type Tier } from '../payload.ts';
import type { RuntimeStats } from '../runtime.ts';
import type { LoadLevel } from './sources.ts';

export const SERIES_INTERVAL_MS = 1_000;
export const SERIES_CAPACITY = 900;

export interface SeriesPoint {
  /** Epoch ms of the sample. */
  readonly t: number;
  /** Wait from ready to started of the attempts started since the point before, ms; null: none started. */
  readonly waitP50: Readonly<Record<Tier, number | null>>;
  readonly waitP99: Readonly<Record<Tier, number | null>>;
  /** Per second since the point before. */
  readonly completed: number;
  readonly failed: number;
  readonly retried: number;
  readonly level: LoadLevel;
  /** Queued now, per tier, over this process's partitions. */
  readonly depth: Readonly<Record<Tier, number>>;
  readonly busy: number;
  readonly running: number;
  readonly size: number;
}

export interface SeriesSources {
  readonly clock: Clock;
  stats(): RuntimeStats;
  level(): LoadLevel;
  /** The waits since the last call, per tier (and starts afresh). */
  takeWaits(): Readonly<Record<Tier, WaitQuantiles>>;
}

interface Counted {
  readonly t: number;
  readonly completed: number;
  readonly failed: number;
  readonly retried: number;
}

export class SeriesRing {
  private readonly points: Array<SeriesPoint | undefined>;
  private next = 0;
  private count = 0;
  private last: Counted | undefined;
  private timer: TimerHandle | undefined;

  constructor(private readonly sources: SeriesSources, readonly capacity = SERIES_CAPACITY, readonly intervalMs = SERIES_INTERVAL_MS) {
    this.points = new Array<SeriesPoint | undefined>(capacity);
  }

  /** Samples now and every interval until `stop()`; a second call does nothing. */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.sample();
      this.timer = this.sources.clock.setTimer(this.intervalMs, tick);
    };
    tick();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Takes one point now. */
  sample(): SeriesPoint {
    const { clock } = this.sources;
    const t = clock.now();
    const stats = this.sources.stats();
    const depth = { critical: 0, high: 0, medium: 0, low: 0 };
    let completed = 0;
    let failed = 0;
    let retried = 0;
    for (const p of stats.partitions) {
      for (const tier of TIERS) depth[tier] += p.depth[tier];
      completed += p.totals.completed;
      failed += p.totals.failed;
      retried += p.totals.retried;
    }
    const before = this.last;
    const seconds = before ? Math.max(0.001, (t - before.t) / 1000) : 1;
    // Totals can fall (a partition handed to another node): a rate is never negative.
    const rate = (now: number, then: number | undefined) => (then === undefined ? 0 : Math.max(0, now - then) / seconds);
    const waits = this.sources.takeWaits();
    const point: SeriesPoint = {
      t,
      waitP50: perTier((tier) => round(waits[tier].p50)),
      waitP99: perTier((tier) => round(waits[tier].p99)),
      completed: round(rate(completed, before?.completed)) ?? 0,
      failed: round(rate(failed, before?.failed)) ?? 0,
      retried: round(rate(retried, before?.retried)) ?? 0,
      level: this.sources.level(),
      depth,
      busy: stats.pool.busy,
      running: stats.pool.running,
      size: stats.pool.size,
    };
    this.last = { t, completed, failed, retried };
    this.points[this.next] = point;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.capacity, this.count + 1);
    return point;
  }

  /** Points oldest first; with `since`, only those taken after it. */
  list(since?: number): SeriesPoint[] {
    const out: SeriesPoint[] = [];
    for (let i = 0; i < this.count; i++) {
      const point = this.points[(this.next - this.count + i + this.capacity) % this.capacity];
      if (point && (since === undefined || point.t > since)) out.push(point);
    }
    return out;
  }

  get size(): number {
    return this.count;
  }
}

const perTier = <T>(value: (tier: Tier) => T): Record<Tier, T> => ({ critical: value('critical'), high: value('high'), medium: value('medium'), low: value('low') });

/** Three significant figures are all a chart shows; they keep the JSON short. */
function round(value: number | null): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  return value === 0 ? 0 : Number(value.toPrecision(3));
}
