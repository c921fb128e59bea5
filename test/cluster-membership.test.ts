// Membership on a real Redis: heartbeats keep a node listed, an expired one is dropped and pruned,
// leaving is immediate, and the background loop reports changes and survives Redis errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { Membership, type MembershipChange } from '../src/cluster/membership.ts';
import { OptionsError } from '../src/errors.ts';
import { manualClock, until, withCluster } from './cluster-support.ts';

test('joined nodes are listed with their info; leaving removes a node at once', withCluster('members', async ({ keys, redis }) => {
  const a = new Membership({ client: redis, keys, nodeId: 'node-a', heartbeatMs: 50, ttlMs: 200, adminUrl: 'http://127.0.0.1:7070', pid: 4242 });
  const b = new Membership({ client: redis, keys, nodeId: 'node-b', heartbeatMs: 50, ttlMs: 200 });
  const before = Date.now();
  await a.join();
  await b.join();
  const live = await a.live();
  assert.deepEqual(live.map((n) => n.id).sort(), ['node-a', 'node-b']);
  const infoA = live.find((n) => n.id === 'node-a')!;
  assert.equal(infoA.pid, 4242);
  assert.equal(infoA.adminUrl, 'http://127.0.0.1:7070');
  assert.ok(infoA.startedAt <= Date.now() && infoA.startedAt >= before - 1_000);
  assert.ok(infoA.expiresAt > Date.now() && infoA.expiresAt <= Date.now() + 200);
  assert.equal(live.find((n) => n.id === 'node-b')!.pid, process.pid);

  await b.leave();
  assert.deepEqual((await a.live()).map((n) => n.id), ['node-a']);
  assert.equal(await redis.hexists(keys.memberInfo, 'node-b'), 0);
}));

test('a node whose heartbeat expired is excluded and pruned; a heartbeat keeps a node in', withCluster('expiry', async ({ keys, redis }) => {
  const clock = manualClock(1_700_000_000_000);
  const a = new Membership({ client: redis, keys, nodeId: 'node-a', heartbeatMs: 50, ttlMs: 200, now: clock.now });
  const b = new Membership({ client: redis, keys, nodeId: 'node-b', heartbeatMs: 50, ttlMs: 200, now: clock.now });
  await a.join();
  await b.join();
  clock.advance(150);
  await a.heartbeat();
  clock.advance(100); // b's heartbeat is 250 ms old, a's 100 ms
  assert.deepEqual((await a.live()).map((n) => n.id), ['node-a']);
  assert.deepEqual(await redis.zrange(keys.members, '0', '-1'), ['node-a']);
  assert.deepEqual(await redis.hkeys(keys.memberInfo), ['node-a']);
  // Expiry is exclusive of its instant: at exactly expiresAt the node counts as gone.
  clock.advance(100);
  assert.deepEqual(await a.live(), []);
  // A heartbeat after being pruned brings the node back with its info.
  await b.heartbeat();
  const [back] = await a.live();
  assert.equal(back?.id, 'node-b');
  assert.equal(back?.pid, process.pid);
}));

test('expiry on real time: a node that stops heartbeating drops out after its ttl', withCluster('realtime', async ({ keys, redis }) => {
  const a = new Membership({ client: redis, keys, nodeId: 'node-a', heartbeatMs: 40, ttlMs: 200 });
  const b = new Membership({ client: redis, keys, nodeId: 'node-b', heartbeatMs: 40, ttlMs: 200 });
  a.start();
  try {
    await b.join();
    const joinedAt = Date.now();
    assert.deepEqual((await a.live()).map((n) => n.id).sort(), ['node-a', 'node-b']);
    await until(async () => (await a.live()).every((n) => n.id !== 'node-b'), 'node-b to expire', 2_000);
    assert.ok(Date.now() - joinedAt >= 190, 'dropped before its ttl');
    assert.deepEqual((await a.live()).map((n) => n.id), ['node-a'], 'node-a, heartbeating, stays');
  } finally {
    // A failed assertion must not leave the heartbeat loop holding the test process open.
    await a.stop();
  }
}));

test('the loop emits changes as nodes join, stop heartbeating and leave', withCluster('changes', async ({ keys, redis }) => {
  const changes: MembershipChange[] = [];
  const a = new Membership({ client: redis, keys, nodeId: 'node-a', heartbeatMs: 30, ttlMs: 200 });
  const b = new Membership({ client: redis, keys, nodeId: 'node-b', heartbeatMs: 30, ttlMs: 200 });
  const c = new Membership({ client: redis, keys, nodeId: 'node-c', heartbeatMs: 30, ttlMs: 200 });
  a.on('change', (change) => changes.push(change));
  a.start();
  await until(() => changes.length === 1, 'first change');
  assert.deepEqual(changes[0], { joined: ['node-a'], left: [], live: changes[0]!.live });
  b.start();
  c.start();
  await until(() => changes.flatMap((ch) => ch.joined).length === 3, 'b and c to be seen');
  assert.deepEqual(changes.flatMap((ch) => ch.joined).sort(), ['node-a', 'node-b', 'node-c']);
  assert.deepEqual(changes.at(-1)!.live.map((n) => n.id).sort(), ['node-a', 'node-b', 'node-c']);

  const seen = changes.length;
  await b.stop(); // silent: must expire
  await c.leave(); // explicit: gone at the next heartbeat of a
  await until(() => changes.slice(seen).flatMap((ch) => ch.left).length === 2, 'b and c to be seen leaving', 2_000);
  const left = changes.slice(seen);
  assert.deepEqual(left.flatMap((ch) => ch.left).sort(), ['node-b', 'node-c']);
  assert.deepEqual(left.flatMap((ch) => ch.joined), []);
  assert.equal(left[0]!.left[0], 'node-c', 'the node that left explicitly is seen first');
  assert.deepEqual(changes.at(-1)!.live.map((n) => n.id), ['node-a']);
  await a.stop();
}));

test('Redis errors during heartbeats go to onError and the loop keeps going', withCluster('errors', async ({ keys }) => {
  // Nothing listens on port 1: every command fails at once.
  const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  dead.on('error', () => {});
  const errors: unknown[] = [];
  const m = new Membership({ client: dead, keys, nodeId: 'node-a', heartbeatMs: 20, ttlMs: 100, onError: (e) => errors.push(e) });
  m.start();
  await until(() => errors.length >= 3, 'repeated heartbeat errors');
  await m.stop();
  const count = errors.length;
  assert.ok(errors.every((e) => e instanceof Error));
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(errors.length, count, 'a stopped loop no longer heartbeats');
  dead.disconnect();
}));

test('options are checked', withCluster('options', async ({ keys, redis }) => {
  assert.throws(() => new Membership({ client: redis, keys, nodeId: 'n', heartbeatMs: 100, ttlMs: 100 }), OptionsError);
  assert.throws(() => new Membership({ client: redis, keys, nodeId: 'has space', heartbeatMs: 10, ttlMs: 100 }), /node id/);
}));
