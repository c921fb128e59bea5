/**
 * Debounce and throttle by key on a simulated clock: throttle keeps the first payload of a window
 * and answers later submits with its id; debounce keeps the last data and runs once the key has
 * been quiet for the window. Bad dedupe options are refused naming the field; windows survive a
 * restart on Redis; in a cluster the key's partition owns the window, whichever node submits.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { reducePartition, type PartitionEnv } from '../actors/partition/reducer.ts';
import type { EnqueueResult, PartitionEffect } from '../actors/partition/messages.ts';
import { initialPartitionState } from '../actors/partition/state.ts';
import { DEFAULT_BACKOFF, compileOptions } from '../src/options.ts';
import type { Payload } from '../src/payload.ts';
import { createClient, createRuntime, SimulatedClock, silentLogger, StoreUnavailableError, ValidationError, type Runtime } from '../src/index.ts';
import { until } from './cluster-support.ts';
import { advance, setup, totals } from './helpers.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';

const runtimes: Runtime[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.stop()));
  await Promise.all(prefixes.splice(0).map((p) => dropPrefix(p)));
});

const T0 = 1_800_000_000_000;

function started(options: Parameters<typeof setup>[0] = {}): { clock: SimulatedClock; rt: Runtime; runs: Array<{ id: string; data: unknown }> } {
  const { clock, rt } = setup({ clock: new SimulatedClock(T0), ...options });
  runtimes.push(rt);
  const runs: Array<{ id: string; data: unknown }> = [];
  rt.handle('sync', (data, ctx) => void runs.push({ id: ctx.id, data }));
  return { clock, rt, runs };
}

test('throttle keeps the first payload of a window and answers later submits under the key with its id', async () => {
  const { clock, rt, runs } = started();
  await rt.ready();
  const throttle = { key: 'user-1', mode: 'throttle', ttlMs: 1_000 } as const;
  const first = await rt.submit({ type: 'sync', data: 1, dedupe: throttle });
  await advance(rt, clock, 400);
  const second = await rt.submit({ type: 'sync', data: 2, dedupe: throttle });
  const other = await rt.submit({ type: 'sync', data: 'other key', dedupe: { ...throttle, key: 'user-2' } });
  await advance(rt, clock, 599);
  const third = await rt.submit({ type: 'sync', data: 3, dedupe: throttle });
  assert.equal(second, first);
  assert.equal(third, first);
  assert.notEqual(other, first);
  assert.deepEqual(runs.map((r) => r.data).sort(), [1, 'other key']);
  assert.equal(totals(rt).accepted, 2);
  // The window ends 1,000 ms after the first submit: the next submit opens a new one.
  await advance(rt, clock, 1);
  const fourth = await rt.submit({ type: 'sync', data: 4, dedupe: throttle });
  assert.notEqual(fourth, first);
  await advance(rt, clock, 0);
  assert.deepEqual(runs.filter((r) => r.id === fourth).map((r) => r.data), [4]);
  // submitMany deduplicates within one call too.
  const many = await rt.submitMany([5, 6, 7].map((data) => ({ type: 'sync', data, dedupe: { ...throttle, key: 'bulk' } })));
  assert.equal(new Set(many).size, 1);
});

test('debounce runs the last data once the key has been quiet for the window, under the first id', async () => {
  const { clock, rt, runs } = started();
  await rt.ready();
  const debounce = { key: 'doc-7', mode: 'debounce', ttlMs: 1_000 } as const;
  const id = await rt.submit({ type: 'sync', data: 'v1', dedupe: debounce });
  assert.equal((await rt.get(id))?.status, 'delayed');
  await advance(rt, clock, 600);
  assert.equal(await rt.submit({ type: 'sync', data: 'v2', dedupe: debounce }), id);
  await advance(rt, clock, 600);
  assert.equal(await rt.submit({ type: 'sync', data: 'v3', dedupe: debounce }), id);
  // 1,200 ms after the first submit, 600 after the last: still waiting.
  await advance(rt, clock, 999);
  assert.equal(runs.length, 0);
  await advance(rt, clock, 1);
  assert.deepEqual(runs, [{ id, data: 'v3' }]);
  assert.equal((await rt.get(id))?.status, 'completed');
  assert.equal(totals(rt).accepted, 1);
  // Once it ran, the key is free: the next submit is a new payload with its own window.
  const next = await rt.submit({ type: 'sync', data: 'v4', dedupe: debounce });
  assert.notEqual(next, id);
  await advance(rt, clock, 1_000);
  assert.deepEqual(runs.map((r) => r.data), ['v3', 'v4']);
});

test('a cancelled debounce frees its key', async () => {
  const { clock, rt, runs } = started();
  await rt.ready();
  const debounce = { key: 'k', mode: 'debounce', ttlMs: 500 } as const;
  const id = await rt.submit({ type: 'sync', data: 1, dedupe: debounce });
  assert.equal(await rt.cancel(id), true);
  const again = await rt.submit({ type: 'sync', data: 2, dedupe: debounce });
  assert.notEqual(again, id);
  await advance(rt, clock, 500);
  assert.deepEqual(runs, [{ id: again, data: 2 }]);
});

test('bad dedupe options are refused naming each field, and nothing is accepted', async () => {
  const { rt } = started();
  await rt.ready();
  const cases: Array<[unknown, string[]]> = [
    [{ type: 'sync', dedupe: 'k' }, ['dedupe']],
    [{ type: 'sync', dedupe: { key: '', mode: 'later', ttlMs: 0, colour: 1 } }, ['dedupe.colour', 'dedupe.key', 'dedupe.mode', 'dedupe.ttlMs']],
    [{ type: 'sync', dedupe: { mode: 'throttle' } }, ['dedupe.key', 'dedupe.ttlMs']],
    [{ type: 'sync', dedupe: { key: 'k', mode: 'throttle', ttlMs: 1.5 } }, ['dedupe.ttlMs']],
    [{ type: 'sync', idempotencyKey: 'i', shardKey: 's', dedupe: { key: 'k', mode: 'throttle', ttlMs: 10 } }, ['dedupe']],
    [{ type: 'sync', delay: 10, dedupe: { key: 'k', mode: 'debounce', ttlMs: 10 } }, ['dedupe']],
  ];
  for (const [payload, fields] of cases) {
    const error = await rt.submit(payload as never).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ValidationError, JSON.stringify(payload));
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.deepEqual([...new Set(error.fields)].sort(), fields, JSON.stringify(payload));
  }
  const combined = await rt.submit({ type: 'sync', idempotencyKey: 'i', shardKey: 's', dedupe: { key: 'k', mode: 'throttle', ttlMs: 10 } }).catch((e: ValidationError) => e);
  assert.match((combined as ValidationError).message, /idempotencyKey/);
  assert.match((combined as ValidationError).message, /shardKey/);
  await assert.rejects(rt.schedules.set({ id: 's', every: 1_000, payload: { type: 'sync', dedupe: { key: 'k', mode: 'throttle', ttlMs: 10 } } as never }), (e: ValidationError) => e.fields.includes('payload.dedupe'));
  assert.equal(totals(rt).accepted, 0);
});

test('on Redis, a debounced payload and a throttle window survive a restart', async () => {
  const prefix = freshPrefix('dedupe');
  prefixes.push(prefix);
  const clock = new SimulatedClock(T0);
  const first = started({ clock, redis: { url: REDIS_URL, prefix } });
  await first.rt.ready();
  const debounce = { key: 'doc', mode: 'debounce', ttlMs: 1_000 } as const;
  const throttle = { key: 'mail', mode: 'throttle', ttlMs: 5_000 } as const;
  const held = await first.rt.submit({ type: 'sync', data: 'old', dedupe: debounce });
  const mail = await first.rt.submit({ type: 'sync', data: 'first mail', dedupe: throttle });
  await advance(first.rt, clock, 500);
  assert.equal(await first.rt.submit({ type: 'sync', data: 'new', dedupe: debounce }), held);
  await first.rt.stop();
  assert.deepEqual(first.runs.map((r) => r.data), ['first mail']);

  const second = started({ clock, redis: { url: REDIS_URL, prefix } });
  await second.rt.ready();
  assert.equal((await second.rt.get(held))?.status, 'delayed');
  assert.equal(await second.rt.submit({ type: 'sync', data: 'second mail', dedupe: throttle }), mail);
  await advance(second.rt, clock, 999);
  assert.equal(second.runs.length, 0);
  await advance(second.rt, clock, 1);
  assert.deepEqual(second.runs, [{ id: held, data: 'new' }]);
  await advance(second.rt, clock, 3_500);
  assert.notEqual(await second.rt.submit({ type: 'sync', data: 'third mail', dedupe: throttle }), mail);
});

test('in a cluster the key\'s partition owns the window: submits on either node meet there', { timeout: 30_000 }, async () => {
  const prefix = freshPrefix('dedupe-cluster');
  prefixes.push(prefix);
  const runs: Array<{ node: string; id: string; data: unknown }> = [];
  const nodes = ['a', 'b'].map((node) => {
    const rt = createRuntime({
      name: `dedupe-${node}`, partitions: 4, logger: silentLogger,
      cluster: { redis: { url: REDIS_URL, prefix }, nodeId: node, leaseTtlMs: 1_000 },
    });
    rt.handle('sync', (data, ctx) => void runs.push({ node, id: ctx.id, data }));
    runtimes.push(rt);
    return rt;
  });
  const [a, b] = nodes as [Runtime, Runtime];
  await Promise.all(nodes.map((n) => n.ready()));
  await until(() => nodes.every((n) => n.cluster!.local().length === 2), 'two partitions each', 10_000);
  const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
  // Throttle: the first submit of each key wins, whichever node it came from.
  const firsts = await Promise.all(keys.map((key, i) => (i % 2 === 0 ? a : b).submit({ type: 'sync', data: `first ${key}`, dedupe: { key, mode: 'throttle', ttlMs: 60_000 } })));
  const seconds = await Promise.all(keys.map((key, i) => (i % 2 === 0 ? b : a).submit({ type: 'sync', data: `second ${key}`, dedupe: { key, mode: 'throttle', ttlMs: 60_000 } })));
  assert.deepEqual(seconds, firsts);
  // A producer client submits through the owner's inbox and is answered with the window's id too.
  const client = await createClient({ redis: { url: REDIS_URL, prefix } });
  try {
    const fromClient = await client.submitMany(keys.map((key) => ({ type: 'sync', data: `client ${key}`, dedupe: { key, mode: 'throttle', ttlMs: 60_000 } })));
    assert.deepEqual(fromClient, firsts);
  } finally {
    await client.close();
  }
  // Debounce: submits from both nodes replace one held payload, which runs once with the last data.
  const debounce = { key: 'shared-doc', mode: 'debounce', ttlMs: 300 } as const;
  const held = await a.submit({ type: 'sync', data: 1, dedupe: debounce });
  assert.equal(await b.submit({ type: 'sync', data: 2, dedupe: debounce }), held);
  assert.equal(await a.submit({ type: 'sync', data: 3, dedupe: debounce }), held);
  await until(() => runs.some((r) => r.id === held), 'the debounced payload to run', 10_000);
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(runs.filter((r) => r.id === held).map((r) => r.data), [3]);
  assert.deepEqual(runs.filter((r) => firsts.includes(r.id)).map((r) => r.data).sort(), keys.map((k) => `first ${k}`).sort());
});

test('a debounce replacement the store refused is answered with the error and reverted; the held payload keeps its data and due time', () => {
  const clock = new SimulatedClock(T0);
  const env: PartitionEnv = {
    options: compileOptions({ clock }), now: () => clock.now(), observed: () => false,
    policyOf: () => ({ timeout: 1_000, retries: 0, backoff: DEFAULT_BACKOFF }),
  };
  const state = initialPartitionState(0);
  const dedupe = { key: 'doc', mode: 'debounce', ttlMs: 1_000 } as const;
  const payload = (id: string, data: string): Payload => ({
    id, type: 'sync', data, clientId: 'c', priority: 5, complexity: 1, submittedAt: clock.now(), runAt: undefined, deadline: undefined,
    idempotencyKey: undefined, timeout: undefined, retries: undefined, backoff: undefined, tags: undefined, dependencies: undefined, shardKey: undefined, dedupe, concurrencyKey: undefined,
  });
  const enqueue = (p: Payload): { effects: PartitionEffect[]; created: ReadonlySet<string>; answer: () => EnqueueResult | undefined } => {
    let answer: EnqueueResult | undefined;
    const t = reducePartition(state, { type: 'enqueue', batch: { payloads: [p], settle: (_, r) => (answer = r) } }, env, true);
    return { effects: t.effects, created: t.created, answer: () => answer };
  };
  const first = enqueue(payload('a.0', 'old'));
  for (const e of first.effects) if (e.kind === 'reply') e.deliver();
  clock.advance(400);
  const second = enqueue(payload('b.0', 'new'));
  assert.ok(second.created.has('a.0'), 'the replacement is journalled as the record whole');
  assert.equal(state.records.get('a.0')?.data, 'new');
  const reply = second.effects.find((e) => e.kind === 'reply');
  assert.ok(reply?.kind === 'reply' && reply.refuse && reply.reverts);
  reply.refuse(new StoreUnavailableError(new Error('away')));
  assert.equal(second.answer()?.ok, false);
  reducePartition(state, { type: 'rollback', ids: reply.accepted ?? [], reverts: reply.reverts }, env, true);
  assert.equal(state.records.get('a.0')?.data, 'old');
  assert.equal(state.records.get('a.0')?.runAt, T0 + 1_000);
  assert.equal(state.records.get('a.0')?.status, 'delayed');
  clock.advance(600);
  reducePartition(state, { type: 'tick' }, env, true);
  assert.equal(state.records.get('a.0')?.status, 'queued', 'due at its first time again');
});
