/**
 * Schedules fire ahead of their ticks on a simulated clock: the payload is submitted `scheduleLeadMs`
 * before the tick and starts at the tick, not before; removing, pausing or replacing the schedule
 * before the tick cancels it; `overlap: 'skip'` schedules still fire at the tick; the lateness is
 * measured at the handler's start; on Redis a firing submitted ahead outlives a restart.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionsError, SimulatedClock, type Runtime } from '../src/index.ts';
import type { ScheduleFiring, ScheduleStart } from '../src/load/system-events.ts';
import { advance, deferred, setup } from './helpers.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';

const T0 = 1_800_000_000_000;
const runtimes: Runtime[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.stop()));
  await Promise.all(prefixes.splice(0).map((p) => dropPrefix(p)));
});

function started(options: Parameters<typeof setup>[0] = {}) {
  const { clock, rt } = setup({ clock: new SimulatedClock(T0), ...options });
  runtimes.push(rt);
  const firings: ScheduleFiring[] = [];
  const starts: ScheduleStart[] = [];
  const runs: Array<{ data: unknown; at: number }> = [];
  rt.events.on('schedule.fired', (f) => firings.push(f));
  rt.events.on('schedule.started', (s) => starts.push(s));
  rt.handle('tick', (data) => void runs.push({ data, at: clock.now() }));
  return { clock, rt, firings, starts, runs };
}

test('a tick is submitted 200 ms ahead (the default) and its handler starts at the tick, not before', async () => {
  const { clock, rt, firings, starts, runs } = started();
  await rt.ready();
  await rt.schedules.set({ id: 'a', every: 1_000, endAt: T0 + 2_500, payload: { type: 'tick', data: 'x' } });
  await advance(rt, clock, 800);
  assert.deepEqual(firings.map((f) => [f.tick, f.at]), [[T0 + 1_000, T0 + 800]]);
  assert.equal((await rt.get(firings[0]!.id))?.status, 'delayed');
  assert.equal(rt.schedules.get('a')?.nextAt, T0 + 1_000, 'the tick submitted ahead is still the next one');
  await advance(rt, clock, 199);
  assert.equal(runs.length, 0);
  await advance(rt, clock, 1);
  assert.deepEqual(runs, [{ data: 'x', at: T0 + 1_000 }]);
  assert.deepEqual(starts.map((s) => [s.tick, s.at, s.id]), [[T0 + 1_000, T0 + 1_000, firings[0]!.id]]);
  // endAt is respected ahead too: the tick at T0 + 3,000 is past it.
  await advance(rt, clock, 1_000, 3);
  assert.deepEqual(runs.map((r) => r.at), [T0 + 1_000, T0 + 2_000]);
  assert.equal(firings.length, 2);
});

test('scheduleLeadMs sets the lead; 0 fires at the tick; a bad value is refused', async () => {
  const { clock, rt, firings } = started({ scheduleLeadMs: 0 });
  await rt.ready();
  await rt.schedules.set({ id: 'z', every: 1_000, payload: { type: 'tick' } });
  await advance(rt, clock, 999);
  assert.equal(firings.length, 0);
  await advance(rt, clock, 1);
  assert.deepEqual(firings.map((f) => f.at - f.tick), [0]);
  assert.throws(() => setup({ scheduleLeadMs: -1 }), (e: unknown) => e instanceof OptionsError && e.code === 'INVALID_OPTIONS' && /scheduleLeadMs/.test(e.message));
  const other = started({ scheduleLeadMs: 500 });
  await other.rt.ready();
  await other.rt.schedules.set({ id: 'l', every: 1_000, payload: { type: 'tick' } });
  await advance(other.rt, other.clock, 499);
  assert.equal(other.firings.length, 0);
  await advance(other.rt, other.clock, 1);
  assert.deepEqual(other.firings.map((f) => f.tick - f.at), [500]);
});

test('removing a schedule before its tick cancels the firing submitted ahead', async () => {
  const { clock, rt, firings, runs } = started();
  await rt.ready();
  await rt.schedules.set({ id: 'r', every: 1_000, payload: { type: 'tick' } });
  await advance(rt, clock, 900);
  assert.equal(firings.length, 1);
  assert.equal(await rt.schedules.remove('r'), true);
  assert.equal((await rt.get(firings[0]!.id))?.status, 'cancelled');
  await advance(rt, clock, 1_000, 3);
  assert.deepEqual(runs, []);
  assert.equal(firings.length, 1);
});

test('pausing before the tick cancels the firing submitted ahead; resumed, the next ticks fire', async () => {
  const { clock, rt, firings, starts, runs } = started();
  await rt.ready();
  await rt.schedules.set({ id: 'p', every: 1_000, payload: { type: 'tick' } });
  await advance(rt, clock, 850);
  await rt.schedules.pause('p');
  assert.equal((await rt.get(firings[0]!.id))?.status, 'cancelled');
  await advance(rt, clock, 1_000, 2);
  assert.deepEqual(runs, []);
  await rt.schedules.resume('p');
  await advance(rt, clock, 150);
  await advance(rt, clock, 1_000);
  assert.equal(runs.length, 2);
  assert.deepEqual(starts.map((s) => [s.tick, s.at]), [[T0 + 3_000, T0 + 3_000], [T0 + 4_000, T0 + 4_000]]);
});

test('replacing a schedule before its tick cancels the old firing; the new one fires from the next tick', async () => {
  const { clock, rt, firings, runs } = started();
  await rt.ready();
  await rt.schedules.set({ id: 'c', every: 1_000, payload: { type: 'tick', data: 'old' } });
  await advance(rt, clock, 850);
  // Declaring it again unchanged (as every node does at start) keeps the firing.
  await rt.schedules.set({ id: 'c', every: 1_000, payload: { type: 'tick', data: 'old' } });
  assert.equal((await rt.get(firings[0]!.id))?.status, 'delayed');
  await rt.schedules.set({ id: 'c', every: 1_000, payload: { type: 'tick', data: 'new' } });
  assert.equal((await rt.get(firings[0]!.id))?.status, 'cancelled');
  await advance(rt, clock, 150);
  assert.deepEqual(runs, []);
  await advance(rt, clock, 1_000);
  assert.deepEqual(runs, [{ data: 'new', at: T0 + 2_000 }]);
});

test('overlap skip fires at the tick, not ahead, and skips while the previous firing runs', async () => {
  const { clock, rt, firings } = started();
  const release = deferred();
  rt.handle('slow', () => release.promise);
  await rt.ready();
  await rt.schedules.set({ id: 's', every: 1_000, overlap: 'skip', payload: { type: 'slow' } });
  await advance(rt, clock, 999);
  assert.equal(firings.length, 0);
  await advance(rt, clock, 1);
  assert.deepEqual(firings.map((f) => f.at - f.tick), [0]);
  await advance(rt, clock, 1_000, 2);
  assert.equal(firings.length, 1, 'the first firing still runs: the next two ticks are skipped');
  release.resolve(undefined);
  await rt.idle();
  await advance(rt, clock, 1_000);
  assert.deepEqual(firings.map((f) => f.tick), [T0 + 1_000, T0 + 4_000]);
});

test('a schedule removed while its wake is submitting ahead: what the wake submitted is cancelled', async () => {
  const { clock, rt, runs } = started();
  const cancelled: string[] = [];
  rt.events.on('cancelled', (e) => cancelled.push(e.id));
  await rt.ready();
  await rt.schedules.set({ id: 'w', every: 1_000, payload: { type: 'tick' } });
  clock.advance(800); // the wake starts; its store reads and submit are under way
  assert.equal(await rt.schedules.remove('w'), true);
  await rt.idle();
  assert.equal(cancelled.length, 1);
  await advance(rt, clock, 1_000, 2);
  assert.equal(runs.length, 0);
});

test('on Redis, a firing submitted ahead survives a restart before its tick: it starts at the tick, once', async () => {
  const prefix = freshPrefix('sched-ahead');
  prefixes.push(prefix);
  const clock = new SimulatedClock(T0);
  const declare = { id: 'k', every: 1_000, payload: { type: 'tick' } } as const;
  const first = started({ clock, redis: { url: REDIS_URL, prefix } });
  await first.rt.ready();
  await first.rt.schedules.set(declare);
  await advance(first.rt, clock, 900);
  assert.equal(first.firings.length, 1);
  await first.rt.stop();
  const second = started({ clock, redis: { url: REDIS_URL, prefix } });
  await second.rt.ready();
  await second.rt.schedules.set(declare);
  await advance(second.rt, clock, 100);
  assert.equal(second.firings.length, 0, 'the tick was dealt with before the restart');
  assert.deepEqual([first.runs.length, second.runs.length], [0, 1]);
  assert.equal((await second.rt.get(first.firings[0]!.id))?.status, 'completed');
});
