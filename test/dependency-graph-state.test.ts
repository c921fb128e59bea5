import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGraph, restoreGraph } from '../actors/dependency-graph/codec.ts';
import type { GraphMessage } from '../actors/dependency-graph/messages.ts';
import { reduceGraph, type GraphDelta, type GraphEnv } from '../actors/dependency-graph/reducer.ts';
import { dependentsOf, initialGraphState, isWatched, type GraphState } from '../actors/dependency-graph/state.ts';
import type { Payload } from '../src/payload.ts';

const env: GraphEnv = { now: () => 1, retainTerminal: 2 };
const payload = (id: string): Payload => ({
  id, type: 't', data: null, clientId: 'c', priority: 5, complexity: 1, submittedAt: 0, runAt: undefined, deadline: undefined,
  idempotencyKey: undefined, timeout: undefined, retries: undefined, backoff: undefined, tags: undefined, dependencies: undefined, shardKey: undefined, dedupe: undefined, concurrencyKey: undefined,
});
const waiting = (id: string, deps: string[], policy: 'fail' | 'skip' | 'continue' = 'fail') => ({ payload: payload(id), partition: 0, tier: 'medium' as const, deps, policy });
const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Registers payloads whose external dependencies are all known to be running. */
function register(state: GraphState, entries: ReturnType<typeof waiting>[], external: string[], deltas: GraphDelta[]): void {
  const t = reduceGraph(state, { type: 'register', waiting: entries, external, reply: () => {} }, env);
  if (t.delta) deltas.push(json(t.delta));
  const lookup = t.effects.find((e) => e.kind === 'lookup');
  if (!lookup || lookup.kind !== 'lookup') return;
  const found = new Map(lookup.ids.map((id) => [id, { status: 'running' } as never]));
  const answered = reduceGraph(state, { type: 'looked-up', registration: lookup.registration, found }, env);
  if (answered.delta) deltas.push(json(answered.delta));
}

function send(state: GraphState, message: GraphMessage, deltas: GraphDelta[]) {
  const t = reduceGraph(state, message, env);
  if (t.delta) deltas.push(json(t.delta));
  return t;
}

describe('the dependency graph owns its state', () => {
  test('edges follow who waits: a released or ended payload leaves the graph, and so does an id nobody waits on', () => {
    const state = initialGraphState();
    const deltas: GraphDelta[] = [];
    register(state, [waiting('b.0', ['a.0']), waiting('c.0', ['a.0', 'b.0']), waiting('d.0', ['x.0'])], ['a.0', 'x.0'], deltas);
    assert.deepEqual(dependentsOf(state, 'a.0'), ['b.0', 'c.0'], 'in the order they started to wait');
    assert.equal(isWatched(state, 'a.0'), true);
    assert.equal(isWatched(state, 'c.0'), false, 'held, but nobody waits on it');

    const cancelled = send(state, { type: 'cancel', id: 'd.0', reply: () => {} }, deltas);
    assert.ok(cancelled.effects.some((e) => e.kind === 'event' && e.event.type === 'cancelled'));
    assert.equal(state.edges.hasNode('x.0'), false, 'x.0 had one dependent, now gone');
    assert.equal(isWatched(state, 'x.0'), false);

    const released = send(state, { type: 'settled', settlements: [{ id: 'a.0', outcome: { status: 'completed', result: 1 } }] }, deltas);
    assert.deepEqual(released.effects.filter((e) => e.kind === 'release').map((e) => e.kind === 'release' && e.payload.id), ['b.0']);
    assert.deepEqual([...state.nodes.keys()], ['c.0']);
    assert.deepEqual(dependentsOf(state, 'b.0'), ['c.0'], 'a released payload is still waited on until it ends');
    assert.equal(isWatched(state, 'b.0'), true);
    assert.equal(state.edges.edgeCount(), 1);
  });

  test('a snapshot is a copy, and snapshot + later entries recover what the live state holds', () => {
    const state = initialGraphState();
    const deltas: GraphDelta[] = [];
    register(state, [waiting('b.0', ['a.0']), waiting('c.0', ['a.0', 'b.0'], 'skip'), waiting('e.0', ['y.0'], 'continue')], ['a.0', 'y.0'], deltas);
    const snapshot = encodeGraph(state);
    const frozen = JSON.stringify(snapshot);
    const before = deltas.length;

    send(state, { type: 'settled', settlements: [{ id: 'y.0', outcome: { status: 'failed', error: { code: 'X', message: 'x', name: 'Error' } } }] }, deltas);
    send(state, { type: 'settled', settlements: [{ id: 'a.0', outcome: { status: 'completed', result: 2 } }] }, deltas);
    send(state, { type: 'settled', settlements: [{ id: 'b.0', outcome: { status: 'failed', error: { code: 'X', message: 'x', name: 'Error' } } }] }, deltas);
    assert.equal(JSON.stringify(snapshot), frozen, 'the encoded snapshot did not change with the live state');
    assert.deepEqual([...state.ended.keys()], ['c.0'], 'c.0 was skipped by its policy');

    // Registration numbers are not journalled (registrations in flight are not durable).
    const durable = (s: GraphState) => ({ ...json(encodeGraph(s)).data, seq: 0 });
    assert.deepEqual(durable(restoreGraph(json(snapshot), deltas.slice(before))), durable(state));
    assert.deepEqual(durable(restoreGraph(undefined, deltas)), durable(state));
  });

  test('retention keeps the newest ended payloads, in the order they ended, across recovery', () => {
    const state = initialGraphState();
    const deltas: GraphDelta[] = [];
    register(state, ['p.0', 'q.0', 'r.0'].map((id) => waiting(id, ['z.0'])), ['z.0'], deltas);
    for (const id of ['q.0', 'p.0', 'r.0']) send(state, { type: 'cancel', id, reply: () => {} }, deltas);
    assert.deepEqual([...state.ended.keys()], ['p.0', 'r.0'], 'retainTerminal 2: the oldest (q.0) dropped');
    assert.deepEqual([...restoreGraph(undefined, deltas).ended.keys()], ['p.0', 'r.0']);
    assert.equal(state.edges.nodeCount(), 0, 'nothing waits on z.0 any more');
  });
});
