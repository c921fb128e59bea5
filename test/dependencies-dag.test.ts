import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { reduceGraph, type GraphEnv } from '../actors/dependency-graph/reducer.ts';
import type { GraphEffect, GraphMessage } from '../actors/dependency-graph/messages.ts';
import { initialGraphState, outcomeOfEvent, type GraphState, type RegisterReply } from '../actors/dependency-graph/state.ts';
import type { PayloadEvent } from '../src/events.ts';
import type { Payload, PayloadView } from '../src/payload.ts';
import { prng, setup } from './helpers.ts';

describe('a 10,000-node random DAG', () => {
  test('is released in a valid topological order and every node runs exactly once', async () => {
    const n = 10_000;
    const random = prng(7);
    const deps: number[][] = [];
    for (let i = 0; i < n; i++) {
      const list = new Set<number>();
      const fanIn = i === 0 ? 0 : Math.floor(random() * 4); // 0–3 dependencies on earlier nodes
      for (let k = 0; k < fanIn; k++) list.add(Math.floor(random() * i));
      deps.push([...list]);
    }
    // Submitted in a shuffled order, so refs point forward and backward in the batch.
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const { rt } = setup({ concurrency: 64 });
    const ran: number[] = [];
    const runs = new Array<number>(n).fill(0);
    rt.handle('node', (i: number, ctx) => {
      runs[i] = (runs[i] ?? 0) + 1;
      ran.push(i);
      assert.equal(Object.keys(ctx.dependencies).length, deps[i]?.length);
      return i;
    });
    let completed = 0;
    const allDone = new Promise<void>((resolve) => rt.events.on('completed', () => void (++completed === n && resolve())));
    const ids = await rt.submitMany(order.map((i) => ({
      type: 'node', data: i, ref: `n${i}`, ...((deps[i] as number[]).length > 0 && { dependsOn: (deps[i] as number[]).map((d) => `n${d}`) }),
    })));
    assert.equal(new Set(ids).size, n);
    await allDone;
    await rt.idle();
    assert.equal(ran.length, n);
    assert.ok(runs.every((r) => r === 1), 'every node ran exactly once');
    const position = new Array<number>(n);
    ran.forEach((node, at) => (position[node] = at));
    for (let i = 0; i < n; i++) {
      for (const d of deps[i] as number[]) assert.ok((position[d] as number) < (position[i] as number), `node ${i} ran before its dependency ${d}`);
    }
    await rt.stop();
  });
});

describe('dependency graph reducer', () => {
  const env: GraphEnv = { now: () => 1, retainTerminal: 100 };
  const payload = (id: string): Payload => ({
    id, type: 't', data: null, clientId: 'c', priority: 5, complexity: 1, submittedAt: 0, runAt: undefined, deadline: undefined,
    idempotencyKey: undefined, timeout: undefined, retries: undefined, backoff: undefined, tags: undefined, dependencies: undefined, shardKey: undefined, dedupe: undefined, concurrencyKey: undefined,
  });
  const run = (state: GraphState, message: GraphMessage) => {
    const t = reduceGraph(state, message, env);
    for (const e of t.effects) if (e.kind === 'reply') e.deliver();
    return t;
  };
  const view = (status: PayloadView['status'], result?: unknown) => ({ status, result, error: undefined }) as PayloadView;

  test('an external dependency that ends between the lookup and the registration is not waited on forever', () => {
    let state = initialGraphState();
    const replies: RegisterReply[] = [];
    let t = run(state, {
      type: 'register',
      waiting: [{ payload: payload('b.0'), partition: 0, tier: 'medium', deps: ['a.0'], policy: 'fail' }],
      external: ['a.0'],
      reply: (r) => replies.push(r),
    });
    state = t.state;
    const lookup = t.effects.find((e): e is Extract<GraphEffect, { kind: 'lookup' }> => e.kind === 'lookup');
    assert.deepEqual(lookup?.ids, ['a.0']);
    assert.equal(state.watch.has('a.0'), true, 'watched from now on, so its ending event is forwarded');
    // The partition answered "running", then the payload completed before the answer arrived here.
    state = run(state, { type: 'settled', settlements: [{ id: 'a.0', outcome: { status: 'completed', result: 42 } }] }).state;
    t = run(state, { type: 'looked-up', registration: lookup?.registration ?? -1, found: new Map([['a.0', view('running')]]) });
    state = t.state;
    assert.deepEqual(replies, [{ ok: true }]);
    const release = t.effects.find((e): e is Extract<GraphEffect, { kind: 'release' }> => e.kind === 'release');
    assert.equal(release?.payload.id, 'b.0');
    assert.deepEqual(release?.payload.dependencies, { 'a.0': { status: 'completed', result: 42 } });
    assert.equal(state.nodes.size, 0);
    assert.equal(state.watch.size, 0, 'nothing left watched');
  });

  test('an unknown external id rejects the registration and leaves nothing behind', () => {
    let state = initialGraphState();
    const replies: RegisterReply[] = [];
    const t = run(state, {
      type: 'register',
      waiting: [{ payload: payload('b.0'), partition: 0, tier: 'medium', deps: ['gone.0'], policy: 'fail' }],
      external: ['gone.0'],
      reply: (r) => replies.push(r),
    });
    const registration = (t.effects.find((e) => e.kind === 'lookup') as Extract<GraphEffect, { kind: 'lookup' }>).registration;
    state = run(t.state, { type: 'looked-up', registration, found: new Map([['gone.0', undefined]]) }).state;
    assert.deepEqual(replies, [{ ok: false, unknown: ['gone.0'] }]);
    assert.equal(state.nodes.size, 0);
    assert.equal(state.watch.size, 0);
    assert.equal(state.registrations.size, 0);
  });

  test('a payload skipped under load is not ended (it waits in the ledger); one that expires is', () => {
    const event = (type: PayloadEvent['type'], extra: Partial<PayloadEvent> = {}): PayloadEvent =>
      ({ type, id: 'a.0', clientId: 'c', payloadType: 't', partition: 0, tier: 'low', at: 0, ...extra });
    assert.equal(outcomeOfEvent(event('skipped', { ledgerId: '0-1', reason: 'load' })), undefined);
    assert.equal(outcomeOfEvent(event('retrying')), undefined);
    assert.deepEqual(outcomeOfEvent(event('skipped', { reason: 'evicted' }))?.status, 'skipped');
    assert.deepEqual(outcomeOfEvent(event('expired', { reason: 'deadline' })), { status: 'skipped', error: { code: 'EXPIRED', message: 'deadline', name: 'ExpiredError' } });
    assert.deepEqual(outcomeOfEvent(event('completed', { result: 7 })), { status: 'completed', result: 7 });
  });
});
