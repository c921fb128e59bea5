/**
 * A schedule's ticks, as pure functions of its spec and the time: when it fires next, and which of
 * the ticks due since its cursor fire now (`catchUp`). Cron patterns are croner's (five or six
 * fields, in the schedule's timezone, DST-correct); `every` ticks are `startAt + k × every`, or
 * multiples of `every` since the epoch, so every node of a cluster computes the same instants.
 */
import type { Cron } from 'croner';
import { compileCron, type ValidSchedule } from '../../src/schedules/validate.ts';

export type ScheduleSpec = ValidSchedule;

/** What the store holds per schedule besides its cursor. */
export interface ScheduleRecord {
  readonly spec: ScheduleSpec;
  readonly paused: boolean;
}

/** A tick fired this late or less counts as on time; later it was missed, and `catchUp` decides. */
export const ON_TIME_GRACE_MS = 1_000;
/** Most missed ticks one wake fires with `catchUp: 'all'` (the latest ones). */
export const MAX_CATCH_UP = 1_000;

const compiled = new WeakMap<ScheduleSpec, Cron>();

/** The first tick strictly after `after`, within [startAt, endAt); undefined when there is none. */
export function nextTick(spec: ScheduleSpec, after: number): number | undefined {
  const from = spec.startAt !== undefined && after < spec.startAt ? spec.startAt - 1 : after;
  let tick: number | undefined;
  if (spec.every !== undefined) {
    const anchor = spec.startAt ?? 0;
    tick = anchor + (Math.floor((from - anchor) / spec.every) + 1) * spec.every;
  } else if (spec.cron !== undefined) {
    let cron = compiled.get(spec);
    if (!cron) compiled.set(spec, (cron = compileCron(spec.cron, spec.timezone)));
    tick = cron.nextRun(new Date(from))?.getTime();
  }
  if (tick === undefined || (spec.endAt !== undefined && tick >= spec.endAt)) return undefined;
  return tick;
}

/** The plan of a wake with nothing due (most wakes of a schedule fired ahead): shared, not allocated each time. */
const NONE_DUE: readonly number[] = Object.freeze([]);

export interface TickPlan {
  /** Ticks to fire now, oldest first. */
  readonly fire: readonly number[];
  /** Due ticks that will not fire (missed, and `catchUp` drops them). */
  readonly dropped: number;
  /** The new cursor: the latest due tick (the cursor itself when none is due). */
  readonly cursor: number;
}

/**
 * Which ticks in (cursor, now] fire. The latest due tick fires if it is on time; ticks missed
 * while nothing ran follow `catchUp`: `none` drops them, `latest` fires the latest one, `all`
 * fires each (at most MAX_CATCH_UP, the latest).
 */
export function planTicks(spec: ScheduleSpec, cursor: number, now: number): TickPlan {
  const due: number[] = [];
  let dropped = 0;
  if (spec.every !== undefined) {
    // Ticks older than the last MAX_CATCH_UP + 1 are only counted, not walked one by one.
    const skipTo = Math.max(cursor, now - (MAX_CATCH_UP + 2) * spec.every);
    if (skipTo > cursor) {
      const anchor = spec.startAt ?? 0;
      const first = nextTick(spec, cursor);
      const until = anchor + Math.floor((skipTo - anchor) / spec.every) * spec.every;
      if (first !== undefined && until >= first) dropped += Math.floor((until - first) / spec.every) + 1;
      cursor = Math.max(cursor, until);
    }
  }
  for (let tick = nextTick(spec, cursor); tick !== undefined && tick <= now; tick = nextTick(spec, tick)) {
    due.push(tick);
    if (due.length > MAX_CATCH_UP + 1) {
      due.shift();
      dropped++;
    }
  }
  const latest = due.at(-1);
  if (latest === undefined) return { fire: NONE_DUE, dropped: 0, cursor };
  const onTime = now - latest <= ON_TIME_GRACE_MS;
  let fire: number[];
  if (spec.catchUp === 'all') fire = due;
  else if (spec.catchUp === 'latest' || onTime) fire = [latest];
  else fire = [];
  return { fire, dropped: dropped + due.length - fire.length, cursor: latest };
}
