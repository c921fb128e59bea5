/**
 * Payload validation: every problem of a payload is collected and reported at once, each naming
 * its field; a payload with any problem is not enqueued.
 */
import { ValidationError, type FieldProblem } from './errors.ts';
import {
  DEDUPE_MODES, DEPENDENCY_FAILURE_POLICIES, NAMED_PRIORITY, TIERS, type BackoffOptions, type DedupeMode, type DedupeOptions,
  type DependencyFailurePolicy, type Payload, type Tier,
} from './payload.ts';

export interface ValidationContext {
  readonly hasHandler: (type: string) => boolean;
  /** Largest accepted `data` with its `tags`, in bytes of their JSON form. */
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
  'idempotencyKey', 'timeout', 'retries', 'backoff', 'shardKey', 'tags', 'dependsOn', 'onDependencyFailure', 'ref', 'dedupe',
  'concurrencyKey',
]);
/** Most dependencies one payload may list. */
export const MAX_DEPENDENCIES = 10_000;
const MAX_KEY_LENGTH = 512;
const MAX_TIMER_MS = 2_147_483_647;

export type WritableValid = { -readonly [K in keyof ValidPayload]: ValidPayload[K] };

/** A valid payload's object with every field unset, for `validatePayload` to write to. */
export const unsetValid = (): WritableValid => ({
  type: '', data: undefined, clientId: '', priority: 0, complexity: 1, runAt: undefined, deadline: undefined, idempotencyKey: undefined,
  timeout: undefined, retries: undefined, backoff: undefined, tags: undefined, shardKey: undefined, dependsOn: undefined,
  onDependencyFailure: 'fail', ref: undefined, dedupe: undefined, concurrencyKey: undefined,
});

/**
 * The payload checked and normalised, or a ValidationError naming every problem. `into`: an object
 * of the caller's to write the result to instead of a new one (a batch reuses one for all its
 * payloads: what it keeps is copied from it at once).
 */
export function validatePayload(input: unknown, ctx: ValidationContext, index?: number, into?: WritableValid): ValidPayload {
  // Each field is read once, into a local: a getter is not asked twice (it could answer differently
  // the second time). A getter or Proxy trap that throws is a problem of the field being read, found
  // by one try around the whole read (not one per field): `field` says which it was.
  let field = 'payload';
  try {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new ValidationError([{ field: 'payload', problem: 'must be an object' }], index);
    }
    const problems: Problems = [];
    const raw = input as Record<string, unknown>;
    // for-in with an own-property check: Object.keys built an array per payload.
    for (const key in raw) if (!KNOWN_FIELDS.has(key) && Object.hasOwn(raw, key)) report(problems, shortened(key), 'is not a payload field');

    field = 'type';
    const type = raw.type;
    if (typeof type !== 'string' || type.length === 0) report(problems, 'type', 'must be a non-empty string');
    else if (!ctx.hasHandler(type)) report(problems, 'type', `has no handler registered (${describe(type)})`);

    field = 'clientId';
    const clientId = optionalKey(raw.clientId, 'clientId', problems) ?? 'default';
    field = 'idempotencyKey';
    const idempotencyKey = optionalKey(raw.idempotencyKey, 'idempotencyKey', problems);
    field = 'shardKey';
    const shardKey = optionalKey(raw.shardKey, 'shardKey', problems);
    field = 'concurrencyKey';
    const concurrencyKey = optionalKey(raw.concurrencyKey, 'concurrencyKey', problems);
    field = 'priority';
    const priority = parsePriority(raw.priority, problems);
    field = 'complexity';
    const rawComplexity = raw.complexity;
    const complexity = rawComplexity === undefined ? 1 : rangeNumber(rawComplexity, 'complexity', 1, 10, problems);
    field = 'timeout';
    const rawTimeout = raw.timeout;
    const timeout = rawTimeout === undefined ? undefined : rangeNumber(rawTimeout, 'timeout', 1, MAX_TIMER_MS, problems);
    field = 'retries';
    const rawRetries = raw.retries;
    const retries = rawRetries === undefined ? undefined : integer(rawRetries, 'retries', 0, 1000, problems);
    field = 'backoff';
    const rawBackoff = raw.backoff;
    const backoff = rawBackoff === undefined ? undefined : parseBackoff(rawBackoff, problems);
    field = 'tags';
    const rawTags = raw.tags;
    const tags = rawTags === undefined ? undefined : parseTags(rawTags, problems);

    field = 'runAt';
    const rawRunAt = raw.runAt;
    field = 'delay';
    const rawDelay = raw.delay;
    let runAt: number | undefined;
    if (rawRunAt !== undefined && rawDelay !== undefined) report(problems, 'runAt', 'and delay are mutually exclusive');
    else if (rawRunAt !== undefined) runAt = parseTime(rawRunAt, 'runAt', problems);
    else if (rawDelay !== undefined) {
      const delay = rangeNumber(rawDelay, 'delay', 0, MAX_TIMER_MS, problems);
      if (delay !== undefined && delay > 0) runAt = ctx.now + delay;
    }
    field = 'deadline';
    const rawDeadline = raw.deadline;
    const deadline = rawDeadline === undefined ? undefined : parseTime(rawDeadline, 'deadline', problems);
    if (deadline !== undefined && runAt !== undefined && deadline <= runAt) report(problems, 'deadline', 'must be later than runAt');

    field = 'data';
    const data = raw.data;
    checkSize(data, tags, ctx.maxDataBytes, problems);

    field = 'dependsOn';
    const rawDependsOn = raw.dependsOn;
    const dependsOn = rawDependsOn === undefined ? undefined : parseDependsOn(rawDependsOn, problems);
    if (dependsOn !== undefined && idempotencyKey !== undefined) report(problems, 'idempotencyKey', 'cannot be combined with dependsOn');
    field = 'onDependencyFailure';
    const rawPolicy = raw.onDependencyFailure;
    let onDependencyFailure: DependencyFailurePolicy = 'fail';
    if (rawPolicy !== undefined) {
      if ((DEPENDENCY_FAILURE_POLICIES as readonly unknown[]).includes(rawPolicy)) onDependencyFailure = rawPolicy as DependencyFailurePolicy;
      else report(problems, 'onDependencyFailure', `must be one of ${DEPENDENCY_FAILURE_POLICIES.join('|')}, got ${describe(rawPolicy)}`);
    }
    field = 'ref';
    const ref = optionalKey(raw.ref, 'ref', problems);
    field = 'dedupe';
    const rawDedupe = raw.dedupe;
    const dedupe = rawDedupe === undefined ? undefined : parseDedupe(rawDedupe, problems);
    if (rawDedupe !== undefined) {
      // The dedupe key decides the partition and the payload's identity: no other key may.
      if (idempotencyKey !== undefined) report(problems, 'dedupe', 'cannot be combined with idempotencyKey');
      if (shardKey !== undefined) report(problems, 'dedupe', 'cannot be combined with shardKey (the dedupe key decides the partition)');
      if (rawDependsOn !== undefined) report(problems, 'dedupe', 'cannot be combined with dependsOn');
      if (dedupe?.mode === 'debounce' && (rawRunAt !== undefined || rawDelay !== undefined)) report(problems, 'dedupe', 'debounce cannot be combined with runAt or delay (the window decides when it runs)');
    }

    if (problems.length > 0) throw new ValidationError(problems, index);
    const valid = into ?? unsetValid();
    valid.type = type as string;
    valid.data = data;
    valid.clientId = clientId;
    valid.priority = priority as number;
    valid.complexity = complexity as number;
    valid.runAt = runAt !== undefined && runAt > ctx.now ? runAt : undefined;
    valid.deadline = deadline;
    valid.idempotencyKey = idempotencyKey;
    valid.timeout = timeout;
    valid.retries = retries;
    valid.backoff = backoff;
    valid.tags = tags;
    valid.shardKey = shardKey;
    valid.dependsOn = dependsOn;
    valid.onDependencyFailure = onDependencyFailure;
    valid.ref = ref;
    valid.dedupe = dedupe;
    valid.concurrencyKey = concurrencyKey;
    return valid;
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError([{ field, problem: 'could not be read (a getter or proxy trap threw)' }], index);
  }
}

/**
 * Validates the payloads of a batch one by one (so a caller can yield between slices), gathering
 * every problem as `payloads[i].<field>`: a hole in the array is a missing payload, not a shorter
 * batch, and a `ref` used twice is refused whether or not anything depends on it. `finish` throws
 * one ValidationError listing every problem.
 */
export class BatchValidator {
  readonly problems: FieldProblem[] = [];
  /** Some payload has `dependsOn`. */
  dependent = false;
  private refs: Map<string, number> | undefined;
  private repeatedRefs: FieldProblem[] | undefined;

  constructor(private readonly ctx: ValidationContext) {}

  /** The batch's length; throws ValidationError when it is not an array (or cannot be read). */
  static lengthOf(inputs: unknown): number {
    try {
      if (!Array.isArray(inputs)) throw new ValidationError([{ field: 'payloads', problem: 'must be an array' }]);
      return inputs.length;
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw new ValidationError([{ field: 'payloads', problem: 'could not be read (a proxy trap threw)' }]);
    }
  }

  /** The valid payload at index `i`, or undefined (its problems are recorded). `into`: as `validatePayload`'s. */
  check(inputs: readonly unknown[], i: number, into?: WritableValid): ValidPayload | undefined {
    try {
      const valid = validatePayload(inputs[i], this.ctx, undefined, into);
      if (valid.dependsOn !== undefined && valid.dependsOn.length > 0) this.dependent = true;
      if (valid.ref !== undefined) {
        const first = (this.refs ??= new Map()).get(valid.ref);
        if (first === undefined) this.refs.set(valid.ref, i);
        else (this.repeatedRefs ??= []).push({ field: `payloads[${i}].ref`, problem: `repeats ${JSON.stringify(valid.ref)}, already the ref of payload #${first}` });
      }
      return valid;
    } catch (error) {
      // Not a ValidationError: reading the element itself threw (a Proxy of an array).
      if (!(error instanceof ValidationError)) this.problems.push({ field: `payloads[${i}]`, problem: 'could not be read (a proxy trap threw)' });
      else for (const p of error.problems) this.problems.push({ field: `payloads[${i}].${p.field}`, problem: p.problem });
      return undefined;
    }
  }

  finish(): void {
    const { problems, repeatedRefs } = this;
    // With dependencies in the batch, a repeated ref is left to the dependency check, which lists it
    // with the cycles and unknown refs it finds; without, it is refused here.
    if (repeatedRefs && (problems.length > 0 || !this.dependent)) problems.push(...repeatedRefs);
    if (problems.length > 0) throw new ValidationError(problems);
  }
}

/** Validates a whole batch at once (see BatchValidator). Throws one ValidationError listing every problem. */
export function validateBatch(inputs: unknown, ctx: ValidationContext): ValidPayload[] {
  const length = BatchValidator.lengthOf(inputs);
  const validator = new BatchValidator(ctx);
  const valids: ValidPayload[] = [];
  for (let i = 0; i < length; i++) {
    const valid = validator.check(inputs as unknown[], i);
    if (valid) valids.push(valid);
  }
  validator.finish();
  return valids;
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

/** Problems quote what they were given, cut short: a 5 MB string does not belong in an error message. */
function shortened(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  return typeof value === 'string' ? JSON.stringify(shortened(value)) : typeof value;
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

/** The last instant a Date can hold (±8.64e15 ms around the epoch). */
const MAX_INSTANT_MS = 8.64e15;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})/;

export function parseTime(value: unknown, field: string, problems: Problems): number | undefined {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && ISO_DATE.test(value)) {
    // Date.parse rolls an impossible day over (2024-02-30 becomes 1 March): refuse it instead.
    const [, year, month, day] = ISO_DATE.exec(value) as unknown as [string, string, string, string];
    if (!isCalendarDate(Number(year), Number(month), Number(day))) return report(problems, field, `is not a calendar date (${describe(value)})`);
    ms = Date.parse(value);
  } else return report(problems, field, `must be a Date, epoch milliseconds or an ISO-8601 string, got ${describe(value)}`);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_INSTANT_MS) return report(problems, field, `is not a valid instant (${describe(value)})`);
  return ms;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day <= days;
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

function parseDedupe(value: unknown, problems: Problems): DedupeOptions | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return report(problems, 'dedupe', 'must be an object { key, mode, ttlMs }');
  const d = value as Record<string, unknown>;
  let ok = true;
  for (const name of Object.keys(d)) {
    if (name === 'key' || name === 'mode' || name === 'ttlMs') continue;
    report(problems, `dedupe.${shortened(name)}`, 'is not a dedupe field (key, mode, ttlMs)');
    ok = false;

  }
  const key = d.key === undefined ? report(problems, 'dedupe.key', 'is required') : optionalKey(d.key, 'dedupe.key', problems);
  const mode = d.mode;
  if (!(DEDUPE_MODES as readonly unknown[]).includes(mode)) {
    report(problems, 'dedupe.mode', `must be one of ${DEDUPE_MODES.join('|')}, got ${describe(mode)}`);
    ok = false;
  }
  const ttlMs = d.ttlMs === undefined ? report(problems, 'dedupe.ttlMs', 'is required') : integer(d.ttlMs, 'dedupe.ttlMs', 1, MAX_TIMER_MS, problems);
  if (!ok || key === undefined || ttlMs === undefined) return undefined;
  return { key, mode: mode as DedupeMode, ttlMs };
}

function parseTags(value: unknown, problems: Problems): readonly string[] | undefined {
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && t.length > 0)) {
    return report(problems, 'tags', 'must be an array of non-empty strings');
  }
  return value as string[];
}

/**
 * `data` must survive the journal unchanged, and `data` with `tags` (journalled with it) must fit in
 * `maxBytes` of JSON. The JSON form is built once; bytes are counted only near the limit.
 */
function checkSize(data: unknown, tags: readonly string[] | undefined, maxBytes: number, problems: Problems): void {
  let json: string | undefined;
  if (data !== undefined && data !== null && typeof data !== 'number' && typeof data !== 'boolean') {
    try {
      json = JSON.stringify(data);
      if (json !== undefined && typeof data === 'object' && holdsUnjournalled(data)) {
        report(problems, 'data', 'holds a function or symbol, which the journal would drop');
        return;
      }
    } catch (error) {
      report(problems, 'data', `must be JSON-serialisable (${error instanceof Error ? shortened(error.message) : 'it threw'})`);
      return;
    }
    if (json === undefined) {
      report(problems, 'data', 'must be JSON-serialisable');
      return;
    }
  }
  // Each tag is journalled as a quoted string and a comma.
  let chars = json === undefined ? 0 : json.length;
  if (tags !== undefined) for (const tag of tags) chars += tag.length + 3;
  // Length in UTF-16 units bounds the byte length from below (at most 3 bytes each); measure bytes only near the limit.
  if (chars * 3 <= maxBytes) return;
  const dataBytes = json === undefined ? 0 : Buffer.byteLength(json);
  if (dataBytes > maxBytes) {
    report(problems, 'data', `is ${dataBytes} bytes, over the limit of ${maxBytes}`);
    return;
  }
  let bytes = dataBytes;
  if (tags !== undefined) for (const tag of tags) bytes += Buffer.byteLength(tag) + 3;
  if (bytes > maxBytes) report(problems, 'tags', `make data and tags ${bytes} bytes together, over the limit of ${maxBytes}`);
}

/**
 * Whether JSON.stringify dropped something of `value` silently: a function or a symbol. Called
 * only once stringify succeeded (so there is no cycle); what has a `toJSON` is journalled as that returns.
 */
function holdsUnjournalled(value: object): boolean {
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (unjournalled(value[i])) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (unjournalled(record[key])) return true;
  return false;
}

function unjournalled(value: unknown): boolean {
  const kind = typeof value;
  if (kind === 'function' || kind === 'symbol') return true;
  return kind === 'object' && value !== null && holdsUnjournalled(value as object);
}
