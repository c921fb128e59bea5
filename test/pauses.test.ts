/**
 * Pause and resume a handler type or the whole runtime: queued work stays queued and counted,
 * running work finishes, nothing fails; resuming starts what was held. Admin actions and the
 * paused-queues gauge.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Runtime } from '../src/index.ts';
import { deferred, recordEvents, setup } from './helpers.ts';
import { post, samples, sampleValue, serve, TOKEN, type Served } from './admin-support.ts';

const runtimes: Runtime[] = [];
let served: Served | undefined;
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.stop()));
  await served?.close();
  served = undefined;
});

const depth = (rt: Runtime) => rt.stats().partitions.reduce((n, p) => n + p.depth.critical + p.depth.high + p.depth.medium + p.depth.low, 0);

test('a paused type stays queued and counted while other types run; resumed, it runs; nothing fails', async () => {
  const { rt } = setup();
  runtimes.push(rt);
  const ran: string[] = [];
  rt.handle('email', (data: string) => void ran.push(data));
  rt.handle('report', (data: string) => void ran.push(data));
  const events = recordEvents(rt);
  assert.deepEqual(rt.pause({ type: 'email' }), { all: false, types: ['email'] });
  await rt.submitMany([{ type: 'email', data: 'e1' }, { type: 'report', data: 'r1' }, { type: 'email', data: 'e2' }]);
  await rt.idle();
  assert.deepEqual(ran, ['r1']);
  assert.equal(depth(rt), 2, 'held payloads are still queued');
  assert.equal(events.of('failed').length + events.of('skipped').length, 0);
  rt.resume({ type: 'email' });
  await rt.idle();
  assert.deepEqual(ran.sort(), ['e1', 'e2', 'r1']);
  assert.equal(depth(rt), 0);
  assert.throws(() => rt.pause({ type: '', clientId: 'x' } as never), (e: { code: string; fields: string[] }) => e.code === 'VALIDATION_FAILED' && e.fields.join() === 'clientId,type');
});

test('pausing the whole runtime holds every type; what runs finishes; resume starts the rest', async () => {
  const { rt } = setup({ concurrency: 4 });
  runtimes.push(rt);
  const gate = deferred();
  const ran: string[] = [];
  rt.handle('slow', async (data: string) => {
    ran.push(data);
    await gate.promise;
  });
  rt.handle('fast', (data: string) => void ran.push(data));
  const running = await rt.submit({ type: 'slow', data: 's1' });
  await rt.idle();
  rt.pause();
  const ids = await rt.submitMany([{ type: 'fast', data: 'f1' }, { type: 'slow', data: 's2' }]);
  gate.resolve(undefined);
  await rt.waitFor(running);
  await rt.idle();
  assert.deepEqual(ran, ['s1']);
  assert.deepEqual((await Promise.all(ids.map((id) => rt.get(id)))).map((v) => v?.status), ['queued', 'queued']);
  assert.deepEqual(rt.paused(), { all: true, types: [] });
  rt.resume();
  await Promise.all(ids.map((id) => rt.waitFor(id)));
  assert.deepEqual(ran.sort(), ['f1', 's1', 's2']);
});

test('admin: pause and resume need the token; the paused-queues gauge counts held queues', async () => {
  const s = (served = await serve({ partitions: 2 }, { token: TOKEN }));
  s.rt.handle('email', () => undefined);
  s.rt.handle('report', () => undefined);
  assert.equal((await s.call('/api/pause', post({ type: 'email' }, 'wrong-token-0123456789'))).status, 401);
  assert.deepEqual((await s.call('/api/pause', post({ type: 'email' }))).json, { all: false, types: ['email'] });
  await s.rt.submitMany([
    { type: 'email', shardKey: 'a', priority: 'high' }, { type: 'email', shardKey: 'a', priority: 'low' }, { type: 'report', shardKey: 'a' },
  ]);
  await s.rt.idle();
  const gauge = async () => sampleValue(samples((await s.call('/metrics')).text), 'triage_paused_queues');
  assert.equal(await gauge(), 2, 'two tiers of one partition hold email');
  assert.deepEqual((await s.call('/api/pauses')).json, { all: false, types: ['email'] });
  assert.equal((await s.call('/api/pause', post({ colour: 'red' }))).status, 400);
  assert.deepEqual((await s.call('/api/resume', post({ type: 'email' }))).json, { all: false, types: [] });
  await s.rt.idle();
  assert.equal(await gauge(), 0);
  assert.equal(depth(s.rt), 0);
});
