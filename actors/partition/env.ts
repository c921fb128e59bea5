/** What a partition's transitions read from the runtime: options, the clock, handler policies, load. */
import type { PayloadEventType } from '../../src/events.ts';
import type { CompiledBackoff, CompiledOptions } from '../../src/options.ts';
import type { Payload } from '../../src/payload.ts';
import type { PayloadRecord } from './state.ts';

/** What a handler type contributes to a payload's policy when the payload sets nothing. */
export interface HandlerPolicy {
  readonly timeout: number;
  readonly retries: number;
  readonly backoff: CompiledBackoff;
}

export interface PartitionEnv {
  readonly options: CompiledOptions;
  now(): number;
  policyOf(handlerType: string): HandlerPolicy;
  /** Whether an event of this type about this payload has anyone to hear it (unheard ones are not built). */
  observed(type: PayloadEventType, id: string): boolean;
  /** Load-aware routing; without it a payload routes on its own priority and complexity. */
  readonly load?: PartitionLoadEnv;
}

export interface PartitionLoadEnv {
  /** The priority after boost rules, 1–10. */
  priorityOf(payload: Payload): number;
  /** The effective complexity: the client's score refined by observed cost, inflated under load. */
  complexityOf(payload: PayloadRecord | Payload): number;
  /** A degraded payload's timeout is multiplied by this. */
  readonly degradedTimeoutFactor: number;
}
