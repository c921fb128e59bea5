/**
 * Messages a partition actor receives, and the effects its reducer asks the edge to perform.
 * Messages arrive batched (one enqueue per partition per submit round, coalesced outcomes) because
 * nact handles every message on its own turn of the event loop.
 */
import type { QueueFullError, RuntimeStoppedError } from '../../src/errors.ts';
import type { Grant, Outcome, RunOrder } from '../../src/execution/protocol.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { Payload, PayloadView, Tier } from '../../src/payload.ts';

export type EnqueueResult =
  | { readonly ok: true; readonly id: string; readonly duplicate: boolean }
  | { readonly ok: false; readonly error: QueueFullError | RuntimeStoppedError };

/** Payloads bound for one partition, answered one by one (a `wait` overflow may answer late). */
export interface EnqueueBatch {
  readonly payloads: readonly Payload[];
  settle(index: number, result: EnqueueResult): void;
}

export type CancelResult = 'cancelled' | 'already-finished' | 'unknown';

export type PartitionMessage =
  | { readonly type: 'enqueue'; readonly batch: EnqueueBatch }
  | { readonly type: 'grant'; readonly grants: readonly Grant[] }
  | { readonly type: 'outcomes'; readonly outcomes: readonly Outcome[] }
  | { readonly type: 'cancel'; readonly id: string; readonly reply: (result: CancelResult) => void }
  | { readonly type: 'get'; readonly id: string; readonly reply: (view: PayloadView | undefined) => void }
  | { readonly type: 'tick' };

export type PartitionEffect =
  | { readonly kind: 'event'; readonly event: PayloadEvent }
  | { readonly kind: 'run'; readonly order: RunOrder }
  | { readonly kind: 'release'; readonly tier: Tier; readonly handlerType: string; readonly count: number }
  | { readonly kind: 'abort'; readonly id: string; readonly reason: string }
  | { readonly kind: 'reply'; readonly deliver: () => void };

export type { Grant, Outcome, RunOrder };
