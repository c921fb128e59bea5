/**
 * When the firings this node made start: a firing submitted ahead waits in its partition's timer
 * heap, so its lateness is measured at its handler's start, not at its acceptance. The runtime asks
 * `watches(id)` before it builds a payload's `started` event and hands this node's starts to `seen`:
 * only firings are watched (and every start while a wake is under way), so a schedule does not make
 * every other payload's start build an event. A firing whose handler starts on another node of a
 * cluster, or never (cancelled), is forgotten a minute after its tick. A firing due already may
 * start before its submit has answered: starts seen while a wake is under way are kept until the
 * wake has said which payloads were its firings.
 */
import type { ScheduleStart } from '../../src/load/system-events.ts';

export interface StartsHost {
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

  constructor(private readonly host: StartsHost) {}

  /** A wake is about to submit firings. */
  beginWake(): void {
    this.wakes++;
  }

  endWake(): void {
    if (--this.wakes > 0) return;
    this.early.clear();
  }

  /** Whether the start of payload `id` is wanted here (asked once per start: kept cheap). */
  watches(id: string): boolean {
    return this.wakes > 0 || (this.waiting.size > 0 && this.waiting.has(id));
  }

  track(schedule: string, tick: number, id: string): void {
    const at = this.early.get(id);
    if (at !== undefined) {
      this.early.delete(id);
      this.host.started({ schedule, tick, id, at });
      return;
    }
    this.waiting.set(id, { schedule, tick });
  }

  /** Forgets firings whose tick is more than a minute before `now`. */
  prune(now: number): void {
    for (const [id, firing] of this.waiting) {
      if (firing.tick >= now - FORGET_AFTER_MS) break;
      this.waiting.delete(id);
    }
  }

  stop(): void {
    this.waiting.clear();
    this.early.clear();
  }

  /** A payload started on this node at `at`. */
  seen(id: string, at: number): void {
    if (this.wakes === 0 && this.waiting.size === 0) return;
    const firing = this.waiting.get(id);
    if (!firing) {
      if (this.wakes > 0) this.early.set(id, at);
      return;
    }
    this.waiting.delete(id);
    this.host.started({ schedule: firing.schedule, tick: firing.tick, id, at });
  }
}
