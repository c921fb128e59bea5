/**
 * The ledger of payloads skipped under load, owned by the coordinator and changed in place: the
 * coordinator handles one message at a time, so plain mutable structures are safe inside it, and
 * a burst of skips costs a `Map` insert, a ring-buffer push and a heap push per entry, with no
 * path copying and no garbage for the collector. Entries leave it in exactly three ways:
 * rescheduled (make-up or an operator), expired (their deadline passed), or cancelled by the
 * client. Nothing else removes one, so nothing in it is dropped silently. The payload itself stays
 * in its partition (status `deferred`); the ledger holds the reference and what make-up and expiry
 * need. What leaves the coordinator (a listing, a snapshot) is copied out; entries are never
 * mutated, so they are shared.
 *
 * It is a class so that immer, which keeps the coordinator's control state, neither drafts nor
 * freezes it.
 */
import Denque from 'denque';
import { TimerHeap } from '../../src/collections/timer-heap.ts';
import type { Tier } from '../../src/payload.ts';

export interface LedgerEntry {
  /** Given by the partition that skipped it: `<partition in base 36>-<n>`. */
  readonly ledgerId: string;
  /** The payload's id. */
  readonly id: string;
  /** The partition holding the payload's record. */
  readonly partition: number;
  readonly clientId: string;
  readonly type: string;
  readonly tier: Tier;
  readonly priority: number;
  readonly deadline: number | undefined;
  readonly skippedAt: number;
  readonly reason: string;
}

/** Entries ever added, and how each left. */
export interface LedgerTotals {
  readonly added: number;
  readonly rescheduled: number;
  readonly expired: number;
  readonly cancelled: number;
}

/** The ledger as JSON-ready arrays (the coordinator snapshot's `ledger`). */
export interface LedgerSnapshot {
  readonly entries: Array<[string, LedgerEntry]>;
  /** Ledger ids in skip order, ids already gone included. */
  readonly order: string[];
  readonly deadlines: Array<{ key: number; value: string }>;
  readonly totals: LedgerTotals;
}

/** The order queue is rebuilt once it holds more than this many ids and twice the live entries. */
const COMPACT_ABOVE = 64;

export class Ledger {
  private readonly byId = new Map<string, LedgerEntry>();
  /** Ledger ids in skip order; ids no longer in `byId` are skipped lazily. */
  private order = new Denque<string>();
  /** Ledger ids by deadline, for those that have one; ids no longer in `byId` are dropped lazily. */
  private readonly deadlines = new TimerHeap<string>();
  private readonly counts = { added: 0, rescheduled: 0, expired: 0, cancelled: 0 };

  /** A ledger from its snapshot, old ones included (their deadlines came in pop order: any order rebuilds the heap). */
  static restore(snapshot: LedgerSnapshot): Ledger {
    const ledger = new Ledger();
    for (const [ledgerId, entry] of snapshot.entries) ledger.byId.set(ledgerId, entry);
    for (const ledgerId of snapshot.order) ledger.order.push(ledgerId);
    for (const { key, value } of snapshot.deadlines) ledger.deadlines.insert(key, value);
    Object.assign(ledger.counts, snapshot.totals);
    return ledger;
  }

  /** Entries waiting. */
  get size(): number {
    return this.byId.size;
  }

  /** The entries waiting, by ledger id (read only: they change through the methods below). */
  get entries(): ReadonlyMap<string, LedgerEntry> {
    return this.byId;
  }

  get totals(): LedgerTotals {
    return { ...this.counts };
  }

  /** Ids in the skip-order queue, those already gone included. */
  get queuedIds(): number {
    return this.order.length;
  }

  /** Deadlines in the heap, those of entries already gone included. */
  get deadlineCount(): number {
    return this.deadlines.size;
  }

  /** Adds the entries not in the ledger yet; returns how many were. */
  add(added: readonly LedgerEntry[]): number {
    let fresh = 0;
    for (const entry of added) {
      // A cluster's new leader collects every node's ledger again: an entry it has already is not new.
      if (this.byId.has(entry.ledgerId)) continue;
      fresh++;
      this.byId.set(entry.ledgerId, entry);
      this.order.push(entry.ledgerId);
      if (entry.deadline !== undefined) this.deadlines.insert(entry.deadline, entry.ledgerId);
    }
    this.counts.added += fresh;
    return fresh;
  }

  /** Entries whose payloads were cancelled while they waited; returns how many were in the ledger. */
  cancel(ledgerIds: readonly string[]): number {
    let cancelled = 0;
    for (const ledgerId of ledgerIds) if (this.byId.delete(ledgerId)) cancelled++;
    if (cancelled === 0) return 0;
    this.counts.cancelled += cancelled;
    this.keepHeadLive();
    return cancelled;
  }

  /**
   * Takes up to `max` entries, oldest skip first, for rescheduling. Entries whose deadline has passed
   * come back as `expired` instead (they do not count against `max`).
   */
  take(max: number, now: number): { due: LedgerEntry[]; expired: LedgerEntry[] } {
    const due: LedgerEntry[] = [];
    const expired: LedgerEntry[] = [];
    while (due.length < max && this.order.length > 0) {
      const ledgerId = this.order.shift() as string;
      const entry = this.byId.get(ledgerId);
      if (!entry) continue;
      this.byId.delete(ledgerId);
      if (entry.deadline !== undefined && entry.deadline <= now) expired.push(entry);
      else due.push(entry);
    }
    if (due.length === 0 && expired.length === 0) return { due, expired };
    this.counts.rescheduled += due.length;
    this.counts.expired += expired.length;
    this.keepHeadLive();
    return { due, expired };
  }

  /** Takes every entry whose deadline is at or before `now`. */
  takeExpired(now: number, max = Number.POSITIVE_INFINITY): LedgerEntry[] {
    const expired: LedgerEntry[] = [];
    while (expired.length < max && this.deadlines.size > 0 && (this.deadlines.peekKey() as number) <= now) {
      const ledgerId = this.deadlines.pop() as string;
      const entry = this.byId.get(ledgerId);
      if (!entry) continue;
      this.byId.delete(ledgerId);
      expired.push(entry);
    }
    if (expired.length === 0) return expired;
    this.counts.expired += expired.length;
    this.keepHeadLive();
    return expired;
  }

  /** The earliest deadline still waiting (stale heap entries are dropped lazily, so it may be early). */
  nextDeadline(): number | undefined {
    return this.deadlines.peekKey();
  }

  /** Oldest first: at most `limit` entries after the first `offset`. */
  list(limit: number, offset = 0): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    let passed = 0;
    for (let i = 0; i < this.order.length && out.length < limit; i++) {
      const entry = this.byId.get(this.order.peekAt(i) as string);
      if (!entry) continue;
      if (passed < offset) passed++;
      else out.push(entry);
    }
    return out;
  }

  /** A copy as JSON-ready arrays, taken now: later changes do not reach it. */
  snapshot(): LedgerSnapshot {
    return { entries: [...this.byId], order: this.order.toArray(), deadlines: this.deadlines.toArray(), totals: this.totals };
  }

  /** Keeps the order queue's head live, and compacts the queue when tombstones outnumber live entries. */
  private keepHeadLive(): void {
    while (this.order.length > 0 && !this.byId.has(this.order.peekFront() as string)) this.order.shift();
    if (this.order.length > COMPACT_ABOVE && this.order.length > 2 * this.byId.size) {
      this.order = new Denque(this.order.toArray().filter((ledgerId) => this.byId.has(ledgerId)));
    }
  }
}
