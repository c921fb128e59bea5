// The producer-only client against two node processes on a real Redis: it submits, looks up,
// waits for, cancels and listens, starts and follows workflow instances, and holds nothing itself.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { createClient, type PayloadEvent, type TriageClient } from '../src/index.ts';
import { ownerOf } from '../src/cluster/assignment.ts';
import { eventually, spawnTriage, within } from './admin-support.ts';
import { NodeProcess } from './cluster-process.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';

const redis = new Redis(REDIS_URL);
const prefix = freshPrefix('cluster-client');
const nodes = [new NodeProcess(prefix, 'a', 1_000), new NodeProcess(prefix, 'b', 1_000)];
const clients: TriageClient[] = [];
const open = async () => {
  const client = await createClient({ redis: { url: REDIS_URL, prefix } });
  clients.push(client);
  return client;
};

before(async () => {
  await within('the nodes to start', Promise.all(nodes.map((n) => n.ready)), 30_000);
  // Until each node holds what the assignment gives it, one of them may still hold every partition.
  await eventually('the partitions to settle', async () => {
    const holders = await Promise.all(Array.from({ length: 12 }, (_, p) => redis.hget(`${prefix}:c:lease:{partition-${p}}`, 'node')));
    return holders.every((node, p) => node === ownerOf(p, ['a', 'b'])) || undefined;
  }, 15_000);
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(nodes.map((n) => n.kill()));
  await dropPrefix(prefix);
  await redis.quit();
});

type Work = { node: string; tag: string };

test('submitted from a client, payloads run on the nodes that own their partitions; the client holds no partition and is no member', { timeout: 30_000 }, async () => {
  const client = await open();
  assert.equal(client.partitions, 12, 'the partition count recorded by the first node');
  const heard: PayloadEvent[] = [];
  const ofClient1: string[] = [];
  client.events.on('completed', (e) => heard.push(e));
  client.client('client-1').on('*', (e) => ofClient1.push(e.id));
  const one = await client.submit({ type: 'work', data: { ms: 5, tag: 'one' } });
  const many = await client.submitMany(Array.from({ length: 30 }, (_, i) => ({ type: 'work', clientId: `client-${i % 2}`, data: { ms: 5, tag: `m-${i}` } })));
  const results = await Promise.all([one, ...many].map((id) => client.waitFor<Work>(id)));
  assert.deepEqual(results.map((r) => r.tag), ['one', ...many.map((_, i) => `m-${i}`)]);
  assert.deepEqual([...new Set(results.map((r) => r.node))].sort(), ['a', 'b'], 'both nodes ran some');
  const view = await client.get(many[3]!);
  assert.equal(view?.status, 'completed');
  assert.deepEqual(view?.result, results[4]);
  assert.equal(await client.get('nope.0'), undefined);
  // Every ending is heard, and the per-client listener hears its own client's only.
  await within('every completion to be heard', (async () => { while (heard.length < 31) await new Promise((r) => setTimeout(r, 20)); })());
  assert.deepEqual(new Set(ofClient1), new Set(many.filter((_, i) => i % 2 === 1)));
  const owners = await Promise.all(Array.from({ length: 12 }, (_, p) => redis.hget(`${prefix}:c:lease:{partition-${p}}`, 'node')));
  assert.ok(owners.every((node) => node === 'a' || node === 'b'), 'every partition is a node\'s');
  assert.deepEqual((await redis.zrange(`${prefix}:c:{members}:live`, '0', '-1')).sort(), ['a', 'b']);
});

test('a client validates as the runtime does, refuses what needs a node, and cancels on the owner', { timeout: 30_000 }, async () => {
  const client = await open();
  await assert.rejects(client.submit({ type: 'work', priority: 99 as never, colour: 'red' } as never), (error: { code: string; fields: string[] }) => {
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.deepEqual(error.fields.sort(), ['colour', 'priority']);
    return true;
  });
  await assert.rejects(client.submit({ type: 'work', dependsOn: ['x.1'] }), /dependsOn needs a node/);
  assert.throws(() => client.events.on('started' as never, () => {}), /a client hears ending events only/);
  const slow = await client.submit({ type: 'work', data: { ms: 20_000, tag: 'slow' } });
  const waited = client.waitFor(slow);
  assert.equal(await client.cancel(slow), true);
  await assert.rejects(waited, { code: 'CANCELLED' });
  assert.equal(await client.cancel(slow), false, 'it had ended');
  await assert.rejects(client.cancel('nope.0'), { code: 'UNKNOWN_PAYLOAD' });
  // The same idempotency key from anywhere names the same payload.
  const [first, again] = [await client.submit({ type: 'work', idempotencyKey: 'k-1', data: { ms: 1, tag: 'k' } }), await client.submit({ type: 'work', idempotencyKey: 'k-1', data: { ms: 1, tag: 'k' } })];
  assert.equal(first, again);
  assert.throws(() => new (client.constructor as new (o: unknown) => unknown)({ redis: REDIS_URL, partitions: 4 }), { code: 'INVALID_OPTIONS' });
});

test('a client starts a workflow on a node, follows it wherever it runs, and cancels one', { timeout: 30_000 }, async () => {
  const client = await open();
  const id = await client.workflows.start('pipeline', { key: 'w' }, { clientId: 'pipelines' });
  assert.equal((await client.workflows.waitFor<Work>(id)).tag, 'w:sum');
  assert.equal((await client.workflows.get(id))?.status, 'completed');
  const long = await client.workflows.start('pipeline', { key: 'long', ms: 20_000 });
  assert.equal(await client.workflows.cancel(long), true);
  await assert.rejects(client.workflows.waitFor(long), { code: 'CANCELLED' });
  await assert.rejects(client.workflows.start('no-such-flow', {}), { code: 'UNKNOWN_WORKFLOW' });
});

test('no client without a cluster; a closed client refuses and its waits end', { timeout: 30_000 }, async () => {
  const empty = freshPrefix('cluster-client-empty');
  await assert.rejects(createClient({ redis: { url: REDIS_URL, prefix: empty } }), { code: 'CLUSTER_NOT_STARTED' });
  const client = await createClient({ redis: { url: REDIS_URL, prefix } });
  const slow = await client.submit({ type: 'work', data: { ms: 2_000, tag: 'closing' } });
  const waited = client.waitFor(slow);
  waited.catch(() => {}); // asserted below, once the client is closed
  await client.close();
  await assert.rejects(waited, { code: 'RUNTIME_STOPPED' });
  await assert.rejects(client.submit({ type: 'work' }), { code: 'RUNTIME_STOPPED' });
});

test('triage submit prints the id, and with --wait the result; a bad payload exits 2', { timeout: 30_000 }, async () => {
  const args = ['submit', '--redis', REDIS_URL, '--prefix', prefix, '--type', 'work'];
  const ok = spawnTriage([...args, '--data', '{"ms":5,"tag":"cli"}', '--priority', 'high', '--wait']);
  assert.equal((await within('triage submit --wait', ok.exited, 20_000)).code, 0, ok.stderr());
  const [id, result] = ok.stdout().trim().split('\n');
  assert.match(id!, /^\S+\.[0-9a-z]+$/);
  assert.equal((JSON.parse(result!) as Work).tag, 'cli');
  const bad = spawnTriage([...args, '--priority', '99']);
  assert.equal((await within('a bad submit', bad.exited, 20_000)).code, 2);
  assert.match(bad.stderr(), /triage submit: invalid payload: priority .* \[VALIDATION_FAILED\]/);
  const noJson = spawnTriage([...args, '--data', '{nope']);
  assert.equal((await within('a submit with bad JSON', noJson.exited, 20_000)).code, 2);
  assert.match(noJson.stderr(), /--data must be JSON/);
});
