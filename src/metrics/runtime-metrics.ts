/**
 * Prometheus metrics of one runtime, on a registry of its own (two runtimes in one process never
 * collide; each series carries `runtime="<name>"`, and `node="<id>"` on a cluster node). Gauges and
 * counters are read at scrape time — queue gauges from `runtime.stats()`, counters from the
 * recorder's plain arrays — so a payload's path pays no prom-client work; only the two histograms
 * are observed as attempts start and end.
 *
 * Label cardinality is bounded by configuration, never by traffic: tier (4), handler type (what is
 * registered), partition (at most `maxPartitionLabels`), client only when asked for and capped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { defineLimitMetrics } from './limit-metrics.ts';
import type { LimitsView } from '../runtime/limits-view.ts';
import { defineScheduleMetrics } from './schedule-metrics.ts';
import type { ActorInfo } from '../core/actor-system.ts';
import { OptionsError, type FieldProblem } from '../errors.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';
import type { EventHub } from '../events.ts';
import { TIERS, type Tier } from '../payload.ts';
import type { RuntimeStats } from '../runtime.ts';
import type { LoadLevel } from '../admin/sources.ts';
import type { DurabilityStats } from '../persistence/durability.ts';
import { processRegistry } from './process.ts';
import { WaitWindow } from './wait-window.ts';
import type { AttemptEntry } from './attempt-history.ts';
import { COUNTER_KINDS, MetricsRecorder, type CounterKind, type InFlightRun } from './recorder.ts';

export interface MetricsOptions {
  /** Label payload counters with the client id. Default false: client ids are unbounded. */
  readonly clientLabel?: boolean;
  /** With `clientLabel`, distinct client ids labelled; later ones are counted as `other`. Default 20. */
  readonly maxClients?: number;
  /** Queue gauges per partition up to this many partitions; above it they are summed as `partition="all"`. Default 64. */
  readonly maxPartitionLabels?: number;
  /** Append the process's default metrics (CPU, memory, event loop, GC) to the exposition. Default true. */
  readonly processMetrics?: boolean;
}

const METRICS_FIELDS = { clientLabel: true, maxClients: true, maxPartitionLabels: true, processMetrics: true } as const satisfies KnownFields<MetricsOptions>;

/** Job latencies: a few ms for critical work up to the low tier's two-minute maxWait and beyond. */
export const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** Handler run times: from sub-millisecond handlers up to several times the default 30 s timeout. */
export const RUN_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export const LOAD_LEVEL_VALUE: Readonly<Record<LoadLevel, number>> = { normal: 0, elevated: 1, critical: 2 };

/** What the metrics read from their runtime. */
export interface MetricsHost {
  readonly name: string;
  /**
   * The cluster node id, undefined when embedded. Read when scraping: the metrics may be created
   * before the runtime has joined its cluster.
   */
  nodeId?(): string | undefined;
  readonly events: EventHub;
  stats(): RuntimeStats;
  tree(): ActorInfo[];
  handlerTypes(): readonly string[];
  readySince(partition: number, id: string): number | undefined;
  loadLevel(): LoadLevel;
  /** The durable store's health and failure counters. */
  store(): DurabilityStats;
  /** Queues (partition × tier × handler type) holding payloads an operator's pause keeps from starting. */
  pausedQueues?(): number;
  /** The limits and what each holds back (the limit gauges; none without). */
  limits?(): LimitsView;
  /** How many ended payloads are kept (`retainTerminal`): the bound of the attempt history. Default 10,000. */
  readonly retainTerminal?: number;
}

const COUNTER_HELP: Readonly<Record<CounterKind, string>> = {
  submitted: 'Payloads accepted',
  started: 'Attempts started',
  completed: 'Payloads completed',
  failed: 'Payloads failed for good (retries exhausted or not retryable)',
  retried: 'Failed attempts scheduled to retry',
  skipped: 'Payloads skipped (load, eviction from a full queue)',
  degraded: 'Payloads run degraded under load',
  rescheduled: 'Skipped payloads rescheduled from the ledger',
  cancelled: 'Payloads cancelled',
};

export function compileMetricsOptions(raw: MetricsOptions = {}): Required<MetricsOptions> {
  const problems: FieldProblem[] = unknownFields(raw, METRICS_FIELDS, 'metrics', 'is not a metrics option');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new OptionsError(problems);
  const int = (field: keyof MetricsOptions, value: number | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min || value > 100_000) {
      problems.push({ field: `metrics.${field}`, problem: `must be a whole number between ${min} and 100000, got ${String(value)}` });
      return fallback;
    }
    return value;
  };
  const bool = (field: keyof MetricsOptions, value: unknown, fallback: boolean): boolean => {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') problems.push({ field: `metrics.${field}`, problem: 'must be true or false' });
    return value === true;
  };
  const compiled = {
    clientLabel: bool('clientLabel', raw.clientLabel, false),
    maxClients: int('maxClients', raw.maxClients, 20, 1),
    maxPartitionLabels: int('maxPartitionLabels', raw.maxPartitionLabels, 64, 0),
    processMetrics: bool('processMetrics', raw.processMetrics, true),
  };
  if (problems.length > 0) throw new OptionsError(problems);
  return compiled;
}

export class RuntimeMetrics {
  readonly registry = new Registry();
  /** Waits since the admin's series last sampled them (p50/p99 per tier and second). */
  readonly waitWindow = new WaitWindow();
  private readonly options: Required<MetricsOptions>;
  private readonly recorder: MetricsRecorder;
  private cached: RuntimeStats | undefined;
  /** The node id the registry's default labels carry; null before they are first set. */
  private labelledNode: string | undefined | null = null;
  private readonly stopScheduleMetrics: () => void;

  constructor(private readonly host: MetricsHost, options: MetricsOptions = {}) {
    this.options = compileMetricsOptions(options);
    this.labelSeries();
    const registers = [this.registry];
    const waits = new Histogram({ name: 'triage_wait_seconds', help: 'Time from ready to started, per attempt', labelNames: ['tier'], buckets: WAIT_BUCKETS, registers });
    const runs = new Histogram({ name: 'triage_run_seconds', help: 'Time from started to finished, per attempt', labelNames: ['tier'], buckets: RUN_BUCKETS, registers });
    for (const tier of TIERS) {
      waits.zero({ tier });
      runs.zero({ tier });
    }
    const perTier = (h: Histogram<'tier'>) => ({ critical: h.labels('critical'), high: h.labels('high'), medium: h.labels('medium'), low: h.labels('low') });
    const waitOf = perTier(waits);
    const runOf = perTier(runs);
    this.recorder = new MetricsRecorder(
      {
        events: host.events,
        readySince: (partition, id) => host.readySince(partition, id),
        observeWait: (tier, seconds) => {
          waitOf[tier].observe(seconds);
          this.waitWindow.observe(tier, seconds);
        },
        observeRun: (tier, seconds) => runOf[tier].observe(seconds),
      },
      this.options.clientLabel ? this.options.maxClients : 0,
      host.retainTerminal,
    );
    this.defineCounters();
    this.defineGauges();
    this.defineStoreMetrics();
    this.stopScheduleMetrics = defineScheduleMetrics(this.registry, host.events);
    const pausedQueues = host.pausedQueues;
    if (pausedQueues) {
      const gauge: Gauge = new Gauge({ name: 'triage_paused_queues', help: 'Queues (partition, tier, handler type) with payloads held by an operator pause', registers: [this.registry], collect: () => gauge.set(pausedQueues()) });
    }
    if (host.limits) defineLimitMetrics(this.registry, host.limits);
  }

  /** Attempts of a payload that failed, will retry or were cancelled (kept from the moment metrics were turned on). */
  attempts(id: string): readonly AttemptEntry[] {
    return this.recorder.history.of(id);
  }

  /** Attempts running now (tracked from the moment metrics were turned on). */
  running(): InFlightRun[] {
    return this.recorder.running();
  }

  /** The text exposition: this runtime's metrics, then the process's. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    this.labelSeries();
    let body = await this.registry.metrics();
    if (this.options.processMetrics) body += `\n${await processRegistry().metrics()}`;
    return { contentType: this.registry.contentType, body };
  }

  /** Default labels apply when the registry renders, so a node id known only later still labels every series. */
  private labelSeries(): void {
    const node = this.host.nodeId?.();
    if (node === this.labelledNode) return;
    this.registry.setDefaultLabels(node === undefined ? { runtime: this.host.name } : { runtime: this.host.name, node });
    this.labelledNode = node;
  }

  /** Stops counting (the runtime stopped); the registry still answers with the last values. */
  dispose(): void {
    this.recorder.dispose();
    this.stopScheduleMetrics();
  }

  /** Journal and snapshot failures are never swallowed: each is counted here as well as logged and emitted. */
  private defineStoreMetrics(): void {
    const registers = [this.registry];
    const counter = (name: string, help: string, read: (stats: DurabilityStats) => number) => {
      const c: Counter = new Counter({
        name, help, registers,
        collect: () => {
          c.reset();
          c.inc(read(this.host.store()));
        },
      });
    };
    counter('triage_store_journal_failures_total', 'Journal writes the store refused (each retried until it takes them)', (s) => s.journalFailures);
    counter('triage_store_snapshots_total', 'Snapshots stored', (s) => s.snapshotsTaken);
    counter('triage_store_snapshot_failures_total', 'Snapshots the store refused (the journal keeps everything until the next)', (s) => s.snapshotFailures);
    const gauge = (name: string, help: string, read: (stats: DurabilityStats) => number) => {
      const g: Gauge = new Gauge({ name, help, registers, collect: () => g.set(read(this.host.store())) });
    };
    gauge('triage_store_available', 'Whether the store takes writes: 1 yes, 0 no (submits are refused)', (s) => (s.available ? 1 : 0));
    gauge('triage_store_pending_writes', 'Journal entries waiting for the store', (s) => s.pendingWrites);
  }

  private defineCounters(): void {
    const labelNames = this.options.clientLabel ? ['tier', 'type', 'client'] : ['tier', 'type'];
    const counters = new Map<CounterKind, Counter>();
    let fresh = false;
    const refresh = () => {
      // Every counter of a scrape collects in the same synchronous pass: rebuild them once.
      if (fresh) return;
      fresh = true;
      queueMicrotask(() => (fresh = false));
      for (const counter of counters.values()) counter.reset();
      for (const row of this.recorder.rows(this.host.handlerTypes())) {
        const labels: Record<string, string> = { tier: row.tier, type: row.type };
        if (row.client !== undefined) labels['client'] = row.client;
        counters.get(row.kind)?.inc(labels, row.value);
      }
    };
    for (const kind of COUNTER_KINDS) {
      counters.set(kind, new Counter({ name: `triage_payloads_${kind}_total`, help: COUNTER_HELP[kind], labelNames, registers: [this.registry], collect: refresh }));
    }
  }

  private defineGauges(): void {
    const registers = [this.registry];
    const perPartition = () => this.stats().partitions.length <= this.options.maxPartitionLabels;
    const gauge = (name: string, help: string, labelNames: string[], fill: (set: (labels: Record<string, string | number>, value: number) => void) => void) => {
      const g: Gauge = new Gauge({
        name, help, labelNames, registers,
        collect: () => {
          g.reset();
          fill((labels, value) => g.set(labels, value));
        },
      });
    };
    /** Sums per partition, or over all partitions when there are too many to label. */
    const byPartition = (read: (p: RuntimeStats['partitions'][number], tier: Tier) => number, tiers: readonly (Tier | undefined)[]) =>
      (set: (labels: Record<string, string | number>, value: number) => void) => {
        const each = perPartition();
        const sums = new Map<string, number>();
        for (const p of this.stats().partitions) {
          for (const tier of tiers) {
            const key = `${each ? p.partition : 'all'}|${tier ?? ''}`;
            sums.set(key, (sums.get(key) ?? 0) + read(p, tier as Tier));
          }
        }
        for (const [key, value] of sums) {
          const [partition, tier] = key.split('|') as [string, string];
          set(tier === '' ? { partition } : { partition, tier }, value);
        }
      };
    gauge('triage_queue_depth', 'Payloads queued, per partition and tier', ['partition', 'tier'], byPartition((p, t) => p.depth[t], TIERS));
    gauge('triage_queue_oldest_wait_seconds', 'Wait of the oldest queued payload, per partition and tier', ['partition', 'tier'],
      (set) => {
        // The oldest wait is a maximum, not a sum.
        const each = perPartition();
        const max = new Map<string, number>();
        for (const p of this.stats().partitions) {
          for (const tier of TIERS) {
            const key = `${each ? p.partition : 'all'}|${tier}`;
            max.set(key, Math.max(max.get(key) ?? 0, p.oldestWait[tier] / 1000));
          }
        }
        for (const [key, value] of max) {
          const [partition, tier] = key.split('|') as [string, string];
          set({ partition, tier }, value);
        }
      });
    gauge('triage_payloads_running', 'Payloads running, per partition', ['partition'], byPartition((p) => p.running, [undefined]));
    gauge('triage_payloads_delayed', 'Payloads waiting for their runAt or a retry, per partition', ['partition'], byPartition((p) => p.delayed, [undefined]));
    gauge('triage_pool_slots', 'Execution slots in the pool', [], (set) => set({}, this.stats().pool.size));
    gauge('triage_pool_busy_slots', 'Execution slots held, per tier', ['tier'], (set) => {
      const { byTier } = this.stats().pool;
      for (const tier of TIERS) set({ tier }, byTier[tier]);
    });
    gauge('triage_load_level', 'Load level: 0 normal, 1 elevated, 2 critical', [], (set) => set({}, LOAD_LEVEL_VALUE[this.host.loadLevel()]));
    gauge('triage_actor_mailbox_messages', 'Messages waiting in actor mailboxes, per actor kind', ['kind'], (set) => {
      const byKind = new Map<string, number>();
      for (const actor of this.host.tree()) byKind.set(actor.kind, (byKind.get(actor.kind) ?? 0) + actor.mailbox);
      for (const [kind, value] of byKind) set({ kind }, value);
    });
  }

  /** One stats snapshot per scrape: every gauge of a scrape collects in the same synchronous pass. */
  private stats(): RuntimeStats {
    if (!this.cached) {
      this.cached = this.host.stats();
      queueMicrotask(() => (this.cached = undefined));
    }
    return this.cached;
  }
}
