/**
 * The payload lifecycle transitions of a partition: enqueue (with overflow policies and parked
 * submits), grants from the pool, outcomes and retries, cancellation, rollback, due timers.
 */
import { QueueFullError, type PayloadFailure } from '../../src/errors.ts';
import { backoffDelay } from '../../src/execution/backoff.ts';
import { TIERS, type Payload, type Tier } from '../../src/payload.ts';
import type { CancelResult, EnqueueBatch, EnqueueResult, Grant, Outcome, ReviveResult, RevivedPayload } from './messages.ts';
import { newRecord } from './record.ts';
import { routeTier, routeTierOf } from './routing.ts';
import { isTerminal, type ParkedSubmit, type PayloadRecord } from './state.ts';
import { HoldTx } from './hold-transitions.ts';
import { openWindow } from './dedupe-windows.ts';
import { claimAhead, dropClaim, raiseTarget } from './claims.ts';
import { writable } from './transaction.ts';
import type { TypeQueue } from './mailbox.ts';

/** Due timers moved into tiers per message (a sweep of 100,000 due at once would hold the event loop for ~100 ms). */
export const SWEEP_SLICE = 512;

/** A payload's life in the partition: accepted, queued or delayed, started, finished, retried, cancelled. */
export class PartitionTx extends HoldTx {
  enqueue(batch: EnqueueBatch): void {
    const { payloads } = batch;
    const results: Array<EnqueueResult | undefined> = new Array(payloads.length);
    for (let i = 0; i < payloads.length; i++) {
      let payload = payloads[i] as Payload;
      if (payload.dedupe !== undefined && !(batch.admitted === true && this.state.records.has(payload.id))) {
        const answer = this.deduplicated(payload);
        if (answer) {
          results[i] = answer;
          continue;
        }
        payload = this.debounced(payload);
      }
      // A payload the dependency graph releases again after recovery may already be here: accepted once, not twice.
      const duplicateOf = payload.idempotencyKey === undefined
        ? (batch.admitted === true && this.state.records.has(payload.id) ? payload.id : undefined)
        : this.state.idempotency.get(payload.idempotencyKey);
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
        this.state.parked.push({ payload, batch, index: i, expiresAt: this.now + this.env.options.overflowWaitMs });
      } else {
        results[i] = { ok: false, error: new QueueFullError(this.index, tier) };
      }
    }
    // Only a journalled acceptance can be refused by its store (and is then rolled back).
    let accepted: string[] | undefined;
    if (this.touched) {
      accepted = [];
      for (const r of results) if (r?.ok && !r.duplicate) accepted.push(r.id);
    }
    const reverts = this.touched && this.reverts.length > 0 ? this.reverts.slice() : undefined;
    this.effects.push({
      kind: 'reply',
      deliver: () => {
        for (let i = 0; i < results.length; i++) {
          const result = results[i];
          if (result) batch.settle(i, result);
        }
      },
      refuse: (error) => results.forEach((result, i) => result && batch.settle(i, result.ok && (!result.duplicate || result.replaced === true) ? { ok: false, error } : result)),
      accepted,
      reverts,
    });
  }

  /** Serves waiting `wait`-policy submits in arrival order while their tiers have room. */
  admitParked(): void {
    if (this.state.parked.length === 0) return;
    const still: ParkedSubmit[] = [];
    for (const parked of this.state.parked) {
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
        still.push(parked);
        continue;
      }
      this.effects.push({ kind: 'reply', deliver: () => batch.settle(index, result) });
    }
    this.state.parked = still;
  }

  grant(grants: readonly Grant[]): void {
    for (const grant of grants) {
      const { tier, handlerType, count } = grant;
      const slotTier = grant.serveAs ?? tier;
      const queue = this.state.queues[tier].get(handlerType);
      let started = 0;
      // A batch grant holds one slot for all its payloads; the first one's id names the batch.
      let batchKey: string | undefined;
      const { unstored } = this.state;
      const { limits } = this.env.options;
      while (queue && started < count) {
        const record = queue.peek(this.now);
        if (!record) break;
        // Not durable yet, nor anything behind it.
        if (!queue.headConfirmed(this.now) || (unstored.size > 0 && unstored.has(record.id))) break;
        if (limits.keyed) {
          const scope = limits.holdOf(record, this.now);
          if (scope !== undefined) {
            this.park(queue, record, scope);
            continue;
          }
        }
        queue.shift(this.now);
        if (grant.batch === true) batchKey ??= record.id;
        if (this.start(record, slotTier, batchKey)) started++;
      }
      const unused = grant.batch === true ? (started === 0 ? 1 : 0) : count - started;
      if (unused > 0) this.effects.push({ kind: 'release', tier: slotTier, handlerType, count: unused });
    }
  }

  outcome(outcome: Outcome): void {
    const record = this.state.records.get(outcome.id);
    if (!record || record.status !== 'running' || record.attempt !== outcome.attempt) {
      // Stale: cancelled or timed out. A checkpoint of an attempt that is over is refused, not stored.
      if (outcome.kind === 'checkpoint') this.effects.push({ kind: 'reply', deliver: () => outcome.stored(false) });
      return;
    }
    switch (outcome.kind) {
      case 'checkpoint': {
        writable(record).checkpoint = outcome.value;
        this.touch(record);
        // A reply waits for the journal entry, so the handler's await ends once the value is durable.
        this.effects.push({ kind: 'reply', deliver: () => outcome.stored(true) });
        return;
      }
      case 'progress': {
        writable(record).progress = outcome.value;
        this.touch(record);
        this.emit('progress', record, { progress: outcome.value, attempt: record.attempt });
        return;
      }
      case 'completed':
        this.state.running--;
        this.env.options.limits.ended(record.id, this.now);
        if (this.claiming) this.ended(record);
        this.finish(record, 'completed', outcome.result, undefined, { result: outcome.result, attempt: record.attempt });
        return;
      case 'failed':
        this.state.running--;
        this.env.options.limits.ended(record.id, this.now);
        if (this.claiming) this.ended(record);
        this.failed(record, outcome.error, outcome.retryable);
        return;
    }
  }

  /** Payloads of each tier and type that ended in this transition (their queue's claim target); no key string per payload. */
  private endedHere: Partial<Record<Tier, Map<string, number>>> | undefined;

  private ended(record: PayloadRecord): void {
    const byType = ((this.endedHere ??= {})[record.tier] ??= new Map());
    byType.set(record.type, (byType.get(record.type) ?? 0) + 1);
  }

  /** Raises the claim targets by what ended, then tops every queue's claims up (claims.ts). */
  claimAhead(): string[] | undefined {
    if (!this.claiming) return undefined;
    if (this.endedHere) {
      for (const tier of TIERS) {
        const byType = this.endedHere[tier];
        if (byType) for (const [type, count] of byType) raiseTarget(this.state.claims, tier, type, count, this.env.options.concurrency);
      }
    }
    return claimAhead(this.state);
  }

  /** Withdraws every claim and claims no more: each claimed record is journalled again as it is, queued. */
  unclaim(): void {
    const { claims } = this.state;
    for (const tier of TIERS) for (const type in claims.target[tier]) delete claims.target[tier][type];
    for (const id of [...claims.ids.keys()]) {
      const record = this.state.records.get(id);
      if (record) this.touch(record);
    }
  }

  cancel(id: string): CancelResult {
    const record = this.state.records.get(id);
    if (!record) return 'unknown';
    if (isTerminal(record.status)) return 'already-finished';
    if (record.status === 'queued') this.unqueue(record);
    else if (record.status === 'delayed') this.undelay(record); // its timer entry is skipped when it falls due
    else if (record.status === 'deferred') this.unledgered.push(record.ledgerId as string);
    else if (record.status === 'running') {
      this.state.running--;
      this.env.options.limits.ended(record.id, this.now);
      this.effects.push({ kind: 'abort', id, reason: 'cancelled' });
    }
    this.finish(record, 'cancelled', undefined, undefined, { reason: 'cancelled by request' });
    return 'cancelled';
  }

  /** Forgets a payload whose acceptance never became durable, if it has not started meanwhile. */
  rollback(id: string): void {
    const record = this.state.records.get(id);
    if (!record || (record.status !== 'queued' && record.status !== 'delayed' && record.status !== 'deferred')) return;
    if (record.status === 'queued') this.unqueue(record);
    else if (record.status === 'deferred') this.unledgered.push(record.ledgerId as string);
    else this.undelay(record);
    this.state.totals.accepted--;
    this.forget(record);
  }

  /**
   * Moves due timers into their tiers, at most `SWEEP_SLICE` per turn: the rest are due still, so
   * the partition's wake-up fires again at once and the event loop is never held long. Already
   * accepted work enters even a full tier: nothing accepted is lost.
   */
  sweep(): void {
    const { timers, records } = this.state;
    this.expireWindows();
    let swept = 0;
    for (let due = timers.peekKey(); due !== undefined && due <= this.now && swept < SWEEP_SLICE; due = timers.peekKey(), swept++) {
      const record = records.get(timers.pop() as string);
      if (!record || record.status !== 'delayed') continue; // cancelled meanwhile
      if (record.runAt !== undefined && record.runAt > this.now) {
        timers.insert(record.runAt, record.id); // a debounce pushed later since this entry was made
        continue;
      }
      this.undelay(record);
      const next = writable(record);
      next.status = 'queued';
      next.enqueuedAt = due; // age counts from when it fell due, not from when the sweep ran
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
    const next = writable(record);
    next.status = 'delayed';
    next.runAt = retryAt;
    next.error = error;
    this.touch(next);
    this.state.timers.insert(retryAt, record.id);
    this.state.delayed++;
    this.state.retrying++;
    this.state.totals.retried++;
    this.emit('retrying', record, { error, attempt: record.attempt, retryAt });
  }

  /** Failed payloads queued again as a new attempt of the same id; one retention dropped is restored from its dead letter. */
  revive(letters: readonly RevivedPayload[]): ReviveResult[] {
    return letters.map(({ payload, attempts }) => {
      const held = this.state.records.get(payload.id);
      if (held && held.status !== 'failed') return 'not-failed';
      if (!held) this.accept(payload, routeTier(payload, this.env.options), 'queued', payload.priority);
      const next = writable(this.state.records.get(payload.id) as PayloadRecord);
      next.attempt = Math.max(next.attempt, attempts);
      if (!held) return 'revived';
      next.status = 'queued';
      next.finishedAt = undefined;
      next.result = undefined;
      next.enqueuedAt = this.now;
      this.state.totals.retried++;
      this.emit('retrying', next, { attempt: next.attempt, reason: 'retried by an operator' });
      this.queue(next, true);
      return 'revived';
    });
  }

  private accept(payload: Payload, tier: Tier, status: 'queued' | 'delayed', priority: number): void {
    const record = newRecord(payload, status, tier, this.state.seq++, this.now);
    if (priority !== payload.priority) writable(record).priority = priority; // boosted at routing
    if (payload.idempotencyKey !== undefined) this.state.idempotency.set(payload.idempotencyKey, payload.id);
    this.state.totals.accepted++;
    this.emit('accepted', record, undefined);
    this.add(record);
    if (payload.dedupe !== undefined) openWindow(this.state, record);
    if (status === 'delayed') {
      this.state.timers.insert(payload.runAt as number, payload.id);
      this.state.delayed++;
    } else {
      this.queue(record, false, true);
    }
  }

  /** Starts a live queued record; false when its deadline had passed (it expires instead). */
  private start(record: PayloadRecord, slotTier: Tier, batch: string | undefined): boolean {
    const { tier, type } = record;
    // Its stored claim already says it may have started: the run need not wait for this entry. Not
    // a batch's member: a batch starts as one run, when all of it may.
    const early = this.state.claims.ids.size > 0 && dropClaim(this.state.claims, record) && batch === undefined;
    const counts = this.state.queued[tier];
    counts[type] = (counts[type] ?? 1) - 1;
    this.state.depth[tier]--;
    if (record.deadline !== undefined && record.deadline <= this.now) {
      this.finish(record, 'expired', undefined, undefined, { reason: 'its deadline passed while it was queued' });
      return false;
    }
    this.state.running++;
    this.state.totals.started++;
    const { limits } = this.env.options;
    if (limits.keyed) limits.started(record, this.now);
    const lastCheckpoint = record.checkpoint;
    const next = writable(record);
    next.status = 'running';
    next.attempt = record.attempt + 1;
    next.startedAt = this.now;
    // Degrading is a per-tier decision read here, at grant time: nothing per payload while queued.
    const degraded = this.state.modes[tier] === 'degrade';
    next.degraded = degraded ? true : undefined; // this attempt's, not an earlier one's
    if (this.started) this.started.push(record.id);
    else this.touch(next);
    const policy = this.env.policyOf(type);
    let timeout = record.timeout ?? policy.timeout;
    if (degraded) {
      timeout = Math.max(1, Math.round(timeout * (this.env.load?.degradedTimeoutFactor ?? 1)));
      this.state.flow.degraded++;
      this.emit('degraded', next, { attempt: next.attempt, reason: `${tier} tier degraded under load` });
    }
    this.effects.push({
      kind: 'run',
      early,
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
        lastCheckpoint,
      },
    });
    this.emit('started', next, { attempt: next.attempt });
    return true;
  }

  /** A limit holds the head of its client's FIFO: the FIFO waits aside until the limit's scope has room. */
  private park(queue: TypeQueue<PayloadRecord>, record: PayloadRecord, scope: string): void {
    if (!queue.park(record.clientId)) return;
    const holds = this.state.limitHolds;
    const parked = holds.get(scope);
    if (parked) parked.push({ queue, clientId: record.clientId });
    else holds.set(scope, [{ queue, clientId: record.clientId }]);
    this.env.options.limits.wait(scope, this.index, this.now);
  }

  /** `drop-lowest`: evicts the oldest payload of the lowest non-empty tier below `tier`. */
  private makeRoom(tier: Tier): boolean {
    if (this.env.options.overflow !== 'drop-lowest') return false;
    for (let t = TIERS.length - 1; t > TIERS.indexOf(tier); t--) {
      const victimTier = TIERS[t] as Tier;
      if (this.state.depth[victimTier] === 0) continue;
      const victim = this.oldestIn(victimTier);
      if (!victim) continue;
      this.unqueue(victim);
      this.finish(victim, 'skipped', undefined, undefined, { reason: `evicted from a full queue by a ${tier} payload` });
      return true;
    }
    return false;
  }
}
