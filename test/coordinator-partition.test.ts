import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { LedgerEntry } from '../actors/coordinator/ledger.ts';
import type { PartitionEffect, PartitionMessage } from '../actors/partition/messages.ts';
import { reducePartition, type PartitionEnv } from '../actors/partition/reducer.ts';
import { demandOf, initialPartitionState, type PartitionState } from '../actors/partition/state.ts';
import { SKIP_SLICE } from '../actors/partition/load-transitions.ts';
import { SimulatedClock } from '../src/clock.ts';
import { DEFAULT_BACKOFF, compileOptions } from '../src/options.ts';
import type { Payload, Tier } from '../src/payload.ts';

/** One partition driven by coordinator messages, by hand. */
function harness() {
  const clock = new SimulatedClock();
  const env: PartitionEnv = {
    options: compileOptions({ clock }),
    now: () => clock.now(),
    policyOf: () => ({ timeout: 1_000, retries: 0, backoff: DEFAULT_BACKOFF }),
    observed: () => true,
    load: { priorityOf: (p) => p.priority, complexityOf: (p) => p.complexity, degradedTimeoutFactor: 0.25 },
  };
  let state: PartitionState = initialPartitionState(0);
  let seq = 0;
  const send = (message: PartitionMessage): PartitionEffect[] => {
    const t = reducePartition(state, message, env);
    state = t.state;
    return t.effects;
  };
  const payload = (fields: Partial<Payload> = {}): Payload => ({
    id: `p${seq++}.0`, type: 't', data: null, clientId: 'c', priority: 2, complexity: 1, submittedAt: clock.now(),
    runAt: undefined, deadline: undefined, idempotencyKey: undefined, timeout: undefined, retries: undefined, backoff: undefined, tags: undefined,
    dependencies: undefined, shardKey: undefined, dedupe: undefined, concurrencyKey: undefined, ...fields,
  });
  const enqueue = (...payloads: Payload[]) => send({ type: 'enqueue', batch: { payloads, settle: () => {} } });
  const grant = (tier: Tier, count: number) => send({ type: 'grant', grants: [{ tier, handlerType: 't', count }] });
  const ledgered = (effects: PartitionEffect[]) => effects.flatMap((e) => (e.kind === 'ledger' ? e.entries : []));
  const eventsOf = (effects: PartitionEffect[], type: string) => effects.flatMap((e) => (e.kind === 'event' && e.event.type === type ? [e.event] : []));
  return { clock, send, payload, enqueue, grant, ledgered, eventsOf, state: () => state };
}

describe('partition: coordinator messages', () => {
  test('skip of a long queue goes to the ledger in slices, the rest as the next message to itself; a restore meanwhile ends it', () => {
    const h = harness();
    const queued = Array.from({ length: SKIP_SLICE * 2 + 10 }, () => h.payload());
    h.enqueue(...queued);
    const first = h.send({ type: 'degrade', tier: 'low', mode: 'skip' });
    assert.equal(h.ledgered(first).length, SKIP_SLICE, 'one slice per turn');
    const next = first.flatMap((e) => (e.kind === 'forward' ? [e] : []));
    assert.equal(next.length, 1);
    assert.equal(next[0]?.to, 0, 'the rest is a message to this very partition');
    assert.equal(h.state().depth.low, SKIP_SLICE + 10);
    const second = h.send(next[0]!.message);
    assert.deepEqual(h.ledgered(second).map((e) => e.id), queued.slice(SKIP_SLICE, 2 * SKIP_SLICE).map((p) => p.id), 'in FIFO order');
    const third = second.flatMap((e) => (e.kind === 'forward' ? [e.message] : []));
    h.send({ type: 'restore', tier: 'low' });
    assert.deepEqual(h.ledgered(h.send(third[0]!)), [], 'a continuation after the restore skips nothing');
    assert.equal(h.state().depth.low, 10);
    assert.deepEqual(demandOf(h.state()).map((d) => [d.tier, d.count]), [['low', 10]]);
  });

  test('skip: the queued tier goes to the ledger in one message, and so do due arrivals; restore ends it', () => {
    const h = harness();
    const [a, b, m] = [h.payload(), h.payload(), h.payload({ priority: 5 })];
    h.enqueue(a, b, m);
    const effects = h.send({ type: 'degrade', tier: 'low', mode: 'skip' });
    const entries = h.ledgered(effects);
    assert.deepEqual(entries.map((e) => [e.id, e.ledgerId, e.tier]), [[a.id, '0-0', 'low'], [b.id, '0-1', 'low']]);
    assert.equal(effects.filter((e) => e.kind === 'ledger').length, 1, 'one message for the batch');
    assert.deepEqual(h.eventsOf(effects, 'skipped').map((e) => e.ledgerId), ['0-0', '0-1']);
    assert.deepEqual(h.state().depth, { critical: 0, high: 0, medium: 1, low: 0 });
    assert.deepEqual(demandOf(h.state()).map((d) => d.tier), ['medium']);
    assert.equal(h.state().records.get(a.id)?.status, 'deferred');
    const late = h.payload();
    assert.deepEqual(h.ledgered(h.enqueue(late)).map((e) => e.id), [late.id]);
    h.send({ type: 'restore', tier: 'low' });
    const after = h.payload();
    assert.deepEqual(h.ledgered(h.enqueue(after)), []);
    assert.equal(h.state().depth.low, 1);
  });

  test('degrade: read at grant time — degraded flag, shorter timeout, degraded event', () => {
    const h = harness();
    h.enqueue(h.payload({ priority: 5 }), h.payload({ priority: 5, timeout: 800 }));
    h.send({ type: 'degrade', tier: 'medium', mode: 'degrade' });
    const effects = h.grant('medium', 2);
    const orders = effects.flatMap((e) => (e.kind === 'run' ? [e.order] : []));
    assert.deepEqual(orders.map((o) => [o.degraded, o.timeout]), [[true, 250], [true, 200]]);
    assert.equal(h.eventsOf(effects, 'degraded').length, 2);
    assert.equal(h.state().flow.degraded, 2);
  });

  test('reschedule: boosted, re-routed, told; a stale or cancelled entry is ignored; past its deadline it expires', () => {
    const h = harness();
    const [a, b, c] = [h.payload(), h.payload(), h.payload({ deadline: h.clock.now() + 100 })];
    h.enqueue(a, b, c);
    const entries = h.ledgered(h.send({ type: 'degrade', tier: 'low', mode: 'skip' }));
    h.send({ type: 'restore', tier: 'low' });
    const cancel = h.send({ type: 'cancel', id: b.id, reply: () => {} });
    assert.deepEqual(cancel.flatMap((e) => (e.kind === 'unledger' ? e.ledgerIds : [])), [entries[1]?.ledgerId]);
    h.clock.advance(200);
    const stale: LedgerEntry = { ...(entries[0] as LedgerEntry), ledgerId: 'old' };
    const effects = h.send({ type: 'reschedule', entries: [stale, ...entries], boost: 3 });
    assert.deepEqual(h.eventsOf(effects, 'rescheduled').map((e) => [e.id, e.priority, e.tier, e.ledgerId]), [[a.id, 5, 'medium', entries[0]?.ledgerId]]);
    assert.deepEqual(h.eventsOf(effects, 'expired').map((e) => e.id), [c.id]);
    assert.deepEqual([h.state().records.get(a.id)?.status, h.state().records.get(a.id)?.tier], ['queued', 'medium']);
    assert.equal(h.state().records.get(b.id)?.status, 'cancelled');
    assert.deepEqual([h.state().flow.rescheduled, h.state().flow.expired], [1, 1]);
  });

  test('transfer-out leaves moved stubs and forwards keyless payloads only; transfer-in queues them; lookups are forwarded', () => {
    const h = harness();
    const keyless = [h.payload(), h.payload(), h.payload()];
    const keyed = [h.payload({ shardKey: 'k' }), h.payload({ idempotencyKey: 'i' })];
    h.enqueue(keyed[0]!, keyless[0]!, keyed[1]!, keyless[1]!, keyless[2]!);
    const effects = h.send({ type: 'transfer-out', tier: 'low', to: 3, max: 2 });
    const forwards = effects.flatMap((e) => (e.kind === 'forward' ? [e] : []));
    assert.equal(forwards.length, 1);
    assert.equal(forwards[0]?.to, 3);
    const message = forwards[0]?.message;
    assert.ok(message?.type === 'transfer-in');
    assert.deepEqual(message.records.map((r) => r.id), keyless.slice(0, 2).map((p) => p.id));
    assert.equal(h.state().depth.low, 3);
    assert.deepEqual([h.state().records.get(keyless[0]!.id)?.status, h.state().records.get(keyless[0]!.id)?.movedTo], ['moved', 3]);
    const get = h.send({ type: 'get', id: keyless[0]!.id, reply: () => {} });
    assert.deepEqual(get.map((e) => e.kind === 'forward' && e.to), [3]);

    const other = harness();
    other.send({ type: 'transfer-in', from: 0, records: message.records });
    assert.equal(other.state().depth.low, 2);
    assert.deepEqual(other.state().flow.transferredIn, 2);
    const started = other.grant('low', 5).flatMap((e) => (e.kind === 'run' ? [e.order.id] : []));
    assert.deepEqual(started, keyless.slice(0, 2).map((p) => p.id), 'in their order');
  });

  test('elevate: demand of the tier is served as another; granted runs hold that tier\'s slots', () => {
    const h = harness();
    h.enqueue(h.payload({ priority: 5 }));
    h.send({ type: 'elevate', tier: 'medium', as: 'high' });
    assert.deepEqual(demandOf(h.state()).map((d) => [d.tier, d.serveAs]), [['medium', 'high']]);
    const orders = h.send({ type: 'grant', grants: [{ tier: 'medium', handlerType: 't', count: 1, serveAs: 'high' }] }).flatMap((e) => (e.kind === 'run' ? [e.order] : []));
    assert.deepEqual(orders.map((o) => [o.tier, o.slotTier]), [['medium', 'high']]);
    h.send({ type: 'elevate', tier: 'medium', as: 'medium' });
    assert.equal(h.state().serveAs.medium, 'medium');
  });
});
