import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DependencyFailedError, NonRetryableError, PayloadFailedError, SkippedError, ValidationError, type DependencyOutcomes } from '../src/index.ts';
import { deferred, recordEvents, setup, totals } from './helpers.ts';

const graphProcessed = (rt: ReturnType<typeof setup>['rt']) => rt.tree().find((a) => a.kind === 'dependency-graph')?.processed ?? -1;

describe('dependsOn', () => {
  test('a dependent waits for its dependency and reads its result from ctx.dependencies', async () => {
    const { rt } = setup();
    const gate = deferred<void>();
    const seen: DependencyOutcomes[] = [];
    rt.handle('first', async () => {
      await gate.promise;
      return { rows: 3 };
    });
    rt.handle('second', (d: string, ctx) => {
      seen.push(ctx.dependencies);
      return `${d} after ${Object.keys(ctx.dependencies).length}`;
    });
    const a = await rt.submit({ type: 'first' });
    const b = await rt.submit({ type: 'second', data: 'b', dependsOn: [a] });
    await rt.idle();
    assert.equal((await rt.get(b))?.status, 'waiting');
    assert.equal(seen.length, 0, 'not released while its dependency runs');
    gate.resolve();
    assert.equal(await rt.waitFor(b), 'b after 1');
    assert.deepEqual(seen, [{ [a]: { status: 'completed', result: { rows: 3 } } }]);
    await rt.stop();
  });

  test('a diamond: the join runs once, after both branches, with both results', async () => {
    const { rt } = setup();
    const order: string[] = [];
    rt.handle('node', (name: string, ctx) => {
      order.push(name);
      return { name, saw: Object.values(ctx.dependencies).map((o) => (o.result as { name: string }).name).sort() };
    });
    const ids = await rt.submitMany([
      { type: 'node', data: 'join', ref: 'd', dependsOn: ['b', 'c'] },
      { type: 'node', data: 'left', ref: 'b', dependsOn: ['a'] },
      { type: 'node', data: 'right', ref: 'c', dependsOn: ['a'] },
      { type: 'node', data: 'root', ref: 'a' },
    ]);
    assert.deepEqual(await rt.waitFor(ids[0] as string), { name: 'join', saw: ['left', 'right'] });
    assert.equal(order.length, 4);
    assert.equal(order[0], 'root');
    assert.equal(order[3], 'join');
    await rt.stop();
  });

  test('a dependency that already completed releases the dependent at once', async () => {
    const { rt } = setup();
    rt.handle('job', (n: number, ctx) => n + Object.values(ctx.dependencies).reduce((sum, o) => sum + (o.result as number), 0));
    const a = await rt.submit({ type: 'job', data: 1 });
    assert.equal(await rt.waitFor(a), 1);
    const b = await rt.submit({ type: 'job', data: 10, dependsOn: [a] });
    assert.equal(await rt.waitFor(b), 11);
    await rt.stop();
  });

  test('payloads without dependsOn never pass through the dependency graph', async () => {
    const { rt } = setup();
    rt.handle('job', () => 1);
    await rt.ready();
    const before = graphProcessed(rt);
    const ids = await rt.submitMany(Array.from({ length: 50 }, () => ({ type: 'job' })));
    await rt.submit({ type: 'job', dependsOn: [] });
    await Promise.all(ids.map((id) => rt.waitFor(id)));
    await rt.idle();
    assert.equal(before, 0);
    assert.equal(graphProcessed(rt), 0);
    await rt.stop();
  });

  test('released dependents enter even a full tier: they were accepted already', async () => {
    const { rt } = setup({ concurrency: 1, partitions: 1, tierCapacity: { medium: 1 } });
    const gate = deferred<void>();
    rt.handle('block', () => gate.promise);
    rt.handle('job', () => 'ran');
    const block = await rt.submit({ type: 'block', priority: 'high' });
    const dependents = await rt.submitMany([0, 1, 2].map(() => ({ type: 'job', dependsOn: [block] })));
    gate.resolve();
    assert.deepEqual(await Promise.all(dependents.map((id) => rt.waitFor(id))), ['ran', 'ran', 'ran']);
    await rt.stop();
  });
});

describe('bad dependencies are rejected at submit and nothing is enqueued', () => {
  test('an unknown dependency id names the field', async () => {
    const { rt } = setup();
    rt.handle('job', () => 1);
    const error = await rt.submitMany([
      { type: 'job', ref: 'ok' },
      { type: 'job', dependsOn: ['ok', 'zzz.0'] },
    ]).then(() => assert.fail('should reject'), (e: unknown) => e);
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.fields, ['payloads[1].dependsOn[1]']);
    assert.match(error.message, /zzz\.0.*never submitted/);
    await rt.idle();
    assert.equal(totals(rt).accepted, 0, 'not even the batch payload without dependencies');
    await rt.stop();
  });

  test('a cycle, a self-dependency and a string that is neither id nor ref are all listed at once', async () => {
    const { rt } = setup();
    rt.handle('job', () => 1);
    const error = await rt.submitMany([
      { type: 'job', ref: 'a', dependsOn: ['c'] },
      { type: 'job', ref: 'b', dependsOn: ['a'] },
      { type: 'job', ref: 'c', dependsOn: ['b'] },
      { type: 'job', ref: 'self', dependsOn: ['self'] },
      { type: 'job', ref: 'free', dependsOn: ['no such ref'] },
      { type: 'job', ref: 'a' },
    ]).then(() => assert.fail('should reject'), (e: unknown) => e);
    assert.ok(error instanceof ValidationError);
    const byField = new Map(error.problems.map((p) => [p.field, p.problem]));
    assert.match(byField.get('payloads[0].dependsOn') ?? '', /cycle: "a" → "c" → "b" → "a"/);
    assert.match(byField.get('payloads[3].dependsOn') ?? '', /cycle: "self" → "self"/);
    assert.match(byField.get('payloads[4].dependsOn[0]') ?? '', /neither a payload id nor the ref/);
    assert.match(byField.get('payloads[5].ref') ?? '', /repeats "a"/);
    await rt.idle();
    assert.equal(totals(rt).accepted, 0);
    assert.equal(rt.tree().find((a) => a.kind === 'dependency-graph')?.summary.waiting, 0);
    await rt.stop();
  });

  test('field problems of dependsOn and its policy', async () => {
    const { rt } = setup();
    rt.handle('job', () => 1);
    const error = await rt.submit({ type: 'job', dependsOn: ['x.0', 'x.0', 7 as never], onDependencyFailure: 'explode' as never, idempotencyKey: 'k' })
      .then(() => assert.fail('should reject'), (e: unknown) => e);
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.fields.sort(), ['dependsOn[1]', 'dependsOn[2]', 'onDependencyFailure']);
    await rt.stop();
  });
});

describe('failure policies', () => {
  const failing = () => {
    const { rt } = setup();
    rt.handle('bad', () => {
      throw new NonRetryableError('broken');
    });
    rt.handle('job', (name: string, ctx) => ({ name, deps: ctx.dependencies }));
    return rt;
  };

  test('fail: dependents fail with DependencyFailedError naming the failed id, and it cascades', async () => {
    const rt = failing();
    const events = recordEvents(rt);
    const [bad, child, grandchild] = await rt.submitMany([
      { type: 'bad', ref: 'bad' },
      { type: 'job', data: 'child', ref: 'child', dependsOn: ['bad'] },
      { type: 'job', data: 'grandchild', dependsOn: ['child'], onDependencyFailure: 'fail' },
    ]) as [string, string, string];
    const error = await rt.waitFor(child).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(error instanceof DependencyFailedError);
    assert.ok(error instanceof PayloadFailedError);
    assert.equal(error.code, 'DEPENDENCY_FAILED');
    assert.equal(error.dependency, bad);
    assert.match(error.message, /broken/);
    const grand = await rt.waitFor(grandchild).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(grand instanceof DependencyFailedError);
    assert.equal(grand.dependency, child, 'names its own dependency, which failed because of bad');
    const view = await rt.get(child);
    assert.equal(view?.status, 'failed');
    assert.equal(view?.error?.code, 'DEPENDENCY_FAILED');
    assert.equal(events.of('started', child).length, 0, 'never ran');
    assert.equal(events.of('failed', grandchild).length, 1);
    await rt.stop();
  });

  test('skip: the dependent is skipped; its own dependents see a skipped dependency', async () => {
    const rt = failing();
    const [, skipped, after] = await rt.submitMany([
      { type: 'bad', ref: 'bad' },
      { type: 'job', ref: 'skipped', dependsOn: ['bad'], onDependencyFailure: 'skip' },
      { type: 'job', data: 'after', dependsOn: ['skipped'], onDependencyFailure: 'continue' },
    ]) as [string, string, string];
    await assert.rejects(rt.waitFor(skipped), SkippedError);
    assert.equal((await rt.get(skipped))?.status, 'skipped');
    const result = await rt.waitFor<{ deps: DependencyOutcomes }>(after);
    assert.equal(result.deps[skipped]?.status, 'skipped');
    await rt.stop();
  });

  test('continue: the dependent runs once every dependency has ended and sees which failed', async () => {
    const rt = failing();
    const [bad, good, both] = await rt.submitMany([
      { type: 'bad', ref: 'bad' },
      { type: 'job', data: 'good', ref: 'good' },
      { type: 'job', data: 'both', dependsOn: ['bad', 'good'], onDependencyFailure: 'continue' },
    ]) as [string, string, string];
    const result = await rt.waitFor<{ deps: DependencyOutcomes }>(both);
    assert.equal(result.deps[bad]?.status, 'failed');
    assert.equal(result.deps[bad]?.error?.message, 'broken');
    assert.deepEqual(result.deps[good], { status: 'completed', result: { name: 'good', deps: {} } });
    await rt.stop();
  });

  test('a dependency that had already failed before the submit ends the dependent at once', async () => {
    const rt = failing();
    const bad = await rt.submit({ type: 'bad' });
    await assert.rejects(rt.waitFor(bad));
    const child = await rt.submit({ type: 'job', dependsOn: [bad] });
    await assert.rejects(rt.waitFor(child), DependencyFailedError);
    await rt.stop();
  });

  test('cancelling a dependency or a waiting payload ends what depends on it', async () => {
    const { rt } = setup({ concurrency: 1 });
    const gate = deferred<void>();
    rt.handle('slow', () => gate.promise);
    rt.handle('job', () => 'ran');
    const [slow, waiting, downstream] = await rt.submitMany([
      { type: 'slow', ref: 'slow' },
      { type: 'job', ref: 'waiting', dependsOn: ['slow'] },
      { type: 'job', dependsOn: ['waiting'] },
    ]) as [string, string, string];
    const other = await rt.submit({ type: 'job', dependsOn: [slow], onDependencyFailure: 'skip' });
    assert.equal(await rt.cancel(waiting), true, 'a held payload can be cancelled');
    assert.equal((await rt.get(waiting))?.status, 'cancelled');
    const error = await rt.waitFor(downstream).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(error instanceof DependencyFailedError);
    assert.match(error.message, /cancelled/);
    assert.equal(await rt.cancel(slow), true);
    await assert.rejects(rt.waitFor(other), SkippedError);
    assert.equal(await rt.cancel(waiting), false, 'already ended');
    gate.resolve();
    await rt.stop();
  });
});

test('a released dependent keeps every field of its payload, shard key included', async () => {
  const { withDependencies } = await import('../actors/dependency-graph/state.ts');
  const payload = {
    id: 'a.0', type: 't', data: { n: 1 }, clientId: 'c', priority: 7, complexity: 3, submittedAt: 10, runAt: 20, deadline: 30,
    idempotencyKey: undefined, timeout: 40, retries: 2, backoff: { initialMs: 5 }, tags: ['x'], dependencies: undefined, shardKey: 'order-9', dedupe: undefined, concurrencyKey: undefined,
  };
  const outcomes: DependencyOutcomes = { 'b.0': { status: 'completed', result: 1 } };
  const released = withDependencies(payload, outcomes);
  assert.deepEqual(released, { ...payload, dependencies: outcomes });
  assert.deepEqual(Object.keys(released).sort(), Object.keys(payload).sort(), 'same fields: one hidden class for every payload');
});
