/**
 * The admin endpoint of rate and concurrency limits: `GET /api/limits` shows the rules in force and
 * what each limited scope runs and holds back; `POST /api/limits` (operator token) replaces them
 * whole, and a bad body is refused with the fields named and changes nothing.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LimitScopeView, LimitsOptions } from '../src/index.ts';
import { post, serve, TOKEN, type Served } from './admin-support.ts';

const errorOf = (json: any) => json?.error as { code: string; message: string; field?: string } | undefined;
const scopeOf = (json: any, scope: string) => (json.scopes as LimitScopeView[]).find((s) => s.scope === scope);

const RULES: LimitsOptions = { types: { email: { perSecond: 50, burst: 5 } }, clients: { overrides: { a: { maxRunning: 0 } } } };

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

/** Client `a` may run nothing: its four payloads wait queued, held by its limit. */
async function holding(listen: { token?: string } = { token: TOKEN }): Promise<Served & { ran: string[] }> {
  served = await serve({ partitions: 2, limits: RULES }, listen);
  const ran: string[] = [];
  served.rt.handle('work', (_data, ctx) => void ran.push(ctx.clientId));
  await served.rt.submitMany(Array.from({ length: 4 }, () => ({ type: 'work', clientId: 'a' })));
  await served.rt.idle();
  return { ...served, ran };
}

test('GET shows the rules in force and each limited scope with what runs in it and what it holds back; no token needed', async () => {
  const s = await holding();
  const { status, json } = await s.call('/api/limits');
  assert.equal(status, 200);
  assert.deepEqual(json.rules, RULES);
  assert.deepEqual(scopeOf(json, 'client:a'), { scope: 'client:a', limit: { maxRunning: 0 }, running: 0, held: 4 });
  const email = scopeOf(json, 'type:email');
  assert.deepEqual(email && { ...email, tokens: undefined }, { scope: 'type:email', limit: { perSecond: 50, burst: 5 }, running: 0, held: 0, tokens: undefined });
  assert.equal(typeof email?.tokens, 'number', 'a rate limit shows the starts its bucket allows now');
  assert.equal((json.scopes as LimitScopeView[])[0]?.scope, 'client:a', 'the scope holding the most comes first');
  assert.deepEqual(s.ran, []);
});

test('POST with the token replaces every limit: lifting one starts what it held, and the answer is the new view', async () => {
  const s = await holding();
  const next: LimitsOptions = { clients: { overrides: { a: { maxRunning: 2 } } }, keys: { default: { maxRunning: 1 } } };
  const { status, json } = await s.call('/api/limits', post(next));
  assert.equal(status, 200);
  assert.deepEqual(json.rules, next, 'the type limit not in the body is gone: the body replaces, it does not merge');
  assert.deepEqual(s.rt.limits().rules, next);
  await s.rt.idle();
  assert.deepEqual(s.ran, ['a', 'a', 'a', 'a'], 'what client a held ran once its limit allowed it');
  const after = await s.call('/api/limits');
  assert.equal(scopeOf(after.json, 'client:a')?.held, 0);
  assert.equal(scopeOf(after.json, 'type:email'), undefined);

  const lifted = await s.call('/api/limits', post({}));
  assert.equal(lifted.status, 200);
  assert.deepEqual(lifted.json.rules, {}, 'an empty object lifts every limit');
});

test('a bad body is a 400 naming the fields, and changes nothing', async () => {
  const s = await holding();
  const cases: Array<[string, unknown, string | undefined, RegExp]> = [
    ['unknown limit field', { global: { maxRuning: 1 } }, 'limits.global.maxRuning', /limits\.global\.maxRuning is not a limit field.*; limits\.global sets neither perSecond nor maxRunning/],
    ['unknown option', { glob: { maxRunning: 1 } }, 'limits.glob', /limits\.glob is not a limits option/],
    ['negative', { clients: { default: { maxRunning: -1 } } }, 'limits.clients.default.maxRunning', /limits\.clients\.default\.maxRunning must be an integer from 0/],
    ['burst without a rate', { types: { email: { burst: 3 } } }, 'limits.types.email.burst', /limits\.types\.email\.burst needs perSecond/],
    ['not an object', [1, 2], undefined, /request body must be a JSON object of limits/],
    ['no body', undefined, undefined, /request body must be a JSON object of limits/],
  ];
  for (const [what, body, field, message] of cases) {
    const { status, json } = await s.call('/api/limits', post(body));
    assert.equal(status, 400, what);
    assert.equal(errorOf(json)?.code, 'BAD_REQUEST', what);
    assert.equal(errorOf(json)?.field, field, what);
    assert.match(errorOf(json)?.message ?? '', message, what);
  }
  const notJson = await s.call('/api/limits', post(undefined, TOKEN, '{"global": '));
  assert.equal(notJson.status, 400);
  assert.equal(errorOf(notJson.json)?.code, 'BAD_JSON');
  await s.rt.idle();
  assert.deepEqual(s.rt.limits().rules, RULES, 'the limits in force are the ones before');
  assert.equal(scopeOf((await s.call('/api/limits')).json, 'client:a')?.held, 4, 'and still hold what they held');
  assert.deepEqual(s.ran, []);
});

test('POST without the operator token is refused and changes nothing; without a server token it is off', async () => {
  const s = await holding();
  const bearers: Array<[string, Record<string, string>]> = [['no bearer', {}], ['a wrong one', { authorization: 'Bearer wrong-token-0123456789abcdef' }]];
  for (const [what, auth] of bearers) {
    const { status, json } = await s.call('/api/limits', { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{}' });
    assert.equal(status, 401, what);
    assert.equal(errorOf(json)?.code, 'UNAUTHORIZED', what);
  }
  await s.rt.idle();
  assert.deepEqual(s.rt.limits().rules, RULES);
  assert.deepEqual(s.ran, []);
  await s.close();

  const off = await holding({});
  const { status, json } = await off.call('/api/limits', post({}));
  assert.equal(status, 403);
  assert.equal(errorOf(json)?.code, 'ACTIONS_DISABLED');
  assert.deepEqual(off.rt.limits().rules, RULES);
  assert.equal((await off.call('/api/limits')).status, 200, 'reading stays open');
});
