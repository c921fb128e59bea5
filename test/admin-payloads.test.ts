import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { NonRetryableError, workflow } from '../src/index.ts';
import { advance } from './helpers.ts';
import { serve, type Served } from './admin-support.ts';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

test('payload timeline: accepted, a failed attempt with its duration and error, the retry that completed', async () => {
  served = await serve({ partitions: 2 });
  const s = served;
  let calls = 0;
  s.rt.handle('charge', async () => {
    calls++;
    s.clock.advance(40); // the attempt takes 40 ms of the runtime's clock
    if (calls === 1) throw new Error('card declined');
    return { charged: true };
  }, { retries: 2, backoff: { initialMs: 500, jitter: 0 } });
  const id = await s.rt.submit({ type: 'charge', clientId: 'shop', tags: ['eu'] });
  await s.rt.idle();
  await advance(s.rt, s.clock, 600);
  assert.deepEqual(await s.rt.waitFor(id), { charged: true });

  const detail = (await s.call(`/api/payloads/${id}/timeline`)).json;
  assert.equal(detail.payload.status, 'completed');
  assert.deepEqual(detail.tags, ['eu']);
  const kinds = detail.timeline.map((e: { kind: string }) => e.kind);
  assert.deepEqual(kinds, ['accepted', 'attempt', 'due', 'attempt', 'ended']);
  const [, first, due, second] = detail.timeline;
  assert.equal(due.label, 'retry due (attempt 2)');
  assert.equal(due.at - first.at, 40 + 500, 'the backoff after the failed attempt');
  assert.equal(first.label, 'attempt 1 failed, retrying');
  assert.equal(first.durationMs, 40);
  assert.equal(first.error.message, 'card declined');
  assert.equal(second.label, 'attempt 2 completed');
  assert.equal(second.durationMs, 40);
  assert.equal(detail.timeline[4].detail, '{"charged":true}');
  assert.deepEqual(detail.notes, []);
  assert.equal((await s.call('/api/payloads/nope.0/timeline')).status, 404);
});

test('payload timeline: progress, checkpoint, dependencies and the final error of a dead letter', async () => {
  served = await serve({ partitions: 2 });
  const s = served;
  s.rt.handle('prepare', async () => 'prepared');
  s.rt.handle('ship', async (_data, ctx) => {
    ctx.progress(0.5);
    await ctx.checkpoint({ parcel: 2 });
    throw new NonRetryableError('address unknown');
  });
  const [first, second] = await s.rt.submitMany([{ type: 'prepare', ref: 'a' }, { type: 'ship', dependsOn: ['a'] }]);
  await s.rt.idle();
  await assert.rejects(s.rt.waitFor(second!));
  const detail = (await s.call(`/api/payloads/${second}/timeline`)).json;
  assert.deepEqual(detail.dependencies, [{ id: first, status: 'completed' }]);
  assert.equal(detail.checkpoint, '{"parcel":2}');
  const byKind = Object.fromEntries(detail.timeline.map((e: { kind: string }) => [e.kind, e]));
  assert.equal(byKind.progress.detail, '0.5');
  assert.equal(byKind.checkpoint.detail, '{"parcel":2}');
  assert.equal(byKind.attempt.label, 'attempt 1 failed');
  assert.equal(byKind.attempt.error.code, 'NON_RETRYABLE');
  assert.equal(byKind.ended.label, 'failed');
});

test('GET /api/payloads: by type, client, status and tag over the retained records, a page at a time; by id; dead letters for status=failed', async () => {
  served = await serve({ partitions: 3, handlerDefaults: { retries: 0 } });
  const s = served;
  s.rt.handle('mail', async (data: { fail?: boolean }) => {
    if (data.fail) throw new Error('bounced');
    return 'sent';
  });
  const inputs = Array.from({ length: 12 }, (_, i) => ({ type: 'mail', clientId: i % 2 ? 'odd' : 'even', tags: i % 3 === 0 ? ['vip'] : [], data: { fail: i === 4 } }));
  const ids = await s.rt.submitMany(inputs);
  await s.rt.idle();

  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const page: { items: Array<{ id: string; clientId: string }>; next: string | null; source: string } =
      (await s.call(`/api/payloads?clientId=even&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json;
    assert.equal(page.source, "retained", JSON.stringify(page));
    assert.ok(page.items.every((row) => row.clientId === 'even'));
    pages.push(page.items.map((row) => row.id));
    cursor = page.next;
  } while (cursor !== null && pages.length < 10);
  const even = ids.filter((_, i) => i % 2 === 0);
  assert.deepEqual(pages.flat().sort(), [...even].sort(), 'every page once, none twice');
  assert.ok(pages.length >= 3);

  const vip = (await s.call('/api/payloads?tag=vip&status=completed')).json;
  assert.deepEqual(vip.items.map((r: { id: string }) => r.id).sort(), [ids[0], ids[3], ids[6], ids[9]].sort());
  const failed = (await s.call('/api/payloads?status=failed')).json;
  assert.equal(failed.source, 'dead-letters');
  assert.deepEqual(failed.items.map((r: { id: string; error: { message: string } }) => [r.id, r.error.message]), [[ids[4], 'bounced']]);
  const one = (await s.call(`/api/payloads?id=${ids[5]}`)).json;
  assert.deepEqual(one.items.map((r: { id: string; status: string }) => [r.id, r.status]), [[ids[5], 'completed']]);
  assert.deepEqual((await s.call(`/api/payloads?id=${ids[5]}&clientId=even`)).json.items, []);
  assert.equal((await s.call('/api/payloads?status=lost')).status, 400);
  assert.equal((await s.call('/api/payloads?cursor=somewhere')).status, 400);
  assert.equal((await s.call('/api/payloads?colour=red')).status, 400);
});

test('GET /api/running and the pool agree: the rows are the attempts whose handlers run now', async () => {
  served = await serve({ partitions: 2, concurrency: 4 });
  const s = served;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  s.rt.handle('hold', async () => gate);
  await s.rt.submitMany([{ type: 'hold' }, { type: 'hold' }]);
  await s.rt.idle();
  const [running, partitions] = [(await s.call('/api/running')).json, (await s.call('/api/partitions')).json];
  assert.equal(running.total, 2);
  assert.equal(partitions.pool.running, 2);
  assert.equal(partitions.pool.busy, 2);
  release();
  // Between a handler's end and its outcome being recorded, the pool's slot is free while the
  // attempt's events are still to come: the rows must follow the pool, not the events.
  let inTheGap = false;
  for (let turn = 0; turn < 40; turn++) {
    const pool = s.rt.stats().pool;
    assert.equal(s.rt.admin.sources.running(10).total, pool.running, `turn ${turn}`);
    if (pool.busy === 0 && s.rt.metrics.running().length > 0) inTheGap = true;
    await (turn % 2 ? Promise.resolve() : new Promise((resolve) => setImmediate(resolve)));
  }
  assert.ok(inTheGap, 'the test passed through the moment the old rows disagreed with the pool');
  await s.rt.idle();
  assert.equal((await s.call('/api/running')).json.total, 0);
});

test('GET /api/ledger pages: limit and offset over the entries, oldest first, total kept', async () => {
  served = await serve({ partitions: 2 });
  const s = served;
  s.rt.handle('report', async () => 'done');
  s.rt.coordinator?.pin('critical');
  await s.rt.idle();
  await s.rt.submitMany(Array.from({ length: 7 }, () => ({ type: 'report', priority: 'low' as const })));
  await s.rt.idle();
  const all = (await s.call('/api/ledger?limit=100')).json;
  assert.equal(all.total, 7, 'low work is skipped into the ledger at critical load');
  const page = (await s.call('/api/ledger?limit=3&offset=3')).json;
  assert.equal(page.total, 7);
  assert.deepEqual(page.entries.map((e: { id: string }) => e.id), all.entries.slice(3, 6).map((e: { id: string }) => e.id));
  assert.deepEqual((await s.call('/api/ledger?limit=3&offset=6')).json.entries.length, 1);
  assert.equal((await s.call('/api/ledger?offset=-1')).status, 400);
});

test("payload timeline: a workflow step's payload names its instance and step", async () => {
  served = await serve({ partitions: 2 });
  const s = served;
  const handlers = { pack: (order: string) => `packed ${order}`, ship: (parcel: string) => `shipped ${parcel}` };
  s.rt.handle('pack', async (order: string) => handlers.pack(order));
  s.rt.handle('ship', async (parcel: string) => handlers.ship(parcel));
  const def = workflow<{ order: string }, typeof handlers>('fulfil')
    .step('pack', { handler: 'pack', input: ({ input }) => input.order })
    .step('ship', { handler: 'ship', after: ['pack'], input: ({ results }) => results.pack })
    .output(({ results }) => results.ship);
  const instance = await s.rt.workflows.start(def, { order: 'o-7' });
  assert.equal(await s.rt.workflows.waitFor(instance), 'shipped packed o-7');
  const step = (await s.rt.admin.sources.workflow(instance))?.steps.find((x) => x.name === 'ship');
  const payload = step?.payloads[0];
  assert.ok(payload);
  const detail = (await s.call(`/api/payloads/${payload}/timeline`)).json;
  assert.deepEqual(detail.workflow, { id: instance, workflow: 'fulfil', status: 'completed', step: 'ship' });
  const page = await s.call(`/payloads/${payload}`);
  assert.equal(page.status, 200);
  assert.match(page.text, new RegExp(`<dd><a href="/api/workflows/${encodeURIComponent(instance)}" class="mono">${instance}</a></dd>`));
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'nonce-/);
  assert.equal((await s.call('/payloads/unknown.0')).status, 404);
});
