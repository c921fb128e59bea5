/**
 * The mechanics every partition transition shares: local copies of the state's fields (handed to
 * immer once, by `changes`), and the helpers that keep the mailbox invariants — live counts per
 * tier and type, queue heads that are always live, retention, the ledger hand-off, events.
 */
import { PQueue, type TransientPMap } from '../../src/collections/index.ts';
import type { PayloadFailure } from '../../src/errors.ts';
import type { PayloadEvent, PayloadEventType } from '../../src/events.ts';
import type { Tier } from '../../src/payload.ts';
import type { LedgerEntry } from '../coordinator/ledger.ts';
import type { PartitionEffect } from './messages.ts';
import type { PartitionEnv } from './env.ts';
import { copyRecord } from './record.ts';
import { isLiveIn, isTerminal, type FlowTotals, type PartitionState, type PartitionTotals, type PayloadRecord } from './state.ts';

export const SKIP_REASON = 'skipped under critical load; rescheduled when load falls';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type Counts = Record<string, number>;

function sameCounts<T extends object>(a: T, b: T): boolean {
  for (const key in a) if (a[key] !== b[key]) return false;
  return true;
}

/** One transition in progress: local copies of the state's fields and the helpers that keep invariants. */
export abstract class MailboxTx {
  protected readonly now: number;
  protected readonly index: number;
  protected seq: number;
  /** Reads go here; writes open a transient on first use, so a batch copies each trie node once. */
  protected records: Pick<PartitionState['records'], 'get' | 'has'>;
  private recordsTx: TransientPMap<PayloadRecord> | undefined;
  protected timers: PartitionState['timers'];
  protected retained: PartitionState['retained'];
  protected idempotency: PartitionState['idempotency'];
  protected parked: PartitionState['parked'];
  protected delayed: number;
  protected retrying: number;
  protected running: number;
  protected readonly depth: Record<Tier, number>;
  protected readonly totals: Mutable<PartitionTotals>;
  protected readonly queues: Record<Tier, Record<string, PQueue<string>>>;
  protected readonly queued: Record<Tier, Counts>;
  /** Tiers whose `queues`/`queued` maps were copied for writing. */
  protected readonly copied = new Set<Tier>();
  readonly touched = new Set<string>();
  protected modes: PartitionState['modes'];
  protected serveAs: PartitionState['serveAs'];
  protected ledgerSeq: number;
  protected flow: Mutable<FlowTotals> | undefined;
  /** Skipped into the ledger / cancelled out of it during this transition: one message each to the coordinator. */
  protected readonly ledgerOut: LedgerEntry[] = [];
  protected readonly unledgered: string[] = [];

  constructor(base: PartitionState, protected readonly effects: PartitionEffect[], protected readonly env: PartitionEnv) {
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

  protected readonly base: PartitionState;

  /** Flow counters, copied on first write (they change only under load). */
  protected get flows(): Mutable<FlowTotals> {
    return (this.flow ??= { ...this.base.flow });
  }

  /** The fields that changed, for immer to merge into the next state (unchanged ones keep their identity). */
  changes(base: PartitionState): Partial<Mutable<PartitionState>> {
    const changed: Partial<Mutable<PartitionState>> = {};
    if (this.seq !== base.seq) changed.seq = this.seq;
    if (this.recordsTx) changed.records = this.recordsTx.persistent();
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

  /** The record an entry refers to, if it still waits for that very entry (not cancelled, not skipped again since). */
  protected deferredOf(entry: LedgerEntry): PayloadRecord | undefined {
    const record = this.records.get(entry.id);
    return record && record.status === 'deferred' && record.ledgerId === entry.ledgerId ? record : undefined;
  }

  /** Skips a due payload into the ledger: the client is told, the coordinator records it. */
  protected defer(record: PayloadRecord, reason: string): void {
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

  protected undelay(record: PayloadRecord): void {
    this.delayed--;
    if (record.attempt > 0) this.retrying--;
  }

  /** Queues a due record, or skips it into the ledger while its tier is skipping (unless `force`). */
  protected queue(record: PayloadRecord, force = false): void {
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
  protected unqueue(record: PayloadRecord): void {
    const { tier, type } = record;
    const queues = this.writableQueues(tier);
    this.queued[tier][type] = (this.queued[tier][type] ?? 1) - 1;
    this.depth[tier]--;
    const queue = queues[type];
    if (queue) queues[type] = this.dropDeadHead(queue, tier, record.id);
  }

  protected writableQueues(tier: Tier): Record<string, PQueue<string>> {
    if (!this.copied.has(tier)) {
      this.copied.add(tier);
      this.queues[tier] = { ...this.queues[tier] };
      this.queued[tier] = { ...this.queued[tier] };
    }
    return this.queues[tier];
  }

  protected hasRoom(tier: Tier): boolean {
    return this.depth[tier] < this.env.options.tierCapacity[tier];
  }

  protected oldestIn(tier: Tier): PayloadRecord | undefined {
    let oldest: PayloadRecord | undefined;
    for (const queue of Object.values(this.queues[tier])) {
      const head = queue.peek();
      const record = head === undefined ? undefined : this.records.get(head);
      if (isLiveIn(record, tier) && (!oldest || record.seq < oldest.seq)) oldest = record;
    }
    return oldest;
  }

  /** Keeps every queue's head live, so heads can be read without skipping (demand, eviction). */
  protected dropDeadHead(queue: PQueue<string>, tier: Tier, removed?: string): PQueue<string> {
    for (let head = queue.peek(); head !== undefined; head = queue.peek()) {
      if (head !== removed && isLiveIn(this.records.get(head), tier)) break;
      queue = queue.shift();
    }
    return queue;
  }

  protected finish(
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
  protected retain(id: string): void {
    this.retained = this.retained.push(id);
    while (this.retained.size > this.env.options.retainTerminal) {
      const oldest = this.retained.peek() as string;
      this.retained = this.retained.shift();
      const evicted = this.records.get(oldest);
      if (evicted && (isTerminal(evicted.status) || evicted.status === 'moved')) this.forget(evicted);
    }
  }

  /** Drops a terminal record and the idempotency key that pointed at it. */
  protected forget(record: PayloadRecord): void {
    this.touched.add(record.id);
    this.writableRecords().delete(record.id);
    const key = record.idempotencyKey;
    if (key !== undefined && this.idempotency.get(key) === record.id) this.idempotency = this.idempotency.delete(key);
  }

  protected put(record: PayloadRecord): void {
    this.touched.add(record.id);
    this.writableRecords().set(record.id, record);
  }

  private writableRecords(): TransientPMap<PayloadRecord> {
    if (!this.recordsTx) this.records = this.recordsTx = this.base.records.asTransient();
    return this.recordsTx;
  }

  protected emit(type: PayloadEventType, record: PayloadRecord, fields: EventFields | undefined): void {
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

export type EventFields = Partial<Pick<PayloadEvent, 'attempt' | 'result' | 'error' | 'progress' | 'reason' | 'retryAt' | 'ledgerId' | 'priority'>>;
