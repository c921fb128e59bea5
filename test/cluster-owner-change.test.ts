// What a node's callers see while a partition changes owner (one runtime and a real Redis; the other
// holder is a bare lease): a lookup reads what this node submitted to the partition while another
// node held it, even before the inbox is read; a submit that meets a partition this node has just
// lost is not refused but goes to the partition's owner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { partitionOfId } from '../src/core/ids.ts';
import { clusterKeys } from '../src/cluster/keys.ts';
import { partitionLeases } from '../src/cluster/leases.ts';
import { createRuntime, silentLogger, type Runtime } from '../src/index.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';
import { until } from './cluster-support.ts';

const PARTITIONS = 2;
const ELSEWHERE = 1;

/** The one node of the test's cluster; its handler answers with its input. */
function node(prefix: string, leaseTtlMs: number): Runtime {
  const runtime = createRuntime({
    name: 'owner-change', partitions: PARTITIONS, concurrency: 2, logger: silentLogger,
    cluster: { redis: { url: REDIS_URL, prefix }, nodeId: 'here', leaseTtlMs },
    metrics: { processMetrics: false },
  });
  runtime.handle('work', async (n: number) => n);
  return runtime;
}

test('a lookup on a partition that just came here sees what this node submitted to it while another node held it', { timeout: 30_000 }, async () => {
  const prefix = freshPrefix('cluster-owner-lookup');
  const redis = new Redis(REDIS_URL);
  const leases = partitionLeases(redis, clusterKeys(prefix));
  // Another node holds partition 1 until it lets go.
  const token = await leases.acquire(ELSEWHERE, 'elsewhere', 30_000);
  assert.ok(token > 0);
  const runtime = node(prefix, 1_000);
  try {
    await runtime.ready();
    await until(() => runtime.cluster!.local().includes(0), 'partition 0 to be served here');
    const ids: string[] = [];
    for (let i = 0; ids.length < 3; i++) {
      const id = await runtime.submit({ type: 'work', data: i });
      if (partitionOfId(id, PARTITIONS) === ELSEWHERE) ids.push(id);
    }
    assert.equal(runtime.cluster!.local().includes(ELSEWHERE), false, 'the submits went to the inbox of a partition served elsewhere');

    assert.equal(await leases.release(ELSEWHERE, 'elsewhere', token), true);
    // Ask the moment the partition is served here: its inbox has most likely not been read yet.
    await new Promise<void>((resolve) => {
      const poll = () => (runtime.cluster!.local().includes(ELSEWHERE) ? resolve() : setImmediate(poll));
      poll();
    });
    const views = await Promise.all(ids.map((id) => runtime.get(id)));
    assert.deepEqual(views.map((v) => v?.id), ids, 'every payload submitted here is known');
    // And a dependent on them is accepted, and runs once they have.
    const dependent = await runtime.submit({ type: 'work', data: 99, dependsOn: ids });
    assert.equal(await runtime.waitFor(dependent), 99);
  } finally {
    await runtime.stop();
    await redis.quit();
    await dropPrefix(prefix);
  }
});

test('a submit whose partition was lost before its journal entry was stored goes to the new owner, and runs once the partition is back', { timeout: 30_000 }, async () => {
  const prefix = freshPrefix('cluster-owner-fenced');
  const redis = new Redis(REDIS_URL);
  const keys = clusterKeys(prefix);
  const leases = partitionLeases(redis, keys);
  // A long lease: this node learns of the loss only at its next renewal, a second from now.
  const runtime = node(prefix, 4_000);
  try {
    await runtime.ready();
    await until(() => runtime.cluster!.local().length === PARTITIONS, 'both partitions served here');
    // Another node takes partition 1 behind this node's back, as after a pause past the lease.
    await redis.del(keys.partitionLease(ELSEWHERE).lease);
    const token = await leases.acquire(ELSEWHERE, 'elsewhere', 30_000);
    assert.ok(token > 0);
    assert.equal(runtime.cluster!.local().includes(ELSEWHERE), true, 'this node has not noticed yet');

    const submitted: Array<{ id: string; n: number }> = [];
    for (let n = 0; submitted.length < 2; n++) {
      const id = await runtime.submit({ type: 'work', data: n });
      if (partitionOfId(id, PARTITIONS) === ELSEWHERE) submitted.push({ id, n });
    }
    const ids = submitted.map((s) => s.id);
    // Accepted: the new owner's inbox has them.
    const inbox = (await redis.xrange(keys.inbox(ELSEWHERE), '-', '+')).map(([, fields]) => fields.join(' '));
    for (const id of ids) assert.ok(inbox.some((entry) => entry.includes(id)), `${id} is in the inbox of partition ${ELSEWHERE}`);

    // The other node lets go; this node takes the partition back and runs them.
    assert.equal(await leases.release(ELSEWHERE, 'elsewhere', token), true);
    assert.deepEqual(await Promise.all(ids.map((id) => runtime.waitFor(id))), submitted.map((s) => s.n));
  } finally {
    await runtime.stop();
    await redis.quit();
    await dropPrefix(prefix);
  }
});
