// Durability on a real Redis and on deliberately broken engines: recovery, snapshots, refusals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deltaOf, encodeSnapshot, type PartitionDelta } from '../actors/partition/codec.ts';
import { restorePartition } from '../actors/partition/replay.ts';
import { reducePartition } from '../actors/partition/reducer.ts';
import type { PartitionMessage } from '../actors/partition/messages.ts';
import { initialPartitionState, viewOf, type PartitionState } from '../actors/partition/state.ts';
import { createRuntime, silentLogger, type PayloadInput, type Runtime } from '../src/index.ts';
import { SimulatedClock } from '../src/clock.ts';
import type { JournalEntry, PersistenceEngine, Snapshot } from '../src/persistence/engine.ts';
import { MemoryEngine } from '../src/persistence/memory.ts';
import { RedisEngine } from '../src/persistence/redis.ts';
import { deferred, partitionEnv, setup } from './helpers.ts';
import { REDIS_URL, dropPrefix, freshPrefix } from './redis-support.ts';
import { sampleValue, samples } from './admin-support.ts';

/** Partition 0's owned state, read the way the journal tests compare it with what recovery rebuilds. */
function partitionZero(rt: Runtime): PartitionState {
  return (rt as unknown as { partitions: { get(i: number): { state(): PartitionState } } }).partitions.get(0).state();
}

/** An engine that can be told to fail or to hold its writes. */
class BrokenEngine implements PersistenceEngine {
  readonly durable = true;
  readonly inner = new MemoryEngine();
  failWrites = false;
  failSnapshots = false;
  hold: Promise<void> | undefined;
  async connect() {}
  async persist(entries: readonly JournalEntry[]) {
    if (this.hold) await this.hold;
    if (this.failWrites) throw new Error('disk on fire');
    return this.inner.persist(entries);
  }
  events(key: string, after: number) { return this.inner.events(key, after); }
  latestSnapshot(key: string) { return this.inner.latestSnapshot(key); }
  async takeSnapshot(snapshot: Snapshot) {
    if (this.failSnapshots) throw new Error('snapshot store full');
    return this.inner.takeSnapshot(snapshot);
  }
  async close() {}
}

const accepted = (rt: Runtime) => rt.stats().partitions.reduce((n, p) => n + p.totals.accepted, 0);

describe('snapshot encoding', () => {
  test('a partition survives a JSON round trip of its snapshot (running payloads come back queued)', async () => {
    const { rt, clock } = setup({ partitions: 1, concurrency: 1, handlerDefaults: { retries: 1, backoff: { initialMs: 1000, jitter: 0 } } });
    const block = deferred();
    rt.handle('block', () => block.promise);
    rt.handle('ok', (n: number) => n * 2);
    rt.handle('bad', () => { throw new Error('no'); }, { retries: 0 });
    const done = await rt.submit({ type: 'ok', data: 21, priority: 'critical' });
    const bad = await rt.submit({ type: 'bad', priority: 'critical' });
    await rt.idle();
    const running = await rt.submit({ type: 'block', priority: 'high' });
    await rt.idle();
    const queued = await rt.submitMany([{ type: 'ok', data: 1, priority: 'low' }, { type: 'ok', data: 2, priority: 'high', idempotencyKey: 'k' }]);
    const later = await rt.submit({ type: 'ok', data: 3, delay: 5_000 });
    await rt.idle();
    const state = partitionZero(rt);
    const json = JSON.parse(JSON.stringify({ version: 1, data: encodeSnapshot(state) }));
    const { state: back, rerun } = restorePartition(0, json, []);
    assert.deepEqual(rerun, [running]);
    for (const id of [done, bad, ...queued, later]) assert.deepEqual(viewOf(back.records.get(id)!, 0), viewOf(state.records.get(id)!, 0), id);
    assert.equal(back.records.get(running)?.status, 'queued');
    assert.equal(back.records.get(running)?.tier, 'high');
    assert.equal(back.idempotency.get('k'), queued[1]);
    assert.deepEqual(back.depth, { critical: 0, high: 2, medium: 0, low: 1 });
    assert.equal(back.delayed, 1);
    assert.equal(back.timers.peek()?.value, later);
    block.resolve(undefined);
    clock.advance(0);
    await rt.stop();
  });

  test('journal entries rebuild the partition through JSON: lifecycle patches keep undefined apart from null, and the older patch form still decodes', async () => {
    const engine = new MemoryEngine();
    const { rt } = setup({ partitions: 1, concurrency: 4, persistence: engine, handlerDefaults: { retries: 1, backoff: { initialMs: 1000, jitter: 0 } } });
    rt.handle('ok', (n: number) => (n === 0 ? null : n === 1 ? undefined : n * 2));
    rt.handle('bad', () => { throw new Error('no'); });
    const ids = await rt.submitMany([{ type: 'ok', data: 0 }, { type: 'ok', data: 1 }, { type: 'ok', data: 2 }, { type: 'bad' }]);
    await Promise.all(ids.slice(0, 3).map((id) => rt.waitFor(id)));
    await rt.idle();
    const entries = await engine.events('partition-0', 0);
    assert.ok(entries.some((e) => (e.data as { lifecycle?: unknown[] }).lifecycle?.length), 'changes travel as lifecycle patches');
    assert.ok(entries.some((e) => (e.data as { started?: unknown[] }).started?.length), 'plain starts travel as ids');
    assert.ok(entries.some((e) => (e.data as { completed?: unknown[] }).completed?.length), 'and completions as ids with their results');
    const state = partitionZero(rt);
    const { state: back } = restorePartition(0, undefined, entries.map((e) => JSON.parse(JSON.stringify(e.data))));
    for (const id of ids) assert.deepEqual(viewOf(back.records.get(id)!, 0), viewOf(state.records.get(id)!, 0), id);
    assert.equal(back.records.get(ids[0]!)?.result, null);
    assert.equal(back.records.get(ids[1]!)?.result, undefined);
    assert.equal(back.records.get(ids[3]!)?.status, 'delayed', 'the failed one waits for its retry');
    const record = { ...state.records.get(ids[2]!)!, status: 'queued', attempt: 0, result: undefined, startedAt: undefined, finishedAt: undefined };
    const older = { seq: 1, totals: state.totals, upserts: [record], deletes: [] as string[] };
    const olderPatch = { ...older, upserts: [], patches: [[record.id, { status: 'completed', attempt: 1, result: 4, finishedAt: 5 }], [record.id, { status: 'completed' }, ['finishedAt']]] };
    const decoded = restorePartition(0, undefined, [older, olderPatch] as never).state.records.get(record.id);
    assert.deepEqual([decoded?.status, decoded?.attempt, decoded?.result, decoded?.finishedAt], ['completed', 1, 4, undefined]);
    await rt.stop();
  });

  test('new records travel positionally when they carry no options (undefined data apart from null), whole otherwise', async () => {
    const engine = new MemoryEngine();
    const { rt } = setup({ partitions: 1, concurrency: 1, persistence: engine });
    rt.handle('hold', () => new Promise(() => {}));
    const inputs: PayloadInput[] = [
      { type: 'hold', priority: 'critical' },
      { type: 'hold' },
      { type: 'hold', data: null },
      { type: 'hold', data: { a: [1, 'x'] }, clientId: 'shop', priority: 2, complexity: 9 },
      { type: 'hold', data: 3, idempotencyKey: 'k-1', tags: ['t'] },
    ];
    const ids = await rt.submitMany(inputs);
    await rt.idle();
    const entries = (await engine.events('partition-0', 0)).map((e) => JSON.parse(JSON.stringify(e.data)) as { plain?: unknown[]; accepted?: unknown[][]; upserts: { id: string }[] });
    const acceptedCount = (e: { accepted?: unknown[][] }) => (e.accepted ?? []).reduce((n, group) => n + (group.length - 9) / 3, 0);
    assert.equal(entries.reduce((n, e) => n + (e.plain?.length ?? 0) + acceptedCount(e), 0), 4, 'four without options travel positionally');
    assert.deepEqual(entries.flatMap((e) => e.upserts.map((u) => u.id)), [ids[4]], 'the one with options travels whole');
    const state = partitionZero(rt);
    const { state: back } = restorePartition(0, undefined, entries as never);
    for (const id of ids) {
      const [was, is] = [state.records.get(id)!, back.records.get(id)!];
      assert.deepEqual([is.data, is.clientId, is.priority, is.complexity, is.tier, is.seq, is.enqueuedAt, is.submittedAt, is.idempotencyKey, is.tags],
        [was.data, was.clientId, was.priority, was.complexity, was.tier, was.seq, was.enqueuedAt, was.submittedAt, was.idempotencyKey, was.tags], id);
    }
    assert.equal(back.records.get(ids[1]!)!.data, undefined);
    assert.equal(back.records.get(ids[2]!)!.data, null);
    await rt.stop();
  });

  test('new records travel in one flat array per group of what their submits share, data kept apart from undefined and null', async () => {
    const engine = new MemoryEngine();
    const { rt } = setup({ partitions: 1, concurrency: 1, persistence: engine });
    rt.handle('hold', () => new Promise(() => {}));
    await rt.submit({ type: 'hold', priority: 'critical' }); // takes the only slot: the others stay queued
    const data = [undefined, null, { a: [1, 'x'] }, 0, [2], 'low'];
    const ids = await rt.submitMany(data.map((d, i) => ({ type: 'hold', ...(d === undefined ? {} : { data: d }), ...(i === 5 ? { priority: 'low' as const } : {}) })));
    await rt.idle();
    const entries = (await engine.events('partition-0', 0)).map((e) => JSON.parse(JSON.stringify(e.data)) as { accepted?: unknown[][] });
    const groups = entries.flatMap((e) => e.accepted ?? []);
    assert.deepEqual(groups.map((g) => [g[3], (g.length - 9) / 3]), [['critical', 1], ['medium', 5], ['low', 1]], 'a group per tier: the first submit, the five, the low one');
    const state = partitionZero(rt);
    const { state: back } = restorePartition(0, undefined, entries as never);
    for (const id of ids) {
      const [was, is] = [state.records.get(id)!, back.records.get(id)!];
      assert.deepEqual([is.type, is.clientId, is.status, is.tier, is.priority, is.complexity, is.attempt, is.seq, is.enqueuedAt, is.submittedAt],
        [was.type, was.clientId, was.status, was.tier, was.priority, was.complexity, was.attempt, was.seq, was.enqueuedAt, was.submittedAt], id);
    }
    assert.deepEqual(ids.map((id) => back.records.get(id)!.data), data);
    await rt.stop();
  });

  test('submits of many calls in one entry fill eight groups, then the older per-record form, which still decodes', async () => {
    const engine = new MemoryEngine();
    const { rt, clock } = setup({ partitions: 1, concurrency: 1, persistence: engine });
    rt.handle('hold', () => new Promise(() => {}));
    await rt.submit({ type: 'hold', priority: 'critical' }); // takes the only slot: the others stay queued
    // Twelve calls in one tick, each a millisecond apart: twelve submit times, so twelve groups would be needed.
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => {
      clock.advance(1);
      return rt.submit({ type: 'hold', data: i === 11 ? undefined : { i } });
    }));
    await rt.idle();
    const entries = (await engine.events('partition-0', 0)).map((e) => JSON.parse(JSON.stringify(e.data)) as { accepted?: unknown[][]; fresh?: unknown[][] });
    const last = entries.at(-1)!;
    assert.deepEqual([last.accepted?.length, last.fresh?.length], [8, 1], 'eight groups, then the rest in the per-record form');
    const state = partitionZero(rt);
    const { state: back } = restorePartition(0, undefined, entries as never);
    for (const id of ids) assert.deepEqual(viewOf(back.records.get(id)!, 0), viewOf(state.records.get(id)!, 0), id);
    assert.equal(back.records.get(ids[11]!)!.data, undefined);
    await rt.stop();
  });

  test('starts in a degraded tier travel as ids, apart from plain starts, and rebuild degraded', () => {
    const clock = new SimulatedClock();
    const env = partitionEnv(clock, 0);
    const state = initialPartitionState(0);
    const deltas: PartitionDelta[] = [];
    const send = (message: PartitionMessage) => {
      const t = reducePartition(state, message, env, true);
      for (const e of t.effects) if (e.kind === 'reply') e.deliver();
      if (t.added.length > 0 || t.touched.size > 0 || t.started.length > 0 || t.completed.length > 0) {
        state.seq++;
        deltas.push(JSON.parse(JSON.stringify(deltaOf(state, t))) as PartitionDelta);
        for (const queue of t.pushed) queue.confirm(queue.pushCount); // the entry is stored
      }
      clock.advance(1);
    };
    const payload = (id: string, priority: number) => ({
      id, type: 't', data: null, clientId: 'c', priority, complexity: 1, submittedAt: clock.now(), runAt: undefined, deadline: undefined, idempotencyKey: undefined,
      timeout: undefined, retries: undefined, backoff: undefined, tags: undefined, dependencies: undefined, shardKey: undefined, dedupe: undefined, concurrencyKey: undefined,
    });
    send({ type: 'enqueue', batch: { payloads: [payload('a.0', 5), payload('b.0', 5), payload('c.0', 9)], settle: () => {} } });
    send({ type: 'grant', grants: [{ tier: 'medium', handlerType: 't', count: 1 }] });
    send({ type: 'degrade', tier: 'medium', mode: 'degrade' });
    send({ type: 'grant', grants: [{ tier: 'medium', handlerType: 't', count: 1 }, { tier: 'critical', handlerType: 't', count: 1 }] });
    const last = deltas.at(-1)!;
    assert.deepEqual([last.started?.length, last.degraded?.length, last.lifecycle], [3, 3, undefined], 'one plain start, one degraded, no lifecycle patch');
    const { state: back } = restorePartition(0, undefined, deltas);
    for (const id of ['a.0', 'b.0', 'c.0']) {
      const [was, is] = [state.records.get(id)!, back.records.get(id)!];
      assert.deepEqual([is.attempt, is.startedAt, is.degraded], [was.attempt, was.startedAt, was.degraded], id);
    }
    assert.deepEqual(['a.0', 'b.0', 'c.0'].map((id) => state.records.get(id)!.degraded), [undefined, true, undefined]);
    assert.deepEqual([last.totals, back.totals], [[3, 3, 0, 0, 0, 0, 0], state.totals], 'the counters travel as a row and come back named');
  });

  test('records leaving retention are journalled as deletes: the journal rebuilds the same retained records', async () => {
    const engine = new MemoryEngine();
    const { rt } = setup({ partitions: 1, concurrency: 1, persistence: engine, retainTerminal: 2 });
    rt.handle('ok', () => 'done');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await rt.submit({ type: 'ok' });
      await rt.waitFor(id);
      ids.push(id);
    }
    await rt.idle();
    const entries = (await engine.events('partition-0', 0)).map((e) => JSON.parse(JSON.stringify(e.data)) as PartitionDelta);
    // Each acceptance names the record's seq after its id (`accepted`: id, seq, data per record).
    const seqOf = new Map(entries.flatMap((e) => (e.accepted ?? []).flatMap((g) => (g.length === 12 ? [[g[9] as string, g[10] as number] as const] : []))));
    assert.deepEqual(entries.flatMap((e) => e.deletes), ids.slice(0, 3).map((id) => seqOf.get(id)), 'the three oldest left, each once, by seq');
    const { state: back } = restorePartition(0, undefined, entries);
    assert.deepEqual(ids.map((id) => back.records.has(id)), [false, false, false, true, true]);
    await rt.stop();
  });

  test('entries of earlier builds name records by id in starts, completions, claims and deletes, and still decode', () => {
    const totals = { accepted: 3, started: 2, completed: 1, failed: 0, retried: 0, cancelled: 0, skipped: 0 };
    const accepted = { seq: 3, totals, upserts: [], deletes: [], fresh: [['t', 'c', 'queued', 'medium', 'a.0', 5, 1, 10, 0, 0, 11, 0, 'b.0', 5, 1, 10, 0, 1, 11, 0, 'c.0', 5, 1, 10, 0, 2, 11, 0]] };
    const older = { seq: 3, totals, upserts: [], deletes: ['c.0'], started: [20, 'a.0', 1, 'b.0', 1], completed: [30, ['a.0', 'ok']], claims: [] };
    const { state } = restorePartition(0, undefined, [accepted, older] as never);
    assert.deepEqual([...state.records.keys()].sort(), ['a.0', 'b.0']);
    assert.deepEqual([state.records.get('a.0')?.status, state.records.get('a.0')?.result, state.records.get('b.0')?.startedAt], ['completed', 'ok', 20]);
    const { state: bySeq } = restorePartition(0, undefined, [accepted, { ...older, deletes: [2], started: [20, 0, 1, 1, 1], completed: [30, [0, 'ok']] }] as never);
    const fields = (records: Iterable<{ id: string; status: string; result?: unknown; startedAt?: number }>) => [...records].map((r) => [r.id, r.status, r.result, r.startedAt]);
    assert.deepEqual(fields(bySeq.records.values()), fields(state.records.values()), 'the same named by seq');
  });

  test('an unknown snapshot version is refused with a clear error', () => {
    assert.throws(() => restorePartition(0, { version: 99, data: { seq: 0, totals: {} as never, records: [] } }, []), /version 99/);
  });
});

describe('recovery on Redis', () => {
  test('a new runtime on the same prefix finishes every acknowledged payload; tiers survive', async () => {
    const prefix = freshPrefix('recover');
    try {
      const first = createRuntime({ partitions: 4, concurrency: 2, logger: silentLogger, redis: { url: REDIS_URL, prefix }, snapshotEvery: 3 });
      first.handle('work', () => new Promise(() => {})); // never finishes: the "crash" leaves it running
      const low = await first.submitMany(Array.from({ length: 30 }, (_, i) => ({ type: 'work', data: i, priority: 'low' as const })));
      const high = await first.submitMany(Array.from({ length: 5 }, (_, i) => ({ type: 'work', data: i, priority: 'high' as const })));
      const delayed = await first.submit({ type: 'work', delay: 50 });
      await first.idle();
      assert.ok(first.store.stats().snapshotsTaken > 0, 'snapshots were taken');
      // The first runtime is abandoned without stopping, as a crashed process would be.
      const second = createRuntime({ partitions: 4, concurrency: 1, logger: silentLogger, redis: { url: REDIS_URL, prefix } });
      const order: string[] = [];
      second.handle('work', (_, ctx) => void order.push(ctx.id));
      await second.ready();
      assert.equal(second.recovery?.records, 36);
      assert.equal(second.recovery?.rerun, 2, 'the two running payloads run again');
      await Promise.all([...low, ...high, delayed].map((id) => second.waitFor(id)));
      assert.deepEqual(order.slice(0, high.length).sort(), [...high].sort(), 'recovered high payloads run before the low ones');
      await second.stop();
      await first.stop(); // release the abandoned runtime's connection and timers
    } finally {
      await dropPrefix(prefix);
    }
  });
});

describe('broken engines', () => {
  test('a failing journal refuses the submit with STORE_UNAVAILABLE and accepts nothing; work resumes when it heals', async () => {
    const engine = new BrokenEngine();
    const rt = createRuntime({ partitions: 2, logger: silentLogger, persistence: engine });
    rt.handle('job', () => 'done');
    await rt.ready();
    const errors: unknown[] = [];
    rt.store.on('journal-error', (e) => errors.push(e));
    engine.failWrites = true;
    await assert.rejects(rt.submit({ type: 'job' }), { code: 'STORE_UNAVAILABLE' });
    assert.equal(errors.length >= 1, true, 'the failure is an event');
    assert.equal(rt.store.stats().journalFailures >= 1, true, 'and a counter');
    assert.equal(rt.store.available, false);
    const during = samples((await rt.metrics.exposition()).body);
    assert.ok((sampleValue(during, 'triage_store_journal_failures_total') ?? 0) >= 1, 'and a metric');
    assert.equal(sampleValue(during, 'triage_store_available'), 0);
    await assert.rejects(rt.submit({ type: 'job' }), { code: 'STORE_UNAVAILABLE' }, 'refused at once while unavailable');
    engine.failWrites = false;
    await new Promise<void>((resolve) => rt.store.once('available', resolve));
    await rt.idle();
    assert.equal(accepted(rt), 0, 'the refused payload was rolled back');
    const id = await rt.submit({ type: 'job' });
    assert.equal(await rt.waitFor(id), 'done');
    await rt.stop();
  });

  test('submit resolves only once a slow journal has acknowledged the entry', async () => {
    const engine = new BrokenEngine();
    const rt = createRuntime({ partitions: 1, logger: silentLogger, persistence: engine });
    rt.handle('job', () => 'done');
    await rt.ready();
    const gate = deferred<void>();
    engine.hold = gate.promise;
    let resolved = false;
    const submitted = rt.submit({ type: 'job' }).then((id) => ((resolved = true), id));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(resolved, false);
    engine.hold = undefined;
    gate.resolve();
    assert.equal(await rt.waitFor(await submitted), 'done');
    await rt.stop();
  });

  test('a failing snapshot is reported and counted; the journal keeps everything and work goes on', async () => {
    const engine = new BrokenEngine();
    engine.failSnapshots = true;
    const rt = createRuntime({ partitions: 1, logger: silentLogger, persistence: engine, snapshotEvery: 2 });
    rt.handle('job', (n: number) => n);
    const failures: string[] = [];
    rt.store.on('snapshot-error', (_e, key) => failures.push(key));
    const ids = await rt.submitMany(Array.from({ length: 5 }, (_, i) => ({ type: 'job', data: i })));
    assert.deepEqual(await Promise.all(ids.map((id) => rt.waitFor(id))), [0, 1, 2, 3, 4]);
    await rt.idle();
    assert.ok(failures.includes('partition-0'), 'the partition snapshot failure is reported with its key');
    assert.ok(rt.store.stats().snapshotFailures >= 1);
    const metrics = samples((await rt.metrics.exposition()).body);
    assert.ok((sampleValue(metrics, 'triage_store_snapshot_failures_total') ?? 0) >= 1, 'the failure is a metric too');
    assert.ok(engine.inner.journalLength('partition-0') >= 3, 'nothing was trimmed');
    await rt.stop();
  });
});

describe('redis engine options', () => {
  test('every key lives under the prefix, with the partition in a hash tag', async () => {
    const prefix = freshPrefix('keys');
    const engine = new RedisEngine({ url: REDIS_URL, prefix });
    try {
      assert.equal(engine.keys.journal('partition-3'), `${prefix}:j:{partition-3}`);
      assert.equal(engine.keys.snapshot('partition-3'), `${prefix}:s:{partition-3}`);
      // A grouped key is tagged with its group: the actors of one cluster home share a slot.
      assert.equal(engine.keys.journal('home-n.1/workflows'), `${prefix}:j:{home-n.1}/workflows`);
      assert.throws(() => new RedisEngine({ url: REDIS_URL, prefix: 'bad prefix!' }), /prefix/);
    } finally {
      await engine.close();
      await dropPrefix(prefix);
    }
  });
});
