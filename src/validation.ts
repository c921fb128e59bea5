/**
 * Payload validation: every problem of a payload is collected and reported at once, each naming
 * its field; a payload with any problem is not enqueued.
 */
import { ValidationError, type FieldProblem } from './errors.ts';
import {
  DEPENDENCY_FAILURE_POLICIES, NAMED_PRIORITY, TIERS, type BackoffOptions, type DependencyFailurePolicy, type Payload, type PayloadInput, type Tier,
} from './payload.ts';

export interface ValidationContext {
  readonly hasHandler: (type: string) => boolean;
  /** Largest accepted `data`, in bytes of its JSON form. */
  readonly maxDataBytes: number;
  readonly now: number;
}

/** A payload that passed validation, before the runtime gives it an id. */
export interface ValidPayload extends Omit<Payload, 'id' | 'submittedAt' | 'dependencies'> {
  readonly shardKey: string | undefined;
  /** As submitted (ids or refs); resolved against the batch by the runtime. */
  readonly dependsOn: readonly string[] | undefined;
  readonly onDependencyFailure: DependencyFailurePolicy;
  readonly ref: string | undefined;
}

const KNOWN_FIELDS = new Set([
  'type', 'data', 'clientId', 'priority', 'complexity', 'runAt', 'delay', 'deadline',
  'idempotencyKey', 'timeout', 'retries', 'backoff', 'shardKey', 'tags', 'dependsOn', 'onDependencyFailure', 'ref',
]);
/** Most dependencies one payload may list. */
export const MAX_DEPENDENCIES = 10_000;
const MAX_KEY_LENGTH = 512;
const MAX_TIMER_MS = 2_147_483_647;

export function validatePayload(input: unknown, ctx: ValidationContext, index?: number): ValidPayload {
  const problems: Problems = [];

  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError([{ field: 'payload', problem: 'must be an object' }], index);
  }
  const raw = input as Record<string, unknown> & Partial<PayloadInput>;
  for (const key of Object.keys(raw)) if (!KNOWN_FIELDS.has(key)) report(problems, key, 'is not a payload field');

  const type = raw.type;
  if (typeof type !== 'string' || type.length === 0) report(problems, 'type', 'must be a non-empty string');
  else if (!ctx.hasHandler(type)) report(problems, 'type', `has no handler registered (${JSON.stringify(type)})`);

  const clientId = optionalKey(raw.clientId, 'clientId', problems) ?? 'default';
  const idempotencyKey = optionalKey(raw.idempotencyKey, 'idempotencyKey', problems);
  const shardKey = optionalKey(raw.shardKey, 'shardKey', problems);
  const priority = parsePriority(raw.priority, problems);
  const complexity = raw.complexity === undefined ? 1 : rangeNumber(raw.complexity, 'complexity', 1, 10, problems);
  const timeout = raw.timeout === undefined ? undefined : rangeNumber(raw.timeout, 'timeout', 1, MAX_TIMER_MS, problems);
  const retries = raw.retries === undefined ? undefined : integer(raw.retries, 'retries', 0, 1000, problems);
  const backoff = raw.backoff === undefined ? undefined : parseBackoff(raw.backoff, problems);
  const tags = raw.tags === undefined ? undefined : parseTags(raw.tags, problems);

  let runAt: number | undefined;
  if (raw.runAt !== undefined && raw.delay !== undefined) report(problems, 'runAt', 'and delay are mutually exclusive');
  else if (raw.runAt !== undefined) runAt = parseTime(raw.runAt, 'runAt', problems);
  else if (raw.delay !== undefined) {
    const delay = rangeNumber(raw.delay, 'delay', 0, MAX_TIMER_MS, problems);
    if (delay !== undefined && delay > 0) runAt = ctx.now + delay;
  }
  const deadline = raw.deadline === undefined ? undefined : parseTime(raw.deadline, 'deadline', problems);
  if (deadline !== undefined && runAt !== undefined && deadline <= runAt) report(problems, 'deadline', 'must be later than runAt');

  checkData(raw.data, ctx.maxDataBytes, problems);

  const dependsOn = raw.dependsOn === undefined ? undefined : parseDependsOn(raw.dependsOn, problems);
  if (dependsOn !== undefined && idempotencyKey !== undefined) report(problems, 'idempotencyKey', 'cannot be combined with dependsOn');
  let onDependencyFailure: DependencyFailurePolicy = 'fail';
  if (raw.onDependencyFailure !== undefined) {
    if ((DEPENDENCY_FAILURE_POLICIES as readonly unknown[]).includes(raw.onDependencyFailure)) onDependencyFailure = raw.onDependencyFailure;
    else report(problems, 'onDependencyFailure', `must be one of ${DEPENDENCY_FAILURE_POLICIES.join('|')}, got ${describe(raw.onDependencyFailure)}`);
  }
  const ref = optionalKey(raw.ref, 'ref', problems);

  if (problems.length > 0) throw new ValidationError(problems, index);
  return {
    type: type as string,
    data: raw.data,
    clientId,
    priority: priority as number,
    complexity: complexity as number,
    runAt: runAt !== undefined && runAt > ctx.now ? runAt : undefined,
    deadline,
    idempotencyKey,
    timeout,
    retries,
    backoff,
    tags,
    shardKey,
    dependsOn,
    onDependencyFailure,
    ref,
  };
}

function parseDependsOn(value: unknown, problems: Problems): readonly string[] | undefined {
  if (!Array.isArray(value)) return report(problems, 'dependsOn', 'must be an array of payload ids or refs');
  if (value.length > MAX_DEPENDENCIES) return report(problems, 'dependsOn', `lists ${value.length} dependencies, over the limit of ${MAX_DEPENDENCIES}`);
  const seen = new Set<string>();
  let ok = true;
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string' || entry.length === 0 || entry.length > MAX_KEY_LENGTH) {
      ok = false;
      report(problems, `dependsOn[${i}]`, `must be a payload id or ref (a non-empty string), got ${describe(entry)}`);
    } else if (seen.has(entry)) {
      ok = false;
      report(problems, `dependsOn[${i}]`, `repeats ${JSON.stringify(entry)}`);
    } else seen.add(entry);
  });
  return ok ? (value as string[]) : undefined;
}

/** Problems found so far; helpers append and return undefined for the bad value. */
type Problems = FieldProblem[];

function report(problems: Problems, field: string, problem: string): undefined {
  problems.push({ field, problem });
  return undefined;
}

function optionalKey(value: unknown, field: string, problems: Problems): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) return report(problems, field, 'must be a non-empty string');
  if (value.length > MAX_KEY_LENGTH) return report(problems, field, `must be at most ${MAX_KEY_LENGTH} characters`);
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

function rangeNumber(value: unknown, field: string, min: number, max: number, problems: Problems): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return report(problems, field, `must be a finite number, got ${describe(value)}`);
  if (value < min || value > max) return report(problems, field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function integer(value: unknown, field: string, min: number, max: number, problems: Problems): number | undefined {
  const n = rangeNumber(value, field, min, max, problems);
  if (n !== undefined && !Number.isInteger(n)) return report(problems, field, `must be an integer, got ${n}`);
  return n;
}

function parsePriority(value: unknown, problems: Problems): number | undefined {
  if (value === undefined) return NAMED_PRIORITY.medium;
  if (typeof value === 'string') {
    if ((TIERS as readonly string[]).includes(value)) return NAMED_PRIORITY[value as Tier];
    return report(problems, 'priority', `must be 1–10 or one of ${TIERS.join('|')}, got ${JSON.stringify(value)}`);
  }
  return integer(value, 'priority', 1, 10, problems);
}

function parseTime(value: unknown, field: string, problems: Problems): number | undefined {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value)) ms = Date.parse(value);
  else return report(problems, field, `must be a Date, epoch milliseconds or an ISO-8601 string, got ${describe(value)}`);
  if (!Number.isFinite(ms) || ms < 0) return report(problems, field, `is not a valid instant (${describe(value)})`);
  return ms;
}

function parseBackoff(value: unknown, problems: Problems): BackoffOptions | undefined {
  if (typeof value !== 'object' || value === null) return report(problems, 'backoff', 'must be an object');
  const b = value as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!['initialMs', 'factor', 'maxMs', 'jitter'].includes(key)) report(problems, `backoff.${key}`, 'is not a backoff field');
  }
  const initialMs = b.initialMs === undefined ? undefined : rangeNumber(b.initialMs, 'backoff.initialMs', 0, MAX_TIMER_MS, problems);
  const factor = b.factor === undefined ? undefined : rangeNumber(b.factor, 'backoff.factor', 1, 100, problems);
  const maxMs = b.maxMs === undefined ? undefined : rangeNumber(b.maxMs, 'backoff.maxMs', 0, MAX_TIMER_MS, problems);
  const jitter = b.jitter === undefined ? undefined : rangeNumber(b.jitter, 'backoff.jitter', 0, 1, problems);
  return {
    ...(initialMs !== undefined && { initialMs }),
    ...(factor !== undefined && { factor }),
    ...(maxMs !== undefined && { maxMs }),
    ...(jitter !== undefined && { jitter }),
  };
}

function parseTags(value: unknown, problems: Problems): readonly string[] | undefined {
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && t.length > 0)) {
    return report(problems, 'tags', 'must be an array of non-empty strings');
  }
  return value as string[];
}

function checkData(data: unknown, maxBytes: number, problems: Problems): void {
  if (data === undefined || data === null || typeof data === 'number' || typeof data === 'boolean') return;
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    report(problems, 'data', `must be JSON-serialisable (${(error as Error).message})`);
    return;
  }
  if (json === undefined) {
    report(problems, 'data', 'must be JSON-serialisable');
    return;
  }
  // Length in UTF-16 units bounds the byte length from below; measure bytes only near the limit.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > maxBytes) report(problems, 'data', `is ${bytes} bytes, over the limit of ${maxBytes}`);
  }
}
