/**
 * The partition actor: the transitions of reducer.ts over the partition's owned state, wired to
 * the edge. After each message it publishes its demand to the execution pool and performs the
 * effects the transition returned — at once on the in-memory default, which journals nothing; when
 * durable, once the transition's journal entry is stored (persist, then act), except the runs whose
 * start was journalled ahead (claims.ts), which need nothing more from the store. It keeps one clock
 * timer for its next due timer.
 */
import type { TimerHandle } from '../../src/clock.ts';
import type { ActorRef, ActorSystem } from '../../src/core/actor-system.ts';
import { StoreUnavailableError } from '../../src/errors.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { ExecutionPool } from '../../src/execution/pool.ts';
import type { JournalSink, JournalWriter } from '../../src/persistence/journal-writer.ts';
import type { OutboxMessage } from '../../src/persistence/engine.ts';
import { deltaOf, encodeSnapshot, PARTITION_SNAPSHOT_VERSION } from './codec.ts';
import type { DebounceRevert, Grant, PartitionEffect, PartitionMessage } from './messages.ts';
import { reducePartition, type PartitionEnv, type Transition } from './reducer.ts';
import { demandOf, initialPartitionState, nextWakeOf, partitionStats, type PartitionState, type PartitionStats, type PayloadRecord } from './state.ts';
import type { TypeQueue } from './mailbox.ts';
import type { LedgerEntry } from '../coordinator/ledger.ts';

/** How a partition journals and snapshots. */
export interface PartitionDurability {
  readonly writer: JournalWriter;
  /** The persistence key: journal and snapshot name. */
  readonly key: string;
  /** Seq of the last journal entry already stored (from recovery). */
  readonly journalSeq: number;
  /** Take a snapshot every this many journal entries. */
  readonly snapshotEvery: number;
  /** Stores a snapshot in the background; the caller reports failures (they are never swallowed). */
  snapshot(key: string, seq: number, version: number, data: unknown): void;
  /** Stores a snapshot and resolves once it is stored. */
  snapshotNow(key: string, seq: number, version: number, data: unknown): Promise<void>;
  /**
   * Whether partition `to` runs in another process (a cluster). Payloads handed to it then travel
   * with the journal entry that records them as moved, in one atomic write, instead of after it.
   */
  remote?(to: number): boolean;
  /**
   * Whether this process still holds the partition's lease by its own clock (a cluster). Checked
   * before starting what a stored transition granted: a process that was paused past its lease
   * must not start work another node may own by now.
   */
  leased?(): boolean;
}

export interface PartitionWiring {
  readonly system: ActorSystem;
  readonly index: number;
  readonly env: PartitionEnv;
  readonly pool: ExecutionPool;
  readonly publish: (event: PayloadEvent) => void;
  readonly initialState?: PartitionState;
  readonly durability?: PartitionDurability;
  readonly coordination?: PartitionCoordination;
}

/** Where a partition's load-aware effects go: the coordinator, and the other partitions. */
export interface PartitionCoordination {
  report(load: PartitionStats): void;
  ledger(entries: readonly LedgerEntry[]): void;
  unledger(ledgerIds: readonly string[]): void;
  forward(to: number, message: PartitionMessage): void;
}

export interface PartitionHandle {
  readonly ref: ActorRef<PartitionMessage>;
  /** The last committed state (read-only; for drain checks and inspection). */
  readonly state: () => PartitionState;
  /** Snapshots the state as of the last stored journal entry. */
  snapshotNow(): Promise<void>;
  /**
   * The pool gets no more demand from this partition (it is being handed to another node): queued
   * work stays queued, and what is running finishes.
   */
  suspend(): void;
  /**
   * Resolves once every message dispatched so far has been processed and its transition's journal
   * entry stored, with its effects performed.
   */
  settled(): Promise<void>;
  /**
   * Arms the wake-up for the earliest timer of the state the partition started from. A recovered
   * partition holds delayed payloads and retries in backoff, and otherwise arms it only after its
   * first message, which may never come.
   */
  armTimers(): void;
  dispose(): void;
}

/** Takes the transfers to partitions in other processes out of the item's effects, as inbox messages. */
function handedOver(item: { effects: PartitionEffect[] }, remote: (to: number) => boolean): OutboxMessage[] | undefined {
  let outbox: OutboxMessage[] | undefined;
  const kept: PartitionEffect[] = [];
  for (const effect of item.effects) {
    if (effect.kind === 'forward' && effect.message.type === 'transfer-in' && remote(effect.to)) {
      (outbox ??= []).push({ partition: effect.to, data: { transfer: { from: effect.message.from, records: effect.message.records } } });
    } else {
      kept.push(effect);
    }
  }
  if (outbox) item.effects = kept;
  return outbox;
}

const NO_DEMAND: readonly never[] = [];

/** A transition's follow-up, waiting until its entry is stored (`seq` 0: it has no entry). */
interface BacklogItem {
  seq: number;
  effects: PartitionEffect[];
  readonly grants: readonly Grant[] | undefined;
  /** What the transition pushed, stored with its entry: each queue and its push count then, in pairs. */
  pushes: (TypeQueue<PayloadRecord> | number)[] | undefined;
  readonly requeued: readonly string[];
  /** The state as of this transition, encoded, when a snapshot is due with its entry: stored once the entry is. */
  snapshot: ReturnType<typeof encodeSnapshot> | undefined;
}

/** Whether a transition changed anything its journal entry must carry. */
const journalled = (t: Transition): boolean =>
  t.added.length > 0 || t.touched.size > 0 || t.claimed.length > 0 || t.started.length > 0 || t.completed.length > 0 || t.evicted.length > 0;

export function spawnPartition(wiring: PartitionWiring): PartitionHandle {
  const { system, index, env, pool, publish, durability } = wiring;
  const clock = env.options.clock;
  let effects: PartitionEffect[] = [];
  /** The transition of the message being handled: what its journal entry must carry. */
  let changes: Transition | undefined;
  const state = wiring.initialState ?? initialPartitionState(index, { shares: env.options.fairness, maxWait: env.options.maxWait });
  let wake: { at: number; timer: TimerHandle } | undefined;
  let journalSeq = durability?.journalSeq ?? 0;
  state.claims.stored = journalSeq;
  state.claims.next = journalSeq + 1;
  /**
   * Starts are journalled ahead of their grants (claims.ts) when durable in one process. Not in a
   * cluster: there a start waits for its fenced entry, which is what refuses a node whose lease
   * another node took while it was paused.
   */
  const claiming = durability !== undefined && !durability.leased && !durability.remote;
  let sinceSnapshot = 0;
  let suspended = false;
  /** The partition left this process: the pool took its slots back, so nothing of it may start or release one. */
  let disposed = false;
  /** Waiting for `settled`: resolved once the backlog item that was last when it was called is done. */
  let storedWaiters: Array<{ item: object; resolve: () => void }> = [];

  const perform = (effect: PartitionEffect): void => {
    switch (effect.kind) {
      case 'event':
        publish(effect.event);
        return;
      case 'run':
        pool.start(effect.order);
        return;
      case 'release':
        pool.release(effect.tier, effect.handlerType, effect.count);
        return;
      case 'abort':
        pool.abort(effect.id, effect.reason);
        return;
      case 'reply':
        effect.deliver();
        return;
      case 'ledger':
        wiring.coordination?.ledger(effect.entries);
        return;
      case 'unledger':
        wiring.coordination?.unledger(effect.ledgerIds);
        return;
      case 'forward':
        wiring.coordination?.forward(effect.to, effect.message);
        return;
    }
  };

  /** The store refused the entry: refuse the submits it accepted and undo them; keep the rest for the retry. */
  const refuse = (todo: PartitionEffect[], error: unknown): PartitionEffect[] => {
    const undo: string[] = [];
    const reverts: DebounceRevert[] = [];
    const kept: PartitionEffect[] = [];
    for (const effect of todo) {
      if (effect.kind === 'reply' && effect.refuse) {
        effect.refuse(new StoreUnavailableError(error));
        undo.push(...(effect.accepted ?? []));
        if (effect.reverts) reverts.push(...effect.reverts);
      } else if (!(effect.kind === 'event' && effect.event.type === 'accepted')) {
        kept.push(effect);
      }
    }
    if (undo.length > 0 || reverts.length > 0) ref.dispatch({ type: 'rollback', ids: undo, reverts });
    return kept;
  };

  /**
   * What follows a transition (its effects, and telling the pool what was granted and what waits)
   * happens in transition order, and only once the transition's journal entry is stored: the pool
   * never hands out a payload whose acceptance is not yet durable.
   */
  const backlog: BacklogItem[] = [];
  /** Seq of the last entry the store acknowledged; an item waits while its seq is above it (0: no entry). */
  let storedSeq = journalSeq;
  const drainBacklog = (): void => {
    let drained = false;
    while (backlog.length > 0 && (backlog[0] as BacklogItem).seq <= storedSeq) {
      const done = backlog.shift() as BacklogItem;
      if (done.seq > state.claims.stored) state.claims.stored = done.seq;
      const { effects: todo, grants } = done;
      if (done.pushes) {
        drained = true;
        const { pushes } = done;
        for (let i = 0; i < pushes.length; i += 2) (pushes[i] as TypeQueue<PayloadRecord>).confirm(pushes[i + 1] as number);
        for (const id of done.requeued) state.unstored.delete(id);
      }
      if (storedWaiters.length > 0) {
        for (const w of storedWaiters) if (w.item === done) w.resolve();
        storedWaiters = storedWaiters.filter((w) => w.item !== done);
      }
      if (done.snapshot && durability) durability.snapshot(durability.key, done.seq, PARTITION_SNAPSHOT_VERSION, done.snapshot);
      // A lapsed lease is reported lost by this check; the partition is dropped (now or once it is recovered).
      if (!disposed && durability?.leased && !durability.leased()) disposed = true;
      if (disposed) {
        // What is stored is true (replies, events, ledger entries hold); its starts run at the next owner.
        for (const effect of todo) if (effect.kind !== 'run' && effect.kind !== 'release') perform(effect);
        continue;
      }
      if (grants) pool.acknowledge(index, grants);
      for (let i = 0; i < todo.length; i++) perform(todo[i] as PartitionEffect);
    }
    if (drained && !disposed && !suspended) pool.setDemand(index, demandOf(state));
  };

  /** The writer tells the partition once per stored batch, not once per entry. */
  const sink: JournalSink = {
    stored(seq) {
      if (seq > storedSeq) storedSeq = seq;
      drainBacklog();
    },
    failed(seq, error) {
      const item = backlog.find((waiting) => waiting.seq === seq);
      if (item) item.effects = refuse(item.effects, error);
    },
  };

  /** Durable: the transition's entry is appended; its effects wait in the backlog until it is stored. */
  const follow = (todo: PartitionEffect[], grants: readonly Grant[] | undefined, durability: PartitionDurability): void => {
    const done = changes as Transition;
    const item: BacklogItem = { seq: 0, effects: todo, grants, pushes: undefined, requeued: done.requeued, snapshot: undefined };
    backlog.push(item);
    if (!journalled(done)) {
      drainBacklog();
      return;
    }
    // What it pushed is offered to the pool once its entry is stored (`PartitionState.unstored`).
    if (done.pushed.length > 0) item.pushes = done.pushed.flatMap((queue) => [queue, queue.pushCount]);
    for (const id of done.requeued) state.unstored.add(id);
    const seq = ++journalSeq;
    item.seq = seq;
    state.claims.next = seq + 1;
    const snapshotDue = ++sinceSnapshot >= durability.snapshotEvery;
    if (snapshotDue) sinceSnapshot = 0;
    const data = deltaOf(state, done);
    // The state goes on changing in place: what the snapshot holds is copied at this turn's end.
    if (snapshotDue) item.snapshot = encodeSnapshot(state);
    const outbox = durability.remote ? handedOver(item, durability.remote) : undefined;
    durability.writer.write(outbox ? { key: durability.key, seq, data, outbox } : { key: durability.key, seq, data }, sink);
  };

  /**
   * A grant in one process, with the store available: runs whose claim is stored start now, and
   * what the grant could not use goes back now; the rest waits for the grant's entry as usual.
   * The grant is acknowledged now, since the demand just published already counts what it took.
   * Nothing starts early while the store is away.
   */
  const startEarly = (grants: readonly Grant[], todo: PartitionEffect[]): void => {
    pool.acknowledge(index, grants);
    let kept = 0;
    for (let i = 0; i < todo.length; i++) {
      const effect = todo[i] as PartitionEffect;
      if ((effect.kind === 'run' && effect.early === true) || effect.kind === 'release') perform(effect);
      else todo[kept++] = effect;
    }
    todo.length = kept;
  };

  /** `swept`: after a sweep, which may have stopped at its slice with more due. */
  const scheduleWake = (swept: boolean): void => {
    const at = nextWakeOf(state);
    if (swept && at !== undefined && at <= clock.now()) {
      // A sweep stopped at its slice with more due: the next slice is the next message, not a timer away.
      wake?.timer.cancel();
      wake = undefined;
      ref.dispatch({ type: 'tick' });
      return;
    }
    if (at === wake?.at) return;
    wake?.timer.cancel();
    // Precise: a payload's runAt is the instant its handler is to start, not a millisecond or two after.
    wake = at === undefined ? undefined : { at, timer: clock.setTimer(at - clock.now(), () => {
      wake = undefined;
      ref.dispatch({ type: 'tick' });
    }, true) };
  };

  const journaled = durability !== undefined;
  const ref = system.spawn<PartitionState, PartitionMessage>(`partition-${index}`, 'partition', state, {
    receive(current, message) {
      const transition = reducePartition(current, message, env, journaled, claiming);
      effects = transition.effects;
      changes = transition;
      return transition.state;
    },
    afterMessage(_, message) {
      const todo = effects;
      effects = [];
      if (message.type === 'report') {
        const now = clock.now();
        // What a limit holds back waits for the limit, not for a slot: it is not load.
        wiring.coordination?.report(partitionStats(state, now, (type) => env.options.limits.isBound(type, now)));
        return;
      }
      if (message.type === 'get') {
        for (const effect of todo) perform(effect); // reads change nothing and need not wait
        return;
      }
      // Demand is published at once: what it offers starts only through a grant, whose own entry
      // is stored after every earlier one, so nothing starts before its acceptance is durable.
      if (!disposed) pool.setDemand(index, suspended ? NO_DEMAND : demandOf(state));
      const granted = message.type === 'grant' ? message.grants : undefined;
      const early = granted !== undefined && claiming && !disposed && !suspended && durability?.writer.available === true;
      if (early) startEarly(granted, todo);
      const grants = early ? undefined : granted;
      if (durability) follow(todo, grants, durability);
      else if (!disposed) {
        if (grants) pool.acknowledge(index, grants);
        for (let i = 0; i < todo.length; i++) perform(todo[i] as PartitionEffect);
      } else {
        for (const effect of todo) if (effect.kind !== 'run' && effect.kind !== 'release') perform(effect);
      }
      scheduleWake(message.type === 'tick');
    },
    summarize: (current) => ({ ...partitionStats(current, clock.now()) }),
  });

  return {
    ref,
    state: () => state,
    async snapshotNow() {
      if (!durability) return;
      sinceSnapshot = 0;
      // Taken at a turn boundary (between messages): the state is consistent as of the last appended entry.
      await durability.snapshotNow(durability.key, journalSeq, PARTITION_SNAPSHOT_VERSION, encodeSnapshot(state));
    },
    suspend() {
      suspended = true;
      pool.setDemand(index, NO_DEMAND);
    },
    settled: () =>
      // A lookup is answered in mailbox order, so once it is, every earlier message has been processed.
      new Promise<void>((resolve) => ref.dispatch({ type: 'get', id: '', reply: () => resolve() }))
        .then(() => {
          const item = backlog.at(-1);
          return item === undefined ? undefined : new Promise<void>((resolve) => storedWaiters.push({ item, resolve }));
        }),
    armTimers() {
      if (!disposed) scheduleWake(false);
    },
    dispose() {
      disposed = true;
      suspended = true;
      wake?.timer.cancel();
      wake = undefined;
    },
  };
}
