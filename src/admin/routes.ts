/**
 * The admin endpoints as a table: method, path pattern, whether it is an operator action (bearer
 * token required), which query parameters it takes, and the handler. The server matches, checks
 * and dispatches; handlers validate their own input and read only `AdminSources`.
 */
import { AdminError } from './errors.ts';
import { decodeSegment, intParam } from './http.ts';
import { mainPage, payloadPage } from './page-routes.ts';
import { RECORD_CURSOR } from './payload-search.ts';
import { SEARCH_STATUSES } from './payload-views.ts';
import { LOAD_LEVELS, type AdminSources, type LoadLevel } from './sources.ts';
import type { LimitsOptions } from '../limits/rules.ts';
import type { PayloadStatus } from '../payload.ts';

export interface RouteContext {
  readonly sources: AdminSources;
  /** Path parameters, percent-decoded, in pattern order. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** The server has an operator token (actions can be unlocked in the page). */
  readonly actions: boolean;
}

export type Reply =
  | { readonly status: number; readonly json: unknown }
  | { readonly status: number; readonly contentType: string; readonly text: string; readonly headers?: Record<string, string> };

export interface Route {
  readonly method: 'GET' | 'POST';
  /** As documented in `/api`. */
  readonly path: string;
  readonly pattern: RegExp;
  /** Operator action: needs the bearer token. */
  readonly action: boolean;
  readonly query: readonly string[];
  readonly doc: string;
  handle(ctx: RouteContext): Reply | Promise<Reply>;
}

const LIMIT_MAX = 1_000;
const ok = (json: unknown): Reply => ({ status: 200, json });
const limitOf = (ctx: RouteContext, fallback: number) => intParam(ctx.query, 'limit', fallback, 1, LIMIT_MAX);

/** Ids look like `<unique>.<partition in base 36>`; anything else cannot name a payload. */
const PAYLOAD_ID = /^[A-Za-z0-9_-]{1,100}\.[0-9a-z]{1,8}$/;
const WORKFLOW_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

function payloadId(ctx: RouteContext): string {
  const id = ctx.params[0] ?? '';
  if (!PAYLOAD_ID.test(id)) throw new AdminError('INVALID_ID', `${JSON.stringify(id)} is not a payload id (expected <unique>.<partition>)`, 'id');
  return id;
}

function scheduleId(ctx: RouteContext): string {
  const id = ctx.params[0] ?? '';
  if (id.length === 0 || id.length > 200) throw new AdminError('INVALID_ID', 'a schedule id is 1–200 characters', 'id');
  return id;
}

/** The body as an object with only the named fields, each required. */
function fields(body: unknown, names: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AdminError('BAD_REQUEST', `request body must be a JSON object with ${names.map((n) => JSON.stringify(n)).join(', ')}`);
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!names.includes(key)) throw new AdminError('BAD_REQUEST', `unknown field ${JSON.stringify(key)} in request body`, key);
  }
  for (const name of names) {
    if (!(name in record)) throw new AdminError('BAD_REQUEST', `request body is missing ${JSON.stringify(name)}`, name);
  }
  return record;
}

/** The body (or none) as an object of optional non-empty strings among `names`. */
function optionalFields(body: unknown, names: readonly string[]): Record<string, string | undefined> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AdminError('BAD_REQUEST', 'request body must be a JSON object');
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!names.includes(key)) throw new AdminError('BAD_REQUEST', `unknown field ${JSON.stringify(key)} in request body`, key);
    if (typeof value !== 'string' || value.length === 0) throw new AdminError('BAD_REQUEST', `${key} must be a non-empty string`, key);
    out[key] = value;
  }
  return out;
}

function pauseTarget(body: unknown): { type?: string; clientId?: string } {
  const { type, clientId } = optionalFields(body, ['type', 'clientId']);
  return { ...(type === undefined ? {} : { type }), ...(clientId === undefined ? {} : { clientId }) };
}

function noBody(body: unknown): void {
  if (body !== undefined && !(typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0)) {
    throw new AdminError('BAD_REQUEST', 'this action takes no request body (or an empty JSON object)');
  }
}

const route = (method: Route['method'], path: string, doc: string, handle: Route['handle'], extra: Partial<Pick<Route, 'action' | 'query'>> = {}): Route => ({
  method,
  path,
  doc,
  handle,
  action: extra.action ?? false,
  query: extra.query ?? [],
  pattern: new RegExp(`^${path.replace(/:[a-z]+/g, '([^/]+)')}/?$`),
});

/** Four tier bars; a browser asks for an icon, and a 404 would be an error in its console. */
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#15181e"/><rect x="3" y="3" width="10" height="2" rx="1" fill="#d6409f"/><rect x="3" y="6" width="8" height="2" rx="1" fill="#f76b15"/><rect x="3" y="9" width="6" height="2" rx="1" fill="#3e63dd"/><rect x="3" y="12" width="4" height="2" rx="1" fill="#12a594"/></svg>';

export const ROUTES: readonly Route[] = [
  route('GET', '/', 'the admin page: charts of the last 15 minutes, failures, running payloads, queues, load, ledger, search, workflows, schedules, the actor tree and the cluster; drawn with the current numbers, then live', (ctx) => mainPage(ctx), { query: ['refresh'] }),
  route('GET', '/favicon.svg', 'the pages\' icon', () => ({ status: 200, contentType: 'image/svg+xml', text: FAVICON, headers: { 'cache-control': 'max-age=86400' } })),
  route('GET', '/payloads/:id', 'one payload\'s page: its facts, its timeline, dependencies and workflow, with cancel and retry', (ctx) => payloadPage(ctx, payloadId(ctx))),
  route('GET', '/api', 'this list of endpoints', () => ok({ endpoints: ROUTES.map(({ method, path, action, query, doc }) => ({ method, path, action, query, doc })) })),
  route('GET', '/api/tree', 'the live actor tree: path, kind, mailbox length and state summary of every actor', (ctx) => ok(ctx.sources.tree())),
  route('GET', '/api/partitions', 'the execution pool and every partition: depth and oldest wait per tier, running, delayed, totals; ?nodes=all on a cluster node: every live node\'s partitions, each with its node', async (ctx) => {
    const nodes = ctx.query.get('nodes');
    if (nodes !== null && nodes !== 'all') throw new AdminError('BAD_REQUEST', `nodes must be "all", got ${JSON.stringify(nodes)}`, 'nodes');
    return ok(nodes === 'all' ? await ctx.sources.clusterPartitions() : ctx.sources.partitions());
  }, { query: ['nodes'] }),
  route('GET', '/api/partitions/:n', 'one partition', (ctx) => {
    const raw = ctx.params[0] ?? '';
    if (!/^\d{1,6}$/.test(raw)) throw new AdminError('BAD_REQUEST', `partition must be a whole number, got ${JSON.stringify(raw)}`, 'partition');
    const view = ctx.sources.partitions();
    const partition = view.partitions[Number(raw)];
    if (!partition) throw new AdminError('NOT_FOUND', `no partition ${raw}: this runtime has ${view.partitions.length} (0–${view.partitions.length - 1})`, 'partition');
    return ok({ at: view.at, partition });
  }),
  route('GET', '/api/running', 'attempts running now, longest-running first', (ctx) => ok(ctx.sources.running(limitOf(ctx, 100))), { query: ['limit'] }),
  route('GET', '/api/payloads', 'find payloads: optional id, type, clientId, status, tag, limit, cursor (the next of the page before). status=failed lists the dead letters, newest first; otherwise the records this process keeps (queued, running, delayed and the ended ones retained), in arrival order per partition', async (ctx) => {
    const text = (name: string) => {
      const value = ctx.query.get(name);
      if (value !== null && (value.length === 0 || value.length > 200)) throw new AdminError('BAD_REQUEST', `${name} must be 1–200 characters`, name);
      return value ?? undefined;
    };
    const status = text('status');
    if (status !== undefined && !SEARCH_STATUSES.includes(status as PayloadStatus)) {
      throw new AdminError('BAD_REQUEST', `status must be one of ${SEARCH_STATUSES.join(', ')}; got ${JSON.stringify(status)}`, 'status');
    }
    const id = text('id');
    if (id !== undefined && !PAYLOAD_ID.test(id)) throw new AdminError('INVALID_ID', `${JSON.stringify(id)} is not a payload id (expected <unique>.<partition>)`, 'id');
    const cursor = text('cursor');
    if (cursor !== undefined && !/^\d+\.\S+$/.test(cursor) && !RECORD_CURSOR.test(cursor)) throw new AdminError('BAD_REQUEST', 'cursor must be the next of an earlier page', 'cursor');
    return ok(await ctx.sources.search({ id, type: text('type'), clientId: text('clientId'), status: status as PayloadStatus | undefined, tag: text('tag'), limit: limitOf(ctx, 100), cursor }));
  }, { query: ['id', 'status', 'type', 'clientId', 'tag', 'limit', 'cursor'] }),
  route('GET', '/api/series', 'the last 15 minutes, one point a second: wait p50/p99 per tier, completions, failures and retries per second, load level, queue depth per tier, pool busy and size; the coordinator\'s decisions over the same window. ?since=<epoch ms>: only later points', (ctx) => {
    const raw = ctx.query.get('since');
    if (raw !== null && !/^\d{1,16}(\.\d+)?$/.test(raw)) throw new AdminError('BAD_REQUEST', `since must be epoch milliseconds, got ${JSON.stringify(raw)}`, 'since');
    return ok(ctx.sources.series(raw === null ? undefined : Number(raw)));
  }, { query: ['since'] }),
  route('POST', '/api/payloads/retry', 'run every dead letter of a type and/or client again: body {"type"?, "clientId"?}', async (ctx) => {
    const body = optionalFields(ctx.body, ['type', 'clientId']);
    return ok(await ctx.sources.retryFailed(body));
  }, { action: true }),
  route('POST', '/api/payloads/:id/retry', 'run a payload that failed for good again, as a new attempt of the same id', async (ctx) => {
    const id = payloadId(ctx);
    noBody(ctx.body);
    return ok(await ctx.sources.retry(id));
  }, { action: true }),
  route('GET', '/api/payloads/:id', 'one payload: status, tier, partition, attempts, timestamps, progress, result or error', async (ctx) => {
    const id = payloadId(ctx);
    const view = await ctx.sources.payload(id);
    if (!view) throw new AdminError('UNKNOWN_PAYLOAD', `no payload with id ${JSON.stringify(id)}`, 'id');
    return ok(view);
  }),
  route('GET', '/api/payloads/:id/timeline', 'one payload with its timeline: accepted, each attempt with its duration and error, progress, checkpoint, dependencies, its workflow', async (ctx) => {
    const id = payloadId(ctx);
    const detail = await ctx.sources.payloadDetail(id);
    if (!detail) throw new AdminError('UNKNOWN_PAYLOAD', `no payload with id ${JSON.stringify(id)}`, 'id');
    return ok(detail);
  }),
  route('POST', '/api/payloads/:id/cancel', 'cancel a queued, delayed or running payload', async (ctx) => {
    const id = payloadId(ctx);
    noBody(ctx.body);
    const result = await ctx.sources.cancel(id);
    if (result.outcome === 'unknown') throw new AdminError('UNKNOWN_PAYLOAD', `no payload with id ${JSON.stringify(id)}`, 'id');
    if (result.outcome === 'already-finished') throw new AdminError('ALREADY_FINISHED', `payload ${id} already finished (${result.view.status}); nothing to cancel`, 'id');
    return ok({ id, cancelled: true, payload: result.view });
  }, { action: true }),
  route('GET', '/api/ledger', 'payloads skipped or degraded under load, oldest first, a page at a time: ?limit, ?offset (entries to pass over)', (ctx) =>
    ok(ctx.sources.ledger(limitOf(ctx, 100), intParam(ctx.query, 'offset', 0, 0, 10_000_000))), { query: ['limit', 'offset'] }),
  route('POST', '/api/ledger/reschedule', 'reschedule every ledger entry now', async (ctx) => {
    noBody(ctx.body);
    return ok(await ctx.sources.rescheduleLedger());
  }, { action: true }),
  route('GET', '/api/workflows', 'workflow instances, most recent first, with step counts', (ctx) => ok(ctx.sources.workflows(limitOf(ctx, 100))), { query: ['limit'] }),
  route('GET', '/api/workflows/:id', 'one workflow instance and its steps', async (ctx) => {
    const id = ctx.params[0] ?? '';
    if (!WORKFLOW_ID.test(id)) throw new AdminError('INVALID_ID', `${JSON.stringify(id)} is not a workflow instance id`, 'id');
    const detail = await ctx.sources.workflow(id);
    if (!detail) throw new AdminError('UNKNOWN_WORKFLOW', `no workflow instance with id ${JSON.stringify(id)}`, 'id');
    return ok(detail);
  }),
  route('GET', '/api/pauses', 'what an operator paused: {"all": true} for the whole runtime, handler types one by one, and clients', (ctx) => ok(ctx.sources.pauses())),
  route('POST', '/api/pause', 'stop starting a handler type (body {"type": "…"}), a client ({"clientId": "…"}, with "type" only that type of it) or everything (no body); queued work stays queued', async (ctx) => {
    return ok(await ctx.sources.pause(pauseTarget(ctx.body)));
  }, { action: true }),
  route('POST', '/api/resume', 'lift a pause: body {"type": "…"} and/or {"clientId": "…"} as paused, no body for the whole runtime', async (ctx) => {
    return ok(await ctx.sources.resume(pauseTarget(ctx.body)));
  }, { action: true }),
  route('GET', '/api/fairness', 'client weights of fair sharing: {"weights": {clientId: weight}, "defaultWeight"}', (ctx) => ok(ctx.sources.fairness())),
  route('POST', '/api/fairness', 'replace the client weights: body {"weights"?: {clientId: weight}, "defaultWeight"?}; a tier is shared between waiting clients in proportion', async (ctx) => {
    if (typeof ctx.body !== 'object' || ctx.body === null || Array.isArray(ctx.body)) throw new AdminError('BAD_REQUEST', 'request body must be a JSON object with "weights" and/or "defaultWeight"');
    return ok(await ctx.sources.setFairness(ctx.body as { weights?: Record<string, number>; defaultWeight?: number }));
  }, { action: true }),
  route('GET', '/api/limits', 'rate and concurrency limits: {"rules": the limits in force, "scopes": [{scope, limit, running, tokens, held}]}, one per limited scope (global, type:<t>, client:<id>, key:<k>), held = queued payloads it holds back now', (ctx) => ok(ctx.sources.limits())),
  route('POST', '/api/limits', 'replace every rate and concurrency limit: body {"global"?, "types"?, "clients"?: {"default"?, "overrides"?}, "keys"?: {"default"?, "overrides"?}}, each limit {"perSecond"?, "burst"?, "maxRunning"?}; {} lifts them all; what a limit holds waits queued', async (ctx) => {
    if (typeof ctx.body !== 'object' || ctx.body === null || Array.isArray(ctx.body)) throw new AdminError('BAD_REQUEST', 'request body must be a JSON object of limits ({} for none)');
    return ok(await ctx.sources.setLimits(ctx.body as LimitsOptions));
  }, { action: true }),
  route('GET', '/api/schedules', 'schedules by id: timing, payload type, paused, next fire time, last tick', (ctx) => ok(ctx.sources.schedules(limitOf(ctx, 100))), { query: ['limit'] }),
  route('POST', '/api/schedules/:id/pause', 'pause a schedule: it does not fire until resumed', async (ctx) => {
    noBody(ctx.body);
    return ok(await ctx.sources.pauseSchedule(scheduleId(ctx)));
  }, { action: true }),
  route('POST', '/api/schedules/:id/resume', 'resume a paused schedule: it fires from now on (ticks due while paused are not fired)', async (ctx) => {
    noBody(ctx.body);
    return ok(await ctx.sources.resumeSchedule(scheduleId(ctx)));
  }, { action: true }),
  route('GET', '/api/load', 'the load level, whether it is pinned, the low-tier throttle, and the latest decisions', (ctx) =>
    ok({ ...ctx.sources.load(), decisions: ctx.sources.decisions(10) })),
  route('GET', '/api/decisions', 'recent coordinator decisions, most recent first', (ctx) => ok({ decisions: ctx.sources.decisions(limitOf(ctx, 50)) }), { query: ['limit'] }),
  route('POST', '/api/load/pin', 'pin the load level: body {"level": "normal"|"elevated"|"critical"}', async (ctx) => {
    const { level } = fields(ctx.body, ['level']);
    if (!LOAD_LEVELS.includes(level as LoadLevel)) {
      throw new AdminError('BAD_REQUEST', `level must be one of ${LOAD_LEVELS.join(', ')}, got ${JSON.stringify(level)}`, 'level');
    }
    return ok(await ctx.sources.pinLoad(level as LoadLevel));
  }, { action: true }),
  route('POST', '/api/load/release', 'release a pinned load level', async (ctx) => {
    noBody(ctx.body);
    return ok(await ctx.sources.releaseLoad());
  }, { action: true }),
  route('POST', '/api/throttle/low', 'limit low-tier starts per second: body {"perSecond": n} (null lifts the limit)', async (ctx) => {
    const { perSecond } = fields(ctx.body, ['perSecond']);
    if (perSecond !== null && (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond < 0 || perSecond > 1_000_000_000)) {
      throw new AdminError('BAD_REQUEST', `perSecond must be a number between 0 and 1000000000, or null for no limit; got ${JSON.stringify(perSecond)}`, 'perSecond');
    }
    return ok(await ctx.sources.setLowThrottle(perSecond));
  }, { action: true }),
  route('GET', '/api/cluster', 'the cluster: live nodes, which node owns which partition (lease token, ms left), each node\'s actor tree; {"clustered": false} when embedded',
    async (ctx) => ok(await ctx.sources.cluster())),
  route('GET', '/api/health', 'liveness and readiness together, always 200', (ctx) => ok(ctx.sources.health())),
  route('GET', '/api/health/live', 'liveness: 200 while the process answers', () => ok({ live: true })),
  route('GET', '/api/health/ready', 'readiness: 200 when the runtime accepts work and every check passes, else 503', (ctx) => {
    const { ready, status, checks } = ctx.sources.health();
    return { status: ready ? 200 : 503, json: { ready, status, checks } };
  }),
  route('GET', '/metrics', 'Prometheus metrics (text exposition format)', async (ctx) => {
    const { contentType, body } = await ctx.sources.metrics();
    return { status: 200, contentType, text: body };
  }),
];

/** Matches a path against the table: the route for this method, or the methods the path allows. */
export function match(method: string, path: string): { route: Route; params: string[] } | { allowed: string[] } | undefined {
  const allowed: string[] = [];
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (r.method === method || (method === 'HEAD' && r.method === 'GET')) {
      return { route: r, params: m.slice(1).map((segment, i) => decodeSegment(segment, r.path.match(/:[a-z]+/g)?.[i]?.slice(1) ?? 'segment')) };
    }
    allowed.push(r.method === 'GET' ? 'GET, HEAD' : r.method);
  }
  return allowed.length > 0 ? { allowed } : undefined;
}
