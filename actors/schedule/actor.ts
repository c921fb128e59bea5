/**
 * The scheduler: each schedule armed for its next tick on the injected clock (schedules due at
 * the same instant share one timer, `alarms.ts`, and are woken as one batch, `firing.ts`). A wake
 * reads the schedules' cursors from the store, fires what `planTicks` says is due — each tick a
 * submit with the idempotency key `schedule:<id>:<tick>` — and moves each cursor past its tick once
 * the submit was accepted. Every node of a cluster runs the same timers: whichever gets there first
 * submits, another that raced it submits the same key and gets the same payload back, and one
 * that comes later finds the cursor already past the tick. A crash between the submit and the
 * cursor repeats the submit after recovery, which the key answers with the first payload.
 *
 * Schedules fire ahead (`leadMs`, firing.ts): their alarm rings that long before the tick, whose
 * payload waits in its partition's timer heap. Removing, pausing or replacing a schedule cancels
 * such a firing before it starts: the one in the store (the cursor past now, its payload beside it,
 * whichever node submitted it) and this node's own.
 *
 * Not a nact actor: its work is all timers and store round trips, and its map is touched only from
 * its own callbacks, one wake per schedule at a time.
 */
import type { Clock, TimerHandle } from '../../src/clock.ts';
import { UnknownScheduleError } from '../../src/errors.ts';
import type { Logger } from '../../src/execution/handlers.ts';
import type { ScheduleFiring, ScheduleStart } from '../../src/load/system-events.ts';
import type { PayloadInput, PayloadStatus } from '../../src/payload.ts';
import type { SchedulePosition, ScheduleStore } from '../../src/schedules/store.ts';
import { validateSchedule, type ScheduleInput } from '../../src/schedules/validate.ts';
import type { ValidationContext, ValidPayload } from '../../src/validation.ts';
import { Alarms } from './alarms.ts';
import { decodeSchedule, encodeSchedule } from './codec.ts';
import { cancelFiring, fireDue, leadOf, type AheadFiring } from './firing.ts';
import { FiringStarts } from './starts.ts';
import { nextTick, type ScheduleRecord, type ScheduleSpec } from './state.ts';

export interface SchedulerHost {
  readonly clock: Clock;
  readonly store: ScheduleStore;
  readonly logger: Logger;
  submit(input: PayloadInput): Promise<string>;
  /** Many payloads validated already, sent in slices; rejects as a whole when one is refused. */
  submitValidated(valids: readonly ValidPayload[]): Promise<string[]>;
  /** A payload's status, for `overlap: 'skip'`; undefined when unknown. */
  status(id: string): Promise<PayloadStatus | undefined>;
  fired(firing: ScheduleFiring): void;
  /** A firing's handler started (its first attempt, on this node). */
  started(start: ScheduleStart): void;
  /** Cancels a payload that has not started (a firing submitted ahead); resolves false if it had. */
  cancel(id: string): Promise<boolean>;
  /** How long before its tick a schedule fires (`overlap: 'allow'` ones), ms. */
  readonly leadMs: number;
  validation(): ValidationContext;
  /** How often the store is read again for changes other nodes made; undefined: never (one process). */
  readonly refreshMs: number | undefined;
}

/** What `schedules.get` and `list` return. */
export interface ScheduleView extends ScheduleSpec {
  readonly paused: boolean;
  /** The next tick not yet due (it may be submitted ahead already), epoch ms; undefined while paused or after `endAt`. */
  readonly nextAt: number | undefined;
  /** The latest tick dealt with (fired, also ahead of its time, or dropped by catchUp/overlap), epoch ms. */
  readonly lastTick: number;
  /** The payload the latest firing submitted. */
  readonly lastId: string | undefined;
}

interface Entry {
  record: ScheduleRecord;
  body: string;
  cursor: number;
  last: string | undefined;
  ahead: AheadFiring | undefined;
  timer: TimerHandle | undefined;
  nextAt: number | undefined;
  waking: boolean;
  again: boolean;
}

/** Pause before a wake that failed (store away, submit refused) is tried again, ms. */
const RETRY_MS = 1_000;

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private running = false;
  private refreshTimer: TimerHandle | undefined;
  /** Bumped by each local change, so a refresh read before it does not undo it. */
  private changes = 0;
  /** Wakes that failed (and were tried again), for inspection. */
  failures = 0;
  /** Wakes under way, and who waits for there to be none (`runtime.idle`). */
  private inflight = 0;
  private settledWaiters: (() => void)[] = [];

  private readonly alarms: Alarms;
  private readonly starts: FiringStarts;
  /** The host as firings see it: each firing reported is also watched for its start. */
  private readonly firingHost: SchedulerHost;

  constructor(private readonly host: SchedulerHost) {
    this.alarms = new Alarms(host.clock, (ids) => void this.wakeAll(ids));
    this.starts = new FiringStarts(host);
    this.firingHost = {
      ...host,
      fired: (firing) => {
        this.starts.track(firing.schedule, firing.tick, firing.id);
        host.fired(firing);
      },
    };
  }

  /** At boot: what the store holds. */
  async load(): Promise<void> {
    this.adopt(await this.host.store.load());
  }

  /** Arms every schedule (firing what is due: catch-up after a restart). */
  start(): void {
    this.running = true;
    void this.wakeAll([...this.entries.keys()]);
    this.scheduleRefresh();
  }

  /** Whether payload `id`'s start is wanted (a firing of this node's, or any start while a wake is under way). */
  watchesStart(id: string): boolean {
    return this.starts.watches(id);
  }

  /** A payload started on one of this node's partitions. */
  sawStart(id: string, at: number): void {
    this.starts.seen(id, at);
  }

  /** Wakes under way (store round trips and submits not yet answered). */
  get busy(): number {
    return this.inflight;
  }

  /** Resolves once no wake is under way. */
  whenSettled(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  stop(): void {
    this.running = false;
    this.refreshTimer?.cancel();
    for (const entry of this.entries.values()) entry.timer?.cancel();
    this.starts.stop();
  }

  async set(input: ScheduleInput): Promise<ScheduleView> {
    const spec = validateSchedule(input, this.host.validation());
    // Declaring a schedule again (every node at every start) neither moves its cursor nor resumes it.
    const record: ScheduleRecord = { spec, paused: this.entries.get(spec.id)?.record.paused ?? false };
    const body = encodeSchedule(record);
    this.changes++;
    await this.host.store.put(spec.id, body, this.host.clock.now(), 'ifAbsent');
    const [stored] = await this.host.store.positions([spec.id]);
    await this.replace(spec.id, record, body, stored?.cursor ?? this.host.clock.now(), stored?.last);
    return this.view(spec.id) as ScheduleView;
  }

  get(id: string): ScheduleView | undefined {
    return this.view(id);
  }

  list(): ScheduleView[] {
    return [...this.entries.keys()].sort().map((id) => this.view(id) as ScheduleView);
  }

  async remove(id: string): Promise<boolean> {
    this.changes++;
    const removed = await this.host.store.remove(id);
    const entry = this.entries.get(id);
    entry?.timer?.cancel();
    this.entries.delete(id);
    await this.cancelAhead(removed, entry);
    return removed !== undefined || entry !== undefined;
  }

  async pause(id: string): Promise<ScheduleView> {
    return this.setPaused(id, true);
  }

  /** Ticks that fell due while paused are not fired: the cursor moves to now. */
  async resume(id: string): Promise<ScheduleView> {
    return this.setPaused(id, false);
  }

  private async setPaused(id: string, paused: boolean): Promise<ScheduleView> {
    const entry = this.entries.get(id);
    if (!entry) throw new UnknownScheduleError(id);
    const record: ScheduleRecord = { spec: entry.record.spec, paused };
    const body = encodeSchedule(record);
    const now = this.host.clock.now();
    this.changes++;
    await this.host.store.put(id, body, paused ? 0 : now, 'atLeast');
    await this.replace(id, record, body, paused ? entry.cursor : Math.max(entry.cursor, now), entry.last);
    return this.view(id) as ScheduleView;
  }

  /**
   * Resolves once the new entry's first wake has armed it (or fired what was due). A changed
   * schedule (spec or paused) first cancels a firing submitted ahead under the old one; the tick it
   * was for counts as dealt with, so the new one fires from the tick after it.
   */
  private async replace(id: string, record: ScheduleRecord, body: string, cursor: number, last: string | undefined): Promise<void> {
    const old = this.entries.get(id);
    old?.timer?.cancel();
    const changed = old !== undefined && old.body !== body;
    const entry: Entry = { record, body, cursor: Math.max(cursor, old?.cursor ?? -Infinity), last: last ?? old?.last, ahead: changed ? undefined : old?.ahead, timer: undefined, nextAt: undefined, waking: false, again: false };
    this.entries.set(id, entry);
    if (changed) {
      const [stored] = await this.host.store.positions([id]);
      await this.cancelAhead(stored, old);
    }
    if (this.running && this.entries.get(id) === entry) await this.wake(id);
  }

  /** Cancels the firing submitted ahead of a tick not yet due: the store's (any node's) and `entry`'s own. */
  private async cancelAhead(stored: SchedulePosition | undefined, entry: { ahead: AheadFiring | undefined } | undefined): Promise<void> {
    const now = this.host.clock.now();
    const ids = new Set<string>();
    if (stored?.last !== undefined && stored.cursor > now) ids.add(stored.last);
    if (entry?.ahead && entry.ahead.tick > now) ids.add(entry.ahead.id);
    if (entry) entry.ahead = undefined;
    await Promise.all([...ids].map((payload) => cancelFiring(this.host, payload)));
  }

  /** Takes in stored schedules: new and changed ones replace what is here, missing ones go. */
  private adopt(rows: Awaited<ReturnType<ScheduleStore['load']>>): void {
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      if (this.entries.get(row.id)?.body === row.body) continue;
      let record: ScheduleRecord;
      try {
        record = decodeSchedule(row.body, this.host.clock.now());
      } catch (error) {
        this.host.logger.error('a stored schedule cannot be read; it is left alone', { schedule: row.id, error: String(error) });
        continue;
      }
      void this.replace(row.id, record, row.body, row.cursor, row.last);
    }
    for (const [id, entry] of this.entries) {
      if (seen.has(id)) continue;
      entry.timer?.cancel();
      this.entries.delete(id);
      void this.cancelAhead(undefined, entry);
    }
  }

  private scheduleRefresh(): void {
    const every = this.host.refreshMs;
    if (every === undefined || !this.running) return;
    this.refreshTimer = this.host.clock.setTimer(every, () => {
      const before = this.changes;
      this.host.store.load().then(
        (rows) => void (before === this.changes && this.running && this.adopt(rows)),
        (error: unknown) => this.host.logger.warn('schedules could not be read from the store', { error: String(error) }),
      ).finally(() => this.scheduleRefresh());
    });
  }

  private wake(id: string): Promise<void> {
    return this.wakeAll([id]);
  }

  /** Fires what is due for `ids` as one batch, then arms each for its next tick. */
  private async wakeAll(ids: readonly string[]): Promise<void> {
    if (!this.running) return;
    const batch: Array<[string, Entry]> = [];
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      if (entry.waking) {
        entry.again = true;
        continue;
      }
      entry.waking = true;
      entry.timer?.cancel();
      entry.timer = undefined;
      batch.push([id, entry]);
    }
    if (batch.length === 0) return;
    this.inflight++;
    this.starts.beginWake();
    // Ticks are judged at the instant of the wake, not after the store answered.
    const now = this.host.clock.now();
    this.starts.prune(now);
    let failed: ReadonlySet<string>;
    try {
      const result = await fireDue(this.firingHost, batch.filter(([, entry]) => !entry.record.paused), now);
      for (const id of result.removed) this.entries.delete(id); // removed on another node
      failed = result.failed;
      if (failed.size > 0) this.failures++;
      // Removed, paused or changed while this wake submitted ahead: those firings must not start
      // (cancelled while the wake still counts as under way, so `idle` waits for it).
      const stale: Entry[] = [];
      for (const [id, entry] of batch) {
        const current = this.entries.get(id);
        if (current === entry) continue;
        if (current?.body !== entry.body) stale.push(entry);
        else current.ahead ??= entry.ahead;
      }
      await Promise.all(stale.map((entry) => this.cancelAhead(undefined, entry)));
    } catch (error) {
      failed = new Set(batch.map(([id]) => id));
      this.failures++;
      if (this.running) this.host.logger.warn('schedules could not fire; trying again', { schedules: batch.length, error: String(error) });
    } finally {
      this.starts.endWake();
      for (const [, entry] of batch) entry.waking = false;
      if (--this.inflight === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
    }
    if (!this.running) return;
    const again: string[] = [];
    for (const [id, entry] of batch) {
      if (this.entries.get(id) !== entry) continue;
      if (entry.again) {
        entry.again = false;
        again.push(id);
      } else this.arm(id, entry, failed.has(id));
    }
    if (again.length > 0) return this.wakeAll(again);
  }

  private arm(id: string, entry: Entry, retry: boolean): void {
    const now = this.host.clock.now();
    entry.nextAt = entry.record.paused ? undefined : nextTick(entry.record.spec, entry.cursor);
    if (entry.nextAt === undefined) return;
    const ringAt = entry.nextAt - leadOf(entry.record.spec, this.host.leadMs);
    entry.timer = retry ? this.host.clock.setTimer(RETRY_MS, () => void this.wake(id)) : this.alarms.set(Math.max(ringAt, now), id);
  }

  private view(id: string): ScheduleView | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    // A tick submitted ahead is the cursor already, but not yet due.
    const ahead = entry.cursor > this.host.clock.now() ? entry.cursor : undefined;
    const nextAt = entry.record.paused ? undefined : ahead ?? entry.nextAt ?? nextTick(entry.record.spec, entry.cursor);
    return { ...entry.record.spec, paused: entry.record.paused, nextAt, lastTick: entry.cursor, lastId: entry.last };
  }
}
