/** The complexity analyzer's versioned snapshot: its rolling averages per client and type. */
import { checkVersion, mapFromJson, mapToJson } from '../../src/persistence/collections-json.ts';
import type { ComplexityState, CostAverage } from './state.ts';

export const COMPLEXITY_SNAPSHOT_VERSION = 1;

interface Encoded {
  readonly averages: Array<[string, CostAverage]>;
  readonly observations: number;
}

export const encodeComplexity = (state: ComplexityState): { version: number; data: Encoded } => ({
  version: COMPLEXITY_SNAPSHOT_VERSION,
  data: { averages: mapToJson(state.averages), observations: state.observations },
});

export function decodeComplexity(snapshot: { version: number; data: Encoded }): ComplexityState {
  checkVersion('complexity analyzer', snapshot.version, COMPLEXITY_SNAPSHOT_VERSION);
  return { averages: mapFromJson(snapshot.data.averages), observations: snapshot.data.observations };
}
