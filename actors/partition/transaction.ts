/**
 * The mechanics every partition transition shares: the helpers that keep the mailbox invariants
 * (live counts per tier and type; the queues themselves keep their heads live, mailbox.ts),
 * retention, the ledger hand-off, events, while the transition changes the partition's owned state
 * in place.
 */
import type { PayloadFailure } from '../../src/errors.ts';
import type { PayloadEvent, PayloadEventType } from '../../src/events.ts';
import type { Tier } from '../../src/payload.ts';
import type { LedgerEntry } from '../coordinator/ledger.ts';
import { closeWindow } from './dedupe-windows.ts';
import { isHeld, keep, unkeep } from './holds.ts';
import type { PartitionEffect } from './messages.ts';
import type { PartitionEnv } from './env.ts';
import type { TypeQueue } from './mailbox.ts';
import type { MutableRecord } from './record.ts';
import { dropClaim } from './claims.ts';
import { isTerminal, newTypeQueue, type PartitionState, type PayloadRecord } from './state.ts';

export const SKIP_REASON = 'skipped under critical load; rescheduled when load falls';

/** A record the transition may change: records are owned by the partition and changed in place. */
export const writable = (record: PayloadRecord): MutableRecord => record as MutableRecord;

/** One transition in progress over the partition's owned state. */
export abstract class MailboxTx {
  protected readonly now: number;
  protected readonly index: number;
  /**
   * What a journal entry must carry: the records this transition created, in order (a list, not a
   * Set: one per acceptance, the bulk of it), the ids of the others it wrote or dropped, and of
   * those the ones whose fields fixed at submit changed (`rewrite`, journalled whole). Undefined
   * when nothing is journalled (the in-memory default), so nothing is tracked.
   */
  readonly added: PayloadRecord[] | undefined;
  readonly touched: Set<string> | undefined;
  readonly created: Set<string> | undefined;
  /** The partition's seq when the transition began: a record with a seq at or past it was created by it. */
  readonly firstSeq: number;
  /**
   * Journalled only: records started (degraded or not) and records completed, in this transition. Those
   * not touched otherwise are journalled as their id alone (codec.ts): a start or a completion is
   * the hot path of every payload, and its fields follow from the transition.
   */
  readonly started: string[] | undefined;
  readonly completed: string[] | undefined;
  /** Journalled only: seqs of the ended records this transition dropped from retention (journalled as deletes). */
  readonly evicted: number[] | undefined;
  /**
   * Journalled only: the queues this transition pushed into (their pushes are stored with its
   * entry, `TypeQueue.confirm`), and the ids it queued again rather than afresh (`PartitionState.unstored`).
   */
  readonly pushed: TypeQueue<PayloadRecord>[] | undefined;
  readonly requeued: string[] | undefined;
  /** Skipped into the ledger / cancelled out of it during this transition: one message each to the coordinator. */
  protected readonly ledgerOut: LedgerEntry[] = [];
  protected readonly unledgered: string[] = [];

  constructor(
    protected readonly state: PartitionState,
    protected readonly effects: PartitionEffect[],
    protected readonly env: PartitionEnv,
    journaled: boolean,
    /** Starts are journalled ahead of their grants (claims.ts): durable, one process. */
    protected readonly claiming = false,
  ) {
    this.now = env.now();
    this.index = state.index;
    this.firstSeq = state.seq;
    this.added = journaled ? [] : undefined;
    this.touched = journaled ? new Set() : undefined;
    this.created = journaled ? new Set() : undefined;
    this.started = journaled ? [] : undefined;
    this.completed = journaled ? [] : undefined;
    this.evicted = journaled ? [] : undefined;
    this.pushed = journaled ? [] : undefined;
    this.requeued = journaled ? [] : undefined;
  }

  /** The record an entry refers to, if it still waits for that very entry (not cancelled, not skipped again since). */
  protected deferredOf(entry: LedgerEntry): PayloadRecord | undefined {
    const record = this.state.records.get(entry.id);
    return record && record.status === 'deferred' && record.ledgerId === entry.ledgerId ? record : undefined;
  }

  /** Skips a due payload into the ledger: the client is told, the coordinator records it. */
  protected defer(record: PayloadRecord, reason: string): void {
    const next = writable(record);
    next.status = 'deferred';
    next.ledgerId = `${this.index.toString(36)}-${this.state.ledgerSeq++}`;
    this.touch(next);
    this.state.flow.deferred++;
    this.ledgerOut.push({
      ledgerId: next.ledgerId, id: next.id, partition: this.index, clientId: next.clientId, type: next.type, tier: next.tier,
      priority: next.priority, deadline: next.deadline, skippedAt: this.now, reason,
    });
    this.emit('skipped', next, { reason, ledgerId: next.ledgerId });
  }

  protected undelay(record: PayloadRecord): void {
    if (record.dedupe !== undefined) closeWindow(this.state, record);
    this.state.delayed--;
    if (record.attempt > 0) this.state.retrying--;
  }

  /**
   * Queues a due record (already in `records`, status `queued`), or skips it into the ledger while
   * its tier is skipping (unless `force`). `fresh`: accepted in this transition, so no earlier id
   * of it can be left in its FIFO.
   */
  protected queue(record: PayloadRecord, force = false, fresh = false): void {
    const { tier, type } = record;
    if (!force && this.state.modes[tier] === 'skip') return this.defer(record, SKIP_REASON);
    if (!fresh) this.touch(record); // a fresh record is in `added` already, and holds no claim
    if (this.state.holds.clients.size > 0 && isHeld(this.state.holds, record)) return keep(this.state, record);
    const queue = this.queueOf(tier, type);
    queue.push(record);
    const { pushed } = this;
    if (!pushed) queue.confirm(queue.pushCount); // nothing journalled: nothing to wait for
    else {
      if (pushed.at(-1) !== queue && !pushed.includes(queue)) pushed.push(queue);
      // A record queued again may still have an earlier id in its FIFO, a tombstone that comes alive
      // again at its old (stored) place: its id waits in `unstored` until this entry is stored.
      if (!fresh) this.requeued?.push(record.id);
    }
    const counts = this.state.queued[tier];
    counts[type] = (counts[type] ?? 0) + 1;
    this.state.depth[tier]++;
  }

  protected queueOf(tier: Tier, type: string): TypeQueue<PayloadRecord> {
    const queues = this.state.queues[tier];
    let queue = queues.get(type);
    if (!queue) queues.set(type, (queue = newTypeQueue(this.state, tier)));
    return queue;
  }

  /** Takes a queued record (still `queued`) out of the live counts; its id stays in its FIFO as a tombstone unless it is the head. */
  protected unqueue(record: PayloadRecord): void {
    if (unkeep(this.state, record)) return;
    const { tier, type } = record;
    const counts = this.state.queued[tier];
    counts[type] = (counts[type] ?? 1) - 1;
    this.state.depth[tier]--;
    this.state.queues[tier].get(type)?.remove(record);
  }

  protected hasRoom(tier: Tier): boolean {
    return this.state.depth[tier] < this.env.options.tierCapacity[tier];
  }

  protected oldestIn(tier: Tier): PayloadRecord | undefined {
    let oldest: PayloadRecord | undefined;
    for (const queue of this.state.queues[tier].values()) {
      const record = queue.oldest;
      if (record && (!oldest || record.seq < oldest.seq)) oldest = record;
    }
    return oldest;
  }

  protected finish(
    record: PayloadRecord,
    status: 'completed' | 'failed' | 'cancelled' | 'skipped' | 'expired',
    result: unknown,
    error: PayloadFailure | undefined,
    event: EventFields | undefined,
  ): void {
    const next = writable(record);
    next.status = status;
    next.finishedAt = this.now;
    next.result = result;
    if (error) next.error = error;
    if (status === 'completed' && this.completed) this.completed.push(record.id);
    if (status === 'expired') this.state.flow.expired++;
    else this.state.totals[status]++;
    this.emit(status, record, event);
    if (this.env.options.retainTerminal === 0) {
      this.forget(record);
      return;
    }
    if (status !== 'completed') this.touch(next);
    this.retain(record.id);
  }

  /** Keeps a record that no longer waits (terminal, or a moved stub) for lookups, within `retainTerminal`. */
  protected retain(id: string): void {
    const { retained } = this.state;
    retained.push(id);
    while (retained.length > this.env.options.retainTerminal) {
      const oldest = retained.shift() as string;
      const evicted = this.state.records.get(oldest);
      if (evicted && (isTerminal(evicted.status) || evicted.status === 'moved')) this.forget(evicted, true);
    }
  }

  /**
   * Drops a record and the idempotency key that pointed at it. `evicted`: an ended record leaving
   * retention, which holds no claim; its id goes to the entry's deletes without a Set.
   */
  protected forget(record: PayloadRecord, evicted = false): void {
    if (evicted) this.evicted?.push(record.seq);
    else {
      this.touched?.add(record.id);
      if (this.state.claims.ids.size > 0) dropClaim(this.state.claims, record);
    }
    this.state.records.delete(record.id);
    const key = record.idempotencyKey;
    if (key !== undefined && this.state.idempotency.get(key) === record.id) this.state.idempotency.delete(key);
  }

  /** A new record enters the partition (with a seq of this transition's). */
  protected add(record: PayloadRecord): void {
    this.state.records.set(record.id, record);
    this.added?.push(record);
  }

  /** A field outside the lifecycle changed (a debounce's data): the journal entry carries the record whole. */
  protected rewrite(record: PayloadRecord): void {
    this.created?.add(record.id);
    this.touched?.add(record.id);
  }

  /** The record was changed in place: the journal entry of this transition carries it. */
  protected touch(record: PayloadRecord): void {
    this.touched?.add(record.id);
    // The entry writes the record as it is now, which overrides an earlier claim of it.
    if (this.state.claims.ids.size > 0) dropClaim(this.state.claims, record);
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
