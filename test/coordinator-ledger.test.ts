import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger, type LedgerEntry } from '../actors/coordinator/ledger.ts';

let n = 0;
const entry = (fields: Partial<LedgerEntry> = {}): LedgerEntry => {
  const i = n++;
  return {
    ledgerId: `0-${i}`, id: `p${i}.0`, partition: 0, clientId: 'c', type: 't', tier: 'low', priority: 2,
    deadline: undefined, skippedAt: 1_000 + i, reason: 'test', ...fields,
  };
};
const ids = (entries: readonly LedgerEntry[]): string[] => entries.map((e) => e.ledgerId);

describe('ledger', () => {
  test('entries leave oldest first, in bounded batches; nothing is lost between batches', () => {
    const all = Array.from({ length: 10 }, () => entry());
    const ledger = new Ledger();
    ledger.add(all.slice(0, 6));
    ledger.add(all.slice(6));
    assert.equal(ledger.entries.size, 10);
    const first = ledger.take(4, 0);
    assert.deepEqual(ids(first.due), ids(all.slice(0, 4)));
    const second = ledger.take(100, 0);
    assert.deepEqual(ids(second.due), ids(all.slice(4)));
    assert.equal(ledger.entries.size, 0);
    assert.deepEqual(ledger.totals, { added: 10, rescheduled: 10, expired: 0, cancelled: 0 });
    assert.equal(ledger.take(5, 0).due.length, 0);
  });

  test('cancelled entries are skipped by make-up and counted; listing shows what waits', () => {
    const [a, b, c] = [entry(), entry(), entry()] as [LedgerEntry, LedgerEntry, LedgerEntry];
    const ledger = new Ledger();
    ledger.add([a, b, c]);
    assert.equal(ledger.cancel([a.ledgerId, 'unknown']), 1);
    assert.deepEqual(ids(ledger.list(10)), [b.ledgerId, c.ledgerId]);
    assert.equal(ledger.totals.cancelled, 1);
    ledger.take(1, 0);
    assert.deepEqual(ids(ledger.list(10)), [c.ledgerId]);
  });

  test('deadlines: due ones expire (by the heap or when make-up meets them), the rest wait', () => {
    const soon = entry({ deadline: 5_000 });
    const later = entry({ deadline: 9_000 });
    const never = entry();
    const ledger = new Ledger();
    ledger.add([soon, later, never]);
    assert.equal(ledger.nextDeadline(), 5_000);
    assert.deepEqual(ids(ledger.takeExpired(5_000)), [soon.ledgerId]);
    assert.equal(ledger.nextDeadline(), 9_000);
    const taken = ledger.take(10, 9_500); // `later` is past its deadline when make-up reaches it
    assert.deepEqual(ids(taken.expired), [later.ledgerId]);
    assert.deepEqual(ids(taken.due), [never.ledgerId]);
    assert.deepEqual(ledger.totals, { added: 3, rescheduled: 1, expired: 2, cancelled: 0 });
  });

  test('tombstones do not pile up: the order queue is compacted', () => {
    const all = Array.from({ length: 300 }, () => entry());
    const ledger = new Ledger();
    ledger.add(all);
    ledger.cancel(ids(all.slice(1).filter((_, i) => i % 3 !== 0)));
    assert.ok(ledger.queuedIds <= 2 * ledger.entries.size + 1, `${ledger.queuedIds} for ${ledger.entries.size}`);
  });

  test('changed in place: add, cancel, take and expire in order; a re-collect adds no duplicate; listing pages past tombstones', () => {
    const all = Array.from({ length: 8 }, (_, i) => entry({ deadline: i % 2 === 0 ? 10_000 - i : undefined }));
    const ledger = new Ledger();
    assert.equal(ledger.add(all.slice(0, 5)), 5);
    // A new leader collects every node's deferred records again: only the three it lacks are new.
    assert.equal(ledger.add(all), 3);
    assert.equal(ledger.size, 8);
    assert.equal(ledger.queuedIds, 8, 'each id queued once');
    assert.equal(ledger.deadlineCount, 4, 'each deadline once');
    assert.equal(ledger.cancel([all[1]!.ledgerId, all[1]!.ledgerId]), 1, 'a second cancel of the same entry counts nothing');
    assert.deepEqual(ids(ledger.list(3, 2)), ids([all[3]!, all[4]!, all[5]!]), 'the cancelled one is not counted in the offset');
    // Heap order: 10,000 − i, so the latest even index is due first.
    assert.deepEqual(ids(ledger.takeExpired(9_995)), ids([all[6]!]));
    assert.deepEqual(ids(ledger.takeExpired(9_999)), ids([all[4]!, all[2]!]));
    assert.equal(ledger.nextDeadline(), 10_000);
    const taken = ledger.take(2, 0);
    assert.deepEqual(ids(taken.due), ids([all[0]!, all[3]!]), 'oldest skip first, gone ones passed over');
    assert.deepEqual(ids(ledger.list(10)), ids([all[5]!, all[7]!]));
    assert.equal(ledger.nextDeadline(), 10_000, 'a taken entry leaves its deadline behind, dropped lazily');
    assert.deepEqual(ledger.takeExpired(10_000), [], 'the stale deadline expires nothing');
    assert.equal(ledger.nextDeadline(), undefined);
    // Entries that left are not refused if they come back (a partition may defer the same record again).
    assert.equal(ledger.add([all[0]!]), 1);
    assert.deepEqual(ledger.totals, { added: 9, rescheduled: 2, expired: 3, cancelled: 1 });
  });

  test('a snapshot is a copy taken at once, and restores to an equal ledger', () => {
    const all = Array.from({ length: 6 }, (_, i) => entry({ deadline: i < 3 ? 20_000 - i : undefined }));
    const ledger = new Ledger();
    ledger.add(all);
    ledger.cancel([all[0]!.ledgerId]);
    const snapshot = ledger.snapshot();
    const json = JSON.stringify(snapshot);
    ledger.take(10, 0);
    ledger.add([entry()]);
    assert.equal(JSON.stringify(snapshot), json, 'later changes do not reach a snapshot');
    const back = Ledger.restore(JSON.parse(json));
    assert.deepEqual(JSON.parse(JSON.stringify(back.snapshot())), JSON.parse(json));
    assert.deepEqual(ids(back.list(10)), ids(all.slice(1)));
    assert.deepEqual(back.totals, { added: 6, rescheduled: 0, expired: 0, cancelled: 1 });
    assert.deepEqual(ids(back.takeExpired(19_999)), ids([all[2]!, all[1]!]));
    // An older snapshot listed its deadlines in pop order, not heap order: either rebuilds the heap.
    const older = Ledger.restore({ ...JSON.parse(json), deadlines: [{ key: 3, value: all[3]!.ledgerId }, { key: 1, value: all[4]!.ledgerId }] });
    assert.deepEqual(ids(older.takeExpired(2)), [all[4]!.ledgerId]);
  });
});
