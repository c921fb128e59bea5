/**
 * Recovering an actor that is not a partition: from its snapshot and journal (an actor that
 * journals every transition), or from its snapshot alone (one snapshotted now and then).
 */
import type { Clock } from '../clock.ts';
import { ActorJournal } from './actor-journal.ts';
import type { Durability } from './durability.ts';
import { PeriodicSnapshot } from './periodic-snapshot.ts';

type Encode<S> = (state: S) => { version: number; data: unknown };

/** An actor's rebuilt state and its journal, opened where recovery left off. */
export interface RecoveredActor<S> {
  readonly state: S;
  readonly journal: ActorJournal<S>;
}

/**
 * Loads an actor's snapshot and journal, rebuilds its state, and opens its journal where recovery
 * left off. `fresh`: the key is new (nothing can be stored under it), so nothing is read.
 */
export async function recoverActor<S, Snap, Delta>(
  durability: Durability,
  key: string,
  restore: (snapshot: Snap | undefined, deltas: Delta[]) => S,
  encode: Encode<S>,
  fresh = false,
): Promise<RecoveredActor<S>> {
  const { snapshot, entries } = fresh ? { snapshot: undefined, entries: [] } : await durability.load(key);
  const state = restore(snapshot && ({ version: snapshot.version, data: snapshot.data } as Snap), entries.map((e) => e.data as Delta));
  const journal = new ActorJournal<S>({
    writer: durability.writer,
    snapshots: durability,
    key,
    journalSeq: entries.at(-1)?.seq ?? snapshot?.seq ?? 0,
    snapshotEvery: durability.snapshotEvery,
    initial: state,
    encode,
  });
  return { state, journal };
}

/** Loads the snapshot of an actor that keeps no journal (see PeriodicSnapshot). */
export async function recoverSnapshotOnly<S, Snap>(
  durability: Durability,
  timing: { readonly clock: Clock; readonly intervalMs: number },
  key: string,
  decode: (snapshot: Snap) => S,
  encode: Encode<S>,
): Promise<{ saved: S | undefined; snapshots: PeriodicSnapshot<S> }> {
  const snapshot = await durability.engine.latestSnapshot(key);
  const saved = snapshot && decode({ version: snapshot.version, data: snapshot.data } as Snap);
  const snapshots = new PeriodicSnapshot<S>({
    key, snapshots: durability, clock: timing.clock, intervalMs: timing.intervalMs, seq: snapshot?.seq ?? 0, initial: saved as S, encode,
  });
  return { saved, snapshots };
}
