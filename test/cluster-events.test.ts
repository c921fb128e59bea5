// What one node of a cluster sees of work that runs on another (two nodes in one process, a real
// Redis): ending events reach every node; other event types travel only to nodes whose listeners
// want them; each node's metrics count its own partitions' payloads only; a workflow instance is
// found and waited for from any node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { homeOfId, partitionOfId } from '../src/core/ids.ts';
import { createRuntime, silentLogger, workflow, type PayloadEvent, type Runtime } from '../src/index.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';
import { until } from './cluster-support.ts';

const PARTITIONS = 4;

const steps = { work: (step: number) => step };
const twoSteps = workflow<{ n: number }, typeof steps>('two-steps')
  .step('first', { handler: 'work', input: ({ input }) => input.n })
  .step('second', { handler: 'work', after: ['first'], input: ({ results }) => results.first + 1 })
  .output(({ results }) => results.second);
const held = workflow<Record<string, never>, { hold: () => void }>('held').step('hold', { handler: 'hold', input: () => null }).output(() => null);

async function twoNodes(label: string, fn: (a: Runtime, b: Runtime, prefix: string) => Promise<void>): Promise<void> {
  const prefix = freshPrefix(`cluster-events-${label}`);
  const nodes = ['a', 'b'].map((node) => {
    const runtime = createRuntime({
      name: `events-${node}`, partitions: PARTITIONS, concurrency: 2, logger: silentLogger,
      cluster: { redis: { url: REDIS_URL, prefix }, nodeId: node, leaseTtlMs: 1_000 },
      metrics: { processMetrics: false },
    });
    runtime.handle('work', async (step: number, ctx) => {
      ctx.progress({ step });
      await new Promise((r) => setTimeout(r, 5));
      return step;
    });
    // Runs until cancelled (or 10 s).
    runtime.handle('hold', (_: unknown, ctx) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    }));
    runtime.workflows.register(twoSteps, held);
    return runtime;
  });
  try {
    await Promise.all(nodes.map((n) => n.ready()));
    await until(() => nodes.every((n) => n.cluster!.local().length === PARTITIONS / 2), 'two partitions each', 10_000);
    await fn(nodes[0]!, nodes[1]!, prefix);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await dropPrefix(prefix);
  }
}

/** Submits on `on` until `count` payloads landed on partitions served by `owner`; returns their ids. */
async function submitTo(on: Runtime, owner: Runtime, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) {
    const id = await on.submit({ type: 'work', data: i });
    if (owner.cluster!.local().includes(partitionOfId(id, PARTITIONS)!)) ids.push(id);
  }
  return ids;
}

test('started and progress events of payloads on another node reach a listener on the submitting node, marked with that node', { timeout: 30_000 }, () =>
  twoNodes('relay', async (a, b, prefix) => {
    // No listener anywhere: only ending events are relayed, and nothing is registered in Redis.
    const redis = new Redis(REDIS_URL);
    try {
      assert.deepEqual(await redis.hgetall(`${prefix}:c:{members}:events`), {});
      const seen: PayloadEvent[] = [];
      const off = [a.events.on('started', (e) => seen.push(e)), a.client('default').on('progress', (e) => seen.push(e))];
      // Listening and then submitting at once: the first events of these payloads are not missed.
      const ids = await submitTo(a, b, 3);
      await Promise.all(ids.map((id) => a.waitFor(id)));
      await until(() => ids.every((id) => seen.some((e) => e.id === id && e.type === 'progress')), 'progress of every payload', 5_000);
      for (const id of ids) {
        const mine = seen.filter((e) => e.id === id);
        assert.deepEqual(mine.map((e) => e.type).sort(), ['progress', 'started'], `events of ${id}`);
        assert.ok(mine.every((e) => e.node === 'b'), 'relayed events name the node whose partition emitted them');
      }
      assert.equal(await redis.hget(`${prefix}:c:{members}:events`, 'a'), JSON.stringify(['progress', 'started']), 'a\'s interest is in Redis');
      // Once the listeners are gone, b stops relaying them.
      for (const unsubscribe of off) unsubscribe();
      await until(async () => (await redis.hget(`${prefix}:c:{members}:events`, 'a')) === null, 'a\'s interest to be withdrawn', 5_000);
      await until(() => !b.cluster!.interest.relays('started'), 'b to stop relaying', 5_000);
    } finally {
      await redis.quit();
    }
  }));

test('each node\'s metrics count its own partitions\' payloads: the cluster-wide sum counts each once', { timeout: 30_000 }, () =>
  twoNodes('metrics', async (a, b) => {
    const ids = await a.submitMany(Array.from({ length: 16 }, (_, i) => ({ type: 'work', data: i })));
    await Promise.all(ids.map((id) => a.waitFor(id)));
    const ranOn = (runtime: Runtime) => ids.filter((id) => runtime.cluster!.local().includes(partitionOfId(id, PARTITIONS)!)).length;
    assert.ok(ranOn(a) > 0 && ranOn(b) > 0, 'both nodes ran some');
    const completed = async (runtime: Runtime) => {
      const { body } = await runtime.metrics.exposition();
      return body.split('\n').filter((line) => line.startsWith('triage_payloads_completed_total{')).reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    };
    // Every ending event reached both nodes (a waited on all of them); each counts only what it ran.
    assert.deepEqual([await completed(a), await completed(b)], [ranOn(a), ranOn(b)]);
  }));

test('a workflow instance started on one node is found and waited for on the other', { timeout: 30_000 }, () =>
  twoNodes('workflows', async (a, b) => {
    const id = await a.workflows.start(twoSteps, { n: 41 });
    assert.equal(b.workflows.get(id), undefined, 'b\'s own home does not run it');
    const seen = await b.workflows.find(id);
    assert.equal(seen?.id, id);
    assert.equal(seen?.workflow, 'two-steps');
    assert.equal(await b.workflows.waitFor(id), 42);
    assert.equal((await b.workflows.find(id))?.status, 'completed');
    await assert.rejects(b.workflows.waitFor('wf-nowhere'), (e: unknown) => (e as { code?: string }).code === 'UNKNOWN_WORKFLOW');
    assert.equal(await b.workflows.find('wf-nowhere'), undefined);
  }));

test('an instance id names the home that runs it: a lookup asks the node holding that home, not every node', { timeout: 30_000 }, () =>
  twoNodes('runner', async (a, b, prefix) => {
    const id = await a.workflows.start(twoSteps, { n: 1 });
    assert.equal(homeOfId(id), a.cluster!.home);
    assert.equal(await a.workflows.waitFor(id), 2);
    // A live member that never answers its mail: a lookup that asked every node would wait for it.
    const redis = new Redis(REDIS_URL);
    try {
      await redis.zadd(`${prefix}:c:{members}:live`, Date.now() + 60_000, 'silent');
      assert.equal((await b.workflows.find(id))?.status, 'completed');
      assert.equal(await b.workflows.find(`wf-forgotten@${a.cluster!.home}`), undefined, 'a, which holds that home, says it does not know it');
      assert.equal(await b.workflows.cancel(`wf-forgotten@${a.cluster!.home}`), false);
      // An id naming no held home is asked of every live node, and the silent one is not taken for "unknown".
      await assert.rejects(b.workflows.find('wf-nowhere'), (e: unknown) => (e as { code?: string }).code === 'CLUSTER_UNREACHABLE');
    } finally {
      await redis.zrem(`${prefix}:c:{members}:live`, 'silent');
      await redis.quit();
    }
  }));

test('a workflow instance running on one node is cancelled from the other', { timeout: 30_000 }, () =>
  twoNodes('cancel', async (a, b) => {
    const id = await a.workflows.start(held, {});
    await until(() => a.workflows.get(id)?.steps.some((s) => s.status === 'running') === true, 'its step to run', 5_000);
    const ended = a.workflows.waitFor(id).then(() => 'completed', (e: unknown) => (e as { code?: string }).code);
    assert.equal(await b.workflows.cancel(id), true);
    assert.equal(await ended, 'CANCELLED');
    assert.equal(a.workflows.get(id)?.status, 'cancelled');
    assert.equal(await b.workflows.cancel(id), false, 'it has ended');
    assert.equal(await b.workflows.cancel('wf-nowhere'), false);
  }));
