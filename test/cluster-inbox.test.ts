// Partition inboxes on a real Redis: what one node sends arrives at the owner in order, acks trim the
// stream, partitions come and go while a read blocks, and stop() does not wait out a blocking read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InboxReader, InboxWriter, type InboxEntry } from '../src/cluster/inbox.ts';
import { until, withCluster } from './cluster-support.ts';

type Delivery = { partition: number; entries: InboxEntry[] };

function recorder() {
  const deliveries: Delivery[] = [];
  return {
    deliveries,
    onBatch: (partition: number, entries: InboxEntry[]) => void deliveries.push({ partition, entries }),
    of: (partition: number) => deliveries.filter((d) => d.partition === partition).flatMap((d) => d.entries),
  };
}

test('messages sent by another connection arrive in order; ack trims what was handled', withCluster('inbox-order', async ({ keys, redis, open }) => {
  const writer = new InboxWriter(open(), keys);
  const got = recorder();
  const reader = new InboxReader({ client: redis, keys, onBatch: got.onBatch, blockMs: 10_000, count: 4 });
  reader.add(0);
  await reader.start();
  try {
    const ids = [
      ...(await writer.send(0, [{ n: 1 }, { n: 2 }, { n: 3 }])),
      ...(await writer.send(0, [{ n: 4 }, { n: 5 }, { n: 6 }, { n: 7 }, { n: 8 }, { n: 9 }])),
    ];
    assert.equal(ids.length, 9);
    assert.deepEqual(await writer.send(0, []), []);
    await until(() => got.of(0).length === 9, 'all nine messages');
    assert.deepEqual(got.of(0).map((e) => e.data), [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({ n })));
    assert.deepEqual(got.of(0).map((e) => e.id), ids);
    assert.ok(got.deliveries.every((d) => d.entries.length <= 4), 'count bounds a batch');
    assert.equal(reader.cursorOf(0), ids[8]);

    assert.equal(await reader.ack(0, ids[4]!), 5);
    assert.deepEqual((await redis.xrange(keys.inbox(0), '-', '+')).map(([id]) => id), ids.slice(5));
    assert.equal(await reader.ack(0, ids[8]!), 4);
    assert.equal(await redis.xlen(keys.inbox(0)), 0);
    // Trimmed entries are not delivered again; new ones still are.
    await writer.send(0, ['after ack']);
    await until(() => got.of(0).length === 10, 'the message after the ack');
    assert.equal(got.of(0).at(-1)!.data, 'after ack');
  } finally {
    await reader.stop();
  }
}));

test('a partition added while a read blocks is picked up at once; a removed one is no longer read', withCluster('inbox-add', async ({ keys, redis, open }) => {
  const writer = new InboxWriter(open(), keys);
  const got = recorder();
  // A read blocks for 20 s: only an interrupt can make the new partition count sooner.
  const reader = new InboxReader({ client: redis, keys, onBatch: got.onBatch, blockMs: 20_000 });
  reader.add(0);
  await reader.start();
  try {
    await new Promise((r) => setTimeout(r, 50)); // let the read block
    const pending = await writer.send(5, ['queued before add']);
    reader.add(5);
    await writer.send(5, ['sent after add']);
    const started = Date.now();
    await until(() => got.of(5).length === 2, 'partition 5', 3_000);
    assert.ok(Date.now() - started < 2_000);
    assert.deepEqual(got.of(5).map((e) => e.data), ['queued before add', 'sent after add']);
    assert.equal(got.of(5)[0]!.id, pending[0]);
    assert.deepEqual(reader.partitions().sort(), [0, 5]);

    reader.remove(5);
    await writer.send(5, ['not for us now']);
    await writer.send(0, ['still for us']);
    await until(() => got.of(0).length === 1, 'partition 0');
    assert.equal(got.of(5).length, 2);
    // Re-added after an id: only what came after it.
    reader.add(5, pending[0]);
    await until(() => got.of(5).length === 4, 'partition 5 again');
    assert.deepEqual(got.of(5).slice(2).map((e) => e.data), ['sent after add', 'not for us now']);
  } finally {
    await reader.stop();
  }
}));

test('a reader with no partitions waits, and starts reading on the first add', withCluster('inbox-empty', async ({ keys, redis, open }) => {
  const writer = new InboxWriter(open(), keys);
  const got = recorder();
  const reader = new InboxReader({ client: redis, keys, onBatch: got.onBatch, blockMs: 20_000 });
  await reader.start();
  try {
    await writer.send(2, ['waiting']);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(got.deliveries.length, 0);
    reader.add(2);
    await until(() => got.of(2).length === 1, 'partition 2');
  } finally {
    await reader.stop();
  }
}));

test('a batch whose handler fails comes again; the cursor moves only past handled batches', withCluster('inbox-retry', async ({ keys, redis, open }) => {
  const writer = new InboxWriter(open(), keys);
  const errors: unknown[] = [];
  const seen: unknown[][] = [];
  let failures = 1;
  const reader = new InboxReader({
    client: redis, keys, blockMs: 5_000, retryMs: 10, onError: (e) => errors.push(e),
    onBatch: (_p, entries) => {
      seen.push(entries.map((e) => e.data));
      if (failures-- > 0) throw new Error('handler failed');
    },
  });
  reader.add(1);
  await reader.start();
  try {
    await writer.send(1, ['x', 'y']);
    await until(() => seen.length === 2, 'the retry');
    assert.deepEqual(seen, [['x', 'y'], ['x', 'y']]);
    assert.equal((errors[0] as Error).message, 'handler failed');
  } finally {
    await reader.stop();
  }
}));

test('a new owner reads from the oldest unacknowledged entry (at least once across a handover)', withCluster('inbox-handover', async ({ keys, redis, open }) => {
  const writer = new InboxWriter(open(), keys);
  const first = recorder();
  const old = new InboxReader({ client: redis, keys, onBatch: first.onBatch });
  old.add(3);
  await old.start();
  const ids = await writer.send(3, ['m1', 'm2', 'm3']);
  await until(() => first.of(3).length === 3, 'the old owner to read');
  await old.ack(3, ids[0]!); // handled m1 durably, then lost the partition
  await old.stop();

  const second = recorder();
  const next = new InboxReader({ client: open(), keys, onBatch: second.onBatch });
  next.add(3);
  await next.start();
  try {
    await until(() => second.of(3).length === 2, 'the new owner to read');
    assert.deepEqual(second.of(3).map((e) => e.data), ['m2', 'm3']);
  } finally {
    await next.stop();
  }
}));

test('stop() returns promptly while a read is blocking', withCluster('inbox-stop', async ({ keys, redis }) => {
  const reader = new InboxReader({ client: redis, keys, onBatch: () => {}, blockMs: 30_000 });
  reader.add(0);
  reader.add(1);
  await reader.start();
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  await reader.stop();
  assert.ok(Date.now() - started < 500, `stop took ${Date.now() - started} ms`);
  // The shared connection is untouched and still serves commands.
  assert.equal(await redis.ping(), 'PONG');
  await reader.stop(); // twice is harmless
}));
