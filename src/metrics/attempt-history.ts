/**
 * The attempts of a payload that did not end well (it failed, will retry, or was cancelled while
 * running), kept for the admin's payload timeline. A completed attempt is never recorded here — its
 * start and end are the record's own — so a healthy payload costs nothing; what is kept is bounded
 * like retention: at most `maxPayloads` ids (the oldest forgotten first), `MAX_PER_PAYLOAD` entries each.
 */
import type { PayloadFailure } from '../errors.ts';

export interface AttemptEntry {
  /** `attempt`: one run that ended badly; `note`: something done to the payload between runs. */
  readonly kind: 'attempt' | 'note';
  readonly attempt: number;
  readonly startedAt: number | undefined;
  readonly endedAt: number;
  /** `retrying`, `failed`, `cancelled`, … as the event that ended it. */
  readonly outcome: string;
  readonly error: PayloadFailure | undefined;
  readonly reason: string | undefined;
  /** For a retry: when the next attempt is due. */
  readonly retryAt: number | undefined;
}

const MAX_PER_PAYLOAD = 20;

export class AttemptHistory {
  private readonly byId = new Map<string, AttemptEntry[]>();

  constructor(private readonly maxPayloads: number) {}

  add(id: string, entry: AttemptEntry): void {
    if (this.maxPayloads <= 0) return;
    let list = this.byId.get(id);
    if (!list) {
      if (this.byId.size >= this.maxPayloads) {
        const oldest = this.byId.keys().next().value;
        if (oldest !== undefined) this.byId.delete(oldest);
      }
      this.byId.set(id, (list = []));
    }
    list.push(entry);
    if (list.length > MAX_PER_PAYLOAD) list.shift();
  }

  of(id: string): readonly AttemptEntry[] {
    return this.byId.get(id) ?? [];
  }

  get size(): number {
    return this.byId.size;
  }

  clear(): void {
    this.byId.clear();
  }
}
