/**
 * A firing's start is watched by its id: the runtime builds a `started` event for a firing (its
 * lateness is measured there), not for every payload that starts while a firing waits.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock, type Runtime } from '../src/index.ts';
import type { ScheduleStart } from '../src/load/system-events.ts';
import { FiringStarts } from '../actors/schedule/starts.ts';
import { advance, setup } from './helpers.ts';

const T0 = 1_800_000_000_000;
const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.stop()));
});

function tracker() {
  const reported: ScheduleStart[] = [];
  return { starts: new FiringStarts({ started: (start) => reported.push(start) }), reported };
}

test('only a tracked firing is watched, until its start is seen', () => {
  const { starts, reported } = tracker();
  assert.equal(starts.watches('p1'), false);
  starts.track('daily', T0, 'p1');
  assert.equal(starts.watches('p1'), true);
  assert.equal(starts.watches('p2'), false, 'another payload is not watched');
  starts.seen('p2', T0 + 1);
  assert.deepEqual(reported, []);
  starts.seen('p1', T0 + 3);
  assert.deepEqual(reported, [{ schedule: 'daily', tick: T0, id: 'p1', at: T0 + 3 }]);
  assert.equal(starts.watches('p1'), false);
});

test('while a wake is under way every start is watched, and a firing that started before its submit answered is reported once tracked', () => {
  const { starts, reported } = tracker();
  starts.beginWake();
  assert.equal(starts.watches('any'), true);
  starts.seen('p9', T0 + 2); // started before the wake learnt it was its firing
  starts.seen('other', T0 + 2);
  starts.track('hourly', T0, 'p9');
  starts.endWake();
  assert.deepEqual(reported, [{ schedule: 'hourly', tick: T0, id: 'p9', at: T0 + 2 }]);
  assert.equal(starts.watches('other'), false, 'starts kept during the wake are dropped with it');
  starts.track('hourly', T0 + 3_600_000, 'other');
  assert.equal(reported.length, 1, 'a start seen in an earlier wake is not taken for a later firing');
});

test('a firing not seen starting is forgotten a minute after its tick', () => {
  const { starts } = tracker();
  starts.track('s', T0, 'old');
  starts.track('s', T0 + 50_000, 'recent');
  starts.prune(T0 + 60_001);
  assert.equal(starts.watches('old'), false);
  assert.equal(starts.watches('recent'), true);
});

test('in a runtime, a firing waiting ahead of its tick does not make other payloads build started events, and its lateness is still measured', async () => {
  const clock = new SimulatedClock(T0);
  const { rt } = setup({ clock });
  runtimes.push(rt);
  const starts: ScheduleStart[] = [];
  rt.events.on('schedule.started', (s) => starts.push(s));
  rt.handle('tick', () => undefined);
  rt.handle('work', () => undefined);
  await rt.ready();
  await rt.schedules.set({ id: 'a', every: 1_000, payload: { type: 'tick' } });
  await advance(rt, clock, 850); // the tick at T0 + 1,000 is submitted ahead and waits
  assert.equal(rt.events.observes('started'), false, 'nobody listens to every start');
  await rt.submit({ type: 'work' });
  await advance(rt, clock, 150);
  assert.deepEqual(starts.map((s) => [s.schedule, s.tick, s.at]), [['a', T0 + 1_000, T0 + 1_000]]);
});
