// Recovery of the actors that are not partitions: the dependency graph and workflow instances
// (journalled) on a real Redis, the coordinator and the complexity analyzer (snapshotted).
// A "crash" abandons the first runtime without stopping it; a second one opens the same store.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRuntime, silentLogger, workflow, type CreateRuntimeOptions, type Runtime } from '../src/index.ts';
import { MemoryEngine } from '../src/persistence/memory.ts';
import { REDIS_URL, dropPrefix, freshPrefix } from './redis-support.ts';

const never = () => new Promise<never>(() => {});

/** Polls `check` until it holds (the abandoned runtime finishes its writes in the background). */
async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const handlers = { fetch: (n: number) => n, slow: (n: number) => n * 10, total: (n: number) => n + 1 };

const order = workflow<{ n: number }, typeof handlers>('order')
  .step('fetch', { handler: 'fetch', input: ({ input }) => input.n })
  .step('slow', { handler: 'slow', after: ['fetch'], input: ({ results }) => results.fetch })
  .step('total', { handler: 'total', after: ['slow'], input: ({ results }) => results.slow })
  .output(({ results }) => results.total);

describe('recovery of the dependency graph and workflow instances (Redis)', () => {
  test('a held dependent and a running workflow continue in the next process; finished steps do not run again', async () => {
    const prefix = freshPrefix('actors');
    const options: CreateRuntimeOptions = { partitions: 4, logger: silentLogger, redis: { url: REDIS_URL, prefix }, snapshotEvery: 2 };
    const runs = { fetch: 0, slow: 0, total: 0, dependent: 0 };
    let first: Runtime | undefined;
    let second: Runtime | undefined;
    try {
      first = createRuntime(options);
      first.handle('block', never); // running at the "crash"
      first.handle('job', () => void runs.dependent++);
      first.handle('fetch', (n: number) => (runs.fetch++, n));
      first.handle('slow', never);
      first.handle('total', (n: number) => (runs.total++, n + 1));
      const dependency = await first.submit({ type: 'block' });
      const dependent = await first.submit({ type: 'job', dependsOn: [dependency], priority: 'high' });
      const instance = await first.workflows.start(order, { n: 4 });
      await eventually(() => first?.workflows.get(instance)?.steps[1]?.status === 'running', 'the slow step to start');
      await first.idle();
      assert.equal((await first.get(dependent))?.status, 'waiting');

      second = createRuntime(options);
      second.handle('block', () => 'unblocked');
      second.handle('job', (_, ctx) => (runs.dependent++, ctx.dependencies));
      second.handle('fetch', (n: number) => (runs.fetch++, n));
      second.handle('slow', (n: number) => (runs.slow++, n * 10));
      second.handle('total', (n: number) => (runs.total++, n + 1));
      second.workflows.register(order);
      await second.ready();
      const deps = (await second.waitFor(dependent)) as Record<string, { status: string; result: unknown }>;
      assert.deepEqual(deps[dependency], { status: 'completed', result: 'unblocked' }, 'the dependent saw the rerun dependency complete');
      assert.equal(await second.workflows.waitFor(instance), 41);
      assert.deepEqual(runs, { fetch: 1, slow: 1, total: 1, dependent: 1 }, 'what had completed before the crash did not run again');
      assert.equal(second.workflows.get(instance)?.status, 'completed');
    } finally {
      await second?.stop();
      await first?.stop();
      await dropPrefix(prefix);
    }
  });

  test('an instance waits for its definition to be registered, then resumes', async () => {
    const engine = new MemoryEngine();
    const options: CreateRuntimeOptions = { partitions: 2, logger: silentLogger, persistence: engine };
    const first = createRuntime(options);
    first.handle('fetch', (n: number) => n);
    first.handle('slow', never);
    first.handle('total', (n: number) => n + 1);
    const instance = await first.workflows.start(order, { n: 2 });
    await eventually(() => first.workflows.get(instance)?.steps[1]?.status === 'running', 'the slow step to start');
    await first.idle();

    const second = createRuntime(options);
    second.handle('fetch', (n: number) => n);
    second.handle('slow', (n: number) => n * 10);
    second.handle('total', (n: number) => n + 1);
    await second.ready();
    assert.equal(second.workflows.get(instance), undefined, 'unknown until its definition is known');
    assert.equal(second.workflows.waitingForDefinition, 1);
    const result = second.workflows.waitFor(instance);
    second.workflows.register(order);
    assert.equal(await result, 21);
    assert.equal(second.workflows.waitingForDefinition, 0);
    await second.stop();
    await first.stop();
  });
});

describe('recovery of the coordinator and the complexity analyzer', () => {
  test("an operator's pin and throttle survive a crash; measurements start afresh", async () => {
    const engine = new MemoryEngine();
    const options: CreateRuntimeOptions = { partitions: 2, logger: silentLogger, persistence: engine };
    const first = createRuntime(options);
    await first.ready();
    first.coordinator?.pin('critical');
    first.setLowThrottle(7);
    await eventually(async () => {
      const saved = await engine.latestSnapshot('coordinator');
      const data = saved?.data as { pinned?: string; lowThrottle?: number } | undefined;
      return data?.pinned === 'critical' && data.lowThrottle === 7;
    }, 'the operator actions to be snapshotted');

    const second = createRuntime(options);
    await second.ready();
    const coordinator = second.coordinator;
    assert.ok(coordinator);
    await eventually(() => coordinator.pinned(), 'the pin to be restored');
    assert.equal(coordinator.level(), 'critical');
    assert.equal(coordinator.lowThrottle(), 7);
    assert.equal(second.stats().pool.lowThrottle, 7, 'the pool applies the restored throttle');
    assert.ok(coordinator.decisions().some((d) => d.action === 'pin'), 'the decision history carries over');
    coordinator.release();
    await second.stop();
    await first.stop();
  });

  test('observed costs survive a graceful restart', async () => {
    const engine = new MemoryEngine();
    const options: CreateRuntimeOptions = { partitions: 2, logger: silentLogger, persistence: engine };
    const first = createRuntime(options);
    first.handle('report', () => new Promise((r) => setTimeout(r, 5)));
    const ids = await first.submitMany(Array.from({ length: 20 }, () => ({ type: 'report', clientId: 'acme' })));
    await Promise.all(ids.map((id) => first.waitFor(id)));
    await eventually(() => first.suggestComplexity('acme', 'report').samples > 0, 'the analyzer to see the costs');
    const samples = first.suggestComplexity('acme', 'report').samples;
    await first.stop();

    const second = createRuntime(options);
    await second.ready();
    await eventually(() => second.suggestComplexity('acme', 'report').samples === samples, 'the averages to be restored');
    assert.ok(second.suggestComplexity('acme', 'report').averages.wallMs > 0);
    await second.stop();
  });
});
