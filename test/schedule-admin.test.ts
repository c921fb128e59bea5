/**
 * Schedules on the admin endpoint: listed with their next fire time, paused and resumed by an
 * operator (bearer token), unknown ids answered 404; and the lateness metric.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { advance } from './helpers.ts';
import { post, samples, sampleValue, serve, TOKEN, type Served } from './admin-support.ts';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

test('GET /api/schedules lists schedules with their next fire time; pause and resume need the token', async () => {
  const s = (served = await serve({}, { token: TOKEN }));
  s.rt.handle('report', () => 'sent');
  const start = s.clock.now();
  await s.rt.schedules.set({ id: 'daily report', cron: '0 0 6 * * *', timezone: 'Europe/Paris', payload: { type: 'report' } });
  await s.rt.schedules.set({ id: 'pulse', every: 1_000, payload: { type: 'report' } });
  const listed = (await s.call('/api/schedules')).json;
  assert.equal(listed.total, 2);
  assert.deepEqual(listed.schedules.map((r: { id: string; timing: string; paused: boolean }) => [r.id, r.timing, r.paused]), [['daily report', '0 0 6 * * *', false], ['pulse', 'every 1000 ms', false]]);
  assert.equal(listed.schedules[1].nextAt, Math.floor(start / 1_000) * 1_000 + 1_000);
  assert.equal(listed.schedules[0].timezone, 'Europe/Paris');

  assert.equal((await s.call('/api/schedules/pulse/pause', post(undefined, 'wrong-token-0123456789'))).status, 401);
  assert.equal(s.rt.schedules.get('pulse')?.paused, false, 'a refused action changes nothing');
  const paused = await s.call('/api/schedules/pulse/pause', post());
  assert.equal(paused.status, 200);
  assert.deepEqual([paused.json.id, paused.json.paused, paused.json.nextAt], ['pulse', true, null]);
  assert.equal(s.rt.schedules.get('pulse')?.paused, true);
  const resumed = await s.call('/api/schedules/daily%20report/resume', post());
  assert.equal(resumed.json.paused, false);
  const unknown = await s.call('/api/schedules/nope/pause', post());
  assert.deepEqual([unknown.status, unknown.json.error.code], [404, 'UNKNOWN_SCHEDULE']);
  assert.equal((await s.call('/api/schedules?colour=red')).status, 400);
});

test('triage_schedule_lateness_seconds counts each firing with its lateness', async () => {
  const s = (served = await serve());
  s.rt.handle('tick', () => undefined);
  void s.rt.metrics;
  await s.rt.schedules.set({ id: 'm', every: 1_000, payload: { type: 'tick' } });
  const first = s.rt.schedules.get('m')?.nextAt ?? 0;
  // The first tick is due exactly as the clock gets there; the second 250 ms before it does.
  await advance(s.rt, s.clock, first - s.clock.now());
  await advance(s.rt, s.clock, 1_250);
  const text = (await s.call('/metrics')).text;
  const all = samples(text);
  assert.equal(sampleValue(all, 'triage_schedule_lateness_seconds_count'), 2);
  assert.equal(sampleValue(all, 'triage_schedule_lateness_seconds_bucket', { le: '0.001' }), 1);
  assert.equal(sampleValue(all, 'triage_schedule_lateness_seconds_bucket', { le: '0.25' }), 2);
});
