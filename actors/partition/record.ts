/**
 * How a partition holds its payload records. A million may wait at once, so a record keeps in its
 * own fields only what every payload has or gains (its start, end and result); the rest lives in
 * two small objects made only when needed: the submit options a payload may carry (most carry none)
 * and what some payloads gain once they leave the queue (a failure, progress, a checkpoint, a ledger
 * entry, a new owner). Accessors on the prototype give every
 * reader the flat `PayloadRecord` it always had. Records are class instances built field by field in
 * one order, so V8 gives them one hidden class (fast property access, compact in-object storage).
 *
 * What leaves the partition (snapshots, journal entries, transfers) is the flat form, `flatRecord`;
 * `ownRecord` turns a flat record back into an owned one.
 */
import type { PayloadFailure } from '../../src/errors.ts';
import { plainPayload, type BackoffOptions, type DedupeOptions, type DependencyOutcomes, type Payload, type PayloadStatus, type Tier } from '../../src/payload.ts';
import type { PayloadRecord } from './state.ts';

export type MutableRecord = { -readonly [K in keyof PayloadRecord]: PayloadRecord[K] };

/** The optional fields of a submit but `runAt` (a record's own field: every delayed payload and retry has one). */
interface OptionFields {
  deadline: number | undefined;
  idempotencyKey: string | undefined;
  timeout: number | undefined;
  retries: number | undefined;
  backoff: BackoffOptions | undefined;
  tags: readonly string[] | undefined;
  dependencies: DependencyOutcomes | undefined;
  shardKey: string | undefined;
  dedupe: DedupeOptions | undefined;
  concurrencyKey: string | undefined;
}

/** What some payloads gain once they leave the queue (a failure, progress, a ledger entry, a new owner); most gain none of it. */
interface LaterFields {
  error: PayloadFailure | undefined;
  progress: unknown;
  degraded: boolean | undefined;
  checkpoint: unknown;
  ledgerId: string | undefined;
  movedTo: number | undefined;
}

/** What a record is made from: a payload's fields, its id and submit time given apart (a validated payload has none yet). */
type PayloadFields = Omit<Payload, 'id' | 'submittedAt' | 'dependencies'> & { readonly dependencies?: DependencyOutcomes | undefined };

const hasOptions = (p: PayloadFields): boolean =>
  p.deadline !== undefined || p.idempotencyKey !== undefined || p.timeout !== undefined || p.retries !== undefined ||
  p.backoff !== undefined || p.tags !== undefined || p.dependencies !== undefined || p.shardKey !== undefined || p.dedupe !== undefined ||
  p.concurrencyKey !== undefined;

const optionsOf = (p: PayloadFields): OptionFields => ({
  deadline: p.deadline, idempotencyKey: p.idempotencyKey, timeout: p.timeout, retries: p.retries,
  backoff: p.backoff, tags: p.tags, dependencies: p.dependencies, shardKey: p.shardKey, dedupe: p.dedupe, concurrencyKey: p.concurrencyKey,
});

const noOptions = (): OptionFields => ({
  deadline: undefined, idempotencyKey: undefined, timeout: undefined, retries: undefined,
  backoff: undefined, tags: undefined, dependencies: undefined, shardKey: undefined, dedupe: undefined, concurrencyKey: undefined,
});

// Every field starts undefined, so V8 keeps the time fields as references: the `now` of one turn is then shared, not boxed per record.
const nothingLater = (): LaterFields => ({
  error: undefined, progress: undefined, degraded: undefined, checkpoint: undefined, ledgerId: undefined, movedTo: undefined,
});

const hasLater = (r: PayloadRecord): boolean =>
  r.error !== undefined || r.progress !== undefined || r.degraded !== undefined || r.checkpoint !== undefined || r.ledgerId !== undefined ||
  r.movedTo !== undefined;

const laterOf = (r: PayloadRecord): LaterFields => ({
  error: r.error, progress: r.progress, degraded: r.degraded, checkpoint: r.checkpoint, ledgerId: r.ledgerId, movedTo: r.movedTo,
});

/** The seq of a payload made in a record's shape (`submittedPayload`) that no partition has taken in yet. */
const NOT_ACCEPTED = -1;

/**
 * A record owned by a partition and changed in place. Setting a field to undefined creates nothing.
 * The class gives the prototype (the accessors) and the type; `ownedRecord` makes the instances.
 */
class OwnedRecord implements MutableRecord {
  declare id: string;
  declare type: string;
  declare data: unknown;
  declare clientId: string;
  declare priority: number;
  declare complexity: number;
  declare submittedAt: number;
  declare status: PayloadStatus;
  declare tier: Tier;
  declare attempt: number;
  declare seq: number;
  declare enqueuedAt: number;
  // Every payload that runs gets these three, so they are the record's own (a separate object per
  // started payload was ~100 bytes more to allocate and promote). They start undefined, so V8 keeps
  // them as references: the `now` of one turn is shared, not boxed per record.
  declare startedAt: number | undefined;
  declare finishedAt: number | undefined;
  declare result: unknown;
  // Its own too: a timer's or a retry's due time, without an options object per delayed payload
  // (100,000 timers waiting are ~100 bytes each fewer for every scavenge to copy).
  declare runAt: number | undefined;
  declare options: OptionFields | undefined;
  declare later: LaterFields | undefined;

  /** The flat form: JSON of a record, or of a payload made in its shape and not yet taken in, reads like any other. */
  toJSON(): PayloadRecord | Payload {
    return this.seq === NOT_ACCEPTED ? plainPayload(this, this.runAt, this.options?.dependencies) : flatRecord(this);
  }

  private setOptions(): OptionFields {
    return (this.options ??= noOptions());
  }

  private setLater(): LaterFields {
    return (this.later ??= nothingLater());
  }

  get deadline(): number | undefined { return this.options?.deadline; }
  set deadline(value: number | undefined) { if (value !== undefined || this.options) this.setOptions().deadline = value; }
  get idempotencyKey(): string | undefined { return this.options?.idempotencyKey; }
  set idempotencyKey(value: string | undefined) { if (value !== undefined || this.options) this.setOptions().idempotencyKey = value; }
  get timeout(): number | undefined { return this.options?.timeout; }
  set timeout(value: number | undefined) { if (value !== undefined || this.options) this.setOptions().timeout = value; }
  get retries(): number | undefined { return this.options?.retries; }
  set retries(value: number | undefined) { if (value !== undefined || this.options) this.setOptions().retries = value; }
  get backoff(): BackoffOptions | undefined { return this.options?.backoff; }
  set backoff(value: BackoffOptions | undefined) { if (value !== undefined || this.options) this.setOptions().backoff = value; }
  get tags(): readonly string[] | undefined { return this.options?.tags; }
  set tags(value: readonly string[] | undefined) { if (value !== undefined || this.options) this.setOptions().tags = value; }
  get dependencies(): DependencyOutcomes | undefined { return this.options?.dependencies; }
  set dependencies(value: DependencyOutcomes | undefined) { if (value !== undefined || this.options) this.setOptions().dependencies = value; }
  get shardKey(): string | undefined { return this.options?.shardKey; }
  set shardKey(value: string | undefined) { if (value !== undefined || this.options) this.setOptions().shardKey = value; }
  get dedupe(): DedupeOptions | undefined { return this.options?.dedupe; }
  set dedupe(value: DedupeOptions | undefined) { if (value !== undefined || this.options) this.setOptions().dedupe = value; }
  get concurrencyKey(): string | undefined { return this.options?.concurrencyKey; }
  set concurrencyKey(value: string | undefined) { if (value !== undefined || this.options) this.setOptions().concurrencyKey = value; }

  get error(): PayloadFailure | undefined { return this.later?.error; }
  set error(value: PayloadFailure | undefined) { if (value !== undefined || this.later) this.setLater().error = value; }
  get progress(): unknown { return this.later?.progress; }
  set progress(value: unknown) { if (value !== undefined || this.later) this.setLater().progress = value; }
  get degraded(): boolean | undefined { return this.later?.degraded; }
  set degraded(value: boolean | undefined) { if (value !== undefined || this.later) this.setLater().degraded = value; }
  get checkpoint(): unknown { return this.later?.checkpoint; }
  set checkpoint(value: unknown) { if (value !== undefined || this.later) this.setLater().checkpoint = value; }
  get ledgerId(): string | undefined { return this.later?.ledgerId; }
  set ledgerId(value: string | undefined) { if (value !== undefined || this.later) this.setLater().ledgerId = value; }
  get movedTo(): number | undefined { return this.later?.movedTo; }
  set movedTo(value: number | undefined) { if (value !== undefined || this.later) this.setLater().movedTo = value; }
}

/**
 * An owned record made by an object literal with the class's prototype, not by `new`: V8 tracks a
 * literal's allocation site, and when most records it makes outlive a young-generation collection
 * (a backlog, timers waiting) it allocates them in the old generation from then on, so scavenges
 * stop copying every waiting payload (measured on 100,000 timers: 27% fewer bytes promoted). Every
 * record is made here, field by field in one order, so all share one hidden class.
 */
function ownedRecord(
  p: PayloadFields,
  id: string, submittedAt: number, status: PayloadStatus, tier: Tier, attempt: number, seq: number, enqueuedAt: number,
): OwnedRecord {
  const record = {
    __proto__: OwnedRecord.prototype,
    id,
    type: p.type,
    data: p.data,
    clientId: p.clientId,
    priority: p.priority,
    complexity: p.complexity,
    submittedAt,
    status,
    tier,
    attempt,
    seq,
    enqueuedAt,
    startedAt: undefined,
    finishedAt: undefined,
    result: undefined,
    runAt: p.runAt,
    options: hasOptions(p) ? optionsOf(p) : undefined,
    later: undefined,
  };
  return record as unknown as OwnedRecord;
}

/**
 * A payload about to be submitted, made in the record's shape (src/runtime/submissions.ts): the
 * partition that takes it in adopts this very object as its record (`newRecord`), so a payload is
 * allocated once, not once to send and again to keep, and a backlog being taken in is allocated
 * where the records are (old generation, once V8 has tenured the site) rather than copied by every
 * scavenge on its way. Until then it reads as any other `Payload`, and JSON gives its flat form.
 */
export function submittedPayload(valid: PayloadFields, id: string, submittedAt: number): Payload {
  return ownedRecord(valid, id, submittedAt, 'queued', 'medium', 0, NOT_ACCEPTED, submittedAt);
}

/** The payload's record: the payload itself when it was made by `submittedPayload` and not yet taken in, else a copy. */
export function newRecord(p: Payload, status: 'queued' | 'delayed', tier: Tier, seq: number, enqueuedAt: number): MutableRecord {
  if (p instanceof OwnedRecord && p.seq === NOT_ACCEPTED) {
    p.status = status;
    p.tier = tier;
    p.seq = seq;
    p.enqueuedAt = enqueuedAt;
    return p;
  }
  return ownedRecord(p, p.id, p.submittedAt, status, tier, 0, seq, enqueuedAt);
}

/** A record with no submit options, no due time and nothing gained after the queue: its own fields are all it has. */
export function isPlain(r: PayloadRecord): boolean {
  return r instanceof OwnedRecord && r.runAt === undefined && r.options === undefined && r.later === undefined;
}

/** An owned record from a flat one (recovered, or transferred in): a copy, so the source is never changed. */
export function ownRecord(r: PayloadRecord): MutableRecord {
  const owned = ownedRecord(r, r.id, r.submittedAt, r.status, r.tier, r.attempt, r.seq, r.enqueuedAt);
  owned.startedAt = r.startedAt;
  owned.finishedAt = r.finishedAt;
  owned.result = r.result;
  if (hasLater(r)) owned.later = laterOf(r);
  return owned;
}

/** The flat form of a record, every field its own (the snapshot, journal and transfer shape); a copy, so it outlives the turn. */
export function flatRecord(r: PayloadRecord): MutableRecord {
  return {
    id: r.id,
    type: r.type,
    data: r.data,
    clientId: r.clientId,
    priority: r.priority,
    complexity: r.complexity,
    submittedAt: r.submittedAt,
    runAt: r.runAt,
    deadline: r.deadline,
    idempotencyKey: r.idempotencyKey,
    timeout: r.timeout,
    retries: r.retries,
    backoff: r.backoff,
    tags: r.tags,
    dependencies: r.dependencies,
    shardKey: r.shardKey,
    dedupe: r.dedupe,
    concurrencyKey: r.concurrencyKey,
    status: r.status,
    tier: r.tier,
    attempt: r.attempt,
    seq: r.seq,
    enqueuedAt: r.enqueuedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    result: r.result,
    error: r.error,
    progress: r.progress,
    degraded: r.degraded,
    checkpoint: r.checkpoint,
    ledgerId: r.ledgerId,
    movedTo: r.movedTo,
  };
}
