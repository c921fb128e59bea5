/**
 * Messages a workflow instance actor receives, the effects its reducer asks for, and the workflow
 * events it publishes. Step outcomes arrive coalesced: one `settled` per instance per turn.
 */
import type { PayloadFailure } from '../../src/errors.ts';
import type { PayloadInput } from '../../src/payload.ts';

/** Whether a payload runs a step's item or undoes one. */
export type Purpose = 'step' | 'compensation';

export interface StepOutcome {
  readonly step: string;
  readonly index: number;
  readonly purpose: Purpose;
  readonly status: 'completed' | 'failed' | 'cancelled' | 'skipped';
  readonly result?: unknown;
  readonly error?: PayloadFailure;
}

export interface SubmittedRef {
  readonly step: string;
  readonly index: number;
  readonly purpose: Purpose;
  readonly id: string;
}

export type WorkflowMessage =
  | { readonly type: 'start' }
  /** The instance was recovered from the journal: submit again what may not have been. */
  | { readonly type: 'resume' }
  /** Ids of the payloads the last effects submitted. */
  | { readonly type: 'submitted'; readonly refs: readonly SubmittedRef[] }
  | { readonly type: 'settled'; readonly outcomes: readonly StepOutcome[] }
  | { readonly type: 'cancel'; readonly reply: (cancelled: boolean) => void };

export type WorkflowEffect =
  | { readonly kind: 'submit'; readonly step: string; readonly index: number; readonly purpose: Purpose; readonly payload: PayloadInput }
  | { readonly kind: 'cancel'; readonly ids: readonly string[] }
  | { readonly kind: 'event'; readonly event: WorkflowEvent }
  /** The instance ended: settle its waiters and retire the actor. */
  | { readonly kind: 'finish' }
  | { readonly kind: 'reply'; readonly deliver: () => void };

export const WORKFLOW_EVENTS = [
  'started', 'step-started', 'step-completed', 'step-failed', 'step-skipped',
  'compensation-started', 'compensation-completed', 'compensation-failed',
  'completed', 'failed', 'cancelled',
] as const;
export type WorkflowEventType = (typeof WORKFLOW_EVENTS)[number];

export interface WorkflowEvent {
  readonly type: WorkflowEventType;
  readonly instanceId: string;
  readonly workflow: string;
  readonly at: number;
  /** The step it is about (step and compensation events). */
  readonly step: string | undefined;
  /** Steps resolved so far, and all steps: progress. */
  readonly done: number;
  readonly total: number;
  /** `completed`: the workflow's result; `step-completed`: the step's. */
  readonly result?: unknown;
  readonly error?: PayloadFailure;
}
