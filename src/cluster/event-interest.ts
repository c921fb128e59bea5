/**
 * Which payload events travel between nodes. Ending events always do (waiters, dependents and
 * workflow steps need them anywhere). The others — accepted, started, progress, retrying, … — go
 * only where a listener wants them: each node keeps the event types its listeners want in one
 * Redis hash, tells the other nodes when that changes, and publishes an event of its partitions
 * only if some other live node wants its type. A submit through an inbox carries the submitter's
 * types too, so listening and then submitting never misses the first events of that payload.
 */
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.ts';

export interface EventInterestOptions {
  readonly client: Redis;
  readonly keys: ClusterKeys;
  readonly nodeId: string;
  /** Ids of the live nodes. */
  live(): Promise<string[]>;
  /** Tells every other node to read the hash again. */
  announce(): void;
  report(what: string, error: unknown): void;
}

export class EventInterest {
  /** This node's wanted types, sorted, and as stored (JSON). */
  private mine: readonly string[] = [];
  private mineJson = '[]';
  private started = false;
  private sharing: Promise<void> = Promise.resolve();
  /** Types some other live node wants. */
  private others = new Set<string>();
  /** Types heard from inbox messages while a refresh reads the hash (which may predate them). */
  private heardMeanwhile: Set<string> | undefined;

  constructor(private readonly options: EventInterestOptions) {}

  /** Types this node's listeners want from the other nodes' partitions. */
  get local(): readonly string[] {
    return this.mine;
  }

  /** Resolves once this node's latest wanted types are in Redis: a submit waits for it before it goes out. */
  get shared(): Promise<void> {
    return this.sharing;
  }

  /** Whether another node listens to events of `type`. */
  relays(type: string): boolean {
    return this.others.size > 0 && this.others.has(type);
  }

  /** This node's listeners now want `types`. */
  want(types: readonly string[]): void {
    const sorted = [...types].sort();
    const json = JSON.stringify(sorted);
    if (json === this.mineJson) return;
    this.mine = sorted;
    this.mineJson = json;
    if (this.started) this.sharing = this.share();
  }

  /** Types a submitter wants, carried by its inbox message: in force before its payloads are taken in. */
  heard(types: readonly string[]): void {
    for (const type of types) {
      this.others.add(type);
      this.heardMeanwhile?.add(type);
    }
  }

  async start(): Promise<void> {
    this.started = true;
    this.sharing = this.share();
    await this.sharing;
    await this.refresh();
  }

  /** Reads every live node's wanted types again (entries of nodes that are gone are deleted). */
  async refresh(): Promise<void> {
    const { client, keys, nodeId } = this.options;
    const heard = (this.heardMeanwhile = new Set());
    try {
      const [all, live] = await Promise.all([client.hgetall(keys.eventInterest), this.options.live()]);
      const alive = new Set(live);
      const others = new Set<string>();
      const gone: string[] = [];
      for (const [node, json] of Object.entries(all)) {
        if (!alive.has(node)) gone.push(node);
        else if (node !== nodeId) for (const type of JSON.parse(json) as string[]) others.add(type);
      }
      for (const type of heard) others.add(type);
      this.others = others;
      if (gone.length > 0) await client.hdel(keys.eventInterest, ...gone);
    } catch (error) {
      this.options.report('event interest', error);
    } finally {
      if (this.heardMeanwhile === heard) this.heardMeanwhile = undefined;
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    await this.options.client.hdel(this.options.keys.eventInterest, this.options.nodeId).catch((error: unknown) => this.options.report('event interest', error));
  }

  private async share(): Promise<void> {
    const { client, keys, nodeId } = this.options;
    try {
      if (this.mine.length === 0) await client.hdel(keys.eventInterest, nodeId);
      else await client.hset(keys.eventInterest, nodeId, this.mineJson);
      this.options.announce();
    } catch (error) {
      this.options.report('event interest', error);
    }
  }
}
