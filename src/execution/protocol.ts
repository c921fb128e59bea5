/**
 * What partitions and the execution pool say to each other. Partitions publish their demand; the
 * pool grants slots; partitions answer a grant with run orders; the pool reports outcomes back.
 */
import type { PayloadFailure } from '../errors.ts';
import type { DependencyOutcomes, Tier } from '../payload.ts';

/** Work a partition can hand out: live queued payloads of one tier and handler type. */
export interface DemandEntry {
  readonly tier: Tier;
  readonly handlerType: string;
  readonly count: number;
  /** `enqueuedAt` of the oldest of them (the queue head): the age aging measures. */
  readonly oldestAt: number;
  /** The tier whose urgency and slot share it is served with: itself, or higher while elevated. */
  readonly serveAs: Tier;
  /**
   * The tier runs degraded or skips under load: it yields its aging promotion (an overdue head
   * would otherwise jump above high work) until the coordinator restores it.
   */
  readonly yielding: boolean;
  /** Clients with work in it (the partition shares its grants between them); 1 when absent. */
  readonly clients?: number;
  /**
   * Its next payload is a fresh client's, one that had nothing queued there (a trickle beside a
   * flood): the pool may grant it before older work of another client.
   */
  readonly fresh?: boolean;
  /** The client whose payload the partition serves next here. */
  readonly nextClient?: string;
}

/** Permission to start `count` payloads of one tier and handler type; the slots are already held. */
export interface Grant {
  readonly tier: Tier;
  readonly handlerType: string;
  /** Payloads to start. */
  readonly count: number;
  /** The tier the slots are charged to (the demand's `serveAs`; the pool always sets it). Default `tier`. */
  readonly serveAs?: Tier;
  /** One slot runs all `count` payloads as one batch (a handler with `batch`); else one slot each. */
  readonly batch?: boolean;
}

/** Everything the pool needs to run one attempt. */
export interface RunOrder {
  readonly partition: number;
  readonly id: string;
  readonly handlerType: string;
  readonly clientId: string;
  readonly tier: Tier;
  readonly data: unknown;
  readonly attempt: number;
  readonly timeout: number;
  readonly degraded: boolean;
  /** The tier whose slot it holds (its grant's `serveAs`). */
  readonly slotTier: Tier;
  /** Orders with the same key run as one batch call; undefined for a single run. */
  readonly batch: string | undefined;
  /** Outcomes of the payload's dependencies (undefined without `dependsOn`). */
  readonly dependencies: DependencyOutcomes | undefined;
  /** What an earlier attempt stored with `ctx.checkpoint` (undefined if none). */
  readonly lastCheckpoint: unknown;
}

export type Outcome =
  | { readonly kind: 'completed'; readonly id: string; readonly attempt: number; readonly result: unknown }
  | { readonly kind: 'failed'; readonly id: string; readonly attempt: number; readonly error: PayloadFailure; readonly retryable: boolean }
  | { readonly kind: 'progress'; readonly id: string; readonly attempt: number; readonly value: unknown }
  /** `ctx.checkpoint(value)`: `stored(true)` once the value is journalled, `stored(false)` if the attempt is over. */
  | { readonly kind: 'checkpoint'; readonly id: string; readonly attempt: number; readonly value: unknown; readonly stored: (ok: boolean) => void };

/**
 * What the execution side sends to partitions, wherever they run: grants from the pool, outcomes
 * from the runner. The runtime's partition router implements it (src/runtime/partition-router.ts).
 */
export interface PartitionPort {
  grants(partition: number, grants: Grant[]): void;
  outcomes(partition: number, outcomes: Outcome[]): void;
}
