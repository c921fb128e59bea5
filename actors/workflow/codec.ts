/**
 * Workflow instances' durability. Every instance of a runtime journals to one persistence key
 * (`workflows`), so recovery finds them without a directory of keys. An entry carries one
 * instance's changed fields (of its steps, only the changed ones; immer keeps unchanged steps
 * identical, so they are found by reference). A snapshot holds every running instance and the
 * retained finished ones, each with the client it runs for.
 *
 * Entries assign values and never add to them, so replaying entries onto a state that already
 * holds some of them gives the same result.
 */
import { PMap, PQueue } from '../../src/collections/index.ts';
import { checkVersion, mapToJson, queueToJson } from '../../src/persistence/collections-json.ts';
import { FINISHED_WORKFLOW, type StepState, type WorkflowState } from './state.ts';

export const WORKFLOW_SNAPSHOT_VERSION = 2;

/** An instance as the journal knows it: its state and the client its payloads run for. */
export interface DurableInstance {
  readonly clientId: string;
  readonly state: WorkflowState;
}

/** What the `workflows` key describes: instances by id, and finished ids oldest first (for retention). */
export interface DurableWorkflows {
  readonly instances: PMap<DurableInstance>;
  readonly finished: PQueue<string>;
}

export interface WorkflowDelta {
  readonly id: string;
  /** Present on an instance's first entry. */
  readonly clientId?: string;
  readonly fields: Partial<Omit<WorkflowState, 'steps'>> & { readonly steps?: Readonly<Record<string, StepState>> };
}

interface Encoded {
  readonly instances: Array<[string, DurableInstance]>;
  readonly finished: string[];
}

export const emptyWorkflows = (): DurableWorkflows => ({ instances: PMap.empty(), finished: PQueue.empty() });

export const encodeWorkflows = (state: DurableWorkflows): { version: number; data: Encoded } => ({
  version: WORKFLOW_SNAPSHOT_VERSION,
  data: { instances: mapToJson(state.instances), finished: queueToJson(state.finished) },
});

/** One instance's state alone (for inspection and tests). */
export const encodeWorkflow = (state: WorkflowState): { version: number; data: WorkflowState } => ({ version: WORKFLOW_SNAPSHOT_VERSION, data: state });

export function decodeWorkflow(snapshot: { version: number; data: WorkflowState }): WorkflowState {
  checkVersion('workflow', snapshot.version, WORKFLOW_SNAPSHOT_VERSION);
  return normalize(snapshot.data);
}

/** The entry for an instance's transition from `before` (undefined: it just started) to `after`. */
export function workflowDelta(before: WorkflowState | undefined, after: WorkflowState, clientId: string): WorkflowDelta | undefined {
  if (!before) return { id: after.id, clientId, fields: after };
  if (before === after) return undefined;
  const fields: Record<string, unknown> = {};
  let changed = false;
  for (const key of Object.keys(after) as Array<keyof WorkflowState>) {
    if (key === 'steps' || after[key] === before[key]) continue;
    fields[key] = after[key];
    changed = true;
  }
  if (after.steps !== before.steps) {
    const steps: Record<string, StepState> = {};
    for (const [name, step] of Object.entries(after.steps)) {
      if (before.steps[name] === step) continue;
      steps[name] = step;
      changed = true;
    }
    fields.steps = steps;
  }
  return changed ? { id: after.id, fields: fields as WorkflowDelta['fields'] } : undefined;
}

/** Applies one entry; finished instances beyond `retainFinished` are forgotten, oldest first. */
export function applyWorkflowDelta(state: DurableWorkflows, delta: WorkflowDelta, retainFinished: number): DurableWorkflows {
  const base = state.instances.get(delta.id);
  if (!base && delta.clientId === undefined) return state; // its start was forgotten (retention)
  const before = base?.state;
  const { steps, ...rest } = delta.fields;
  const next = { ...(before as WorkflowState), ...rest, steps: { ...before?.steps, ...steps } } as WorkflowState;
  return putInstance(state, { clientId: delta.clientId ?? (base as DurableInstance).clientId, state: next }, before, retainFinished);
}

/** Records an instance's new state (`before`: its previous one); finished instances beyond `retainFinished` are forgotten, oldest first. */
export function putInstance(state: DurableWorkflows, instance: DurableInstance, before: WorkflowState | undefined, retainFinished: number): DurableWorkflows {
  const { id, status } = instance.state;
  let instances = state.instances.set(id, instance);
  let finished = state.finished;
  if (FINISHED_WORKFLOW.has(status) && !(before && FINISHED_WORKFLOW.has(before.status))) {
    finished = finished.push(id);
    while (finished.size > retainFinished) {
      instances = instances.delete(finished.peek() as string);
      finished = finished.shift();
    }
  }
  return { instances, finished };
}

export function restoreWorkflows(snapshot: { version: number; data: Encoded } | undefined, deltas: readonly WorkflowDelta[], retainFinished: number): DurableWorkflows {
  let state = emptyWorkflows();
  if (snapshot) {
    checkVersion('workflows', snapshot.version, WORKFLOW_SNAPSHOT_VERSION);
    state = {
      instances: PMap.fromEntries(snapshot.data.instances.map(([id, i]) => [id, { clientId: i.clientId, state: i.state }] as const)),
      finished: PQueue.from(snapshot.data.finished),
    };
  }
  for (const delta of deltas) state = applyWorkflowDelta(state, delta, retainFinished);
  let instances = state.instances;
  for (const [id, instance] of instances) instances = instances.set(id, { clientId: instance.clientId, state: normalize(instance.state) });
  return { instances, finished: state.finished };
}

/** JSON turns undefined array slots into null: payload ids come back as undefined. */
function normalize(state: WorkflowState): WorkflowState {
  const steps: Record<string, StepState> = {};
  for (const [name, step] of Object.entries(state.steps)) {
    steps[name] = { ...step, payloads: step.payloads.map((id) => id ?? undefined), done: step.done ?? [] };
  }
  return { ...state, steps };
}
