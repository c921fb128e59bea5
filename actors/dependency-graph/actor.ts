/**
 * The dependency-graph actor: the reducer from reducer.ts, wired to the edge. The runtime talks to
 * it through `DependencyGraph`: it hands over submits with `dependsOn`, forwards terminal events
 * of watched ids (coalesced into one message per turn), and asks it about payloads it holds.
 * Payloads without `dependsOn` never come here.
 */
import type { ActorRef, ActorSystem } from '../../src/core/actor-system.ts';
import { ValidationError, toFailure, type FieldProblem, type TriageError } from '../../src/errors.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { Logger } from '../../src/execution/handlers.ts';
import type { DependencyOutcome, Payload, PayloadView } from '../../src/payload.ts';
import type { EnqueueBatch, EnqueueResult } from '../partition/messages.ts';
import type { ResolvedBatch } from './batch.ts';
import type { GraphEffect, GraphMessage, Settlement } from './messages.ts';
import { reduceGraph, type GraphDelta, type GraphEnv } from './reducer.ts';
import { graphSummary, graphView, initialGraphState, isWatched, outcomeOfEvent, outcomeOfView, watchedIds, type GraphState } from './state.ts';
import type { ActorJournal } from '../../src/persistence/actor-journal.ts';

export interface GraphHost {
  readonly system: ActorSystem;
  readonly env: GraphEnv;
  readonly logger: Logger;
  /** Sends a batch to a partition now (released payloads, marked `admitted`). */
  dispatchEnqueue(partition: number, batch: EnqueueBatch): void;
  /** The ordinary micro-batched enqueue, for a batch's payloads without dependencies. */
  enqueue(partition: number, payload: Payload, settle: (result: EnqueueResult) => void): void;
  /** The owning partition's view of a payload. */
  lookup(id: string): Promise<PayloadView | undefined>;
  /** Publishes an event of a payload the graph ended. */
  publish(event: PayloadEvent): void;
  /** Runs `fn` after `ms` (released payloads the store refused are offered again). */
  retryLater(ms: number, fn: () => void): void;
}

/** How long a release waits before it is offered again after its partition refused it (store away). */
const RELEASE_RETRY_MS = 200;

export class DependencyGraph {
  private ref: ActorRef<GraphMessage> | undefined;
  private committed: GraphState = initialGraphState();
  private effects: GraphEffect[] = [];
  private delta: GraphDelta | undefined;
  private settlements: Settlement[] = [];
  private journal: ActorJournal<GraphState> | undefined;

  constructor(private readonly host: GraphHost) {}

  /**
   * Spawns the actor on the recovered state. Entries go to `journal`; replies and events follow
   * once their entry is stored, releases go out at once (see `perform`).
   */
  start(initial: GraphState, journal: ActorJournal<GraphState>, name = 'dependency-graph'): void {
    this.committed = initial;
    this.journal = journal;
    this.ref = this.host.system.spawn<GraphState, GraphMessage>(name, 'dependency-graph', initial, {
      receive: (state, message) => {
        const transition = reduceGraph(state, message, this.host.env);
        this.effects = transition.effects;
        this.delta = transition.delta;
        return transition.state;
      },
      afterMessage: (state) => {
        this.committed = state;
        const todo = this.effects;
        const delta = this.delta;
        this.effects = [];
        this.delta = undefined;
        const later: GraphEffect[] = [];
        const released = this.performNow(todo, later);
        journal.record(state, delta, () => this.performLater(later), released);
      },
      summarize: graphSummary,
    });
  }

  /**
   * After recovery: a dependency may have ended while the process was down, so its event never
   * came. Each watched id is looked up once; an id no partition knows (its submit was never
   * acknowledged) counts as failed, so nothing waits forever.
   */
  resync(): void {
    const { nodes, ended } = this.committed;
    for (const id of watchedIds(this.committed)) {
      if (nodes.has(id)) continue; // held here: its own ending will be reported
      const mine = ended.get(id);
      if (mine) {
        this.report(id, { status: mine.status, error: mine.error });
        continue;
      }
      this.host.lookup(id).then(
        (view) => {
          if (!view) this.report(id, { status: 'failed', error: { code: 'LOST', message: 'not found after recovery: its submit was never acknowledged', name: 'LostDependencyError' } });
          else {
            const outcome = outcomeOfView(view);
            if (outcome) this.report(id, outcome);
          }
        },
        (error: unknown) => this.host.logger.warn('could not look up a dependency after recovery', { id, error: String(error) }),
      );
    }
  }

  snapshotNow(): Promise<void> {
    return this.journal ? this.journal.snapshotNow() : Promise.resolve();
  }

  /** Holds nothing and waits on nothing. */
  get idle(): boolean {
    const { nodes, watch, edges } = this.committed;
    return nodes.size === 0 && watch.size === 0 && edges.nodeCount() === 0;
  }

  /** Stops the actor (an adopted home that is done, or whose lease is gone). */
  retire(): void {
    if (this.ref) this.host.system.retire(this.ref.path);
    this.ref = undefined;
  }

  /** The live state, as of the last turn (read-only: the actor changes it in place). */
  state(): GraphState {
    return this.committed;
  }

  /** Whether payloads wait on `id` (its terminal event must then be built and forwarded here). */
  watches(id: string): boolean {
    return isWatched(this.committed, id);
  }

  /** `get` for a payload the graph holds or ended; undefined otherwise (ask its partition). */
  view(id: string): PayloadView | undefined {
    const { nodes, ended } = this.committed;
    return nodes.size === 0 && ended.size === 0 ? undefined : graphView(this.committed, id);
  }

  holds(id: string): boolean {
    const nodes = this.committed.nodes;
    return nodes.size > 0 && nodes.has(id);
  }

  /** Cancels a held payload; resolves false if the graph no longer holds it (it was released meanwhile). */
  cancel(id: string): Promise<boolean> {
    return new Promise((resolve) => this.actor.dispatch({ type: 'cancel', id, reply: resolve }));
  }

  /** A terminal event from a partition: forwarded if payloads wait on its id. */
  observe(event: PayloadEvent): void {
    if (!this.watches(event.id)) return;
    const outcome = outcomeOfEvent(event);
    if (outcome) this.report(event.id, outcome);
  }

  /**
   * Registers a batch that has payloads with dependencies; resolves with all ids once it is
   * accepted, after which its payloads without dependencies are enqueued. Rejects with a
   * ValidationError naming every unknown dependency, and then nothing was enqueued.
   */
  submit(batch: ResolvedBatch): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.actor.dispatch({
        type: 'register',
        waiting: batch.waiting,
        external: batch.external,
        reply: (result) => {
          if (result.ok) return this.enqueueDirect(batch, resolve, reject);
          if (!('unknown' in result)) return reject(result.error);
          const problems: FieldProblem[] = [];
          for (const id of result.unknown) {
            for (const field of batch.fieldsOf.get(id) ?? ['dependsOn']) {
              problems.push({ field, problem: `names no known payload (${JSON.stringify(id)}: never submitted, or forgotten after it ended)` });
            }
          }
          reject(new ValidationError(problems));
        },
      });
    });
  }

  private enqueueDirect(batch: ResolvedBatch, resolve: (ids: string[]) => void, reject: (error: unknown) => void): void {
    let remaining = batch.direct.length;
    if (remaining === 0) return resolve([...batch.ids]);
    const rejected = new Set<string>();
    let firstError: TriageError | undefined;
    for (const { payload, partition } of batch.direct) {
      this.host.enqueue(partition, payload, (result) => {
        if (!result.ok) {
          firstError ??= result.error;
          rejected.add(payload.id);
          // Its dependents were accepted: they must learn that it will never run.
          this.report(payload.id, { status: 'failed', error: toFailure(result.error) });
        }
        if (--remaining > 0) return;
        if (!firstError) return resolve([...batch.ids]);
        reject(Object.assign(firstError, { accepted: batch.ids.filter((id) => !rejected.has(id)) }));
      });
    }
  }

  private report(id: string, outcome: DependencyOutcome): void {
    this.settlements.push({ id, outcome });
    if (this.settlements.length > 1) return;
    queueMicrotask(() => {
      const settlements = this.settlements;
      this.settlements = [];
      this.actor.dispatch({ type: 'settled', settlements });
    });
  }

  private get actor(): ActorRef<GraphMessage> {
    if (!this.ref) throw new Error('the dependency graph has not started (the runtime is still recovering)');
    return this.ref;
  }

  /**
   * Releases and lookups go out at once; the rest waits for the journal. Resolves once every
   * released payload is stored by its partition: only then is "released" journalled here.
   */
  private performNow(effects: readonly GraphEffect[], later: GraphEffect[]): Promise<void> | undefined {
    let released: Map<number, Payload[]> | undefined;
    for (const effect of effects) {
      switch (effect.kind) {
        case 'release': {
          released ??= new Map();
          const list = released.get(effect.partition);
          if (list) list.push(effect.payload);
          else released.set(effect.partition, [effect.payload]);
          break;
        }
        case 'lookup':
          this.lookup(effect.registration, effect.ids);
          break;
        default:
          later.push(effect);
      }
    }
    if (!released) return undefined;
    return Promise.all([...released].map(([partition, payloads]) => this.release(partition, payloads))).then(() => {});
  }

  private performLater(effects: readonly GraphEffect[]): void {
    for (const effect of effects) {
      if (effect.kind === 'event') this.host.publish(effect.event);
      else if (effect.kind === 'reply') effect.deliver();
    }
  }

  /** Hands released payloads to their partition until it has stored them all (retrying what the store refused). */
  private release(partition: number, payloads: readonly Payload[]): Promise<void> {
    return new Promise((resolve) => {
      let remaining = payloads.length;
      const refused: Payload[] = [];
      this.host.dispatchEnqueue(partition, {
        payloads,
        admitted: true,
        settle: (index, result) => {
          if (!result.ok) {
            this.host.logger.warn('released payload not stored yet; offering it again', { id: payloads[index]?.id, error: String(result.error) });
            refused.push(payloads[index] as Payload);
          }
          if (--remaining > 0) return;
          if (refused.length === 0) return resolve();
          this.host.retryLater(RELEASE_RETRY_MS, () => void this.release(partition, refused).then(resolve));
        },
      });
    });
  }

  private lookup(registration: number, ids: readonly string[]): void {
    Promise.all(ids.map((id) => this.host.lookup(id))).then(
      (views) => this.actor.dispatch({ type: 'looked-up', registration, found: new Map(ids.map((id, i) => [id, views[i]])) }),
      (error: unknown) => this.actor.dispatch({ type: 'lookup-failed', registration, error }),
    );
  }
}
