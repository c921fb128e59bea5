/**
 * Builds the scheduler on a runtime's parts: the store follows the runtime's persistence (the
 * Redis it journals to, shared by every node of a cluster; memory otherwise), firings go through
 * the ordinary submit, and each firing is a `schedule.fired` system event (lateness metric).
 */
import { Scheduler, type ScheduleView } from '../../actors/schedule/actor.ts';

export type { ScheduleView };
import type { Clock } from '../clock.ts';
import { FencedRedisEngine } from '../cluster/fenced-journal.ts';
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
  readonly validation: () => ValidationContext;
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
    fired: (firing) => wiring.events.emitSystem('schedule.fired', firing),
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
