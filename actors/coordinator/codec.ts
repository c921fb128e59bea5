/** The coordinator's versioned snapshot: its state as JSON, ledger and decisions included. */
import { checkVersion, heapFromJson, heapToJson, mapFromJson, mapToJson, queueFromJson, queueToJson } from '../../src/persistence/collections-json.ts';
import type { Decision } from '../../src/load/system-events.ts';
import type { LedgerEntry } from './ledger.ts';
import type { CoordinatorState } from './state.ts';

export const COORDINATOR_SNAPSHOT_VERSION = 1;

type Encoded = Omit<CoordinatorState, 'ledger' | 'decisions'> & {
  readonly ledger: {
    readonly entries: Array<[string, LedgerEntry]>;
    readonly order: string[];
    readonly deadlines: Array<{ key: number; value: string }>;
    readonly totals: CoordinatorState['ledger']['totals'];
  };
  readonly decisions: Decision[];
};

export function encodeCoordinator(state: CoordinatorState): { version: number; data: Encoded } {
  const { ledger, decisions, ...rest } = state;
  return {
    version: COORDINATOR_SNAPSHOT_VERSION,
    data: {
      ...rest,
      ledger: { entries: mapToJson(ledger.entries), order: queueToJson(ledger.order), deadlines: heapToJson(ledger.deadlines), totals: ledger.totals },
      decisions: queueToJson(decisions),
    },
  };
}

export function decodeCoordinator(snapshot: { version: number; data: Encoded }): CoordinatorState {
  checkVersion('coordinator', snapshot.version, COORDINATOR_SNAPSHOT_VERSION);
  const { ledger, decisions, ...rest } = snapshot.data;
  return {
    ...rest,
    ledger: { entries: mapFromJson(ledger.entries), order: queueFromJson(ledger.order), deadlines: heapFromJson(ledger.deadlines), totals: ledger.totals },
    decisions: queueFromJson(decisions),
  };
}
