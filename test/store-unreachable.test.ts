// A durable runtime whose Redis cannot be reached: its callers are refused at once with
// STORE_UNAVAILABLE instead of hanging, it keeps trying and boots once Redis answers, stop()
// settles everything and the process can exit; a malformed Redis URL is an options error.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { createRuntime, OptionsError, silentLogger, type Runtime } from '../src/index.ts';
import type { PersistenceEngine } from '../src/persistence/engine.ts';
import { RedisEngine } from '../src/persistence/redis.ts';
import { until } from './helpers.ts';
import { OwnRedis, sparePort } from './own-redis.ts';

test('ready() and submit() reject at once; the runtime boots once Redis answers', { timeout: 60_000 }, async (t) => {
  const redis = await OwnRedis.onSparePort(); // not started yet: nothing listens on its port
  let runtime: Runtime | undefined;
  t.after(async () => {
    await runtime?.stop();
    await redis.dispose();
  });
  const rt = (runtime = createRuntime({ partitions: 2, logger: silentLogger, redis: { url: redis.url, prefix: 'unreachable' } }));
  rt.handle('work', (n: number) => n * 2);
  const early = rt.submit({ type: 'work', data: 1 });
  const many = rt.submitMany([{ type: 'work', data: 1 }, { type: 'work', data: 2 }]);
  await assert.rejects(rt.ready(), { code: 'STORE_UNAVAILABLE' });
  await assert.rejects(early, { code: 'STORE_UNAVAILABLE' }, 'a submit made before the first attempt failed is refused too');
  await assert.rejects(many, { code: 'STORE_UNAVAILABLE' });
  assert.equal(rt.store.available, false);
  await assert.rejects(rt.submit({ type: 'work', data: 1 }), { code: 'STORE_UNAVAILABLE' });
  await assert.rejects(rt.submitMany([{ type: 'work', data: 1 }]), { code: 'STORE_UNAVAILABLE' });

  await redis.start();
  await until(() => rt.ready().then(() => true, () => false), 'the runtime to boot once Redis answers');
  assert.equal(rt.store.available, true);
  const id = await rt.submit({ type: 'work', data: 21 });
  assert.equal(await rt.waitFor(id), 42);
});

test('stop() settles every caller of a runtime that never reached Redis, and the process exits by itself', { timeout: 60_000 }, async () => {
  const port = await sparePort();
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/unreachable-store.ts', import.meta.url).pathname, `redis://127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  assert.deepEqual(out.trim().split('\n'), ['READY STORE_UNAVAILABLE', 'EARLY STORE_UNAVAILABLE', 'SUBMIT STORE_UNAVAILABLE', 'STOPPED RUNTIME_STOPPED']);
});

test('a Redis URL that is not redis:// or rediss:// is an options error', () => {
  for (const redis of ['nope://x', { url: 'nope://x' }, { url: 'not a url' }, { url: 'http://127.0.0.1:6379' }]) {
    assert.throws(() => createRuntime({ logger: silentLogger, redis }), (e: unknown) => e instanceof OptionsError && e.code === 'INVALID_OPTIONS' && e.problems[0]?.field === 'redis.url', JSON.stringify(redis));
  }
});

test('a cluster node whose Redis cannot be reached is refused the same way and stops', { timeout: 30_000 }, async (t) => {
  const rt = createRuntime({ logger: silentLogger, cluster: { redis: { url: `redis://127.0.0.1:${await sparePort()}`, prefix: 'unreachable' }, nodeId: 'node-a' } });
  t.after(() => rt.stop());
  rt.handle('work', () => 1);
  await assert.rejects(rt.ready(), { code: 'STORE_UNAVAILABLE' });
  await assert.rejects(rt.submit({ type: 'work' }), { code: 'STORE_UNAVAILABLE' });
  await rt.stop();
  assert.equal(rt.state, 'stopped');
});

test('a Redis that goes away between the connection and the boot\'s reads is waited for, and what it held is recovered', { timeout: 60_000 }, async (t) => {
  const redis = await OwnRedis.onSparePort();
  await redis.start();
  const prefix = 'boot-blip';
  let runtime: Runtime | undefined;
  const engine = new RedisEngine({ url: redis.url, prefix });
  t.after(async () => {
    await runtime?.stop();
    await engine.close();
    await redis.dispose();
  });
  // What the store holds: payloads due in a minute, accepted by an earlier runtime.
  const first = createRuntime({ partitions: 2, logger: silentLogger, redis: { url: redis.url, prefix } });
  first.handle('work', () => undefined);
  const ids = await first.submitMany([{ type: 'work', delay: 60_000 }, { type: 'work', delay: 60_000 }, { type: 'work', delay: 60_000 }]);
  await first.stop();

  // The real engine on the real server; the server is stopped the moment the connection is made,
  // before the boot reads anything, and started again a little later (its append-only file keeps the data).
  let failedReads = 0;
  let restarted: Promise<void> | undefined;
  const counted = <T>(read: Promise<T>): Promise<T> => read.catch((error: unknown) => {
    failedReads++;
    throw error;
  });
  const blinking: PersistenceEngine = {
    durable: true,
    connect: async () => {
      await engine.connect();
      if (restarted) return;
      await redis.stop();
      restarted = new Promise((resolve) => setTimeout(resolve, 300)).then(() => redis.start());
    },
    connected: () => engine.connected(),
    persist: (entries) => engine.persist(entries),
    events: (key, afterSeq) => counted(engine.events(key, afterSeq)),
    latestSnapshot: (key) => counted(engine.latestSnapshot(key)),
    takeSnapshot: (snapshot) => engine.takeSnapshot(snapshot),
    close: async () => {},
  };
  const rt = (runtime = createRuntime({ partitions: 2, logger: silentLogger, persistence: blinking }));
  rt.handle('work', () => undefined);
  await until(() => rt.ready().then(() => true, () => false), 'the runtime to boot once Redis is back');
  await restarted;
  assert.ok(failedReads > 0, 'the boot\'s first reads failed while the server was down');
  assert.equal(rt.store.available, true);
  for (const id of ids) assert.equal((await rt.get(id))?.status, 'delayed', `${id} was recovered as it was`);
});
