/**
 * The dependency graph's versioned snapshot and its recovery from snapshot + journal. Registrations
 * in flight are left out: they hold callbacks and belong to submits that were not accepted yet.
 * So a recovered graph has no pending registrations and no remembered outcome.
 *
 * An encoded snapshot is a copy: the live state goes on changing in place while it is stored.
 */
import type { DependencyOutcomes, Payload } from '../../src/payload.ts';
import { checkVersion } from '../../src/persistence/collections-json.ts';
import type { GraphDelta } from './reducer.ts';
import { dependentsOf, dropIfBare, initialGraphState, withDependencies, type EndedPayload, type GraphState, type WaitingNode } from './state.ts';

export const GRAPH_SNAPSHOT_VERSION = 1;

interface Encoded {
  readonly seq: number;
  readonly nodes: Array<[string, WaitingNode]>;
  /** Each id payloads wait on, with its waiting list in order. */
  readonly watch: Array<[string, { readonly dependents: readonly string[] }]>;
  readonly ended: Array<[string, EndedPayload]>;
  /** Ended ids, oldest first. */
  readonly retained: string[];
  readonly totals: GraphState['totals'];
}

export function encodeGraph(state: GraphState): { version: number; data: Encoded } {
  const watch: Encoded['watch'] = [];
  for (const id of state.edges.nodes()) {
    const dependents = dependentsOf(state, id);
    if (dependents.length > 0) watch.push([id, { dependents }]);
  }
  return {
    version: GRAPH_SNAPSHOT_VERSION,
    data: {
      seq: state.seq,
      nodes: [...state.nodes].map(([id, node]) => [id, { ...node, outcomes: { ...node.outcomes } }]),
      watch,
      ended: [...state.ended],
      retained: [...state.ended.keys()],
      totals: { ...state.totals },
    },
  };
}

export function decodeGraph(snapshot: { version: number; data: Encoded }): GraphState {
  checkVersion('dependency graph', snapshot.version, GRAPH_SNAPSHOT_VERSION);
  const { data } = snapshot;
  const state = initialGraphState();
  state.seq = data.seq;
  for (const [id, { dependents }] of data.watch) waitOn(state, id, dependents);
  for (const [id, node] of data.nodes) state.nodes.set(id, nodeOf(node));
  // Kept oldest first, so retention drops the oldest.
  const ended = new Map(data.ended);
  for (const id of data.retained) {
    const e = ended.get(id);
    if (e) state.ended.set(id, endedOf(e));
  }
  Object.assign(state.totals, data.totals);
  return state;
}

/** The state a snapshot and the journal entries after it describe. */
export function restoreGraph(snapshot: { version: number; data: Encoded } | undefined, deltas: readonly GraphDelta[]): GraphState {
  const state = snapshot ? decodeGraph(snapshot) : initialGraphState();
  for (const delta of deltas) {
    for (const [id, node] of delta.nodes) {
      if (node) state.nodes.set(id, nodeOf(node));
      else state.nodes.delete(id);
    }
    for (const [id, dependents] of delta.watch) waitOn(state, id, dependents ?? []);
    for (const e of delta.ended) state.ended.set(e.payload.id, endedOf(e));
    for (let i = 0; i < delta.dropped; i++) {
      const oldest = state.ended.keys().next();
      if (!oldest.done) state.ended.delete(oldest.value);
    }
    Object.assign(state.totals, delta.totals);
  }
  return state;
}

/** Replaces who waits on `id`. */
function waitOn(state: GraphState, id: string, dependents: readonly string[]): void {
  const { edges } = state;
  const before = edges.successors(id) ?? [];
  for (const was of before) edges.removeEdge(id, was);
  for (const dependent of dependents) edges.setEdge(id, dependent);
  dropIfBare(edges, id);
  for (const was of before) dropIfBare(edges, was);
}

// JSON drops undefined fields: rebuild every object with all its fields, so recovered payloads keep one shape.
const payloadOf = (p: Payload): Payload => withDependencies(p, p.dependencies as DependencyOutcomes);

const nodeOf = (n: WaitingNode): WaitingNode => ({
  payload: payloadOf(n.payload),
  partition: n.partition,
  tier: n.tier,
  deps: n.deps,
  remaining: n.remaining,
  policy: n.policy,
  outcomes: { ...n.outcomes },
});

const endedOf = (e: EndedPayload): EndedPayload => ({
  payload: payloadOf(e.payload),
  partition: e.partition,
  tier: e.tier,
  status: e.status,
  error: e.error,
  finishedAt: e.finishedAt,
});
