/**
 * The dependency graph's versioned snapshot and its recovery from snapshot + journal. Registrations
 * in flight are left out: they hold callbacks and belong to submits that were not accepted yet.
 * So a recovered watch has no pending registrations and no remembered outcome.
 */
import { PMap } from '../../src/collections/index.ts';
import type { DependencyOutcomes, Payload } from '../../src/payload.ts';
import { checkVersion, mapToJson, queueFromJson, queueToJson } from '../../src/persistence/collections-json.ts';
import type { GraphDelta } from './reducer.ts';
import { initialGraphState, withDependencies, type EndedPayload, type GraphState, type WaitingNode, type Watch } from './state.ts';

export const GRAPH_SNAPSHOT_VERSION = 1;

interface Encoded {
  readonly seq: number;
  readonly nodes: Array<[string, WaitingNode]>;
  readonly watch: Array<[string, Watch]>;
  readonly ended: Array<[string, EndedPayload]>;
  readonly retained: string[];
  readonly totals: GraphState['totals'];
}

export function encodeGraph(state: GraphState): { version: number; data: Encoded } {
  return {
    version: GRAPH_SNAPSHOT_VERSION,
    data: {
      seq: state.seq,
      nodes: mapToJson(state.nodes),
      watch: mapToJson(state.watch),
      ended: mapToJson(state.ended),
      retained: queueToJson(state.retained),
      totals: state.totals,
    },
  };
}

export function decodeGraph(snapshot: { version: number; data: Encoded }): GraphState {
  checkVersion('dependency graph', snapshot.version, GRAPH_SNAPSHOT_VERSION);
  const { data } = snapshot;
  let watch = PMap.empty<Watch>();
  for (const [id, w] of data.watch) if (w.dependents.length > 0) watch = watch.set(id, waitingOn(w.dependents));
  let nodes = PMap.empty<WaitingNode>();
  for (const [id, node] of data.nodes) nodes = nodes.set(id, nodeOf(node));
  let ended = PMap.empty<EndedPayload>();
  for (const [id, e] of data.ended) ended = ended.set(id, endedOf(e));
  return {
    seq: data.seq,
    nodes,
    watch,
    registrations: PMap.empty(),
    ended,
    retained: queueFromJson(data.retained),
    totals: data.totals,
  };
}

/** The state a snapshot and the journal entries after it describe. */
export function restoreGraph(snapshot: { version: number; data: Encoded } | undefined, deltas: readonly GraphDelta[]): GraphState {
  const base = snapshot ? decodeGraph(snapshot) : initialGraphState();
  if (deltas.length === 0) return base;
  const nodes = base.nodes.asTransient();
  const watch = base.watch.asTransient();
  const ended = base.ended.asTransient();
  let retained = base.retained;
  let totals = base.totals;
  for (const delta of deltas) {
    for (const [id, node] of delta.nodes) {
      if (node) nodes.set(id, nodeOf(node));
      else nodes.delete(id);
    }
    for (const [id, dependents] of delta.watch) {
      if (dependents) watch.set(id, waitingOn(dependents));
      else watch.delete(id);
    }
    for (const e of delta.ended) {
      ended.set(e.payload.id, endedOf(e));
      retained = retained.push(e.payload.id);
    }
    for (let i = 0; i < delta.dropped; i++) {
      ended.delete(retained.peek() as string);
      retained = retained.shift();
    }
    totals = delta.totals;
  }
  return { ...base, nodes: nodes.persistent(), watch: watch.persistent(), ended: ended.persistent(), retained, totals };
}

const waitingOn = (dependents: readonly string[]): Watch => ({ dependents: [...dependents], pending: 0, outcome: undefined });

// JSON drops undefined fields: rebuild every object with all its fields, so recovered payloads keep one shape.
const payloadOf = (p: Payload): Payload => withDependencies(p, p.dependencies as DependencyOutcomes);

const nodeOf = (n: WaitingNode): WaitingNode => ({
  payload: payloadOf(n.payload),
  partition: n.partition,
  tier: n.tier,
  deps: n.deps,
  remaining: n.remaining,
  policy: n.policy,
  outcomes: n.outcomes,
});

const endedOf = (e: EndedPayload): EndedPayload => ({
  payload: payloadOf(e.payload),
  partition: e.partition,
  tier: e.tier,
  status: e.status,
  error: e.error,
  finishedAt: e.finishedAt,
});
