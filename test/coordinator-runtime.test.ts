import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError, ExpiredError, InvalidLevelError, type HandlerContext } from '../src/index.ts';
import { advance, deferred, recordEvents } from './helpers.ts';
import { advanceUntil, coordinated, sleepOn } from './coordinator-support.ts';

describe('coordinator in a runtime', () => {
  test('critical: due low payloads wait in the ledger (client told), medium runs degraded; normal again: made up, boosted', async () => {
    const { rt, clock, sampler, decisions } = coordinated({ concurrency: 1, partitions: 2, coordinator: { makeup: { boost: 2 } } });
    const gate = deferred();
    const runs: Array<{ id: string; degraded: boolean }> = [];
    rt.handle('gate', () => gate.promise);
    rt.handle('job', async (ms: number, ctx: HandlerContext) => {
      runs.push({ id: ctx.id, degraded: ctx.degraded });
      await sleepOn(clock)(ms);
      return ctx.id;
    }, { timeout: 1_000, retries: 0 });
    const events = recordEvents(rt);
    const told: string[] = [];
    rt.client('acme').on('skipped', (e) => told.push(`${e.id}:${e.ledgerId}`));

    await rt.submit({ type: 'gate', priority: 'critical' });
    const low = await rt.submitMany([1, 2, 3].map(() => ({ type: 'job', data: 10, priority: 2, clientId: 'acme' })));
    const mediumOk = await rt.submit({ type: 'job', data: 400, priority: 'medium' });
    const mediumSlow = await rt.submit({ type: 'job', data: 700, priority: 'medium' });
    await rt.idle();

    sampler.set({ eventLoopDelayMs: 500 });
    await advance(rt, clock, 100);
    assert.equal(rt.coordinator?.level(), 'critical');
    const skipped = events.of('skipped');
    assert.deepEqual(skipped.map((e) => e.id).sort(), [...low].sort(), 'every queued low payload skipped, and nothing else');
    assert.ok(skipped.every((e) => e.ledgerId !== undefined && /critical load/.test(e.reason ?? '')));
    assert.equal(told.length, 3, 'the client heard it');
    const view = await rt.get(low[0] as string);
    assert.equal(view?.status, 'deferred');
    assert.equal(view?.ledgerId, skipped.find((e) => e.id === low[0])?.ledgerId);
    const ledger = rt.coordinator?.ledger();
    assert.equal(ledger?.total, 3);
    assert.deepEqual(ledger?.entries.map((e) => e.id).sort(), [...low].sort());
    assert.deepEqual(decisions.map((d) => d.action), ['level', 'degrade', 'degrade']);

    const lateLow = await rt.submit({ type: 'job', data: 10, priority: 'low' });
    await rt.idle();
    assert.equal((await rt.get(lateLow))?.status, 'deferred', 'a low payload arriving at critical goes straight to the ledger');
    const waiting = rt.waitFor<string>(low[0] as string); // a load skip is not an end

    gate.resolve(undefined);
    await advance(rt, clock, 100, 12);
    assert.deepEqual(runs.map((r) => r.degraded), [true, true], 'medium ran degraded');
    assert.equal(events.of('degraded').length, 2);
    assert.equal((await rt.get(mediumOk))?.status, 'completed');
    const slow = await rt.get(mediumSlow);
    assert.equal(slow?.status, 'failed', 'its timeout was halved: 1,000 → 500 ms');
    assert.equal(slow?.error?.code, 'TIMEOUT');
    assert.equal(slow?.degraded, true);

    sampler.reset();
    const took = await advanceUntil(rt, clock, () => rt.coordinator?.ledger().total === 0 && events.of('completed').length === 6); // gate, medium, four low
    assert.ok(took < 2_000, `made up within ${took} ms of calm`);
    const rescheduled = events.of('rescheduled');
    assert.equal(rescheduled.length, 4);
    assert.ok(rescheduled.every((e) => e.priority === 4 && e.tier === 'medium' && e.ledgerId !== undefined), 'priority 2 + 2: routed as medium');
    assert.equal(await waiting, low[0]);
    for (const id of [...low, lateLow]) assert.equal((await rt.get(id))?.status, 'completed');
    const after = decisions.slice(3);
    assert.deepEqual(after.filter((d) => d.action === 'level').at(-1)?.level, 'normal');
    assert.deepEqual(after.filter((d) => d.action === 'restore').map((d) => d.tier).sort(), ['low', 'medium']);
    const makeups = after.filter((d) => d.action === 'makeup');
    assert.ok(makeups.length >= 1 && after.indexOf(makeups[0]!) > after.findIndex((d) => d.action === 'restore' && d.tier === 'low'), 'make-up only once low is restored');
    assert.equal(makeups.reduce((n, d) => n + (d.count ?? 0), 0), 4, 'the make-up covered the whole ledger, in paced batches');
    assert.deepEqual(rt.coordinator?.decisions(1).map((d) => d.action), ['makeup']);
    await rt.stop();
  });

  test('deadlines: a payload whose deadline passes in the ledger expires, and its client is told', async () => {
    const { rt, clock, sampler } = coordinated({ concurrency: 1 });
    rt.handle('job', () => 'done');
    const events = recordEvents(rt);
    sampler.set({ eventLoopDelayMs: 1_000 });
    await rt.submit({ type: 'job', priority: 'low' }); // starts the coordinator
    await advance(rt, clock, 100);
    assert.equal(rt.coordinator?.level(), 'critical');
    const soon = await rt.submit({ type: 'job', priority: 'low', deadline: clock.now() + 1_000 });
    const later = await rt.submit({ type: 'job', priority: 'low', deadline: clock.now() + 60_000 });
    await rt.idle();
    const expired = rt.waitFor(soon).catch((e: unknown) => e);
    await advance(rt, clock, 450, 2);
    assert.equal((await rt.get(soon))?.status, 'deferred');
    await advance(rt, clock, 100);
    const error = await expired;
    assert.ok(error instanceof ExpiredError, String(error));
    assert.equal(error.code, 'EXPIRED');
    assert.equal((await rt.get(soon))?.status, 'expired');
    assert.match(events.of('expired', soon)[0]?.reason ?? '', /deadline passed in the ledger/);
    assert.equal((await rt.get(later))?.status, 'deferred', 'the other still waits');
    sampler.reset();
    await advanceUntil(rt, clock, () => rt.coordinator?.ledger().total === 0);
    await rt.idle();
    assert.equal((await rt.get(later))?.status, 'completed');
    await rt.stop();
  });

  test('a queued payload past its deadline expires instead of starting', async () => {
    const { rt, clock } = coordinated({ concurrency: 1 });
    const gate = deferred();
    rt.handle('gate', () => gate.promise);
    rt.handle('job', () => 'ran');
    await rt.submit({ type: 'gate', priority: 'high' });
    const id = await rt.submit({ type: 'job', deadline: clock.now() + 50 });
    await advance(rt, clock, 100);
    gate.resolve(undefined);
    await rt.idle();
    await assert.rejects(rt.waitFor(id), { code: 'EXPIRED' });
    assert.equal(rt.stats().partitions.reduce((n, p) => n + p.flow.expired, 0), 1);
    await rt.stop();
  });

  test('operators: pin and release, reschedule now at critical, cancel from the ledger; an unknown level is refused', async () => {
    const { rt, clock, decisions } = coordinated({ concurrency: 1 });
    const gate = deferred();
    rt.handle('gate', () => gate.promise);
    rt.handle('job', (n: number) => n);
    await rt.submit({ type: 'gate', priority: 'high' });
    const ids = await rt.submitMany([1, 2, 3].map((n) => ({ type: 'job', data: n, priority: 1 })));
    await rt.idle();
    assert.throws(() => rt.coordinator?.pin('panic' as never), (e: unknown) => e instanceof InvalidLevelError && e.code === 'INVALID_LEVEL');
    rt.coordinator?.pin('critical');
    await rt.idle();
    assert.equal(rt.coordinator?.level(), 'critical');
    assert.equal(rt.coordinator?.pinned(), true);
    assert.equal(rt.coordinator?.ledger().total, 3, 'pinned critical skips low even with a quiet process');
    await advance(rt, clock, 100, 10);
    assert.equal(rt.coordinator?.level(), 'critical', 'the pin holds');

    const cancelled = rt.waitFor(ids[0] as string).catch((e: unknown) => e);
    assert.equal(await rt.cancel(ids[0] as string), true);
    assert.ok((await cancelled) instanceof CancelledError);
    await rt.idle();
    assert.equal(rt.coordinator?.ledger().total, 2, 'a cancelled payload leaves the ledger');

    assert.equal(rt.coordinator?.rescheduleNow(), 2);
    await rt.idle();
    assert.equal(rt.coordinator?.ledger().total, 0);
    assert.deepEqual((await Promise.all(ids.slice(1).map((id) => rt.get(id)))).map((v) => v?.status), ['queued', 'queued'], 'queued even though low skips');
    gate.resolve(undefined);
    await rt.idle();
    assert.deepEqual(await Promise.all(ids.slice(1).map((id) => rt.waitFor(id))), [2, 3]);

    rt.coordinator?.release();
    await rt.idle();
    assert.equal(rt.coordinator?.pinned(), false);
    await advanceUntil(rt, clock, () => rt.coordinator?.level() === 'normal');
    assert.deepEqual(decisions.filter((d) => ['pin', 'release', 'makeup'].includes(d.action)).map((d) => d.action), ['pin', 'makeup', 'release']);
    assert.match(decisions.find((d) => d.action === 'makeup')?.reason ?? '', /an operator asked/);
    await rt.stop();
  });

  test('a degraded tier yields its aging promotion: an overdue medium no longer jumps above high work', async () => {
    for (const pin of [undefined, 'critical'] as const) {
      const { rt, clock } = coordinated({ concurrency: 1, maxWait: { medium: 100 } });
      const gate = deferred();
      const order: string[] = [];
      rt.handle('gate', () => gate.promise);
      rt.handle('job', (name: string) => void order.push(name));
      await rt.submit({ type: 'gate', priority: 'critical' });
      await rt.submit({ type: 'job', data: 'medium', priority: 'medium' });
      if (pin) rt.coordinator?.pin(pin);
      await advance(rt, clock, 500); // the medium payload has waited 5 × its maxWait
      await rt.submit({ type: 'job', data: 'high', priority: 'high' });
      await rt.idle();
      gate.resolve(undefined);
      await advance(rt, clock, 10, 3);
      assert.deepEqual(order, pin ? ['high', 'medium'] : ['medium', 'high'], `pinned ${pin ?? 'nothing'}`);
      await rt.stop();
    }
  });

  test('coordinator: false — nothing is skipped or degraded, and the API says so', async () => {
    const { rt, clock, sampler } = coordinated({ coordinator: false, concurrency: 2 });
    rt.handle('job', (_: unknown, ctx: HandlerContext) => ctx.degraded);
    sampler.set({ eventLoopDelayMs: 10_000 });
    const ids = await rt.submitMany([{ type: 'job', priority: 'low' }, { type: 'job', priority: 'medium' }]);
    await advance(rt, clock, 100, 5);
    assert.deepEqual(await Promise.all(ids.map((id) => rt.waitFor(id))), [false, false]);
    assert.equal(rt.coordinator, undefined);
    assert.equal(rt.tree().some((a) => a.kind === 'coordinator'), false);
    await rt.stop();
  });
});
