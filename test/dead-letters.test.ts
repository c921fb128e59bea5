/**
 * Dead letters: payloads that failed for good are kept apart from retainTerminal, bounded,
 * listed by type and client a page at a time, and run again as a new attempt of the same id —
 * also once the partition dropped the record, also after a restart on Redis.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRuntime, silentLogger, type HandlerContext, type Runtime } from '../src/index.ts';
import { dropPrefix, freshPrefix, REDIS_URL } from './redis-support.ts';
import { post, serve, TOKEN } from './admin-support.ts';

const runtimes: Runtime[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.stop()));
  await Promise.all(prefixes.splice(0).map((p) => dropPrefix(p)));
});

/** A runtime whose `flaky` handler fails until `healed` is set, recording each attempt. */
function flaky(options: Parameters<typeof createRuntime>[0] = {}) {
  // One partition: retainTerminal counts per partition.
  const rt = createRuntime({ logger: silentLogger, partitions: 1, handlerDefaults: { retries: 0 }, ...options });
  runtimes.push(rt);
  const state = { healed: false, attempts: [] as Array<[string, number]> };
  const run = (data: unknown, ctx: HandlerContext) => {
    state.attempts.push([ctx.id, ctx.attempt]);
    if (!state.healed) throw new Error(`broken ${String(data)}`);
    return `ok ${String(data)}`;
  };
  rt.handle('flaky', run);
  rt.handle('other', run);
  return { rt, state };
}

async function failAll(rt: Runtime, ids: readonly string[]): Promise<void> {
  await Promise.all(ids.map((id) => rt.waitFor(id).catch(() => undefined)));
  await rt.idle();
}

test('failed payloads are listed newest first, filtered by type and client, a page at a time, apart from retainTerminal', async () => {
  const { rt } = flaky({ retainTerminal: 1 });
  const ids: string[] = [];
  for (const [type, clientId] of [['flaky', 'a'], ['flaky', 'b'], ['other', 'a'], ['flaky', 'a']] as const) {
    ids.push(await rt.submit({ type, clientId, data: ids.length }));
    await failAll(rt, [ids.at(-1)!]);
  }
  const all = await rt.failed();
  assert.equal(all.total, 4);
  assert.deepEqual(all.items.map((l) => l.id), [...ids].reverse());
  assert.equal(all.items[0]?.error?.message, 'broken 3');
  assert.equal(all.items[0]?.attempts, 1);
  assert.equal(await rt.get(ids[0]!), undefined, 'retention dropped the record; the dead letter stays');

  const flakyA = await rt.failed({ type: 'flaky', clientId: 'a' });
  assert.deepEqual(flakyA.items.map((l) => l.id), [ids[3], ids[0]]);
  const first = await rt.failed({ limit: 3 });
  assert.equal(first.items.length, 3);
  const second = await rt.failed({ limit: 3, cursor: first.next! });
  assert.deepEqual(second.items.map((l) => l.id), [ids[0]]);
  assert.equal(second.next, undefined);
  await assert.rejects(rt.failed({ limit: 0, colour: 'red' } as never), (e: { code: string; fields: string[] }) => e.code === 'VALIDATION_FAILED' && e.fields.includes('limit') && e.fields.includes('colour'));
});

test('the store is bounded: the oldest dead letters go first', async () => {
  const { rt } = flaky({ deadLetters: { max: 2 } });
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    ids.push(await rt.submit({ type: 'flaky', data: i }));
    await failAll(rt, [ids.at(-1)!]);
  }
  assert.deepEqual((await rt.failed()).items.map((l) => l.id), [ids[3], ids[2]]);
  assert.throws(() => createRuntime({ logger: silentLogger, deadLetters: { max: -1, size: 3 } as never }), (e: { code: string; problems: { field: string }[] }) => e.code === 'INVALID_OPTIONS' && e.problems.length === 2);
});

test('retry runs a dead letter again as a new attempt of the same id, whether the partition still holds it or not', async () => {
  const { rt, state } = flaky({ retainTerminal: 1 });
  const gone = await rt.submit({ type: 'flaky', data: 'gone' });
  await failAll(rt, [gone]);
  const untouched = await rt.submit({ type: 'flaky', data: 'untouched' });
  await failAll(rt, [untouched]);
  const kept = await rt.submit({ type: 'other', data: 'kept' });
  await failAll(rt, [kept]);
  assert.equal(await rt.get(gone), undefined);
  state.healed = true;
  const retrying: string[] = [];
  rt.events.on('retrying', (e) => retrying.push(e.id));
  assert.equal(await rt.retry(gone), true);
  assert.equal(await rt.retry(kept), true);
  assert.deepEqual(await Promise.all([rt.waitFor(gone), rt.waitFor(kept)]), ['ok gone', 'ok kept']);
  assert.deepEqual(state.attempts.filter(([id]) => id === gone), [[gone, 1], [gone, 2]]);
  assert.deepEqual(state.attempts.filter(([id]) => id === kept), [[kept, 1], [kept, 2]]);
  assert.deepEqual(retrying, [kept], 'a record still held is retried in place; one retention dropped is restored from its dead letter');
  assert.deepEqual((await rt.failed()).items.map((l) => l.id), [untouched]);
  await assert.rejects(rt.retry(gone), { code: 'UNKNOWN_PAYLOAD' });
});

test('retryFailed retries every dead letter of a type or client at once', async () => {
  const { rt, state } = flaky();
  const ids = await rt.submitMany([{ type: 'flaky', clientId: 'a' }, { type: 'flaky', clientId: 'b' }, { type: 'other', clientId: 'a' }]);
  await failAll(rt, ids);
  state.healed = true;
  assert.equal(await rt.retryFailed({ type: 'flaky' }), 2);
  await Promise.all(ids.slice(0, 2).map((id) => rt.waitFor(id)));
  assert.deepEqual((await rt.failed()).items.map((l) => l.id), [ids[2]]);
  assert.equal(await rt.retryFailed({ clientId: 'b' }), 0);
});

test('on Redis, dead letters survive a restart and are retried there', async () => {
  const prefix = freshPrefix('dead');
  prefixes.push(prefix);
  const first = flaky({ redis: { url: REDIS_URL, prefix } });
  const id = await first.rt.submit({ type: 'flaky', data: 'kept' });
  await failAll(first.rt, [id]);
  await first.rt.stop();
  const second = flaky({ redis: { url: REDIS_URL, prefix } });
  const listed = await second.rt.failed();
  assert.deepEqual(listed.items.map((l) => [l.id, l.attempts, l.error?.message]), [[id, 1, 'broken kept']]);
  second.state.healed = true;
  assert.equal(await second.rt.retry(id), true);
  assert.equal(await second.rt.waitFor(id), 'ok kept');
  assert.equal((await second.rt.failed()).total, 0);
});

test('admin: GET /api/payloads?status=failed lists dead letters; retry one or by filter with the operator token', async () => {
  const s = await serve({ partitions: 1, handlerDefaults: { retries: 0 } }, { token: TOKEN });
  runtimes.push(s.rt);
  let healed = false;
  s.rt.handle('flaky', () => {
    if (!healed) throw new Error('broken');
    return 'ok';
  });
  const ids = await s.rt.submitMany([{ type: 'flaky', clientId: 'a' }, { type: 'flaky', clientId: 'b' }, { type: 'flaky', clientId: 'b' }]);
  await failAll(s.rt, ids);
  const listed = (await s.call('/api/payloads?status=failed&clientId=b&limit=1')).json;
  assert.deepEqual([listed.total, listed.items.length, listed.items[0].id, listed.items[0].error.message], [2, 1, ids[2], 'broken']);
  const next = (await s.call(`/api/payloads?status=failed&clientId=b&cursor=${encodeURIComponent(listed.next)}`)).json;
  assert.deepEqual(next.items.map((l: { id: string }) => l.id), [ids[1]]);
  assert.equal((await s.call('/api/payloads?status=lost')).status, 400);

  healed = true;
  assert.equal((await s.call(`/api/payloads/${ids[0]}/retry`, post(undefined, 'wrong-token-0123456789'))).status, 401);
  const one = await s.call(`/api/payloads/${ids[0]}/retry`, post());
  assert.deepEqual(one.json, { id: ids[0], retried: true });
  assert.deepEqual((await s.call(`/api/payloads/${ids[0]}/retry`, post())).json.error.code, 'UNKNOWN_PAYLOAD');
  const bulk = await s.call('/api/payloads/retry', post({ clientId: 'b' }));
  assert.deepEqual(bulk.json, { retried: 2 });
  assert.deepEqual(await Promise.all(ids.map((id) => s.rt.waitFor(id))), ['ok', 'ok', 'ok']);
  assert.equal((await s.call('/api/payloads/retry', post({ colour: 'red' }))).status, 400);
});
