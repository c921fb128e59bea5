import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { SeriesRing } from '../src/admin/series.ts';
import { SimulatedClock } from '../src/clock.ts';
import { WaitWindow } from '../src/metrics/wait-window.ts';
import type { RuntimeStats } from '../src/runtime.ts';
import { serve, type Served } from './admin-support.ts';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

test('wait window: p50 and p99 per tier within a bucket of the true value, then starts afresh', () => {
  const window = new WaitWindow();
  for (let i = 1; i <= 100; i++) window.observe('high', i / 1000); // 1 … 100 ms
  window.observe('low', 2.5);
  const taken = window.take();
  assert.equal(taken.high.count, 100);
  assert.ok(Math.abs((taken.high.p50 ?? 0) - 50) / 50 < 0.13, `p50 ${taken.high.p50}`);
  assert.ok(Math.abs((taken.high.p99 ?? 0) - 99) / 99 < 0.13, `p99 ${taken.high.p99}`);
  assert.ok(Math.abs((taken.low.p50 ?? 0) - 2_500) / 2_500 < 0.13, `low p50 ${taken.low.p50}`);
  assert.deepEqual([taken.critical.p50, taken.medium.p99], [null, null]);
  assert.equal(window.take().high.count, 0);
});

function statsOf(completed: number, failed: number, depthLow: number): RuntimeStats {
  const tiers = { critical: 0, high: 0, medium: 0, low: depthLow };
  return {
    status: 'running',
    pool: { size: 8, busy: 3, running: 3, byTier: { critical: 0, high: 3, medium: 0, low: 0 }, stuck: 0, stuckNow: 0, meanRunMs: 1, lowThrottle: undefined, lowShare: 1 },
    partitions: [{ partition: 0, depth: tiers, oldestWait: { ...tiers, low: 0 }, running: 3, delayed: 0, totals: { accepted: 0, started: 0, completed, failed, retried: 0, cancelled: 0, skipped: 0 } }],
  } as unknown as RuntimeStats;
}

test('series ring: one point per interval with rates from the totals, bounded, read since a moment', () => {
  const clock = new SimulatedClock(1_000_000);
  let completed = 0;
  const window = new WaitWindow();
  const ring = new SeriesRing({ clock, stats: () => statsOf(completed, 0, 7), level: () => 'elevated', takeWaits: () => window.take() }, 3);
  ring.start();
  completed = 40;
  window.observe('high', 0.004);
  clock.advance(2_000); // two ticks: 40 completions over the first second, none over the next
  const points = ring.list();
  assert.deepEqual(points.map((p) => p.completed), [0, 40, 0]);
  assert.deepEqual(points.map((p) => p.t), [1_000_000, 1_001_000, 1_002_000]);
  assert.ok(points[1]!.waitP50.high !== null && Math.abs(points[1]!.waitP50.high - 4) < 0.5);
  assert.equal(points[2]!.waitP50.high, null);
  assert.deepEqual([points[0]!.level, points[0]!.depth.low, points[0]!.busy, points[0]!.size], ['elevated', 7, 3, 8]);
  clock.advance(2_000);
  assert.equal(ring.size, 3, 'the ring keeps its capacity, the oldest points go');
  assert.deepEqual(ring.list().map((p) => p.t), [1_002_000, 1_003_000, 1_004_000]);
  assert.deepEqual(ring.list(1_003_000).map((p) => p.t), [1_004_000]);
  ring.stop();
  clock.advance(5_000);
  assert.equal(ring.list().at(-1)!.t, 1_004_000, 'no sampling after stop');
});

test('GET /api/series: points of the runtime with its decisions; since filters; bad since is refused', async () => {
  served = await serve({ partitions: 2 });
  const s = served;
  s.rt.handle('work', async () => 'ok');
  await s.rt.submitMany(Array.from({ length: 30 }, () => ({ type: 'work', priority: 'high' })));
  await s.rt.idle();
  s.clock.advance(1_000);
  await s.rt.idle();
  const all = (await s.call('/api/series')).json;
  assert.equal(all.capacity, 900);
  assert.equal(all.intervalMs, 1_000);
  assert.equal(all.points.length, 2);
  assert.equal(all.points[1].completed, 30);
  assert.ok(all.points[1].waitP50.high !== null, 'the waits of the second are there');
  assert.equal(all.points[1].size, s.rt.stats().pool.size);
  assert.ok(Array.isArray(all.decisions));
  const later = (await s.call(`/api/series?since=${all.points[0].t}`)).json;
  assert.deepEqual(later.points.map((p: { t: number }) => p.t), [all.points[1].t]);
  assert.equal((await s.call('/api/series?since=yesterday')).status, 400);
});
