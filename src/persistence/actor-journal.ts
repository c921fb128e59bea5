/**
 * Journalling for one actor: each transition that changed something appends one entry (its
 * delta) through the runtime's shared JournalWriter, and what must follow the transition (replies,
 * events) runs only once that entry is stored, in transition order. A snapshot is taken every
 * `snapshotEvery` entries: encoded at the turn of the transition it covers (the actor may change
 * its state in place afterwards) and stored once that transition's entry is.
 *
 * A transition may carry a gate: its entry is appended only once the gate opens, and later entries
 * queue behind it. The dependency graph uses it so that "released" is journalled only after the
 * partition has stored the payload it released: a crash between the two then repeats the release
 * (the partition takes it once) instead of losing the payload.
 */
import type { JournalWriter } from './journal-writer.ts';

/** Where snapshots go: the runtime's Durability (failures are counted, logged and emitted there). */
export interface SnapshotStore {
  /** Stores a snapshot in the background. */
  snapshot(key: string, seq: number, version: number, data: unknown): void;
  /** Stores a snapshot and resolves once it is stored. */
  store(key: string, seq: number, version: number, data: unknown): Promise<void>;
}

export interface ActorJournalOptions<S> {
  readonly writer: JournalWriter;
  readonly snapshots: SnapshotStore;
  /** The persistence key: journal and snapshot name. */
  readonly key: string;
  /** Seq of the last entry already stored (from recovery). */
  readonly journalSeq: number;
  readonly snapshotEvery: number;
  /** The state recovery produced (what a snapshot before the first new entry would hold). */
  readonly initial: S;
  encode(state: S): { version: number; data: unknown };
}

interface Step {
  readonly delta: unknown;
  /** The state as of this transition, encoded, when a snapshot is due with its entry. */
  readonly snapshot: { version: number; data: unknown } | undefined;
  readonly after: () => void;
  gate: Promise<void> | undefined;
  watchingGate: boolean;
  stored: boolean;
}

export class ActorJournal<S> {
  private seq: number;
  private sinceSnapshot = 0;
  /** Seq of the last entry stored. */
  private storedSeq: number;
  /** The state as of the last transition recorded. */
  private current: S;
  /** Transitions not yet followed up, in order; the first `appendedCount` are appended. */
  private readonly steps: Step[] = [];
  private appendedCount = 0;

  constructor(private readonly options: ActorJournalOptions<S>) {
    this.seq = options.journalSeq;
    this.storedSeq = options.journalSeq;
    this.current = options.initial;
  }

  /**
   * Records a transition: `delta` undefined means nothing durable changed (no entry). `after` runs
   * once this entry and every earlier one are stored.
   */
  record(state: S, delta: unknown, after: () => void, gate?: Promise<void>): void {
    this.current = state;
    let snapshot: Step['snapshot'];
    if (delta !== undefined && ++this.sinceSnapshot >= this.options.snapshotEvery) {
      this.sinceSnapshot = 0;
      snapshot = this.options.encode(state);
    }
    this.steps.push({ delta, snapshot, after, gate, watchingGate: false, stored: delta === undefined });
    this.appendReady();
  }

  /**
   * Snapshots the state as of the last transition recorded; resolves once the snapshot is stored,
   * which is once every entry it covers is stored (a snapshot never holds what the journal lost).
   */
  snapshotNow(): Promise<void> {
    this.sinceSnapshot = 0;
    const { version, data } = this.options.encode(this.current);
    return new Promise((resolve, reject) => {
      this.steps.push({
        delta: undefined,
        snapshot: undefined,
        after: () => void this.options.snapshots.store(this.options.key, this.storedSeq, version, data).then(resolve, reject),
        gate: undefined,
        watchingGate: false,
        stored: true,
      });
      this.appendReady();
    });
  }

  private appendReady(): void {
    while (this.appendedCount < this.steps.length) {
      const step = this.steps[this.appendedCount] as Step;
      if (step.gate) {
        if (!step.watchingGate) {
          step.watchingGate = true;
          void step.gate.then(() => {
            step.gate = undefined;
            this.appendReady();
          });
        }
        return; // later entries wait behind it, so the journal keeps transition order
      }
      this.appendedCount++;
      if (step.delta !== undefined) this.append(step);
    }
    this.followStored();
  }

  private append(step: Step): void {
    const { writer, key } = this.options;
    const seq = ++this.seq;
    writer.append({
      entry: { key, seq, data: step.delta },
      durable: () => {
        step.stored = true;
        this.storedSeq = seq;
        this.followStored();
        if (step.snapshot) this.options.snapshots.snapshot(key, seq, step.snapshot.version, step.snapshot.data);
      },
      // The writer retries until the store takes the entry; what follows simply waits for it.
      failed: () => {},
    });
  }

  private followStored(): void {
    let done = 0;
    while (done < this.appendedCount && (this.steps[done] as Step).stored) done++;
    if (done === 0) return;
    const ready = this.steps.splice(0, done);
    this.appendedCount -= done;
    for (const step of ready) step.after();
  }
}
