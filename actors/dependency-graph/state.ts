/**
 * The dependency graph's state, owned by its actor and changed in place (one message at a time):
 * the payloads it holds until their dependencies end, a graphlib DAG of who waits on whom, and
 * what it remembers of payloads it ended itself. A transition's journal entry is copied out at the
 * turn's end (see reducer.ts), so nothing read later by the store is changed afterwards.
 *
 * `edges` has an edge `dependency → dependent` for every dependency a held payload still waits
 * on. A node exists while it has an edge; an id someone waits on is a node with successors.
 */
import { Graph } from '@dagrejs/graphlib';
import type { PayloadFailure } from '../../src/errors.ts';
import type { PayloadEvent } from '../../src/events.ts';
import {
  plainPayload, type DependencyFailurePolicy, type DependencyOutcome, type Payload, type PayloadStatus, type PayloadView, type Tier,
} from '../../src/payload.ts';

/** A payload held until its dependencies end. */
export interface WaitingNode {
  readonly payload: Payload;
  readonly partition: number;
  readonly tier: Tier;
  /** Dependency ids, in the order the client listed them. */
  readonly deps: readonly string[];
  /** Dependencies that have not ended yet. */
  remaining: number;
  readonly policy: DependencyFailurePolicy;
  /** How the dependencies that ended so far ended. */
  readonly outcomes: Record<string, DependencyOutcome>;
}

/** What a registration in flight needs kept about an id it depends on (who waits on it is in `edges`). */
export interface Watch {
  /** Registrations in flight (looking ids up) that will need its outcome. */
  pending: number;
  /** How it ended, once known; kept only while registrations are in flight. */
  outcome: DependencyOutcome | undefined;
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
  registered: number;
  released: number;
  failed: number;
  skipped: number;
  cancelled: number;
}

export interface GraphState {
  /** The next registration's number. */
  seq: number;
  readonly nodes: Map<string, WaitingNode>;
  /** `dependency → dependent` for every dependency a held payload still waits on. */
  readonly edges: Graph;
  /** Ids registrations in flight depend on; an entry lives while one is in flight. */
  readonly watch: Map<string, Watch>;
  /** Registrations in flight: they hold callbacks and are never journalled. */
  readonly registrations: Map<number, Registration>;
  /** Payloads the graph ended, oldest first (Map order), bounded by `retainTerminal`. */
  readonly ended: Map<string, EndedPayload>;
  readonly totals: GraphTotals;
}

export function initialGraphState(): GraphState {
  return {
    seq: 0,
    nodes: new Map(),
    edges: new Graph({ directed: true }),
    watch: new Map(),
    registrations: new Map(),
    ended: new Map(),
    totals: { registered: 0, released: 0, failed: 0, skipped: 0, cancelled: 0 },
  };
}

/** The held payloads waiting on `id`, in the order they started to wait. */
export function dependentsOf(state: GraphState, id: string): string[] {
  return state.edges.successors(id) ?? [];
}

/** Whether `id`'s ending must be reported here: payloads wait on it, or a registration in flight needs it. */
export function isWatched(state: GraphState, id: string): boolean {
  const { edges } = state;
  return state.watch.has(id) || (edges.nodeCount() > 0 && edges.hasNode(id) && !edges.isLeaf(id));
}

/** A node lives in `edges` only while it has an edge. */
export function dropIfBare(edges: Graph, id: string): void {
  if (edges.hasNode(id) && edges.isLeaf(id) && (edges.predecessors(id)?.length ?? 0) === 0) edges.removeNode(id);
}

/** Every id whose ending must be reported here. */
export function watchedIds(state: GraphState): Set<string> {
  const ids = new Set(state.watch.keys());
  for (const id of state.edges.nodes()) if (!state.edges.isLeaf(id)) ids.add(id);
  return ids;
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

/** The released payload, with its dependencies' outcomes. */
export function withDependencies(p: Payload, dependencies: Payload['dependencies']): Payload {
  return plainPayload(p, p.runAt, dependencies);
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
  return { waiting: state.nodes.size, edges: state.edges.edgeCount(), registering: state.registrations.size, ...state.totals };
}
