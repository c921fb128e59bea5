/**
 * What the execution pool (pool.ts) is given — options, clock, handlers, where grants go, meters —
 * and what it reports of itself.
 */
import type { Clock } from '../clock.ts';
import type { StuckReport } from '../load/system-events.ts';
import type { CompiledOptions } from '../options.ts';
import type { Tier } from '../payload.ts';
import type { Handler, HandlerOptions, Logger } from './handlers.ts';
import type { CostSource } from './meter.ts';
import type { PartitionPort } from './protocol.ts';

export interface PoolHost {
  readonly options: CompiledOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  handlerOf(type: string): { readonly fn: Handler; readonly options: HandlerOptions } | undefined;
  /** Where grants and outcomes go. */
  readonly partitions: PartitionPort;
  /** CPU and heap meters for the complexity analyzer; without them only wall time is measured. */
  readonly costSource?: CostSource;
  onStuck?(report: StuckReport): void;
  /** Whether an operator paused this handler type (or the whole runtime): its demand gets no grant. */
  paused?(handlerType: string): boolean;
}

export interface PoolStats {
  readonly size: number;
  readonly busy: number;
  readonly running: number;
  readonly byTier: Readonly<Record<Tier, number>>;
  /** Slots found stuck since the start, and stuck now. */
  readonly stuck: number;
  readonly stuckNow: number;
  /** Moving average of run wall time, ms. */
  readonly meanRunMs: number;
  /** Low-tier starts allowed per second (undefined: no limit). */
  readonly lowThrottle: number | undefined;
  /** Share of the slots the low tier may occupy (1: no limit beyond the reserved share). */
  readonly lowShare: number;
  /** Waiting payloads the global and per-type limits hold back, by the tier they are served as (undefined: none). */
  readonly held: Readonly<Record<Tier, number>> | undefined;
}
