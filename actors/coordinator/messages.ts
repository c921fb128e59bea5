/**
 * What the coordinator hears and what it asks the edge to do. Time travels inside the messages
 * (`at`), so the reducer is a deterministic function of its messages and can be replayed.
 */
import type { PartitionMessage } from '../partition/messages.ts';
import type { PartitionStats } from '../partition/state.ts';
import type { LoadLevel } from '../../src/load/levels.ts';
import type { ProcessLoad } from '../../src/load/sampler.ts';
import type { Decision } from '../../src/load/system-events.ts';
import type { Tier } from '../../src/payload.ts';
import type { LedgerEntry } from './ledger.ts';
import type { CoordinatorState } from './state.ts';

/** The execution pool as the coordinator sees it at the start of a round. */
export interface PoolLoad {
  readonly size: number;
  readonly busy: number;
  readonly byTier: Readonly<Record<Tier, number>>;
  readonly meanRunMs: number;
  /** Waiting payloads the global and per-type limits hold back, per tier (undefined: none). */
  readonly held?: Readonly<Record<Tier, number>>;
}

export type CoordinatorMessage =
  /** A round starts: the process sample and the pool; a report from every partition follows. */
  | { readonly type: 'round'; readonly round: number; readonly at: number; readonly process: ProcessLoad; readonly pool: PoolLoad }
  | { readonly type: 'report'; readonly round: number; readonly load: PartitionStats }
  /** Payloads a partition skipped into the ledger. */
  | { readonly type: 'skipped'; readonly entries: readonly LedgerEntry[] }
  /** Ledger entries whose payloads were cancelled. */
  | { readonly type: 'unledger'; readonly ledgerIds: readonly string[] }
  // Operator actions.
  | { readonly type: 'pin'; readonly level: LoadLevel; readonly at: number }
  | { readonly type: 'release'; readonly at: number }
  | { readonly type: 'reschedule-now'; readonly at: number }
  | { readonly type: 'throttle'; readonly perSecond: number | undefined; readonly at: number }
  /** A ledger deadline fell due. */
  | { readonly type: 'expire-due'; readonly at: number }
  /** At boot: what the last snapshot kept (undefined: none). Operator decisions and the level carry over; measurements start afresh. */
  | { readonly type: 'restore'; readonly saved: CoordinatorState | undefined; readonly at: number };

export type CoordinatorEffect =
  | { readonly kind: 'send'; readonly partition: number; readonly message: PartitionMessage }
  | { readonly kind: 'resize'; readonly size: number }
  | { readonly kind: 'throttle'; readonly perSecond: number | undefined }
  | { readonly kind: 'decision'; readonly decision: Decision }
  /** The level changed: the complexity analyzer inflates scores by it. */
  | { readonly kind: 'level'; readonly level: LoadLevel }
  /** The earliest ledger deadline, for the edge's timer (undefined: none). */
  | { readonly kind: 'wake'; readonly at: number | undefined };
