// Partition ownership on a real Redis: nodes follow the rendezvous assignment over the live set,
// hand partitions over on a join or a graceful stop (release strictly before the new owner acquires),
// take a crashed node's partitions after its leases expire, and a paused node that wakes up finds its
// leases lost and its engine fenced out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { assign, ownerOf } from '../src/cluster/assignment.ts';
import { FencedError, FencedRedisEngine } from '../src/cluster/fenced-journal.ts';
import { PartitionOwnership, type PartitionOwnershipOptions, type PartitionOwner } from '../src/cluster/ownership.ts';
import { OptionsError } from '../src/errors.ts';
import { RedisEngine } from '../src/persistence/redis.ts';
import { REDIS_URL } from './redis-support.ts';
import { until, withCluster, type ClusterContext } from './cluster-support.ts';

const byNumber = (a: number, b: number) => a - b;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

type EventName = 'acquired' | 'releasing' | 'released' | 'lost' | 'hook-start' | 'hook-end';
interface Logged {
  readonly node: string;
  readonly event: EventName;
  readonly partition: number;
  readonly token: number;
  readonly reason?: string;
  /** performance.now() when it happened. */
  readonly at: number;
}

type NodeOptions = Omit<PartitionOwnershipOptions, 'client' | 'keys' | 'nodeId'>;

/** Nodes on one prefix, each with a connection of its own, logging every event in one ordered list. */
function cluster(ctx: ClusterContext, { hookMs = 20, ...defaults }: NodeOptions & { hookMs?: number }) {
  const log: Logged[] = [];
  const errors: unknown[] = [];
  const nodes: PartitionOwnership[] = [];
  const engines: FencedRedisEngine[] = [];
  const record = (node: string, event: EventName, partition: number, token: number, reason?: string) =>
    log.push({ node, event, partition, token, at: performance.now(), ...(reason ? { reason } : {}) });

  function node(nodeId: string, extra: Partial<NodeOptions> & { client?: Redis } = {}): PartitionOwnership {
    const owner = new PartitionOwnership({
      client: ctx.open(),
      keys: ctx.keys,
      nodeId,
      // Stands in for the runtime: stop the partition actor and flush it.
      beforeRelease: async (partition, token) => {
        record(nodeId, 'hook-start', partition, token);
        await delay(hookMs);
        record(nodeId, 'hook-end', partition, token);
      },
      onError: (error) => errors.push(error),
      ...defaults,
      ...extra,
    });
    owner.on('acquired', (p, token) => record(nodeId, 'acquired', p, token));
    owner.on('releasing', (p, token) => record(nodeId, 'releasing', p, token));
    owner.on('released', (p, token) => record(nodeId, 'released', p, token));
    owner.on('lost', (p, reason, token) => record(nodeId, 'lost', p, token, reason));
    nodes.push(owner);
    return owner;
  }

  async function engine(): Promise<FencedRedisEngine> {
    const e = new FencedRedisEngine(new RedisEngine({ url: REDIS_URL, prefix: ctx.keys.prefix }), { requireFence: true });
    await e.connect();
    engines.push(e);
    return e;
  }

  /** Waits until each of `owners` holds exactly its share of assign() over their ids, and Redis agrees. */
  async function settled(owners: PartitionOwnership[], ms = 5_000): Promise<PartitionOwner[]> {
    const expected = assign(defaults.partitions, owners.map((o) => o.nodeId));
    const matches = () => owners.every((o) => [...o.owned().keys()].sort(byNumber).join() === expected.get(o.nodeId)!.join());
    await until(matches, `ownership of ${owners.map((o) => o.nodeId).join(', ')} to settle`, ms);
    let view: PartitionOwner[] = [];
    await until(async () => {
      view = await owners[0]!.ownerView();
      return view.length === defaults.partitions && view.every((v) => ownerOf(v.partition, owners.map((o) => o.nodeId)) === v.node);
    }, 'the lease holders in Redis to match', ms);
    return view;
  }

  /** Where in the log the first such event since `from` is, or -1. */
  const position = (from: number, node: string, event: EventName, partition: number) =>
    log.findIndex((e, i) => i >= from && e.node === node && e.event === event && e.partition === partition);

  async function close(): Promise<void> {
    await Promise.all(nodes.map((n) => n.stop({ handover: false })));
    await Promise.all(engines.map((e) => e.close()));
  }

  return { log, errors, node, engine, settled, position, close };
}

const FAST = { heartbeatMs: 50, renewMs: 100, leaseTtlMs: 400 } as const;

test('three nodes on 16 partitions: each partition has exactly one owner, as assign() says', withCluster('own-three', async (ctx) => {
  const c = cluster(ctx, { partitions: 16, ...FAST });
  try {
    const ids = ['node-a', 'node-b', 'node-c'];
    const nodes = ids.map((id) => c.node(id));
    await Promise.all(nodes.map((n) => n.start()));
    const view = await c.settled(nodes);
    assert.deepEqual(view.map((v) => v.partition), range(16));
    const expected = assign(16, ids);
    for (const n of nodes) {
      const owned = n.owned();
      assert.deepEqual([...owned.keys()].sort(byNumber), expected.get(n.nodeId));
      assert.ok(owned.size >= 2, `${n.nodeId} owns ${owned.size}`);
      for (const [p, token] of owned) assert.deepEqual({ node: view[p]!.node, token: view[p]!.token }, { node: n.nodeId, token });
    }
    assert.deepEqual((await nodes[0]!.live()).map((n) => n.id).sort(), ids);
    // Tokens of one partition only grow: no two acquisitions of it ever drew the same one.
    for (const p of range(16)) {
      const tokens = c.log.filter((e) => e.event === 'acquired' && e.partition === p).map((e) => e.token);
      assert.deepEqual(tokens, [...tokens].sort(byNumber));
      assert.equal(new Set(tokens).size, tokens.length);
    }
    assert.deepEqual(c.errors, []);
  } finally {
    await c.close();
  }
}));

test('a fourth node joins: only its partitions move, each released by the old owner before the new one acquires it', withCluster('own-join', async (ctx) => {
  const c = cluster(ctx, { partitions: 16, ...FAST, hookMs: 60 });
  try {
    const nodes = ['node-a', 'node-b', 'node-c'].map((id) => c.node(id));
    await Promise.all(nodes.map((n) => n.start()));
    const before = await c.settled(nodes);
    const from = c.log.length;

    const d = c.node('node-d');
    await d.start();
    const after = await c.settled([...nodes, d]);
    const moved = range(16).filter((p) => after[p]!.node === 'node-d');
    assert.deepEqual(moved, assign(16, ['node-a', 'node-b', 'node-c', 'node-d']).get('node-d'));
    assert.ok(moved.length > 0);
    for (const p of range(16)) {
      const [was, now] = [before[p]!, after[p]!];
      if (!moved.includes(p)) {
        assert.deepEqual({ node: now.node, token: now.token }, { node: was.node, token: was.token }, `partition ${p} stays put`);
        assert.equal(c.log.slice(from).filter((e) => e.partition === p).length, 0, `no events for partition ${p}`);
        continue;
      }
      assert.ok(now.token > was.token, `partition ${p}: token ${now.token} must exceed ${was.token}`);
      // The handover runs to its end before the new owner acquires. What must come first is the
      // release in Redis, not its log line: the old owner logs 'released' when the reply reaches it,
      // which may be after the new owner's acquisition (possible only once the lease was free: no
      // lease was lost, so it was released) has been logged.
      const steps = [
        c.position(from, was.node, 'releasing', p),
        c.position(from, was.node, 'hook-start', p),
        c.position(from, was.node, 'hook-end', p),
        c.position(from, 'node-d', 'acquired', p),
      ];
      const released = c.position(from, was.node, 'released', p);
      assert.ok(steps.every((i) => i >= 0) && steps.every((i, k) => k === 0 || i > steps[k - 1]!), `partition ${p}: order ${steps.join(' < ')}`);
      assert.ok(released > steps[2]!, `partition ${p}: released (${released}) after its handover hook (${steps[2]})`);
    }
    assert.equal(c.log.slice(from).filter((e) => e.event === 'lost').length, 0);
    assert.deepEqual(c.errors, []);
  } finally {
    await c.close();
  }
}));

test('a node crashes: after its lease ttl the survivors take its partitions with higher tokens', (t) => withCluster('own-crash', async (ctx) => {
  const c = cluster(ctx, { partitions: 16, ...FAST });
  try {
    const nodes = ['node-a', 'node-b', 'node-c'].map((id) => c.node(id));
    await Promise.all(nodes.map((n) => n.start()));
    await c.settled(nodes);
    const victim = nodes[2]!;
    const orphaned = victim.owned();
    const from = c.log.length;
    const stoppedAt = performance.now();
    await victim.stop({ handover: false });
    const survivors = nodes.slice(0, 2);
    await c.settled(survivors, 3 * FAST.leaseTtlMs + 2_000);

    for (const [p, token] of orphaned) {
      const taken = c.log.find((e, i) => i >= from && e.event === 'acquired' && e.partition === p);
      assert.ok(taken && taken.node !== victim.nodeId && taken.token > token, `partition ${p} taken over with a higher token`);
    }
    const lastTaken = Math.max(...c.log.slice(from).filter((e) => e.event === 'acquired' && orphaned.has(e.partition)).map((e) => e.at));
    const took = Math.round(lastTaken - stoppedAt);
    t.diagnostic(`fail-over of ${orphaned.size} partitions took ${took} ms (lease ttl ${FAST.leaseTtlMs} ms, heartbeat ${FAST.heartbeatMs} ms, renew ${FAST.renewMs} ms)`);
    assert.ok(took <= 3 * FAST.leaseTtlMs, `fail-over took ${took} ms`);
    assert.ok(c.log.slice(from).every((e) => e.node !== victim.nodeId), 'the crashed node released nothing');
    // Partitions of the survivors did not move.
    assert.ok(c.log.slice(from).every((e) => orphaned.has(e.partition)));
    assert.deepEqual(c.errors, []);
  } finally {
    await c.close();
  }
})());

test('a graceful stop hands every partition over at once, each after its beforeRelease', (t) => withCluster('own-handover', async (ctx) => {
  // A long ttl: a takeover well under it can only have come from the release, not from expiry.
  const ttl = 1_500;
  const c = cluster(ctx, { partitions: 16, heartbeatMs: 50, renewMs: 300, reconcileMs: 100, leaseTtlMs: ttl });
  try {
    const nodes = ['node-a', 'node-b', 'node-c'].map((id) => c.node(id));
    await Promise.all(nodes.map((n) => n.start()));
    await c.settled(nodes);
    const leaving = nodes[1]!;
    const handed = leaving.owned();
    const from = c.log.length;
    const stoppedAt = performance.now();
    await leaving.stop({ handover: true });
    const survivors = [nodes[0]!, nodes[2]!];
    const after = await c.settled(survivors, ttl);
    const lastTaken = Math.max(...c.log.slice(from).filter((e) => e.event === 'acquired').map((e) => e.at));
    const took = Math.round(lastTaken - stoppedAt);
    t.diagnostic(`handover of ${handed.size} partitions took ${took} ms (lease ttl ${ttl} ms)`);
    assert.ok(took < ttl / 2, `handover took ${took} ms`);

    for (const [p, token] of handed) {
      const next = after[p]!;
      assert.ok(next.node !== leaving.nodeId && next.token > token);
      const steps = [
        c.position(from, leaving.nodeId, 'releasing', p),
        c.position(from, leaving.nodeId, 'hook-start', p),
        c.position(from, leaving.nodeId, 'hook-end', p),
        c.position(from, leaving.nodeId, 'released', p),
        c.position(from, next.node, 'acquired', p),
      ];
      assert.ok(steps.every((i) => i >= 0) && steps.every((i, k) => k === 0 || i > steps[k - 1]!), `partition ${p}: order ${steps.join(' < ')}`);
    }
    assert.equal(leaving.owned().size, 0);
    assert.ok((await nodes[0]!.live()).every((n) => n.id !== leaving.nodeId), 'the stopped node left the live set');
    assert.equal(c.log.filter((e) => e.event === 'lost').length, 0);
    assert.deepEqual(c.errors, []);
  } finally {
    await c.close();
  }
})());

test('a paused node wakes up to find its leases lost and its engine fenced out; the new owner writes', withCluster('own-fenced', async (ctx) => {
  const c = cluster(ctx, { partitions: 8, ...FAST });
  try {
    const [engineA, engineB] = [await c.engine(), await c.engine()];
    const a = c.node('node-a', { engine: engineA });
    const b = c.node('node-b', { engine: engineB });
    await Promise.all([a.start(), b.start()]);
    await c.settled([a, b]);
    const [p, token] = [...a.owned()][0]!;
    assert.equal(engineA.fenceOf(p), token, 'the fence follows the lease');
    const key = `partition-${p}`;
    await engineA.persist([{ key, seq: 1, data: 'from a' }]);

    // The pause: no heartbeats, no renewals, no ticks, but the state (and the fence) kept.
    const from = c.log.length;
    await a.stop({ handover: false });
    await until(() => b.owned().has(p), 'node-b to take the partition over', 3 * FAST.leaseTtlMs + 2_000);
    const fresh = b.owned().get(p)!;
    assert.ok(fresh > token);
    assert.equal(engineB.fenceOf(p), fresh);

    // A write of node-a racing its own discovery of the loss: Redis refuses the stale token.
    assert.equal(engineA.fenceOf(p), token);
    await assert.rejects(engineA.persist([{ key, seq: 2, data: 'late a' }]), (e: unknown) => e instanceof FencedError && e.currentToken === fresh && e.token === token);

    // Waking up, node-a reports every lease lost before anything else, and clears its fences.
    await a.start();
    const lost = c.log.slice(from).filter((e) => e.node === 'node-a' && e.event === 'lost');
    assert.ok(lost.some((e) => e.partition === p && e.token === token && e.reason === 'expired'), JSON.stringify(lost));
    assert.equal(engineA.fenceOf(p), undefined);
    await assert.rejects(engineA.persist([{ key, seq: 2, data: 'late a' }]), (e: unknown) => e instanceof FencedError && e.partition === p && e.token === 0);
    await engineB.persist([{ key, seq: 2, data: 'from b' }]);
    assert.deepEqual((await engineB.events(key, 0)).map((e) => [e.seq, e.data]), [[1, 'from a'], [2, 'from b']]);

    // Back in the live set, node-a gets its partitions back through a handover from node-b.
    await c.settled([a, b]);
    assert.ok(a.owned().get(p)! > fresh);
    assert.equal(engineA.fenceOf(p), a.owned().get(p));
    assert.equal(engineB.fenceOf(p), undefined);
    assert.deepEqual(c.errors, []);
  } finally {
    await c.close();
  }
}));

test('a lease past its local deadline (the clock jumped) is reported lost, then taken back with a new token', withCluster('own-clock', async (ctx) => {
  let offset = 0;
  const c = cluster(ctx, { partitions: 4, ...FAST });
  try {
    const engine = await c.engine();
    const a = c.node('node-a', { engine, now: () => performance.now() + offset });
    await a.start();
    await c.settled([a]);
    const before = a.owned();
    // As if the process had stalled past the ttl between two renewals.
    offset += FAST.leaseTtlMs;
    await until(() => c.log.filter((e) => e.event === 'lost').length === 4, 'the leases to be reported lost', 2_000);
    await c.settled([a]);
    for (const [p, token] of before) {
      const now = a.owned().get(p)!;
      assert.ok(now > token, `partition ${p}: ${now} must exceed ${token}`);
      assert.equal(engine.fenceOf(p), now);
      const events = c.log.filter((e) => e.partition === p).map((e) => `${e.event} ${e.token}${e.reason ? ` ${e.reason}` : ''}`);
      assert.deepEqual(events.slice(-2), [`lost ${token} expired`, `acquired ${now}`]);
    }
    assert.deepEqual(c.errors, []);
  } finally {
    await c.close();
  }
}));

test('Redis errors go to onError; leases that cannot be renewed are lost; stop stays prompt', withCluster('own-errors', async (ctx) => {
  const c = cluster(ctx, { partitions: 4, ...FAST });
  try {
    const engine = await c.engine();
    const client = ctx.open();
    const a = c.node('node-a', { client, engine });
    await a.start();
    await c.settled([a]);
    // Cut node-a off Redis: every command of its connection fails from here on.
    client.disconnect();
    await until(() => c.errors.length >= 3, 'background errors to be reported');
    await until(() => a.owned().size === 0, 'the unrenewed leases to lapse', 2_000);
    assert.deepEqual(c.log.filter((e) => e.event === 'lost').map((e) => [e.partition, e.reason]), range(4).map((p) => [p, 'expired']));
    assert.ok(range(4).every((p) => engine.fenceOf(p) === undefined));
    const stopping = performance.now();
    await a.stop({ handover: true });
    assert.ok(performance.now() - stopping < 500, 'stop did not wait on the dead connection');
    assert.ok(c.errors.every((e) => e instanceof Error));
  } finally {
    await c.close();
  }
}));

test('a beforeRelease that fails or hangs is reported, and the partition is released all the same', withCluster('own-hook', async (ctx) => {
  const c = cluster(ctx, { partitions: 4, ...FAST });
  try {
    const engine = await c.engine();
    const a = c.node('node-a', {
      engine,
      handoverTimeoutMs: 100,
      beforeRelease: (p) => (p === 0 ? Promise.reject(new Error('flush failed')) : p === 1 ? new Promise<void>(() => {}) : Promise.resolve()),
    });
    await a.start();
    await c.settled([a]);
    const stopping = performance.now();
    await a.stop();
    assert.ok(performance.now() - stopping < 1_000, 'a hanging hook held stop up');
    assert.deepEqual(c.log.filter((e) => e.event === 'released').map((e) => e.partition).sort(byNumber), range(4));
    assert.deepEqual(await a.ownerView(), []);
    assert.ok(range(4).every((p) => engine.fenceOf(p) === undefined));
    const messages = c.errors.map((e) => (e as Error).message).sort();
    assert.deepEqual(messages, ['flush failed', 'handover of partition 1 took longer than 100 ms']);
  } finally {
    await c.close();
  }
}));

test('options are checked; start fails when Redis cannot be reached', withCluster('own-options', async (ctx) => {
  const base = { client: ctx.redis, keys: ctx.keys, nodeId: 'node-a', partitions: 4, ...FAST };
  assert.throws(() => new PartitionOwnership({ ...base, partitions: 0 }), OptionsError);
  const lax = new FencedRedisEngine(new RedisEngine({ url: REDIS_URL, prefix: ctx.keys.prefix }));
  assert.throws(() => new PartitionOwnership({ ...base, engine: lax }), /requireFence/);
  assert.throws(() => new PartitionOwnership({ ...base, renewMs: 400 }), OptionsError);
  assert.throws(() => new PartitionOwnership({ ...base, handoverTimeoutMs: 0 }), OptionsError);
  await lax.close();
  // Nothing listens on port 1: the join fails, and start says so instead of running half-started.
  const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  dead.on('error', () => {});
  const errors: unknown[] = [];
  const owner = new PartitionOwnership({ ...base, client: dead, onError: (e) => errors.push(e) });
  await assert.rejects(owner.start());
  await delay(150);
  assert.deepEqual(errors, [], 'no loop was left running');
  await owner.stop({ handover: false });
  dead.disconnect();
}));
