/**
 * Journalling for one actor: each transition that changed something appends one entry (its
 * delta) through the runtime's shared JournalWriter, and what must follow the transition (replies,
 * events) runs only once that entry is stored, in transition order. A snapshot is taken every
 * `snapshotEvery` entries from the immutable state of the exact transition it covers.
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

interface Step<S> {
  readonly state: S;
  readonly delta: unknown;
  readonly after: () => void;
  gate: Promise<void> | undefined;
  watchingGate: boolean;
  stored: boolean;
}

export class ActorJournal<S> {
  private seq: number;
  private sinceSnapshot = 0;
  private stored: { state: S; seq: number };
  /** Transitions not yet followed up, in order; the first `appendedCount` are appended. */
  private readonly steps: Step<S>[] = [];
  private appendedCount = 0;

  constructor(private readonly options: ActorJournalOptions<S>) {
    this.seq = options.journalSeq;
    this.stored = { state: options.initial, seq: options.journalSeq };
  }

  /**
   * Records a transition: `delta` undefined means nothing durable changed (no entry). `after` runs
   * once this entry and every earlier one are stored.
   */
  record(state: S, delta: unknown, after: () => void, gate?: Promise<void>): void {
    this.steps.push({ state, delta, after, gate, watchingGate: false, stored: delta === undefined });
    this.appendReady();
  }

  /** Snapshots the state as of the last stored entry; resolves once the snapshot is stored. */
  async snapshotNow(): Promise<void> {
    this.sinceSnapshot = 0;
    const { version, data } = this.options.encode(this.stored.state);
    await this.options.snapshots.store(this.options.key, this.stored.seq, version, data);
  }

  private appendReady(): void {
    while (this.appendedCount < this.steps.length) {
      const step = this.steps[this.appendedCount] as Step<S>;
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

  private append(step: Step<S>): void {
    const { writer, key, snapshotEvery } = this.options;
    const seq = ++this.seq;
    const snapshotDue = ++this.sinceSnapshot >= snapshotEvery;
    if (snapshotDue) this.sinceSnapshot = 0;
    writer.append({
      entry: { key, seq, data: step.delta },
      durable: () => {
        step.stored = true;
        this.stored = { state: step.state, seq };
        this.followStored();
        if (snapshotDue) {
          const { version, data } = this.options.encode(step.state);
          this.options.snapshots.snapshot(key, seq, version, data);
        }
      },
      // The writer retries until the store takes the entry; what follows simply waits for it.
      failed: () => {},
    });
  }

  private followStored(): void {
    let done = 0;
    while (done < this.appendedCount && (this.steps[done] as Step<S>).stored) done++;
    if (done === 0) return;
    const ready = this.steps.splice(0, done);
    this.appendedCount -= done;
    for (const step of ready) step.after();
  }
}
