/**
 * Every error Triage raises on purpose carries a stable `code`, so callers branch on the code,
 * never on the message text.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'QUEUE_FULL'
  | 'UNKNOWN_PAYLOAD'
  | 'UNKNOWN_SCHEDULE'
  | 'RUNTIME_STOPPED'
  | 'HANDLER_EXISTS'
  | 'INVALID_OPTIONS'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'HANDLER_FAILED'
  | 'NON_RETRYABLE'
  | 'SKIPPED'
  | 'DEPENDENCY_FAILED'
  | 'INVALID_WORKFLOW'
  | 'WORKFLOW_FAILED'
  | 'UNKNOWN_WORKFLOW'
  | 'WORKFLOW_LOAD_FAILED'
  | 'INVALID_INPUT'
  | 'STORE_UNAVAILABLE'
  | 'EXPIRED'
  | 'INVALID_LEVEL'
  | 'COORDINATOR_OFF'
  | 'FENCED'
  | 'CLUSTER_NOT_STARTED'
  | 'CLUSTER_UNREACHABLE'
  | 'HOME_LOST'
  | 'NODE_ID_IN_USE'
  | 'NODE_ID_TAKEN_OVER'
  | 'CLUSTER_SHAPE_MISMATCH';

export class TriageError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem with one field of a submitted payload. */
export interface FieldProblem {
  readonly field: string;
  readonly problem: string;
}

/** All problems of a rejected payload, found at once; nothing was enqueued. */
export class ValidationError extends TriageError {
  readonly problems: readonly FieldProblem[];
  /** Position of the offending payload in a `submitMany` batch. */
  readonly index: number | undefined;
  constructor(problems: readonly FieldProblem[], index?: number) {
    const where = index === undefined ? '' : ` (payload #${index})`;
    super('VALIDATION_FAILED', `invalid payload${where}: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`);
    this.problems = problems;
    this.index = index;
  }
  get fields(): string[] {
    return this.problems.map((p) => p.field);
  }
}

export class OptionsError extends TriageError {
  readonly problems: readonly FieldProblem[];
  constructor(problems: readonly FieldProblem[]) {
    super('INVALID_OPTIONS', `invalid options: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`);
    this.problems = problems;
  }
}

export class QueueFullError extends TriageError {
  constructor(readonly partition: number, readonly tier: string, reason = 'is full') {
    super('QUEUE_FULL', `tier ${tier} of partition ${partition} ${reason}`);
  }
}

export class UnknownPayloadError extends TriageError {
  constructor(readonly id: string) {
    super('UNKNOWN_PAYLOAD', `no payload with id ${JSON.stringify(id)}`);
  }
}

export class UnknownScheduleError extends TriageError {
  constructor(readonly scheduleId: string) {
    super('UNKNOWN_SCHEDULE', `no schedule with id ${JSON.stringify(scheduleId)}`);
  }
}

export class RuntimeStoppedError extends TriageError {
  constructor() {
    super('RUNTIME_STOPPED', 'the runtime is stopped or stopping and accepts no new work');
  }
}

/** The durable store did not acknowledge the write; nothing was accepted. Retry later. */
export class StoreUnavailableError extends TriageError {
  constructor(cause?: unknown) {
    super('STORE_UNAVAILABLE', `the store is unavailable; nothing was accepted${cause instanceof Error ? ` (${cause.message})` : ''}`, { cause });
  }
}

export class TimeoutError extends TriageError {
  constructor(ms: number) {
    super('TIMEOUT', `handler did not finish within ${ms} ms`);
  }
}

export class CancelledError extends TriageError {
  constructor(reason = 'cancelled') {
    super('CANCELLED', reason);
  }
}

export class SkippedError extends TriageError {
  constructor(reason: string) {
    super('SKIPPED', `skipped: ${reason}`);
  }
}

/** The payload's `deadline` passed before it could run (in its queue or in the ledger). */
export class ExpiredError extends TriageError {
  constructor(readonly id: string, reason = 'its deadline passed before it could run') {
    super('EXPIRED', `payload ${id} expired: ${reason}`);
  }
}

/** An operator asked for a load level that does not exist. */
export class InvalidLevelError extends TriageError {
  constructor(readonly level: unknown) {
    super('INVALID_LEVEL', `unknown load level ${JSON.stringify(level)}: use normal, elevated or critical`);
  }
}

/** A coordinator action on a runtime created with `coordinator: false`. */
export class CoordinatorOffError extends TriageError {
  constructor(action: string) {
    super('COORDINATOR_OFF', `${action} needs the coordinator, which this runtime was created without`);
  }
}

/** Thrown by a handler to say that retrying cannot help. */
export class NonRetryableError extends TriageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NON_RETRYABLE', message, options);
  }
}

/** The failure of a payload as stored and reported: plain data, safe to journal. */
export interface PayloadFailure {
  readonly code: string;
  readonly message: string;
  readonly name: string;
  /** For `DEPENDENCY_FAILED`: the dependency that ended without completing. */
  readonly dependency?: string;
}

/** Turns anything a handler threw or rejected with into a journal-safe failure. */
export function toFailure(reason: unknown): PayloadFailure {
  if (reason instanceof TriageError) return { code: reason.code, message: reason.message, name: reason.name };
  if (reason instanceof Error) return { code: 'HANDLER_FAILED', message: reason.message, name: reason.name };
  let text: string;
  try {
    text = typeof reason === 'string' ? reason : JSON.stringify(reason) ?? String(reason);
  } catch {
    text = String(reason);
  }
  return { code: 'HANDLER_FAILED', message: `non-error rejection: ${text}`, name: 'NonErrorRejection' };
}

/** Rebuilds a throwable error from a stored failure, for `waitFor` callers. */
export class PayloadFailedError extends Error {
  readonly code: string;
  constructor(readonly id: string, readonly failure: PayloadFailure) {
    super(`payload ${id} failed: ${failure.message}`);
    this.name = 'PayloadFailedError';
    this.code = failure.code;
  }
}

/**
 * A payload that never ran because a dependency it needed ended without completing (its
 * `onDependencyFailure` policy was `fail`). `dependency` names that dependency.
 */
export class DependencyFailedError extends PayloadFailedError {
  readonly dependency: string;
  constructor(id: string, failure: PayloadFailure) {
    super(id, failure);
    this.name = 'DependencyFailedError';
    this.dependency = failure.dependency ?? '';
  }

  /** The stored failure of a dependent whose dependency `dependency` ended as `ended`. */
  static failure(dependency: string, ended: string, cause: PayloadFailure | undefined): PayloadFailure {
    const why = cause ? ` (${cause.code}: ${cause.message})` : '';
    return { code: 'DEPENDENCY_FAILED', message: `dependency ${dependency} ${ended}${why}`, name: 'DependencyFailedError', dependency };
  }
}

/** The error `waitFor` rejects with for a failed payload. */
export function failedPayloadError(id: string, failure: PayloadFailure): PayloadFailedError {
  return failure.code === 'DEPENDENCY_FAILED' ? new DependencyFailedError(id, failure) : new PayloadFailedError(id, failure);
}

/** One problem with one field of one step of a workflow definition. */
export interface WorkflowProblem {
  /** The step's name, or `(workflow)` for the definition itself. */
  readonly step: string;
  readonly field: string;
  readonly problem: string;
}

/** A workflow definition that cannot run; every problem is listed, each naming step and field. */
export class WorkflowDefinitionError extends TriageError {
  readonly problems: readonly WorkflowProblem[];
  constructor(readonly workflow: string, problems: readonly WorkflowProblem[]) {
    super('INVALID_WORKFLOW', `invalid workflow ${JSON.stringify(workflow)}: ${problems.map((p) => `step ${JSON.stringify(p.step)} ${p.field} ${p.problem}`).join('; ')}`);
    this.problems = problems;
  }
}

/** A workflow instance that ended because a step failed (after its compensations ran). */
export class WorkflowFailedError extends TriageError {
  constructor(
    readonly instanceId: string,
    /** The step whose failure ended the workflow. */
    readonly step: string,
    /** The step's failure as stored. */
    readonly failure: PayloadFailure,
    /** Compensations that failed themselves, by step name. */
    readonly compensationFailures: Readonly<Record<string, PayloadFailure>> = {},
  ) {
    const failedComps = Object.keys(compensationFailures);
    const note = failedComps.length > 0 ? ` (compensation also failed for ${failedComps.join(', ')})` : '';
    super('WORKFLOW_FAILED', `workflow ${instanceId} failed at step ${JSON.stringify(step)}: ${failure.message}${note}`);
  }
}

/** A workflow file, handlers module or workflow-folder module that could not be loaded. */
export class WorkflowLoadError extends TriageError {
  constructor(readonly path: string, readonly reason: string, options?: { cause?: unknown }) {
    super('WORKFLOW_LOAD_FAILED', `cannot load ${path}: ${reason}`, options);
  }
}

/** A workflow input that does not match the workflow's `input` schema; every problem names its field. */
export class WorkflowInputError extends TriageError {
  constructor(readonly workflow: string, readonly problems: readonly FieldProblem[]) {
    super('INVALID_INPUT', `invalid input for workflow ${JSON.stringify(workflow)}: ${problems.map((p) => `${p.field}: ${p.problem}`).join('; ')}`);
  }
}
