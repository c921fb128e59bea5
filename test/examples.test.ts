// Every example runs, and does what the README says it does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runMainJob } from '../examples/main-job.ts';
import { quickStart } from '../examples/quick-start.ts';
import { rateLimits } from '../examples/rate-limits.ts';

test('quick start: submit, wait, result', async () => {
  assert.equal(await quickStart(), 5);
});

test('rate limits: 20 calls a second, one per account at a time, the rest held queued and then run', async () => {
  const report = await rateLimits();
  assert.equal(report.completed, 30);
  assert.ok(report.firstSecond >= 10 && report.firstSecond <= 22, `${report.firstSecond} calls in the first second`);
  assert.equal(report.mostPerAccount, 1);
  assert.ok(report.heldAtStart.some((s) => s.scope === 'type:sync-account' && s.held > 0), JSON.stringify(report.heldAtStart));
});

test('main job: every payload runs, and the urgent tiers wait less than the flood of low work', async () => {
  const report = await runMainJob(1);
  const tier = (name: string) => report.find((r) => r.tier === name);
  const ran = report.reduce((n, r) => n + r.ran + r.failed, 0);
  assert.equal(ran, 400 + 60 + 40, 'every submitted payload ended');
  assert.equal(report.reduce((n, r) => n + r.failed, 0), 0, 'transient failures were retried');
  assert.ok((tier('high')?.waitP50 ?? Infinity) < (tier('low')?.waitP50 ?? 0), 'high waits less than low');
});

test('stop({ drain: true }) also finishes payloads that load skipped into the ledger', async () => {
  const { createRuntime, silentLogger } = await import('../src/index.ts');
  const rt = createRuntime({ partitions: 2, concurrency: 2, logger: silentLogger, coordinator: { intervalMs: 20, stepDownAfterMs: 50 } });
  const ran: number[] = [];
  rt.handle('low', (n: number) => void ran.push(n));
  await rt.ready();
  rt.coordinator?.pin('critical');
  const ids = await rt.submitMany(Array.from({ length: 20 }, (_, n) => ({ type: 'low', data: n, priority: 'low' as const })));
  for (const deadline = Date.now() + 10_000; (rt.coordinator?.ledger().total ?? 0) < ids.length; ) {
    if (Date.now() > deadline) throw new Error('the low payloads never reached the ledger');
    await new Promise((r) => setTimeout(r, 10));
  }
  rt.coordinator?.release();
  await rt.stop({ drain: true });
  assert.equal(ran.length, ids.length, 'every skipped payload ran before the drain ended');
});
