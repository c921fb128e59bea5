/**
 * The dependency graph's versioned snapshot. Registrations in flight are left out: they hold
 * callbacks and belong to submits that were not accepted yet.
 */
import { PMap } from '../../src/collections/index.ts';
import { checkVersion, mapFromJson, mapToJson, queueFromJson, queueToJson } from '../../src/persistence/collections-json.ts';
import type { EndedPayload, GraphState, WaitingNode, Watch } from './state.ts';

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
  return {
    seq: data.seq,
    nodes: mapFromJson(data.nodes),
    watch: mapFromJson(data.watch),
    registrations: PMap.empty(),
    ended: mapFromJson(data.ended),
    retained: queueFromJson(data.retained),
    totals: data.totals,
  };
}
