/**
 * How the nodes of a cluster talk besides partition inboxes: a mail stream per node (calls to the
 * partitions it owns, their answers, messages for its partitions) and one events stream that every
 * node reads (the ending events of every partition, so `waitFor`, listeners, dependents and
 * workflows work on any node). Both are capped streams read from where they stood at start:
 * a call outlives neither its timeout nor a restart, and events from before this node started
 * concern no one waiting here. Writes made in one tick go out in one pipeline.
 */
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.ts';
import { InboxReader, type InboxEntry } from './inbox.ts';
import { reportTo } from './report.ts';

const MAIL = 0;
const EVENTS = 1;

export interface ClusterBusOptions {
  readonly client: Redis;
  readonly keys: ClusterKeys;
  readonly nodeId: string;
  /** Messages sent to this node, in order. */
  readonly onMail: (message: unknown) => void;
  /** Events another node published, in order. */
  readonly onEvents: (events: readonly unknown[], from: string) => void;
  /** Roughly how many entries each stream keeps. Default 10,000 batches. */
  readonly maxLength?: number;
  readonly onError?: (error: unknown) => void;
}

export class ClusterBus {
  private readonly reader: InboxReader;
  private outgoing: Array<{ key: string; data: unknown }> = [];
  private events: unknown[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly options: ClusterBusOptions) {
    const { keys, nodeId } = options;
    this.reader = new InboxReader({
      client: options.client,
      keys,
      blockMs: 2_000,
      count: 500,
      streamOf: (n) => (n === MAIL ? keys.mail(nodeId) : keys.events),
      onError: options.onError,
      onBatch: (stream, entries) => this.receive(stream, entries),
    });
  }

  /** Starts reading both streams from their current ends. */
  async start(): Promise<void> {
    const { client, keys, nodeId } = this.options;
    const [mail, events] = await Promise.all([lastId(client, keys.mail(nodeId)), lastId(client, keys.events)]);
    this.reader.add(MAIL, mail);
    this.reader.add(EVENTS, events);
    await this.reader.start();
  }

  /** Sends `message` to node `to`'s mail (in this tick's pipeline). */
  send(to: string, message: unknown): void {
    this.outgoing.push({ key: this.options.keys.mail(to), data: message });
    this.schedule();
  }

  /** Publishes an event to every other node (events of one tick travel as one entry). */
  publish(event: unknown): void {
    this.events.push(event);
    this.schedule();
  }

  /** Resolves once everything sent so far has been written. */
  async flushed(): Promise<void> {
    await this.flushing;
  }

  async stop(): Promise<void> {
    await this.flushing;
    await this.reader.stop();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flushing.then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    const { client, keys, nodeId, maxLength = 10_000 } = this.options;
    const outgoing = this.outgoing;
    const events = this.events;
    this.outgoing = [];
    this.events = [];
    if (outgoing.length === 0 && events.length === 0) return;
    const pipeline = client.pipeline();
    for (const { key, data } of outgoing) pipeline.xadd(key, 'MAXLEN', '~', maxLength, '*', 'd', JSON.stringify(data));
    if (events.length > 0) pipeline.xadd(keys.events, 'MAXLEN', '~', maxLength, '*', 'd', JSON.stringify({ from: nodeId, events }));
    try {
      const results = (await pipeline.exec()) ?? [];
      for (const [error] of results) if (error) reportTo(this.options.onError, error);
    } catch (error) {
      reportTo(this.options.onError, error);
    }
  }

  private receive(stream: number, entries: InboxEntry[]): void {
    for (const { data } of entries) {
      try {
        if (stream === MAIL) {
          this.options.onMail(data);
        } else {
          const { from, events } = data as { from: string; events: unknown[] };
          if (from !== this.options.nodeId && Array.isArray(events)) this.options.onEvents(events, from);
        }
      } catch (error) {
        reportTo(this.options.onError, error); // one bad message must not hold up the rest
      }
    }
  }
}

/** The id of a stream's newest entry, or 0-0 for an empty or missing stream. */
async function lastId(client: Redis, key: string): Promise<string> {
  const [newest] = await client.xrevrange(key, '+', '-', 'COUNT', 1);
  return newest ? newest[0] : '0-0';
}
