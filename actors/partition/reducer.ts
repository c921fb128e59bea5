/**
 * The partition's transitions: pure `(state, message, env) → { state, effects }`. Everything the
 * outside world must do (start a handler, answer a caller, emit an event) is returned as an effect
 * and performed by the actor wrapper after the state is committed.
 *
 * A transition works on plain local copies of the fields it touches and hands them to immer once at
 * the end: immer still produces the next state (structural sharing, frozen result), but the hot
 * path pays for one draft write per field per message instead of a proxy trap per payload.
 */
import { Immer } from 'immer';
import { PQueue } from '../../src/collections/index.ts';
import { QueueFullError, type PayloadFailure } from '../../src/errors.ts';
import type { PayloadEvent, PayloadEventType } from '../../src/events.ts';
import { backoffDelay } from '../../src/execution/backoff.ts';
import type { CompiledBackoff, CompiledOptions } from '../../src/options.ts';
import { TIERS, type Payload, type Tier } from '../../src/payload.ts';
import type { CancelResult, EnqueueBatch, EnqueueResult, Grant, Outcome, PartitionEffect, PartitionMessage } from './messages.ts';
import { copyRecord, newRecord } from './record.ts';
import { routeTier } from './routing.ts';
import { isLiveIn, isTerminal, viewOf, type ParkedSubmit, type PartitionState, type PartitionTotals, type PayloadRecord } from './state.ts';

// A private instance: the engine's settings never leak into an application's own use of immer.
const { produce } = new Immer({ autoFreeze: true });

/** What a handler type contributes to a payload's policy when the payload sets nothing. */
export interface HandlerPolicy {
  readonly timeout: number;
  readonly retries: number;
  readonly backoff: CompiledBackoff;
}

export interface PartitionEnv {
  readonly options: CompiledOptions;
  now(): number;
  policyOf(handlerType: string): HandlerPolicy;
  /** Whether an event of this type about this payload has anyone to hear it (unheard ones are not built). */
  observed(type: PayloadEventType, id: string): boolean;
}

export interface Transition {
  readonly state: PartitionState;
  readonly effects: PartitionEffect[];
  /** Ids whose record was written or dropped: what a journal entry of this transition must carry. */
  readonly touched: ReadonlySet<string>;
}

const UNTOUCHED: ReadonlySet<string> = new Set();

export function reducePartition(state: PartitionState, message: PartitionMessage, env: PartitionEnv): Transition {
  const effects: PartitionEffect[] = [];
  if (message.type === 'get') {
    const record = state.records.get(message.id);
    const view = record && viewOf(record, state.index);
    effects.push({ kind: 'reply', deliver: () => message.reply(view) });
    return { state, effects, touched: UNTOUCHED };
  }
  const tx = new PartitionTx(state, effects, env);
  switch (message.type) {
    case 'enqueue':
      tx.enqueue(message.batch);
      break;
    case 'grant':
      tx.grant(message.grants);
      break;
    case 'outcomes':
      for (const outcome of message.outcomes) tx.outcome(outcome);
      break;
    case 'cancel': {
      const result = tx.cancel(message.id);
      effects.push({ kind: 'reply', deliver: () => message.reply(result) });
      break;
    }
    case 'tick':
      tx.sweep();
      break;
    case 'rollback':
      for (const id of message.ids) tx.rollback(id);
      break;
  }
  tx.admitParked();
  return { state: produce(state, (draft) => void Object.assign(draft, tx.changes(state))), effects, touched: tx.touched };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Counts = Record<string, number>;

function sameCounts<T extends object>(a: T, b: T): boolean {
  for (const key in a) if (a[key] !== b[key]) return false;
  return true;
}

/** One transition in progress: local copies of the state's fields and the helpers that keep invariants. */
class PartitionTx {
  private readonly now: number;
  private readonly index: number;
  private seq: number;
  private records: PartitionState['records'];
  private timers: PartitionState['timers'];
  private retained: PartitionState['retained'];
  private idempotency: PartitionState['idempotency'];
  private parked: PartitionState['parked'];
  private delayed: number;
  private retrying: number;
  private running: number;
  private readonly depth: Record<Tier, number>;
  private readonly totals: Mutable<PartitionTotals>;
  private readonly queues: Record<Tier, Record<string, PQueue<string>>>;
  private readonly queued: Record<Tier, Counts>;
  /** Tiers whose `queues`/`queued` maps were copied for writing. */
  private readonly copied = new Set<Tier>();
  readonly touched = new Set<string>();

  constructor(base: PartitionState, private readonly effects: PartitionEffect[], private readonly env: PartitionEnv) {
    this.now = env.now();
    this.index = base.index;
    this.seq = base.seq;
    this.records = base.records;
    this.timers = base.timers;
    this.retained = base.retained;
    this.idempotency = base.idempotency;
    this.parked = base.parked;
    this.delayed = base.delayed;
    this.retrying = base.retrying;
    this.running = base.running;
    this.depth = { ...base.depth };
    this.totals = { ...base.totals };
    this.queues = { ...base.queues } as Record<Tier, Record<string, PQueue<string>>>;
    this.queued = { ...base.queued } as Record<Tier, Counts>;
  }

  /** The fields that changed, for immer to merge into the next state (unchanged ones keep their identity). */
  changes(base: PartitionState): Partial<Mutable<PartitionState>> {
    const changed: Partial<Mutable<PartitionState>> = {};
    if (this.seq !== base.seq) changed.seq = this.seq;
    if (this.records !== base.records) changed.records = this.records;
    if (this.timers !== base.timers) changed.timers = this.timers;
    if (this.retained !== base.retained) changed.retained = this.retained;
    if (this.idempotency !== base.idempotency) changed.idempotency = this.idempotency;
    if (this.parked !== base.parked) changed.parked = this.parked;
    if (this.delayed !== base.delayed) changed.delayed = this.delayed;
    if (this.retrying !== base.retrying) changed.retrying = this.retrying;
    if (this.running !== base.running) changed.running = this.running;
    if (!sameCounts(this.depth, base.depth)) changed.depth = this.depth;
    if (!sameCounts(this.totals, base.totals)) changed.totals = this.totals;
    if (this.copied.size > 0) {
      changed.queues = this.queues;
      changed.queued = this.queued;
    }
    return changed;
  }

  enqueue(batch: EnqueueBatch): void {
    const { payloads } = batch;
    const results: Array<EnqueueResult | undefined> = new Array(payloads.length);
    for (let i = 0; i < payloads.length; i++) {
      const payload = payloads[i] as Payload;
      const duplicateOf = payload.idempotencyKey === undefined ? undefined : this.idempotency.get(payload.idempotencyKey);
      if (duplicateOf !== undefined) {
        results[i] = { ok: true, id: duplicateOf, duplicate: true };
        continue;
      }
      const tier = routeTier(payload, this.env.options);
      if (payload.runAt !== undefined && payload.runAt > this.now) {
        this.accept(payload, tier, 'delayed');
        results[i] = { ok: true, id: payload.id, duplicate: false };
      } else if (batch.admitted === true || this.hasRoom(tier) || this.makeRoom(tier)) {
        this.accept(payload, tier, 'queued');
        results[i] = { ok: true, id: payload.id, duplicate: false };
      } else if (this.env.options.overflow === 'wait') {
        this.parked = this.parked.push({ payload, batch, index: i, expiresAt: this.now + this.env.options.overflowWaitMs });
      } else {
        results[i] = { ok: false, error: new QueueFullError(this.index, tier) };
      }
    }
    const accepted = results.flatMap((r) => (r?.ok && !r.duplicate ? [r.id] : []));
    this.effects.push({
      kind: 'reply',
      deliver: () => results.forEach((result, i) => result && batch.settle(i, result)),
      refuse: (error) => results.forEach((result, i) => result && batch.settle(i, result.ok && !result.duplicate ? { ok: false, error } : result)),
      accepted,
    });
  }

  /** Serves waiting `wait`-policy submits in arrival order while their tiers have room. */
  admitParked(): void {
    if (this.parked.size === 0) return;
    let still = PQueue.empty<ParkedSubmit>();
    for (const parked of this.parked) {
      const { payload, batch, index } = parked;
      const tier = routeTier(payload, this.env.options);
      let result: EnqueueResult;
      if (this.hasRoom(tier)) {
        this.accept(payload, tier, 'queued');
        result = { ok: true, id: payload.id, duplicate: false };
      } else if (parked.expiresAt <= this.now) {
        result = { ok: false, error: new QueueFullError(this.index, tier, `stayed full for ${this.env.options.overflowWaitMs} ms`) };
      } else {
        still = still.push(parked);
        continue;
      }
      this.effects.push({ kind: 'reply', deliver: () => batch.settle(index, result) });
    }
    this.parked = still;
  }

  grant(grants: readonly Grant[]): void {
    for (const { tier, handlerType, count } of grants) {
      const queues = this.writableQueues(tier);
      let queue = queues[handlerType];
      let started = 0;
      while (queue && queue.size > 0 && started < count) {
        const id = queue.peek() as string;
        queue = queue.shift();
        const record = this.records.get(id);
        if (!isLiveIn(record, tier)) continue;
        this.start(record);
        started++;
      }
      if (queue) queues[handlerType] = this.dropDeadHead(queue, tier);
      if (started < count) this.effects.push({ kind: 'release', tier, handlerType, count: count - started });
    }
  }

  outcome(outcome: Outcome): void {
    const record = this.records.get(outcome.id);
    if (!record || record.status !== 'running' || record.attempt !== outcome.attempt) return; // stale: cancelled or timed out
    switch (outcome.kind) {
      case 'progress': {
        const next = copyRecord(record);
        next.progress = outcome.value;
        this.put(next);
        this.emit('progress', record, { progress: outcome.value, attempt: record.attempt });
        return;
      }
      case 'completed':
        this.running--;
        this.finish(record, 'completed', outcome.result, undefined, { result: outcome.result, attempt: record.attempt });
        return;
      case 'failed':
        this.running--;
        this.failed(record, outcome.error, outcome.retryable);
        return;
    }
  }

  cancel(id: string): CancelResult {
    const record = this.records.get(id);
    if (!record) return 'unknown';
    if (isTerminal(record.status)) return 'already-finished';
    if (record.status === 'queued') this.unqueue(record);
    else if (record.status === 'delayed') this.undelay(record); // its timer entry is skipped when it falls due
    else if (record.status === 'running') {
      this.running--;
      this.effects.push({ kind: 'abort', id, reason: 'cancelled' });
    }
    this.finish(record, 'cancelled', undefined, undefined, { reason: 'cancelled by request' });
    return 'cancelled';
  }

  /** Forgets a payload whose acceptance never became durable, if it has not started meanwhile. */
  rollback(id: string): void {
    const record = this.records.get(id);
    if (!record || (record.status !== 'queued' && record.status !== 'delayed')) return;
    if (record.status === 'queued') this.unqueue(record);
    else this.undelay(record);
    this.totals.accepted--;
    this.forget(record);
  }

  /** Moves every due timer into its tier. Already-accepted work enters even a full tier: nothing accepted is lost. */
  sweep(): void {
    for (let top = this.timers.peek(); top && top.key <= this.now; top = this.timers.peek()) {
      this.timers = this.timers.pop();
      const record = this.records.get(top.value);
      if (!record || record.status !== 'delayed') continue;
      this.undelay(record);
      const next = copyRecord(record);
      next.status = 'queued';
      next.enqueuedAt = top.key; // age counts from when it fell due, not from when the sweep ran
      this.queue(next);
    }
  }

  private failed(record: PayloadRecord, error: PayloadFailure, retryable: boolean): void {
    const policy = this.env.policyOf(record.type);
    const retries = record.retries ?? policy.retries;
    if (!retryable || record.attempt > retries) {
      this.finish(record, 'failed', undefined, error, { error, attempt: record.attempt });
      return;
    }
    const backoff = record.backoff ? { ...policy.backoff, ...record.backoff } : policy.backoff;
    const retryAt = this.now + backoffDelay(backoff, record.attempt, this.env.options.random);
    const next = copyRecord(record);
    next.status = 'delayed';
    next.runAt = retryAt;
    next.error = error;
    this.put(next);
    this.timers = this.timers.insert(retryAt, record.id);
    this.delayed++;
    this.retrying++;
    this.totals.retried++;
    this.emit('retrying', record, { error, attempt: record.attempt, retryAt });
  }

  private undelay(record: PayloadRecord): void {
    this.delayed--;
    if (record.attempt > 0) this.retrying--;
  }

  private accept(payload: Payload, tier: Tier, status: 'queued' | 'delayed'): void {
    const record = newRecord(payload, status, tier, this.seq++, this.now);
    if (payload.idempotencyKey !== undefined) this.idempotency = this.idempotency.set(payload.idempotencyKey, payload.id);
    this.totals.accepted++;
    if (status === 'delayed') {
      this.put(record);
      this.timers = this.timers.insert(payload.runAt as number, payload.id);
      this.delayed++;
    } else {
      this.queue(record);
    }
    this.emit('accepted', record, undefined);
  }

  private queue(record: PayloadRecord): void {
    const { tier, type } = record;
    this.put(record);
    const queues = this.writableQueues(tier);
    queues[type] = (queues[type] ?? PQueue.empty<string>()).push(record.id);
    const counts = this.queued[tier];
    counts[type] = (counts[type] ?? 0) + 1;
    this.depth[tier]++;
  }

  /** Takes a queued record out of the live counts; its id stays in the FIFO as a tombstone. */
  private unqueue(record: PayloadRecord): void {
    const { tier, type } = record;
    const queues = this.writableQueues(tier);
    this.queued[tier][type] = (this.queued[tier][type] ?? 1) - 1;
    this.depth[tier]--;
    const queue = queues[type];
    if (queue) queues[type] = this.dropDeadHead(queue, tier, record.id);
  }

  private start(record: PayloadRecord): void {
    const { tier, type } = record;
    this.queued[tier][type] = (this.queued[tier][type] ?? 1) - 1;
    this.depth[tier]--;
    this.running++;
    this.totals.started++;
    const next = copyRecord(record);
    next.status = 'running';
    next.attempt = record.attempt + 1;
    next.startedAt = this.now;
    this.put(next);
    const policy = this.env.policyOf(type);
    this.effects.push({
      kind: 'run',
      order: {
        partition: this.index,
        id: record.id,
        handlerType: type,
        clientId: record.clientId,
        tier,
        data: record.data,
        attempt: next.attempt,
        timeout: record.timeout ?? policy.timeout,
        degraded: record.degraded === true,
      },
    });
    this.emit('started', next, { attempt: next.attempt });
  }

  private writableQueues(tier: Tier): Record<string, PQueue<string>> {
    if (!this.copied.has(tier)) {
      this.copied.add(tier);
      this.queues[tier] = { ...this.queues[tier] };
      this.queued[tier] = { ...this.queued[tier] };
    }
    return this.queues[tier];
  }

  private hasRoom(tier: Tier): boolean {
    return this.depth[tier] < this.env.options.tierCapacity[tier];
  }

  /** `drop-lowest`: evicts the oldest payload of the lowest non-empty tier below `tier`. */
  private makeRoom(tier: Tier): boolean {
    if (this.env.options.overflow !== 'drop-lowest') return false;
    for (let t = TIERS.length - 1; t > TIERS.indexOf(tier); t--) {
      const victimTier = TIERS[t] as Tier;
      if (this.depth[victimTier] === 0) continue;
      const victim = this.oldestIn(victimTier);
      if (!victim) continue;
      this.unqueue(victim);
      this.finish(victim, 'skipped', undefined, undefined, { reason: `evicted from a full queue by a ${tier} payload` });
      return true;
    }
    return false;
  }

  private oldestIn(tier: Tier): PayloadRecord | undefined {
    let oldest: PayloadRecord | undefined;
    for (const queue of Object.values(this.queues[tier])) {
      const head = queue.peek();
      const record = head === undefined ? undefined : this.records.get(head);
      if (isLiveIn(record, tier) && (!oldest || record.seq < oldest.seq)) oldest = record;
    }
    return oldest;
  }

  /** Keeps every queue's head live, so heads can be read without skipping (demand, eviction). */
  private dropDeadHead(queue: PQueue<string>, tier: Tier, removed?: string): PQueue<string> {
    for (let head = queue.peek(); head !== undefined; head = queue.peek()) {
      if (head !== removed && isLiveIn(this.records.get(head), tier)) break;
      queue = queue.shift();
    }
    return queue;
  }

  private finish(
    record: PayloadRecord,
    status: 'completed' | 'failed' | 'cancelled' | 'skipped',
    result: unknown,
    error: PayloadFailure | undefined,
    event: EventFields | undefined,
  ): void {
    const next = copyRecord(record);
    next.status = status;
    next.finishedAt = this.now;
    next.result = result;
    if (error) next.error = error;
    this.totals[status]++;
    this.emit(status, record, event);
    if (this.env.options.retainTerminal === 0) {
      this.forget(record);
      return;
    }
    this.put(next);
    this.retained = this.retained.push(record.id);
    while (this.retained.size > this.env.options.retainTerminal) {
      const oldest = this.retained.peek() as string;
      this.retained = this.retained.shift();
      const evicted = this.records.get(oldest);
      if (evicted && isTerminal(evicted.status)) this.forget(evicted);
    }
  }

  /** Drops a terminal record and the idempotency key that pointed at it. */
  private forget(record: PayloadRecord): void {
    this.touched.add(record.id);
    this.records = this.records.delete(record.id);
    const key = record.idempotencyKey;
    if (key !== undefined && this.idempotency.get(key) === record.id) this.idempotency = this.idempotency.delete(key);
  }

  private put(record: PayloadRecord): void {
    this.touched.add(record.id);
    this.records = this.records.set(record.id, record);
  }

  private emit(type: PayloadEventType, record: PayloadRecord, fields: EventFields | undefined): void {
    if (!this.env.observed(type, record.id)) return;
    const event: PayloadEvent = {
      type,
      id: record.id,
      clientId: record.clientId,
      payloadType: record.type,
      partition: this.index,
      tier: record.tier,
      at: this.now,
      attempt: fields?.attempt,
      result: fields?.result,
      error: fields?.error,
      progress: fields?.progress,
      reason: fields?.reason,
      retryAt: fields?.retryAt,
    };
    this.effects.push({ kind: 'event', event });
  }
}

type EventFields = Partial<Pick<PayloadEvent, 'attempt' | 'result' | 'error' | 'progress' | 'reason' | 'retryAt'>>;
