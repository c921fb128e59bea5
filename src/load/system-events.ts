/**
 * Engine-level events: what the coordinator decided and why, and slots found stuck. They are not
 * about one payload, so they travel apart from payload events (`EventHub.on('coordinator.decision')`).
 */
import type { Tier } from '../payload.ts';
import type { LoadLevel, LoadSignals } from './levels.ts';

export type DecisionAction =
  | 'level' | 'degrade' | 'restore' | 'elevate' | 'unelevate' | 'transfer' | 'scale' | 'pin' | 'release'
  | 'makeup' | 'expire' | 'throttle';

/** One decision, with the reason in words and the numbers behind it. */
export interface Decision {
  readonly at: number;
  readonly action: DecisionAction;
  /** The load level when it was taken (after it, for `level`). */
  readonly level: LoadLevel;
  readonly reason: string;
  /** degrade / restore / elevate / transfer: the tier concerned. */
  readonly tier?: Tier;
  /** degrade: `degrade` or `skip`. */
  readonly mode?: 'degrade' | 'skip';
  /** elevate / unelevate / transfer (source): the partition concerned. */
  readonly partition?: number;
  /** transfer: the receiving partition. */
  readonly to?: number;
  /** transfer / makeup / expire: how many payloads. */
  readonly count?: number;
  /** scale: the new pool size; throttle: the new limit (undefined = unlimited). */
  readonly size?: number;
  /** level: the previous level. */
  readonly from?: LoadLevel;
  /** level: the signals it was decided on. */
  readonly signals?: LoadSignals;
}

/** A handler still running past its timeout plus grace: its slot was replaced. */
export interface StuckReport {
  readonly at: number;
  readonly slot: number;
  readonly id: string;
  readonly handlerType: string;
  readonly partition: number;
  readonly startedAt: number;
  readonly timeout: number;
}

/** A schedule's tick submitted (by this node, which moved the schedule's cursor to it). */
export interface ScheduleFiring {
  readonly schedule: string;
  /** The instant the tick was due, epoch ms. */
  readonly tick: number;
  /** The payload the tick submitted. */
  readonly id: string;
  /** When its submit was accepted (its partition took it), epoch ms; before `tick` when it was submitted ahead. */
  readonly at: number;
  /** When it was handed to submit, epoch ms (with the other firings of its instant, as one batch). */
  readonly submittedAt: number;
}

/** A schedule firing's handler started (on this node, for a firing this node made). */
export interface ScheduleStart {
  readonly schedule: string;
  /** The instant the tick was due, epoch ms. */
  readonly tick: number;
  readonly id: string;
  /** When its first attempt started, epoch ms; `at − tick` is the firing's lateness. */
  readonly at: number;
}

export interface SystemEventMap {
  readonly 'coordinator.decision': Decision;
  readonly 'pool.stuck': StuckReport;
  readonly 'schedule.fired': ScheduleFiring;
  readonly 'schedule.started': ScheduleStart;
}
export type SystemEventType = keyof SystemEventMap;
