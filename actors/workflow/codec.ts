/** A workflow instance's versioned snapshot: its state is plain data already. */
import { checkVersion } from '../../src/persistence/collections-json.ts';
import type { WorkflowState } from './state.ts';

export const WORKFLOW_SNAPSHOT_VERSION = 1;

export const encodeWorkflow = (state: WorkflowState): { version: number; data: WorkflowState } => ({ version: WORKFLOW_SNAPSHOT_VERSION, data: state });

export function decodeWorkflow(snapshot: { version: number; data: WorkflowState }): WorkflowState {
  checkVersion('workflow', snapshot.version, WORKFLOW_SNAPSHOT_VERSION);
  return snapshot.data;
}
