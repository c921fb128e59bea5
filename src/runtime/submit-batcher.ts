/**
 * Submits made in the same tick go to each partition as one `enqueue` message (one message per
 * payload would cost an actor turn each); a bulk submit hands in its own per-partition batches.
 * Batches leave in the order they were made. Until the runtime has booted, batches wait; `flush`
 * sends them once partitions exist.
 */
import type { EnqueueBatch, EnqueueResult } from '../../actors/partition/messages.ts';
import type { TriageError } from '../errors.ts';
import type { Payload } from '../payload.ts';
import type { EnqueueSink } from './partition-router.ts';

type Settle = (result: EnqueueResult) => void;

/** Single submits of one tick for one partition, answered by index. */
class SingleSubmits implements EnqueueBatch {
  readonly payloads: Payload[] = [];
  readonly settlers: Settle[] = [];
  // An own property, not a method: the cluster host passes batches on as `{ ...batch }`.
  readonly settle = (index: number, result: EnqueueResult): void => this.settlers[index]?.(result);
}

interface Outgoing {
  readonly partition: number;
  readonly batch: EnqueueBatch;
}

export class SubmitBatcher {
  private queue: Outgoing[] = [];
  /** This tick's batch of single submits per partition, still open to more. */
  private open = new Map<number, SingleSubmits>();
  private flushQueued = false;

  constructor(
    private readonly sink: EnqueueSink,
    private readonly canSend: () => boolean,
    private readonly beforeSend: () => void = () => {},
  ) {}

  /** Batches waiting to be sent. */
  get size(): number {
    return this.queue.length;
  }

  add(partition: number, payload: Payload, settle: Settle): void {
    let batch = this.open.get(partition);
    if (!batch) {
      this.open.set(partition, (batch = new SingleSubmits()));
      this.queue.push({ partition, batch });
      this.scheduleFlush();
    }
    batch.payloads.push(payload);
    batch.settlers.push(settle);
  }

  /** A batch made by the caller (one slice of a bulk submit); sent at once when the runtime is up. */
  addBatch(partition: number, batch: EnqueueBatch): void {
    this.open.clear(); // singles submitted after it go after it
    this.queue.push({ partition, batch });
    this.flush();
  }

  /** Answers every waiting submit with `error` (boot cannot go on for now, or ended): none waits on. */
  refuseAll(error: TriageError): void {
    const queue = this.queue;
    this.queue = [];
    this.open.clear();
    for (const { batch } of queue) for (let i = 0; i < batch.payloads.length; i++) batch.settle(i, { ok: false, error });
  }

  flush(): void {
    if (!this.canSend()) return;
    // `beforeSend` runs even with nothing queued: the flush at boot is what first wakes coordination.
    const queue = this.queue;
    this.queue = [];
    this.open.clear();
    this.beforeSend();
    for (const { partition, batch } of queue) this.sink.enqueue(partition, batch);
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }
}
