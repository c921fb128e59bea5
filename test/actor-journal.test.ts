// The per-actor journal (ordering, gates, snapshots) and snapshot-only persistence, on the memory
// engine and a store that can be told to hold or fail.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedClock, silentLogger } from '../src/index.ts';
import { ActorJournal } from '../src/persistence/actor-journal.ts';
import { Durability } from '../src/persistence/durability.ts';
import { MemoryEngine } from '../src/persistence/memory.ts';
import { PeriodicSnapshot } from '../src/persistence/periodic-snapshot.ts';
import { deferred } from './helpers.ts';

const encode = (state: number) => ({ version: 1, data: state });

function setup(snapshotEvery = 100) {
  const engine = new MemoryEngine();
  const clock = new SimulatedClock();
  const durability = new Durability(engine, clock, silentLogger, snapshotEvery, false);
  const journal = new ActorJournal<number>({ writer: durability.writer, snapshots: durability, key: 'actor', journalSeq: 0, snapshotEvery, initial: 0, encode });
  return { engine, clock, durability, journal };
}

describe('actor journal', () => {
  test('follow-ups run in transition order, each after its entry is stored; no entry, no write', async () => {
    const { engine, durability, journal } = setup();
    const done: number[] = [];
    journal.record(1, { set: 1 }, () => done.push(1));
    journal.record(1, undefined, () => done.push(2)); // changed nothing durable: waits only for the entry before it
    journal.record(3, { set: 3 }, () => done.push(3));
    assert.deepEqual(done, [], 'nothing follows before the store answers');
    await durability.writer.whenFlushed();
    assert.deepEqual(done, [1, 2, 3]);
    assert.deepEqual((await engine.events('actor', 0)).map((e) => [e.seq, e.data]), [[1, { set: 1 }], [2, { set: 3 }]]);
  });

  test('a gated entry holds back the ones after it until the gate opens', async () => {
    const { engine, durability, journal } = setup();
    const gate = deferred<void>();
    const done: string[] = [];
    journal.record(1, { step: 'released' }, () => done.push('released'), gate.promise);
    journal.record(2, { step: 'later' }, () => done.push('later'));
    await durability.writer.whenFlushed();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await engine.events('actor', 0), [], 'neither entry is written while the gate is shut');
    assert.deepEqual(done, []);
    gate.resolve();
    await new Promise((r) => setImmediate(r));
    await durability.writer.whenFlushed();
    assert.deepEqual((await engine.events('actor', 0)).map((e) => e.data), [{ step: 'released' }, { step: 'later' }], 'in transition order');
    assert.deepEqual(done, ['released', 'later']);
  });

  test('a snapshot every N entries holds the state of the entry it covers and trims the journal', async () => {
    const { engine, durability, journal } = setup(2);
    for (let i = 1; i <= 5; i++) {
      journal.record(i * 10, { n: i }, () => {});
      await durability.writer.whenFlushed();
      await new Promise((r) => setImmediate(r)); // one snapshot at a time per key: let each finish
    }
    const snapshot = await engine.latestSnapshot('actor');
    assert.equal(snapshot?.seq, 4);
    assert.equal(snapshot?.data, 40, 'the state of entry 4, not a later one');
    assert.deepEqual((await engine.events('actor', 0)).map((e) => e.seq), [5], 'entries the snapshot covers are gone');
    await journal.snapshotNow();
    assert.equal((await engine.latestSnapshot('actor'))?.data, 50);
  });
});

describe('periodic snapshots', () => {
  test('at most one per interval; an urgent offer is stored at once, even behind one in flight', async () => {
    const engine = new MemoryEngine();
    const clock = new SimulatedClock();
    const hold = deferred<void>();
    let holding = false;
    const stored: number[] = [];
    const store = {
      snapshot() {},
      async store(_key: string, _seq: number, _version: number, data: unknown) {
        if (holding) await hold.promise;
        stored.push(data as number);
        await engine.takeSnapshot({ key: 'c', seq: _seq, version: 1, data });
      },
    };
    const periodic = new PeriodicSnapshot<number>({ key: 'c', snapshots: store, clock, intervalMs: 1_000, seq: 0, initial: 0, encode });
    periodic.offer(1);
    periodic.offer(2); // within the interval: not stored yet
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(stored, [1]);
    clock.advance(1_000);
    holding = true;
    periodic.offer(3); // starts a store that hangs
    periodic.offer(4, true); // urgent: must follow as soon as the hanging one is done
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(stored, [1]);
    holding = false;
    hold.resolve();
    await periodic.flush();
    assert.deepEqual(stored, [1, 3, 4]);
    assert.equal((await engine.latestSnapshot('c'))?.data, 4);
    periodic.offer(4, true); // unchanged: nothing to store
    await periodic.flush();
    assert.deepEqual(stored, [1, 3, 4]);
  });
});
