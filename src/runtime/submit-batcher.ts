/**
 * Submits made in the same tick go to each partition as one `enqueue` message (nact handles every
 * message on its own turn of the event loop, so one message per payload would cost a turn each).
 * Until the runtime has booted, batches wait; `flush` sends them once partitions exist.
 */
import type { EnqueueBatch, EnqueueResult } from '../../actors/partition/messages.ts';
import type { TriageError } from '../errors.ts';
import type { Payload } from '../payload.ts';

type Settle = (result: EnqueueResult) => void;

export class SubmitBatcher {
  private pending = new Map<number, { payloads: Payload[]; settlers: Settle[] }>();

  constructor(
    private readonly send: (partition: number, batch: EnqueueBatch) => void,
    private readonly canSend: () => boolean,
    private readonly beforeSend: () => void = () => {},
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(partition: number, payload: Payload, settle: Settle): void {
    let batch = this.pending.get(partition);
    if (!batch) {
      if (this.pending.size === 0) queueMicrotask(() => this.flush());
      this.pending.set(partition, (batch = { payloads: [], settlers: [] }));
    }
    batch.payloads.push(payload);
    batch.settlers.push(settle);
  }

  /** Answers every waiting submit with `error` (boot cannot go on for now, or ended): none waits on. */
  refuseAll(error: TriageError): void {
    const pending = this.pending;
    this.pending = new Map();
    for (const { settlers } of pending.values()) for (const settle of settlers) settle({ ok: false, error });
  }

  flush(): void {
    if (!this.canSend()) return;
    const pending = this.pending;
    this.pending = new Map();
    this.beforeSend();
    for (const [partition, { payloads, settlers }] of pending) {
      this.send(partition, { payloads, settle: (index, result) => settlers[index]?.(result) });
    }
  }
}
