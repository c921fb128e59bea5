/**
 * A workflow instance's state: plain data (no functions; the definition stays outside), so it can
 * be checkpointed and shown. Steps are kept by name; a fan-out step keeps one slot per item.
 */
import type { PayloadFailure } from '../../src/errors.ts';
import type { WorkflowDefinition } from '../../src/dsl/definition.ts';

/** `compensating`: a step failed or the instance was cancelled; undo steps run, then it ends. */
export type WorkflowStatus = 'running' | 'compensating' | 'completed' | 'failed' | 'cancelled';
export const FINISHED_WORKFLOW: ReadonlySet<WorkflowStatus> = new Set(['completed', 'failed', 'cancelled']);

export type StepStatus =
  | 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled'
  | 'compensating' | 'compensated' | 'compensation-failed';

/** One item of one step (a plain step has the single item 0). */
export interface ItemRef {
  readonly step: string;
  readonly index: number;
}

export interface StepState {
  readonly status: StepStatus;
  /** Payload id per item, once submitted. */
  readonly payloads: readonly (string | undefined)[];
  /** Items: 1 for a plain step, the fan-out's size for `each` (0 until it starts). */
  readonly total: number;
  /** Items that ended (completed or not). */
  readonly ended: number;
  /** Per item: its outcome was applied. A repeated report (after recovery) is ignored. */
  readonly done: readonly boolean[];
  readonly results: readonly unknown[];
  /** The fan-out's items, kept only when a compensation needs them. */
  readonly items: readonly unknown[] | undefined;
  readonly error: PayloadFailure | undefined;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
}

export interface WorkflowState {
  readonly id: string;
  readonly workflow: string;
  readonly status: WorkflowStatus;
  readonly input: unknown;
  readonly steps: Readonly<Record<string, StepState>>;
  /** Items in the order they completed: compensation undoes them latest first. */
  readonly completions: readonly ItemRef[];
  /** Step payloads submitted and not yet ended; an ending instance finishes only at 0. */
  readonly outstanding: number;
  /** What a `compensating` instance ends as. */
  readonly ending: 'failed' | 'cancelled' | undefined;
  /** The step whose failure ended the instance. */
  readonly failure: { readonly step: string; readonly error: PayloadFailure } | undefined;
  readonly compensationQueue: readonly ItemRef[];
  /** The compensation running now (they run one at a time, latest completion first). */
  readonly compensating: ItemRef | undefined;
  readonly compensationFailures: Readonly<Record<string, PayloadFailure>>;
  readonly result: unknown;
  readonly startedAt: number;
  readonly finishedAt: number | undefined;
}

export function initialWorkflowState(id: string, definition: WorkflowDefinition, input: unknown, now: number): WorkflowState {
  const steps: Record<string, StepState> = {};
  for (const step of definition.steps) {
    steps[step.name] = { status: 'pending', payloads: [], total: 0, ended: 0, done: [], results: [], items: undefined, error: undefined, startedAt: undefined, finishedAt: undefined };
  }
  return {
    id,
    workflow: definition.name,
    status: 'running',
    input,
    steps,
    completions: [],
    outstanding: 0,
    ending: undefined,
    failure: undefined,
    compensationQueue: [],
    compensating: undefined,
    compensationFailures: {},
    result: undefined,
    startedAt: now,
    finishedAt: undefined,
  };
}

/** Whether later steps may run after this one: it completed, was skipped, or failed but is optional. */
export function isResolved(step: StepState | undefined, optional: boolean): boolean {
  if (!step) return false;
  return step.status === 'completed' || step.status === 'skipped' || (optional && step.status === 'failed');
}

/** Results of the steps that ended with one (resolved, or completed and being undone), by name: what mapping functions see. */
export function resultsOf(steps: Readonly<Record<string, StepState>>, definition: WorkflowDefinition): Record<string, unknown> {
  const results: Record<string, unknown> = {};
  for (const def of definition.steps) {
    const step = steps[def.name] as StepState;
    const undoing = step.status === 'compensating' || step.status === 'compensated' || step.status === 'compensation-failed';
    if (undoing || isResolved(step, def.optional)) results[def.name] = def.kind === 'each' ? step.results : step.results[0];
  }
  return results;
}

/** The failure of an instance whose mapping function (`field` of `step`) threw. */
export function inputFailure(step: string, field: string, error: unknown): PayloadFailure {
  return {
    code: 'STEP_INPUT_FAILED',
    message: `step ${JSON.stringify(step)} ${field} threw: ${error instanceof Error ? error.message : String(error)}`,
    name: error instanceof Error ? error.name : 'Error',
  };
}

export interface StepView {
  readonly name: string;
  readonly handler: string;
  readonly status: StepStatus;
  readonly items: number;
  readonly ended: number;
  readonly payloads: readonly string[];
  readonly error: PayloadFailure | undefined;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
}

/** What `runtime.workflows.get`/`list` report. */
export interface WorkflowView {
  readonly id: string;
  readonly workflow: string;
  readonly status: WorkflowStatus;
  /** Steps resolved (completed, skipped, or optional and failed) of all steps. */
  readonly done: number;
  readonly total: number;
  readonly result: unknown;
  readonly error: PayloadFailure | undefined;
  readonly failedStep: string | undefined;
  readonly compensationFailures: Readonly<Record<string, PayloadFailure>>;
  readonly startedAt: number;
  readonly finishedAt: number | undefined;
  readonly steps: readonly StepView[];
}

export function resolvedCount(state: WorkflowState, definition: WorkflowDefinition): number {
  let done = 0;
  for (const step of definition.steps) if (isResolved(state.steps[step.name], step.optional)) done++;
  return done;
}

export function workflowView(state: WorkflowState, definition: WorkflowDefinition): WorkflowView {
  return {
    id: state.id,
    workflow: state.workflow,
    status: state.status,
    done: resolvedCount(state, definition),
    total: definition.steps.length,
    result: state.result,
    error: state.failure?.error,
    failedStep: state.failure?.step,
    compensationFailures: state.compensationFailures,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    steps: definition.steps.map((def) => {
      const step = state.steps[def.name] as StepState;
      return {
        name: def.name,
        handler: def.handler,
        status: step.status,
        items: step.total,
        ended: step.ended,
        payloads: step.payloads.filter((id): id is string => id !== undefined),
        error: step.error,
        startedAt: step.startedAt,
        finishedAt: step.finishedAt,
      };
    }),
  };
}
