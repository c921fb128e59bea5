/**
 * The partitions a node serves: recovered when their lease is acquired (tried again while the lease
 * lasts), fed from their inboxes, handed over or dropped when the lease goes. Lookups they answer
 * read the node's writes: "unknown" only once the inbox is taken in.
 */
import type { Redis } from 'ioredis';
import { TriageError } from '../errors.ts';
import type { Payload } from '../payload.ts';
import type { EventInterest } from './event-interest.ts';
import { compareIds, InboxReader, type InboxEntry } from './inbox.ts';
import type { ClusterKeys } from './keys.ts';

/** `dedupe`: which id a payload this node took in from its inbox was answered with (src/cluster/dedupe-answers.ts). */
export type RemoteOp = 'get' | 'cancel' | 'dedupe';

/** What the runtime does with a partition served here. */
export interface ServingHost {
  /** Recovers the partition from snapshot + journal and starts serving it. */
  acquire(partition: number): Promise<void>;
  handOver(partition: number): Promise<void>;
  drop(partition: number): void;
  /** Enqueues payloads another node accepted for this partition; resolves once their entry is stored. */
  deliver(partition: number, payloads: readonly Payload[]): Promise<void>;
  /** Takes in queued payloads another partition handed over (a coordinator's transfer); resolves once stored. */
  takeOver(partition: number, from: number, records: readonly unknown[]): Promise<void>;
  /** Answers a lookup or cancel from the local partition, or undefined when it does not run here. */
  call(partition: number, op: RemoteOp, id: string): Promise<unknown> | undefined;
  report(what: string, error: unknown): void;
}

/**
 * What a partition's inbox carries: the payloads of one submit round, or queued payloads another
 * partition handed over (written with its journal entry, see FENCED_TRANSFER).
 */
export type InboxMessage =
  /** `wants`: the event types the submitter's listeners want relayed (see EventInterest). */
  | { readonly payloads: readonly Payload[]; readonly transfer?: undefined; readonly wants?: readonly string[] }
  | { readonly transfer: { readonly from: number; readonly records: readonly unknown[] }; readonly payloads?: undefined };

export interface ServedPartitionsOptions {
  readonly client: Redis;
  readonly keys: ClusterKeys;
  readonly host: ServingHost;
  readonly interest: EventInterest;
  /** Whether this node still holds the partition's lease (a recovery is retried only while it does). */
  owns(partition: number): boolean;
}

export class ServedPartitions {
  private readonly serving = new Set<number>();
  private readonly acquiring = new Map<number, Promise<void>>();
  private readonly delivering = new Map<number, Promise<void>>();
  private readonly inbox: InboxReader;

  constructor(private readonly options: ServedPartitionsOptions) {
    const { client, keys, host } = options;
    this.inbox = new InboxReader({ client, keys, onBatch: (p, entries) => this.onInbox(p, entries), onError: (error) => host.report('partition inbox', error) });
  }

  has(partition: number): boolean {
    return this.serving.has(partition);
  }

  list(): number[] {
    return [...this.serving].sort((a, b) => a - b);
  }

  /** Opens the inbox reader. */
  start(): Promise<void> {
    return this.inbox.start();
  }

  /** Resolves once every recovery under way has ended. */
  async recovered(): Promise<void> {
    await Promise.all([...this.acquiring.values()]);
  }

  stop(): Promise<void> {
    return this.inbox.stop();
  }

  /** The lease was acquired: recover the partition, then serve it and read its inbox. */
  acquire(partition: number): void {
    const { host, owns } = this.options;
    const task = (async () => {
      // A partition whose lease is held must be served: a failed recovery (Redis away for a
      // moment) is tried again while the lease lasts, or the partition would stall unserved.
      for (let attempt = 1; owns(partition); attempt++) {
        try {
          await host.acquire(partition);
          this.serving.add(partition);
          this.inbox.add(partition);
          return;
        } catch (error) {
          host.report(`recovering partition ${partition} (attempt ${attempt})`, error);
          await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 1_000)));
        }
      }
    })().finally(() => this.acquiring.delete(partition));
    this.acquiring.set(partition, task);
  }

  /** The lease is being released: stop reading, let what is being delivered finish, hand over. */
  async release(partition: number): Promise<void> {
    await this.acquiring.get(partition);
    this.serving.delete(partition);
    this.inbox.remove(partition);
    await this.delivering.get(partition);
    await this.options.host.handOver(partition);
  }

  /** The lease is gone: drop the partition at once (once its recovery, if under way, ends). */
  lose(partition: number, reason: string): void {
    const { host } = this.options;
    host.report(`lost the lease of partition ${partition}`, new Error(reason));
    const drop = () => {
      this.serving.delete(partition);
      this.inbox.remove(partition);
      host.drop(partition);
    };
    const acquiring = this.acquiring.get(partition);
    if (acquiring) void acquiring.then(drop);
    else drop();
  }

  /**
   * A lookup or cancel answered by a partition served here. Read your writes: before it answers
   * "unknown", the partition takes in what its inbox held when asked, so a submit that Redis
   * accepted (on any node) is known to the answer.
   */
  async answer(partition: number, op: RemoteOp, id: string, waitMs: number): Promise<unknown> {
    const ask = () => {
      const local = this.options.host.call(partition, op, id);
      if (!local) throw new Error(`partition ${partition} left`);
      return local;
    };
    const value = await ask();
    if (value !== (op === 'cancel' ? 'unknown' : undefined)) return value;
    await this.inboxTakenIn(partition, waitMs);
    return ask();
  }

  /**
   * Resolves once the partition's inbox has been taken in up to its last entry as of now: this
   * node's reader got past it, or nothing up to it is left in the stream (acknowledged, here or by
   * an earlier owner). Rejects with CLUSTER_UNREACHABLE after `waitMs`, so that the caller asks again.
   */
  async inboxTakenIn(partition: number, waitMs: number): Promise<void> {
    const { client, keys } = this.options;
    const stream = keys.inbox(partition);
    const [last] = await client.xrevrange(stream, '+', '-', 'COUNT', 1);
    if (!last) return;
    const [lastId] = last;
    const deadline = Date.now() + waitMs;
    for (let attempt = 1; ; attempt++) {
      const cursor = this.inbox.cursorOf(partition);
      if (cursor !== undefined && compareIds(cursor, lastId) >= 0) return;
      const pending = await client.xrange(stream, '-', lastId, 'COUNT', 1);
      if (pending.length === 0) return;
      if (Date.now() > deadline) throw new TriageError('CLUSTER_UNREACHABLE', `partition ${partition} has not taken in its inbox within ${waitMs} ms`);
      await new Promise((r) => setTimeout(r, Math.min(2 * attempt, 20)));
    }
  }

  private onInbox(partition: number, entries: InboxEntry[]): Promise<void> {
    const { host, interest } = this.options;
    const task = (async () => {
      if (!this.serving.has(partition)) throw new Error(`partition ${partition} is not served here`);
      // In order: runs of submits in one enqueue each, transfers one by one.
      let payloads: Payload[] = [];
      for (const { data } of entries) {
        const message = data as InboxMessage;
        if (message.payloads) {
          if (message.wants) interest.heard(message.wants);
          payloads.push(...message.payloads);
          continue;
        }
        if (payloads.length > 0) await host.deliver(partition, payloads);
        payloads = [];
        if (message.transfer) await host.takeOver(partition, message.transfer.from, message.transfer.records);
      }
      if (payloads.length > 0) await host.deliver(partition, payloads);
      await this.inbox.ack(partition, entries.at(-1)!.id);
    })();
    const tracked = task.catch(() => {});
    this.delivering.set(partition, tracked);
    void tracked.finally(() => {
      if (this.delivering.get(partition) === tracked) this.delivering.delete(partition);
    });
    return task;
  }
}
