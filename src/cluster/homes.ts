/**
 * Homes: where a node keeps what is not a partition's — the payloads its dependency graph holds and
 * its workflow instances. Each node process runs one home of its own, named after the node and this
 * start of it (`<node>.<start>`), held through a fenced lease like a partition's. When a node dies
 * its home's lease runs out, and the elected coordinator's node adopts the home: it loads the graph
 * and the workflows from Redis and runs them until nothing is left in them, then deletes the home.
 * So held dependents and running workflows survive a node that never comes back, or comes back
 * under a new process id. A node that finds its own home's lease gone (it was paused that long)
 * must stop: another node may run its home by now, and its writes there are refused.
 */
import type { Redis } from 'ioredis';
import type { TriageError } from '../errors.ts';
import { homeKeys, type ClusterKeys } from './keys.ts';
import type { FencedRedisEngine } from './fenced-journal.ts';
import { Leases, LeaseTable } from './leases.ts';

/** The runtime's side: running, checking and stopping the homes this node holds. */
export interface HomeHost {
  /** Loads an orphaned home from Redis and runs its graph and workflows here. */
  adopt(home: string): Promise<void>;
  /** Whether an adopted home has nothing left: no held payload, nothing waited on, no running instance. */
  idle(home: string): boolean;
  /** Stops an adopted home's actors once everything it wrote is stored. */
  retire(home: string): Promise<void>;
  /** A home's lease is gone (`own`: this node's own home): stop acting for it at once. */
  lost(home: string, own: boolean): void;
  /** Resolves once every journal entry written so far is stored. */
  flushed(): Promise<void>;
  /** This process may no longer act as its node (another process holds its identity): stop at once. */
  halt(fault: TriageError): void;
  report(what: string, error: unknown): void;
}

export interface HomeKeeperOptions {
  readonly client: Redis;
  readonly keys: ClusterKeys;
  readonly engine: FencedRedisEngine;
  readonly nodeId: string;
  /** This process's own home. */
  readonly home: string;
  /** How long a home's lease lasts without renewal: how long a dead node's home waits to be adopted. */
  readonly ttlMs: number;
  readonly host: HomeHost;
}

/** A home and the node holding its lease (undefined: none, it waits to be adopted). */
export interface HomeOwner {
  readonly home: string;
  readonly node: string | undefined;
}

export class HomeKeeper {
  private readonly table: LeaseTable<string>;
  private readonly leases: Leases<string>;
  private readonly adopted = new Set<string>();
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: HomeKeeperOptions) {
    const { client, keys, nodeId, ttlMs, engine, host } = options;
    this.leases = new Leases<string>(client, keys.homeLease);
    this.table = new LeaseTable<string>({
      leases: this.leases,
      nodeId,
      ttlMs,
      renewMs: Math.max(20, Math.floor(ttlMs / 4)),
      onLost: (home) => {
        engine.clearHomeFence(home);
        const own = home === options.home;
        if (!own) this.adopted.delete(home);
        host.lost(home, own);
      },
      onError: (error) => host.report('home leases', error),
    });
  }

  /** Whether this process still holds its own home by its own clock (a lapse is reported lost now). */
  holdsOwn(): boolean {
    return this.table.holds(this.options.home);
  }

  /** Homes adopted and running here. */
  adoptedHomes(): string[] {
    return [...this.adopted];
  }

  /** Every home in Redis with the node holding it, as Redis has it. */
  async view(): Promise<HomeOwner[]> {
    const homes = (await this.options.client.smembers(this.options.keys.homes)).sort();
    const holders = await Promise.all(homes.map((home) => this.leases.holder(home)));
    return homes.map((home, i) => ({ home, node: holders[i]?.node }));
  }

  /** The node holding the home's lease, or undefined while no node does. */
  async holder(home: string): Promise<string | undefined> {
    return (await this.leases.holder(home))?.node;
  }

  /** Takes and registers this process's own home; its keys are fenced before anything is written there. */
  async start(): Promise<void> {
    const { client, keys, home, engine } = this.options;
    // Held before it is listed: a listed home whose lease no one holds is adopted at once.
    const token = await this.table.acquire(home);
    if (token === undefined) throw new Error(`home ${home} is held by another node`);
    engine.setHomeFence(home, token);
    this.table.start();
    await client.sadd(keys.homes, home);
  }

  /**
   * Adopted homes with nothing left are deleted; on the coordinator's node (`leads`), homes whose
   * lease no one holds are adopted. Runs one at a time.
   */
  tick(leads: boolean): Promise<void> {
    if (this.ticking || this.stopped) return this.ticking ?? Promise.resolve();
    this.ticking = this.round(leads)
      .catch((error: unknown) => this.options.host.report('adopting homes', error))
      .finally(() => { this.ticking = undefined; });
    return this.ticking;
  }

  /**
   * Stops renewing. With handover every home held here is released, so another node adopts them at
   * once (an own home with nothing in it is deleted instead); without, they expire as after a crash.
   */
  async stop(options: { handover: boolean }): Promise<void> {
    this.stopped = true;
    await this.ticking;
    await this.table.stop();
    if (!options.handover) return;
    const { engine, home, host } = this.options;
    await host.flushed();
    for (const held of this.table.names()) {
      if (held === home && host.idle(home)) {
        await this.forget(home);
        continue;
      }
      engine.clearHomeFence(held);
      await this.table.release(held).catch((error: unknown) => host.report(`releasing home ${held}`, error));
    }
  }

  private async round(leads: boolean): Promise<void> {
    const { host, client, keys, engine, home: own } = this.options;
    for (const home of [...this.adopted]) {
      if (!host.idle(home)) continue;
      await host.retire(home);
      await host.flushed();
      this.adopted.delete(home);
      await this.forget(home);
    }
    if (!leads) return;
    const others = (await client.smembers(keys.homes)).filter((home) => home !== own && !this.adopted.has(home));
    // Most homes are held by their living nodes: one read finds the few whose lease has lapsed.
    const held = await this.leases.held(others);
    for (const home of others.filter((_, i) => !held[i])) {
      if (this.stopped) return;
      const token = await this.table.acquire(home);
      if (token === undefined) continue; // its node is alive, or another node adopted it
      engine.setHomeFence(home, token);
      this.adopted.add(home);
      try {
        await host.adopt(home);
      } catch (error) {
        // Given back: the next round (here or elsewhere) tries again.
        host.report(`adopting home ${home}`, error);
        this.adopted.delete(home);
        engine.clearHomeFence(home);
        await this.table.release(home);
      }
    }
  }

  /** Deletes a home held here that has nothing left: its journals and snapshots, its lease, its fencing counter. */
  private async forget(home: string): Promise<void> {
    const { client, keys, engine } = this.options;
    const persistence = keys.persistence;
    const stored = homeKeys(home).flatMap((key) => [persistence.journal(key), persistence.snapshot(key)]);
    // Out of the set first: from then on no node tries to adopt it.
    await client.srem(keys.homes, home);
    // One key per command: a home's keys live in different Redis Cluster slots.
    await Promise.all(stored.map((key) => client.del(key)));
    engine.clearHomeFence(home);
    await this.table.release(home);
    await client.del(keys.homeLease(home).fence);
  }
}
