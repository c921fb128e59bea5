import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { AdminError, listenAdmin, type CoordinatorDecision, type CoordinatorSource, type LoadLevel, type LoadView } from '../src/admin/index.ts';
import { deferred } from './helpers.ts';
import { post, serve, TOKEN } from './admin-support.ts';

const ACTIONS: ReadonlyArray<readonly [string, unknown]> = [
  ['/api/payloads/abc.0/cancel', undefined],
  ['/api/load/pin', { level: 'critical' }],
  ['/api/load/release', undefined],
  ['/api/ledger/reschedule', undefined],
  ['/api/throttle/low', { perSecond: 5 }],
];

const errorOf = (json: any) => json?.error as { code: string; message: string; field?: string } | undefined;

/** A coordinator as the admin endpoint sees one: load level, pinning, throttle, ledger, decisions. */
function coordinatorFor(now: () => number): CoordinatorSource & { readonly decisionsMade: CoordinatorDecision[] } {
  let load: LoadView = { level: 'normal', pinned: false, lowThrottle: null, since: undefined };
  let ledger = 3;
  const decisionsMade: CoordinatorDecision[] = [];
  const decide = (action: string, level: LoadLevel, reason: string) => decisionsMade.unshift({ at: now(), action, level, reason });
  return {
    decisionsMade,
    load: () => load,
    decisions: (limit) => decisionsMade.slice(0, limit),
    ledger: () => ({ total: ledger, entries: [] }),
    pin(level) {
      load = { ...load, level, pinned: true, since: now() };
      decide('pin', level, 'pinned by an operator');
      return load;
    },
    release() {
      load = { ...load, pinned: false };
      decide('release', load.level, 'released by an operator');
      return load;
    },
    reschedule() {
      const rescheduled = ledger;
      ledger = 0;
      return { rescheduled };
    },
    setLowThrottle(perSecond) {
      load = { ...load, lowThrottle: perSecond };
      return load;
    },
  };
}

describe('admin: operator actions need a token', () => {
  test('without a configured token every action is off (403), and nothing happens', async () => {
    const s = await serve();
    const gate = deferred<void>();
    s.rt.handle('job', async () => gate.promise);
    const id = await s.rt.submit({ type: 'job' });
    await s.rt.idle();
    try {
      for (const [path, body] of [[`/api/payloads/${id}/cancel`, undefined] as const, ...ACTIONS]) {
        const { status, json } = await s.call(path, post(body));
        assert.equal(status, 403, path);
        assert.deepEqual(errorOf(json), { code: 'ACTIONS_DISABLED', message: 'operator actions are off: the admin server was started without a token' });
      }
      assert.equal((await s.rt.get(id))?.status, 'running');
    } finally {
      gate.resolve();
      await s.close();
    }
  });

  test('with a token: a missing, malformed or wrong bearer is 401 with a challenge', async () => {
    const s = await serve({}, { token: TOKEN });
    try {
      const cases: Array<[string, Record<string, string>, RegExp]> = [
        ['missing', {}, /need an "Authorization: Bearer <token>" header/],
        ['basic', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }, /need an "Authorization: Bearer <token>" header/],
        ['wrong', { authorization: 'Bearer test-token-0123456789abcdeX' }, /the bearer token is not valid/],
        ['prefix', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, /the bearer token is not valid/],
      ];
      for (const [what, headers, message] of cases) {
        for (const [path] of ACTIONS) {
          const response = await s.call(path, { method: 'POST', headers });
          assert.equal(response.status, 401, `${what} ${path}`);
          assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="triage-admin"');
          assert.equal(errorOf(response.json)?.code, 'UNAUTHORIZED');
          assert.match(errorOf(response.json)?.message ?? '', message);
        }
      }
      // Reading needs no token.
      assert.equal((await s.call('/api/tree')).status, 200);
    } finally {
      await s.close();
    }
  });

  test('cancel with the token: a running payload is cancelled and its signal fires; finished → 409, unknown → 404', async () => {
    const s = await serve({}, { token: TOKEN });
    let aborted = false;
    s.rt.handle('job', (_data, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => ((aborted = true), reject(new Error('stopped'))))));
    const id = await s.rt.submit({ type: 'job', priority: 'high' });
    await s.rt.idle();
    try {
      const first = await s.call(`/api/payloads/${id}/cancel`, post());
      assert.equal(first.status, 200);
      assert.equal(first.json.id, id);
      assert.equal(first.json.cancelled, true);
      assert.equal(first.json.payload.status, 'cancelled');
      assert.equal(aborted, true);
      assert.equal((await s.rt.get(id))?.status, 'cancelled');
      const again = await s.call(`/api/payloads/${id}/cancel`, post());
      assert.equal(again.status, 409);
      assert.deepEqual(errorOf(again.json), { code: 'ALREADY_FINISHED', message: `payload ${id} already finished (cancelled); nothing to cancel`, field: 'id' });
      const unknown = await s.call('/api/payloads/nothing.0/cancel', post());
      assert.equal(unknown.status, 404);
      assert.equal(errorOf(unknown.json)?.code, 'UNKNOWN_PAYLOAD');
      const malformed = await s.call('/api/payloads/x/cancel', post());
      assert.equal(malformed.status, 400);
      assert.equal(errorOf(malformed.json)?.code, 'INVALID_ID');
      const withBody = await s.call(`/api/payloads/${id}/cancel`, post({ reason: 'x' }));
      assert.equal(withBody.status, 400);
      assert.match(errorOf(withBody.json)?.message ?? '', /takes no request body/);
    } finally {
      await s.close();
    }
  });

  test('coordinator actions without a coordinator: bad input is 400 first, then 501 naming the missing part', async () => {
    const s = await serve({ coordinator: false }, { token: TOKEN }); // the coordinator is on by default
    try {
      const bad: Array<[string, RequestInit, number, string, RegExp]> = [
        ['/api/load/pin', post({ level: 'panic' }), 400, 'BAD_REQUEST', /level must be one of normal, elevated, critical, got "panic"/],
        ['/api/load/pin', post({}), 400, 'BAD_REQUEST', /request body is missing "level"/],
        ['/api/load/pin', post([1]), 400, 'BAD_REQUEST', /must be a JSON object with "level"/],
        ['/api/throttle/low', post({ perSecond: -1 }), 400, 'BAD_REQUEST', /perSecond must be a number between 0 and 1000000000, or null/],
        ['/api/throttle/low', post({ perSecond: 5, burst: 2 }), 400, 'BAD_REQUEST', /unknown field "burst"/],
        ['/api/throttle/low', post(undefined, TOKEN, '{"perSecond": 5'), 400, 'BAD_JSON', /request body is not valid JSON/],
        ['/api/throttle/low', post(undefined, TOKEN, JSON.stringify({ perSecond: 'x'.repeat(70_000) })), 413, 'PAYLOAD_TOO_LARGE', /larger than 65536 bytes/],
        ['/api/ledger/reschedule', post({ now: true }), 400, 'BAD_REQUEST', /takes no request body/],
      ];
      for (const [path, init, status, code, message] of bad) {
        const response = await s.call(path, init);
        assert.equal(response.status, status, `${path} ${String(init.body).slice(0, 40)}`);
        assert.equal(errorOf(response.json)?.code, code);
        assert.match(errorOf(response.json)?.message ?? '', message);
      }
      const unavailable: Array<[string, unknown, string]> = [
        ['/api/load/pin', { level: 'critical' }, 'pinning the load level'],
        ['/api/load/release', undefined, 'releasing the load level'],
        ['/api/ledger/reschedule', undefined, 'rescheduling the ledger'],
        ['/api/throttle/low', { perSecond: null }, 'throttling the low tier'],
      ];
      for (const [path, body, what] of unavailable) {
        const response = await s.call(path, post(body));
        assert.equal(response.status, 501, path);
        assert.deepEqual(errorOf(response.json), { code: 'NOT_AVAILABLE', message: `${what} needs the coordinator, which this runtime does not have` });
      }
      assert.equal((await s.call('/api/load')).json.level, 'normal', 'nothing pretended to change');
    } finally {
      await s.close();
    }
  });

  test('a plugged-in coordinator answers the actions, and the load views and metrics follow it', async () => {
    const s = await serve({}, { token: TOKEN });
    const coordinator = coordinatorFor(() => s.clock.now());
    s.rt.admin.provide({ coordinator });
    try {
      const pinned = await s.call('/api/load/pin', post({ level: 'critical' }));
      assert.equal(pinned.status, 200);
      assert.deepEqual([pinned.json.level, pinned.json.pinned], ['critical', true]);
      const load = (await s.call('/api/load')).json;
      assert.deepEqual([load.level, load.pinned, load.decisions.map((d: any) => d.action)], ['critical', true, ['pin']]);
      assert.match((await s.call('/metrics')).text, /^triage_load_level\{runtime="[^"]+"\} 2$/m);
      assert.deepEqual((await s.call('/api/throttle/low', post({ perSecond: 20 }))).json.lowThrottle, 20);
      assert.deepEqual((await s.call('/api/ledger')).json.total, 3);
      assert.deepEqual((await s.call('/api/ledger/reschedule', post())).json, { rescheduled: 3 });
      assert.deepEqual((await s.call('/api/ledger')).json.total, 0);
      assert.equal((await s.call('/api/load/release', post())).json.pinned, false);
      assert.deepEqual((await s.call('/api/decisions?limit=1')).json.decisions.map((d: any) => d.action), ['release']);
    } finally {
      await s.close();
    }
  });
});

describe('admin: where it listens', () => {
  test('an address other machines can reach is refused without a token, with a clear error', async () => {
    const s = await serve();
    try {
      for (const host of ['0.0.0.0', '::']) {
        await assert.rejects(
          listenAdmin(s.rt.admin.sources, { host, port: 0 }),
          (error: unknown) => error instanceof AdminError && error.code === 'INSECURE_BIND' && /refusing to serve the admin endpoint on .* without a token: set a token \(TRIAGE_ADMIN_TOKEN\) or listen on 127\.0\.0\.1/.test(error.message),
        );
      }
      await assert.rejects(s.rt.admin.listen({ port: 0 }), (error: unknown) => error instanceof AdminError && error.code === 'ALREADY_LISTENING');
    } finally {
      await s.close();
    }
  });

  test('with a token it listens on every address; a weak token is refused', async () => {
    const s = await serve({}, { host: '0.0.0.0', token: TOKEN });
    try {
      const response = await fetch(`http://127.0.0.1:${s.admin.port}/api/health/live`);
      assert.equal(response.status, 200);
      await assert.rejects(listenAdmin(s.rt.admin.sources, { port: 0, token: 'short' }), (error: unknown) =>
        error instanceof AdminError && error.code === 'INVALID_ADMIN_OPTIONS' && /16 to 512 visible ASCII characters/.test(error.message));
    } finally {
      await s.close();
    }
  });

  test('on loopback, a request naming another host is refused (DNS rebinding)', async () => {
    const s = await serve();
    try {
      const ask = (host: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: s.admin.port, path: '/api/tree', headers: { host } }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.end();
        });
      const evil = await ask('evil.example:80');
      assert.equal(evil.status, 403);
      assert.equal(JSON.parse(evil.body).error.code, 'HOST_NOT_ALLOWED');
      assert.equal((await ask(`localhost:${s.admin.port}`)).status, 200);
      assert.equal((await ask(`127.0.0.1:${s.admin.port}`)).status, 200);
    } finally {
      await s.close();
    }
  });
});
