/**
 * One clock timer per instant, shared by every schedule due at it: a thousand schedules ticking on
 * the same second arm one timer, not a thousand, and are woken together (one batch of firings).
 */
import type { Clock, TimerHandle } from '../../src/clock.ts';

export class Alarms {
  private readonly due = new Map<number, { readonly ids: Set<string>; readonly timer: TimerHandle }>();

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
    const { ids, timer } = slot;
    return {
      cancel: () => {
        if (!ids.delete(id) || ids.size > 0) return;
        timer.cancel();
        if (this.due.get(at)?.ids === ids) this.due.delete(at);
      },
    };
  }
}
