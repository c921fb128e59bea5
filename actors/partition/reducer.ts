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
import type { TierMode } from '../../src/load/options.ts';
import type { LedgerEntry } from '../coordinator/ledger.ts';
import type { CancelResult, EnqueueBatch, EnqueueResult, Grant, Outcome, PartitionEffect, PartitionMessage } from './messages.ts';
import { copyRecord, newRecord, type MutableRecord } from './record.ts';
import { routeTier, routeTierOf } from './routing.ts';
import {
  isLiveIn, isTerminal, viewOf, type FlowTotals, type ParkedSubmit, type PartitionState, type PartitionTotals, type PayloadRecord,
} from './state.ts';

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
  /** Load-aware routing; without it a payload routes on its own priority and complexity. */
  readonly load?: PartitionLoadEnv;
}

export interface PartitionLoadEnv {
  /** The priority after boost rules, 1–10. */
  priorityOf(payload: Payload): number;
  /** The effective complexity: the client's score refined by observed cost, inflated under load. */
  complexityOf(payload: PayloadRecord | Payload): number;
  /** A degraded payload's timeout is multiplied by this. */
  readonly degradedTimeoutFactor: number;
}

const SKIP_REASON = 'skipped under critical load; rescheduled when load falls';

export interface Transition {
  readonly state: PartitionState;
  readonly effects: PartitionEffect[];
  /** Ids whose record was written or dropped: what a journal entry of this transition must carry. */
  readonly touched: ReadonlySet<string>;
}

const UNTOUCHED: ReadonlySet<string> = new Set();

export function reducePartition(state: PartitionState, message: PartitionMessage, env: PartitionEnv): Transition {
  const effects: PartitionEffect[] = [];
  if (message.type === 'get' || message.type === 'cancel') {
    // A transferred payload's lookups follow it to the partition that owns it now.
    const movedTo = state.records.get(message.id)?.movedTo;
    if (movedTo !== undefined) return { state, effects: [{ kind: 'forward', to: movedTo, message }], touched: UNTOUCHED };
  }
  if (message.type === 'get') {
    const record = state.records.get(message.id);
    const view = record && viewOf(record, state.index);
    effects.push({ kind: 'reply', deliver: () => message.reply(view) });
    return { state, effects, touched: UNTOUCHED };
  }
  if (message.type === 'report') return { state, effects, touched: UNTOUCHED }; // the actor wrapper sends it
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
    case 'degrade':
      tx.setMode(message.tier, message.mode);
      break;
    case 'restore':
      tx.setMode(message.tier, 'normal');
      break;
    case 'elevate':
      tx.serve(message.tier, message.as);
      break;
    case 'transfer-out':
      tx.transferOut(message.tier, message.to, message.max);
      break;
    case 'transfer-in':
      tx.transferIn(message.records);
      break;
    case 'reschedule':
      tx.reschedule(message.entries, message.boost, message.force === true);
      break;
    case 'expire':
      tx.expire(message.entries);
      break;
  }
  tx.admitParked();
  tx.flushLedger();
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
  private modes: PartitionState['modes'];
  private serveAs: PartitionState['serveAs'];
  private ledgerSeq: number;
  private flow: Mutable<FlowTotals> | undefined;
  /** Skipped into the ledger / cancelled out of it during this transition: one message each to the coordinator. */
  private readonly ledgerOut: LedgerEntry[] = [];
  private readonly unledgered: string[] = [];

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
    this.modes = base.modes;
    this.serveAs = base.serveAs;
    this.ledgerSeq = base.ledgerSeq;
    this.base = base;
  }

  private readonly base: PartitionState;

  /** Flow counters, copied on first write (they change only under load). */
  private get flows(): Mutable<FlowTotals> {
    return (this.flow ??= { ...this.base.flow });
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
    if (this.modes !== base.modes) changed.modes = this.modes;
    if (this.serveAs !== base.serveAs) changed.serveAs = this.serveAs;
    if (this.ledgerSeq !== base.ledgerSeq) changed.ledgerSeq = this.ledgerSeq;
    if (this.flow) changed.flow = this.flow;
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
      const priority = this.env.load ? this.env.load.priorityOf(payload) : payload.priority;
      const tier = this.env.load ? routeTierOf(priority, this.env.load.complexityOf(payload), this.env.options) : routeTier(payload, this.env.options);
      if (payload.runAt !== undefined && payload.runAt > this.now) {
        this.accept(payload, tier, 'delayed', priority);
        results[i] = { ok: true, id: payload.id, duplicate: false };
      } else if (batch.admitted === true || this.hasRoom(tier) || this.makeRoom(tier)) {
        this.accept(payload, tier, 'queued', priority);
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
      const priority = this.env.load ? this.env.load.priorityOf(payload) : payload.priority;
      const tier = this.env.load ? routeTierOf(priority, this.env.load.complexityOf(payload), this.env.options) : routeTier(payload, this.env.options);
      let result: EnqueueResult;
      if (this.hasRoom(tier)) {
        this.accept(payload, tier, 'queued', priority);
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
    for (const grant of grants) {
      const { tier, handlerType, count } = grant;
      const slotTier = grant.serveAs ?? tier;
      const queues = this.writableQueues(tier);
      let queue = queues[handlerType];
      let started = 0;
      // A batch grant holds one slot for all its payloads; the first one's id names the batch.
      let batchKey: string | undefined;
      while (queue && queue.size > 0 && started < count) {
        const id = queue.peek() as string;
        queue = queue.shift();
        const record = this.records.get(id);
        if (!isLiveIn(record, tier)) continue;
        if (grant.batch === true) batchKey ??= id;
        if (this.start(record, slotTier, batchKey)) started++;
      }
      if (queue) queues[handlerType] = this.dropDeadHead(queue, tier);
      const unused = grant.batch === true ? (started === 0 ? 1 : 0) : count - started;
      if (unused > 0) this.effects.push({ kind: 'release', tier: slotTier, handlerType, count: unused });
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
    else if (record.status === 'deferred') this.unledgered.push(record.ledgerId as string);
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
    if (!record || (record.status !== 'queued' && record.status !== 'delayed' && record.status !== 'deferred')) return;
    if (record.status === 'queued') this.unqueue(record);
    else if (record.status === 'deferred') this.unledgered.push(record.ledgerId as string);
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

  // ── Load-aware coordination: messages from the coordinator ─────────────────────────────────

  /** A tier's mode; entering `skip` moves every payload queued in it to the ledger at once. */
  setMode(tier: Tier, mode: TierMode): void {
    if (tier === 'critical' || this.modes[tier] === mode) return;
    this.modes = { ...this.modes, [tier]: mode };
    if (mode !== 'skip' || this.depth[tier] === 0) return;
    for (const queue of Object.values(this.queues[tier])) {
      for (const id of queue) {
        const record = this.records.get(id);
        if (isLiveIn(record, tier)) this.defer(record, SKIP_REASON);
      }
    }
    // Every live payload of the tier left; what remains in its FIFOs are tombstones.
    this.copied.add(tier);
    this.queues[tier] = {};
    this.queued[tier] = {};
    this.depth[tier] = 0;
  }

  serve(tier: Tier, as: Tier): void {
    if (this.serveAs[tier] !== as) this.serveAs = { ...this.serveAs, [tier]: as };
  }

  /**
   * Hands up to `max` queued payloads of `tier` to partition `to`, oldest first. Payloads with a
   * shard key or an idempotency key stay: their key pins order and ownership to this partition.
   * A `moved` stub stays behind so lookups by id (which names this partition) follow the payload.
   */
  transferOut(tier: Tier, to: number, max: number): void {
    if (to === this.index) return;
    const moved: PayloadRecord[] = [];
    for (const queue of Object.values(this.queues[tier])) {
      for (const id of queue) {
        if (moved.length >= max) break;
        const record = this.records.get(id);
        if (!isLiveIn(record, tier) || record.shardKey !== undefined || record.idempotencyKey !== undefined) continue;
        this.unqueue(record);
        const stub = copyRecord(record);
        stub.status = 'moved';
        stub.movedTo = to;
        stub.finishedAt = this.now;
        this.put(stub);
        this.retain(id);
        moved.push(record);
      }
    }
    if (moved.length === 0) return;
    this.flows.transferredOut += moved.length;
    this.effects.push({ kind: 'forward', to, message: { type: 'transfer-in', from: this.index, records: moved } });
  }

  /** Payloads from another partition join this one's queues, keeping their tier and their wait. */
  transferIn(records: readonly PayloadRecord[]): void {
    for (const record of records) {
      const next = copyRecord(record);
      next.status = 'queued';
      next.seq = this.seq++;
      next.movedTo = undefined;
      next.finishedAt = undefined;
      this.queue(next);
    }
    this.flows.transferredIn += records.length;
  }

  /** Ledger entries due again: queued with a raised priority, unless their deadline passed. */
  reschedule(entries: readonly LedgerEntry[], boost: number, force: boolean): void {
    for (const entry of entries) {
      const record = this.deferredOf(entry);
      if (!record) continue;
      if (record.deadline !== undefined && record.deadline <= this.now) {
        this.finish(record, 'expired', undefined, undefined, { reason: 'its deadline passed in the ledger', ledgerId: entry.ledgerId });
        continue;
      }
      const next = copyRecord(record);
      next.priority = Math.min(10, record.priority + boost);
      next.tier = routeTierOf(next.priority, this.env.load ? this.env.load.complexityOf(record) : record.complexity, this.env.options);
      next.status = 'queued';
      next.enqueuedAt = this.now;
      next.ledgerId = undefined;
      this.flows.rescheduled++;
      this.emit('rescheduled', next, { ledgerId: entry.ledgerId, priority: next.priority, reason: force ? 'rescheduled by an operator' : 'load fell; made up' });
      this.queue(next, force);
    }
  }

  expire(entries: readonly LedgerEntry[]): void {
    for (const entry of entries) {
      const record = this.deferredOf(entry);
      if (record) this.finish(record, 'expired', undefined, undefined, { reason: 'its deadline passed in the ledger', ledgerId: entry.ledgerId });
    }
  }

  /** Sends the ledger what this transition skipped into it or cancelled out of it. */
  flushLedger(): void {
    if (this.ledgerOut.length > 0) this.effects.push({ kind: 'ledger', entries: this.ledgerOut });
    if (this.unledgered.length > 0) this.effects.push({ kind: 'unledger', ledgerIds: this.unledgered });
  }

  /** The record an entry refers to, if it still waits for that very entry (not cancelled, not skipped again since). */
  private deferredOf(entry: LedgerEntry): PayloadRecord | undefined {
    const record = this.records.get(entry.id);
    return record && record.status === 'deferred' && record.ledgerId === entry.ledgerId ? record : undefined;
  }

  /** Skips a due payload into the ledger: the client is told, the coordinator records it. */
  private defer(record: PayloadRecord, reason: string): void {
    const next = copyRecord(record);
    next.status = 'deferred';
    next.ledgerId = `${this.index.toString(36)}-${this.ledgerSeq++}`;
    this.put(next);
    this.flows.deferred++;
    this.ledgerOut.push({
      ledgerId: next.ledgerId, id: next.id, partition: this.index, clientId: next.clientId, type: next.type, tier: next.tier,
      priority: next.priority, deadline: next.deadline, skippedAt: this.now, reason,
    });
    this.emit('skipped', next, { reason, ledgerId: next.ledgerId });
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

  private accept(payload: Payload, tier: Tier, status: 'queued' | 'delayed', priority: number): void {
    const record = newRecord(payload, status, tier, this.seq++, this.now);
    if (priority !== payload.priority) (record as MutableRecord).priority = priority; // boosted at routing
    if (payload.idempotencyKey !== undefined) this.idempotency = this.idempotency.set(payload.idempotencyKey, payload.id);
    this.totals.accepted++;
    this.emit('accepted', record, undefined);
    if (status === 'delayed') {
      this.put(record);
      this.timers = this.timers.insert(payload.runAt as number, payload.id);
      this.delayed++;
    } else {
      this.queue(record);
    }
  }

  /** Queues a due record, or skips it into the ledger while its tier is skipping (unless `force`). */
  private queue(record: PayloadRecord, force = false): void {
    const { tier, type } = record;
    if (!force && this.modes[tier] === 'skip') return this.defer(record, SKIP_REASON);
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

  /** Starts a live queued record; false when its deadline had passed (it expires instead). */
  private start(record: PayloadRecord, slotTier: Tier, batch: string | undefined): boolean {
    const { tier, type } = record;
    this.queued[tier][type] = (this.queued[tier][type] ?? 1) - 1;
    this.depth[tier]--;
    if (record.deadline !== undefined && record.deadline <= this.now) {
      this.finish(record, 'expired', undefined, undefined, { reason: 'its deadline passed while it was queued' });
      return false;
    }
    this.running++;
    this.totals.started++;
    const next = copyRecord(record);
    next.status = 'running';
    next.attempt = record.attempt + 1;
    next.startedAt = this.now;
    // Degrading is a per-tier decision read here, at grant time: nothing per payload while queued.
    const degraded = this.modes[tier] === 'degrade';
    next.degraded = degraded ? true : undefined; // this attempt's, not an earlier one's
    this.put(next);
    const policy = this.env.policyOf(type);
    let timeout = record.timeout ?? policy.timeout;
    if (degraded) {
      timeout = Math.max(1, Math.round(timeout * (this.env.load?.degradedTimeoutFactor ?? 1)));
      this.flows.degraded++;
      this.emit('degraded', next, { attempt: next.attempt, reason: `${tier} tier degraded under load` });
    }
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
        timeout,
        degraded,
        slotTier,
        batch,
        dependencies: record.dependencies,
      },
    });
    this.emit('started', next, { attempt: next.attempt });
    return true;
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
    status: 'completed' | 'failed' | 'cancelled' | 'skipped' | 'expired',
    result: unknown,
    error: PayloadFailure | undefined,
    event: EventFields | undefined,
  ): void {
    const next = copyRecord(record);
    next.status = status;
    next.finishedAt = this.now;
    next.result = result;
    if (error) next.error = error;
    if (status === 'expired') this.flows.expired++;
    else this.totals[status]++;
    this.emit(status, record, event);
    if (this.env.options.retainTerminal === 0) {
      this.forget(record);
      return;
    }
    this.put(next);
    this.retain(record.id);
  }

  /** Keeps a record that no longer waits (terminal, or a moved stub) for lookups, within `retainTerminal`. */
  private retain(id: string): void {
    this.retained = this.retained.push(id);
    while (this.retained.size > this.env.options.retainTerminal) {
      const oldest = this.retained.peek() as string;
      this.retained = this.retained.shift();
      const evicted = this.records.get(oldest);
      if (evicted && (isTerminal(evicted.status) || evicted.status === 'moved')) this.forget(evicted);
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
      ledgerId: fields?.ledgerId,
      priority: fields?.priority,
    };
    this.effects.push({ kind: 'event', event });
  }
}

type EventFields = Partial<Pick<PayloadEvent, 'attempt' | 'result' | 'error' | 'progress' | 'reason' | 'retryAt' | 'ledgerId' | 'priority'>>;
