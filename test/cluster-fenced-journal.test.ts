// Fenced journal writes on a real Redis: after a takeover, the former holder's appends and snapshots
// are refused with FencedError and store nothing, while the new holder's go through; keys that are
// not partitions are written as before. A home's keys are fenced by the home's lease the same way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FencedError, FencedRedisEngine } from '../src/cluster/fenced-journal.ts';
import { homeKeys } from '../src/cluster/keys.ts';
import { Leases, partitionLeases } from '../src/cluster/leases.ts';
import { TriageError } from '../src/errors.ts';
import type { JournalEntry } from '../src/persistence/engine.ts';
import { RedisEngine } from '../src/persistence/redis.ts';
import { REDIS_URL } from './redis-support.ts';
import { until, withCluster, type ClusterContext } from './cluster-support.ts';

const entry = (key: string, seq: number, data: unknown = { seq }): JournalEntry => ({ key, seq, data });
const seqs = async (engine: FencedRedisEngine, key: string) => (await engine.events(key, 0)).map((e) => [e.seq, e.data]);

/** Two nodes' engines on the same prefix, each with a connection of its own. */
async function twoNodes(ctx: ClusterContext) {
  const open = async () => {
    const engine = new FencedRedisEngine(new RedisEngine({ url: REDIS_URL, prefix: ctx.keys.prefix }));
    await engine.connect();
    return engine;
  };
  const a = await open();
  const b = await open();
  return { a, b, leases: partitionLeases(ctx.redis, ctx.keys), close: () => Promise.all([a.close(), b.close()]) };
}

/** node-a holds partition `p` with a short lease, lets it expire, and node-b takes it over. */
async function takeover(ctx: ClusterContext, p: number, a: FencedRedisEngine, b: FencedRedisEngine) {
  const leases = partitionLeases(ctx.redis, ctx.keys);
  const old = await leases.acquire(p, 'node-a', 100);
  a.setFence(p, old);
  await a.persist([entry(`partition-${p}`, 1), entry(`partition-${p}`, 2)]);
  await until(async () => (await leases.holder(p)) === undefined, 'the lease to expire', 2_000);
  const fresh = await leases.acquire(p, 'node-b', 10_000);
  b.setFence(p, fresh);
  return { old, fresh };
}

test('after a takeover the old holder cannot append; the new holder can', withCluster('fenced-append', async (ctx) => {
  const { a, b, close } = await twoNodes(ctx);
  try {
    const { old, fresh } = await takeover(ctx, 3, a, b);
    assert.ok(fresh > old);
    const refused = await a.persist([entry('partition-3', 3, 'from a')]).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof FencedError, `expected FencedError, got ${String(refused)}`);
    assert.ok(refused instanceof TriageError);
    assert.equal(refused.code, 'FENCED');
    assert.equal(refused.partition, 3);
    assert.equal(refused.currentToken, fresh);
    assert.equal(refused.token, old);
    assert.deepEqual(await seqs(a, 'partition-3'), [[1, { seq: 1 }], [2, { seq: 2 }]], 'nothing of the fenced write was stored');

    await b.persist([entry('partition-3', 3, 'from b'), entry('partition-3', 4, 'from b')]);
    assert.deepEqual(await seqs(a, 'partition-3'), [[1, { seq: 1 }], [2, { seq: 2 }], [3, 'from b'], [4, 'from b']]);
    // Refused again on retry: the fence does not lapse by itself.
    await assert.rejects(a.persist([entry('partition-3', 5)]), FencedError);
  } finally {
    await close();
  }
}));

test('a lease that expired with no new holder fences its old holder out (stored token 0)', withCluster('fenced-expired', async (ctx) => {
  const { a, leases, close } = await twoNodes(ctx);
  try {
    const token = await leases.acquire(0, 'node-a', 80);
    a.setFence(0, token);
    await a.persist([entry('partition-0', 1)]);
    await until(async () => (await leases.holder(0)) === undefined, 'the lease to expire', 2_000);
    await assert.rejects(a.persist([entry('partition-0', 2)]), (e: unknown) => e instanceof FencedError && e.currentToken === 0 && e.token === token);
    assert.deepEqual(await seqs(a, 'partition-0'), [[1, { seq: 1 }]]);
  } finally {
    await close();
  }
}));

test('snapshots are fenced too: the old holder stores nothing and trims nothing', withCluster('fenced-snapshot', async (ctx) => {
  const { a, b, close } = await twoNodes(ctx);
  try {
    await takeover(ctx, 1, a, b);
    await assert.rejects(a.takeSnapshot({ key: 'partition-1', seq: 2, version: 1, data: 'from a' }), FencedError);
    assert.equal(await a.latestSnapshot('partition-1'), undefined);
    assert.deepEqual((await a.events('partition-1', 0)).map((e) => e.seq), [1, 2], 'journal not trimmed');

    assert.equal(await b.takeSnapshot({ key: 'partition-1', seq: 2, version: 3, data: 'from b' }), true);
    assert.deepEqual(await b.latestSnapshot('partition-1'), { key: 'partition-1', seq: 2, version: 3, data: 'from b' });
    assert.deepEqual(await b.events('partition-1', 0), []);
    assert.equal(await b.takeSnapshot({ key: 'partition-1', seq: 1, version: 3, data: 'older' }), false, 'stale snapshots still lose');
    await b.persist([entry('partition-1', 3)]);
    assert.deepEqual((await b.events('partition-1', 2)).map((e) => e.seq), [3]);
  } finally {
    await close();
  }
}));

test('fenced appends keep the journal rules: retries are skipped, a gap is refused and writes nothing', withCluster('fenced-rules', async (ctx) => {
  const { a, leases, close } = await twoNodes(ctx);
  try {
    a.setFence(2, await leases.acquire(2, 'node-a', 10_000));
    await a.persist([entry('partition-2', 1), entry('partition-2', 2)]);
    await a.persist([entry('partition-2', 2, 'again'), entry('partition-2', 3)]);
    assert.deepEqual(await seqs(a, 'partition-2'), [[1, { seq: 1 }], [2, { seq: 2 }], [3, { seq: 3 }]]);
    await assert.rejects(a.persist([entry('partition-2', 4), entry('partition-2', 6)]), /TRIAGE_GAP 4 6/);
    assert.deepEqual((await a.events('partition-2', 0)).map((e) => e.seq), [1, 2, 3], 'not even the entry before the gap');
  } finally {
    await close();
  }
}));

test('non-partition keys and unfenced partitions pass through; requireFence refuses an unowned partition', withCluster('fenced-passthrough', async (ctx) => {
  const { a, leases, close } = await twoNodes(ctx);
  const strict = new FencedRedisEngine(new RedisEngine({ url: REDIS_URL, prefix: ctx.keys.prefix }), { requireFence: true });
  await strict.connect();
  try {
    a.setFence(4, await leases.acquire(4, 'node-a', 10_000));
    // One batch mixing a fenced partition, an unfenced one and a non-partition key.
    await a.persist([entry('partition-4', 1), entry('graph', 1), entry('partition-5', 1), entry('graph', 2)]);
    assert.deepEqual((await a.events('graph', 0)).map((e) => e.seq), [1, 2]);
    assert.deepEqual((await a.events('partition-5', 0)).map((e) => e.seq), [1]);
    assert.equal(await a.takeSnapshot({ key: 'graph', seq: 1, version: 1, data: {} }), true);
    assert.deepEqual((await a.events('graph', 0)).map((e) => e.seq), [2]);
    a.clearFence(4);
    assert.equal(a.fenceOf(4), undefined);

    // requireFence: nothing of a batch that names an unowned partition is sent.
    await assert.rejects(strict.persist([entry('graph', 3), entry('partition-6', 1)]), (e: unknown) => e instanceof FencedError && e.partition === 6 && e.token === 0);
    assert.deepEqual((await strict.events('graph', 0)).map((e) => e.seq), [2]);
    assert.deepEqual(await strict.events('partition-6', 0), []);
    await assert.rejects(strict.takeSnapshot({ key: 'partition-6', seq: 1, version: 1, data: null }), FencedError);
    await strict.persist([entry('graph', 3)]);
    strict.setFence(6, await leases.acquire(6, 'node-s', 10_000));
    await strict.persist([entry('partition-6', 1)]);
    assert.deepEqual((await strict.events('partition-6', 0)).map((e) => e.seq), [1]);
    assert.throws(() => strict.setFence(6, 0), /fencing token/);
  } finally {
    await Promise.all([close(), strict.close()]);
  }
}));

test('an entry that hands payloads to another partition is stored with its inbox message in one step, once', withCluster('fenced-transfer', async (ctx) => {
  const { a, b, close } = await twoNodes(ctx);
  const handing: JournalEntry = { key: 'partition-2', seq: 3, data: { moved: ['x'] }, outbox: [{ partition: 7, data: { transfer: { from: 2, records: [{ id: 'x' }] } } }] };
  const inbox = () => ctx.redis.xrange(ctx.keys.inbox(7), '-', '+');
  try {
    await takeover(ctx, 2, a, b);
    // The plain entry after it in the same batch keeps its place.
    await b.persist([handing, entry('partition-2', 4, 'after')]);
    assert.deepEqual(await seqs(b, 'partition-2'), [[1, { seq: 1 }], [2, { seq: 2 }], [3, { moved: ['x'] }], [4, 'after']]);
    const delivered = await inbox();
    assert.equal(delivered.length, 1);
    assert.deepEqual(JSON.parse(delivered[0]![1][1]!), { transfer: { from: 2, records: [{ id: 'x' }] } });
    // A retried batch (the store answered late) does not hand the payloads over twice.
    await b.persist([handing]);
    assert.equal((await inbox()).length, 1);
    // The former holder can do neither half: no journal entry, no message.
    await assert.rejects(a.persist([{ ...handing, seq: 5 }]), FencedError);
    assert.equal((await inbox()).length, 1);
    assert.equal((await seqs(b, 'partition-2')).length, 4);
  } finally {
    await close();
  }
}));

test('a home\'s graph and workflows keys are fenced by the home\'s lease: an adopter\'s writes go through, the former holder\'s are refused', withCluster('fenced-home', async (ctx) => {
  const { a, b, close } = await twoNodes(ctx);
  const strict = new FencedRedisEngine(new RedisEngine({ url: REDIS_URL, prefix: ctx.keys.prefix }), { requireFence: true });
  await strict.connect();
  const homes = new Leases<string>(ctx.redis, ctx.keys.homeLease);
  const [graph, workflows] = homeKeys('node-a.1');
  try {
    await assert.rejects(strict.persist([entry(graph, 1)]), (e: unknown) => e instanceof FencedError && e.key === graph && e.partition === undefined && e.token === 0);
    a.setHomeFence('node-a.1', await homes.acquire('node-a.1', 'node-a', 100));
    await a.persist([entry(graph, 1), entry(workflows, 1)]);
    await until(async () => (await homes.holder('node-a.1')) === undefined, 'the home lease to expire', 2_000);
    b.setHomeFence('node-a.1', await homes.acquire('node-a.1', 'node-b', 10_000));
    await b.persist([entry(graph, 2)]);
    const refused = await a.persist([entry(workflows, 2)]).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof FencedError && refused.key === workflows, `expected FencedError for ${workflows}, got ${String(refused)}`);
    await assert.rejects(a.takeSnapshot({ key: graph, seq: 2, version: 1, data: 'late' }), FencedError);
    assert.deepEqual((await b.events(graph, 0)).map((e) => e.seq), [1, 2]);
    assert.deepEqual((await b.events(workflows, 0)).map((e) => e.seq), [1], 'nothing of the former holder\'s late write');
    assert.equal(b.homeFenceOf('node-a.1') !== undefined && a.homeFenceOf('node-a.1') !== b.homeFenceOf('node-a.1'), true);
  } finally {
    await Promise.all([close(), strict.close()]);
  }
}));
