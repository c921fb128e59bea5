// A clustered runtime: three node processes on one machine and a real Redis. Work submitted on any
// node completes wherever its partition lives; killed nodes lose nothing; a graceful stop hands
// queued work over without running anything twice.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { ownerOf } from '../src/cluster/assignment.ts';
import { partitionOfId } from '../src/core/ids.ts';
import { NodeProcess } from './cluster-process.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';

const PARTITIONS = 12;
const redis = new Redis(REDIS_URL);
after(() => redis.quit());

type Ids = { ids: string[] };
type Waited = { results: Array<{ node: string; tag: string }>; outputs: unknown[] };

async function startCluster(prefix: string, ttl: number, spawned: NodeProcess[], names = ['a', 'b', 'c']): Promise<Map<string, NodeProcess>> {
  const nodes = new Map(names.map((name) => [name, new NodeProcess(prefix, name, ttl)]));
  spawned.push(...nodes.values()); // killed at the end whatever happens
  await Promise.all([...nodes.values()].map((n) => n.ready));
  await settled(nodes);
  return nodes;
}

/** Waits until each live node serves exactly the partitions the assignment gives it. */
async function settled(nodes: Map<string, NodeProcess>, ms = 15_000): Promise<Map<string, number[]>> {
  const deadline = Date.now() + ms;
  const names = [...nodes.keys()];
  const expected = (name: string) => Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => ownerOf(p, names) === name);
  for (;;) {
    const owned = new Map(await Promise.all([...nodes].map(async ([name, n]) => [name, (await n.send<{ local: number[] }>({ cmd: 'local' })).local] as const)));
    if ([...owned].every(([name, local]) => JSON.stringify(local) === JSON.stringify(expected(name)))) return owned;
    if (Date.now() > deadline) throw new Error(`partitions not settled: ${JSON.stringify([...owned])}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function trio(nodes: Map<string, NodeProcess>): [NodeProcess, NodeProcess, NodeProcess] {
  return [nodes.get('a')!, nodes.get('b')!, nodes.get('c')!];
}

/** Every recorded handler start, as [node, id, fencing token of the partition's lease]. */
async function starts(prefix: string): Promise<Array<[string, string, string]>> {
  return (await redis.lrange(`${prefix}:starts`, 0, -1)).map((line) => line.split(' ') as [string, string, string]);
}

function duplicates(list: Array<[string, string, string]>): string[] {
  const seen = new Map<string, number>();
  for (const [, id] of list) seen.set(id, (seen.get(id) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

function withPrefix(label: string, fn: (prefix: string, nodes: NodeProcess[]) => Promise<void>): () => Promise<void> {
  return async () => {
    const prefix = freshPrefix(`cluster-rt-${label}`);
    const spawned: NodeProcess[] = [];
    try {
      await fn(prefix, spawned);
    } finally {
      await Promise.all(spawned.map((n) => n.kill()));
      await dropPrefix(prefix);
    }
  };
}

test('a mixed workload submitted on every node completes, and waitFor answers on the submitting node', { timeout: 60_000 }, withPrefix('mixed', async (prefix, spawned) => {
  const nodes = await startCluster(prefix, 1_000, spawned);
  const [a, b, c] = trio(nodes);
  const [fromA, fromB, fromC, chain, flows] = await Promise.all([
    a.send<Ids>({ cmd: 'submit', n: 40, ms: 5, tag: 'a' }),
    b.send<Ids>({ cmd: 'submit', n: 40, ms: 5, tag: 'b' }),
    c.send<Ids>({ cmd: 'submit', n: 40, ms: 5, tag: 'c' }),
    a.send<Ids>({ cmd: 'submit', n: 6, ms: 5, tag: 'chain', chain: true }),
    b.send<{ instances: string[] }>({ cmd: 'workflow', n: 3, tag: 'wf' }),
  ]);
  const [waitedA, waitedB, waitedC] = await Promise.all([
    a.send<Waited>({ cmd: 'wait', ids: [...fromA.ids, ...chain.ids] }),
    b.send<Waited>({ cmd: 'wait', ids: fromB.ids, instances: flows.instances }),
    c.send<Waited>({ cmd: 'wait', ids: fromC.ids }),
  ]);
  assert.deepEqual(waitedA.results.map((r) => r.tag), [...fromA.ids.map((_, i) => `a-${i}`), ...chain.ids.map((_, i) => `chain-${i}`)]);
  assert.deepEqual(waitedC.results.map((r) => r.tag), fromC.ids.map((_, i) => `c-${i}`));
  // Each workflow's last step ran after its three-way fan-out (its input counts the fan-out's results).
  assert.deepEqual((waitedB.outputs as Array<{ tag: string }>).map((o) => o.tag), ['wf-0:sum', 'wf-1:sum', 'wf-2:sum']);
  // Work submitted on one node ran on the others too: the partitions are spread over all three.
  const ranOn = new Set([...waitedA.results, ...waitedB.results, ...waitedC.results].map((r) => r.node));
  assert.deepEqual([...ranOn].sort(), ['a', 'b', 'c']);
  // The chain crosses partitions, so its links ran in order across nodes.
  const chainStarts = (await starts(prefix)).filter(([, id]) => chain.ids.includes(id)).map(([, id]) => id);
  assert.deepEqual(chainStarts, chain.ids);
  assert.ok(new Set(chain.ids.map((id) => partitionOfId(id, PARTITIONS))).size > 1, 'the chain spans partitions');
  await Promise.all([a.stop(true), b.stop(true), c.stop(true)]);
}));

test('random SIGKILLs and restarts lose nothing that was acknowledged', { timeout: 120_000 }, withPrefix('kill', async (prefix, spawned) => {
  const ttl = 800;
  const nodes = await startCluster(prefix, ttl, spawned);
  const submitter = nodes.get('a')!;
  const acknowledged: string[] = [];
  for (let round = 0; round < 3; round++) {
    acknowledged.push(...(await submitter.send<Ids>({ cmd: 'submit', n: 120, ms: 30, tag: `r${round}` })).ids);
    const victim = Math.random() < 0.5 ? 'b' : 'c';
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 300));
    await nodes.get(victim)!.kill();
    // Submitted while the victim is dead: its partitions are unowned until the lease expires.
    acknowledged.push(...(await submitter.send<Ids>({ cmd: 'submit', n: 40, ms: 30, tag: `r${round}-dead` })).ids);
    const restarted = new NodeProcess(prefix, victim, ttl);
    spawned.push(restarted);
    nodes.set(victim, restarted);
    await restarted.ready;
  }
  const waited = await submitter.send<Waited>({ cmd: 'wait', ids: acknowledged });
  assert.equal(waited.results.length, acknowledged.length);
  assert.ok(waited.results.every((r) => typeof r.node === 'string'));
  const list = await starts(prefix);
  const started = new Set(list.map(([, id]) => id));
  assert.deepEqual(acknowledged.filter((id) => !started.has(id)), [], 'every acknowledged payload ran');
  // The kills hit running work: some of it ran again at the partitions' next owners (at least once).
  assert.ok(list.length >= acknowledged.length);
  await settled(nodes);
}));

test('a graceful stop hands queued work over and runs nothing twice', { timeout: 60_000 }, withPrefix('handover', async (prefix, spawned) => {
  const nodes = await startCluster(prefix, 1_000, spawned);
  const [a, b, c] = trio(nodes);
  const owned = await settled(nodes);
  const { ids } = await a.send<Ids>({ cmd: 'submit', n: 240, ms: 50, tag: 'h' });
  await new Promise((r) => setTimeout(r, 150));
  await c.stop(true);
  nodes.delete('c');
  await settled(nodes);
  const waited = await a.send<Waited>({ cmd: 'wait', ids });
  assert.equal(waited.results.length, ids.length);
  const list = await starts(prefix);
  assert.deepEqual(duplicates(list), [], 'no payload started twice');
  // c's queued work was handed over: the others ran payloads of partitions c had owned.
  const cPartitions = new Set(owned.get('c'));
  const takenOver = list.filter(([node, id]) => node !== 'c' && cPartitions.has(partitionOfId(id, PARTITIONS)!));
  assert.ok(takenOver.length > 0, 'payloads of c\'s partitions ran elsewhere after the handover');
  await Promise.all([a.stop(true), b.stop(true)]);
}));
