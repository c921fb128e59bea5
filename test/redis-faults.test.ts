// Redis faults on a server of the test's own (a spare port, an append-only file so a restart keeps
// its data): stopped, restarted, paused mid-run. Submits are refused while it is away, nothing
// acknowledged is lost, and the runtime resumes by itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRuntime, silentLogger, workflow, type Runtime } from '../src/index.ts';
import { until } from './helpers.ts';
import { OwnRedis } from './own-redis.ts';

test('stopped, restarted and paused Redis: refusals while away, no loss, resumes by itself', { timeout: 120_000 }, async () => {
  const redis = await OwnRedis.onSparePort();
  await redis.start();
  let runtime: Runtime | undefined;
  try {
    runtime = createRuntime({ partitions: 4, concurrency: 4, logger: silentLogger, redis: { url: redis.url, prefix: 'faults', redis: { commandTimeout: 300 } } });
    const rt = runtime;
    const done = new Set<string>();
    rt.handle('work', async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    });
    rt.events.on('completed', (e) => done.add(e.id));
    const before = await rt.submitMany(Array.from({ length: 40 }, (_, i) => ({ type: 'work', data: 10 + (i % 5) })));

    // Stopped: a submit is refused with STORE_UNAVAILABLE, nothing half-accepted.
    await redis.stop();
    await assert.rejects(rt.submit({ type: 'work', data: 1 }), { code: 'STORE_UNAVAILABLE' });
    await until(() => !rt.store.available, 'the runtime to notice');
    await assert.rejects(rt.submit({ type: 'work', data: 1 }), { code: 'STORE_UNAVAILABLE' });

    // Restarted: the runtime resumes without help; everything acknowledged completes.
    await redis.start();
    await until(() => rt.store.available, 'the store to come back');
    const after = await rt.submitMany(Array.from({ length: 10 }, () => ({ type: 'work', data: 5 })));
    await until(() => [...before, ...after].every((id) => done.has(id)), 'every acknowledged payload to complete');

    // Paused (SIGSTOP): commands time out, submits are refused; continued, work goes on.
    redis.pause();
    await assert.rejects(rt.submit({ type: 'work', data: 1 }), { code: 'STORE_UNAVAILABLE' });
    redis.resume();
    await until(() => rt.store.available, 'the store after the pause');
    const last = await rt.submit({ type: 'work', data: 1 });
    assert.equal(await rt.waitFor(last), 1);
    assert.ok(rt.store.stats().journalFailures >= 2, 'each outage was counted');
    await rt.stop();
    runtime = undefined;
  } finally {
    await runtime?.stop().catch(() => {});
    await redis.dispose();
  }
});

test('while Redis is away a workflow start is refused at once, and what waited on the store settles at stop', { timeout: 60_000 }, async (t) => {
  const redis = await OwnRedis.onSparePort();
  await redis.start();
  const rt = createRuntime({ partitions: 2, logger: silentLogger, redis: { url: redis.url, prefix: 'away', redis: { commandTimeout: 300 } } });
  t.after(async () => {
    await rt.stop();
    await redis.dispose();
  });
  rt.handle('work', (n: number) => n);
  const flow = workflow<{ n: number }, { work: (n: number) => number }>('away').step('only', { handler: 'work', input: ({ input }) => input.n }).output(({ results }) => results.only);
  rt.workflows.register(flow);
  await rt.ready();
  assert.equal(await rt.workflows.waitFor(await rt.workflows.start(flow, { n: 1 })), 1);
  await redis.stop();
  // Made before the runtime noticed: each waits for the store (or is refused), and must settle.
  const onTheirWay = [
    rt.submitMany([{ ref: 'a', type: 'work', data: 1 }, { type: 'work', data: 2, dependsOn: ['a'] }]),
    rt.workflows.start(flow, { n: 2 }),
  ].map((p) => p.then(() => 'accepted', (e: { code?: string }) => e.code));
  await until(() => !rt.store.available, 'the runtime to notice');
  await assert.rejects(rt.workflows.start(flow, { n: 3 }), { code: 'STORE_UNAVAILABLE' });
  await assert.rejects(rt.submitMany([{ ref: 'b', type: 'work', data: 1 }, { type: 'work', data: 2, dependsOn: ['b'] }]), { code: 'STORE_UNAVAILABLE' });
  await rt.stop();
  for (const code of await Promise.all(onTheirWay)) assert.ok(code === 'RUNTIME_STOPPED' || code === 'STORE_UNAVAILABLE', `settled at stop (${code})`);
});
