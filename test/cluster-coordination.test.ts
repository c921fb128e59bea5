// Coordination across a cluster (two nodes in one process, a real Redis): one elected coordinator
// decides for every partition wherever it runs, keeps the ledger of work skipped on any node and
// makes it up when load falls; a transfer to a partition on another node moves queued payloads in
// one atomic write and they run there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRuntime, silentLogger, stderrLogger, type Runtime } from '../src/index.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';
import { until } from './cluster-support.ts';

const PARTITIONS = 4;

async function twoNodes(label: string, handler: (node: string) => (data: unknown) => Promise<unknown>, fn: (nodes: Runtime[]) => Promise<void>): Promise<void> {
  const prefix = freshPrefix(`cluster-coord-${label}`);
  const nodes = ['a', 'b'].map((node) => {
    const runtime = createRuntime({
      partitions: PARTITIONS, concurrency: 2, logger: process.env.LOGS ? stderrLogger : silentLogger,
      cluster: { redis: { url: REDIS_URL, prefix }, nodeId: node, leaseTtlMs: 1_000 },
      coordinator: { intervalMs: 100 },
    });
    runtime.handle('work', handler(node));
    return runtime;
  });
  try {
    await Promise.all(nodes.map((n) => n.ready()));
    await until(() => nodes.every((n) => n.cluster!.local().length === PARTITIONS / 2) && nodes.some((n) => n.cluster!.leads()), 'two partitions each and a leader', 10_000);
    await fn(nodes);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await dropPrefix(prefix);
  }
}

test('one elected coordinator skips low work on every node into its ledger and makes it up when released', { timeout: 30_000 }, () => {
  const ran: string[] = [];
  return twoNodes('ledger', (node) => async () => void ran.push(node), async (nodes) => {
    const leader = nodes.find((n) => n.cluster!.leads())!;
    const follower = nodes.find((n) => n !== leader)!;
    assert.equal(nodes.filter((n) => n.cluster!.leads()).length, 1, 'exactly one leads');
    await until(() => follower.cluster!.leader() === leader.cluster!.nodeId, 'the follower to know the leader');
    // An operator on either node's API acts on the one coordinator that decides.
    follower.coordinator!.pin('critical');
    await until(() => leader.coordinator!.pinned() && leader.coordinator!.level() === 'critical', 'the leader to be pinned');
    await until(() => follower.stats().partitions.every((p) => p.modes.low === 'skip'), 'the follower\'s partitions to skip low work');
    const ids = await follower.submitMany(Array.from({ length: 12 }, (_, i) => ({ type: 'work', priority: 1, data: i })));
    // Every low payload, on either node's partitions, waits in the leader's ledger; none ran.
    await until(() => leader.coordinator!.ledger(0).total === ids.length, 'the ledger to hold every payload');
    assert.deepEqual(ran, []);
    assert.equal(follower.coordinator!.ledger(0).total, 0, 'the follower keeps no ledger of its own');
    follower.coordinator!.release();
    await Promise.all(ids.map((id) => follower.waitFor(id)));
    assert.equal(ran.length, ids.length);
    assert.deepEqual([...new Set(ran)].sort(), ['a', 'b'], 'made up on both nodes');
    await until(() => leader.coordinator!.ledger(0).total === 0, 'the ledger to empty');
  });
});

test('a transfer to a partition on another node moves queued payloads atomically, and they run there', { timeout: 30_000 }, () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => { open = resolve; });
  const ranOn = new Map<number, string>(); // payload data (its index) → node
  return twoNodes('transfer', (node) => async (data) => {
    await gate;
    ranOn.set(data as number, node);
  }, async ([a, b]) => {
    const from = a!.cluster!.local()[0]!;
    const to = b!.cluster!.local()[0]!;
    // Submitted until partition `from` holds queued payloads behind its two blocked slots.
    const ids: string[] = [];
    for (let i = 0; ids.filter((id) => id.endsWith(`.${from.toString(36)}`)).length < 8; i++) ids.push(await a!.submit({ type: 'work', data: i }));
    const queuedAt = (runtime: Runtime, partition: number) => runtime.stats().partitions.find((p) => p.partition === partition)!;
    await until(() => queuedAt(a!, from).depth.medium >= 4, 'payloads queued on the source partition');
    const before = queuedAt(a!, from).depth.medium;
    await a!.cluster!.tell(from, { type: 'transfer-out', tier: 'medium', to, max: 3 });
    await until(() => queuedAt(b!, to).flow.transferredIn === 3, 'the target to take three payloads in');
    assert.equal(queuedAt(a!, from).flow.transferredOut, 3);
    assert.equal(queuedAt(a!, from).depth.medium, before - 3);
    open();
    await Promise.all(ids.map((id) => a!.waitFor(id)));
    // The moved payloads ran on b, where their new partition lives; the rest of `from` ran on a.
    const ofSource = ids.map((id, i) => [id, i] as const).filter(([id]) => id.endsWith(`.${from.toString(36)}`));
    assert.equal(ofSource.filter(([, i]) => ranOn.get(i) === 'b').length, 3);
    assert.equal(ofSource.filter(([, i]) => ranOn.get(i) === 'a').length, ofSource.length - 3);
    // Lookups by id (which names the source partition) follow the moved payloads.
    const views = await Promise.all(ids.map((id) => a!.get(id)));
    assert.ok(views.every((v) => v?.status === 'completed'), 'every payload completed and is found by id');
  });
});
