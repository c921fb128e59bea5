import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { addEntries, cancelEntries, emptyLedger, listEntries, nextDeadline, takeEntries, takeExpired, type LedgerEntry } from '../actors/coordinator/ledger.ts';

let n = 0;
const entry = (fields: Partial<LedgerEntry> = {}): LedgerEntry => {
  const i = n++;
  return {
    ledgerId: `0-${i}`, id: `p${i}.0`, partition: 0, clientId: 'c', type: 't', tier: 'low', priority: 2,
    deadline: undefined, skippedAt: 1_000 + i, reason: 'test', ...fields,
  };
};

describe('ledger', () => {
  test('entries leave oldest first, in bounded batches; nothing is lost between batches', () => {
    const all = Array.from({ length: 10 }, () => entry());
    let ledger = addEntries(emptyLedger(), all.slice(0, 6));
    ledger = addEntries(ledger, all.slice(6));
    assert.equal(ledger.entries.size, 10);
    const first = takeEntries(ledger, 4, 0);
    assert.deepEqual(first.due.map((e) => e.ledgerId), all.slice(0, 4).map((e) => e.ledgerId));
    const second = takeEntries(first.ledger, 100, 0);
    assert.deepEqual(second.due.map((e) => e.ledgerId), all.slice(4).map((e) => e.ledgerId));
    assert.equal(second.ledger.entries.size, 0);
    assert.deepEqual(second.ledger.totals, { added: 10, rescheduled: 10, expired: 0, cancelled: 0 });
    assert.equal(takeEntries(second.ledger, 5, 0).due.length, 0);
  });

  test('cancelled entries are skipped by make-up and counted; listing shows what waits', () => {
    const [a, b, c] = [entry(), entry(), entry()] as [LedgerEntry, LedgerEntry, LedgerEntry];
    let ledger = cancelEntries(addEntries(emptyLedger(), [a, b, c]), [a.ledgerId, 'unknown']);
    assert.deepEqual(listEntries(ledger, 10).map((e) => e.ledgerId), [b.ledgerId, c.ledgerId]);
    assert.equal(ledger.totals.cancelled, 1);
    ledger = takeEntries(ledger, 1, 0).ledger;
    assert.deepEqual(listEntries(ledger, 10).map((e) => e.ledgerId), [c.ledgerId]);
  });

  test('deadlines: due ones expire (by the heap or when make-up meets them), the rest wait', () => {
    const soon = entry({ deadline: 5_000 });
    const later = entry({ deadline: 9_000 });
    const never = entry();
    let ledger = addEntries(emptyLedger(), [soon, later, never]);
    assert.equal(nextDeadline(ledger), 5_000);
    const expired = takeExpired(ledger, 5_000);
    assert.deepEqual(expired.expired.map((e) => e.ledgerId), [soon.ledgerId]);
    ledger = expired.ledger;
    assert.equal(nextDeadline(ledger), 9_000);
    const taken = takeEntries(ledger, 10, 9_500); // `later` is past its deadline when make-up reaches it
    assert.deepEqual(taken.expired.map((e) => e.ledgerId), [later.ledgerId]);
    assert.deepEqual(taken.due.map((e) => e.ledgerId), [never.ledgerId]);
    assert.deepEqual(taken.ledger.totals, { added: 3, rescheduled: 1, expired: 2, cancelled: 0 });
  });

  test('tombstones do not pile up: the order queue is compacted', () => {
    const all = Array.from({ length: 300 }, () => entry());
    const ledger = cancelEntries(addEntries(emptyLedger(), all), all.slice(1).filter((_, i) => i % 3 !== 0).map((e) => e.ledgerId));
    assert.ok(ledger.order.size <= 2 * ledger.entries.size + 1, `${ledger.order.size} for ${ledger.entries.size}`);
  });
});
