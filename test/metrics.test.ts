import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { NonRetryableError, OptionsError, TIERS } from '../src/index.ts';
import { COUNTER_KINDS, RUN_BUCKETS, WAIT_BUCKETS } from '../src/metrics/index.ts';
import { deferred, setup } from './helpers.ts';
import { sampleValue, samples, serve } from './admin-support.ts';

const PROMTOOL = 'promtool';

/** `promtool check metrics` on the exposition: the real Prometheus parser and linter. */
function promtool(exposition: string): { status: number; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('promtool is not installed: install Debian\'s "prometheus" package (apt-get install prometheus); .ci/run does this');
  }
  return { status: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

describe('metrics: counters by tier and type', () => {
  test('submitted, started, completed, failed, retried, skipped, cancelled count what happened; degraded and rescheduled start at 0', async () => {
    const { rt, clock } = setup({
      partitions: 1, concurrency: 1, overflow: 'drop-lowest', tierCapacity: { high: 1 },
      handlerDefaults: { backoff: { initialMs: 100, jitter: 0 } }, metrics: { processMetrics: false },
    });
    const gate = deferred<void>();
    rt.handle('block', async () => gate.promise);
    let calls = 0;
    rt.handle('flaky', () => {
      if (++calls === 1) throw new Error('once');
      return 'ok';
    }, { retries: 2 });
    rt.handle('bad', () => {
      throw new NonRetryableError('no');
    });
    try {
      await rt.submit({ type: 'block', priority: 'critical' });
      await rt.idle();
      const [evicted, retried] = await rt.submitMany([{ type: 'flaky', priority: 'low' }, { type: 'flaky', priority: 'low' }]);
      await rt.submit({ type: 'bad', priority: 'high' });
      await rt.submit({ type: 'bad', priority: 'high' }); // the high tier is full: the oldest low payload is evicted
      const cancelled = await rt.submit({ type: 'flaky', priority: 'medium' });
      assert.equal(await rt.cancel(cancelled), true);
      await rt.idle();
      assert.equal((await rt.get(evicted as string))?.status, 'skipped');
      clock.advance(2_000);
      gate.resolve();
      await rt.idle();
      clock.advance(100); // the retry falls due
      await rt.idle();
      assert.equal((await rt.get(retried as string))?.status, 'completed');

      const all = samples((await rt.metrics.exposition()).body);
      const count = (kind: string, tier: string, type: string) => sampleValue(all, `triage_payloads_${kind}_total`, { tier, type });
      const expected: Array<[string, string, string, number]> = [
        ['submitted', 'critical', 'block', 1], ['submitted', 'low', 'flaky', 2], ['submitted', 'high', 'bad', 2], ['submitted', 'medium', 'flaky', 1],
        ['started', 'critical', 'block', 1], ['started', 'high', 'bad', 2], ['started', 'low', 'flaky', 2],
        ['completed', 'critical', 'block', 1], ['completed', 'low', 'flaky', 1], ['completed', 'high', 'bad', 0],
        ['failed', 'high', 'bad', 2], ['failed', 'low', 'flaky', 0],
        ['retried', 'low', 'flaky', 1],
        ['skipped', 'low', 'flaky', 1],
        ['cancelled', 'medium', 'flaky', 1],
        ['degraded', 'low', 'flaky', 0], ['rescheduled', 'low', 'flaky', 0],
      ];
      for (const [kind, tier, type, value] of expected) assert.equal(count(kind, tier, type), value, `${kind} ${tier} ${type}`);
      // Every counter exists for every registered type and tier from the start, at 0 when nothing happened.
      for (const kind of COUNTER_KINDS) for (const tier of TIERS) for (const type of ['block', 'flaky', 'bad']) assert.notEqual(count(kind, tier, type), undefined);
      const labels = new Set(all.filter((s) => s.name.startsWith('triage_payloads_') && s.name.endsWith('_total')).map((s) => Object.keys(s.labels).sort().join(',')));
      assert.deepEqual([...labels], ['runtime,tier,type'], 'client ids are not labels unless configured');
    } finally {
      gate.resolve();
      await rt.stop();
    }
  });

  test('wait and run times are histograms by tier, with job-latency buckets', async () => {
    const { rt, clock } = setup({ partitions: 1, concurrency: 1, metrics: { processMetrics: false } });
    const gate = deferred<void>();
    rt.handle('block', async () => gate.promise);
    rt.handle('quick', () => 'done');
    try {
      await rt.submit({ type: 'block', priority: 'critical' });
      await rt.idle();
      await rt.submitMany([{ type: 'quick', priority: 'high' }, { type: 'quick', priority: 'high' }]);
      await rt.idle();
      clock.advance(2_000); // the blocker has run 2 s; the quick ones have waited 2 s
      gate.resolve();
      await rt.idle();
      const all = samples((await rt.metrics.exposition()).body);
      const bucket = (name: string, tier: string, le: string) => sampleValue(all, `${name}_bucket`, { tier, le });
      assert.deepEqual(all.filter((s) => s.name === 'triage_wait_seconds_bucket' && s.labels['tier'] === 'high').map((s) => s.labels['le']), [...WAIT_BUCKETS.map(String), '+Inf']);
      assert.deepEqual(all.filter((s) => s.name === 'triage_run_seconds_bucket' && s.labels['tier'] === 'high').map((s) => s.labels['le']), [...RUN_BUCKETS.map(String), '+Inf']);
      assert.equal(bucket('triage_wait_seconds', 'high', '1'), 0);
      assert.equal(bucket('triage_wait_seconds', 'high', '2.5'), 2);
      assert.equal(sampleValue(all, 'triage_wait_seconds_sum', { tier: 'high' }), 4);
      assert.equal(bucket('triage_wait_seconds', 'critical', '0.005'), 1, 'the blocker started at once');
      assert.equal(bucket('triage_run_seconds', 'critical', '1'), 0);
      assert.equal(bucket('triage_run_seconds', 'critical', '2.5'), 1);
      assert.equal(sampleValue(all, 'triage_run_seconds_count', { tier: 'high' }), 2);
      assert.equal(sampleValue(all, 'triage_run_seconds_count', { tier: 'low' }), 0, 'every tier is exposed, empty ones at 0');
    } finally {
      gate.resolve();
      await rt.stop();
    }
  });
});

describe('metrics: gauges read at scrape time', () => {
  test('depth and oldest wait per partition × tier, running, delayed, pool, load level, mailboxes', async () => {
    const s = await serve({ partitions: 2, concurrency: 2, metrics: { processMetrics: false } });
    const gate = deferred<void>();
    s.rt.handle('job', async () => gate.promise);
    try {
      const [a, b] = await s.rt.submitMany([{ type: 'job', priority: 'high' }, { type: 'job', priority: 'critical' }]);
      await s.rt.idle();
      const queued = await s.rt.submitMany([{ type: 'job', priority: 'medium' }, { type: 'job', priority: 'medium' }, { type: 'job', priority: 'low' }]);
      await s.rt.submit({ type: 'job', delay: 60_000 });
      await s.rt.idle();
      s.clock.advance(3_000);
      await s.rt.idle(); // timers that fell due have been handled: every mailbox is empty
      const all = samples((await s.call('/metrics')).text);
      const views = await Promise.all([a, b, ...queued].map((id) => s.rt.get(id as string)));
      for (let p = 0; p < 2; p++) {
        for (const tier of TIERS) {
          const depth = views.slice(2).filter((v) => v?.partition === p && v.tier === tier).length;
          assert.equal(sampleValue(all, 'triage_queue_depth', { partition: String(p), tier }), depth, `depth p${p} ${tier}`);
          assert.equal(sampleValue(all, 'triage_queue_oldest_wait_seconds', { partition: String(p), tier }), depth > 0 ? 3 : 0);
        }
        assert.equal(sampleValue(all, 'triage_payloads_running', { partition: String(p) }), views.slice(0, 2).filter((v) => v?.partition === p).length);
      }
      assert.equal(all.filter((x) => x.name === 'triage_payloads_delayed').reduce((n, x) => n + x.value, 0), 1);
      assert.equal(sampleValue(all, 'triage_pool_slots'), 2);
      assert.equal(sampleValue(all, 'triage_pool_busy_slots', { tier: 'high' }), 1);
      assert.equal(sampleValue(all, 'triage_pool_busy_slots', { tier: 'critical' }), 1);
      assert.equal(sampleValue(all, 'triage_load_level'), 0);
      assert.equal(sampleValue(all, 'triage_actor_mailbox_messages', { kind: 'partition' }), 0);
    } finally {
      gate.resolve();
      await s.close();
    }
  });

  test('above maxPartitionLabels, queue gauges are summed as partition="all"', async () => {
    const { rt } = setup({ partitions: 4, concurrency: 1, metrics: { maxPartitionLabels: 2, processMetrics: false } });
    const gate = deferred<void>();
    rt.handle('job', async () => gate.promise);
    try {
      await rt.submitMany(Array.from({ length: 9 }, () => ({ type: 'job', priority: 'low' as const })));
      await rt.idle();
      const all = samples((await rt.metrics.exposition()).body);
      const depth = all.filter((x) => x.name === 'triage_queue_depth');
      assert.deepEqual(depth.map((x) => x.labels['partition']), ['all', 'all', 'all', 'all']);
      assert.equal(sampleValue(all, 'triage_queue_depth', { tier: 'low' }), 8);
      assert.equal(sampleValue(all, 'triage_payloads_running', { partition: 'all' }), 1);
    } finally {
      gate.resolve();
      await rt.stop();
    }
  });
});

describe('metrics: labels, registries, options', () => {
  test('client ids become labels only when configured, and then at most maxClients of them', async () => {
    const { rt } = setup({ metrics: { clientLabel: true, maxClients: 2, processMetrics: false } });
    rt.handle('job', () => 1);
    try {
      for (const clientId of ['alpha', 'beta', 'gamma', 'delta', 'alpha']) await rt.submit({ type: 'job', clientId, priority: 'high' });
      await rt.idle();
      const submitted = samples((await rt.metrics.exposition()).body).filter((x) => x.name === 'triage_payloads_submitted_total' && x.labels['tier'] === 'high');
      assert.deepEqual(Object.fromEntries(submitted.map((x) => [x.labels['client'], x.value])), { alpha: 2, beta: 1, other: 2 });
    } finally {
      await rt.stop();
    }
  });

  test('two runtimes in one process have their own registries and do not collide', async () => {
    const one = setup({ name: 'one', metrics: {} }).rt;
    const two = setup({ name: 'two', metrics: {} }).rt;
    one.handle('job', () => 1);
    two.handle('job', () => 1);
    try {
      await one.submit({ type: 'job' });
      await two.submitMany([{ type: 'job' }, { type: 'job' }, { type: 'job' }]);
      await one.idle();
      await two.idle();
      assert.notEqual(one.metrics.registry, two.metrics.registry);
      const first = samples((await one.metrics.exposition()).body);
      const second = samples((await two.metrics.exposition()).body);
      assert.equal(sampleValue(first, 'triage_payloads_completed_total', { tier: 'medium', type: 'job', runtime: 'one' }), 1);
      assert.equal(sampleValue(second, 'triage_payloads_completed_total', { tier: 'medium', type: 'job', runtime: 'two' }), 3);
      assert.ok(first.filter((x) => x.name.startsWith('triage_')).every((x) => x.labels['runtime'] === 'one'));
      // Process metrics come once in each exposition (one set per process, not per runtime).
      for (const set of [first, second]) assert.equal(set.filter((x) => x.name === 'process_cpu_user_seconds_total').length, 1);
    } finally {
      await one.stop();
      await two.stop();
    }
  });

  test('metrics are off until first asked for: unheard events are not built', async () => {
    const { rt } = setup();
    try {
      assert.equal(rt.events.observes('started'), false);
      void rt.metrics;
      assert.equal(rt.events.observes('started'), true);
      assert.equal(rt.events.observes('progress'), false, 'progress is not a metric');
    } finally {
      await rt.stop();
    }
  });

  test('bad metric options are refused, every problem named', () => {
    assert.throws(() => setup({ metrics: { maxClients: 0, maxPartitionLabels: -1, processMetrics: 'yes' as never } }), (error: unknown) =>
      error instanceof OptionsError &&
      error.code === 'INVALID_OPTIONS' &&
      error.problems.map((p) => p.field).join(',') === 'metrics.maxClients,metrics.maxPartitionLabels,metrics.processMetrics');
  });
});

describe('metrics: the exposition is valid Prometheus text (promtool)', () => {
  test('promtool parses the whole exposition; lint notes concern only prom-client\'s own process metrics', async () => {
    const s = await serve({ partitions: 3 });
    s.rt.handle('job', () => 1);
    try {
      await s.rt.submitMany([{ type: 'job', priority: 'critical' }, { type: 'job', priority: 'low' }]);
      await s.rt.idle();
      const response = await s.call('/metrics');
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(response.text, /^nodejs_eventloop_lag_seconds /m, 'default process metrics are included');
      const { status, output } = promtool(response.text);
      // 0 = clean, 3 = lint notes only; 1 would be a parse error.
      assert.ok(status === 0 || status === 3, `promtool exited ${status}: ${output}`);
      const notes = output.split('\n').filter((line) => line.trim() !== '');
      for (const note of notes) assert.match(note, /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/);
    } finally {
      await s.close();
    }
  });

  test('triage\'s own metrics pass promtool\'s lint with no note at all', async () => {
    const { rt } = setup({ partitions: 2, metrics: { processMetrics: false, clientLabel: true } });
    rt.handle('job', () => 1);
    try {
      await rt.submitMany([{ type: 'job', clientId: 'a"b\\c' }, { type: 'job', priority: 'high' }]);
      await rt.idle();
      const { status, output } = promtool((await rt.metrics.exposition()).body);
      assert.equal(status, 0, output);
      assert.equal(output.trim(), '');
    } finally {
      await rt.stop();
    }
  });
});
