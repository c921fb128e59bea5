/**
 * Time is injected: the runtime never calls Date.now or setTimeout directly, so aging, timers,
 * timeouts and backoff are tested deterministically with a SimulatedClock.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (may be fractional). */
  now(): number;
  /**
   * Runs `fn` once `ms` have passed on this clock, never before. `precise`: as close to the instant
   * as the clock can (a payload's timer); without it a timer may be a millisecond or two late.
   */
  setTimer(ms: number, fn: () => void, precise?: boolean): TimerHandle;
}

/** Longest delay setTimeout honours; Node turns a longer one into 1 ms. */
const MAX_TIMEOUT_MS = 2_147_483_647;

const hrNow = (): number => performance.timeOrigin + performance.now();

interface Settling {
  readonly at: number;
  readonly fn: () => void;
  /** Re-arms the timer for a millisecond: the fallback once the spin budget is spent. */
  readonly later: () => void;
}

/**
 * The last stretch before a timer's instant, waited out on the next turns of the event loop. Node
 * counts a timeout from its loop's whole-millisecond time and wakes from epoll in whole
 * milliseconds, so a bare setTimeout fires up to a millisecond early or 1–3 ms late (measured on
 * an idle process). A timer whose timeout fired early waits out the rest here; a precise one is
 * armed LEAD_MS early and waits out the last stretch, so it fires within a fraction of a
 * millisecond of its instant (and never before it). One immediate serves them all, and timers due
 * at the same instant (every partition's wake for one tick) run in one callback.
 *
 * Waiting keeps the loop turning with nothing else to do: a core's worth while it lasts. Timers
 * falling due every millisecond (a flood of delayed payloads) would keep it turning for good, so it
 * may take SPIN_BUDGET_MS of each second; past that a timer is re-armed for a millisecond instead,
 * later than its instant but never before it.
 */
const settling = new Set<Settling>();
let spinning = false;
const SPIN_BUDGET_MS = 20;
const LEAD_MS = 2;
let windowStart = 0;
let spent = 0;
let spinningSince = 0;
/** The soonest instant among `settling` (or earlier, after a cancel): turns before it neither scan nor allocate. */
let earliest = Infinity;

function budgetLeft(now: number): boolean {
  if (now - windowStart >= 1_000) {
    windowStart = now;
    spent = 0;
    if (spinning) spinningSince = now;
  }
  return spent + (spinning ? now - spinningSince : 0) < SPIN_BUDGET_MS;
}

function settle(timer: Settling): void {
  if (!budgetLeft(hrNow())) return timer.later();
  settling.add(timer);
  if (timer.at < earliest) earliest = timer.at;
  if (spinning) return;
  spinning = true;
  spinningSince = hrNow();
  setImmediate(spin);
}

function spin(): void {
  const now = hrNow();
  if (now < earliest && settling.size > 0 && budgetLeft(now)) return void setImmediate(spin);
  let due: Settling[] | undefined;
  earliest = Infinity;
  for (const timer of settling) {
    if (timer.at <= now) (due ??= []).push(timer);
    else if (timer.at < earliest) earliest = timer.at;
  }
  if (due) for (const timer of due) settling.delete(timer);
  if (settling.size > 0 && budgetLeft(now)) setImmediate(spin);
  else {
    spent += now - spinningSince;
    spinning = false;
    for (const timer of settling) timer.later();
    settling.clear();
    earliest = Infinity;
  }
  if (!due) return;
  for (const timer of due) {
    try {
      timer.fn();
    } catch (error) {
      // Surfaces as uncaught, as a throwing timeout does, once the other due timers ran.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

export const systemClock: Clock = {
  now: hrNow,
  setTimer(ms, fn, precise = false) {
    // Never early: the timeout (armed `lead` short of the instant) is re-armed while more is left
    // (also a runAt past setTimeout's range, weeks ahead); the last stretch is waited out by `settle`.
    const lead = precise ? LEAD_MS : 1;
    let handle: ReturnType<typeof setTimeout> | undefined;
    const check = (): void => {
      handle = undefined;
      const left = timer.at - hrNow();
      if (left <= 0) fn();
      else if (left < lead) settle(timer);
      else handle = setTimeout(check, Math.min(precise ? left - LEAD_MS : left, MAX_TIMEOUT_MS));
    };
    const timer: Settling = { at: hrNow() + Math.max(0, ms), fn, later: () => void (handle = setTimeout(check, 1)) };
    if (precise && ms > 0 && ms < lead) settle(timer);
    else handle = setTimeout(check, Math.min(Math.max(0, precise ? ms - LEAD_MS : ms), MAX_TIMEOUT_MS));
    return {
      cancel: () => {
        if (handle !== undefined) clearTimeout(handle);
        settling.delete(timer);
      },
    };
  },
};

interface PendingTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to; timers fire in due order during `advance`. */
export class SimulatedClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Pending (not cancelled) timers, for assertions. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.nextDue(target);
      if (!due) break;
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = target;
  }

  private nextDue(limit: number): PendingTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    if (best) best.cancelled = true;
    return best;
  }
}
