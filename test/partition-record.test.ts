// Partition records: the owned form reads and writes like the flat one it is stored and sent as.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flatRecord, newRecord, ownRecord } from '../actors/partition/record.ts';
import type { PayloadRecord } from '../actors/partition/state.ts';
import type { Payload } from '../src/payload.ts';

const plain: Payload = {
  id: 'a1.0', type: 'work', data: { n: 1 }, clientId: 'c', priority: 5, complexity: 2, submittedAt: 1_700_000_000_123,
  runAt: undefined, deadline: undefined, idempotencyKey: undefined, timeout: undefined, retries: undefined,
  backoff: undefined, tags: undefined, dependencies: undefined, shardKey: undefined, dedupe: undefined, concurrencyKey: undefined,
};

const full: PayloadRecord = {
  ...plain,
  runAt: 1_700_000_005_000, deadline: 1_700_000_009_000, idempotencyKey: 'k', timeout: 500, retries: 2,
  backoff: { initialMs: 10, factor: 1 }, tags: ['x'], dependencies: { d: { status: 'completed', result: 1 } },
  shardKey: 's', dedupe: { key: 'd', mode: 'throttle', ttlMs: 5 }, concurrencyKey: 'acct', status: 'failed', tier: 'medium', attempt: 3, seq: 41, enqueuedAt: 1_700_000_001_000,
  startedAt: 1_700_000_002_000, finishedAt: 1_700_000_003_000, result: { ok: false }, error: { code: 'HANDLER_FAILED', message: 'no', name: 'Error' },
  progress: 0.5, degraded: true, checkpoint: { step: 2 }, ledgerId: '0-7', movedTo: 3,
};

describe('partition records', () => {
  test('every field survives the owned form and the wire, and the flat form has them all as own fields', () => {
    const owned = ownRecord(full);
    assert.deepEqual(flatRecord(owned), full);
    const wire = JSON.parse(JSON.stringify(flatRecord(owned))) as PayloadRecord;
    assert.deepEqual(flatRecord(ownRecord(wire)), JSON.parse(JSON.stringify(full)));
    assert.deepEqual(Object.keys(flatRecord(ownRecord(wire))).sort(), Object.keys(full).sort());
  });

  test('a new record of a payload without options reads every later and optional field as undefined', () => {
    const record = newRecord(plain, 'queued', 'medium', 7, 1_700_000_000_200);
    assert.deepEqual(flatRecord(record), {
      ...plain, status: 'queued', tier: 'medium', attempt: 0, seq: 7, enqueuedAt: 1_700_000_000_200,
      startedAt: undefined, finishedAt: undefined, result: undefined, error: undefined, progress: undefined,
      degraded: undefined, checkpoint: undefined, ledgerId: undefined, movedTo: undefined,
    });
  });

  test('fields are set, changed and cleared in place; a field set leaves the others as they were', () => {
    const record = newRecord(plain, 'queued', 'low', 0, 1);
    record.runAt = 99;
    record.startedAt = 5;
    record.degraded = undefined;
    assert.deepEqual([record.runAt, record.deadline, record.startedAt, record.finishedAt, record.degraded], [99, undefined, 5, undefined, undefined]);
    record.finishedAt = 6;
    record.startedAt = undefined;
    record.runAt = undefined;
    assert.deepEqual([record.runAt, record.startedAt, record.finishedAt], [undefined, undefined, 6]);
  });

  test('an owned record is a copy: changing it leaves its flat source as it was', () => {
    const source = flatRecord(full);
    const owned = ownRecord(source);
    owned.status = 'queued';
    owned.movedTo = undefined;
    owned.shardKey = undefined;
    assert.deepEqual(source, full);
    assert.deepEqual([owned.status, owned.movedTo, owned.shardKey, owned.ledgerId], ['queued', undefined, undefined, '0-7']);
  });
});
