/**
 * Pause and resume a handler type, a client or the whole runtime: queued work stays queued and counted,
 * running work finishes, nothing fails; resuming starts what was held. Admin actions and the
 * paused-queues gauge.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Runtime } from '../src/index.ts';
import { advance, deferred, recordEvents, setup } from './helpers.ts';
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
  assert.deepEqual(rt.pause({ type: 'email' }), { all: false, types: ['email'], clients: [] });
  await rt.submitMany([{ type: 'email', data: 'e1' }, { type: 'report', data: 'r1' }, { type: 'email', data: 'e2' }]);
  await rt.idle();
  assert.deepEqual(ran, ['r1']);
  assert.equal(depth(rt), 2, 'held payloads are still queued');
  assert.equal(events.of('failed').length + events.of('skipped').length, 0);
  rt.resume({ type: 'email' });
  await rt.idle();
  assert.deepEqual(ran.sort(), ['e1', 'e2', 'r1']);
  assert.equal(depth(rt), 0);
  assert.throws(() => rt.pause({ type: '', clientId: 'x' } as never), (e: { code: string; fields: string[] }) => e.code === 'VALIDATION_FAILED' && e.fields.join() === 'type');
  assert.throws(() => rt.pause({ clientId: '' }), (e: { code: string; fields: string[] }) => e.code === 'VALIDATION_FAILED' && e.fields.join() === 'clientId');
  assert.throws(() => rt.pause({ client: 'x' } as never), (e: { code: string; fields: string[] }) => e.code === 'VALIDATION_FAILED' && e.fields.join() === 'client');
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
  assert.deepEqual(rt.paused(), { all: true, types: [], clients: [] });
  rt.resume();
  await Promise.all(ids.map((id) => rt.waitFor(id)));
  assert.deepEqual(ran.sort(), ['f1', 's1', 's2']);
});

test('admin: pause and resume need the token; the paused-queues gauge counts held queues', async () => {
  const s = (served = await serve({ partitions: 2 }, { token: TOKEN }));
  s.rt.handle('email', () => undefined);
  s.rt.handle('report', () => undefined);
  assert.equal((await s.call('/api/pause', post({ type: 'email' }, 'wrong-token-0123456789'))).status, 401);
  assert.deepEqual((await s.call('/api/pause', post({ type: 'email' }))).json, { all: false, types: ['email'], clients: [] });
  await s.rt.submitMany([
    { type: 'email', shardKey: 'a', priority: 'high' }, { type: 'email', shardKey: 'a', priority: 'low' }, { type: 'report', shardKey: 'a' },
  ]);
  await s.rt.idle();
  const gauge = async () => sampleValue(samples((await s.call('/metrics')).text), 'triage_paused_queues');
  assert.equal(await gauge(), 2, 'two tiers of one partition hold email');
  assert.deepEqual((await s.call('/api/pauses')).json, { all: false, types: ['email'], clients: [] });
  assert.equal((await s.call('/api/pause', post({ colour: 'red' }))).status, 400);
  assert.deepEqual((await s.call('/api/resume', post({ type: 'email' }))).json, { all: false, types: [], clients: [] });
  await s.rt.idle();
  assert.equal(await gauge(), 0);
  assert.equal(depth(s.rt), 0);
});

test('a paused client stays queued and counted while other clients run, queued before or after the pause; resumed, it runs', async () => {
  const { rt, clock } = setup({ partitions: 4, concurrency: 2 });
  runtimes.push(rt);
  const ran: string[] = [];
  const gate = deferred();
  rt.handle('sync', async (data: string) => {
    ran.push(data);
    await gate.promise;
  });
  const events = recordEvents(rt);
  // Two slots, both busy: what follows waits in the queues when the pause comes.
  await rt.submitMany([{ type: 'sync', data: 'busy1', clientId: 'other' }, { type: 'sync', data: 'busy2', clientId: 'other' }]);
  await rt.idle();
  const before = await rt.submitMany(['a1', 'a2', 'a3'].map((data) => ({ type: 'sync', data, clientId: 'acme' })));
  assert.deepEqual(rt.pause({ clientId: 'acme' }), { all: false, types: [], clients: [{ clientId: 'acme' }] });
  const after = await rt.submitMany([{ type: 'sync', data: 'a4', clientId: 'acme', delay: 10 }, { type: 'sync', data: 'o1', clientId: 'other' }]);
  gate.resolve(undefined);
  await advance(rt, clock, 10); // a4 falls due while its client is paused
  assert.deepEqual(ran.sort(), ['busy1', 'busy2', 'o1']);
  assert.equal(depth(rt), 4, 'held payloads are still queued and counted');
  assert.deepEqual((await Promise.all([...before, ...after.slice(0, 1)].map((id) => rt.get(id)))).map((v) => v?.status), ['queued', 'queued', 'queued', 'queued']);
  assert.equal(await rt.cancel(before[2]!), true, 'a held payload can be cancelled');
  assert.equal(depth(rt), 3);
  rt.resume({ clientId: 'acme' });
  await rt.idle();
  await Promise.all([before[0]!, before[1]!, after[0]!].map((id) => rt.waitFor(id)));
  assert.deepEqual(ran.sort(), ['a1', 'a2', 'a4', 'busy1', 'busy2', 'o1']);
  assert.equal(depth(rt), 0);
  assert.equal(events.of('failed').length + events.of('skipped').length, 0);
});

test('a client paused for one handler type runs its other types; resuming that type lifts it', async () => {
  const { rt } = setup();
  runtimes.push(rt);
  const ran: string[] = [];
  rt.handle('email', (data: string) => void ran.push(data));
  rt.handle('report', (data: string) => void ran.push(data));
  rt.pause({ clientId: 'acme', type: 'email' });
  await rt.submitMany([
    { type: 'email', data: 'acme-email', clientId: 'acme' }, { type: 'report', data: 'acme-report', clientId: 'acme' },
    { type: 'email', data: 'other-email', clientId: 'other' },
  ]);
  await rt.idle();
  assert.deepEqual(ran.sort(), ['acme-report', 'other-email']);
  assert.deepEqual(rt.paused().clients, [{ clientId: 'acme', type: 'email' }]);
  rt.resume({ clientId: 'acme', type: 'email' });
  await rt.idle();
  assert.deepEqual(ran.sort(), ['acme-email', 'acme-report', 'other-email']);
  assert.deepEqual(rt.paused().clients, []);
});

test('admin: a client pause by API; the paused-queues gauge counts its held queues', async () => {
  const s = (served = await serve({ partitions: 2 }, { token: TOKEN }));
  s.rt.handle('email', () => undefined);
  assert.equal((await s.call('/api/pause', post({ clientId: 'acme' }, 'wrong-token-0123456789'))).status, 401);
  assert.deepEqual((await s.call('/api/pause', post({ clientId: 'acme' }))).json, { all: false, types: [], clients: [{ clientId: 'acme' }] });
  await s.rt.submitMany([
    { type: 'email', clientId: 'acme', shardKey: 'a', priority: 'high' }, { type: 'email', clientId: 'acme', shardKey: 'a', priority: 'low' },
    { type: 'email', clientId: 'other', shardKey: 'a' },
  ]);
  await s.rt.idle();
  const gauge = async () => sampleValue(samples((await s.call('/metrics')).text), 'triage_paused_queues');
  assert.equal(await gauge(), 2, 'two tiers of one partition hold acme');
  assert.equal(depth(s.rt), 2);
  assert.equal((await s.call('/api/pause', post({ clientId: 7 }))).status, 400);
  assert.deepEqual((await s.call('/api/resume', post({ clientId: 'acme' }))).json, { all: false, types: [], clients: [] });
  await s.rt.idle();
  assert.equal(await gauge(), 0);
  assert.equal(depth(s.rt), 0);
});
