// A clustered runtime: three node processes on one machine and a real Redis. Work submitted on any
// node completes wherever its partition lives; killed nodes lose nothing; a graceful stop hands
// queued work over without running anything twice; a node paused past its lease runs nothing it lost.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { ownerOf } from '../src/cluster/assignment.ts';
import { partitionOfId } from '../src/core/ids.ts';
import { PayloadLedger } from './cluster-ledger.ts';
import { NodeProcess, withNodeProcesses } from './cluster-process.ts';
import { REDIS_URL } from './redis-support.ts';

const PARTITIONS = 12;
/** Rounds of the fault tests; raise it (CLUSTER_FAULT_ROUNDS=20) to hunt for a rare loss. */
const FAULT_ROUNDS = Number(process.env.CLUSTER_FAULT_ROUNDS ?? 3);
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

/**
 * Waits for every id on `node`; when that does not end in time, fails with what each node sees of
 * the unfinished ones and, with a ledger, where Redis still has each and who started it.
 */
async function waitAll(nodes: Map<string, NodeProcess>, node: NodeProcess, ids: string[], ledger?: PayloadLedger): Promise<Waited> {
  try {
    return await node.send<Waited>({ cmd: 'wait', ids }, 30_000);
  } catch (error) {
    const seen = await Promise.all([...nodes].map(async ([name, n]) => [name, await n.send<{ open?: Array<{ id: string }> }>({ cmd: 'status', ids }, 5_000).catch(String)] as const));
    const open = [...new Set(seen.flatMap(([, s]) => (typeof s === 'string' ? [] : (s.open ?? []).map((o) => o.id))))];
    const named = ledger ? `\n${await ledger.explain(open)}` : '';
    throw new Error(`${String(error)}\n${JSON.stringify(Object.fromEntries(seen))}${named}`);
  }
}

const withPrefix = (label: string, fn: (prefix: string, nodes: NodeProcess[]) => Promise<void>) => withNodeProcesses(`cluster-rt-${label}`, fn);

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

test('random SIGKILLs and restarts lose nothing that was acknowledged', { timeout: 60_000 + FAULT_ROUNDS * 20_000 }, withPrefix('kill', async (prefix, spawned) => {
  const ttl = 800;
  const nodes = await startCluster(prefix, ttl, spawned);
  const submitter = nodes.get('a')!;
  const ledger = new PayloadLedger(redis, prefix, PARTITIONS);
  for (let round = 0; round < FAULT_ROUNDS; round++) {
    ledger.acknowledged((await submitter.send<Ids>({ cmd: 'submit', n: 120, ms: 30, tag: `r${round}` })).ids, `r${round}`, 'a');
    const victim = Math.random() < 0.5 ? 'b' : 'c';
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 300));
    await nodes.get(victim)!.kill();
    // Submitted while the victim is dead: its partitions are unowned until the lease expires.
    ledger.acknowledged((await submitter.send<Ids>({ cmd: 'submit', n: 40, ms: 30, tag: `r${round}-dead` })).ids, `r${round}-dead`, 'a');
    const restarted = new NodeProcess(prefix, victim, ttl);
    spawned.push(restarted);
    nodes.set(victim, restarted);
    await restarted.ready;
  }
  const acknowledged = ledger.ids();
  const waited = await waitAll(nodes, submitter, acknowledged, ledger);
  assert.equal(waited.results.length, acknowledged.length);
  assert.ok(waited.results.every((r) => typeof r.node === 'string'));
  const list = await starts(prefix);
  const lost = await ledger.neverStarted();
  assert.deepEqual(lost, [], `every acknowledged payload ran; the lost ones:\n${await ledger.explain(lost)}`);
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
  const homes = await redis.smembers(`${prefix}:c:{homes}`);
  assert.deepEqual(homes.map((h) => h.split('.')[0]).sort(), ['a', 'b'], 'c held nothing in its home, so it deleted it as it stopped');
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

test('a stop without drain aborts what runs, does not wait out the handover timeout for it, and the next owner runs it again', { timeout: 60_000 }, withPrefix('abort', async (prefix, spawned) => {
  const nodes = await startCluster(prefix, 1_000, spawned, ['a', 'b']);
  const a = nodes.get('a')!;
  const b = nodes.get('b')!;
  const owned = await settled(nodes);
  // Long handlers on b's partitions only, so b is running them when it stops.
  const { ids } = await a.send<Ids>({ cmd: 'submit', n: 8, ms: 1_500, tag: 'long' });
  const onB = ids.filter((id) => owned.get('b')!.includes(partitionOfId(id, PARTITIONS)!));
  assert.ok(onB.length > 0, 'some payloads are b\'s');
  for (const deadline = Date.now() + 10_000; !(await starts(prefix)).some(([node]) => node === 'b');) {
    assert.ok(Date.now() < deadline, 'b started one');
    await new Promise((r) => setTimeout(r, 20));
  }
  const stopping = Date.now();
  await b.stop(false);
  // The fixture's handover timeout is 10 s: a stop that waited for the aborted runs would take that long.
  assert.ok(Date.now() - stopping < 8_000, `b stopped in ${Date.now() - stopping} ms`);
  nodes.delete('b');
  const waited = await a.send<Waited>({ cmd: 'wait', ids });
  assert.equal(waited.results.length, ids.length);
  const list = await starts(prefix);
  const abortedOnB = new Set(list.filter(([node]) => node === 'b').map(([, id]) => id));
  const rerun = list.filter(([node, id]) => node === 'a' && abortedOnB.has(id));
  assert.ok(rerun.length > 0, 'what b was running when it stopped ran again at a');
  await a.stop(true);
}));


test('a node paused past its lease runs nothing it no longer owns, and nothing is lost', { timeout: 90_000 }, withPrefix('fencing', async (prefix, spawned) => {
  const ttl = 600;
  const nodes = await startCluster(prefix, ttl, spawned);
  const [a, b, c] = trio(nodes);
  const { ids } = await a.send<Ids>({ cmd: 'submit', n: 300, ms: 20, tag: 'f' });
  const ledger = new PayloadLedger(redis, prefix, PARTITIONS);
  ledger.acknowledged(ids, 'f', 'a');
  await new Promise((r) => setTimeout(r, 200));
  const pausedAt = Date.now();
  b.signal('SIGSTOP');
  // a and c take b's partitions once its leases run out.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [la, lc] = await Promise.all([a.send<{ local: number[] }>({ cmd: 'local' }), c.send<{ local: number[] }>({ cmd: 'local' })]);
    if (la.local.length + lc.local.length === PARTITIONS) break;
    assert.ok(Date.now() < deadline, 'the paused node\'s partitions were taken over');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  const wokeAt = Date.now();
  b.signal('SIGCONT');
  // b takes its partitions back once it wakes: what it had been granted before the pause must not
  // hold its slots forever, or the work queued there would never start.
  const waited = await waitAll(nodes, a, ids, ledger);
  assert.equal(waited.results.length, ids.length);
  const list = await starts(prefix);
  // Fencing: every start carries the token of the lease its node held for the partition (0: none).
  // A start under an older token than one already seen for that partition is a node acting on a
  // lease it had lost. Runs may repeat (what b was running when paused runs again at the new owner),
  // but each time under a newer token: at least once, never unowned.
  const newest = new Map<number, number>();
  const unowned = list.filter(([, id, token]) => {
    const partition = partitionOfId(id, PARTITIONS)!;
    if (Number(token) < (newest.get(partition) ?? 0)) return true;
    newest.set(partition, Number(token));
    return false;
  });
  // Each start says when it began (its handler's first line), so a failure tells a start recorded
  // late (begun before the pause) from one begun after b woke.
  const when = (at: string) => (Number(at) < pausedAt ? 'before the pause' : Number(at) < wokeAt ? 'during the pause' : `${Number(at) - wokeAt} ms after waking`);
  assert.deepEqual(unowned, [], `no start under a lease that had passed to another node:\n${unowned.map(([node, id, token, , , at = '0']) => `${node} ${id} token ${token}, begun ${when(at)}`).join('\n')}`);
  await settled(nodes);
  await Promise.all([a.stop(true), b.stop(true), c.stop(true)]);
}));
