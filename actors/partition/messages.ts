/**
 * Messages a partition actor receives, and the effects its reducer asks the edge to perform.
 * Messages arrive batched (one enqueue per partition per submit round, coalesced outcomes) because
 * nact handles every message on its own turn of the event loop.
 */
import type { TriageError } from '../../src/errors.ts';
import type { Grant, Outcome, RunOrder } from '../../src/execution/protocol.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { Payload, PayloadView, Tier } from '../../src/payload.ts';
import type { LedgerEntry } from '../coordinator/ledger.ts';
import type { ClientHold } from './holds.ts';
import type { PayloadRecord } from './state.ts';

export type EnqueueResult =
  /** `replaced`: a debounce's held payload took this submit's data (a write the store must take, unlike a duplicate). */
  | { readonly ok: true; readonly id: string; readonly duplicate: boolean; readonly replaced?: boolean }
  | { readonly ok: false; readonly error: TriageError };

/** Payloads bound for one partition, answered one by one (a `wait` overflow may answer late). */
export interface EnqueueBatch {
  readonly payloads: readonly Payload[];
  /**
   * Already accepted elsewhere (dependents the dependency graph releases): they enter even a
   * full tier, as due timers do, because nothing accepted is lost.
   */
  readonly admitted?: boolean;
  settle(index: number, result: EnqueueResult): void;
}

/** A debounced record as it was before a replacement, to put back if the store refuses the replacement. */
export interface DebounceRevert {
  readonly id: string;
  readonly data: unknown;
  readonly runAt: number;
}

export type CancelResult = 'cancelled' | 'already-finished' | 'unknown';

/** A dead letter to run again: its payload (to restore it if retention dropped it) and the attempts it had. */
export interface RevivedPayload {
  readonly payload: Payload;
  readonly attempts: number;
}
/** `not-failed`: the payload is held and did not fail (it runs, or was retried already). */
export type ReviveResult = 'revived' | 'not-failed';

export type PartitionMessage =
  | { readonly type: 'enqueue'; readonly batch: EnqueueBatch }
  | { readonly type: 'grant'; readonly grants: readonly Grant[] }
  | { readonly type: 'outcomes'; readonly outcomes: readonly Outcome[] }
  | { readonly type: 'cancel'; readonly id: string; readonly reply: (result: CancelResult) => void }
  | { readonly type: 'get'; readonly id: string; readonly reply: (view: PayloadView | undefined) => void }
  | { readonly type: 'tick' }
  /** Failed payloads run again as a new attempt of the same id (dead-letter retry). */
  | { readonly type: 'revive'; readonly letters: readonly RevivedPayload[]; readonly reply: (results: readonly ReviveResult[]) => void }
  /** The clients an operator paused (all of them, replacing the previous list): their queued payloads are kept from the pool. */
  | { readonly type: 'hold'; readonly clients: readonly ClientHold[] }
  /** Limits have room again on these scopes (undefined: the rules changed): offer what they held (src/limits/gate.ts). */
  | { readonly type: 'unpark'; readonly scopes: readonly string[] | undefined }
  /** The runtime stops: withdraw every claim (claims.ts), so the next start does not rerun what never started. */
  | { readonly type: 'unclaim' }
  /** Undo the acceptance of payloads whose journal entry the store did not take (their submit was refused). */
  | { readonly type: 'rollback'; readonly ids: readonly string[]; readonly reverts?: readonly DebounceRevert[] }
  // From the coordinator (actors/coordinator). Per-tier decisions, applied at grant time.
  /** Send a load report to the coordinator (the runtime asks every interval). */
  | { readonly type: 'report' }
  /** Run a tier degraded, or skip its due payloads into the ledger. */
  | { readonly type: 'degrade'; readonly tier: Tier; readonly mode: 'degrade' | 'skip'; readonly continued?: boolean }
  | { readonly type: 'restore'; readonly tier: Tier }
  /** Serve `tier` with the urgency and slots of `as` (`as === tier` ends it). */
  | { readonly type: 'elevate'; readonly tier: Tier; readonly as: Tier }
  /** Move up to `max` queued payloads of `tier` that have no shard key to partition `to`. */
  | { readonly type: 'transfer-out'; readonly tier: Tier; readonly to: number; readonly max: number }
  | { readonly type: 'transfer-in'; readonly from: number; readonly records: readonly PayloadRecord[] }
  /**
   * Ledger entries due again: queue them with their priority raised by `boost`. `force` (an
   * operator's "reschedule now") queues them even into a tier that is skipping.
   */
  | { readonly type: 'reschedule'; readonly entries: readonly LedgerEntry[]; readonly boost: number; readonly force?: boolean }
  /** Ledger entries whose deadline passed. */
  | { readonly type: 'expire'; readonly entries: readonly LedgerEntry[] };

export type PartitionEffect =
  | { readonly kind: 'event'; readonly event: PayloadEvent }
  /** `early`: its claim is stored (claims.ts), so it may start before this transition's entry is. */
  | { readonly kind: 'run'; readonly order: RunOrder; readonly early?: boolean }
  | { readonly kind: 'release'; readonly tier: Tier; readonly handlerType: string; readonly count: number }
  | { readonly kind: 'abort'; readonly id: string; readonly reason: string }
  /** Payloads skipped into the ledger, for the coordinator that owns it. */
  | { readonly kind: 'ledger'; readonly entries: readonly LedgerEntry[] }
  /** Ledger entries whose payloads were cancelled while waiting there. */
  | { readonly kind: 'unledger'; readonly ledgerIds: readonly string[] }
  /** A message for another partition (transferred payloads, lookups of a moved payload). */
  | { readonly kind: 'forward'; readonly to: number; readonly message: PartitionMessage }
  | {
      readonly kind: 'reply';
      readonly deliver: () => void;
      /** For acceptances: answers every accepted payload with `error` instead (the store refused the entry). */
      readonly refuse?: (error: TriageError) => void;
      /** Ids this reply accepts, to roll back if it is refused. */
      readonly accepted?: readonly string[];
      /** Debounce replacements this reply answers, to revert if it is refused. */
      readonly reverts?: readonly DebounceRevert[];
    };

export type { Grant, Outcome, RunOrder };
