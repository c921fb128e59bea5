/** The coordinator's versioned snapshot: its state as JSON, ledger and decisions included. */
import { checkVersion, queueFromJson, queueToJson } from '../../src/persistence/collections-json.ts';
import type { Decision } from '../../src/load/system-events.ts';
import { Ledger, type LedgerSnapshot } from './ledger.ts';
import type { CoordinatorState } from './state.ts';

export const COORDINATOR_SNAPSHOT_VERSION = 1;

type Encoded = Omit<CoordinatorState, 'ledger' | 'decisions'> & {
  readonly ledger: LedgerSnapshot;
  readonly decisions: Decision[];
};

/** Copies the state as it is now: the ledger changes in place, so it is copied out, not referenced. */
export function encodeCoordinator(state: CoordinatorState): { version: number; data: Encoded } {
  const { ledger, decisions, ...rest } = state;
  return { version: COORDINATOR_SNAPSHOT_VERSION, data: { ...rest, ledger: ledger.snapshot(), decisions: queueToJson(decisions) } };
}

export function decodeCoordinator(snapshot: { version: number; data: Encoded }): CoordinatorState {
  checkVersion('coordinator', snapshot.version, COORDINATOR_SNAPSHOT_VERSION);
  const { ledger, decisions, ...rest } = snapshot.data;
  return { ...rest, ledger: Ledger.restore(ledger), decisions: queueFromJson(decisions) };
}
