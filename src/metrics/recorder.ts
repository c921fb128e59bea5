/**
 * The event-driven half of the metrics: what cannot be read from `runtime.stats()` at scrape time.
 * Partition totals are per partition only, so counts by tier and type come from events; wait and
 * run times need the moment each attempt starts and ends.
 *
 * Subscribing makes the partitions build these events (unheard events are not built), so the
 * recorder keeps its own per-event work to a map lookup and an array increment; prom-client's
 * label hashing runs at scrape time, not per payload.
 */
import type { EventHub, PayloadEvent, PayloadEventType } from '../events.ts';
import { PAYLOAD_EVENTS } from '../events.ts';
import { TIERS, type Tier } from '../payload.ts';
import { AttemptHistory } from './attempt-history.ts';

/** Counters, in the order of the counts array; each is `triage_payloads_<kind>_total`. */
export const COUNTER_KINDS = ['submitted', 'started', 'completed', 'failed', 'retried', 'skipped', 'degraded', 'rescheduled', 'cancelled'] as const;
export type CounterKind = (typeof COUNTER_KINDS)[number];

/**
 * Which event feeds which counter. `rescheduled` has no event type yet: it is subscribed to as soon
 * as PAYLOAD_EVENTS has one of that name.
 */
const FEEDS: Readonly<Record<string, CounterKind>> = {
  accepted: 'submitted',
  started: 'started',
  completed: 'completed',
  failed: 'failed',
  retrying: 'retried',
  skipped: 'skipped',
  degraded: 'degraded',
  rescheduled: 'rescheduled',
  cancelled: 'cancelled',
};

/** Events that end a running attempt. */
const ENDS_RUN: ReadonlySet<string> = new Set(['completed', 'failed', 'retrying', 'cancelled', 'skipped']);
/** Of those, the endings an operator looks into: kept in the attempt history (a completion never is). */
const ENDS_BADLY: ReadonlySet<string> = new Set(['failed', 'retrying', 'cancelled']);

const TIER_INDEX: Readonly<Record<Tier, number>> = { critical: 0, high: 1, medium: 2, low: 3 };
const SLOTS = COUNTER_KINDS.length * TIERS.length;

export interface InFlightRun {
  readonly id: string;
  readonly type: string;
  readonly clientId: string;
  readonly partition: number;
  readonly tier: Tier;
  readonly attempt: number;
  readonly startedAt: number;
}

export interface RecorderHost {
  readonly events: EventHub;
  /** When the payload last became ready to run (the `enqueuedAt` of its record), if known. */
  readySince(partition: number, id: string): number | undefined;
  observeWait(tier: Tier, seconds: number): void;
  observeRun(tier: Tier, seconds: number): void;
}

export interface CountRow {
  readonly type: string;
  readonly client: string | undefined;
  readonly tier: Tier;
  readonly kind: CounterKind;
  readonly value: number;
}

export class MetricsRecorder {
  /** Key: handler type, or type + NUL + client when clients are labels. Value: counts per kind × tier. */
  private readonly counts = new Map<string, Float64Array>();
  private readonly clients = new Set<string>();
  private readonly inFlight = new Map<string, InFlightRun>();
  private readonly unsubscribe: Array<() => void> = [];
  /** Attempts that ended badly, for the admin's payload timeline. */
  readonly history: AttemptHistory;

  constructor(
    private readonly host: RecorderHost,
    /** Label counts with the client id: at most this many distinct ids, the rest as `other`; 0 = no client label. */
    private readonly maxClients: number,
    /** Payloads whose bad attempts are kept (the runtime's `retainTerminal`). */
    historyPayloads = 10_000,
  ) {
    this.history = new AttemptHistory(historyPayloads);
    for (const type of PAYLOAD_EVENTS as readonly string[]) {
      const kind = FEEDS[type];
      if (kind === undefined && type !== 'started') continue;
      const slot = kind === undefined ? -1 : COUNTER_KINDS.indexOf(kind) * TIERS.length;
      const listener =
        type === 'started'
          ? (e: PayloadEvent) => this.started(e, slot)
          : ENDS_BADLY.has(type)
            ? (e: PayloadEvent) => this.endedBadly(e, slot)
          : ENDS_RUN.has(type)
            ? (e: PayloadEvent) => this.ended(e, slot)
            : (e: PayloadEvent) => this.count(e, slot);
      // This node's metrics count its own partitions' events; one relayed from another node's
      // partition (it carries `node`) is counted there, or a cluster-wide sum would count it twice.
      const own = (e: PayloadEvent) => {
        if (e.node === undefined) listener(e);
      };
      this.unsubscribe.push(host.events.on(type as PayloadEventType, own, { internal: true }));
    }
  }

  /** Attempts running now, longest-running first. */
  running(): InFlightRun[] {
    return [...this.inFlight.values()].sort((a, b) => a.startedAt - b.startedAt);
  }

  get runningCount(): number {
    return this.inFlight.size;
  }

  /** Every non-empty count, plus zeros for `types` × tiers so each counter shows from the start. */
  rows(types: readonly string[]): CountRow[] {
    const rows: CountRow[] = [];
    const seen = new Set<string>();
    for (const [key, values] of this.counts) {
      const cut = key.indexOf('\u0000');
      const type = cut < 0 ? key : key.slice(0, cut);
      const client = cut < 0 ? undefined : key.slice(cut + 1);
      seen.add(type);
      COUNTER_KINDS.forEach((kind, k) => {
        TIERS.forEach((tier, t) => rows.push({ type, client, tier, kind, value: values[k * TIERS.length + t] ?? 0 }));
      });
    }
    // With client labels there is no client to give a zero row; the series appear with their first event.
    if (this.maxClients === 0) {
      for (const type of types) {
        if (seen.has(type)) continue;
        for (const kind of COUNTER_KINDS) for (const tier of TIERS) rows.push({ type, client: undefined, tier, kind, value: 0 });
      }
    }
    return rows;
  }

  dispose(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    this.inFlight.clear();
    this.history.clear();
  }

  private count(event: PayloadEvent, slot: number): void {
    if (slot < 0) return;
    let key = event.payloadType;
    if (this.maxClients > 0) key += `\u0000${this.clientLabel(event.clientId)}`;
    let values = this.counts.get(key);
    if (!values) this.counts.set(key, (values = new Float64Array(SLOTS)));
    values[slot + TIER_INDEX[event.tier]]! += 1;
  }

  private started(event: PayloadEvent, slot: number): void {
    this.count(event, slot);
    const readyAt = this.host.readySince(event.partition, event.id);
    if (readyAt !== undefined) this.host.observeWait(event.tier, Math.max(0, event.at - readyAt) / 1000);
    this.inFlight.set(event.id, {
      id: event.id,
      type: event.payloadType,
      clientId: event.clientId,
      partition: event.partition,
      tier: event.tier,
      attempt: event.attempt ?? 1,
      startedAt: event.at,
    });
  }

  private ended(event: PayloadEvent, slot: number): InFlightRun | undefined {
    this.count(event, slot);
    const run = this.inFlight.get(event.id);
    if (!run) return undefined; // it never started (a queued payload cancelled or skipped)
    this.inFlight.delete(event.id);
    this.host.observeRun(run.tier, Math.max(0, event.at - run.startedAt) / 1000);
    return run;
  }

  private endedBadly(event: PayloadEvent, slot: number): void {
    const run = this.ended(event, slot);
    // Without a run it did not end an attempt: a queued payload cancelled, or a dead letter retried by an operator.
    this.history.add(event.id, {
      kind: run ? 'attempt' : 'note',
      attempt: run?.attempt ?? event.attempt ?? 0,
      startedAt: run?.startedAt,
      endedAt: event.at,
      outcome: event.type,
      error: event.error,
      reason: event.reason,
      retryAt: event.retryAt,
    });
  }

  private clientLabel(clientId: string): string {
    if (this.clients.has(clientId)) return clientId;
    if (this.clients.size >= this.maxClients) return 'other';
    this.clients.add(clientId);
    return clientId;
  }
}
