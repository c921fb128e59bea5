/**
 * How a submit becomes payloads on their way to partitions: validation (every problem of a batch
 * in one ValidationError, nothing enqueued), ids and partitions, then the submit batcher — or,
 * for payloads with `dependsOn`, the dependency graph, which enqueues each once its dependencies
 * have ended.
 */
import type { ResolvedBatch } from '../../actors/dependency-graph/batch.ts';
import { hasDependencies, resolveBatch, type DependencyFields, type FieldName, type PreparedPayload } from '../../actors/dependency-graph/batch.ts';
import { partitionOf } from '../core/hash.ts';
import type { TurnBudget } from '../core/turn-budget.ts';
import { IdGenerator, uniqueOfKey, withPartition } from '../core/ids.ts';
import { submittedPayload } from '../../actors/partition/record.ts';
import type { TriageError } from '../errors.ts';
import type { CompiledOptions } from '../options.ts';
import type { Payload, PayloadInput } from '../payload.ts';
import { BatchValidator, validatePayload, type ValidPayload } from '../validation.ts';
import type { SubmitBatcher } from './submit-batcher.ts';
import { BulkSubmit } from './submit-many.ts';

export interface SubmissionsDeps {
  readonly options: CompiledOptions;
  readonly batcher: SubmitBatcher;
  /** Engine work per turn of the event loop, shared with the actors: a large `submitMany` takes its share. */
  readonly budget: TurnBudget;
  readonly hasHandler: (type: string) => boolean;
  /** In a cluster an id derives from its idempotency key: a repeat on any node answers with the same id. */
  readonly idsFromKeys: boolean;
  /** Why no submit is taken now (stopping, store away), or undefined. */
  refusal(): TriageError | undefined;
  /** Hands a batch with dependencies to the dependency graph (once the runtime has booted). */
  register(batch: ResolvedBatch): Promise<string[]>;
}

export class Submissions {
  private readonly ids = new IdGenerator();

  constructor(private readonly deps: SubmissionsDeps) {}

  /** Validates and enqueues one payload; resolves with its id once accepted. */
  submit(input: PayloadInput): Promise<string> {
    const refusal = this.deps.refusal();
    if (refusal) return Promise.reject(refusal);
    let payload: Payload;
    let partition: number;
    let valid: ValidPayload;
    try {
      valid = validatePayload(input, this.validationContext());
      payload = this.prepare(valid);
      partition = this.preparedPartition;
    } catch (error) {
      return Promise.reject(error);
    }
    if (hasDependencies(valid)) return this.submitDependent([{ payload, partition, valid }], (_, field) => field).then((ids) => ids[0] as string);
    return new Promise((resolve, reject) => this.deps.batcher.add(partition, payload, (r) => (r.ok ? resolve(r.id) : reject(r.error))));
  }

  /**
   * Validates all payloads first, then sends them in slices, one message per partition and slice
   * (src/runtime/submit-many.ts). Resolves with the ids in
   * input order. If a partition is full, rejects with a QueueFullError whose `accepted` lists the
   * ids that were.
   */
  submitMany(inputs: readonly PayloadInput[]): Promise<string[]> {
    const refusal = this.deps.refusal();
    if (refusal) return Promise.reject(refusal);
    let length: number;
    try {
      length = BatchValidator.lengthOf(inputs);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.bulk(inputs, length, false);
  }

  /**
   * `submitMany` of payloads validated already (a schedule's firings: its payload was checked when
   * it was set, and each firing only adds its idempotency key). Without `dependsOn`.
   */
  submitValidated(valids: readonly ValidPayload[]): Promise<string[]> {
    const refusal = this.deps.refusal();
    if (refusal) return Promise.reject(refusal);
    return this.bulk(valids, valids.length, true);
  }

  private bulk(inputs: readonly unknown[], length: number, validated: boolean): Promise<string[]> {
    const context = this.validationContext();
    return new BulkSubmit(inputs, length, {
      validated,
      partitions: this.deps.options.partitions,
      context,
      budget: this.deps.budget,
      prepare: (valid, into, index) => {
        // Every payload of one call was submitted at that call.
        into.payloads[index] = this.prepare(valid, context.now);
        into.partitions[index] = this.preparedPartition;
      },
      submitDependent: ({ payloads, partitions }, dependencies) =>
        this.submitDependent(payloads.map((payload, i) => ({ payload, partition: partitions[i] as number, valid: dependencies[i] as DependencyFields })), (i, field) => `payloads[${i}].${field}`),
      refusal: () => this.deps.refusal(),
      send: (partition, batch) => this.deps.batcher.addBatch(partition, batch),
    }).run();
  }

  /** A submit whose id is known before it is accepted, so a workflow watches its events from the start. Throws ValidationError. */
  submitTracked(input: PayloadInput): { id: string; accepted: Promise<string> } {
    const refusal = this.deps.refusal();
    if (refusal) throw refusal;
    const payload = this.prepare(validatePayload(input, this.validationContext()));
    const partition = this.preparedPartition;
    const accepted = new Promise<string>((resolve, reject) => this.deps.batcher.add(partition, payload, (r) => (r.ok ? resolve(r.id) : reject(r.error))));
    return { id: payload.id, accepted };
  }

  private validationContext() {
    const { options, hasHandler } = this.deps;
    return { hasHandler, maxDataBytes: options.maxDataBytes, now: options.clock.now() };
  }

  /** The partition `prepare` chose last. */
  private preparedPartition = 0;

  /** The payload with its id; its partition in `preparedPartition`. `now`: when it was submitted (a batch's call, for all of it). */
  private prepare(valid: ValidPayload, now = this.deps.options.clock.now()): Payload {
    const { options, idsFromKeys } = this.deps;
    let id: string;
    // A dedupe key's partition owns its window, on every node of a cluster.
    const key = valid.dedupe?.key ?? valid.shardKey ?? valid.idempotencyKey;
    if (key === undefined) {
      id = this.ids.nextOwned(options.partitions); // the common case: one string, hashed over its counter
      this.preparedPartition = this.ids.lastPartition;
    } else {
      const unique = idsFromKeys && valid.idempotencyKey !== undefined ? uniqueOfKey(valid.idempotencyKey) : this.ids.next();
      this.preparedPartition = partitionOf(key, options.partitions);
      id = withPartition(unique, this.preparedPartition);
    }
    return submittedPayload(valid, id, now);
  }

  /** A batch with `dependsOn`: checked (refs, cycles) at once, then registered with the dependency graph. */
  private submitDependent(batch: readonly PreparedPayload[], field: FieldName): Promise<string[]> {
    let resolved: ResolvedBatch;
    try {
      resolved = resolveBatch(batch, this.deps.options, field);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.deps.register(resolved);
  }
}
