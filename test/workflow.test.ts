import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError, NonRetryableError, workflow, WorkflowFailedError, type WorkflowEvent } from '../src/index.ts';
import { partitionOfId } from '../src/core/ids.ts';
import { deferred, setup, type Deferred } from './helpers.ts';

const workflowActors = (rt: ReturnType<typeof setup>['rt']) => rt.tree().filter((a) => a.kind === 'workflow').length;

describe('running workflows', () => {
  test('sequence, parallel fan-out and a fan-in join pass results on', async () => {
    const { rt } = setup();
    const calls: string[] = [];
    const handlers = {
      split: (text: string) => text.split(' '),
      upper: (word: string) => word.toUpperCase(),
      count: (words: readonly string[]) => words.length,
      join: (parts: { words: readonly string[]; count: number }) => `${parts.words.join('-')}/${parts.count}`,
    };
    for (const [type, fn] of Object.entries(handlers)) rt.handle(type, (d: never) => (calls.push(type), (fn as (d: never) => unknown)(d)));
    const def = workflow<{ text: string }, typeof handlers>('words')
      .step('split', { handler: 'split', input: ({ input }) => input.text })
      .each('upper', { handler: 'upper', after: ['split'], over: ({ results }) => results.split, input: ({ item }) => item })
      .step('count', { handler: 'count', after: ['split'], input: ({ results }) => results.split })
      .step('join', { handler: 'join', after: ['upper', 'count'], input: ({ results }) => ({ words: results.upper, count: results.count }) })
      .output(({ results }) => results.join);
    const id = await rt.workflows.start(def, { text: 'a bb ccc' });
    assert.equal(await rt.workflows.waitFor(id), 'A-BB-CCC/3');
    assert.equal(calls[0], 'split');
    assert.equal(calls.at(-1), 'join');
    assert.equal(calls.filter((c) => c === 'upper').length, 3);
    const view = rt.workflows.get(id);
    assert.equal(view?.status, 'completed');
    assert.deepEqual(view?.steps.map((s) => [s.name, s.status, s.items]), [['split', 'completed', 1], ['upper', 'completed', 3], ['count', 'completed', 1], ['join', 'completed', 1]]);
    await rt.stop();
  });

  test('a fan-out keeps item order whatever order the items finish in', async () => {
    const { rt } = setup();
    const gates = new Map<number, Deferred<void>>();
    rt.handle('slow', async (n: number) => {
      const gate = deferred<void>();
      gates.set(n, gate);
      await gate.promise;
      return n * 10;
    });
    const def = workflow<number[], { slow: (n: number) => Promise<number> }>('order')
      .each('all', { handler: 'slow', over: ({ input }) => input, input: ({ item }) => item })
      .output(({ results }) => results.all);
    const id = await rt.workflows.start(def, [1, 2, 3]);
    await rt.idle();
    for (const n of [3, 1, 2]) {
      gates.get(n)?.resolve();
      await rt.idle();
    }
    assert.deepEqual(await rt.workflows.waitFor(id), [10, 20, 30]);
    await rt.stop();
  });

  test('conditional branches: the step whose condition fails is skipped and the join sees undefined', async () => {
    const { rt } = setup();
    const ran: string[] = [];
    const handlers = {
      express: (order: string) => (ran.push('express'), `express:${order}`),
      standard: (order: string) => (ran.push('standard'), `standard:${order}`),
      label: (shipping: string) => `label(${shipping})`,
    };
    for (const [type, fn] of Object.entries(handlers)) rt.handle(type, fn as never);
    const def = workflow<{ order: string; express: boolean }, typeof handlers>('ship')
      .step('fast', { handler: 'express', when: ({ input }) => input.express, input: ({ input }) => input.order })
      .step('slow', { handler: 'standard', when: ({ input }) => !input.express, input: ({ input }) => input.order })
      .step('label', { handler: 'label', after: ['fast', 'slow'], input: ({ results }) => results.fast ?? results.slow ?? 'none' })
      .output(({ results }) => results.label);
    const a = await rt.workflows.start(def, { order: 'o1', express: true });
    assert.equal(await rt.workflows.waitFor(a), 'label(express:o1)');
    const b = await rt.workflows.start(def, { order: 'o2', express: false });
    assert.equal(await rt.workflows.waitFor(b), 'label(standard:o2)');
    assert.deepEqual(ran, ['express', 'standard']);
    assert.deepEqual(rt.workflows.get(a)?.steps.map((s) => s.status), ['completed', 'skipped', 'completed']);
    await rt.stop();
  });

  test('an optional step that fails leaves undefined and the workflow goes on', async () => {
    const { rt } = setup();
    rt.handle('bad', () => {
      throw new NonRetryableError('nope');
    });
    rt.handle('echo', (v: unknown) => v);
    const def = workflow<null, { bad: () => number; echo: (v: number | undefined) => number | undefined }>('opt')
      .step('maybe', { handler: 'bad', optional: true, input: () => undefined as never })
      .step('after', { handler: 'echo', after: ['maybe'], input: ({ results }) => results.maybe })
      .output(({ results }) => ({ after: results.after ?? 'gap' }));
    const id = await rt.workflows.start(def, null);
    assert.deepEqual(await rt.workflows.waitFor(id), { after: 'gap' });
    const maybe = rt.workflows.get(id)?.steps[0];
    assert.equal(maybe?.status, 'failed');
    assert.equal(maybe?.error?.message, 'nope');
    await rt.stop();
  });

  test('all steps of an instance share one partition (their shard key is the instance id)', async () => {
    const { rt } = setup({ partitions: 16 });
    rt.handle('noop', (n: number) => n);
    const def = workflow<number[], { noop: (n: number) => number }>('fan')
      .each('items', { handler: 'noop', over: ({ input }) => input, input: ({ item }) => item })
      .step('last', { handler: 'noop', after: ['items'], input: () => 0 })
      .output(() => null);
    const partitionsOf = async () => {
      const id = await rt.workflows.start(def, Array.from({ length: 20 }, (_, i) => i));
      await rt.workflows.waitFor(id);
      const ids = rt.workflows.get(id)?.steps.flatMap((s) => s.payloads) ?? [];
      assert.equal(ids.length, 21);
      return new Set(ids.map((p) => partitionOfId(p, 16)));
    };
    const seen = new Set<number | undefined>();
    for (let i = 0; i < 6; i++) {
      const partitions = await partitionsOf();
      assert.equal(partitions.size, 1, 'one partition per instance');
      seen.add([...partitions][0]);
    }
    assert.ok(seen.size > 1, 'different instances land on different partitions');
    await rt.stop();
  });

  test('events report progress; the instance actor lives only while the instance runs', async () => {
    const { rt } = setup();
    const gate = deferred<void>();
    rt.handle('wait', () => gate.promise.then(() => 'done'));
    const events: WorkflowEvent[] = [];
    rt.workflows.on('*', (e) => events.push(e));
    const def = workflow<null, { wait: () => Promise<string> }>('one')
      .step('only', { handler: 'wait', input: () => undefined as never })
      .output(({ results }) => results.only);
    const id = await rt.workflows.start(def, null);
    await rt.idle();
    assert.equal(workflowActors(rt), 1);
    assert.deepEqual(rt.workflows.list().map((v) => [v.id, v.status]), [[id, 'running']]);
    gate.resolve();
    assert.equal(await rt.workflows.waitFor(id), 'done');
    await rt.idle();
    assert.equal(workflowActors(rt), 0, 'retired when it ended');
    assert.deepEqual(events.map((e) => [e.type, e.step, e.done, e.total]), [
      ['started', undefined, 0, 1], ['step-started', 'only', 0, 1], ['step-completed', 'only', 1, 1], ['completed', undefined, 1, 1],
    ]);
    assert.equal(events.at(-1)?.result, 'done');
    assert.deepEqual(rt.workflows.list().map((v) => [v.id, v.status, v.result]), [[id, 'completed', 'done']]);
    const admin = rt.admin.sources.workflows(10);
    assert.equal(admin.total, 1);
    assert.deepEqual(admin.instances[0]?.steps, { total: 1, completed: 1, running: 0, failed: 0 });
    assert.deepEqual((await rt.admin.sources.workflow(id))?.steps.map((s) => [s.name, s.status]), [['only', 'completed']]);
    assert.equal(await rt.workflows.waitFor(id), 'done', 'waitFor after the end');
    await assert.rejects(rt.workflows.waitFor('wf-nope'), { code: 'UNKNOWN_WORKFLOW' });
    await rt.stop();
  });

  test('an input mapping that throws fails the workflow naming the step and field', async () => {
    const { rt } = setup();
    rt.handle('noop', (n: number) => n);
    const def = workflow<{ items?: number[] }, { noop: (n: number) => number }>('mapping')
      .step('first', { handler: 'noop', input: () => 1 })
      .each('each', { handler: 'noop', after: ['first'], over: ({ input }) => (input.items as number[]).map((n) => n), input: ({ item }) => item })
      .output(() => null);
    const id = await rt.workflows.start(def, {});
    const error = await rt.workflows.waitFor(id).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal(error.step, 'each');
    assert.equal(error.failure.code, 'STEP_INPUT_FAILED');
    assert.match(error.message, /step "each" over threw/);
    await rt.stop();
  });
});

describe('compensation and cancellation', () => {
  test('a failure undoes completed steps one at a time, latest completion first', async () => {
    const { rt } = setup();
    const log: string[] = [];
    const gates = new Map<string, Deferred<void>>();
    const gated = (name: string) => {
      const gate = deferred<void>();
      gates.set(name, gate);
      return gate.promise;
    };
    rt.handle('work', async (name: string) => {
      await gated(name);
      log.push(`did ${name}`);
      return name;
    });
    rt.handle('undo', async (name: string) => {
      log.push(`undo ${name} start`);
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`undo ${name} end`);
      if (name === 'b2') throw new NonRetryableError('cannot undo b2');
      return true;
    }, { retries: 0 });
    rt.handle('fail', () => {
      throw new NonRetryableError('payment declined');
    });
    const def = workflow<null, { work: (n: string) => Promise<string>; undo: (n: string) => Promise<boolean>; fail: () => never }>('saga')
      .step('a', { handler: 'work', input: () => 'a', compensate: { handler: 'undo', input: ({ result }) => result } })
      .each('b', { handler: 'work', after: ['a'], over: () => ['b1', 'b2'], input: ({ item }) => item, compensate: { handler: 'undo', input: ({ item }) => item } })
      .step('plain', { handler: 'work', after: ['a'], input: () => 'plain' })
      .step('c', { handler: 'fail', after: ['b', 'plain'], input: () => undefined as never })
      .output(() => null);
    const id = await rt.workflows.start(def, null);
    const release = async (name: string) => {
      while (!gates.has(name)) await rt.idle();
      gates.get(name)?.resolve();
      await rt.idle();
    };
    for (const name of ['a', 'b2', 'plain', 'b1']) await release(name);
    const error = await rt.workflows.waitFor(id).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal(error.step, 'c');
    assert.match(error.message, /payment declined/);
    assert.deepEqual(Object.keys(error.compensationFailures), ['b']);
    assert.deepEqual(log, [
      'did a', 'did b2', 'did plain', 'did b1',
      'undo b1 start', 'undo b1 end', 'undo b2 start', 'undo b2 end', 'undo a start', 'undo a end',
    ]);
    assert.deepEqual(rt.workflows.get(id)?.steps.map((s) => [s.name, s.status]), [['a', 'compensated'], ['b', 'compensation-failed'], ['plain', 'completed'], ['c', 'failed']]);
    await rt.stop();
  });

  test('cancel mid-workflow cancels outstanding steps, skips pending ones and compensates', async () => {
    const { rt } = setup();
    const log: string[] = [];
    let running: AbortSignal | undefined;
    rt.handle('quick', (n: string) => (log.push(`quick ${n}`), n));
    rt.handle('hang', (_: null, ctx) => {
      running = ctx.signal;
      return new Promise(() => {});
    });
    rt.handle('undo', (n: string) => (log.push(`undo ${n}`), true));
    const def = workflow<null, { quick: (n: string) => string; hang: () => Promise<never>; undo: (n: string) => boolean }>('cancel')
      .step('one', { handler: 'quick', input: () => 'one', compensate: { handler: 'undo', input: ({ result }) => result } })
      .step('two', { handler: 'hang', after: ['one'], input: () => undefined as never })
      .step('three', { handler: 'quick', after: ['two'], input: () => 'three' })
      .output(() => 'never');
    const id = await rt.workflows.start(def, null);
    while (!running) await rt.idle();
    const twoId = rt.workflows.get(id)?.steps[1]?.payloads[0] as string;
    assert.equal(await rt.workflows.cancel(id), true);
    await assert.rejects(rt.workflows.waitFor(id), CancelledError);
    assert.equal(running.aborted, true, 'the running step was cancelled');
    assert.equal((await rt.get(twoId))?.status, 'cancelled');
    assert.deepEqual(log, ['quick one', 'undo one']);
    const view = rt.workflows.get(id);
    assert.equal(view?.status, 'cancelled');
    assert.deepEqual(view?.steps.map((s) => s.status), ['compensated', 'cancelled', 'pending']);
    assert.equal(await rt.workflows.cancel(id), false, 'already ended');
    await rt.stop();
  });

  test('a step payload cancelled from outside fails the workflow', async () => {
    const { rt } = setup();
    rt.handle('hang', () => new Promise(() => {}));
    const def = workflow<null, { hang: () => Promise<never> }>('external')
      .step('wait', { handler: 'hang', input: () => undefined as never })
      .output(() => null);
    const id = await rt.workflows.start(def, null);
    let payload: string | undefined;
    while (!(payload = rt.workflows.get(id)?.steps[0]?.payloads[0])) await rt.idle();
    assert.equal(await rt.cancel(payload), true);
    const error = await rt.workflows.waitFor(id).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal(error.failure.code, 'CANCELLED');
    await rt.stop();
  });
});
