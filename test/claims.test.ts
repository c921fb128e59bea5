// Claims: starts journalled ahead of their grants (actors/partition/claims.ts). A payload whose
// claim is stored starts without waiting for its start entry; nothing else does; recovery reruns
// (and counts) a claimed payload as if it had started; a graceful stop gives the claims back.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { PartitionDelta } from '../actors/partition/codec.ts';
import { restorePartition } from '../actors/partition/replay.ts';
import { emptyTotals } from '../actors/partition/state.ts';
import { createRuntime, silentLogger, type Runtime } from '../src/index.ts';
import type { JournalEntry, PersistenceEngine, Snapshot } from '../src/persistence/engine.ts';
import { MemoryEngine } from '../src/persistence/memory.ts';
import { deferred, until } from './helpers.ts';
import { REDIS_URL, dropPrefix, freshPrefix } from './redis-support.ts';

/** A memory engine whose writes can be held back. */
class HeldEngine implements PersistenceEngine {
  readonly durable = true;
  readonly inner = new MemoryEngine();
  hold: Promise<void> | undefined;
  /** Entries written so far (held ones count once they are let through). */
  stored = 0;
  async connect() {}
  async persist(entries: readonly JournalEntry[]) {
    if (this.hold) await this.hold;
    await this.inner.persist(entries);
    this.stored += entries.length;
  }
  events(key: string, after: number) { return this.inner.events(key, after); }
  latestSnapshot(key: string) { return this.inner.latestSnapshot(key); }
  takeSnapshot(snapshot: Snapshot) { return this.inner.takeSnapshot(snapshot); }
  async close() {}
}

const runtimes: Runtime[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.stop();
  for (const prefix of prefixes.splice(0)) await dropPrefix(prefix);
});

/**
 * Two slots; `job` ends at once unless its data says `block`. Ten high jobs end in pairs first (a
 * pair of grants), so the high queue claims two ahead. High: lower tiers leave a slot reserved.
 */
async function warmed(options: Parameters<typeof createRuntime>[0]): Promise<{ rt: Runtime; runs: string[] }> {
  const rt = createRuntime({ partitions: 1, concurrency: 2, logger: silentLogger, ...options });
  runtimes.push(rt);
  const runs: string[] = [];
  rt.handle('job', (data: { block?: boolean } | undefined, ctx) => {
    runs.push(ctx.id);
    return data?.block ? new Promise(() => {}) : 'done';
  });
  await rt.ready();
  const warm = await rt.submitMany(Array.from({ length: 10 }, () => ({ type: 'job', priority: 'high' as const })));
  await Promise.all(warm.map((id) => rt.waitFor(id)));
  runs.length = 0;
  return { rt, runs };
}

describe('claims', () => {
  test('a payload whose claim is stored starts while the store holds its start entry; the others wait for the store', async () => {
    const engine = new HeldEngine();
    const { rt, runs } = await warmed({ persistence: engine });
    const ids = await rt.submitMany(Array.from({ length: 6 }, () => ({ type: 'job', priority: 'high' as const })));
    // The acceptance (and the claims it carried) is stored; from here on nothing more is.
    const gate = deferred<void>();
    engine.hold = gate.promise;
    const storedBefore = engine.stored;
    await until(() => runs.length > 0, 'the claimed payloads to start');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(engine.stored, storedBefore, 'nothing was stored meanwhile');
    assert.deepEqual(runs, ids.slice(0, 2), 'the two claimed heads ran, in FIFO order, and only they');
    const late = rt.submit({ type: 'job', priority: 'high' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(runs.length, 2, 'a payload whose acceptance is not stored never starts');
    engine.hold = undefined;
    gate.resolve();
    const lateId = await late;
    assert.deepEqual(await Promise.all([...ids, lateId].map((id) => rt.waitFor(id))), Array(7).fill('done'));
    assert.equal(new Set(runs).size, runs.length, 'each ran once');
  });

  test('nothing starts early while the store is away', async () => {
    const engine = new HeldEngine();
    const { rt, runs } = await warmed({ persistence: engine });
    rt.pause({ type: 'job' });
    const ids = await rt.submitMany(Array.from({ length: 6 }, () => ({ type: 'job', priority: 'high' as const })));
    const write = engine.inner.persist.bind(engine.inner);
    let away = true;
    engine.inner.persist = async (entries) => {
      if (away) throw new Error('store away');
      return write(entries);
    };
    await assert.rejects(rt.submit({ type: 'job' }), { code: 'STORE_UNAVAILABLE' });
    assert.equal(rt.store.available, false);
    rt.resume({ type: 'job' }); // grants come now, with claims stored and the store away
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(runs, [], 'nothing started while the store was away');
    away = false;
    assert.deepEqual(await Promise.all(ids.map((id) => rt.waitFor(id))), Array(6).fill('done'));
  });

  test('on Redis, a crash leaves claimed payloads to rerun (counted); a graceful stop gives the claims back', async () => {
    const crashed = freshPrefix('claims-crash');
    const stopped = freshPrefix('claims-stop');
    prefixes.push(crashed, stopped);
    for (const prefix of [crashed, stopped]) {
      const { rt } = await warmed({ redis: { url: REDIS_URL, prefix } });
      // Held by a pause: nothing is granted, and the two at the front of the queue are claimed.
      rt.pause({ type: 'job' });
      const held = await rt.submitMany(Array.from({ length: 8 }, () => ({ type: 'job', priority: 'high' as const })));
      await rt.idle();
      if (prefix === stopped) await rt.stop();
      const next = createRuntime({ partitions: 1, concurrency: 2, logger: silentLogger, redis: { url: REDIS_URL, prefix } });
      runtimes.push(next);
      const attempts = new Map<string, number>();
      next.handle('job', (_: unknown, ctx) => void attempts.set(ctx.id, ctx.attempt));
      await next.ready();
      assert.equal(next.recovery?.records, 18);
      await Promise.all(held.map((id) => next.waitFor(id)));
      const second = held.filter((id) => attempts.get(id) === 2);
      if (prefix === crashed) {
        assert.equal(next.recovery?.rerun, 2, 'the two claimed count as reruns');
        assert.deepEqual(second, held.slice(0, 2), 'and their attempt counted, as a start would count it');
      } else {
        assert.equal(next.recovery?.rerun, 0, 'a stop leaves no claim behind');
        assert.deepEqual(second, []);
      }
    }
  });

  test('a claimed payload that is cancelled gives its claim up: recovery neither reruns it nor counts it', async () => {
    const engine = new HeldEngine();
    const { rt, runs } = await warmed({ persistence: engine });
    rt.pause({ type: 'job' });
    const ids = await rt.submitMany(Array.from({ length: 4 }, () => ({ type: 'job', priority: 'high' as const })));
    await rt.idle();
    const claimedRecovery = restorePartition(0, undefined, (await engine.inner.events('partition-0', 0)).map((e) => e.data as PartitionDelta));
    assert.deepEqual(claimedRecovery.rerun, ids.slice(0, 2), 'the two heads are claimed');
    assert.equal(await rt.cancel(ids[0]!), true);
    await rt.idle();
    const { state, rerun } = restorePartition(0, undefined, (await engine.inner.events('partition-0', 0)).map((e) => e.data as PartitionDelta));
    assert.equal(state.records.get(ids[0]!)?.status, 'cancelled');
    assert.ok(!rerun.includes(ids[0]!), 'the cancelled one is not rerun');
    rt.resume({ type: 'job' });
    await Promise.all(ids.slice(1).map((id) => rt.waitFor(id)));
    assert.deepEqual(runs, ids.slice(1), 'the cancelled one never ran; the others ran once, in order');
  });

  test('a claim recovers as a start of its attempt; a later entry that writes the record overrides it', () => {
    const record = { id: 'p1', type: 'job', clientId: 'c', priority: 5, complexity: 1, submittedAt: 1, status: 'queued', tier: 'medium', attempt: 2, seq: 0, enqueuedAt: 1 };
    const other = { ...record, id: 'p2', seq: 1 };
    const accepted = { seq: 2, totals: emptyTotals(), upserts: [record, other], deletes: [], claims: ['p1', 3, 'p2', 3] } as unknown as PartitionDelta;
    const claimed = restorePartition(0, undefined, [accepted]);
    assert.deepEqual(claimed.rerun, ['p1', 'p2']);
    assert.deepEqual([claimed.state.records.get('p1')?.status, claimed.state.records.get('p1')?.attempt], ['queued', 3]);
    // p2's claim was withdrawn: an entry wrote it again as queued, attempt 2.
    const withdrawn = { seq: 2, totals: emptyTotals(), upserts: [], lifecycle: [['p2', 0b1111111110000010, 5, 'queued', 'medium', 2, 1, 1]], deletes: [] } as unknown as PartitionDelta;
    const back = restorePartition(0, undefined, [accepted, withdrawn]);
    assert.deepEqual(back.rerun, ['p1']);
    assert.deepEqual([back.state.records.get('p2')?.status, back.state.records.get('p2')?.attempt], ['queued', 2]);
  });
});
