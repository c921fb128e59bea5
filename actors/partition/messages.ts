/**
 * Messages a partition actor receives, and the effects its reducer asks the edge to perform.
 * Messages arrive batched (one enqueue per partition per submit round, coalesced outcomes) because
 * nact handles every message on its own turn of the event loop.
 */
import type { TriageError } from '../../src/errors.ts';
import type { Grant, Outcome, RunOrder } from '../../src/execution/protocol.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { Payload, PayloadView, Tier } from '../../src/payload.ts';

export type EnqueueResult =
  | { readonly ok: true; readonly id: string; readonly duplicate: boolean }
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

export type CancelResult = 'cancelled' | 'already-finished' | 'unknown';

export type PartitionMessage =
  | { readonly type: 'enqueue'; readonly batch: EnqueueBatch }
  | { readonly type: 'grant'; readonly grants: readonly Grant[] }
  | { readonly type: 'outcomes'; readonly outcomes: readonly Outcome[] }
  | { readonly type: 'cancel'; readonly id: string; readonly reply: (result: CancelResult) => void }
  | { readonly type: 'get'; readonly id: string; readonly reply: (view: PayloadView | undefined) => void }
  | { readonly type: 'tick' }
  /** Undo the acceptance of payloads whose journal entry the store did not take (their submit was refused). */
  | { readonly type: 'rollback'; readonly ids: readonly string[] };

export type PartitionEffect =
  | { readonly kind: 'event'; readonly event: PayloadEvent }
  | { readonly kind: 'run'; readonly order: RunOrder }
  | { readonly kind: 'release'; readonly tier: Tier; readonly handlerType: string; readonly count: number }
  | { readonly kind: 'abort'; readonly id: string; readonly reason: string }
  | {
      readonly kind: 'reply';
      readonly deliver: () => void;
      /** For acceptances: answers every accepted payload with `error` instead (the store refused the entry). */
      readonly refuse?: (error: TriageError) => void;
      /** Ids this reply accepts, to roll back if it is refused. */
      readonly accepted?: readonly string[];
    };

export type { Grant, Outcome, RunOrder };
