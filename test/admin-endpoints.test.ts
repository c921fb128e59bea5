import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ActorNode, WorkflowInstanceDetail } from '../src/admin/index.ts';
import { ROUTES } from '../src/admin/index.ts';
import type { AddressInfo } from 'node:net';
import { deferred, setup } from './helpers.ts';
import { serve, type Served } from './admin-support.ts';

/** Two partitions, one slot: one high payload runs (blocked), two low ones queue behind it. */
async function busyRuntime(): Promise<Served & { running: string; queued: string[]; release(): void }> {
  const served = await serve({ partitions: 2, concurrency: 1 });
  const gate = deferred<void>();
  served.rt.handle('job', async () => gate.promise);
  const running = await served.rt.submit({ type: 'job', priority: 'high', clientId: 'shop' });
  await served.rt.idle();
  const queued = await served.rt.submitMany([{ type: 'job', priority: 'low' }, { type: 'job', priority: 'low' }]);
  await served.rt.idle();
  served.clock.advance(1_500);
  return { ...served, running, queued, release: () => gate.resolve() };
}

const errorOf = (json: any) => json?.error as { code: string; message: string; field?: string } | undefined;

describe('admin: actor tree, partitions, running payloads', () => {
  test('the tree lists every actor with its path, kind, mailbox length and a summary of its queues', async () => {
    const s = await busyRuntime();
    try {
      const { status, json, headers } = await s.call('/api/tree');
      assert.equal(status, 200);
      assert.match(headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(headers.get('cache-control'), 'no-store');
      const name = s.rt.options.name;
      assert.equal(json.root.path, `/${name}`);
      assert.equal(json.root.kind, 'system');
      // Besides the partitions the tree holds the engine's other actors (coordinator, analyzer, dependency graph).
      assert.equal(json.actors, json.root.children.length);
      const partitions = (json.root.children as ActorNode[]).filter((c) => c.kind === 'partition');
      assert.deepEqual(partitions.map((c) => [c.path, c.kind]), [[`/${name}/partition-0`, 'partition'], [`/${name}/partition-1`, 'partition']]);
      assert.ok((json.root.children as ActorNode[]).some((c) => c.kind === 'coordinator'), 'the coordinator is in the tree');
      const runningView = await s.rt.get(s.running);
      const queuedView = await s.rt.get(s.queued[0] as string);
      const nodeOf = (p: number) => partitions[p] as ActorNode & { summary: any };
      for (const child of partitions) {
        assert.equal(child.mailbox, 0);
        assert.ok(child.processed > 0);
      }
      assert.equal(nodeOf(runningView!.partition).summary.running, 1);
      assert.equal(nodeOf(0).summary.depth.low + nodeOf(1).summary.depth.low, 2);
      assert.equal(nodeOf(queuedView!.partition).summary.oldestWait.low, 1_500);
    } finally {
      s.release();
      await s.close();
    }
  });

  test('partitions show the pool and every partition; one partition by number; bad numbers are named', async () => {
    const s = await busyRuntime();
    try {
      const all = await s.call('/api/partitions');
      assert.equal(all.status, 200);
      assert.equal(all.json.status, 'running');
      assert.deepEqual({ size: all.json.pool.size, busy: all.json.pool.busy }, { size: 1, busy: 1 });
      assert.equal(all.json.partitions.length, 2);
      const depthLow = all.json.partitions.reduce((n: number, p: any) => n + p.depth.low, 0);
      assert.equal(depthLow, 2);
      const one = await s.call('/api/partitions/1');
      assert.equal(one.status, 200);
      assert.equal(one.json.partition.partition, 1);
      const missing = await s.call('/api/partitions/2');
      assert.equal(missing.status, 404);
      assert.equal(errorOf(missing.json)?.code, 'NOT_FOUND');
      assert.match(errorOf(missing.json)?.message ?? '', /no partition 2: this runtime has 2/);
      const bad = await s.call('/api/partitions/one');
      assert.equal(bad.status, 400);
      assert.equal(errorOf(bad.json)?.field, 'partition');
    } finally {
      s.release();
      await s.close();
    }
  });

  test('running lists attempts running now with partition, tier and how long; limit is checked', async () => {
    const s = await busyRuntime();
    try {
      const view = await s.rt.get(s.running);
      const { status, json } = await s.call('/api/running');
      assert.equal(status, 200);
      assert.equal(json.total, 1);
      assert.deepEqual(json.running.map((r: any) => [r.id, r.type, r.clientId, r.partition, r.tier, r.attempt, r.runningMs]), [
        [s.running, 'job', 'shop', view!.partition, 'high', 1, 1_500],
      ]);
      for (const limit of ['0', '1001', 'ten', '-1']) {
        const bad = await s.call(`/api/running?limit=${limit}`);
        assert.equal(bad.status, 400, limit);
        assert.equal(errorOf(bad.json)?.field, 'limit');
        assert.match(errorOf(bad.json)?.message ?? '', /limit must be a whole number between 1 and 1000/);
      }
      const unknown = await s.call('/api/running?limt=5');
      assert.equal(unknown.status, 400);
      assert.match(errorOf(unknown.json)?.message ?? '', /unknown query parameter "limt": this endpoint takes only limit/);
      s.release();
      await s.rt.idle();
      const after = await s.call('/api/running');
      assert.equal(after.json.running.some((r: any) => r.id === s.running), false);
    } finally {
      s.release();
      await s.close();
    }
  });
});

describe('admin: payloads', () => {
  test('a payload by id; unknown → 404, malformed → 400', async () => {
    const s = await busyRuntime();
    try {
      const found = await s.call(`/api/payloads/${encodeURIComponent(s.queued[0] as string)}`);
      assert.equal(found.status, 200);
      assert.equal(found.json.id, s.queued[0]);
      assert.equal(found.json.status, 'queued');
      assert.equal(found.json.tier, 'low');
      const unknown = await s.call('/api/payloads/zzzzzz.0');
      assert.equal(unknown.status, 404);
      assert.deepEqual(errorOf(unknown.json), { code: 'UNKNOWN_PAYLOAD', message: 'no payload with id "zzzzzz.0"', field: 'id' });
      const malformed = await s.call('/api/payloads/not%20an%20id');
      assert.equal(malformed.status, 400);
      assert.equal(errorOf(malformed.json)?.code, 'INVALID_ID');
      assert.match(errorOf(malformed.json)?.message ?? '', /"not an id" is not a payload id/);
      const escape = await s.call('/api/payloads/%E0%A4%A');
      assert.equal(escape.status, 400);
      assert.match(errorOf(escape.json)?.message ?? '', /not valid percent-encoding/);
    } finally {
      s.release();
      await s.close();
    }
  });
});

describe('admin: coordinator and workflow views without those parts', () => {
  test('load is normal and unpinned, no decisions, an empty ledger, no workflows', async () => {
    const s = await serve();
    try {
      assert.deepEqual((await s.call('/api/load')).json, { level: 'normal', pinned: false, lowThrottle: null, decisions: [] });
      assert.deepEqual((await s.call('/api/decisions?limit=5')).json, { decisions: [] });
      assert.deepEqual((await s.call('/api/ledger')).json, { total: 0, entries: [] });
      assert.deepEqual((await s.call('/api/workflows')).json, { total: 0, instances: [] });
      const none = await s.call('/api/workflows/order-1');
      assert.equal(none.status, 404);
      assert.equal(errorOf(none.json)?.code, 'UNKNOWN_WORKFLOW');
      const bad = await s.call('/api/workflows/a%20b');
      assert.equal(bad.status, 400);
      assert.equal(errorOf(bad.json)?.code, 'INVALID_ID');
    } finally {
      await s.close();
    }
  });

  test('a plugged-in workflow source is listed, and one instance shows its steps', async () => {
    const s = await serve();
    const instance: WorkflowInstanceDetail = {
      id: 'order-7', workflow: 'checkout', status: 'running', startedAt: 1, finishedAt: undefined,
      steps: [
        { name: 'charge', status: 'completed', payloads: ['a.0'], startedAt: 1, finishedAt: 2 },
        { name: 'ship', status: 'running', payloads: ['b.1', 'c.2'], startedAt: 2, finishedAt: undefined },
      ],
    };
    s.rt.admin.provide({
      workflows: {
        list: (limit) => ({ total: 1, instances: [{ ...instance, steps: { total: 2, completed: 1, running: 1, failed: 0 } }].slice(0, limit) }),
        get: (id) => (id === instance.id ? instance : undefined),
      },
    });
    try {
      const list = await s.call('/api/workflows?limit=10');
      assert.equal(list.json.total, 1);
      assert.deepEqual(list.json.instances[0].steps, { total: 2, completed: 1, running: 1, failed: 0 });
      const one = await s.call('/api/workflows/order-7');
      assert.equal(one.status, 200);
      assert.deepEqual(one.json.steps.map((step: any) => [step.name, step.status]), [['charge', 'completed'], ['ship', 'running']]);
    } finally {
      await s.close();
    }
  });
});

describe('admin: health', () => {
  test('liveness and readiness apart: a stopping runtime is live but not ready', async () => {
    const s = await busyRuntime();
    const live = await s.call('/api/health/live');
    assert.deepEqual([live.status, live.json], [200, { live: true }]);
    const ready = await s.call('/api/health/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.ready, true);
    assert.deepEqual(ready.json.checks.map((c: any) => [c.name, c.ok]), [['runtime', true], ['recovery', true], ['store', true]]);
    const stopping = s.rt.stop({ drain: true }); // waits for the blocked payload
    try {
      const notReady = await s.call('/api/health/ready');
      assert.equal(notReady.status, 503);
      assert.equal(notReady.json.ready, false);
      assert.equal(notReady.json.status, 'stopping');
      const both = await s.call('/api/health');
      assert.deepEqual([both.status, both.json.live, both.json.ready], [200, true, false]);
      assert.equal((await s.call('/api/health/live')).status, 200);
    } finally {
      s.release();
      await stopping;
    }
    await assert.rejects(fetch(new URL('/api/health/live', s.admin.url)), 'the server closes when the runtime stops');
  });

  test('a plugged-in readiness check that fails or throws makes the runtime not ready', async () => {
    const s = await serve();
    try {
      s.rt.admin.provide({ checks: [() => ({ name: 'lease', ok: false, detail: 'partition 3 not leased' }), function redis() { throw new Error('ECONNRESET'); }] });
      const { status, json } = await s.call('/api/health/ready');
      assert.equal(status, 503);
      assert.deepEqual(json.checks.slice(3), [
        { name: 'lease', ok: false, detail: 'partition 3 not leased' },
        { name: 'redis', ok: false, detail: 'ECONNRESET' },
      ]);
    } finally {
      await s.close();
    }
  });
});

describe('admin: HTTP behaviour', () => {
  test('createServer returns the server without listening, to embed or drive in-process', async () => {
    const { rt } = setup();
    const server = rt.admin.createServer();
    try {
      assert.equal(server.listening, false);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/api/tree`);
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { root: { path: string } }).root.path, `/${rt.options.name}`);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rt.stop();
    }
  });

  test('unknown paths are 404, wrong methods 405 with Allow, HEAD answers without a body', async () => {
    const s = await serve();
    try {
      const missing = await s.call('/api/nothing');
      assert.equal(missing.status, 404);
      assert.deepEqual(errorOf(missing.json), { code: 'NOT_FOUND', message: 'no endpoint at /api/nothing; GET /api lists them' });
      const del = await s.call('/api/tree', { method: 'DELETE' });
      assert.equal(del.status, 405);
      assert.equal(del.headers.get('allow'), 'GET, HEAD');
      assert.equal(errorOf(del.json)?.code, 'METHOD_NOT_ALLOWED');
      const getAction = await s.call('/api/load/pin');
      assert.equal(getAction.status, 405);
      assert.equal(getAction.headers.get('allow'), 'POST');
      const head = await s.call('/api/tree', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.text, '');
      const slash = await s.call('/api/tree/');
      assert.equal(slash.status, 200);
    } finally {
      await s.close();
    }
  });

  test('/api lists every endpoint, marking operator actions', async () => {
    const s = await serve();
    try {
      const { json } = await s.call('/api');
      assert.equal(json.endpoints.length, ROUTES.length);
      const actions = json.endpoints.filter((e: any) => e.action).map((e: any) => `${e.method} ${e.path}`);
      assert.deepEqual(actions, [
        'POST /api/payloads/retry', 'POST /api/payloads/:id/retry', 'POST /api/payloads/:id/cancel', 'POST /api/ledger/reschedule', 'POST /api/pause', 'POST /api/resume', 'POST /api/fairness', 'POST /api/limits', 'POST /api/schedules/:id/pause', 'POST /api/schedules/:id/resume', 'POST /api/load/pin', 'POST /api/load/release', 'POST /api/throttle/low',
      ]);
    } finally {
      await s.close();
    }
  });

  test('an unexpected error is a bare 500: logged on the server, no message or stack in the response', async () => {
    const s = await serve();
    s.rt.admin.provide({
      workflows: {
        list() {
          throw new TypeError('secret detail from deep inside');
        },
        get: () => undefined,
      },
    });
    try {
      const { status, json, text } = await s.call('/api/workflows');
      assert.equal(status, 500);
      assert.deepEqual(json, { error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } });
      assert.doesNotMatch(text, /secret|TypeError|at .*\.ts/);
      assert.ok(s.logged.some((line) => line.startsWith('error admin request failed') && line.includes('secret detail')));
      assert.equal((await s.call('/api/health/live')).status, 200, 'the server keeps serving');
    } finally {
      await s.close();
    }
  });
});
