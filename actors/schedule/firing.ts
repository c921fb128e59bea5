/**
 * One wake of the scheduler, for every schedule due at that instant at once: their cursors read in
 * one store round trip, their due ticks planned, every firing submitted through `submitMany` in
 * bounded slices, and every cursor moved in one more round trip. A thousand schedules ticking on
 * the same second are then one batch, not a thousand submits one after another (which made the
 * thousandth tick wait for the 999 before it).
 *
 * A schedule whose firing was refused keeps its cursor before that tick and is woken again later;
 * the others of the batch are not held back by it.
 *
 * Fired ahead: a wake `leadMs` before an instant also submits the tick due within that lead, as a
 * delayed payload (`runAt` = the tick) with the same key, so the partition's timer heap starts it
 * on time however long the wake itself took. `overlap: 'skip'` schedules are not fired ahead: whether
 * the previous firing still runs is decided at the tick.
 */
import type { PayloadInput, PayloadStatus } from '../../src/payload.ts';
import type { CursorMove } from '../../src/schedules/store.ts';
import { validatePayload, type ValidPayload } from '../../src/validation.ts';
import { nextTick, planTicks, type ScheduleRecord, type ScheduleSpec } from './state.ts';
import type { SchedulerHost } from './actor.ts';

/** What firing needs of a schedule's entry; the wake changes `cursor` and `last` in place. */
export interface FiringEntry {
  readonly record: ScheduleRecord;
  cursor: number;
  last: string | undefined;
  /** The firing this node submitted ahead of its tick (to cancel it if the schedule changes before it starts). */
  ahead: AheadFiring | undefined;
}

export interface AheadFiring {
  readonly tick: number;
  readonly id: string;
}

/** How far ahead of its tick a schedule fires: not at all for `overlap: 'skip'`. */
export function leadOf(spec: ScheduleSpec, leadMs: number): number {
  return spec.overlap === 'skip' ? 0 : leadMs;
}

/** Firings handed to one `submitMany` (it validates and sends in slices of its own). */
export const SUBMIT_SLICE = 2_000;
const ENDED: ReadonlySet<PayloadStatus> = new Set(['completed', 'failed', 'cancelled', 'skipped', 'expired']);

interface Firing {
  readonly id: string;
  readonly entry: FiringEntry;
  readonly tick: number;
}

/**
 * Fires what is due at `now` for each `[id, entry]`. Returns the ids of schedules whose firing was
 * refused (to be tried again) and those the store no longer holds (removed on another node).
 */
export async function fireDue(host: SchedulerHost, batch: ReadonlyArray<readonly [string, FiringEntry]>, now: number): Promise<{ failed: Set<string>; removed: string[] }> {
  const removed: string[] = [];
  const failed = new Set<string>();
  const positions = await host.store.positions(batch.map(([id]) => id));
  const due: Array<{ id: string; entry: FiringEntry; fire: readonly number[]; cursor: number }> = [];
  batch.forEach(([id, entry], i) => {
    const stored = positions[i];
    if (stored === undefined) return void removed.push(id);
    if (stored.cursor > entry.cursor) entry.last = stored.last ?? entry.last;
    entry.cursor = Math.max(entry.cursor, stored.cursor);
    const spec = entry.record.spec;
    const plan = planTicks(spec, entry.cursor, now);
    let fire = plan.fire;
    let cursor = plan.cursor;
    // The tick due within the lead is fired now too, to start at its time (catchUp judged the rest).
    const ahead = leadOf(spec, host.leadMs) > 0 ? nextTick(spec, cursor) : undefined;
    if (ahead !== undefined && ahead <= now + leadOf(spec, host.leadMs)) {
      fire = fire.length === 0 ? [ahead] : [...fire, ahead];
      cursor = ahead;
    }
    if (fire.length > 0 || cursor > entry.cursor) due.push({ id, entry, fire, cursor });
  });
  // overlap 'skip': nothing fires while the last firing is queued or runs; else only the oldest due
  // tick does (the ones after it would find that one running).
  const skipping = due.filter((d) => d.entry.record.spec.overlap === 'skip' && d.fire.length > 0);
  if (skipping.length > 0) {
    await Promise.all(skipping.map(async (d) => {
      const last = d.entry.last;
      const busy = last !== undefined && (await stillRuns(host, last));
      d.fire = busy ? [] : d.fire.slice(0, 1);
    }));
  }

  const firings: Firing[] = [];
  for (const d of due) for (const tick of d.fire) firings.push({ id: d.id, entry: d.entry, tick });
  const submittedAt = host.clock.now();
  const ids = await submitAll(host, firings, now);
  const at = host.clock.now();

  const moves: CursorMove[] = [];
  const movers: FiringEntry[] = [];
  /** Per move: the firing it records (its payload id in `payloads`), or undefined for a cursor moved without firing. */
  const fired: Array<Firing | undefined> = [];
  const payloads: Array<string | undefined> = [];
  let f = 0;
  for (const d of due) {
    let refused = false;
    for (let k = 0; k < d.fire.length; k++, f++) {
      const payload = ids[f];
      if (refused || payload === undefined) {
        refused = true;
        continue;
      }
      const firing = firings[f] as Firing;
      d.entry.last = payload;
      moves.push({ id: d.id, tick: firing.tick, last: payload });
      movers.push(d.entry);
      fired.push(firing);
      payloads.push(payload);
    }
    if (refused) {
      failed.add(d.id);
      continue;
    }
    if (d.cursor > (d.fire.at(-1) ?? -Infinity)) {
      moves.push({ id: d.id, tick: d.cursor, last: undefined });
      movers.push(d.entry);
      fired.push(undefined);
      payloads.push(undefined);
    }
  }
  const results = await host.store.advance(moves);
  const orphans: string[] = [];
  moves.forEach((move, i) => {
    const firing = fired[i];
    const entry = movers[i] as FiringEntry;
    const payload = payloads[i] as string;
    if (results[i] === 'gone') {
      // Removed while this wake ran: what it submitted ahead must not start.
      if (firing && firing.tick > now) orphans.push(payload);
      return;
    }
    entry.cursor = Math.max(entry.cursor, move.tick);
    if (firing && firing.tick > now) entry.ahead = { tick: firing.tick, id: payload };
    // Only the node whose move went through reports the firing: once per tick across a cluster.
    if (firing && results[i] === 'moved') host.fired({ schedule: firing.id, tick: firing.tick, id: payload, at, submittedAt });
  });
  await Promise.all(orphans.map((payload) => cancelFiring(host, payload)));
  return { failed, removed };
}

/**
 * A schedule's payload as validated on this node, once per spec (a firing only adds its
 * idempotency key, so validating each firing again would redo the same work a thousand times a
 * second). Only a success is kept: a handler registered after the schedule was set is found later.
 */
const validated = new WeakMap<ScheduleSpec, ValidPayload>();

function validOf(host: SchedulerHost, firing: Firing, now: number): ValidPayload {
  const spec = firing.entry.record.spec;
  let valid = validated.get(spec);
  if (!valid) validated.set(spec, (valid = validatePayload(spec.payload, host.validation())));
  return { ...valid, idempotencyKey: `schedule:${firing.id}:${firing.tick}`, runAt: firing.tick > now ? firing.tick : valid.runAt };
}

/** Each firing's payload id, or undefined where it was refused; a refused slice is retried one by one so one bad schedule fails alone. */
async function submitAll(host: SchedulerHost, firings: readonly Firing[], now: number): Promise<Array<string | undefined>> {
  const ids: Array<string | undefined> = new Array(firings.length);
  for (let from = 0; from < firings.length; from += SUBMIT_SLICE) {
    const slice = firings.slice(from, from + SUBMIT_SLICE);
    let got: Array<string | undefined>;
    try {
      got = await host.submitValidated(slice.map((firing) => validOf(host, firing, now)));
    } catch {
      got = await Promise.all(slice.map((firing) => inputOf(firing, now)).map((input) => host.submit(input).catch((error: unknown) => {
        host.logger.warn('a schedule could not fire; trying again', { idempotencyKey: input.idempotencyKey, error: String(error) });
        return undefined;
      })));
    }
    got.forEach((id, i) => (ids[from + i] = id));
  }
  return ids;
}

function inputOf(firing: Firing, now: number): PayloadInput {
  const input: PayloadInput = { ...firing.entry.record.spec.payload, idempotencyKey: `schedule:${firing.id}:${firing.tick}` };
  return firing.tick > now ? { ...input, runAt: firing.tick } : input;
}

/** Cancels a firing submitted ahead whose schedule changed before it started; a failure is logged (it then runs). */
export async function cancelFiring(host: Pick<SchedulerHost, 'cancel' | 'logger'>, id: string): Promise<void> {
  try {
    await host.cancel(id);
  } catch (error) {
    host.logger.warn('a schedule firing submitted ahead could not be cancelled', { id, error: String(error) });
  }
}

async function stillRuns(host: SchedulerHost, id: string): Promise<boolean> {
  const status = await host.status(id);
  return status !== undefined && !ENDED.has(status);
}
