// Handler checkpoints: what an attempt stores with ctx.checkpoint reaches the next attempt as
// ctx.lastCheckpoint — after a failure, a timeout, or a crash (on Redis).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRuntime, silentLogger } from '../src/index.ts';
import { advance, deferred, setup } from './helpers.ts';
import { REDIS_URL, dropPrefix, freshPrefix } from './redis-support.ts';

describe('handler checkpoints', () => {
  test('a retry after a failure resumes from the last checkpoint', async () => {
    const { rt, clock } = setup({ partitions: 2 });
    const seen: unknown[] = [];
    rt.handle('import', async (rows: number, ctx) => {
      seen.push(ctx.lastCheckpoint);
      const from = (ctx.lastCheckpoint as { row: number } | undefined)?.row ?? 0;
      for (let row = from; row < rows; row++) {
        if (row === 3 && ctx.attempt === 1) throw new Error('connection reset');
        await ctx.checkpoint({ row: row + 1 });
      }
      return { resumedFrom: from };
    }, { retries: 2, backoff: { initialMs: 100, jitter: 0 } });
    const id = await rt.submit({ type: 'import', data: 6 });
    await rt.idle();
    assert.equal((await rt.get(id))?.status, 'delayed');
    await advance(rt, clock, 100);
    assert.deepEqual(await rt.waitFor(id), { resumedFrom: 3 });
    assert.deepEqual(seen, [undefined, { row: 3 }]);
    await rt.stop();
  });

  test('a rerun after a timeout gets the checkpoint; a checkpoint from the timed-out attempt is refused', async () => {
    const { rt, clock } = setup({ partitions: 1 });
    const late = deferred<void>();
    const refusals: unknown[] = [];
    rt.handle('long', async (_: unknown, ctx) => {
      if (ctx.attempt === 1) {
        await ctx.checkpoint('half way');
        await late.promise; // outlives its timeout
        await ctx.checkpoint('too late').catch((error: unknown) => refusals.push(error));
        return 'ignored';
      }
      return `resumed at ${String(ctx.lastCheckpoint)}`;
    }, { timeout: 50, retries: 1, backoff: { initialMs: 10, jitter: 0 } });
    const id = await rt.submit({ type: 'long' });
    await rt.idle();
    await advance(rt, clock, 50);
    await advance(rt, clock, 10);
    assert.equal(await rt.waitFor(id), 'resumed at half way');
    late.resolve();
    await rt.idle();
    assert.equal(refusals.length, 1);
    assert.equal((refusals[0] as { code?: string }).code, 'CANCELLED');
    await rt.stop();
  });

  test('on Redis, a rerun after a crash resumes from the checkpoint the crashed run stored', async () => {
    const prefix = freshPrefix('checkpoint');
    try {
      const first = createRuntime({ partitions: 2, logger: silentLogger, redis: { url: REDIS_URL, prefix } });
      const stored = deferred<void>();
      first.handle('render', async (_: unknown, ctx) => {
        await ctx.checkpoint({ frames: 120 });
        stored.resolve();
        return new Promise(() => {}); // the process "dies" here
      });
      const id = await first.submit({ type: 'render' });
      await stored.promise;
      const second = createRuntime({ partitions: 2, logger: silentLogger, redis: { url: REDIS_URL, prefix } });
      second.handle('render', (_: unknown, ctx) => ({ resumedFrom: ctx.lastCheckpoint, attempt: ctx.attempt }));
      assert.deepEqual(await second.waitFor(id), { resumedFrom: { frames: 120 }, attempt: 2 });
      assert.equal(second.recovery?.rerun, 1);
      await second.stop();
      await first.stop();
    } finally {
      await dropPrefix(prefix);
    }
  });
});
