/**
 * Payload validation: every problem of a payload is collected and reported at once, each naming
 * its field; a payload with any problem is not enqueued.
 */
import { ValidationError, type FieldProblem } from './errors.ts';
import { NAMED_PRIORITY, TIERS, type BackoffOptions, type PayloadInput, type Tier, type TimeInput } from './payload.ts';

export interface ValidationContext {
  readonly hasHandler: (type: string) => boolean;
  /** Largest accepted `data`, in bytes of its JSON form. */
  readonly maxDataBytes: number;
  readonly now: number;
}

/** A payload that passed validation, before the runtime gives it an id. */
export interface ValidPayload {
  readonly type: string;
  readonly data: unknown;
  readonly clientId: string;
  readonly priority: number;
  readonly complexity: number;
  readonly runAt?: number;
  readonly deadline?: number;
  readonly idempotencyKey?: string;
  readonly timeout?: number;
  readonly retries?: number;
  readonly backoff?: BackoffOptions;
  readonly shardKey?: string;
  readonly tags?: readonly string[];
}

const KNOWN_FIELDS = new Set([
  'type', 'data', 'clientId', 'priority', 'complexity', 'runAt', 'delay', 'deadline',
  'idempotencyKey', 'timeout', 'retries', 'backoff', 'shardKey', 'tags',
]);
const MAX_KEY_LENGTH = 512;
const MAX_TIMER_MS = 2_147_483_647;

export function validatePayload(input: unknown, ctx: ValidationContext, index?: number): ValidPayload {
  const problems: FieldProblem[] = [];
  const fail = (field: string, problem: string): undefined => void problems.push({ field, problem });

  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError([{ field: 'payload', problem: 'must be an object' }], index);
  }
  const raw = input as Record<string, unknown> & Partial<PayloadInput>;
  for (const key of Object.keys(raw)) if (!KNOWN_FIELDS.has(key)) fail(key, 'is not a payload field');

  const type = raw.type;
  if (typeof type !== 'string' || type.length === 0) fail('type', 'must be a non-empty string');
  else if (!ctx.hasHandler(type)) fail('type', `has no handler registered (${JSON.stringify(type)})`);

  const clientId = optionalKey(raw.clientId, 'clientId', fail) ?? 'default';
  const idempotencyKey = optionalKey(raw.idempotencyKey, 'idempotencyKey', fail);
  const shardKey = optionalKey(raw.shardKey, 'shardKey', fail);
  const priority = parsePriority(raw.priority, fail);
  const complexity = raw.complexity === undefined ? 1 : rangeNumber(raw.complexity, 'complexity', 1, 10, fail);
  const timeout = raw.timeout === undefined ? undefined : rangeNumber(raw.timeout, 'timeout', 1, MAX_TIMER_MS, fail);
  const retries = raw.retries === undefined ? undefined : integer(raw.retries, 'retries', 0, 1000, fail);
  const backoff = raw.backoff === undefined ? undefined : parseBackoff(raw.backoff, fail);
  const tags = raw.tags === undefined ? undefined : parseTags(raw.tags, fail);

  let runAt: number | undefined;
  if (raw.runAt !== undefined && raw.delay !== undefined) fail('runAt', 'and delay are mutually exclusive');
  else if (raw.runAt !== undefined) runAt = parseTime(raw.runAt, 'runAt', fail);
  else if (raw.delay !== undefined) {
    const delay = rangeNumber(raw.delay, 'delay', 0, MAX_TIMER_MS, fail);
    if (delay !== undefined && delay > 0) runAt = ctx.now + delay;
  }
  const deadline = raw.deadline === undefined ? undefined : parseTime(raw.deadline, 'deadline', fail);
  if (deadline !== undefined && runAt !== undefined && deadline <= runAt) fail('deadline', 'must be later than runAt');

  checkData(raw.data, ctx.maxDataBytes, fail);

  if (problems.length > 0) throw new ValidationError(problems, index);
  return {
    type: type as string,
    data: raw.data,
    clientId,
    priority: priority as number,
    complexity: complexity as number,
    ...(runAt !== undefined && runAt > ctx.now && { runAt }),
    ...(deadline !== undefined && { deadline }),
    ...(idempotencyKey !== undefined && { idempotencyKey }),
    ...(timeout !== undefined && { timeout }),
    ...(retries !== undefined && { retries }),
    ...(backoff !== undefined && { backoff }),
    ...(shardKey !== undefined && { shardKey }),
    ...(tags !== undefined && { tags }),
  };
}

type Fail = (field: string, problem: string) => undefined;

function optionalKey(value: unknown, field: string, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) return fail(field, 'must be a non-empty string');
  if (value.length > MAX_KEY_LENGTH) return fail(field, `must be at most ${MAX_KEY_LENGTH} characters`);
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

function rangeNumber(value: unknown, field: string, min: number, max: number, fail: Fail): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(field, `must be a finite number, got ${describe(value)}`);
  if (value < min || value > max) return fail(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function integer(value: unknown, field: string, min: number, max: number, fail: Fail): number | undefined {
  const n = rangeNumber(value, field, min, max, fail);
  if (n !== undefined && !Number.isInteger(n)) return fail(field, `must be an integer, got ${n}`);
  return n;
}

function parsePriority(value: unknown, fail: Fail): number | undefined {
  if (value === undefined) return NAMED_PRIORITY.medium;
  if (typeof value === 'string') {
    if ((TIERS as readonly string[]).includes(value)) return NAMED_PRIORITY[value as Tier];
    return fail('priority', `must be 1–10 or one of ${TIERS.join('|')}, got ${JSON.stringify(value)}`);
  }
  return integer(value, 'priority', 1, 10, fail);
}

function parseTime(value: unknown, field: string, fail: Fail): number | undefined {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value)) ms = Date.parse(value);
  else return fail(field, `must be a Date, epoch milliseconds or an ISO-8601 string, got ${describe(value)}`);
  if (!Number.isFinite(ms) || ms < 0) return fail(field, `is not a valid instant (${describe(value)})`);
  return ms;
}

function parseBackoff(value: unknown, fail: Fail): BackoffOptions | undefined {
  if (typeof value !== 'object' || value === null) return fail('backoff', 'must be an object');
  const b = value as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!['initialMs', 'factor', 'maxMs', 'jitter'].includes(key)) fail(`backoff.${key}`, 'is not a backoff field');
  }
  const initialMs = b.initialMs === undefined ? undefined : rangeNumber(b.initialMs, 'backoff.initialMs', 0, MAX_TIMER_MS, fail);
  const factor = b.factor === undefined ? undefined : rangeNumber(b.factor, 'backoff.factor', 1, 100, fail);
  const maxMs = b.maxMs === undefined ? undefined : rangeNumber(b.maxMs, 'backoff.maxMs', 0, MAX_TIMER_MS, fail);
  const jitter = b.jitter === undefined ? undefined : rangeNumber(b.jitter, 'backoff.jitter', 0, 1, fail);
  return {
    ...(initialMs !== undefined && { initialMs }),
    ...(factor !== undefined && { factor }),
    ...(maxMs !== undefined && { maxMs }),
    ...(jitter !== undefined && { jitter }),
  };
}

function parseTags(value: unknown, fail: Fail): readonly string[] | undefined {
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && t.length > 0)) {
    return fail('tags', 'must be an array of non-empty strings');
  }
  return value as string[];
}

function checkData(data: unknown, maxBytes: number, fail: Fail): void {
  if (data === undefined || data === null || typeof data === 'number' || typeof data === 'boolean') return;
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    fail('data', `must be JSON-serialisable (${(error as Error).message})`);
    return;
  }
  if (json === undefined) {
    fail('data', 'must be JSON-serialisable');
    return;
  }
  // Length in UTF-16 units bounds the byte length from below; measure bytes only near the limit.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > maxBytes) fail('data', `is ${bytes} bytes, over the limit of ${maxBytes}`);
  }
}
