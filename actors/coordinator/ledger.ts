/**
 * The ledger of payloads skipped under load: an immer-friendly value (persistent collections, no
 * callbacks) owned by the coordinator. Entries leave it in exactly three ways: rescheduled (make-up
 * or an operator), expired (their deadline passed), or cancelled by the client. Nothing else removes
 * one, so nothing in it is dropped silently. The payload itself stays in its partition (status
 * `deferred`); the ledger holds the reference and what make-up and expiry need.
 */
import { PHeap, PMap, PQueue } from '../../src/collections/index.ts';
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

export interface Ledger {
  readonly entries: PMap<LedgerEntry>;
  /** Ledger ids in skip order; ids no longer in `entries` are skipped lazily. */
  readonly order: PQueue<string>;
  /** Ledger ids by deadline, for those that have one. */
  readonly deadlines: PHeap<string>;
  /** Entries ever added, and how each left. */
  readonly totals: { readonly added: number; readonly rescheduled: number; readonly expired: number; readonly cancelled: number };
}

export const emptyLedger = (): Ledger => ({
  entries: PMap.empty(),
  order: PQueue.empty(),
  deadlines: PHeap.empty(),
  totals: { added: 0, rescheduled: 0, expired: 0, cancelled: 0 },
});

export function addEntries(ledger: Ledger, added: readonly LedgerEntry[]): Ledger {
  if (added.length === 0) return ledger;
  const entries = ledger.entries.asTransient();
  let { order, deadlines } = ledger;
  let fresh = 0;
  for (const entry of added) {
    // A cluster's new leader collects every node's ledger again: an entry it has already is not new.
    if (entries.has(entry.ledgerId)) continue;
    fresh++;
    entries.set(entry.ledgerId, entry);
    order = order.push(entry.ledgerId);
    if (entry.deadline !== undefined) deadlines = deadlines.insert(entry.deadline, entry.ledgerId);
  }
  return { entries: entries.persistent(), order, deadlines, totals: { ...ledger.totals, added: ledger.totals.added + fresh } };
}

/** Entries whose payloads were cancelled while they waited. */
export function cancelEntries(ledger: Ledger, ledgerIds: readonly string[]): Ledger {
  let { entries } = ledger;
  let cancelled = 0;
  for (const ledgerId of ledgerIds) {
    if (!entries.has(ledgerId)) continue;
    entries = entries.delete(ledgerId);
    cancelled++;
  }
  return cancelled === 0 ? ledger : { ...withHeadLive({ ...ledger, entries }), totals: { ...ledger.totals, cancelled: ledger.totals.cancelled + cancelled } };
}

/**
 * Takes up to `max` entries, oldest skip first, for rescheduling. Entries whose deadline has passed
 * come back as `expired` instead (they do not count against `max`).
 */
export function takeEntries(ledger: Ledger, max: number, now: number): { ledger: Ledger; due: LedgerEntry[]; expired: LedgerEntry[] } {
  const due: LedgerEntry[] = [];
  const expired: LedgerEntry[] = [];
  let { order, entries } = ledger;
  while (due.length < max && order.size > 0) {
    const ledgerId = order.peek() as string;
    order = order.shift();
    const entry = entries.get(ledgerId);
    if (!entry) continue;
    entries = entries.delete(ledgerId);
    if (entry.deadline !== undefined && entry.deadline <= now) expired.push(entry);
    else due.push(entry);
  }
  if (due.length === 0 && expired.length === 0) return { ledger, due, expired };
  const totals = { ...ledger.totals, rescheduled: ledger.totals.rescheduled + due.length, expired: ledger.totals.expired + expired.length };
  return { ledger: withHeadLive({ ...ledger, entries, order, totals }), due, expired };
}

/** Takes every entry whose deadline is at or before `now`. */
export function takeExpired(ledger: Ledger, now: number): { ledger: Ledger; expired: LedgerEntry[] } {
  const expired: LedgerEntry[] = [];
  let { deadlines, entries } = ledger;
  for (let top = deadlines.peek(); top && top.key <= now; top = deadlines.peek()) {
    deadlines = deadlines.pop();
    const entry = entries.get(top.value);
    if (!entry) continue;
    entries = entries.delete(top.value);
    expired.push(entry);
  }
  if (expired.length === 0) return deadlines === ledger.deadlines ? { ledger, expired } : { ledger: { ...ledger, deadlines }, expired };
  return { ledger: withHeadLive({ ...ledger, entries, deadlines, totals: { ...ledger.totals, expired: ledger.totals.expired + expired.length } }), expired };
}

/** The earliest deadline still waiting (stale heap entries are dropped lazily, so it may be early). */
export const nextDeadline = (ledger: Ledger): number | undefined => ledger.deadlines.peek()?.key;

/** Oldest first, at most `limit`. */
export function listEntries(ledger: Ledger, limit: number, offset = 0): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  let skipped = 0;
  for (const ledgerId of ledger.order) {
    if (out.length >= limit) break;
    const entry = ledger.entries.get(ledgerId);
    if (!entry) continue;
    if (skipped < offset) skipped++;
    else out.push(entry);
  }
  return out;
}

/** Keeps the order queue's head live, and compacts it when tombstones outnumber live entries. */
function withHeadLive(ledger: Ledger): Ledger {
  let { order } = ledger;
  while (order.size > 0 && !ledger.entries.has(order.peek() as string)) order = order.shift();
  if (order.size > 64 && order.size > 2 * ledger.entries.size) order = PQueue.from([...order].filter((id) => ledger.entries.has(id)));
  return order === ledger.order ? ledger : { ...ledger, order };
}
