// Cluster safety at the edges of a node's life, with node processes on a real Redis: one process
// per node id, one shape per cluster, and a node that wakes from a pause acts on nothing it lost.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { eventually, spawnTriage, within } from './admin-support.ts';
import { NodeIdentity } from '../src/cluster/identity.ts';
import { NodeProcess, withNodeProcesses } from './cluster-process.ts';
import { until as polled, withCluster } from './cluster-support.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';

const redis = new Redis(REDIS_URL);
after(() => redis.quit());

type Start = { node: string; id: string; token: number; tag: string; pid: number; at: number };

async function starts(prefix: string): Promise<Start[]> {
  return (await redis.lrange(`${prefix}:starts`, 0, -1)).map((line) => {
    const [node = '', id = '', token = '0', tag = '', pid = '0', at = '0'] = line.split(' ');
    return { node, id, token: Number(token), tag, pid: Number(pid), at: Number(at) };
  });
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  return eventually(what, probe, ms);
}

const cluster = (label: string, fn: (prefix: string, spawned: NodeProcess[]) => Promise<void>) => withNodeProcesses(`cluster-id-${label}`, fn);

test('triage start: a second process with a live node\'s id, or with another partition count, is refused with exit 2; a stopped node\'s id is free at once', { timeout: 60_000 }, async () => {
  const prefix = freshPrefix('cli-identity');
  const args = (nodeId: string, partitions = '4') => ['start', '--port', '0', '--partitions', partitions, '--cluster', '--redis', REDIS_URL, '--redis-prefix', prefix, '--node-id', nodeId, '--lease-ttl', '1000'];
  const first = spawnTriage(args('n1'));
  const others: Array<ReturnType<typeof spawnTriage>> = [];
  try {
    const [, url] = await first.waitFor(/admin page (http:\/\/127\.0\.0\.1:\d+\/)\n/);
    const owners = () => fetch(new URL('api/cluster', url)).then((r) => r.json() as Promise<{ owners: Array<{ partition: number; node: string; token: number }> }>);
    const before = await until('n1 to own every partition', 10_000, async () => ((await owners()).owners.length === 4 ? owners() : undefined));

    const twin = spawnTriage(args('n1'));
    others.push(twin);
    assert.equal((await within('the second n1 to give up', twin.exited, 15_000)).code, 2, twin.stderr());
    assert.match(twin.stderr(), /triage start: node id n1 is in use by a live process n1\.\S+ \(pid \d+\); give this node another --node-id \[NODE_ID_IN_USE\]/);
    // The live n1 went on undisturbed: the same leases, under the same tokens.
    assert.deepEqual((await owners()).owners.map((o) => [o.partition, o.node, o.token]), before.owners.map((o) => [o.partition, o.node, o.token]));

    const misshapen = spawnTriage(args('n2', '8'));
    others.push(misshapen);
    assert.equal((await within('the 8-partition node to give up', misshapen.exited, 15_000)).code, 2, misshapen.stderr());
    assert.match(misshapen.stderr(), new RegExp(`triage start: the cluster under prefix ${prefix} has 4 partitions, this node 8 \\(start it with --partitions 4\\) \\[CLUSTER_SHAPE_MISMATCH\\]`));
    assert.equal((await redis.zrange(`${prefix}:c:{members}:live`, '0', '-1')).join(), 'n1', 'neither refused node joined');

    first.child.kill('SIGTERM');
    assert.equal((await within('n1 to stop', first.exited)).code, 0, first.stderr());
    // A stopped node gives its id up: the next n1 starts without waiting for a lease to run out.
    const startedAt = Date.now();
    const again = spawnTriage(args('n1'));
    others.push(again);
    await again.waitFor(/admin page/);
    assert.ok(Date.now() - startedAt < 15_000);
    assert.equal(await redis.exists(`${prefix}:c:node:{node-n1}`), 1, 'the new n1 holds its identity');
    again.child.kill('SIGTERM');
    assert.equal((await within('the new n1 to stop', again.exited)).code, 0, again.stderr());
  } finally {
    first.kill();
    for (const other of others) other.kill();
    await dropPrefix(prefix);
  }
});

test('a node whose identity another process took while it was paused stops when it wakes, starting nothing', { timeout: 90_000 }, cluster('takeover', async (prefix, spawned) => {
  const ttl = 500;
  const a = new NodeProcess(prefix, 'a', ttl);
  const b = new NodeProcess(prefix, 'b', ttl);
  spawned.push(a, b);
  await within('a and b to start', Promise.all([a.ready, b.ready]), 30_000);
  const { ids } = await a.send<{ ids: string[] }>({ cmd: 'submit', n: 200, ms: 20, tag: 't' });
  b.signal('SIGSTOP');
  await until('a to take every partition', 10_000, async () => ((await a.send<{ local: number[] }>({ cmd: 'local' })).local.length === 12 ? true : undefined));
  // A supervisor starts b again while the old process is only paused.
  const successor = new NodeProcess(prefix, 'b', ttl);
  spawned.push(successor);
  await within('the new b to start (the old one\'s lease waited out)', successor.ready, 30_000);
  await until('the new b to serve partitions', 10_000, async () => ((await successor.send<{ local: number[] }>({ cmd: 'local' })).local.length > 0 ? true : undefined));
  const wokeAt = Date.now();
  b.signal('SIGCONT');
  assert.equal(await within('the old b to stop', b.exited, 15_000), 3, 'the old b stopped itself');
  const waited = await a.send<{ results: unknown[] }>({ cmd: 'wait', ids }, 30_000);
  assert.equal(waited.results.length, ids.length);
  const late = (await starts(prefix)).filter((s) => s.pid === b.pid && s.at >= wokeAt);
  assert.deepEqual(late, [], 'the old b started nothing after it woke');
  // It left the live set to its successor: b is still a member, and still serves its partitions.
  assert.ok((await redis.zscore(`${prefix}:c:{members}:live`, 'b')) !== null);
  assert.ok((await successor.send<{ local: number[] }>({ cmd: 'local' })).local.length > 0);
  await Promise.all([a.stop(true), successor.stop(true)]);
}));

test('a node paused past its home\'s lease stops when it wakes without starting a handler or taking a partition back', { timeout: 90_000 }, cluster('pause', async (prefix, spawned) => {
  const nodes = ['a', 'b', 'c'].map((name) => new NodeProcess(prefix, name, 400, 1_200));
  spawned.push(...nodes);
  const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  await within('the nodes to start', Promise.all(nodes.map((n) => n.ready)), 30_000);
  const { ids } = await a.send<{ ids: string[] }>({ cmd: 'submit', n: 400, ms: 20, tag: 'p' });
  await until('b to start work', 10_000, async () => ((await starts(prefix)).some((s) => s.node === 'b') ? true : undefined));
  const home = (await redis.smembers(`${prefix}:c:{homes}`)).find((h) => h.startsWith('b.'))!;
  b.signal('SIGSTOP');
  await until('b\'s home to be adopted', 20_000, async () => (['a', 'c'].includes((await redis.hget(`${prefix}:c:lease:{home-${home}}`, 'node')) ?? '') ? true : undefined));
  const tokens = async () => Object.fromEntries(await Promise.all(Array.from({ length: 12 }, async (_, p) => [p, await redis.hget(`${prefix}:c:lease:{partition-${p}}`, 'node')] as const)));
  const wokeAt = Date.now();
  b.signal('SIGCONT');
  assert.equal(await within('b to stop', b.exited, 15_000), 3, 'b stopped itself: its home was no longer its own');
  const late = (await starts(prefix)).filter((s) => s.node === 'b' && s.at >= wokeAt);
  assert.deepEqual(late, [], 'b started nothing after it woke');
  assert.ok(Object.values(await tokens()).every((node) => node !== 'b'), 'b took no partition back');
  const waited = await a.send<{ results: unknown[] }>({ cmd: 'wait', ids }, 30_000);
  assert.equal(waited.results.length, ids.length);
  await Promise.all([a.stop(true), c.stop(true)]);
}));

test('identity leases: a live holder is found out by its renewals, a takeover is reported, a dead holder is waited out', { timeout: 30_000 }, (t) => withCluster('identity-lease', async ({ keys, open }) => {
  const ttl = 400;
  const taken: string[] = [];
  const made: NodeIdentity[] = [];
  const identity = (incarnation: string) => {
    const created = new NodeIdentity({ client: open(), keys, nodeId: 'n1', incarnation, ttlMs: ttl, takenOver: (fault) => taken.push(`${incarnation}: ${fault.code}`) });
    made.push(created);
    return created;
  };
  // Whatever fails, no identity keeps renewing: a renewal timer left running would keep this file's process alive.
  t.after(() => Promise.all(made.map((held) => held.stop({ release: false }).catch(() => undefined))));
  const first = identity('n1.first');
  await first.claim();
  assert.equal(first.held(), true);
  let started = performance.now();
  await assert.rejects(identity('n1.twin').claim(), { code: 'NODE_ID_IN_USE', message: /node id n1 is in use by a live process n1\.first/ });
  const refusedMs = performance.now() - started;
  // Its lease runs out in Redis (as while it is paused) and another process takes the id: at its
  // next renewal the first finds the id taken and reports it, and acts as n1 no more.
  await open().del(keys.nodeLease('n1').lease);
  const second = identity('n1.second');
  await second.claim();
  await polled(() => taken.length > 0, 'the takeover to be reported');
  assert.deepEqual(taken, ['n1.first: NODE_ID_TAKEN_OVER']);
  assert.equal(first.held(), false);
  await first.stop({ release: true });
  assert.equal(second.held(), true, 'a taken-over process releases nothing');
  // A holder that stops renewing (a crash) is waited out: the next process gets the id once its lease ran out.
  await second.stop({ release: false });
  started = performance.now();
  const third = identity('n1.third');
  await third.claim();
  const restartMs = performance.now() - started;
  await third.stop({ release: true });
  assert.equal(await open().exists(keys.nodeLease('n1').lease), 0, 'released on a graceful stop');
  t.diagnostic(`identity (ttl ${ttl} ms): a live holder's twin refused after ${Math.round(refusedMs)} ms; a crashed holder's successor started after ${Math.round(restartMs)} ms`);
})());
