/**
 * A `submitMany` of any size, in bounded slices so no turn of the event loop runs long: first every
 * payload is validated and prepared (one ValidationError lists every problem and nothing is
 * enqueued if any is bad), then the payloads go out slice by slice, one batch per partition and
 * slice. A slice ends at SLICE_PAYLOADS or when the runtime's turn budget (src/core/turn-budget.ts,
 * shared with the actors) is spent; the next one runs in a later turn. Answers fill one ids array by
 * index: no promise or closure per payload.
 */
import type { EnqueueBatch, EnqueueResult } from '../../actors/partition/messages.ts';
import type { TurnBudget } from '../core/turn-budget.ts';
import type { QueueFullError, RuntimeStoppedError, TriageError } from '../errors.ts';
import type { Payload } from '../payload.ts';
import { NO_DEPENDENCY_FIELDS, type DependencyFields } from '../../actors/dependency-graph/batch.ts';
import { BatchValidator, unsetValid, type ValidationContext, type ValidPayload } from '../validation.ts';

/**
 * Most payloads one slice sends: with one partition, its enqueue message holds them all, and the
 * partition's turn on it (~1.5 µs a payload) must stay well inside a turn's budget.
 */
const SLICE_PAYLOADS = 1_024;
/** Payloads validated between two looks at the clock. */
const CLOCK_EVERY = 32;

const NO_INPUTS: readonly unknown[] = [];
/** Stands in for a payload its partition has answered for, so the batch does not keep it alive. */
const RELEASED = Object.freeze({}) as Payload;

/** Prepared payloads by input index: the payload and its partition. */
export interface PreparedColumns {
  readonly payloads: Payload[];
  readonly partitions: Int32Array;
}

export interface BulkSubmitDeps {
  readonly partitions: number;
  readonly context: ValidationContext;
  /** The inputs are payloads validated before (a schedule's, checked once when it was set): not checked again. */
  readonly validated?: boolean;
  /** The runtime's engine work per turn of the event loop, shared with its actors. */
  readonly budget: TurnBudget;
  /** Gives the payload its id and partition, written at `index`. */
  prepare(valid: ValidPayload, into: PreparedColumns, index: number): void;
  /** The whole batch through the dependency graph (it has `dependsOn`). */
  submitDependent(columns: PreparedColumns, dependencies: readonly DependencyFields[]): Promise<string[]>;
  /** Why no more is taken now (stopping, store away), or undefined. */
  refusal(): TriageError | undefined;
  send(partition: number, batch: EnqueueBatch): void;
}

/** One slice's payloads for one partition; answers land in the bulk submit by input index. */
class SliceBatch implements EnqueueBatch {
  readonly payloads: Payload[] = [];
  readonly indices: number[] = [];
  constructor(private readonly owner: BulkSubmit) {}
  // An own property, not a method: the cluster host passes batches on as `{ ...batch }`.
  readonly settle = (index: number, result: EnqueueResult): void => this.owner.settle(this.indices[index] as number, result);
}

export class BulkSubmit {
  private readonly columns: PreparedColumns;
  /**
   * The dependency fields of the payloads that have any (`ref`, `dependsOn`, a failure policy), by
   * index: a batch with none keeps no second object per payload alive while it is taken in.
   */
  private readonly dependencies: Array<DependencyFields | undefined>;
  private readonly length: number;
  private readonly validator: BatchValidator;
  /** Each payload's validation result, overwritten by the next: what the batch keeps of it is copied at once. */
  private readonly scratch = unsetValid();
  private readonly ids: string[];
  private next = 0;
  private remaining: number;
  private firstError: QueueFullError | RuntimeStoppedError | TriageError | undefined;
  private resolve!: (ids: string[]) => void;
  private reject!: (error: unknown) => void;

  /** `length`: the inputs' length, read once (BatchValidator.lengthOf). */
  constructor(private inputs: readonly unknown[], length: number, private readonly deps: BulkSubmitDeps) {
    const n = length;
    this.validator = new BatchValidator(deps.context);
    this.columns = { payloads: new Array<Payload>(n), partitions: new Int32Array(n) };
    this.dependencies = [];
    this.length = n;
    this.ids = new Array<string>(n);
    this.remaining = n;
  }

  run(): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      // Not in the caller's turn: however much the caller did in it, the engine's work starts in a turn of its own.
      this.deps.budget.startNextTurn(this.validateSlice);
    });
  }

  settle(index: number, result: EnqueueResult): void {
    // Its partition holds it now (or refused it): the payload need not live as long as the whole batch.
    this.columns.payloads[index] = RELEASED;
    if (result.ok) this.ids[index] = result.id;
    else this.firstError ??= result.error;
    if (--this.remaining === 0) this.finish();
  }

  private readonly validateSlice = (): void => {
    const { inputs, deps, columns, dependencies, validator } = this;
    const n = this.length;
    const first = this.next;
    while (this.next < n && ((this.next - first) % CLOCK_EVERY !== 0 || deps.budget.hasTime())) {
      const i = this.next++;
      const valid = deps.validated === true ? (inputs[i] as ValidPayload) : validator.check(inputs, i, this.scratch);
      if (valid && validator.problems.length === 0) {
        deps.prepare(valid, columns, i);
        // A copy: a batch's validator writes every payload's result to one object.
        if (valid.ref !== undefined || valid.dependsOn !== undefined || valid.onDependencyFailure !== 'fail') dependencies[i] = { dependsOn: valid.dependsOn, onDependencyFailure: valid.onDependencyFailure, ref: valid.ref };
      }
    }
    if (this.next < n) return deps.budget.defer(this.validateSlice, this.next > first);
    this.inputs = NO_INPUTS; // validated and prepared: the caller's objects need not live on here
    try {
      validator.finish();
    } catch (error) {
      return this.reject(error);
    }
    const refusal = deps.refusal();
    if (refusal) return this.reject(refusal);
    if (validator.dependent) {
      const all = Array.from({ length: n }, (_, i) => dependencies[i] ?? NO_DEPENDENCY_FIELDS);
      return void deps.submitDependent(columns, all).then(this.resolve, this.reject);
    }
    if (n === 0) return this.resolve(this.ids);
    this.next = 0;
    this.sendSlice();
  };

  private readonly sendSlice = (): void => {
    const { deps, columns } = this;
    const n = columns.payloads.length;
    const refusal = deps.refusal();
    if (refusal) {
      // Stopped between slices: what was sent is answered by its partitions, the rest is refused here.
      const refused: EnqueueResult = { ok: false, error: refusal };
      while (this.next < n) this.settle(this.next++, refused);
      return;
    }
    if (!deps.budget.hasTime()) return deps.budget.defer(this.sendSlice, false);
    const end = Math.min(n, this.next + SLICE_PAYLOADS);
    const byPartition = new Array<SliceBatch | undefined>(deps.partitions);
    // Partitions in the order their first payload appears: the earliest submitted is served first.
    const order: number[] = [];
    for (let i = this.next; i < end; i++) {
      const partition = columns.partitions[i] as number;
      let batch = byPartition[partition];
      if (!batch) {
        byPartition[partition] = batch = new SliceBatch(this);
        order.push(partition);
      }
      batch.payloads.push(columns.payloads[i] as Payload);
      batch.indices.push(i);
    }
    this.next = end;
    for (const partition of order) deps.send(partition, byPartition[partition] as SliceBatch);
    if (this.next < n) deps.budget.defer(this.sendSlice, true);
  };

  private finish(): void {
    const { firstError, ids } = this;
    if (!firstError) return this.resolve(ids);
    this.reject(Object.assign(firstError, { accepted: ids.filter((id) => id !== undefined) }));
  }
}
