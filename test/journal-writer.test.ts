// The group-commit writer: what goes in one persist call, and how a sink hears of its entries.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedClock } from '../src/index.ts';
import type { JournalEntry } from '../src/persistence/engine.ts';
import { JournalWriter, type JournalSink } from '../src/persistence/journal-writer.ts';
import { MemoryEngine } from '../src/persistence/memory.ts';

/** A memory engine that keeps the entries of each persist call. */
class CountingEngine extends MemoryEngine {
  readonly calls: JournalEntry[][] = [];
  override persist(entries: readonly JournalEntry[]): Promise<void> {
    this.calls.push([...entries]);
    return super.persist(entries);
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const hooks = { onError: () => {}, onAvailabilityChange: () => {} };

function recordingSink(): JournalSink & { heard: number[] } {
  const heard: number[] = [];
  return { heard, stored: (seq) => heard.push(seq), failed: () => {} };
}

describe('journal writer', () => {
  test('a lone entry is sent at the next turn', async () => {
    const engine = new CountingEngine();
    const writer = new JournalWriter(engine, new SimulatedClock(0), hooks);
    writer.write({ key: 'p', seq: 1, data: 1 }, recordingSink());
    await nextTurn();
    assert.deepEqual(engine.calls.map((call) => call.map((e) => e.seq)), [[1]]);
  });

  test('while each turn brings more entries, the send waits for them (a few turns at most)', async () => {
    const engine = new CountingEngine();
    const writer = new JournalWriter(engine, new SimulatedClock(0), hooks);
    const sink = recordingSink();
    writer.write({ key: 'p', seq: 1, data: 1 }, sink);
    writer.write({ key: 'p', seq: 2, data: 2 }, sink);
    for (let seq = 3; seq <= 4; seq++) {
      await nextTurn();
      writer.write({ key: 'p', seq, data: seq }, sink);
    }
    await writer.whenFlushed();
    assert.deepEqual(engine.calls.map((call) => call.map((e) => e.seq)), [[1, 2, 3, 4]]);
    assert.deepEqual(sink.heard, [4], 'the sink hears once per batch, with its last seq');
  });

  test('a send does not wait past its bound while entries keep coming', async () => {
    const engine = new CountingEngine();
    const writer = new JournalWriter(engine, new SimulatedClock(0), hooks);
    const sink = recordingSink();
    for (let seq = 1; seq <= 20; seq++) {
      writer.write({ key: 'p', seq, data: seq }, sink);
      await nextTurn();
    }
    await writer.whenFlushed();
    assert.ok(engine.calls.length > 1, `20 turns in a row went in ${engine.calls.length} call`);
    assert.deepEqual(engine.calls.flat().map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(sink.heard.at(-1), 20);
    assert.deepEqual((await engine.events('p', 0)).map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1));
  });

  test('each sink hears of its own entries only', async () => {
    const engine = new CountingEngine();
    const writer = new JournalWriter(engine, new SimulatedClock(0), hooks);
    const [a, b] = [recordingSink(), recordingSink()];
    writer.write({ key: 'a', seq: 1, data: 1 }, a);
    writer.write({ key: 'b', seq: 1, data: 1 }, b);
    writer.write({ key: 'a', seq: 2, data: 2 }, a);
    await writer.whenFlushed();
    assert.deepEqual([a.heard, b.heard], [[2], [1]]);
  });
});
