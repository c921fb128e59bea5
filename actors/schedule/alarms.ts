/**
 * One clock timer per instant, shared by every schedule due at it: a thousand schedules ticking on
 * the same second arm one timer, not a thousand, and are woken together (one batch of firings).
 */
import type { Clock, TimerHandle } from '../../src/clock.ts';

interface Slot {
  readonly ids: Set<string>;
  readonly timer: TimerHandle;
}

/**
 * One schedule's place at an instant. A plain object with the method on its prototype: a thousand
 * schedules re-armed every second allocate one small object each, no closure.
 */
class Alarm implements TimerHandle {
  constructor(
    private readonly alarms: Alarms,
    private readonly at: number,
    private readonly slot: Slot,
    private readonly id: string,
  ) {}

  cancel(): void {
    this.alarms.drop(this.at, this.slot, this.id);
  }
}

export class Alarms {
  private readonly due = new Map<number, Slot>();

  constructor(private readonly clock: Clock, private readonly ring: (ids: string[]) => void) {}

  /** Rings `id` at `at` (epoch ms; at once if past). */
  set(at: number, id: string): TimerHandle {
    let slot = this.due.get(at);
    if (!slot) {
      const ids = new Set<string>();
      const timer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
        this.due.delete(at);
        if (ids.size > 0) this.ring([...ids]);
      });
      this.due.set(at, (slot = { ids, timer }));
    }
    slot.ids.add(id);
    return new Alarm(this, at, slot, id);
  }

  /** `id` no longer rings with `slot`; the slot's timer goes with its last id. */
  drop(at: number, slot: Slot, id: string): void {
    if (!slot.ids.delete(id) || slot.ids.size > 0) return;
    slot.timer.cancel();
    if (this.due.get(at) === slot) this.due.delete(at);
  }
}
