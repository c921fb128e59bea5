/**
 * When the firings this node made start: a firing submitted ahead waits in its partition's timer
 * heap, so its lateness is measured at its handler's start, not at its acceptance. The payloads'
 * `started` events are listened to only while a firing waits for its start (so a runtime without
 * schedules builds no such event for them); a firing whose handler starts on another node of a
 * cluster, or never (cancelled), is forgotten a minute after its tick. A firing due already may
 * start before its submit has answered: starts seen while a wake is under way are kept until the
 * wake has said which payloads were its firings.
 */
import type { ScheduleStart } from '../../src/load/system-events.ts';

export interface StartsHost {
  /** Subscribes to this node's payload starts; returns the unsubscribe. */
  onStarted(listener: (id: string, at: number) => void): () => void;
  started(start: ScheduleStart): void;
}

/** A firing not seen starting this long after its tick is forgotten, ms. */
const FORGET_AFTER_MS = 60_000;

export class FiringStarts {
  /** Payload id → its firing, in the order fired (so ticks grow along it, near enough to prune from the front). */
  private readonly waiting = new Map<string, { readonly schedule: string; readonly tick: number }>();
  /** Starts of payloads not known as firings yet, seen while a wake is under way. */
  private readonly early = new Map<string, number>();
  private wakes = 0;
  private off: (() => void) | undefined;

  constructor(private readonly host: StartsHost) {}

  /** A wake is about to submit firings. */
  beginWake(): void {
    this.wakes++;
    this.subscribe();
  }

  endWake(): void {
    if (--this.wakes > 0) return;
    this.early.clear();
    this.unsubscribeIfIdle();
  }

  track(schedule: string, tick: number, id: string): void {
    const at = this.early.get(id);
    if (at !== undefined) {
      this.early.delete(id);
      this.host.started({ schedule, tick, id, at });
      return;
    }
    this.waiting.set(id, { schedule, tick });
    this.subscribe();
  }

  /** Forgets firings whose tick is more than a minute before `now`. */
  prune(now: number): void {
    for (const [id, firing] of this.waiting) {
      if (firing.tick >= now - FORGET_AFTER_MS) break;
      this.waiting.delete(id);
    }
    this.unsubscribeIfIdle();
  }

  stop(): void {
    this.waiting.clear();
    this.early.clear();
    this.off?.();
    this.off = undefined;
  }

  private seen(id: string, at: number): void {
    const firing = this.waiting.get(id);
    if (!firing) {
      if (this.wakes > 0) this.early.set(id, at);
      return;
    }
    this.waiting.delete(id);
    this.host.started({ schedule: firing.schedule, tick: firing.tick, id, at });
    this.unsubscribeIfIdle();
  }

  private subscribe(): void {
    this.off ??= this.host.onStarted((startedId, at) => this.seen(startedId, at));
  }

  private unsubscribeIfIdle(): void {
    if (this.waiting.size > 0 || this.wakes > 0 || !this.off) return;
    this.off();
    this.off = undefined;
  }
}
