import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, type Runtime } from '../src/index.ts';
import etl from '../workflows/etl.ts';
import { handlers as etlHandlers, row } from '../workflows/etl.handlers.ts';
import orderFulfilment from '../workflows/order-fulfilment.ts';
import { makeHandlers as makeOrderHandlers, makeStore } from '../workflows/order-fulfilment.handlers.ts';
import planning from '../workflows/planning.ts';
import { handlers as planningHandlers, type Plan, type Variant } from '../workflows/planning.handlers.ts';
import { coordinated } from './coordinator-support.ts';
import { advance, recordEvents, setup } from './helpers.ts';

const register = (rt: Runtime, handlers: Record<string, unknown>) => {
  for (const [type, fn] of Object.entries(handlers)) rt.handle(type, fn as never, { retries: 0 });
};

describe('workflows/planning.ts', () => {
  test('the requested variant finishes before its speculative siblings on a busy pool', async () => {
    const { rt } = setup({ concurrency: 4 }); // one slot stays reserved for high work
    const finished: string[] = [];
    rt.handle('planning.variants', planningHandlers['planning.variants']);
    rt.handle('planning.present', planningHandlers['planning.present']);
    rt.handle('planning.solve', async (variant: Variant, ctx) => {
      const plan: Plan = await planningHandlers['planning.solve'](variant, ctx);
      finished.push(variant.label);
      return plan;
    });
    const events = recordEvents(rt);
    // Background work at low priority keeps every slot low work may use busy.
    rt.handle('background', () => new Promise((resolve) => setTimeout(resolve, 3)));
    const background = await rt.submitMany(Array.from({ length: 40 }, () => ({ type: 'background', priority: 'low' as const })));

    const id = await rt.workflows.start(planning, { user: 'ada', destination: 'Lisbon', days: 4, budget: 600, siblings: 6 });
    const result = await rt.workflows.waitFor<{ user: string; plan: Plan; alternatives: Array<{ label: string }> }>(id);
    assert.equal(finished[0], 'requested', `finished in order ${finished.join(', ')}`);
    assert.equal(finished.length, 7);
    assert.equal(result.user, 'ada');
    assert.equal(result.plan.variant.label, 'requested');
    assert.equal(result.alternatives.length, 3);

    const steps = rt.workflows.get(id)?.steps ?? [];
    const requested = await rt.get(steps.find((s) => s.name === 'requested')?.payloads[0] as string);
    const speculative = await Promise.all((steps.find((s) => s.name === 'speculative')?.payloads ?? []).map((p) => rt.get(p)));
    assert.equal(requested?.tier, 'high');
    assert.ok(speculative.length === 6 && speculative.every((v) => v?.tier === 'low'));
    const started = events.of('started').map((e) => e.id);
    const at = (payload: string | undefined) => started.indexOf(payload as string);
    const firstSpeculative = Math.min(...speculative.map((v) => at(v?.id)));
    assert.ok(at(requested?.id) < firstSpeculative, 'the requested variant started first');
    assert.ok(Math.max(...background.map(at)) > at(requested?.id), 'the pool was still busy with earlier low work when it started');
    await rt.stop();
  });

  test('a failed speculative sibling leaves a gap instead of failing the plan', async () => {
    const { rt } = setup();
    rt.handle('planning.variants', planningHandlers['planning.variants']);
    rt.handle('planning.present', planningHandlers['planning.present']);
    rt.handle('planning.solve', (variant: Variant, ctx) => {
      if (variant.label !== 'requested' && variant.days === 3) throw new Error('solver crashed');
      return planningHandlers['planning.solve'](variant, ctx);
    }, { retries: 0 });
    const id = await rt.workflows.start(planning, { user: 'bo', destination: 'Oslo', days: 4, budget: 800, siblings: 6 });
    const result = await rt.workflows.waitFor<{ alternatives: Array<{ label: string }> }>(id);
    assert.ok(result.alternatives.every((a) => !a.label.startsWith('3d')));
    assert.equal(rt.workflows.get(id)?.steps.find((s) => s.name === 'speculative')?.status, 'completed');
    await rt.stop();
  });
});

describe('workflows/planning.ts under critical load', () => {
  test('speculative siblings yield (skipped, not left waiting in the ledger) and the plan still comes', async () => {
    const { rt, clock, sampler } = coordinated();
    register(rt, planningHandlers);
    const events = recordEvents(rt);
    await rt.ready();
    sampler.set({ eventLoopDelayMs: 500 });
    await advance(rt, clock, 100);
    assert.equal(rt.coordinator?.level(), 'critical');
    const id = await rt.workflows.start(planning, { user: 'cy', destination: 'Rome', days: 3, budget: 450, siblings: 4 });
    const result = await rt.workflows.waitFor<{ plan: Plan; alternatives: unknown[] }>(id);
    assert.equal(result.plan.variant.label, 'requested');
    assert.deepEqual(result.alternatives, [], 'no sibling ran');
    const speculative = rt.workflows.get(id)?.steps.find((s) => s.name === 'speculative');
    assert.equal(speculative?.status, 'completed');
    assert.equal(speculative?.payloads.length, 4);
    for (const payload of speculative?.payloads ?? []) {
      assert.ok(events.of('skipped', payload).some((e) => e.ledgerId !== undefined), 'skipped into the ledger by the coordinator');
      assert.equal((await rt.get(payload))?.status, 'cancelled', 'and taken out of it: it will not run later');
    }
    assert.equal(rt.coordinator?.ledger().total, 0);
    await rt.stop();
  });
});

describe('workflows/etl.ts', () => {
  test('fans out over every chunk and joins the partial aggregates exactly', async () => {
    const { rt } = setup();
    register(rt, etlHandlers);
    const input = { source: 'test', rows: 12_345, chunkSize: 100 };
    const id = await rt.workflows.start(etl, input);
    const result = await rt.workflows.waitFor<{ chunks: number; rows: number; revenue: number; byRegion: Record<string, number> }>(id);
    let revenue = 0;
    const byRegion: Record<string, number> = {};
    for (let i = 0; i < input.rows; i++) {
      const r = row(i);
      revenue += r.cents;
      byRegion[r.region] = (byRegion[r.region] ?? 0) + r.cents;
    }
    assert.deepEqual(result, { source: 'test', chunks: 124, rows: input.rows, revenue, byRegion });
    assert.equal(rt.workflows.get(id)?.steps.find((s) => s.name === 'extract')?.items, 124);
    await rt.stop();
  });
});

describe('workflows/order-fulfilment.ts', () => {
  test('a complete order reserves, charges, ships and notifies', async () => {
    const { rt } = setup();
    const store = makeStore();
    register(rt, makeOrderHandlers(store));
    const id = await rt.workflows.start(orderFulfilment, { orderId: 'o1', lines: [{ sku: 'book', qty: 2 }], country: 'FR', express: true });
    assert.deepEqual(await rt.workflows.waitFor(id), { orderId: 'o1', charged: 24, tracking: 'TRK-o1-FR', notified: true });
    assert.deepEqual(store.journal, ['reserve book×2', 'charge 24', 'ship FR express', 'notify shipped express']);
    assert.equal(store.stock.get('book'), 8);
    await rt.stop();
  });

  test('a failed shipment refunds the charge, then releases every reservation, latest first', async () => {
    const { rt } = setup();
    const store = makeStore();
    register(rt, makeOrderHandlers(store));
    const id = await rt.workflows.start(orderFulfilment, {
      orderId: 'o2', lines: [{ sku: 'book', qty: 1 }, { sku: 'lamp', qty: 2 }, { sku: 'desk', qty: 1 }], country: 'XX', express: false,
    });
    const error = await rt.workflows.waitFor(id).then(() => assert.fail('should fail'), (e: unknown) => e);
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal(error.step, 'ship');
    assert.match(error.message, /no carrier ships to XX/);
    const reserved = store.journal.filter((j) => j.startsWith('reserve')).map((j) => j.slice('reserve '.length));
    assert.equal(reserved.length, 3);
    assert.deepEqual(store.journal.slice(3), ['charge 342', 'refund 342', ...[...reserved].reverse().map((r) => `release ${r}`)]);
    assert.deepEqual([...store.stock], [...makeStore().stock], 'stock is back where it was');
    await rt.stop();
  });
});
