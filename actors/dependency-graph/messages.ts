/**
 * Messages the dependency-graph actor receives, and the effects its reducer asks the edge to
 * perform. Completions arrive coalesced (one `settled` per turn) because nact handles every
 * message on its own turn of the event loop.
 */
import type { PayloadEvent } from '../../src/events.ts';
import type { DependencyOutcome, Payload, PayloadView } from '../../src/payload.ts';
import type { RegisterReply, WaitingEntry } from './state.ts';

/** How one watched id ended. */
export interface Settlement {
  readonly id: string;
  readonly outcome: DependencyOutcome;
}

export type GraphMessage =
  /**
   * Payloads with `dependsOn` from one submit. `external` lists the dependency ids outside the
   * batch (they must exist); `direct` the ids of the batch's payloads without dependencies, which
   * go straight to their partitions once this registration is accepted.
   */
  | { readonly type: 'register'; readonly waiting: readonly WaitingEntry[]; readonly external: readonly string[]; readonly reply: (result: RegisterReply) => void }
  /** Partitions' answers for a registration's external ids (undefined: no such payload). */
  | { readonly type: 'looked-up'; readonly registration: number; readonly found: ReadonlyMap<string, PayloadView | undefined> }
  /** The lookups could not be made (the runtime is stopping). */
  | { readonly type: 'lookup-failed'; readonly registration: number; readonly error: unknown }
  /** Watched ids that ended. */
  | { readonly type: 'settled'; readonly settlements: readonly Settlement[] }
  | { readonly type: 'cancel'; readonly id: string; readonly reply: (held: boolean) => void };

export type GraphEffect =
  | { readonly kind: 'lookup'; readonly registration: number; readonly ids: readonly string[] }
  | { readonly kind: 'release'; readonly payload: Payload; readonly partition: number }
  | { readonly kind: 'event'; readonly event: PayloadEvent }
  | { readonly kind: 'reply'; readonly deliver: () => void };
