// Rate limits in a cluster (a real Redis): the global and per-type `perSecond` hold for the cluster
// as a whole, each node spending starts it leased from one bucket in Redis; two nodes asking at once
// do not get twice the rate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../src/clock.ts';
import { ClusterRates } from '../src/cluster/rate-leases.ts';
import { createRuntime, silentLogger, type Runtime } from '../src/index.ts';
import { LeasedBucket } from '../src/limits/leased-bucket.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';
import { until, withCluster } from './cluster-support.ts';

test('two nodes leasing from one bucket of 50/s (burst 5) start about 50/s between them, not 50 each', { timeout: 20_000 }, withCluster('rates', async ({ keys, open }) => {
  const started = [0, 0];
  const buckets = [0, 1].map((node) => {
    const rates = new ClusterRates(open(), keys);
    return new LeasedBucket('type:api', 50, 5, rates, systemClock, () => {}, (error) => assert.fail(String(error)));
  });
  const t0 = Date.now();
  // Each node spends whatever it holds as fast as it can, for 2 s.
  while (Date.now() - t0 < 2_000) {
    buckets.forEach((bucket, node) => {
      const now = systemClock.now();
      const n = bucket.available(now);
      if (n > 0) {
        bucket.take(n);
        started[node] = (started[node] ?? 0) + n;
      }
    });
    await new Promise((r) => setTimeout(r, 2));
  }
  buckets.forEach((b) => b.dispose());
  const total = (started[0] ?? 0) + (started[1] ?? 0);
  // 5 at once and 50/s for 2 s: 105 at most; each node alone would have allowed that much.
  assert.ok(total <= 106, `started ${started.join(' + ')} = ${total}`);
  assert.ok(total >= 70, `started ${started.join(' + ')} = ${total}: the rate was given out`);
  assert.ok((started[0] ?? 0) > 10 && (started[1] ?? 0) > 10, `both nodes got starts: ${started.join(', ')}`);
}));

test('a type\'s perSecond holds across two nodes of a cluster; a node\'s own limits stay its own', { timeout: 40_000 }, async () => {
  const prefix = freshPrefix('cluster-limits');
  const starts: number[] = [];
  const nodes: Runtime[] = ['a', 'b'].map((node) => {
    const runtime = createRuntime({
      name: `limits-${node}`, partitions: 4, concurrency: 8, logger: silentLogger,
      cluster: { redis: { url: REDIS_URL, prefix }, nodeId: node, leaseTtlMs: 1_000 },
      limits: { types: { api: { perSecond: 20, burst: 2 } } },
    });
    runtime.handle('api', () => void starts.push(Date.now()));
    return runtime;
  });
  try {
    await Promise.all(nodes.map((n) => n.ready()));
    await until(() => nodes.every((n) => n.cluster!.local().length === 2), 'two partitions each', 15_000);
    const t0 = Date.now();
    const ids = [...(await nodes[0]!.submitMany(Array.from({ length: 60 }, () => ({ type: 'api' })))), ...(await nodes[1]!.submitMany(Array.from({ length: 60 }, () => ({ type: 'api' }))))];
    await until(() => Date.now() - t0 >= 2_000, '2 s', 5_000);
    const inTwoSeconds = starts.filter((t) => t - t0 < 2_000).length;
    // 20/s for the cluster: ~42 in 2 s; per node it would have been twice that.
    assert.ok(inTwoSeconds <= 50, `${inTwoSeconds} started in the first 2 s`);
    assert.ok(inTwoSeconds >= 20, `${inTwoSeconds} started in the first 2 s: the rate was given out`);
    assert.ok(nodes.every((n) => n.limits().scopes.some((s) => s.scope === 'type:api')), 'each node shows the limit');
    await Promise.all(ids.map((id) => nodes[0]!.waitFor(id)));
    assert.equal(starts.length, 120, 'everything held ran');
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await dropPrefix(prefix);
  }
});

test('a lease the cluster cannot give is reported and asked again; spent tokens go, unspent ones expire after a second', async () => {
  const { SimulatedClock } = await import('../src/clock.ts');
  const clock = new SimulatedClock();
  const asked: number[] = [];
  const failures: unknown[] = [];
  let changed = 0;
  let answer: 'fail' | 'grant' | 'none' = 'fail';
  const leaser = {
    lease: async (_scope: string, _rate: number, _burst: number, want: number) => {
      asked.push(want);
      if (answer === 'fail') throw new Error('redis away');
      return answer === 'grant' ? { granted: want, waitMs: 0 } : { granted: 0, waitMs: 40 };
    },
  };
  const bucket = new LeasedBucket('global', 100, 20, leaser, clock, () => void changed++, (error) => failures.push(error), () => 0);
  const settle = () => new Promise((r) => setImmediate(r));
  assert.equal(bucket.available(clock.now()), 0, 'nothing leased yet: the pool waits');
  await settle();
  assert.deepEqual([asked, failures.length], [[10], 1], '100 ms of 100/s asked for; the failure reported');
  assert.equal(bucket.available(clock.now()), 0);
  await settle();
  assert.equal(asked.length, 1, 'not asked again before the retry');
  answer = 'grant';
  clock.advance(100); // the retry wakes the pool, which asks again
  assert.equal(changed, 1);
  bucket.available(clock.now());
  await settle();
  assert.equal(bucket.available(clock.now()), 10);
  bucket.take(4);
  assert.equal(bucket.available(clock.now()), 6, 'above half a lease: nothing more asked');
  assert.equal(asked.length, 2);
  clock.advance(1_001);
  answer = 'none';
  assert.equal(bucket.available(clock.now()), 0, 'a second later what was not spent is gone');
  await settle();
  assert.equal(asked.length, 3);
  clock.advance(40);
  assert.ok(changed >= 3, 'the bucket said when the next token is due, and woke the pool then');
  bucket.dispose();
});
