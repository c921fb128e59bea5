import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PAYLOAD_EVENTS, PayloadFailedError, RuntimeStoppedError, TriageError, type PayloadEvent } from '../src/index.ts';
import { deferred, processedByPartition, recordEvents, setup, totals, track } from './helpers.ts';

describe('submit / get / waitFor', () => {
  test('get reports status, tier, attempts, timestamps and the result', async () => {
    const { rt, clock } = setup({ concurrency: 1 });
    const gate = deferred<void>();
    rt.handle('job', async (d: { x: number }) => {
      await gate.promise;
      return { doubled: d.x * 2 };
    });
    const t0 = clock.now();
    const first = await rt.submit({ type: 'job', data: { x: 1 }, priority: 'high', clientId: 'acme' });
    const second = await rt.submit({ type: 'job', data: { x: 2 }, priority: 3, complexity: 4 });
    await rt.idle();
    const running = await rt.get(first);
    assert.equal(running?.id, first);
    assert.equal(running?.type, 'job');
    assert.equal(running?.clientId, 'acme');
    assert.equal(running?.status, 'running');
    assert.equal(running?.tier, 'high');
    assert.equal(running?.attempts, 1);
    assert.equal(running?.submittedAt, t0);
    assert.equal(running?.startedAt, t0);
    assert.equal(running?.finishedAt, undefined);
    const queued = await rt.get(second);
    assert.equal(queued?.status, 'queued');
    assert.equal(queued?.tier, 'low');
    assert.equal(queued?.attempts, 0);
    assert.equal(queued?.complexity, 4);
    assert.equal(queued?.clientId, 'default');
    clock.advance(250);
    gate.resolve();
    assert.deepEqual(await rt.waitFor(first), { doubled: 2 });
    const done = await rt.get(first);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.finishedAt, t0 + 250);
    assert.deepEqual(done?.result, { doubled: 2 });
    assert.equal(done?.error, undefined);
    assert.deepEqual(await rt.waitFor(second), { doubled: 4 }, 'waitFor after completion resolves too');
    assert.equal(await rt.get('nope'), undefined);
    assert.equal(await rt.get('abc.zz'), undefined);
    await assert.rejects(rt.waitFor('abc.0'), { code: 'UNKNOWN_PAYLOAD' });
    await rt.stop();
  });

  test('waitFor rejects with PayloadFailedError carrying the code; get shows the error', async () => {
    const { rt } = setup();
    rt.handle('bad', () => {
      throw new Error('broken');
    }, { retries: 0 });
    const id = await rt.submit({ type: 'bad' });
    const error = await rt.waitFor(id).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(error instanceof PayloadFailedError);
    assert.equal(error.code, 'HANDLER_FAILED');
    assert.equal(error.id, id);
    assert.match(error.message, /broken/);
    assert.deepEqual((await rt.get(id))?.error, { code: 'HANDLER_FAILED', message: 'broken', name: 'Error' });
    await assert.rejects(rt.waitFor(id), (e: unknown) => e instanceof PayloadFailedError && e.code === 'HANDLER_FAILED');
    await rt.stop();
  });
});

describe('events', () => {
  test('every lifecycle event is published, globally by type and with *', async () => {
    const { rt, clock } = setup({ concurrency: 1, partitions: 1, tierCapacity: { medium: 1, low: 1 }, overflow: 'drop-lowest' });
    const byType = new Map<string, PayloadEvent[]>();
    for (const type of PAYLOAD_EVENTS) rt.events.on(type, (e) => byType.set(type, [...(byType.get(type) ?? []), e]));
    const star = recordEvents(rt);
    const gate = deferred<void>();
    let calls = 0;
    rt.handle('job', async (d: string, ctx) => {
      if (d === 'block') return gate.promise;
      ctx.progress(1);
      if (d === 'flaky' && ++calls === 1) throw new Error('again');
      if (d === 'fail') throw new Error('no');
      return d;
    }, { backoff: { initialMs: 10 } });
    const block = await rt.submit({ type: 'job', data: 'block', priority: 'high' });
    await rt.idle();
    const low = await rt.submit({ type: 'job', data: 'x', priority: 'low' });
    await rt.submit({ type: 'job', data: 'y1', priority: 'medium' });
    await rt.submit({ type: 'job', data: 'y2', priority: 'medium' }); // medium is full: evicts `low`
    const cancelled = await rt.submit({ type: 'job', data: 'z', priority: 'high' });
    await rt.cancel(cancelled);
    gate.resolve();
    await rt.idle();
    const flaky = await rt.submit({ type: 'job', data: 'flaky' });
    const fail = await rt.submit({ type: 'job', data: 'fail', retries: 0 });
    await rt.idle();
    clock.advance(10);
    await rt.idle();
    const seq = (id: string) => star.all.filter((e) => e.id === id).map((e) => e.type);
    assert.deepEqual(seq(flaky), ['accepted', 'started', 'progress', 'retrying', 'started', 'progress', 'completed']);
    assert.deepEqual(seq(fail), ['accepted', 'started', 'progress', 'failed']);
    assert.deepEqual(seq(low), ['accepted', 'skipped']);
    assert.deepEqual(seq(cancelled), ['accepted', 'cancelled']);
    assert.deepEqual(seq(block), ['accepted', 'started', 'completed']);
    for (const type of ['accepted', 'started', 'progress', 'completed', 'failed', 'retrying', 'cancelled', 'skipped']) {
      assert.deepEqual(byType.get(type), star.all.filter((e) => e.type === type), `typed subscription for ${type}`);
      assert.ok((byType.get(type) ?? []).length > 0, `${type} was published`);
    }
    await rt.stop();
  });

  test('unsubscribe stops delivery; per-client listeners get only their client', async () => {
    const { rt } = setup();
    rt.handle('job', () => 'ok');
    const global: string[] = [];
    const acme: PayloadEvent[] = [];
    const acmeCompleted: PayloadEvent[] = [];
    const off = rt.events.on('completed', (e) => global.push(e.id));
    rt.client('acme').on('*', (e) => acme.push(e));
    const offClient = rt.client('acme').on('completed', (e) => acmeCompleted.push(e));
    const a = await rt.submit({ type: 'job', clientId: 'acme' });
    const b = await rt.submit({ type: 'job', clientId: 'other' });
    await rt.idle();
    assert.deepEqual(global.sort(), [a, b].sort());
    assert.deepEqual(acme.map((e) => [e.type, e.id]), [['accepted', a], ['started', a], ['completed', a]]);
    assert.ok(acme.every((e) => e.clientId === 'acme'));
    off();
    offClient();
    const c = await rt.submit({ type: 'job', clientId: 'acme' });
    await rt.idle();
    assert.equal(global.length, 2, 'unsubscribed');
    assert.equal(acmeCompleted.length, 1, 'client listener unsubscribed');
    assert.equal(acme.filter((e) => e.id === c).length, 3, 'the other client listener still listens');
    await rt.stop();
  });

  test('a throwing listener does not break the runtime or other listeners', async () => {
    const { rt } = setup();
    rt.handle('job', (n: number) => n + 1);
    rt.events.on('*', () => {
      throw new Error('listener bug');
    });
    rt.client('c').on('accepted', () => {
      throw new Error('client listener bug');
    });
    const seen: string[] = [];
    rt.events.on('completed', (e) => seen.push(e.id));
    const ids = await rt.submitMany([1, 2, 3].map((data) => ({ type: 'job', data, clientId: 'c' })));
    assert.deepEqual(await Promise.all(ids.map((id) => rt.waitFor(id))), [2, 3, 4]);
    assert.deepEqual(seen.sort(), [...ids].sort());
    assert.ok(rt.events.failedListenerCalls >= 12);
    assert.equal(totals(rt).completed, 3);
    await rt.stop();
  });
});

describe('idempotency', () => {
  test('the same idempotencyKey returns the first id and enqueues nothing new', async () => {
    const { rt } = setup({ partitions: 8 });
    const events = recordEvents(rt);
    let runs = 0;
    rt.handle('job', () => ++runs);
    const first = await rt.submit({ type: 'job', idempotencyKey: 'order-42', data: 1 });
    const again = await rt.submit({ type: 'job', idempotencyKey: 'order-42', data: 2 });
    const batch = await rt.submitMany([
      { type: 'job', idempotencyKey: 'order-42' },
      { type: 'job', idempotencyKey: 'order-43' },
      { type: 'job', idempotencyKey: 'order-43' },
    ]);
    await rt.idle();
    assert.equal(again, first);
    assert.equal(batch[0], first);
    assert.equal(batch[2], batch[1]);
    assert.notEqual(batch[1], first);
    assert.equal(totals(rt).accepted, 2);
    assert.equal(events.of('accepted').length, 2);
    assert.equal(runs, 2);
    assert.equal(await rt.submit({ type: 'job', idempotencyKey: 'order-42' }), first, 'still after completion');
    assert.equal(totals(rt).accepted, 2);
    await rt.stop();
  });
});

describe('submitMany', () => {
  test('sends one enqueue message per partition and returns ids in input order', async () => {
    const { rt } = setup({ partitions: 4 });
    rt.handle('job', () => 'ok');
    await rt.ready(); // partitions exist once the runtime has recovered its (empty) state
    const before = processedByPartition(rt);
    // Delayed, so no grants or outcomes add messages: only the enqueues are counted.
    const inputs = Array.from({ length: 200 }, (_, i) => ({ type: 'job', data: i, delay: 60_000 }));
    const ids = await rt.submitMany(inputs);
    await rt.idle();
    const after = processedByPartition(rt);
    const views = await Promise.all(ids.map((id) => rt.get(id)));
    assert.ok(views.every((v, i) => v !== undefined && v.id === ids[i] && v.status === 'delayed'));
    const used = new Set(views.map((v) => v?.partition));
    assert.equal(used.size, 4, 'the batch spans every partition');
    // `get` is a message too: `after` was read before the gets.
    const enqueues = after.map((n, i) => n - (before[i] as number));
    assert.deepEqual(enqueues, [1, 1, 1, 1]);
    assert.equal(totals(rt).accepted, 200);
    assert.equal(new Set(ids).size, 200);
    await rt.stop();
  });

  test('ids come back in input order', async () => {
    const { rt } = setup({ partitions: 4 });
    rt.handle('job', (n: number) => n * 10);
    const ids = await rt.submitMany(Array.from({ length: 50 }, (_, i) => ({ type: 'job', data: i })));
    const results = await Promise.all(ids.map((id) => rt.waitFor(id)));
    assert.deepEqual(results, Array.from({ length: 50 }, (_, i) => i * 10));
    assert.deepEqual(await rt.submitMany([]), []);
    await rt.stop();
  });
});

describe('stop', () => {
  test('stop({ drain: true }) finishes queued and running work before resolving', async () => {
    const { rt } = setup({ concurrency: 2 });
    const events = recordEvents(rt);
    rt.handle('job', async (n: number) => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return n;
    });
    await rt.submitMany(Array.from({ length: 10 }, (_, i) => ({ type: 'job', data: i })));
    await rt.stop({ drain: true });
    assert.equal(events.of('completed').length, 10);
    assert.equal(rt.state, 'stopped');
  });

  test('stop({ drain: true }) waits for a blocked handler', async () => {
    const { rt } = setup();
    const gate = deferred<void>();
    rt.handle('job', () => gate.promise);
    const id = await rt.submit({ type: 'job' });
    await rt.idle();
    const stopping = track(rt.stop({ drain: true }));
    await rt.idle();
    assert.equal(stopping.settled(), false);
    assert.equal(rt.state, 'stopping');
    await assert.rejects(rt.submit({ type: 'job' }), { code: 'RUNTIME_STOPPED' });
    assert.equal((await rt.get(id))?.status, 'running');
    gate.resolve();
    await stopping.promise;
    assert.equal(rt.state, 'stopped');
  });

  test('stop() rejects submits still waiting for room (overflow: wait) instead of leaving them pending', async () => {
    const { rt } = setup({ partitions: 1, concurrency: 1, overflow: 'wait', tierCapacity: { medium: 1 } });
    rt.handle('job', () => new Promise(() => {}));
    await rt.submit({ type: 'job' });
    await rt.idle(); // running
    await rt.submit({ type: 'job' }); // queued: the tier is now full
    const parked = track(rt.submit({ type: 'job' }));
    await rt.idle();
    assert.equal(parked.settled(), false);
    await rt.stop();
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(parked.settled(), true, 'the parked submit was answered');
    assert.ok(parked.error() instanceof RuntimeStoppedError);
  });

  test('stop() without drain aborts running handlers; afterwards submit rejects with RUNTIME_STOPPED', async () => {
    const { rt } = setup();
    const signals: AbortSignal[] = [];
    rt.handle('job', (_d, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    });
    const ids = await rt.submitMany([{ type: 'job' }, { type: 'job' }]);
    await rt.idle();
    const waiting = rt.waitFor(ids[0] as string);
    assert.equal(signals.length, 2);
    await rt.stop();
    assert.ok(signals.every((s) => s.aborted));
    await assert.rejects(waiting, (e: unknown) => e instanceof RuntimeStoppedError);
    await assert.rejects(rt.submit({ type: 'job' }), (e: unknown) => e instanceof TriageError && e.code === 'RUNTIME_STOPPED');
    await assert.rejects(rt.submitMany([{ type: 'job' }]), { code: 'RUNTIME_STOPPED' });
    assert.equal(rt.state, 'stopped');
    await rt.stop(); // a second stop is harmless
  });
});
