/**
 * What partitions and the execution pool say to each other. Partitions publish their demand; the
 * pool grants slots; partitions answer a grant with run orders; the pool reports outcomes back.
 */
import type { PayloadFailure } from '../errors.ts';
import type { Tier } from '../payload.ts';

/** Work a partition can hand out: live queued payloads of one tier and handler type. */
export interface DemandEntry {
  readonly tier: Tier;
  readonly handlerType: string;
  readonly count: number;
  /** `enqueuedAt` of the oldest of them (the queue head): the age aging measures. */
  readonly oldestAt: number;
}

/** Permission to start `count` payloads of one tier and handler type; the slots are already held. */
export interface Grant {
  readonly tier: Tier;
  readonly handlerType: string;
  readonly count: number;
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
}

export type Outcome =
  | { readonly kind: 'completed'; readonly id: string; readonly attempt: number; readonly result: unknown }
  | { readonly kind: 'failed'; readonly id: string; readonly attempt: number; readonly error: PayloadFailure; readonly retryable: boolean }
  | { readonly kind: 'progress'; readonly id: string; readonly attempt: number; readonly value: unknown };
