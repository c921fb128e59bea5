/**
 * A schedule's ticks as pure functions: cron (five and six fields, timezones across DST), every,
 * startAt/endAt, and which due ticks fire under each catchUp policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CATCH_UP, nextTick, planTicks, type ScheduleSpec } from '../actors/schedule/state.ts';

const spec = (fields: Partial<ScheduleSpec>): ScheduleSpec => ({
  id: 's', cron: undefined, every: undefined, timezone: undefined, payload: { type: 't' },
  startAt: undefined, endAt: undefined, overlap: 'allow', catchUp: 'latest', ...fields,
});
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

function ticks(s: ScheduleSpec, from: number, n: number): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  let t: number | undefined = from;
  for (let i = 0; i < n && t !== undefined; i++) out.push(iso((t = nextTick(s, t))));
  return out;
}

test('a six-field cron ticks on seconds, a five-field one on minutes, strictly after the instant given', () => {
  assert.deepEqual(ticks(spec({ cron: '*/15 * * * * *' }), at('2026-01-01T00:00:00Z'), 3), ['2026-01-01T00:00:15.000Z', '2026-01-01T00:00:30.000Z', '2026-01-01T00:00:45.000Z']);
  assert.deepEqual(ticks(spec({ cron: '0 9 * * 1' }), at('2026-01-01T00:00:00Z'), 2), ['2026-01-05T09:00:00.000Z', '2026-01-12T09:00:00.000Z']);
});

test('a cron in a timezone follows its DST: a skipped wall time fires once at the gap, a repeated one once', () => {
  // New York springs forward on 2026-03-08 (02:00 → 03:00): 02:30 does not exist that day.
  const spring = spec({ cron: '30 2 * * *', timezone: 'America/New_York' });
  assert.deepEqual(ticks(spring, at('2026-03-06T12:00:00Z'), 3), ['2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']);
  // It falls back on 2026-11-01 (02:00 → 01:00): 01:30 happens twice and fires once.
  const fall = spec({ cron: '30 1 * * *', timezone: 'America/New_York' });
  assert.deepEqual(ticks(fall, at('2026-10-31T12:00:00Z'), 2), ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  // The same pattern in UTC does not move.
  assert.deepEqual(ticks(spec({ cron: '30 1 * * *' }), at('2026-10-31T12:00:00Z'), 2), ['2026-11-01T01:30:00.000Z', '2026-11-02T01:30:00.000Z']);
});

test('every ticks at multiples since the epoch, or since startAt, and stops before endAt', () => {
  assert.deepEqual(ticks(spec({ every: 1_000 }), 1_500, 2), [iso(2_000), iso(3_000)]);
  const bounded = spec({ every: 1_000, startAt: 10_250, endAt: 12_250 });
  assert.deepEqual(ticks(bounded, 0, 3), [iso(10_250), iso(11_250), undefined]);
  const cronBounded = spec({ cron: '* * * * * *', startAt: at('2026-01-01T00:00:10Z'), endAt: at('2026-01-01T00:00:12Z') });
  assert.deepEqual(ticks(cronBounded, at('2026-01-01T00:00:00Z'), 3), ['2026-01-01T00:00:10.000Z', '2026-01-01T00:00:11.000Z', undefined]);
});

test('catchUp: an on-time tick fires; missed ones are dropped (none), the latest fired (latest), or each fired (all)', () => {
  const every = (catchUp: ScheduleSpec['catchUp']) => spec({ every: 5_000, catchUp });
  // On time: the tick just due fires whatever the policy.
  assert.deepEqual(planTicks(every('none'), 5_000, 10_010), { fire: [10_000], dropped: 0, cursor: 10_000 });
  // Ten ticks missed, the latest 3.5 s ago: not on time.
  assert.deepEqual(planTicks(every('none'), 0, 53_500), { fire: [], dropped: 10, cursor: 50_000 });
  assert.deepEqual(planTicks(every('latest'), 0, 53_500), { fire: [50_000], dropped: 9, cursor: 50_000 });
  assert.deepEqual(planTicks(every('all'), 0, 53_500), { fire: [5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000], dropped: 0, cursor: 50_000 });
  // Nothing due: the cursor stays.
  assert.deepEqual(planTicks(every('all'), 5_000, 5_999), { fire: [], dropped: 0, cursor: 5_000 });
});

test('catchUp all fires at most the latest MAX_CATCH_UP ticks and counts the rest, without walking them', () => {
  const plan = planTicks(spec({ every: 1, catchUp: 'all' }), 0, 10_000_000);
  assert.equal(plan.fire.length, MAX_CATCH_UP + 1);
  assert.equal(plan.fire.at(-1), 10_000_000);
  assert.equal(plan.dropped + plan.fire.length, 10_000_000);
  const cron = planTicks(spec({ cron: '* * * * * *', catchUp: 'all' }), at('2026-01-01T00:00:00Z'), at('2026-01-01T00:30:00Z'));
  assert.equal(cron.fire.length, MAX_CATCH_UP + 1);
  assert.equal(cron.dropped + cron.fire.length, 1_800);
});
