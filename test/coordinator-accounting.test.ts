import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HandlerContext, PayloadEvent, PayloadInput, Tier } from '../src/index.ts';
import { prng } from './helpers.ts';
import { coordinated, sleepOn } from './coordinator-support.ts';

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);
const TIERS: Tier[] = ['critical', 'high', 'medium', 'low', 'low', 'low'];

test('scripted overload: every accepted payload ends completed, failed, cancelled or expired, or waits in the ledger; none lost, none run twice', async () => {
  const rnd = prng(0xc0ffee);
  const { rt, clock, sampler, decisions } = coordinated({
    partitions: 4, concurrency: 4, retainTerminal: 1_000_000, random: prng(7),
    handlerDefaults: { timeout: 400, retries: 1, backoff: { initialMs: 50, jitter: 0 } },
  });
  const sleep = sleepOn(clock);
  const invocations = new Map<string, number>(); // `${id}#${attempt}` → calls
  rt.handle('work', async (ms: number, ctx: HandlerContext) => {
    const key = `${ctx.id}#${ctx.attempt}`;
    invocations.set(key, (invocations.get(key) ?? 0) + 1);
    await sleep(ctx.degraded ? ms / 2 : ms);
    if (ms % 7 === 0 && ctx.attempt === 1) throw new Error('flaky');
  });
  const events: PayloadEvent[] = [];
  rt.events.on('*', (e) => events.push(e));

  const accepted: string[] = [];
  const input = (): PayloadInput => ({
    type: 'work',
    data: 20 + Math.floor(rnd() * 200),
    priority: TIERS[Math.floor(rnd() * TIERS.length)] as Tier,
    ...(rnd() < 0.2 && { deadline: clock.now() + 300 + Math.floor(rnd() * 3_000) }),
    ...(rnd() < 0.1 && { delay: Math.floor(rnd() * 500) }),
  });
  let midCheck = false;
  for (let step = 0; step < 120; step++) {
    if (step === 20) sampler.set({ eventLoopDelayMs: 450 }); // overload for 3 s of simulated time
    if (step === 80) sampler.set({ eventLoopDelayMs: 150 }); // eases to elevated for 1 s
    if (step === 100) sampler.reset();
    const n = Math.floor(rnd() * 8);
    if (n > 0) accepted.push(...(await rt.submitMany(Array.from({ length: n }, input))));
    if (accepted.length > 0 && rnd() < 0.3) await rt.cancel(accepted[Math.floor(rnd() * accepted.length)] as string);
    clock.advance(50);
    await rt.idle();

    if (step === 60) {
      // Mid-overload: the ledger and the partitions agree on who waits in it.
      midCheck = true;
      assert.equal(rt.coordinator?.level(), 'critical');
      const views = await Promise.all(accepted.map((id) => rt.get(id)));
      const deferred = views.filter((v) => v?.status === 'deferred').map((v) => v?.id).sort();
      assert.ok(deferred.length > 10, `${deferred.length} waiting in the ledger`);
      assert.deepEqual(rt.coordinator?.ledger(1e6).entries.map((e) => e.id).sort(), deferred);
      assert.ok(views.every((v) => v !== undefined), 'nothing accepted is unknown');
    }
  }
  assert.ok(midCheck);

  // Calm: the ledger drains and everything settles.
  for (let i = 0; i < 2_000; i++) {
    const settled = (rt.coordinator?.ledger(0).total ?? 1) === 0 && rt.stats().partitions.every((p) =>
      p.running === 0 && p.delayed === 0 && p.depth.critical + p.depth.high + p.depth.medium + p.depth.low === 0);
    if (settled) break;
    clock.advance(25);
    await rt.idle();
  }
  assert.equal(rt.coordinator?.ledger(0).total, 0, 'the ledger drained');

  const unique = new Set(accepted);
  const views = await Promise.all([...unique].map((id) => rt.get(id)));
  const byId = new Map<string, PayloadEvent[]>();
  for (const e of events) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
  for (const view of views) {
    assert.ok(view && TERMINAL.has(view.status), `${view?.id} ended: ${view?.status}`);
    const list = byId.get(view.id) ?? [];
    const ends = list.filter((e) => TERMINAL.has(e.type));
    assert.equal(ends.length, 1, `${view.id}: ${list.map((e) => e.type).join(',')}`);
    assert.equal(ends[0]?.type, view.status);
    assert.equal(list.at(-1), ends[0], `${view.id}: nothing after its end`);
    for (const skip of list.filter((e) => e.type === 'skipped')) assert.ok(skip.ledgerId, 'every skip went to the ledger');
    // Each skip is followed by exactly one way out of the ledger: rescheduled, expired or cancelled.
    const skips = list.filter((e) => e.type === 'skipped').length;
    const outs = list.filter((e, i) => (e.type === 'rescheduled' || e.type === 'expired' || e.type === 'cancelled') && list[i - 1]?.type === 'skipped').length;
    assert.equal(outs, skips, `${view.id}: ${list.map((e) => e.type).join(',')}`);
  }
  for (const [key, calls] of invocations) assert.equal(calls, 1, `${key} ran ${calls} times`);
  const starts = events.filter((e) => e.type === 'started');
  assert.equal(new Set(starts.map((e) => `${e.id}#${e.attempt}`)).size, starts.length, 'no attempt started twice');
  assert.equal(starts.length, invocations.size);

  const t = rt.stats().partitions.reduce(
    (sum, p) => ({
      accepted: sum.accepted + p.totals.accepted, ended: sum.ended + p.totals.completed + p.totals.failed + p.totals.cancelled + p.flow.expired,
      deferred: sum.deferred + p.flow.deferred, rescheduled: sum.rescheduled + p.flow.rescheduled, degraded: sum.degraded + p.flow.degraded,
    }),
    { accepted: 0, ended: 0, deferred: 0, rescheduled: 0, degraded: 0 },
  );
  assert.equal(t.accepted, unique.size);
  assert.equal(t.ended, t.accepted, 'accepted = completed + failed + cancelled + expired');
  const ledger = rt.coordinator?.state().ledger.totals;
  assert.equal(ledger?.added, t.deferred);
  assert.equal(ledger?.added, (ledger?.rescheduled ?? 0) + (ledger?.expired ?? 0) + (ledger?.cancelled ?? 0), 'every ledger entry left it one explicit way');
  // The scenario really went through every path.
  const count = (type: string) => events.filter((e) => e.type === type).length;
  assert.ok(t.deferred > 20 && t.rescheduled > 20 && t.degraded > 5, JSON.stringify(t));
  assert.ok(count('expired') > 0 && count('cancelled') > 0 && count('failed') + count('retrying') > 0, 'expiries, cancels, failures');
  assert.ok((ledger?.expired ?? 0) > 0 && (ledger?.cancelled ?? 0) > 0, JSON.stringify(ledger));
  assert.deepEqual([...new Set(decisions.filter((d) => d.action === 'level').map((d) => d.level))].sort(), ['critical', 'elevated', 'normal']);
  await rt.stop();
});
