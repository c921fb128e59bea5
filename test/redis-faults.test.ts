// Redis faults on a server of the test's own (a spare port, an append-only file so a restart keeps
// its data): stopped, restarted, paused mid-run. Submits are refused while it is away, nothing
// acknowledged is lost, and the runtime resumes by itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRuntime, silentLogger, type Runtime } from '../src/index.ts';
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
