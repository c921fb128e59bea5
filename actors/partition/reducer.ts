/**
 * The partition's transitions: pure `(state, message, env) → { state, effects }`. State changes go
 * through immer; everything the outside world must do (start a handler, answer a caller, emit an
 * event) is returned as an effect and performed by the actor wrapper after the state is committed.
 */
import { Immer, type Draft } from 'immer';
import { PQueue } from '../../src/collections/index.ts';
import { QueueFullError } from '../../src/errors.ts';
import type { PayloadEvent, PayloadEventType } from '../../src/events.ts';
import { backoffDelay } from '../../src/execution/backoff.ts';
import type { CompiledBackoff, CompiledOptions } from '../../src/options.ts';
import { TIERS, type Payload, type PayloadStatus, type Tier } from '../../src/payload.ts';
import type { CancelResult, EnqueueBatch, EnqueueResult, Grant, Outcome, PartitionEffect, PartitionMessage } from './messages.ts';
import { routeTier } from './routing.ts';
import { isLiveIn, isTerminal, viewOf, type ParkedSubmit, type PartitionState, type PayloadRecord } from './state.ts';

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
}

export interface Transition {
  readonly state: PartitionState;
  readonly effects: PartitionEffect[];
}

export function reducePartition(state: PartitionState, message: PartitionMessage, env: PartitionEnv): Transition {
  const effects: PartitionEffect[] = [];
  if (message.type === 'get') {
    const record = state.records.get(message.id);
    const view = record && viewOf(record, state.index);
    effects.push({ kind: 'reply', deliver: () => message.reply(view) });
    return { state, effects };
  }
  const next = produce(state, (draft) => {
    const tx = new PartitionTx(draft, effects, env);
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
    }
    tx.admitParked();
  });
  return { state: next, effects };
}

/** One transition in progress: the draft, the effects so far, and the helpers that keep invariants. */
class PartitionTx {
  private readonly now: number;
  constructor(
    private readonly s: Draft<PartitionState>,
    private readonly effects: PartitionEffect[],
    private readonly env: PartitionEnv,
  ) {
    this.now = env.now();
  }

  enqueue(batch: EnqueueBatch): void {
    const { payloads } = batch;
    const results: Array<EnqueueResult | undefined> = new Array(payloads.length);
    for (let i = 0; i < payloads.length; i++) {
      const payload = payloads[i] as Payload;
      const duplicateOf = payload.idempotencyKey === undefined ? undefined : this.s.idempotency.get(payload.idempotencyKey);
      if (duplicateOf !== undefined) {
        results[i] = { ok: true, id: duplicateOf, duplicate: true };
        continue;
      }
      const tier = routeTier(payload, this.env.options);
      if (payload.runAt !== undefined && payload.runAt > this.now) {
        this.accept(payload, tier, 'delayed');
        results[i] = { ok: true, id: payload.id, duplicate: false };
      } else if (this.hasRoom(tier) || this.makeRoom(tier)) {
        this.accept(payload, tier, 'queued');
        results[i] = { ok: true, id: payload.id, duplicate: false };
      } else if (this.env.options.overflow === 'wait') {
        this.s.parked = this.s.parked.push({ payload, batch, index: i, expiresAt: this.now + this.env.options.overflowWaitMs });
      } else {
        results[i] = { ok: false, error: new QueueFullError(this.s.index, tier) };
      }
    }
    this.effects.push({ kind: 'reply', deliver: () => results.forEach((result, i) => result && batch.settle(i, result)) });
  }

  /** Serves waiting `wait`-policy submits in arrival order while their tiers have room. */
  admitParked(): void {
    if (this.s.parked.size === 0) return;
    let still = PQueue.empty<ParkedSubmit>();
    for (const parked of this.s.parked) {
      const { payload } = parked;
      const tier = routeTier(payload, this.env.options);
      let result: EnqueueResult | undefined;
      if (this.hasRoom(tier)) {
        this.accept(payload, tier, 'queued');
        result = { ok: true, id: payload.id, duplicate: false };
      } else if (parked.expiresAt <= this.now) {
        result = { ok: false, error: new QueueFullError(this.s.index, tier, `stayed full for ${this.env.options.overflowWaitMs} ms`) };
      } else {
        still = still.push(parked);
        continue;
      }
      const { batch, index } = parked;
      const settled = result;
      this.effects.push({ kind: 'reply', deliver: () => batch.settle(index, settled) });
    }
    this.s.parked = still;
  }

  grant(grants: readonly Grant[]): void {
    for (const { tier, handlerType, count } of grants) {
      let queue = this.s.queues[tier][handlerType];
      let started = 0;
      while (queue && queue.size > 0 && started < count) {
        const id = queue.peek() as string;
        queue = queue.shift();
        const record = this.s.records.get(id);
        if (!isLiveIn(record, tier)) continue;
        this.start(record);
        started++;
      }
      if (queue) this.s.queues[tier][handlerType] = this.dropDeadHead(queue, tier);
      if (started < count) this.effects.push({ kind: 'release', tier, handlerType, count: count - started });
    }
  }

  outcome(outcome: Outcome): void {
    const record = this.s.records.get(outcome.id);
    if (!record || record.status !== 'running' || record.attempt !== outcome.attempt) return; // stale: cancelled or timed out
    switch (outcome.kind) {
      case 'progress':
        this.put({ ...record, progress: outcome.value });
        this.emit('progress', record, { progress: outcome.value, attempt: record.attempt });
        return;
      case 'completed':
        this.s.running--;
        this.finish(record, 'completed', { result: outcome.result }, { result: outcome.result, attempt: record.attempt });
        return;
      case 'failed': {
        this.s.running--;
        const policy = this.env.policyOf(record.type);
        const retries = record.retries ?? policy.retries;
        if (outcome.retryable && record.attempt <= retries) {
          const backoff = record.backoff ? { ...policy.backoff, ...record.backoff } : policy.backoff;
          const retryAt = this.now + backoffDelay(backoff, record.attempt, this.env.options.random);
          this.put({ ...record, status: 'delayed', runAt: retryAt, error: outcome.error });
          this.s.timers = this.s.timers.insert(retryAt, record.id);
          this.s.delayed++;
          this.s.totals.retried++;
          this.emit('retrying', record, { error: outcome.error, attempt: record.attempt, retryAt });
        } else {
          this.finish(record, 'failed', { error: outcome.error }, { error: outcome.error, attempt: record.attempt });
        }
        return;
      }
    }
  }

  cancel(id: string): CancelResult {
    const record = this.s.records.get(id);
    if (!record) return 'unknown';
    if (isTerminal(record.status)) return 'already-finished';
    if (record.status === 'queued') this.unqueue(record);
    else if (record.status === 'delayed') this.s.delayed--; // its timer entry is skipped when it falls due
    else if (record.status === 'running') {
      this.s.running--;
      this.effects.push({ kind: 'abort', id, reason: 'cancelled' });
    }
    this.finish(record, 'cancelled', {}, { reason: 'cancelled by request' });
    return 'cancelled';
  }

  /** Moves every due timer into its tier. Already-accepted work enters even a full tier: nothing accepted is lost. */
  sweep(): void {
    for (let top = this.s.timers.peek(); top && top.key <= this.now; top = this.s.timers.peek()) {
      this.s.timers = this.s.timers.pop();
      const record = this.s.records.get(top.value);
      if (!record || record.status !== 'delayed') continue;
      this.s.delayed--;
      this.queue({ ...record, status: 'queued', enqueuedAt: top.key });
    }
  }

  private accept(payload: Payload, tier: Tier, status: 'queued' | 'delayed'): void {
    const record: PayloadRecord = { ...payload, status, tier, attempt: 0, seq: this.s.seq++, enqueuedAt: this.now };
    if (payload.idempotencyKey !== undefined) this.s.idempotency = this.s.idempotency.set(payload.idempotencyKey, payload.id);
    this.s.totals.accepted++;
    if (status === 'delayed') {
      this.put(record);
      this.s.timers = this.s.timers.insert(payload.runAt as number, payload.id);
      this.s.delayed++;
    } else {
      this.queue(record);
    }
    this.emit('accepted', record, {});
  }

  private queue(record: PayloadRecord): void {
    const { tier, type } = record;
    this.put(record);
    const queues = this.s.queues[tier];
    queues[type] = (queues[type] ?? emptyQueue()).push(record.id);
    this.s.queued[tier][type] = (this.s.queued[tier][type] ?? 0) + 1;
    this.s.depth[tier]++;
  }

  /** Takes a queued record out of the live counts; its id stays in the FIFO as a tombstone. */
  private unqueue(record: PayloadRecord): void {
    const { tier, type } = record;
    this.s.queued[tier][type] = (this.s.queued[tier][type] ?? 1) - 1;
    this.s.depth[tier]--;
    const queue = this.s.queues[tier][type];
    if (queue) this.s.queues[tier][type] = this.dropDeadHead(queue, tier, record.id);
  }

  private start(record: PayloadRecord): void {
    const { tier, type } = record;
    this.s.queued[tier][type] = (this.s.queued[tier][type] ?? 1) - 1;
    this.s.depth[tier]--;
    this.s.running++;
    this.s.totals.started++;
    const attempt = record.attempt + 1;
    this.put({ ...record, status: 'running', attempt, startedAt: this.now });
    const policy = this.env.policyOf(type);
    this.effects.push({
      kind: 'run',
      order: {
        partition: this.s.index,
        id: record.id,
        handlerType: type,
        clientId: record.clientId,
        tier,
        data: record.data,
        attempt,
        timeout: record.timeout ?? policy.timeout,
        degraded: record.degraded === true,
      },
    });
    this.emit('started', record, { attempt });
  }

  private hasRoom(tier: Tier): boolean {
    return this.s.depth[tier] < this.env.options.tierCapacity[tier];
  }

  /** `drop-lowest`: evicts the oldest payload of the lowest non-empty tier below `tier`. */
  private makeRoom(tier: Tier): boolean {
    if (this.env.options.overflow !== 'drop-lowest') return false;
    for (let t = TIERS.length - 1; t > TIERS.indexOf(tier); t--) {
      const victimTier = TIERS[t] as Tier;
      if (this.s.depth[victimTier] === 0) continue;
      const victim = this.oldestIn(victimTier);
      if (!victim) continue;
      this.unqueue(victim);
      this.finish(victim, 'skipped', {}, { reason: `evicted from a full queue by a ${tier} payload` });
      return true;
    }
    return false;
  }

  private oldestIn(tier: Tier): PayloadRecord | undefined {
    let oldest: PayloadRecord | undefined;
    for (const type in this.s.queues[tier]) {
      const head = this.s.queues[tier][type]?.peek();
      const record = head === undefined ? undefined : this.s.records.get(head);
      if (isLiveIn(record, tier) && (!oldest || record.seq < oldest.seq)) oldest = record;
    }
    return oldest;
  }

  /** Keeps every queue's head live, so heads can be read without skipping (demand, eviction). */
  private dropDeadHead<Q extends { peek(): string | undefined; shift(): Q }>(queue: Q, tier: Tier, removed?: string): Q {
    for (let head = queue.peek(); head !== undefined; head = queue.peek()) {
      if (head !== removed && isLiveIn(this.s.records.get(head), tier)) break;
      queue = queue.shift();
    }
    return queue;
  }

  private finish(
    record: PayloadRecord,
    status: PayloadStatus,
    fields: Partial<PayloadRecord>,
    event: Partial<PayloadEvent>,
  ): void {
    this.put({ ...record, ...fields, status, finishedAt: this.now });
    this.s.totals[status as 'completed' | 'failed' | 'cancelled' | 'skipped']++;
    this.emit(status as PayloadEventType, record, event);
    this.s.retained = this.s.retained.push(record.id);
    while (this.s.retained.size > this.env.options.retainTerminal) {
      const oldest = this.s.retained.peek() as string;
      this.s.retained = this.s.retained.shift();
      const evicted = this.s.records.get(oldest);
      if (!evicted || !isTerminal(evicted.status)) continue;
      this.s.records = this.s.records.delete(oldest);
      const key = evicted.idempotencyKey;
      if (key !== undefined && this.s.idempotency.get(key) === oldest) this.s.idempotency = this.s.idempotency.delete(key);
    }
  }

  private put(record: PayloadRecord): void {
    this.s.records = this.s.records.set(record.id, record);
  }

  private emit(type: PayloadEventType, record: PayloadRecord, extra: Partial<PayloadEvent>): void {
    this.effects.push({
      kind: 'event',
      event: {
        type,
        id: record.id,
        clientId: record.clientId,
        payloadType: record.type,
        partition: this.s.index,
        tier: record.tier,
        at: this.now,
        ...extra,
      },
    });
  }
}

const emptyQueue = (): PQueue<string> => PQueue.empty();
