// One contract, every engine: the in-memory default and Redis (a real server, a fresh prefix per test).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PersistenceEngine } from '../src/persistence/engine.ts';
import { MemoryEngine } from '../src/persistence/memory.ts';
import { RedisEngine } from '../src/persistence/redis.ts';
import { REDIS_URL, dropPrefix, freshPrefix } from './redis-support.ts';

interface Subject {
  readonly name: string;
  open(): Promise<{ engine: PersistenceEngine; dispose(): Promise<void> }>;
}

const subjects: Subject[] = [
  { name: 'memory', open: async () => ({ engine: new MemoryEngine(), dispose: async () => {} }) },
  {
    name: 'redis',
    open: async () => {
      const prefix = freshPrefix('contract');
      const engine = new RedisEngine({ url: REDIS_URL, prefix });
      await engine.connect();
      return { engine, dispose: async () => { await engine.close(); await dropPrefix(prefix); } };
    },
  },
];

const entry = (key: string, seq: number, data: unknown = { seq }) => ({ key, seq, data });

for (const subject of subjects) {
  describe(`persistence contract: ${subject.name}`, () => {
    const withEngine = (fn: (engine: PersistenceEngine) => Promise<void>) => async () => {
      const { engine, dispose } = await subject.open();
      try {
        await fn(engine);
      } finally {
        await dispose();
      }
    };

    test('entries come back in order, after the asked sequence number', withEngine(async (engine) => {
      await engine.persist([entry('a', 1), entry('a', 2), entry('b', 1)]);
      await engine.persist([entry('a', 3, { nested: { list: [1, 'two', null], text: 'ünïcode ✓' } })]);
      assert.deepEqual((await engine.events('a', 0)).map((e) => e.seq), [1, 2, 3]);
      assert.deepEqual((await engine.events('a', 2)).map((e) => e.data), [{ nested: { list: [1, 'two', null], text: 'ünïcode ✓' } }]);
      assert.deepEqual((await engine.events('b', 0)).map((e) => e.key), ['b']);
      assert.deepEqual(await engine.events('missing', 0), []);
    }));

    test('re-appending stored entries is a no-op, so a retried batch is safe', withEngine(async (engine) => {
      await engine.persist([entry('a', 1), entry('a', 2)]);
      await engine.persist([entry('a', 2, 'again'), entry('a', 3)]);
      assert.deepEqual((await engine.events('a', 0)).map((e) => [e.seq, e.data]), [[1, { seq: 1 }], [2, { seq: 2 }], [3, { seq: 3 }]]);
    }));

    test('an entry that would leave a gap is refused', withEngine(async (engine) => {
      await engine.persist([entry('a', 1)]);
      await assert.rejects(engine.persist([entry('a', 3)]), /TRIAGE_GAP/);
      assert.deepEqual((await engine.events('a', 0)).map((e) => e.seq), [1]);
    }));

    test('several entries of one key in one batch come back whole, multi-byte text included', withEngine(async (engine) => {
      const texts = ['plain', 'ünïcode ✓', '', '𝄞 clef', 'end'];
      await engine.persist(texts.map((text, i) => entry('k', i + 1, { text })));
      await engine.persist([entry('k', 5, 'again'), entry('k', 6, { text: 'ß' }), entry('k', 7, { text: 'after' })]);
      assert.deepEqual((await engine.events('k', 0)).map((e) => [e.seq, e.data]), [...texts, 'ß', 'after'].map((text, i) => [i + 1, { text }]));
    }));

    test('a batch with a gap inside it is refused whole', withEngine(async (engine) => {
      await engine.persist([entry('a', 1)]);
      await assert.rejects(engine.persist([entry('a', 2), entry('a', 4)]), /TRIAGE_GAP/);
      assert.deepEqual((await engine.events('a', 0)).map((e) => e.seq), [1]);
    }));

    test('a snapshot trims the journal it covers and is returned with its version', withEngine(async (engine) => {
      await engine.persist([1, 2, 3, 4].map((seq) => entry('p', seq)));
      assert.equal(await engine.takeSnapshot({ key: 'p', seq: 3, version: 7, data: { state: 'at 3' } }), true);
      assert.deepEqual(await engine.latestSnapshot('p'), { key: 'p', seq: 3, version: 7, data: { state: 'at 3' } });
      assert.deepEqual((await engine.events('p', 0)).map((e) => e.seq), [4]);
      await engine.persist([entry('p', 5)]);
      assert.deepEqual((await engine.events('p', 3)).map((e) => e.seq), [4, 5]);
    }));

    test('an older snapshot never replaces a newer one', withEngine(async (engine) => {
      await engine.persist([1, 2, 3].map((seq) => entry('p', seq)));
      assert.equal(await engine.takeSnapshot({ key: 'p', seq: 3, version: 1, data: 'new' }), true);
      assert.equal(await engine.takeSnapshot({ key: 'p', seq: 2, version: 1, data: 'old' }), false);
      assert.equal((await engine.latestSnapshot('p'))?.data, 'new');
      assert.equal(await engine.latestSnapshot('other'), undefined);
    }));

    test('after a snapshot, entries it covers are not appended again', withEngine(async (engine) => {
      await engine.persist([1, 2].map((seq) => entry('p', seq)));
      await engine.takeSnapshot({ key: 'p', seq: 2, version: 1, data: null });
      await engine.persist([entry('p', 2), entry('p', 3)]);
      assert.deepEqual((await engine.events('p', 0)).map((e) => e.seq), [3]);
    }));
  });
}
