/**
 * What `schedules.set` accepts: every problem found at once, each naming its field, unknown fields
 * refused. The payload is checked as a submit would check it, less the fields a schedule owns
 * (its timing and its idempotency key).
 */
import { Cron } from 'croner';
import { ValidationError, type FieldProblem } from '../errors.ts';
import type { PayloadInput, TimeInput } from '../payload.ts';
import { parseTime, validatePayload, type ValidationContext } from '../validation.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';

export interface ScheduleInput {
  /** Names the schedule; `set` with an id that exists replaces it (its cursor stays). */
  readonly id: string;
  /** Five fields (minute precision) or six (seconds first), read by croner. Exclusive with `every`. */
  readonly cron?: string;
  /** Fire every this many ms, at multiples of it since `startAt` (or the epoch). Exclusive with `cron`. */
  readonly every?: number;
  /** IANA timezone the cron pattern is read in (DST-correct). Default UTC. Only with `cron`. */
  readonly timezone?: string;
  /** What each firing submits; `runAt`, `delay`, `idempotencyKey`, `dependsOn`, `ref` and `dedupe` are the schedule's own. */
  readonly payload: PayloadInput;
  /** No tick before this instant. */
  readonly startAt?: TimeInput;
  /** No tick at or after this instant. */
  readonly endAt?: TimeInput;
  /** `skip`: no firing while the previous one is still queued or running. Default `allow`. */
  readonly overlap?: 'allow' | 'skip';
  /** Ticks missed while nothing ran: `none` dropped, `latest` the latest fired, `all` each fired. Default `latest`. */
  readonly catchUp?: 'none' | 'latest' | 'all';
}

/** A validated schedule in plain data (also actors/schedule/state.ts's ScheduleSpec). */
export interface ValidSchedule {
  readonly id: string;
  readonly cron: string | undefined;
  readonly every: number | undefined;
  readonly timezone: string | undefined;
  readonly payload: PayloadInput;
  readonly startAt: number | undefined;
  readonly endAt: number | undefined;
  readonly overlap: 'allow' | 'skip';
  readonly catchUp: 'none' | 'latest' | 'all';
}

const FIELDS = {
  id: true, cron: true, every: true, timezone: true, payload: true, startAt: true, endAt: true, overlap: true, catchUp: true,
} as const satisfies KnownFields<ScheduleInput>;
const SCHEDULE_OWNED = ['runAt', 'delay', 'idempotencyKey', 'dependsOn', 'ref', 'onDependencyFailure', 'dedupe'];
const MAX_ID_LENGTH = 200;

export function validateSchedule(input: unknown, ctx: ValidationContext): ValidSchedule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ValidationError([{ field: 'schedule', problem: 'must be an object' }]);
  const raw = input as Record<string, unknown>;
  const problems: FieldProblem[] = unknownFields(raw, FIELDS, '', 'is not a schedule field');
  const report = (field: string, problem: string): undefined => void problems.push({ field, problem });

  const id = raw.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) report('id', `must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);

  const { cron, every, timezone } = raw;
  if ((cron === undefined) === (every === undefined)) report('cron', 'exactly one of cron and every is required');
  if (cron !== undefined) {
    if (typeof cron !== 'string') report('cron', 'must be a string of five or six fields');
    else if (!cronReadable(cron)) report('cron', `is not a cron pattern of five or six fields (${JSON.stringify(cron.slice(0, 64))})`);
  }
  if (every !== undefined && (typeof every !== 'number' || !Number.isInteger(every) || every < 1 || every > 2 ** 40)) report('every', 'must be a whole number of ms ≥ 1');
  if (timezone !== undefined) {
    if (typeof timezone !== 'string' || !knownTimezone(timezone)) report('timezone', 'must be an IANA timezone name');
    else if (cron === undefined) report('timezone', 'only applies to cron');
  }

  const startAt = raw.startAt === undefined ? undefined : parseTime(raw.startAt, 'startAt', problems);
  const endAt = raw.endAt === undefined ? undefined : parseTime(raw.endAt, 'endAt', problems);
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt) report('endAt', 'must be after startAt');

  const overlap = raw.overlap ?? 'allow';
  if (overlap !== 'allow' && overlap !== 'skip') report('overlap', 'must be allow or skip');
  const catchUp = raw.catchUp ?? 'latest';
  if (catchUp !== 'none' && catchUp !== 'latest' && catchUp !== 'all') report('catchUp', 'must be none, latest or all');

  const payload = raw.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) report('payload', 'must be an object');
  else {
    for (const field of SCHEDULE_OWNED) if (field in payload) report(`payload.${field}`, 'is set by the schedule');
    try {
      validatePayload(payload, ctx);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      for (const p of error.problems) report(`payload.${p.field}`, p.problem);
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    id: id as string,
    cron: cron as string | undefined,
    every: every as number | undefined,
    timezone: timezone as string | undefined,
    // A plain JSON copy: the store keeps it, and later changes to the caller's object change nothing.
    payload: JSON.parse(JSON.stringify(payload)) as PayloadInput,
    startAt,
    endAt,
    overlap: overlap as 'allow' | 'skip',
    catchUp: catchUp as 'none' | 'latest' | 'all',
  };
}

/** A pattern read by croner, for computing runs only (paused: croner arms no timer of its own). Throws if unreadable. */
export function compileCron(pattern: string, timezone: string | undefined): Cron {
  return new Cron(pattern, { paused: true, mode: '5-or-6-parts', ...(timezone === undefined ? {} : { timezone }) });
}

function cronReadable(pattern: string): boolean {
  try {
    compileCron(pattern, undefined);
    return true;
  } catch {
    return false;
  }
}

function knownTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
