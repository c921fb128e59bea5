/**
 * A stream per partition through which any node hands work to the partition's owner. Writers XADD;
 * the owner reads with XREAD BLOCK on a connection of its own (a blocked connection can serve nothing
 * else) and trims what it has durably taken over with `ack`. Entries stay until acknowledged, so a new
 * owner after a takeover reads whatever the old one had not acknowledged: delivery is at least once,
 * and consumers deduplicate (payload ids).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.ts';
import { execAll } from './redis-util.ts';
import { reportTo } from './report.ts';

export interface InboxEntry<T = unknown> {
  /** Stream id (`<ms>-<seq>`); pass the last one handled to `ack`. */
  readonly id: string;
  readonly data: T;
}

export class InboxWriter {
  constructor(private readonly client: Redis, private readonly keys: ClusterKeys) {}

  /**
   * Appends `messages` to the partition's inbox in order, in one round trip and one transaction, so
   * a reader sees all of them or none; returns their ids.
   */
  async send(partition: number, messages: readonly unknown[]): Promise<string[]> {
    if (messages.length === 0) return [];
    const key = this.keys.inbox(partition);
    const transaction = this.client.multi();
    for (const message of messages) transaction.xadd(key, '*', 'd', JSON.stringify(message));
    return (await execAll(transaction)) as string[];
  }
}

export interface InboxReaderOptions {
  /** Used for acknowledgements and interrupts; the blocking reads use a duplicate of it. */
  readonly client: Redis;
  readonly keys: ClusterKeys;
  /**
   * Takes one partition's entries, in order. The reader's cursor moves past them once it resolves;
   * if it throws, they come again on the next read.
   */
  readonly onBatch: (partition: number, entries: InboxEntry[]) => void | Promise<void>;
  /** Longest a read blocks before it is issued anew. Default 5000. */
  readonly blockMs?: number;
  /** Most entries per partition per read. Default 100. */
  readonly count?: number;
  /** Pause after a failed read or batch before trying again. Default 100. */
  readonly retryMs?: number;
  /** Read and batch errors (the reader goes on). Default: ignored. */
  readonly onError?: (error: unknown) => void;
  /** The stream read for a number added. Default: that partition's inbox. */
  readonly streamOf?: (n: number) => string;
}

/** `a` compared with `b`, as stream ids. */
export function compareIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

/** The smallest id after `id`: XTRIM MINID keeps ids ≥ its argument, and acknowledging `id` must drop it. */
function nextId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  return `${ms}-${BigInt(seq) + 1n}`;
}

export class InboxReader {
  private readonly options: InboxReaderOptions;
  private readonly cursors = new Map<number, string>();
  private readonly byKey = new Map<string, number>();
  private connection: Redis | undefined;
  private connectionId: number | undefined;
  private loop: Promise<void> | undefined;
  private stopping = new AbortController();
  /** Bumped on every change of the partition set; a read built at an older generation is stale. */
  private generation = 0;
  private readingAt: number | undefined;
  private wake: (() => void) | undefined;
  private interrupting: Promise<void> | undefined;

  private readonly streamOf: (n: number) => string;

  constructor(options: InboxReaderOptions) {
    this.options = options;
    this.streamOf = options.streamOf ?? ((partition) => options.keys.inbox(partition));
  }

  /** Starts reading `partition` after `afterId` (default: from its oldest unacknowledged entry). */
  add(partition: number, afterId = '0-0'): void {
    this.cursors.set(partition, afterId);
    this.byKey.set(this.streamOf(partition), partition);
    this.changed();
  }

  /** Stops reading `partition`; a batch of it already being delivered finishes. */
  remove(partition: number): void {
    if (!this.cursors.delete(partition)) return;
    this.byKey.delete(this.streamOf(partition));
    this.changed();
  }

  partitions(): number[] {
    return [...this.cursors.keys()];
  }

  /** The id of the last entry delivered for `partition` (or the id it was added after). */
  cursorOf(partition: number): string | undefined {
    return this.cursors.get(partition);
  }

  /** Drops the partition's entries up to and including `id`; returns how many were dropped. */
  ack(partition: number, id: string): Promise<number> {
    return this.options.client.xtrim(this.streamOf(partition), 'MINID', nextId(id));
  }

  /** Opens the blocking connection and starts reading; resolves once connected. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = new AbortController();
    // No command timeout (a read blocks on purpose) and no resend after a reconnect (the loop reissues reads itself).
    const connection = this.options.client.duplicate({
      lazyConnect: true,
      commandTimeout: undefined,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      connectionName: 'triage-inbox-reader',
    });
    connection.on('error', () => {}); // surfaced by the failing read instead
    connection.on('close', () => { this.connectionId = undefined; });
    try {
      await connection.connect();
    } catch (error) {
      connection.disconnect(); // or it would go on reconnecting in the background
      throw error;
    }
    this.connection = connection;
    this.loop = this.run(connection);
  }

  /** Stops promptly: the blocking connection is dropped, and a batch being delivered is awaited. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    this.connection?.disconnect();
    await this.loop;
    await this.interrupting;
    this.loop = undefined;
    this.connection = undefined;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(connection: Redis): Promise<void> {
    const { count = 100, blockMs = 5_000 } = this.options;
    let failures = 0;
    while (!this.stopped) {
      if (this.cursors.size === 0) {
        await new Promise<void>((resolve) => { this.wake = resolve; });
        this.wake = undefined;
        continue;
      }
      const partitions = [...this.cursors];
      let reply: [key: string, items: [id: string, fields: string[]][]][] | null;
      try {
        this.connectionId ??= await connection.client('ID');
        this.readingAt = this.generation;
        reply = (await connection.xread(
          'COUNT', count, 'BLOCK', blockMs, 'STREAMS',
          ...partitions.map(([p]) => this.streamOf(p)),
          ...partitions.map(([, id]) => id),
        )) as typeof reply;
      } catch (error) {
        if (this.stopped) break;
        this.report(error);
        await this.pause(++failures);
        continue;
      } finally {
        this.readingAt = undefined;
      }
      failures = 0;
      for (const [key, rows] of reply ?? []) {
        if (this.stopped) break;
        const partition = this.byKey.get(key);
        const cursor = partition === undefined ? undefined : this.cursors.get(partition);
        if (partition === undefined || cursor === undefined) continue; // removed while the read was out
        // The partition may have been re-added with a later cursor meanwhile.
        const fresh = rows.filter(([id]) => compareIds(id, cursor) > 0);
        if (fresh.length === 0) continue;
        const entries = fresh.map(([id, fields]) => ({ id, data: parseEntry(fields) }));
        try {
          await this.options.onBatch(partition, entries);
          if (this.cursors.get(partition) === cursor) this.cursors.set(partition, entries.at(-1)!.id);
        } catch (error) {
          this.report(error);
          await this.pause(1);
        }
      }
    }
  }

  /** A change of the partition set: wake an idle loop, or cut a blocking read that is missing it short. */
  private changed(): void {
    this.generation++;
    this.wake?.();
    if (this.interrupting || this.readingAt === undefined) return;
    this.interrupting = this.interrupt().finally(() => { this.interrupting = undefined; });
  }

  private async interrupt(): Promise<void> {
    // UNBLOCK answers 0 when the read has not reached the server yet: try until it is cut or has returned.
    while (!this.stopped && this.readingAt !== undefined && this.readingAt !== this.generation) {
      const id = this.connectionId;
      const unblocked = id === undefined ? 0 : await this.options.client.client('UNBLOCK', id).catch(() => 0);
      if (unblocked === 1) return;
      await delay(5);
    }
  }

  private async pause(failures: number): Promise<void> {
    const ms = Math.min((this.options.retryMs ?? 100) * 2 ** Math.min(failures - 1, 5), 5_000);
    await delay(ms, undefined, { signal: this.stopping.signal }).catch(() => {});
  }

  private report(error: unknown): void {
    reportTo(this.options.onError, error);
  }
}

function parseEntry(fields: string[]): unknown {
  const at = fields.indexOf('d');
  const raw = at >= 0 ? fields[at + 1] : undefined;
  try {
    return raw === undefined ? undefined : JSON.parse(raw);
  } catch {
    // Written by something other than InboxWriter: hand it over as it is rather than drop it.
    return raw;
  }
}
