/**
 * Execution slots as objects with their own statistics, for inspection and stuck detection. The
 * pool's capacity accounting (how many may run) stays a set of counters in pool.ts; a slot object is
 * taken when a run launches and returned when it ends. A run that times out leaves its slot
 * *detached*: the capacity is handed on at once (a replacement), the old slot stays listed until
 * its handler settles, and if it has not settled after the grace period it is marked `stuck`.
 */
export type SlotState = 'idle' | 'running' | 'detached' | 'stuck';

export interface SlotStats {
  readonly id: number;
  readonly state: SlotState;
  readonly completed: number;
  readonly failed: number;
  /** Mean wall time of the runs it finished, ms (0 before the first). */
  readonly meanRunMs: number;
  /** When it last started or finished a run (0 if never). */
  readonly lastActiveAt: number;
  /** Payload running in it, if any. */
  readonly current: string | undefined;
}

export class Slot {
  state: SlotState = 'idle';
  completed = 0;
  failed = 0;
  totalRunMs = 0;
  lastActiveAt = 0;
  current: string | undefined = undefined;
  constructor(readonly id: number) {}
}

export class SlotTable {
  private readonly idle: Slot[] = [];
  private readonly all = new Map<number, Slot>();
  private nextId = 1;
  private stuckTotal = 0;

  /** An idle slot for a run starting now (a new one when none is idle). */
  acquire(id: string, now: number): Slot {
    let slot = this.idle.pop();
    if (!slot) {
      slot = new Slot(this.nextId++);
      this.all.set(slot.id, slot);
    }
    slot.state = 'running';
    slot.current = id;
    slot.lastActiveAt = now;
    return slot;
  }

  /** The run ended (`ok` undefined: cancelled, counted as neither). */
  release(slot: Slot, ok: boolean | undefined, runMs: number, now: number): void {
    if (ok === true) slot.completed++;
    else if (ok === false) slot.failed++;
    if (ok !== undefined) slot.totalRunMs += runMs;
    slot.lastActiveAt = now;
    slot.current = undefined;
    if (slot.state === 'running') {
      slot.state = 'idle';
      this.idle.push(slot);
    } else {
      this.all.delete(slot.id); // a detached or stuck slot was replaced: it leaves once its handler settles
    }
  }

  /** The run timed out: its capacity is reused at once, the slot waits for its handler to settle. */
  detach(slot: Slot, now: number): void {
    slot.failed++;
    slot.lastActiveAt = now;
    slot.state = 'detached';
  }

  /** Still not settled after the grace period. */
  markStuck(slot: Slot): boolean {
    if (slot.state !== 'detached') return false;
    slot.state = 'stuck';
    this.stuckTotal++;
    return true;
  }

  /** Drops idle slots beyond `size` (after the pool shrank). */
  trim(size: number): void {
    while (this.idle.length > size) {
      const slot = this.idle.shift() as Slot;
      this.all.delete(slot.id);
    }
  }

  /** Slots found stuck so far. */
  get stuck(): number {
    return this.stuckTotal;
  }

  /** Slots whose handler is stuck now. */
  get stuckNow(): number {
    let n = 0;
    for (const slot of this.all.values()) if (slot.state === 'stuck') n++;
    return n;
  }

  stats(): SlotStats[] {
    return [...this.all.values()].map((s) => ({
      id: s.id,
      state: s.state,
      completed: s.completed,
      failed: s.failed,
      meanRunMs: s.completed + s.failed === 0 ? 0 : s.totalRunMs / (s.completed + s.failed),
      lastActiveAt: s.lastActiveAt,
      current: s.current,
    }));
  }
}
