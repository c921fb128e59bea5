/**
 * A partition's state, owned by its actor and changed in place. The actor handles one message at a
 * time, so plain mutable structures are safe inside it: records in a `Map`, per tier and handler
 * type a FIFO ring buffer per client (mailbox.ts), a binary heap of timers. Nothing outside the actor writes them; what leaves
 * the actor (stats, views, run orders, transferred records, snapshots) is copied at the boundary.
 */
import Denque from 'denque';
import { TypeQueue } from './mailbox.ts';
import { RecordTable } from './record-table.ts';
import { ClientShares } from '../../src/fairness.ts';
import { DEFAULT_MAX_WAIT } from '../../src/options.ts';
import { TimerHeap } from '../../src/collections/timer-heap.ts';
import type { PayloadFailure } from '../../src/errors.ts';
import { TERMINAL_STATUSES, TIERS, type Payload, type PayloadStatus, type PayloadView, type Tier } from '../../src/payload.ts';
import type { DemandEntry } from '../../src/execution/protocol.ts';
import type { TierMode } from '../../src/load/options.ts';
import type { DedupeWindow } from './dedupe-windows.ts';
import { noHolds, type HeldPayloads } from './holds.ts';
import type { EnqueueBatch } from './messages.ts';
import { noClaims, type Claims } from './claims.ts';

export interface PayloadRecord extends Payload {
  readonly status: PayloadStatus;
  readonly tier: Tier;
  /** Attempts started so far. */
  readonly attempt: number;
  /** Arrival order within the partition: FIFO within a tier, oldest-first eviction. */
  readonly seq: number;
  /** When it entered its tier; the age that aging and `maxWait` measure. */
  readonly enqueuedAt: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly result?: unknown;
  readonly error?: PayloadFailure;
  readonly progress?: unknown;
  readonly degraded?: boolean;
  /** The last `ctx.checkpoint(value)` stored for it; the next attempt reads it as `ctx.lastCheckpoint`. */
  readonly checkpoint?: unknown;
  /** While `deferred`: its entry in the coordinator's ledger. */
  readonly ledgerId?: string;
  /** When `moved`: the partition that owns it now. */
  readonly movedTo?: number;
}

/** A submit waiting for room under the `wait` overflow policy (not yet accepted, so never journalled). */
export interface ParkedSubmit {
  readonly payload: Payload;
  readonly batch: EnqueueBatch;
  readonly index: number;
  readonly expiresAt: number;
}

export interface PartitionTotals {
  accepted: number;
  started: number;
  completed: number;
  failed: number;
  retried: number;
  cancelled: number;
  skipped: number;
}

export type PerTier<T> = Readonly<Record<Tier, T>>;

/** Counters of load-aware coordination (kept apart from `totals`, whose shape the journal pins). */
export interface FlowTotals {
  /** Skipped under load into the ledger. */
  deferred: number;
  rescheduled: number;
  expired: number;
  degraded: number;
  transferredIn: number;
  transferredOut: number;
}


export interface PartitionState {
  readonly index: number;
  seq: number;
  /** By id, in insertion order (record-table.ts: a Map whose deletes clear in place). */
  readonly records: RecordTable<PayloadRecord>;
  /** Queued ids per tier and handler type, a FIFO per client in each (mailbox.ts). */
  /** How the mailbox serves: fair shares between clients, overdue first (not snapshotted: the runtime's options). */
  readonly mailbox: MailboxPolicy;
  readonly queues: Record<Tier, Map<string, TypeQueue<PayloadRecord>>>;
  /** Live queued payloads per tier and handler type (tombstones excluded). */
  readonly queued: Record<Tier, Record<string, number>>;
  readonly depth: Record<Tier, number>;
  /** Delayed payloads (runAt, retry backoff) by due time. */
  readonly timers: TimerHeap<string>;
  delayed: number;
  /** Of the delayed, those waiting to retry (a drain waits for them; payloads scheduled for later it leaves). */
  retrying: number;
  running: number;
  /** Terminal ids, oldest first, for bounded retention. */
  readonly retained: Denque<string>;
  readonly idempotency: Map<string, string>;
  /** Dedupe windows by key (dedupe.ts); derived from the records, never journalled. */
  readonly dedupe: Map<string, DedupeWindow>;
  /** Throttle keys by the end of their window, to forget ended windows. */
  readonly dedupeExpiry: TimerHeap<string>;
  /** Submits waiting for room (`overflow: 'wait'`); never journalled. */
  parked: ParkedSubmit[];
  /** Paused clients and their queued payloads kept out of the FIFOs (holds.ts); never journalled. */
  readonly holds: HeldPayloads;
  readonly totals: PartitionTotals;
  /** How each tier runs, as the coordinator last said (critical always `normal`); read at grant time. Replaced, never mutated. */
  modes: PerTier<TierMode>;
  /** The tier whose urgency and slots each tier is served with (elevate: medium served as high). Replaced, never mutated. */
  serveAs: PerTier<Tier>;
  /** Ledger ids handed out, for the next one. */
  ledgerSeq: number;
  readonly flow: FlowTotals;
  /**
   * Durable only: what transitions queued is not offered to the pool until their journal entry is
   * stored: a refused entry must never start. Entries are stored in order, so such payloads were
   * queued last and come last in their queue's serving order (mailbox.ts): each queue counts how
   * many of its pushes are stored (`TypeQueue.confirm`), and a grant stops at the first that is not.
   * The ids queued again rather than afresh also wait here, by id (see `MailboxTx.queue`).
   */
  readonly unstored: Set<string>;
  /** Durable in one process only: starts journalled ahead of their grant (claims.ts). */
  readonly claims: Claims;
  /** Client FIFOs parked because a limit holds their head, by the limit's scope (src/limits/gate.ts); never journalled. */
  readonly limitHolds: Map<string, ParkedFifo[]>;
}

/** A client FIFO of one queue that a limit holds. */
export interface ParkedFifo {
  readonly queue: TypeQueue<PayloadRecord>;
  readonly clientId: string;
}

const perTier = <T>(make: () => T): Record<Tier, T> => ({ critical: make(), high: make(), medium: make(), low: make() });

const NORMAL_MODES: PerTier<TierMode> = Object.freeze({ critical: 'normal', high: 'normal', medium: 'normal', low: 'normal' });
const SERVE_AS_ITSELF: PerTier<Tier> = Object.freeze({ critical: 'critical', high: 'high', medium: 'medium', low: 'low' });

export const emptyTotals = (): PartitionTotals => ({ accepted: 0, started: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, skipped: 0 });

/** How a partition's mailbox serves a tier × type: client weights, and the tiers' maxWait (past it, a head is overdue and goes first). */
export interface MailboxPolicy {
  readonly shares: Pick<ClientShares, 'quantumOf'>;
  readonly maxWait: Readonly<Record<Tier, number>>;
}

/** The defaults: every client of weight 1, the runtime's default maxWait. */
export const DEFAULT_MAILBOX_POLICY: MailboxPolicy = { shares: new ClientShares(), maxWait: DEFAULT_MAX_WAIT };

/** A new tier × type queue of this partition's mailbox. */
export function newTypeQueue(state: PartitionState, tier: Tier): TypeQueue<PayloadRecord> {
  return new TypeQueue<PayloadRecord>(tier, state.records, state.mailbox.shares, state.mailbox.maxWait[tier]);
}

export function initialPartitionState(index: number, mailbox: MailboxPolicy = DEFAULT_MAILBOX_POLICY): PartitionState {
  return {
    index,
    mailbox,
    seq: 0,
    records: new RecordTable(),
    queues: perTier(() => new Map()),
    queued: perTier(() => ({})),
    depth: perTier(() => 0),
    timers: new TimerHeap(),
    delayed: 0,
    retrying: 0,
    running: 0,
    retained: new Denque(),
    idempotency: new Map(),
    dedupe: new Map(),
    dedupeExpiry: new TimerHeap(),
    parked: [],
    holds: noHolds(),
    totals: emptyTotals(),
    modes: NORMAL_MODES,
    serveAs: SERVE_AS_ITSELF,
    ledgerSeq: 0,
    flow: { deferred: 0, rescheduled: 0, expired: 0, degraded: 0, transferredIn: 0, transferredOut: 0 },
    unstored: new Set(),
    claims: noClaims(),
    limitHolds: new Map(),
  };
}

export const isTerminal = (status: PayloadStatus): boolean => TERMINAL_STATUSES.has(status);

/** A queued id is live when its record still waits in that tier. */
export const isLiveIn = (record: PayloadRecord | undefined, tier: Tier): record is PayloadRecord =>
  record !== undefined && record.status === 'queued' && record.tier === tier;

export function demandOf(state: PartitionState): DemandEntry[] {
  const demand: DemandEntry[] = [];
  for (const tier of TIERS) {
    if (state.depth[tier] === 0) continue;
    const counts = state.queued[tier];
    for (const handlerType in counts) {
      const queue = state.queues[tier].get(handlerType);
      // What limits hold is queued, but offered to no slot until they let it start.
      const count = (counts[handlerType] ?? 0) - (queue ? queue.unconfirmed + queue.parked : 0);
      if (count <= 0) continue;
      const oldestAt = queue?.oldestAt ?? 0;
      const clients = queue?.clientCount ?? 1;
      const fresh = queue?.freshNext ?? false;
      const nextClient = queue?.current?.clientId;
      const entry = { tier, handlerType, count, oldestAt, serveAs: state.serveAs[tier], yielding: state.modes[tier] !== 'normal', clients, fresh, nextClient };
      demand.push(entry);
    }
  }
  return demand;
}

/** When the partition next needs a `tick`: the earliest timer or parked-submit expiry. */
export function nextWakeOf(state: PartitionState): number | undefined {
  let at = state.timers.peekKey();
  for (const parked of state.parked) if (at === undefined || parked.expiresAt < at) at = parked.expiresAt;
  return at;
}

/** While queued: the scope of the limit its client's FIFO is parked on (src/limits/gate.ts), if it is. */
export function limitHoldOf(state: PartitionState, record: PayloadRecord): string | undefined {
  if (record.status !== 'queued' || state.limitHolds.size === 0) return undefined;
  const queue = state.queues[record.tier].get(record.type);
  if (!queue?.clientFifo(record.clientId)?.parked) return undefined;
  for (const [scope, parked] of state.limitHolds) {
    if (parked.some((p) => p.queue === queue && p.clientId === record.clientId)) return scope;
  }
  return undefined;
}

export function viewOf(record: PayloadRecord, partition: number, heldBy?: string): PayloadView {
  const view: PayloadView = {
    id: record.id,
    type: record.type,
    clientId: record.clientId,
    partition,
    status: record.status,
    tier: record.tier,
    priority: record.priority,
    complexity: record.complexity,
    attempts: record.attempt,
    degraded: record.degraded === true,
    ledgerId: record.ledgerId,
    submittedAt: record.submittedAt,
    runAt: record.runAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    progress: record.progress,
    result: record.result,
    error: record.error,
  };
  return heldBy === undefined ? view : { ...view, heldBy };
}

/** A partition's queues at a glance: for load reports, metrics and the actor tree. Copies, so it outlives the turn. */
export interface PartitionStats {
  readonly partition: number;
  readonly depth: PerTier<number>;
  /** Wait of the oldest queued payload per tier, ms (0 when the tier is empty). */
  readonly oldestWait: PerTier<number>;
  readonly running: number;
  readonly delayed: number;
  readonly retrying: number;
  readonly parked: number;
  /**
   * Of `depth`, what limits or an operator's pause hold back (undefined: none): queued, but not
   * waiting for a slot, so it says nothing about load.
   */
  readonly held?: PerTier<number>;
  readonly totals: Readonly<PartitionTotals>;
  readonly flow: Readonly<FlowTotals>;
  readonly modes: PerTier<TierMode>;
  readonly serveAs: PerTier<Tier>;
}

/** Queued payloads that limits hold (parked client FIFOs) or a pause keeps aside, per tier; undefined when none. */
function heldOf(state: PartitionState): PerTier<number> | undefined {
  let held: Record<Tier, number> | undefined;
  for (const tier of TIERS) {
    let count = 0;
    if (state.limitHolds.size > 0) for (const queue of state.queues[tier].values()) count += queue.parked;
    if (state.holds.records.size > 0) for (const type in state.holds.counts[tier]) count += state.holds.counts[tier][type] ?? 0;
    if (count > 0) (held ??= perTier(() => 0))[tier] = count;
  }
  return held;
}

/** `waitingOnLimit`: whether a type's queued work waits for a limit, not a slot (its age is then left out of `oldestWait`). */
export function partitionStats(state: PartitionState, now: number, waitingOnLimit?: (type: string) => boolean): PartitionStats {
  const oldestWait = perTier(() => 0);
  for (const entry of demandOf(state)) {
    if (waitingOnLimit?.(entry.handlerType)) continue;
    oldestWait[entry.tier] = Math.max(oldestWait[entry.tier], now - entry.oldestAt);
  }
  return {
    partition: state.index,
    depth: { ...state.depth },
    oldestWait,
    running: state.running,
    delayed: state.delayed,
    retrying: state.retrying,
    parked: state.parked.length,
    held: heldOf(state),
    totals: { ...state.totals },
    flow: { ...state.flow },
    modes: state.modes,
    serveAs: state.serveAs,
  };
}
