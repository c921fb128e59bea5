/**
 * Builds the scheduler on a runtime's parts: the store follows the runtime's persistence (the
 * Redis it journals to, shared by every node of a cluster; memory otherwise), firings go through
 * the ordinary submit (ahead of the tick by `scheduleLeadMs`), each firing is a `schedule.fired`
 * system event and its handler's start a `schedule.started` one (the lateness metric).
 */
import { Scheduler, type ScheduleView } from '../../actors/schedule/actor.ts';

export type { ScheduleView };
import type { Clock } from '../clock.ts';
import { FencedRedisEngine } from '../cluster/fenced-journal.ts';
import { OptionsError } from '../errors.ts';
import type { EventHub } from '../events.ts';
import type { Logger } from '../execution/handlers.ts';
import type { PayloadInput, PayloadStatus } from '../payload.ts';
import type { PersistenceEngine } from '../persistence/engine.ts';
import { RedisEngine } from '../persistence/redis.ts';
import { MemoryScheduleStore, RedisScheduleStore, type ScheduleStore } from '../schedules/store.ts';
import type { ScheduleInput } from '../schedules/validate.ts';
import type { ValidationContext, ValidPayload } from '../validation.ts';

/** `runtime.schedules`. */
export interface Schedules {
  /** Creates or replaces a schedule; resolves once the store has it. Throws ValidationError naming every bad field. */
  set(input: ScheduleInput): Promise<ScheduleView>;
  get(id: string): ScheduleView | undefined;
  /** Every schedule, by id, with its next fire time. */
  list(): ScheduleView[];
  /** Resolves false when there was no such schedule. */
  remove(id: string): Promise<boolean>;
  /** Stops firing until resumed; throws UnknownScheduleError (`UNKNOWN_SCHEDULE`). */
  pause(id: string): Promise<ScheduleView>;
  /** Fires again from now on (ticks due while paused are not fired). */
  resume(id: string): Promise<ScheduleView>;
}

export interface ScheduleWiring {
  readonly engine: PersistenceEngine;
  readonly clustered: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventHub;
  readonly ready: () => Promise<void>;
  readonly submit: (input: PayloadInput) => Promise<string>;
  readonly submitValidated: (valids: readonly ValidPayload[]) => Promise<string[]>;
  readonly status: (id: string) => Promise<PayloadStatus | undefined>;
  readonly cancel: (id: string) => Promise<boolean>;
  readonly validation: () => ValidationContext;
  /** The runtime's `scheduleLeadMs`, compiled. */
  readonly leadMs: number;
}

/** How long before its tick a schedule's payload is submitted by default, ms. */
export const DEFAULT_SCHEDULE_LEAD_MS = 200;

/** `scheduleLeadMs`: a whole number of ms in [0, 60,000]; default 200. */
export function compileScheduleLead(raw: unknown): number {
  if (raw === undefined) return DEFAULT_SCHEDULE_LEAD_MS;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > 60_000) throw new OptionsError([{ field: 'scheduleLeadMs', problem: 'must be a whole number of ms between 0 and 60000' }]);
  return raw;
}

/** How often a cluster node reads the schedules again for what other nodes changed, ms. */
const CLUSTER_REFRESH_MS = 1_000;

export function scheduleStoreOf(engine: PersistenceEngine): ScheduleStore {
  const redis = engine instanceof FencedRedisEngine ? engine.inner : engine instanceof RedisEngine ? engine : undefined;
  return redis ? new RedisScheduleStore(redis.connection, redis.keys.prefix) : new MemoryScheduleStore();
}

export function buildScheduler(wiring: ScheduleWiring): { scheduler: Scheduler; api: Schedules } {
  const scheduler = new Scheduler({
    clock: wiring.clock,
    store: scheduleStoreOf(wiring.engine),
    logger: wiring.logger,
    submit: wiring.submit,
    submitValidated: wiring.submitValidated,
    status: wiring.status,
    cancel: wiring.cancel,
    leadMs: wiring.leadMs,
    fired: (firing) => wiring.events.emitSystem('schedule.fired', firing),
    started: (start) => wiring.events.emitSystem('schedule.started', start),
    validation: wiring.validation,
    refreshMs: wiring.clustered ? CLUSTER_REFRESH_MS : undefined,
  });
  // Changes wait for the boot: the store must be read before a declaration can keep its cursor.
  const api: Schedules = {
    set: (input) => wiring.ready().then(() => scheduler.set(input)),
    get: (id) => scheduler.get(id),
    list: () => scheduler.list(),
    remove: (id) => wiring.ready().then(() => scheduler.remove(id)),
    pause: (id) => wiring.ready().then(() => scheduler.pause(id)),
    resume: (id) => wiring.ready().then(() => scheduler.resume(id)),
  };
  return { scheduler, api };
}
