// Read your writes across a change of owner: a payload this node submitted to a partition another
// node held is found by a lookup here once the partition has come to this node, even before this
// node's inbox reader has taken the submit in. A real Redis; the other holder is a bare lease.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { partitionOfId } from '../src/core/ids.ts';
import { clusterKeys } from '../src/cluster/keys.ts';
import { partitionLeases } from '../src/cluster/leases.ts';
import { createRuntime, silentLogger } from '../src/index.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';
import { until } from './cluster-support.ts';

const PARTITIONS = 2;
const ELSEWHERE = 1;

test('a lookup on a partition that just came here sees what this node submitted to it while another node held it', { timeout: 30_000 }, async () => {
  const prefix = freshPrefix('cluster-lookups');
  const redis = new Redis(REDIS_URL);
  const leases = partitionLeases(redis, clusterKeys(prefix));
  // Another node holds partition 1 until it lets go.
  const token = await leases.acquire(ELSEWHERE, 'elsewhere', 30_000);
  assert.ok(token > 0);
  const runtime = createRuntime({
    name: 'lookups', partitions: PARTITIONS, concurrency: 2, logger: silentLogger,
    cluster: { redis: { url: REDIS_URL, prefix }, nodeId: 'here', leaseTtlMs: 1_000 },
    metrics: { processMetrics: false },
  });
  runtime.handle('work', async (n: number) => n);
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
