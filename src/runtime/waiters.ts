/**
 * `waitFor` callers, by payload id. A waiter settles from whichever comes first: the payload's
 * ending event, or the view read right after registering (for a payload that had already ended).
 */
import type { EnqueueBatch } from '../../actors/partition/messages.ts';
import {
  CancelledError, ExpiredError, RuntimeStoppedError, SkippedError, TriageError, failedPayloadError, type PayloadFailure,
} from '../errors.ts';

type Waiter = { resolve(value: unknown): void; reject(error: unknown): void };

/** How a payload ended, from an event or a view. */
export interface Ending {
  readonly status: string;
  readonly result?: unknown;
  readonly error?: PayloadFailure | undefined;
  readonly reason?: string | undefined;
}

/** The error a waiter gets for an ending that is not a completion; undefined for a completion or a non-ending. */
export function endingError(id: string, ending: Ending): Error | undefined {
  switch (ending.status) {
    case 'failed':
      return failedPayloadError(id, ending.error ?? { code: 'HANDLER_FAILED', message: 'failed', name: 'Error' });
    case 'cancelled':
      return new CancelledError(`payload ${id} was cancelled`);
    case 'skipped':
      return new SkippedError(ending.reason ?? `payload ${id}`);
    case 'expired':
      return new ExpiredError(id, ending.reason);
    default:
      return undefined;
  }
}

const ENDINGS = new Set(['completed', 'failed', 'cancelled', 'skipped', 'expired']);

export class Waiters {
  private readonly byId = new Map<string, Waiter[]>();

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Registers a waiter; `lookup` reads the payload's current view to settle at once if it already ended. */
  wait<R>(id: string, lookup: () => Promise<Ending | undefined>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiter: Waiter = { resolve: resolve as (v: unknown) => void, reject };
      const list = this.byId.get(id);
      if (list) list.push(waiter);
      else this.byId.set(id, [waiter]);
      lookup().then((view) => {
        if (!view) this.settle(id, (w) => w.reject(new TriageError('UNKNOWN_PAYLOAD', `no payload with id ${JSON.stringify(id)}`)));
        else this.end(id, view);
      }, reject);
    });
  }

  /** Settles the waiters of `id` if `ending` is an end. */
  end(id: string, ending: Ending): void {
    if (!ENDINGS.has(ending.status) || !this.byId.has(id)) return;
    const error = endingError(id, ending);
    this.settle(id, (w) => (error ? w.reject(error) : w.resolve(ending.result)));
  }

  /**
   * `batch` whose duplicates re-read their view for waiters: a release its partition already had
   * (the graph's "released" entry was lost in a crash, so recovery released it again) brings no
   * new ending event.
   */
  rereadDuplicates(batch: EnqueueBatch, lookup: (id: string) => Promise<Ending | undefined>): EnqueueBatch {
    return {
      ...batch,
      settle: (index, result) => {
        batch.settle(index, result);
        const id = result.ok && result.duplicate ? result.id : undefined;
        if (id !== undefined && this.byId.has(id)) void lookup(id).then((view) => view && this.end(id, view), () => {});
      },
    };
  }

  /** Rejects every waiter (the runtime stopped). */
  rejectAll(): void {
    for (const id of [...this.byId.keys()]) this.settle(id, (w) => w.reject(new RuntimeStoppedError()));
  }

  private settle(id: string, fn: (waiter: Waiter) => void): void {
    const list = this.byId.get(id);
    if (!list) return;
    this.byId.delete(id);
    for (const waiter of list) fn(waiter);
  }
}
