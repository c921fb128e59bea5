/**
 * The dependency graph's state: the payloads it holds until their dependencies end, and, for every
 * id something waits on, who waits. An immer value whose large collections are persistent maps
 * (opaque to immer), so a transition copies a few small nodes however large the graph is.
 *
 * The edges live here as adjacency (`watch[dep].dependents`, `node.deps`) rather than in a
 * graphlib `Graph`: a graphlib graph is mutable, and actor state must be an immutable value that
 * can be journalled and restored. graphlib checks what needs a graph algorithm: cycles at submit
 * (batch.ts) and workflow definitions (src/dsl).
 */
import { PMap, PQueue } from '../../src/collections/index.ts';
import type { PayloadFailure } from '../../src/errors.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type {
  DependencyFailurePolicy, DependencyOutcome, DependencyOutcomes, Payload, PayloadStatus, PayloadView, Tier,
} from '../../src/payload.ts';

/** A payload held until its dependencies end. */
export interface WaitingNode {
  readonly payload: Payload;
  readonly partition: number;
  readonly tier: Tier;
  /** Dependency ids, in the order the client listed them. */
  readonly deps: readonly string[];
  /** Dependencies that have not ended yet. */
  readonly remaining: number;
  readonly policy: DependencyFailurePolicy;
  /** How the dependencies that ended so far ended. */
  readonly outcomes: DependencyOutcomes;
}

/** Everything known about one id that waiting payloads depend on. */
export interface Watch {
  /** Held payloads waiting on it. */
  readonly dependents: readonly string[];
  /** Registrations in flight (looking ids up) that will need its outcome. */
  readonly pending: number;
  /** How it ended, once known; kept only while registrations are in flight. */
  readonly outcome: DependencyOutcome | undefined;
}

/** A payload the graph ended itself (its dependency failed, or it was cancelled while held). */
export interface EndedPayload {
  readonly payload: Payload;
  readonly partition: number;
  readonly tier: Tier;
  readonly status: 'failed' | 'skipped' | 'cancelled';
  readonly error: PayloadFailure | undefined;
  readonly finishedAt: number;
}

/** A payload with `dependsOn`, resolved against its batch, as the runtime hands it over. */
export interface WaitingEntry {
  readonly payload: Payload;
  readonly partition: number;
  readonly tier: Tier;
  readonly deps: readonly string[];
  readonly policy: DependencyFailurePolicy;
}

export type RegisterReply = { readonly ok: true } | { readonly ok: false; readonly unknown: readonly string[] } | { readonly ok: false; readonly error: unknown };

/** A registration waiting for its lookups. Holds a callback: never journalled. */
export interface Registration {
  readonly waiting: readonly WaitingEntry[];
  readonly external: readonly string[];
  readonly reply: (result: RegisterReply) => void;
}

export interface GraphTotals {
  readonly registered: number;
  readonly released: number;
  readonly failed: number;
  readonly skipped: number;
  readonly cancelled: number;
}

export interface GraphState {
  readonly seq: number;
  readonly nodes: PMap<WaitingNode>;
  readonly watch: PMap<Watch>;
  /** Opaque to immer: registrations hold callbacks and are never journalled. */
  readonly registrations: PMap<Registration>;
  readonly ended: PMap<EndedPayload>;
  /** Ended ids, oldest first, for bounded retention. */
  readonly retained: PQueue<string>;
  readonly totals: GraphTotals;
}

export function initialGraphState(): GraphState {
  return {
    seq: 0,
    nodes: PMap.empty(),
    watch: PMap.empty(),
    registrations: PMap.empty(),
    ended: PMap.empty(),
    retained: PQueue.empty(),
    totals: { registered: 0, released: 0, failed: 0, skipped: 0, cancelled: 0 },
  };
}

/** The outcome a dependent sees for a payload that ended with this event. */
export function outcomeOfEvent(event: PayloadEvent): DependencyOutcome | undefined {
  switch (event.type) {
    case 'completed':
      return { status: 'completed', result: event.result };
    case 'failed':
      return { status: 'failed', error: event.error };
    case 'cancelled':
      return { status: 'cancelled', error: { code: 'CANCELLED', message: event.reason ?? 'cancelled', name: 'CancelledError' } };
    case 'skipped':
      // Skipped under load with a ledger entry: deferred, not ended (`rescheduled` or `expired` follows).
      if (event.ledgerId !== undefined) return undefined;
      return { status: 'skipped', error: { code: 'SKIPPED', message: event.reason ?? 'skipped', name: 'SkippedError' } };
    case 'expired':
      return { status: 'skipped', error: { code: 'EXPIRED', message: event.reason ?? 'expired', name: 'ExpiredError' } };
    default:
      return undefined;
  }
}

/** The outcome of a payload as `get` reports it; undefined while it has not ended. */
export function outcomeOfView(view: Pick<PayloadView, 'status' | 'result' | 'error'>): DependencyOutcome | undefined {
  const ended = (status: 'cancelled' | 'skipped', code: string): DependencyOutcome => ({
    status,
    error: view.error ?? { code, message: code.toLowerCase(), name: code === 'CANCELLED' ? 'CancelledError' : 'SkippedError' },
  });
  switch (view.status) {
    case 'completed':
      return { status: 'completed', result: view.result };
    case 'failed':
      return { status: 'failed', error: view.error };
    case 'cancelled':
      return ended('cancelled', 'CANCELLED');
    case 'skipped':
      return ended('skipped', 'SKIPPED');
    case 'expired':
      return ended('skipped', 'EXPIRED');
    default:
      return undefined;
  }
}

/** The released payload: the same fields in the same order (one hidden class), with its dependencies' outcomes. */
export function withDependencies(p: Payload, dependencies: DependencyOutcomes): Payload {
  return {
    id: p.id,
    type: p.type,
    data: p.data,
    clientId: p.clientId,
    priority: p.priority,
    complexity: p.complexity,
    submittedAt: p.submittedAt,
    runAt: p.runAt,
    deadline: p.deadline,
    idempotencyKey: p.idempotencyKey,
    timeout: p.timeout,
    retries: p.retries,
    backoff: p.backoff,
    tags: p.tags,
    dependencies,
    shardKey: p.shardKey,
    dedupe: p.dedupe,
  };
}

function view(p: Payload, partition: number, tier: Tier, status: PayloadStatus, finishedAt: number | undefined, error: PayloadFailure | undefined): PayloadView {
  return {
    id: p.id,
    type: p.type,
    clientId: p.clientId,
    partition,
    status,
    tier,
    priority: p.priority,
    complexity: p.complexity,
    attempts: 0,
    degraded: false,
    submittedAt: p.submittedAt,
    runAt: p.runAt,
    startedAt: undefined,
    finishedAt,
    progress: undefined,
    result: undefined,
    error,
  };
}

/** What `get` reports for a payload the graph holds or ended; undefined if it has neither. */
export function graphView(state: GraphState, id: string): PayloadView | undefined {
  const node = state.nodes.get(id);
  if (node) return view(node.payload, node.partition, node.tier, 'waiting', undefined, undefined);
  const ended = state.ended.get(id);
  return ended && view(ended.payload, ended.partition, ended.tier, ended.status, ended.finishedAt, ended.error);
}

export function graphSummary(state: GraphState): Record<string, unknown> {
  return { waiting: state.nodes.size, watched: state.watch.size, registering: state.registrations.size, ...state.totals };
}
