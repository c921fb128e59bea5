/**
 * Schedules on a simulated clock: firing once per tick with a key of (schedule, tick), overlap,
 * pause/resume, validation, and a restart on Redis that neither repeats nor loses a tick beyond
 * what catchUp says.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock, ValidationError, type Runtime } from '../src/index.ts';
import type { ScheduleFiring } from '../src/load/system-events.ts';
import { advance, deferred, setup } from './helpers.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';

const runtimes: Runtime[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.stop()));
  await Promise.all(prefixes.splice(0).map((p) => dropPrefix(p)));
});

function started(options: Parameters<typeof setup>[0] = {}): { clock: SimulatedClock; rt: Runtime; firings: ScheduleFiring[]; runs: unknown[] } {
  const { clock, rt } = setup({ clock: new SimulatedClock(1_800_000_000_000), ...options });
  runtimes.push(rt);
  const firings: ScheduleFiring[] = [];
  const runs: unknown[] = [];
  rt.events.on('schedule.fired', (f) => firings.push(f));
  rt.handle('tick', (data) => void runs.push(data));
  return { clock, rt, firings, runs };
}

test('an every-second schedule fires once per tick, on time, each tick its own payload', async () => {
  const { clock, rt, firings, runs } = started();
  await rt.ready();
  const view = await rt.schedules.set({ id: 'heartbeat', every: 1_000, payload: { type: 'tick', data: 'beat' } });
  assert.equal(view.nextAt, 1_800_000_001_000);
  await advance(rt, clock, 1_000, 5);
  assert.deepEqual(firings.map((f) => f.tick), [1, 2, 3, 4, 5].map((s) => 1_800_000_000_000 + s * 1_000));
  assert.deepEqual(firings.map((f) => f.at - f.tick), [0, 0, 0, 0, 0]);
  assert.equal(new Set(firings.map((f) => f.id)).size, 5);
  assert.deepEqual(runs, ['beat', 'beat', 'beat', 'beat', 'beat']);
  assert.equal(rt.schedules.get('heartbeat')?.nextAt, 1_800_000_006_000);
  assert.equal(rt.schedules.get('heartbeat')?.lastId, firings.at(-1)?.id);
});

test('a cron schedule in a timezone fires at its wall-clock times', async () => {
  // 2026-03-07T12:00Z; New York springs forward the next night.
  const { clock, rt, firings } = started({ clock: new SimulatedClock(Date.parse('2026-03-07T12:00:00Z')) });
  await rt.ready();
  await rt.schedules.set({ id: 'nightly', cron: '30 2 * * *', timezone: 'America/New_York', payload: { type: 'tick' } });
  await advance(rt, clock, 60 * 60_000, 48);
  assert.deepEqual(firings.map((f) => new Date(f.tick).toISOString()), ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']);
});

test('overlap skip: no firing while the previous one runs; allow fires regardless', async () => {
  const { clock, rt, firings } = started();
  const release = deferred();
  rt.handle('slow', () => release.promise);
  await rt.ready();
  await rt.schedules.set({ id: 'skip', every: 1_000, overlap: 'skip', payload: { type: 'slow' } });
  await rt.schedules.set({ id: 'allow', every: 1_000, payload: { type: 'slow' } });
  await advance(rt, clock, 1_000, 3);
  assert.equal(firings.filter((f) => f.schedule === 'skip').length, 1);
  assert.equal(firings.filter((f) => f.schedule === 'allow').length, 3);
  assert.equal(rt.schedules.get('skip')?.lastTick, 1_800_000_003_000, 'skipped ticks are dealt with, not left due');
  release.resolve(undefined);
  await rt.idle();
  await advance(rt, clock, 1_000);
  assert.deepEqual(firings.filter((f) => f.schedule === 'skip').map((f) => f.tick), [1_800_000_001_000, 1_800_000_004_000]);
});

test('a paused schedule does not fire; resumed, it fires from then on, not what fell due while paused', async () => {
  const { clock, rt, firings } = started();
  await rt.ready();
  await rt.schedules.set({ id: 'p', every: 1_000, catchUp: 'all', payload: { type: 'tick' } });
  await advance(rt, clock, 1_000);
  const paused = await rt.schedules.pause('p');
  assert.equal(paused.paused, true);
  assert.equal(paused.nextAt, undefined);
  await advance(rt, clock, 1_000, 3);
  assert.equal(firings.length, 1);
  // Declaring it again (as every node does at start) does not resume it.
  await rt.schedules.set({ id: 'p', every: 1_000, catchUp: 'all', payload: { type: 'tick' } });
  await advance(rt, clock, 1_000);
  assert.equal(firings.length, 1);
  await rt.schedules.resume('p');
  await advance(rt, clock, 1_000, 2);
  assert.deepEqual(firings.map((f) => f.tick), [1_800_000_001_000, 1_800_000_006_000, 1_800_000_007_000]);
  await assert.rejects(rt.schedules.pause('nope'), { code: 'UNKNOWN_SCHEDULE' });
  assert.equal(await rt.schedules.remove('p'), true);
  assert.equal(await rt.schedules.remove('p'), false);
  await advance(rt, clock, 1_000, 2);
  assert.equal(firings.length, 3);
  assert.deepEqual(rt.schedules.list(), []);
});

test('startAt and endAt bound the firings', async () => {
  const { clock, rt, firings } = started();
  await rt.ready();
  await rt.schedules.set({ id: 'b', every: 1_000, startAt: 1_800_000_002_500, endAt: 1_800_000_004_500, payload: { type: 'tick' } });
  await advance(rt, clock, 1_000, 6);
  assert.deepEqual(firings.map((f) => f.tick), [1_800_000_002_500, 1_800_000_003_500]);
  assert.equal(rt.schedules.get('b')?.nextAt, undefined);
});

test('bad schedules are refused with every problem named, and change nothing', async () => {
  const { rt } = started();
  await rt.ready();
  const bad = { id: '', cron: '* *', every: 0, timezone: 'Mars/Olympus', payload: { type: 'missing', runAt: 5, idempotencyKey: 'k' }, overlap: 'sometimes', catchUp: 'never', endAt: 'soon', colour: 'red' };
  const error = await rt.schedules.set(bad as never).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ValidationError);
  assert.equal(error.code, 'VALIDATION_FAILED');
  assert.deepEqual(new Set(error.fields), new Set(['colour', 'id', 'cron', 'every', 'timezone', 'endAt', 'overlap', 'catchUp', 'payload.runAt', 'payload.idempotencyKey', 'payload.type']));
  await assert.rejects(rt.schedules.set({ id: 'x', payload: { type: 'tick' } }), (e: ValidationError) => e.fields.includes('cron'));
  await assert.rejects(rt.schedules.set({ id: 'x', every: 1_000, timezone: 'UTC', payload: { type: 'tick' } }), (e: ValidationError) => e.fields.includes('timezone'));
  assert.deepEqual(rt.schedules.list(), []);
});

for (const [catchUp, expected] of [['all', 5], ['latest', 1], ['none', 0]] as const) {
  test(`on Redis, a restart repeats no tick and fires ${expected} of the 5 missed with catchUp ${catchUp}`, async () => {
    const prefix = freshPrefix('sched');
    prefixes.push(prefix);
    const clock = new SimulatedClock(1_800_000_000_000);
    const declare = { id: 'r', every: 10_000, catchUp, payload: { type: 'tick' } } as const;
    const first = started({ clock, redis: { url: REDIS_URL, prefix } });
    await first.rt.ready();
    await first.rt.schedules.set(declare);
    await advance(first.rt, clock, 10_000, 3);
    assert.equal(first.firings.length, 3);
    await first.rt.stop();
    // Nothing runs for 50 s: five ticks fall due meanwhile, the latest 5 s before the restart.
    clock.advance(55_000);
    const second = started({ clock, redis: { url: REDIS_URL, prefix } });
    await second.rt.ready();
    await second.rt.schedules.set(declare);
    await advance(second.rt, clock, 0);
    assert.deepEqual(second.firings.map((f) => f.tick), [4, 5, 6, 7, 8].slice(5 - expected).map((n) => 1_800_000_000_000 + n * 10_000));
    await advance(second.rt, clock, 10_000);
    const ticks = [...first.firings, ...second.firings].map((f) => f.tick);
    assert.equal(new Set(ticks).size, ticks.length, 'no tick fired twice');
    assert.equal(second.firings.at(-1)?.tick, 1_800_000_090_000);
  });
}

test('a firing refused on this node holds back only its own schedule: the others of its instant fire', async () => {
  const prefix = freshPrefix('sched-refused');
  prefixes.push(prefix);
  const clock = new SimulatedClock(1_800_000_000_000);
  // The first process declares a schedule of a type the second one has no handler for.
  const first = started({ clock, redis: { url: REDIS_URL, prefix } });
  first.rt.handle('elsewhere', () => undefined);
  await first.rt.ready();
  await first.rt.schedules.set({ id: 'orphan', every: 1_000, payload: { type: 'elsewhere' } });
  await first.rt.stop();
  const second = started({ clock, redis: { url: REDIS_URL, prefix } });
  await second.rt.ready();
  await second.rt.schedules.set({ id: 'beat', every: 1_000, payload: { type: 'tick' } });
  const orphanTick = second.rt.schedules.get('orphan')?.lastTick;
  await advance(second.rt, clock, 1_000, 3);
  assert.deepEqual(second.firings.map((f) => f.schedule), ['beat', 'beat', 'beat']);
  assert.equal(second.runs.length, 3);
  assert.equal(second.rt.schedules.get('orphan')?.lastTick, orphanTick, 'the refused schedule keeps its cursor before the tick');
});
