/**
 * Payload lifecycle events, subscribable globally and per client. Listeners run synchronously after
 * the owning actor has committed the change; a listener that throws is reported, never allowed to
 * break the runtime.
 */
import type { PayloadFailure } from './errors.ts';
import type { SystemEventMap, SystemEventType } from './load/system-events.ts';
import type { Tier } from './payload.ts';

/**
 * `skipped` has two meanings, told apart by `ledgerId`: with one, the payload was skipped under
 * load and waits in the coordinator's ledger (not terminal: `rescheduled` or `expired` follows);
 * without one, it was evicted by the `drop-lowest` overflow policy (terminal).
 */
export const PAYLOAD_EVENTS = [
  'accepted', 'started', 'progress', 'completed', 'failed', 'retrying', 'cancelled', 'skipped', 'degraded',
  'rescheduled', 'expired',
] as const;
export type PayloadEventType = (typeof PAYLOAD_EVENTS)[number];

export interface PayloadEvent {
  readonly type: PayloadEventType;
  readonly id: string;
  readonly clientId: string;
  readonly payloadType: string;
  readonly partition: number;
  readonly tier: Tier;
  readonly at: number;
  readonly attempt?: number;
  readonly result?: unknown;
  readonly error?: PayloadFailure;
  readonly progress?: unknown;
  readonly reason?: string;
  /** For `retrying`: when the next attempt is due. */
  readonly retryAt?: number;
  /** For a load `skipped` and for `rescheduled`: the payload's entry in the coordinator's ledger. */
  readonly ledgerId?: string;
  /** For `rescheduled`: the priority it runs with (boosted). */
  readonly priority?: number;
  /** In a cluster, on an event of a partition another node runs: that node's id (absent for this node's own). */
  readonly node?: string;
}

export type Listener = (event: PayloadEvent) => void;
type Topic = PayloadEventType | '*';

export interface SubscribeOptions {
  /** The engine's own listener (metrics): it wants this process's partitions' events only, never ones relayed from other nodes. */
  readonly internal?: boolean;
}

export class EventHub {
  private readonly global = new Map<Topic, Set<Listener>>();
  private readonly perClient = new Map<string, Map<Topic, Set<Listener>>>();
  private listenerErrors = 0;
  /** Listeners per topic, global and per client together: lets emitters skip building unobserved events. */
  private readonly counts = new Map<Topic, number>();
  /** Listeners per topic that want the events of every node of a cluster (all but internal ones). */
  private readonly relayed = new Map<Topic, number>();
  private interestChanged: (() => void) | undefined;
  /** Engine-level events (coordinator decisions, stuck slots): rare, so always built. */
  private readonly system = new Map<SystemEventType, Set<(event: never) => void>>();

  constructor(private readonly onListenerError: (error: unknown, event: PayloadEvent) => void = defaultListenerError) {}

  /** Subscribes to one event type, or `*` for all payload events. Returns the unsubscribe function. */
  on(type: Topic, listener: Listener, options?: SubscribeOptions): () => void;
  /** Subscribes to an engine event (`coordinator.decision`, `pool.stuck`); `*` does not include these. */
  on<K extends SystemEventType>(type: K, listener: (event: SystemEventMap[K]) => void): () => void;
  on(type: Topic | SystemEventType, listener: (event: never) => void, options: SubscribeOptions = {}): () => void {
    if (isSystemType(type)) {
      let set = this.system.get(type);
      if (!set) this.system.set(type, (set = new Set()));
      set.add(listener);
      return () => void set.delete(listener);
    }
    return this.counted(type, add(this.global, type, listener as Listener), options.internal !== true);
  }

  /**
   * The payload event types listeners want from every node of a cluster (a `*` listener wants them
   * all); engine-internal listeners are left out.
   */
  relayedTypes(): PayloadEventType[] {
    if (this.relayed.has('*')) return [...PAYLOAD_EVENTS];
    return [...this.relayed.keys()] as PayloadEventType[];
  }

  /** `fn` runs whenever `relayedTypes()` may have changed (a first listener of a type, or the last one gone). */
  onInterest(fn: () => void): void {
    this.interestChanged = fn;
  }

  /** Delivers an engine event to its listeners. */
  emitSystem<K extends SystemEventType>(type: K, event: SystemEventMap[K]): void {
    const set = this.system.get(type);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as (e: SystemEventMap[K]) => void)(event);
      } catch (error) {
        this.listenerErrors++;
        process.emitWarning(`a Triage listener for "${type}" threw: ${String(error)}`, 'TriageListenerWarning');
      }
    }
  }

  /** Whether anyone listens to `type` (directly or through `*`). */
  observes(type: PayloadEventType): boolean {
    return this.counts.has(type) || this.counts.has('*');
  }

  /** Subscribes to the events of one client's payloads. */
  onClient(clientId: string, type: Topic, listener: Listener): () => void {
    let topics = this.perClient.get(clientId);
    if (!topics) this.perClient.set(clientId, (topics = new Map()));
    const off = this.counted(type, add(topics, type, listener), true);
    return () => {
      off();
      if (topics.size === 0) this.perClient.delete(clientId);
    };
  }

  private counted(type: Topic, off: () => void, relayed: boolean): () => void {
    bump(this.counts, type, 1);
    if (relayed && bump(this.relayed, type, 1) === 1) this.interestChanged?.();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      off();
      bump(this.counts, type, -1);
      if (relayed && bump(this.relayed, type, -1) === 0) this.interestChanged?.();
    };
  }

  /** Resolves with the next event of `type` that satisfies `predicate`. */
  once(type: Topic, predicate: (event: PayloadEvent) => boolean = () => true): Promise<PayloadEvent> {
    return new Promise((resolve) => {
      const off = this.on(type, (event) => {
        if (!predicate(event)) return;
        off();
        resolve(event);
      });
    });
  }

  get failedListenerCalls(): number {
    return this.listenerErrors;
  }

  emit(event: PayloadEvent): void {
    this.deliver(this.global, event);
    if (this.perClient.size > 0) {
      const topics = this.perClient.get(event.clientId);
      if (topics) this.deliver(topics, event);
    }
  }

  private deliver(topics: Map<Topic, Set<Listener>>, event: PayloadEvent): void {
    if (topics.size === 0) return;
    const exact = topics.get(event.type);
    const all = topics.get('*');
    if (exact) for (const listener of exact) this.call(listener, event);
    if (all) for (const listener of all) this.call(listener, event);
  }

  private call(listener: Listener, event: PayloadEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.listenerErrors++;
      this.onListenerError(error, event);
    }
  }
}

const isSystemType = (type: string): type is SystemEventType => type === 'coordinator.decision' || type === 'pool.stuck' || type === 'schedule.fired' || type === 'schedule.started';

function add(topics: Map<Topic, Set<Listener>>, type: Topic, listener: Listener): () => void {
  let set = topics.get(type);
  if (!set) topics.set(type, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) topics.delete(type);
  };
}

function defaultListenerError(error: unknown, event: PayloadEvent): void {
  process.emitWarning(`a Triage event listener for "${event.type}" threw: ${String(error)}`, 'TriageListenerWarning');
}

/** Adds `delta` to a topic's count (deleting it at 0); returns the new count. */
function bump(counts: Map<Topic, number>, type: Topic, delta: number): number {
  const now = (counts.get(type) ?? 0) + delta;
  if (now > 0) counts.set(type, now);
  else counts.delete(type);
  return now;
}
