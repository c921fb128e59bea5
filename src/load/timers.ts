/**
 * Timers for background watching (coordinator rounds, ledger deadlines, stuck-slot checks). On the
 * system clock they are unref'd unless kept alive: watching must never keep a process alive that
 * has nothing else to do (a runtime abandoned without `stop()`, a crash test), but accepted work
 * waiting for it (payloads in the ledger) must, as a delayed payload's timer does. Other clocks are
 * used as given.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';

export interface BackgroundTimer extends TimerHandle {
  /** Whether the timer keeps the process alive (system clock only). */
  keepAlive(alive: boolean): void;
}

export function backgroundTimer(clock: Clock, ms: number, fn: () => void, keepAlive = false): BackgroundTimer {
  if (clock !== systemClock) {
    const handle = clock.setTimer(ms, fn);
    return { cancel: () => handle.cancel(), keepAlive() {} };
  }
  const handle = setTimeout(fn, Math.min(2_147_483_647, Math.max(0, ms)));
  if (!keepAlive) handle.unref();
  return {
    cancel: () => clearTimeout(handle),
    keepAlive: (alive) => void (alive ? handle.ref() : handle.unref()),
  };
}
