import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { reducePartition } from '../actors/partition/reducer.ts';
import type { EnqueueResult, PartitionEffect, PartitionMessage } from '../actors/partition/messages.ts';
import { demandOf, initialPartitionState, partitionStats, type PartitionState } from '../actors/partition/state.ts';
import { encodeSnapshot } from '../actors/partition/codec.ts';
import { flatRecord } from '../actors/partition/record.ts';
import { SimulatedClock } from '../src/clock.ts';
import type { RuntimeOptions } from '../src/options.ts';

const flatRecordOf = (state: PartitionState, id: string) => flatRecord(state.records.get(id)!);
import type { Payload, PayloadView, Tier } from '../src/payload.ts';
import type { Outcome } from '../src/execution/protocol.ts';
import { partitionEnv } from './helpers.ts';

/** A partition driven by hand: no actor system, no pool; effects are returned for inspection. */
function harness(options: RuntimeOptions = {}) {
  const clock = new SimulatedClock();
  const env = partitionEnv(clock, 2, options);
  let state: PartitionState = initialPartitionState(0);
  let seq = 0;

  const send = (message: PartitionMessage): PartitionEffect[] => {
    const t = reducePartition(state, message, env);
    state = t.state;
    for (const e of t.effects) if (e.kind === 'reply') e.deliver();
    return t.effects;
  };
  const payload = (fields: Partial<Payload> = {}): Payload => ({
    id: `p${seq++}.0`, type: 't', data: null, clientId: 'c', priority: 5, complexity: 1, submittedAt: clock.now(),
    runAt: undefined, deadline: undefined, idempotencyKey: undefined, timeout: undefined, retries: undefined, backoff: undefined, tags: undefined, dependencies: undefined, shardKey: undefined, dedupe: undefined, concurrencyKey: undefined,
    ...fields,
  });
  const enqueue = (...payloads: Payload[]): EnqueueResult[] => {
    const results: EnqueueResult[] = [];
    send({ type: 'enqueue', batch: { payloads, settle: (i, r) => (results[i] = r) } });
    return results;
  };
  const grant = (tier: Tier, count: number, handlerType = 't') => send({ type: 'grant', grants: [{ tier, handlerType, count }] });
  const outcomes = (...list: Outcome[]) => send({ type: 'outcomes', outcomes: list });
  const cancel = (id: string) => {
    let result: string | undefined;
    const effects = send({ type: 'cancel', id, reply: (r) => (result = r) });
    return { result, effects };
  };
  const get = (id: string) => {
    let view: PayloadView | undefined;
    send({ type: 'get', id, reply: (v) => (view = v) });
    return view;
  };
  const started = (effects: PartitionEffect[]) => effects.flatMap((e) => (e.kind === 'run' ? [e.order.id] : []));
  const eventsOf = (effects: PartitionEffect[], type?: string) =>
    effects.flatMap((e) => (e.kind === 'event' && (type === undefined || e.event.type === type) ? [e.event] : []));
  return { clock, env, state: () => state, send, payload, enqueue, grant, outcomes, cancel, get, started, eventsOf };
}

describe('partition reducer', () => {
  test('each client keeps its FIFO in a tier; clients take turns; cancelling one client\'s head leaves the others in order', () => {
    const h = harness();
    const [a1, b1, a2, c1, b2, a3] = ['A', 'B', 'A', 'C', 'B', 'A'].map((clientId) => h.payload({ clientId }));
    h.enqueue(a1!, b1!, a2!);
    h.clock.advance(1);
    const later = h.clock.now();
    h.enqueue(c1!, b2!, a3!);
    assert.equal(h.cancel(b1!.id).result, 'cancelled');
    assert.equal(h.cancel(a2!.id).result, 'cancelled');
    assert.equal(h.state().queues.medium.get('t')?.clientFifo('A')?.live, 2);
    // Turns in the order the clients came: A, B (whose head is b2 now), C, then A again.
    assert.deepEqual(h.started(h.grant('medium', 2)), [a1!.id, b2!.id]);
    assert.deepEqual(demandOf(h.state()).map((d) => [d.tier, d.count, d.oldestAt]), [['medium', 2, later]]);
    assert.deepEqual(h.started(h.grant('medium', 5)), [c1!.id, a3!.id]);
    assert.equal(h.state().queues.medium.get('t')?.clientCount, 0);
  });

  test('FIFO within a tier, across enqueue messages, and per handler type', () => {
    const h = harness();
    const a = h.payload(), b = h.payload(), c = h.payload();
    h.enqueue(a, b);
    h.enqueue(h.payload({ priority: 8 }), c); // a high one in between does not disturb medium order
    h.enqueue(h.payload({ type: 'u' }));
    assert.deepEqual(h.started(h.grant('medium', 2)), [a.id, b.id]);
    assert.deepEqual(h.started(h.grant('medium', 5)), [c.id], 'only type t is granted');
  });

  test('tier counts and depth follow enqueue, start and routing', () => {
    const h = harness();
    const results = h.enqueue(
      h.payload({ priority: 10 }),
      h.payload({ priority: 8 }), h.payload({ priority: 8 }),
      h.payload({ priority: 8, complexity: 9 }), // heavy: one tier down
      h.payload({ priority: 5 }), h.payload({ priority: 5, type: 'u' }),
      h.payload({ priority: 2 }),
      h.payload({ priority: 5, runAt: h.clock.now() + 1000 }), // delayed: not in a tier yet
    );
    assert.ok(results.every((r) => r.ok));
    assert.deepEqual(h.state().depth, { critical: 1, high: 2, medium: 3, low: 1 });
    assert.deepEqual(h.state().queued.medium, { t: 2, u: 1 });
    assert.equal(h.state().delayed, 1);
    assert.equal(h.state().totals.accepted, 8);
    h.grant('high', 1);
    assert.equal(h.state().depth.high, 1);
    assert.equal(h.state().running, 1);
    h.clock.advance(1000);
    h.send({ type: 'tick' });
    assert.equal(h.state().depth.medium, 4);
    assert.equal(h.state().delayed, 0);
  });

  test('a cancelled queued payload is skipped at grant time and the unused grant is released', () => {
    const h = harness();
    const [a, b] = [h.payload(), h.payload()];
    h.enqueue(a, b);
    const { result, effects } = h.cancel(b.id); // not the head: stays in the FIFO as a tombstone
    assert.equal(result, 'cancelled');
    assert.equal(h.eventsOf(effects, 'cancelled').length, 1);
    assert.equal(h.state().depth.medium, 1);
    assert.deepEqual(demandOf(h.state()).map((d) => d.count), [1]);
    // The pool granted two slots before it heard of the cancel.
    const grantEffects = h.grant('medium', 2);
    assert.deepEqual(h.started(grantEffects), [a.id]);
    assert.deepEqual(grantEffects.filter((e) => e.kind === 'release'), [{ kind: 'release', tier: 'medium', handlerType: 't', count: 1 }]);
    assert.equal(h.get(b.id)?.status, 'cancelled');
    assert.equal(h.state().queues.medium.get('t')?.length, 0, 'the tombstone is gone');
  });

  test('a grant for an emptied queue releases every slot', () => {
    const h = harness();
    const a = h.payload();
    h.enqueue(a);
    h.cancel(a.id);
    const effects = h.grant('medium', 1);
    assert.deepEqual(h.started(effects), []);
    assert.deepEqual(effects.filter((e) => e.kind === 'release'), [{ kind: 'release', tier: 'medium', handlerType: 't', count: 1 }]);
  });

  test('stale outcomes (wrong attempt, or after cancel) are ignored', () => {
    const h = harness();
    const a = h.payload();
    h.enqueue(a);
    h.grant('medium', 1);
    const retry = h.outcomes({ kind: 'failed', id: a.id, attempt: 1, retryable: true, error: { code: 'HANDLER_FAILED', message: 'x', name: 'Error' } });
    const [retrying] = h.eventsOf(retry, 'retrying');
    assert.equal(retrying?.retryAt, h.clock.now() + 1000);
    h.clock.advance(1000);
    h.send({ type: 'tick' });
    assert.deepEqual(h.started(h.grant('medium', 1)), [a.id]);
    assert.equal(h.get(a.id)?.attempts, 2);

    const stale = h.outcomes({ kind: 'completed', id: a.id, attempt: 1, result: 'late' }, { kind: 'progress', id: a.id, attempt: 1, value: 9 });
    assert.deepEqual(stale.filter((e) => e.kind === 'event'), []);
    assert.equal(h.get(a.id)?.status, 'running');
    assert.equal(h.get(a.id)?.progress, undefined);

    h.outcomes({ kind: 'completed', id: a.id, attempt: 2, result: 'ok' });
    assert.equal(h.get(a.id)?.result, 'ok');

    const b = h.payload();
    h.enqueue(b);
    h.grant('medium', 1);
    const { effects } = h.cancel(b.id);
    assert.deepEqual(effects.filter((e) => e.kind === 'abort').map((e) => e.kind === 'abort' && e.id), [b.id]);
    const late = h.outcomes({ kind: 'completed', id: b.id, attempt: 1, result: 'late' });
    assert.deepEqual(late.filter((e) => e.kind === 'event'), []);
    assert.equal(h.get(b.id)?.status, 'cancelled');
    assert.equal(h.state().totals.completed, 1);
    assert.equal(h.state().running, 0);
  });

  test('retention keeps only the newest retainTerminal terminal records, never a live one', () => {
    const h = harness({ retainTerminal: 3 });
    const live = h.payload({ priority: 2, idempotencyKey: 'live' });
    const done = Array.from({ length: 5 }, (_, i) => h.payload({ idempotencyKey: `k${i}` }));
    h.enqueue(live, ...done);
    h.grant('medium', 5);
    for (const p of done) h.outcomes({ kind: 'completed', id: p.id, attempt: 1, result: p.id });
    assert.equal(h.get(done[0]!.id), undefined);
    assert.equal(h.get(done[1]!.id), undefined);
    for (const p of done.slice(2)) assert.equal(h.get(p.id)?.status, 'completed');
    assert.equal(h.get(live.id)?.status, 'queued');
    assert.equal(h.state().records.size, 4);
    assert.equal(h.state().idempotency.get('k0'), undefined, 'an evicted record frees its idempotency key');
    assert.equal(h.state().idempotency.get('k4'), done[4]!.id);
  });

  test('demandOf reports count and oldest head per tier and type', () => {
    const h = harness();
    const t0 = h.clock.now();
    const x = h.payload();
    h.enqueue(x);
    h.clock.advance(10);
    h.enqueue(h.payload({ type: 'u' }));
    h.clock.advance(10);
    h.enqueue(h.payload());
    h.clock.advance(10);
    h.enqueue(h.payload({ priority: 8 }));
    const byKey = (s: PartitionState) =>
      Object.fromEntries(demandOf(s).map((d) => [`${d.tier}/${d.handlerType}`, [d.count, d.oldestAt - t0]]));
    assert.deepEqual(byKey(h.state()), { 'high/t': [1, 30], 'medium/t': [2, 0], 'medium/u': [1, 10] });
    h.cancel(x.id);
    assert.deepEqual(byKey(h.state())['medium/t'], [1, 20], 'the next live head is now the oldest');
    h.grant('high', 1);
    assert.equal(byKey(h.state())['high/t'], undefined);
  });

  test('owned state: what leaves the partition (stats, views, snapshots) is a copy later transitions leave alone', () => {
    const h = harness({ retainTerminal: 1 });
    const [a, b, c] = [h.payload(), h.payload({ type: 'u' }), h.payload({ priority: 2 })];
    h.enqueue(a, b, c);
    const stats = partitionStats(h.state(), h.clock.now());
    const statsJson = JSON.stringify(stats);
    const snapshot = encodeSnapshot(h.state());
    const snapshotJson = JSON.stringify(snapshot);
    const view = h.get(a.id);
    h.grant('medium', 1);
    h.cancel(b.id);
    h.outcomes({ kind: 'completed', id: a.id, attempt: 1, result: 1 });
    h.enqueue(h.payload({ type: 'u' }), h.payload({ priority: 9 }));
    h.grant('low', 1);
    assert.equal(JSON.stringify(stats), statsJson, 'stats taken earlier are unchanged');
    assert.equal(JSON.stringify(snapshot), snapshotJson, 'a snapshot taken earlier is unchanged');
    assert.equal(view?.status, 'queued', 'a view taken earlier is unchanged');
    assert.equal(h.state().records.get(c.id)?.status, 'running', 'while the partition itself moved on in place');
    assert.equal(h.state().totals.completed, 1);
    assert.deepEqual(h.state().depth, { critical: 1, high: 0, medium: 1, low: 0 });
  });

  test('idempotent duplicates in one batch answer with the first id', () => {
    const h = harness();
    const results = h.enqueue(h.payload({ idempotencyKey: 'k' }), h.payload({ idempotencyKey: 'k' }));
    assert.ok(results[0]?.ok && results[1]?.ok);
    assert.equal(results[0].ok && results[0].id, results[1].ok && results[1].id);
    assert.equal(results[1].ok && results[1].duplicate, true);
    assert.equal(h.state().totals.accepted, 1);
  });

  test('journalled: what a transition queued is neither offered nor granted until its entry is stored, a payload queued again at an old place included', () => {
    const clock = new SimulatedClock();
    const env = partitionEnv(clock, 0);
    const state = initialPartitionState(0);
    // What the actor does around each transition (actor.ts): ids queued again wait by id, pushes by count.
    let unstoredPushes: Array<{ confirm(n: number): void; pushCount: number }> = [];
    let requeued: string[] = [];
    const send = (message: PartitionMessage) => {
      const t = reducePartition(state, message, env, true);
      for (const queue of t.pushed) unstoredPushes.push({ confirm: (n) => queue.confirm(n), pushCount: queue.pushCount });
      for (const id of t.requeued) state.unstored.add(id);
      requeued.push(...t.requeued);
      return t.effects;
    };
    const store = () => {
      for (const mark of unstoredPushes) mark.confirm(mark.pushCount);
      for (const id of requeued) state.unstored.delete(id);
      unstoredPushes = [];
      requeued = [];
    };
    const payload = (id: string, fields: Partial<Payload> = {}): Payload => ({
      id, type: 't', data: null, clientId: 'c', priority: 5, complexity: 1, submittedAt: clock.now(), runAt: undefined, deadline: undefined, idempotencyKey: undefined,
      timeout: undefined, retries: undefined, backoff: undefined, tags: undefined, dependencies: undefined, shardKey: undefined, dedupe: undefined, concurrencyKey: undefined, ...fields,
    });
    const runs = (effects: PartitionEffect[]) => effects.flatMap((e) => (e.kind === 'run' ? [e.order.id] : []));
    const grant = () => runs(send({ type: 'grant', grants: [{ tier: 'medium', handlerType: 't', count: 5 }] }));
    // `a` keeps its place (an idempotency key pins it here) while `b` moves out behind it: `b` leaves a tombstone.
    send({ type: 'enqueue', batch: { payloads: [payload('a.0', { idempotencyKey: 'k' }), payload('b.0')], settle: () => {} } });
    assert.deepEqual(demandOf(state), [], 'nothing offered before the acceptance is stored');
    assert.deepEqual(grant(), [], 'nor granted');
    store();
    assert.equal(demandOf(state)[0]?.count, 2);
    const leaving = flatRecordOf(state, 'b.0');
    send({ type: 'transfer-out', tier: 'medium', to: 1, max: 5 });
    store();
    send({ type: 'transfer-in', from: 1, records: [leaving] });
    assert.equal(demandOf(state)[0]?.count, 1, 'only a is offered');
    assert.deepEqual(grant(), ['a.0'], 'b, back at its old place, waits for its entry');
    store();
    assert.deepEqual(grant(), ['b.0']);
  });
});

