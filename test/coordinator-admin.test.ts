import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferred } from './helpers.ts';
import { post, serve, TOKEN } from './admin-support.ts';

test('admin endpoint with the coordinator: load, decisions and ledger are real; pin, release, reschedule and throttle act', async () => {
  const s = await serve({ concurrency: 1 }, { token: TOKEN });
  try {
    const gate = deferred();
    s.rt.handle('gate', () => gate.promise);
    s.rt.handle('job', () => 'ok');
    await s.rt.submit({ type: 'gate', priority: 'high' });
    const low = await s.rt.submitMany([1, 2].map(() => ({ type: 'job', priority: 'low' as const, clientId: 'acme' })));
    await s.rt.idle();

    const pinned = await s.call('/api/load/pin', post({ level: 'critical' }));
    assert.equal(pinned.status, 200);
    assert.deepEqual([pinned.json.level, pinned.json.pinned], ['critical', true]);
    await s.rt.idle();
    const load = (await s.call('/api/load')).json;
    assert.deepEqual([load.level, load.pinned, load.lowThrottle], ['critical', true, null]);
    assert.equal(typeof load.since, 'number');
    assert.deepEqual(load.decisions.map((d: { action: string }) => d.action), ['degrade', 'degrade', 'pin'], 'most recent first');
    const ledger = (await s.call('/api/ledger')).json;
    assert.equal(ledger.total, 2);
    assert.deepEqual(ledger.entries.map((e: { id: string; kind: string; clientId: string }) => [e.id, e.kind, e.clientId]).sort(), low.map((id) => [id, 'skipped', 'acme']).sort());

    const throttled = await s.call('/api/throttle/low', post({ perSecond: 5 }));
    assert.equal(throttled.json.lowThrottle, 5);
    assert.equal(s.rt.stats().pool.lowThrottle, 5, 'applied to the pool');
    assert.equal((await s.call('/api/throttle/low', post({ perSecond: null }))).json.lowThrottle, null);

    const rescheduled = await s.call('/api/ledger/reschedule', post());
    assert.deepEqual(rescheduled.json, { rescheduled: 2 });
    await s.rt.idle();
    assert.equal((await s.call('/api/ledger')).json.total, 0);
    const released = await s.call('/api/load/release', post());
    assert.equal(released.json.pinned, false);
    assert.deepEqual((await s.call('/api/decisions?limit=2')).json.decisions.map((d: { action: string }) => d.action), ['release', 'makeup']);
    gate.resolve(undefined);
    assert.deepEqual(await Promise.all(low.map((id) => s.rt.waitFor(id))), ['ok', 'ok']);
  } finally {
    await s.close();
  }
});
