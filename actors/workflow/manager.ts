/**
 * `runtime.workflows`: starts instances (one actor each), routes the outcomes of their step
 * payloads back to them, and answers `waitFor`, `cancel`, `get`, `list` and workflow events.
 *
 * Every payload of an instance carries the instance id as its shard key, so all of an instance's
 * steps live on one partition. The ids of step payloads are watched: their terminal events are
 * built (even when no one else listens) and forwarded, coalesced, one message per instance per turn.
 */
import type { Clock } from '../../src/clock.ts';
import type { ActorSystem } from '../../src/core/actor-system.ts';
import { IdGenerator, withHome } from '../../src/core/ids.ts';
import { isWorkflowDefinition, type WorkflowDefinition } from '../../src/dsl/definition.ts';
import { parseInput } from '../../src/dsl/input.ts';
import { unknownFields, type KnownFields } from '../../src/known-fields.ts';
import {
  CancelledError, OptionsError, RuntimeStoppedError, toFailure, TriageError, ValidationError, WorkflowDefinitionError, WorkflowFailedError,
  WorkflowInputError, type PayloadFailure, type WorkflowProblem,
} from '../../src/errors.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { Logger } from '../../src/execution/handlers.ts';
import type { PayloadInput, PayloadView } from '../../src/payload.ts';
import { outcomeOfEvent, outcomeOfView } from '../dependency-graph/state.ts';
import type { ActorJournal } from '../../src/persistence/actor-journal.ts';
import { emptyWorkflows, putInstance, workflowDelta, type DurableInstance, type DurableWorkflows } from './codec.ts';
import { spawnWorkflow, type WorkflowHandle } from './actor.ts';
import type { Purpose, StepOutcome, SubmittedRef, WorkflowEffect, WorkflowEvent, WorkflowEventType } from './messages.ts';
import type { WorkflowEnv } from './reducer.ts';
import { FINISHED_WORKFLOW, initialWorkflowState, workflowView, type WorkflowState, type WorkflowView } from './state.ts';

/** How long a step refused by an unavailable store waits before it is submitted again, ms. */
const STORE_RETRY_MS = 250;

export interface WorkflowsHost {
  readonly system: ActorSystem;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Finished instances kept for `get`/`waitFor`/`list`, oldest forgotten first. */
  readonly retainFinished: number;
  /** Validates and enqueues a payload. The id is known at once, so its events are watched from the start. Throws ValidationError. */
  submit(input: PayloadInput): { readonly id: string; readonly accepted: Promise<string> };
  cancel(id: string): Promise<boolean>;
  hasHandler(type: string): boolean;
  isRunning(): boolean;
  /** Why no instance can start now (the durable store is away), or undefined. */
  storeRefusal?(): Error | undefined;
  /** Resolves once the runtime has recovered (instances start only after that). */
  ready(): Promise<void>;
  /** The owning partition's view of a payload. */
  lookup(id: string): Promise<PayloadView | undefined>;
  /** In a cluster: the home of the instances started here, named in their ids (see `withHome`). */
  readonly home?: string;
  /** In a cluster: the view of an instance another node runs (its own, or a home it adopted); rejects when a node did not answer. */
  elsewhere?(id: string): Promise<WorkflowView | undefined>;
  /** In a cluster: cancels an instance another node runs; false if no node runs it. */
  cancelElsewhere?(id: string): Promise<boolean>;
}

/** How often `waitFor` reads an instance that runs on another node: from the first, doubling up to the last. */
const REMOTE_POLL_MS = [50, 1_000] as const;

export interface StartOptions {
  /** Client of the instance's payloads (per-client events, fairness). Default `"default"`. */
  readonly clientId?: string;
}

export const START_FIELDS = { clientId: true } as const satisfies KnownFields<StartOptions>;

export type WorkflowListener = (event: WorkflowEvent) => void;

interface Instance {
  readonly id: string;
  readonly definition: WorkflowDefinition;
  readonly clientId: string;
  readonly handle: WorkflowHandle;
  /** The state its last journal entry described (undefined before the first). */
  last: WorkflowState | undefined;
  /** Resolves `start` once the instance's first entry is stored (a started instance survives a crash); rejects it at stop. */
  started: { resolve(): void; reject(error: unknown): void } | undefined;
  /** Recovered from the journal: a step it submits again may have run, even ended, already. */
  readonly recovered: boolean;
}

interface Owner {
  readonly instance: Instance;
  readonly step: string;
  readonly index: number;
  readonly purpose: Purpose;
}

type Waiter = { resolve(value: unknown): void; reject(error: unknown): void };

export class Workflows {
  private readonly running = new Map<string, Instance>();
  /** Views of finished instances, oldest first (a Map keeps insertion order). */
  private readonly finished = new Map<string, WorkflowView>();
  /** Step and compensation payload id → the instance item it runs. */
  private readonly owners = new Map<string, Owner>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly listeners = new Map<WorkflowEventType | '*', Set<WorkflowListener>>();
  private readonly ids = new IdGenerator();
  private outbox = new Map<Instance, StepOutcome[]>();
  /** Definitions by name: recovered instances resume once theirs is registered. */
  private readonly definitions = new Map<string, WorkflowDefinition>();
  /** Recovered instances whose definition is not registered yet. */
  private readonly dormant = new Map<string, DurableInstance>();
  private durable: DurableWorkflows = emptyWorkflows();
  private journal: ActorJournal<DurableWorkflows> | undefined;

  constructor(private readonly host: WorkflowsHost) {}

  /**
   * Makes definitions known by name, so instances recovered after a restart resume (running ones
   * submit again what may not have been; finished ones answer `get`/`waitFor`). `start` registers
   * its definition too.
   */
  register(...definitions: WorkflowDefinition<any, any>[]): this {
    for (const definition of definitions) {
      if (!isWorkflowDefinition(definition)) {
        throw new WorkflowDefinitionError('(unknown)', [{ step: '(workflow)', field: 'definition', problem: 'is not a workflow definition (build one with workflow() or defineWorkflow())' }]);
      }
      this.definitions.set(definition.name, definition as WorkflowDefinition);
      if (this.journal) this.wake(definition as WorkflowDefinition);
    }
    return this;
  }

  /** At boot: the instances the journal holds, and where new entries go. */
  recover(state: DurableWorkflows, journal: ActorJournal<DurableWorkflows>): void {
    this.durable = state;
    this.journal = journal;
    for (const [id, instance] of state.instances) this.dormant.set(id, instance);
    for (const definition of this.definitions.values()) this.wake(definition);
  }

  snapshotNow(): Promise<void> {
    return this.journal ? this.journal.snapshotNow() : Promise.resolve();
  }

  /** Running instances, and recovered ones waiting for their definition. */
  get active(): number {
    return this.running.size + this.dormant.size;
  }

  /** Every definition registered here (an adopted home runs its instances with the same ones). */
  registered(): WorkflowDefinition[] {
    return [...this.definitions.values()];
  }

  /** Stops every running instance's actor without ending it (its lease is gone: another node runs it). */
  retire(): void {
    for (const instance of this.running.values()) this.host.system.retire(instance.handle.ref.path);
    this.running.clear();
    this.owners.clear();
    this.dormant.clear();
  }

  /** Instances recovered but waiting for their definition to be registered. */
  get waitingForDefinition(): number {
    return this.dormant.size;
  }

  private wake(definition: WorkflowDefinition): void {
    for (const [id, { clientId, state }] of this.dormant) {
      if (state.workflow !== definition.name) continue;
      this.dormant.delete(id);
      if (FINISHED_WORKFLOW.has(state.status)) {
        this.retainFinished(id, workflowView(state, definition));
        continue;
      }
      const instance = this.spawn(id, definition, clientId, state, state, true);
      instance.handle.ref.dispatch({ type: 'resume' });
    }
  }

  private spawn(id: string, definition: WorkflowDefinition, clientId: string, state: WorkflowState, last: WorkflowState | undefined, recovered = false): Instance {
    const env: WorkflowEnv = {
      definition,
      stepsByName: new Map(definition.steps.map((s) => [s.name, s])),
      now: () => this.host.clock.now(),
      clientId,
      shardKey: id,
    };
    const instance: Instance = {
      id,
      definition,
      clientId,
      last,
      started: undefined,
      recovered,
      handle: spawnWorkflow(this.host.system, state, env, (effects, next) => this.transitioned(instance, effects, next)),
    };
    this.running.set(id, instance);
    return instance;
  }

  /** Journals the instance's transition; its effects follow once the entry is stored. */
  private transitioned(instance: Instance, effects: readonly WorkflowEffect[], state: WorkflowState): void {
    const journal = this.journal as ActorJournal<DurableWorkflows>;
    const delta = workflowDelta(instance.last, state, instance.clientId);
    if (delta) this.durable = putInstance(this.durable, { clientId: instance.clientId, state }, instance.last, this.host.retainFinished);
    instance.last = state;
    journal.record(this.durable, delta, () => {
      const started = instance.started;
      instance.started = undefined;
      started?.resolve();
      this.perform(instance, effects, state);
    });
  }

  /**
   * Starts an instance of `definition` with `input`; resolves with its id once the instance is
   * journalled (on Redis: it survives a crash from then on). Rejects with WorkflowDefinitionError
   * if a handler it needs is not registered.
   */
  start<I, O>(definition: WorkflowDefinition<I, O>, input: I, options: StartOptions = {}): Promise<string> {
    const unknown = unknownFields(options, START_FIELDS, '', 'is not a start option');
    if (unknown.length > 0) return Promise.reject(new OptionsError(unknown));
    if (!this.host.isRunning()) return Promise.reject(new RuntimeStoppedError());
    const away = this.host.storeRefusal?.();
    if (away) return Promise.reject(away);
    if (!isWorkflowDefinition(definition)) {
      return Promise.reject(new WorkflowDefinitionError('(unknown)', [{ step: '(workflow)', field: 'definition', problem: 'is not a workflow definition (build one with workflow() or defineWorkflow())' }]));
    }
    const def = definition as WorkflowDefinition;
    const problems: WorkflowProblem[] = [];
    for (const step of def.steps) {
      if (!this.host.hasHandler(step.handler)) problems.push({ step: step.name, field: 'handler', problem: `has no handler registered (${JSON.stringify(step.handler)})` });
      if (step.compensate && !this.host.hasHandler(step.compensate.handler)) {
        problems.push({ step: step.name, field: 'compensate.handler', problem: `has no handler registered (${JSON.stringify(step.compensate.handler)})` });
      }
    }
    if (problems.length > 0) return Promise.reject(new WorkflowDefinitionError(def.name, problems));
    if (options.clientId !== undefined && (typeof options.clientId !== 'string' || options.clientId.length === 0)) {
      return Promise.reject(new ValidationError([{ field: 'clientId', problem: 'must be a non-empty string' }]));
    }
    // The input is checked against the definition's schema before anything is registered or stored.
    const checked = def.input === undefined ? { ok: true as const, value: input as unknown } : parseInput(def.input, input);
    if (!checked.ok) return Promise.reject(new WorkflowInputError(def.name, checked.problems));
    this.register(def);
    return this.host.ready().then(() => {
      if (!this.host.isRunning()) throw new RuntimeStoppedError();
      const unique = `wf-${this.ids.next()}`;
      const id = this.host.home === undefined ? unique : withHome(unique, this.host.home);
      const instance = this.spawn(id, def, options.clientId ?? 'default', initialWorkflowState(id, def, checked.value, this.host.clock.now()), undefined);
      return new Promise<string>((resolve, reject) => {
        instance.started = { resolve: () => resolve(id), reject };
        instance.handle.ref.dispatch({ type: 'start' });
      });
    });
  }

  /**
   * Resolves with the instance's result; rejects with WorkflowFailedError or CancelledError. In a
   * cluster, an instance another node runs is read there until it ends.
   */
  waitFor<O = unknown>(id: string): Promise<O> {
    const view = this.finished.get(id);
    if (view) return settled(view) as Promise<O>;
    if (!this.running.has(id) && !this.dormant.has(id)) {
      if (this.host.elsewhere) return this.waitElsewhere(id) as Promise<O>;
      return Promise.reject(unknownWorkflow(id));
    }
    return new Promise<O>((resolve, reject) => {
      const waiter: Waiter = { resolve: resolve as (value: unknown) => void, reject };
      const list = this.waiters.get(id);
      if (list) list.push(waiter);
      else this.waiters.set(id, [waiter]);
    });
  }

  /**
   * Cancels a running instance: outstanding steps are cancelled and compensations run. False if it
   * had ended (or is unknown). In a cluster, an instance another node runs is cancelled there.
   */
  cancel(id: string): Promise<boolean> {
    const instance = this.running.get(id);
    if (!instance) return this.finished.has(id) || !this.host.cancelElsewhere ? Promise.resolve(false) : this.host.cancelElsewhere(id);
    return new Promise((resolve) => instance.handle.ref.dispatch({ type: 'cancel', reply: resolve }));
  }

  /**
   * The instance's status and step states wherever it runs: in a cluster, asked of the other nodes
   * when it does not run here. Undefined if no node knows it (or it was forgotten after it ended).
   */
  async find(id: string): Promise<WorkflowView | undefined> {
    return this.get(id) ?? (await this.host.elsewhere?.(id));
  }

  /** The instance's status and step states; undefined if unknown here (or forgotten after it ended). */
  get(id: string): WorkflowView | undefined {
    const instance = this.running.get(id);
    if (instance) return workflowView(instance.handle.state(), instance.definition);
    return this.finished.get(id);
  }

  /** Running instances, then retained finished ones (oldest first). */
  list(): WorkflowView[] {
    return [...[...this.running.values()].map((i) => workflowView(i.handle.state(), i.definition)), ...this.finished.values()];
  }

  /** Subscribes to workflow events of one type, or `*` for all. Returns the unsubscribe function. */
  on(type: WorkflowEventType | '*', listener: WorkflowListener): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  /** Whether `id` is a step payload of a running instance (its terminal event must be built). */
  watches(id: string): boolean {
    return this.owners.size > 0 && this.owners.has(id);
  }

  /** A payload event: a terminal one of a step payload goes to its instance. */
  observe(event: PayloadEvent): void {
    if (this.owners.size === 0) return;
    const owner = this.owners.get(event.id);
    if (!owner) return;
    const outcome = outcomeOfEvent(event) ?? this.yielded(owner, event);
    if (!outcome) return; // not terminal (a retry, a load skip of a step that must run)
    this.owners.delete(event.id);
    this.report(owner, { status: outcome.status, result: outcome.result, error: outcome.error });
  }

  /**
   * A step payload skipped under load waits in the coordinator's ledger to run later. An optional
   * step does not wait for that: it yields — the payload is cancelled and the item counts as
   * skipped, so speculative work never holds up the instance.
   */
  private yielded(owner: Owner, event: PayloadEvent): { status: 'skipped'; result?: undefined; error: PayloadFailure } | undefined {
    if (event.type !== 'skipped' || owner.purpose !== 'step') return undefined;
    if (owner.instance.definition.steps.find((s) => s.name === owner.step)?.optional !== true) return undefined;
    this.host.cancel(event.id).catch((error: unknown) => this.host.logger.warn('could not cancel a deferred optional step', { id: event.id, error: String(error) }));
    return { status: 'skipped', error: { code: 'SKIPPED', message: event.reason ?? 'skipped under load', name: 'SkippedError' } };
  }

  private async waitElsewhere(id: string): Promise<unknown> {
    let seen = false;
    for (let pause: number = REMOTE_POLL_MS[0]; ; pause = Math.min(pause * 2, REMOTE_POLL_MS[1])) {
      let view: WorkflowView | undefined;
      try {
        view = this.get(id) ?? (await this.host.elsewhere!(id));
      } catch {
        // A node that did not answer may run it: ask again.
        if (!this.host.isRunning()) throw new RuntimeStoppedError();
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
      // Once seen, an instance that no node shows is between homes (its node died, it is not adopted yet).
      if (!view && !seen) throw unknownWorkflow(id);
      seen = true;
      if (!view) {
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
      if (FINISHED_WORKFLOW.has(view.status)) return settled(view);
      if (!this.host.isRunning()) throw new RuntimeStoppedError();
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** The runtime stopped: pending `waitFor` calls reject. */
  stopped(): void {
    // Starts whose first entry was never stored: the instance was not started.
    for (const instance of this.running.values()) {
      const started = instance.started;
      instance.started = undefined;
      started?.reject(new RuntimeStoppedError());
    }
    for (const [id, list] of [...this.waiters]) {
      this.waiters.delete(id);
      for (const w of list) w.reject(new RuntimeStoppedError());
    }
  }

  private perform(instance: Instance, effects: readonly WorkflowEffect[], state: WorkflowState): void {
    const refs: SubmittedRef[] = [];
    for (const effect of effects) {
      switch (effect.kind) {
        case 'submit':
          this.submit(instance, effect.step, effect.index, effect.purpose, effect.payload, refs);
          break;
        case 'cancel':
          for (const id of effect.ids) this.host.cancel(id).catch((error: unknown) => this.host.logger.warn('could not cancel a workflow step', { id, error: String(error) }));
          break;
        case 'event':
          this.emit(effect.event);
          break;
        case 'reply':
          effect.deliver();
          break;
        case 'finish':
          this.finish(instance, state);
          break;
      }
    }
    if (refs.length > 0 && this.running.has(instance.id)) instance.handle.ref.dispatch({ type: 'submitted', refs });
  }

  private submit(instance: Instance, step: string, index: number, purpose: Purpose, payload: PayloadInput, refs: SubmittedRef[]): void {
    const owner: Owner = { instance, step, index, purpose };
    let submitted: { id: string; accepted: Promise<string> };
    try {
      submitted = this.host.submit(payload);
    } catch (error) {
      if (this.submitLater(owner, payload, error)) return;
      this.report(owner, { status: 'failed', error: toFailure(error) });
      return;
    }
    const { id } = submitted;
    this.owners.set(id, owner);
    refs.push({ step, index, purpose, id });
    submitted.accepted.then(
      // The same id comes back for a payload stored before when ids derive from idempotency keys (a cluster).
      (stored) => (stored !== id || instance.recovered) && this.followEarlier(owner, id, stored),
      (error: unknown) => {
        // Never accepted (a full queue, a stopping runtime): no event will come for it.
        if (this.owners.delete(id) && !this.submitLater(owner, payload, error)) this.report(owner, { status: 'failed', error: toFailure(error) });
      },
    );
  }

  /**
   * A step refused because the durable store is away is submitted again once it may be back: an
   * outage is no failure of the step. False for any other refusal.
   */
  private submitLater(owner: Owner, payload: PayloadInput, error: unknown): boolean {
    if ((error as { code?: unknown } | null)?.code !== 'STORE_UNAVAILABLE' || !this.host.isRunning()) return false;
    const { instance, step, index, purpose } = owner;
    this.host.clock.setTimer(STORE_RETRY_MS, () => {
      if (!this.host.isRunning() || !this.running.has(instance.id)) return;
      const refs: SubmittedRef[] = [];
      this.submit(instance, step, index, purpose, payload, refs);
      if (refs.length > 0) instance.handle.ref.dispatch({ type: 'submitted', refs });
    });
    return true;
  }

  /**
   * The item's idempotency key named a payload stored before a restart: follow that one. It may
   * have ended while the process was down, so its outcome is looked up as well as awaited.
   */
  private followEarlier(owner: Owner, submittedId: string, stored: string): void {
    if (this.owners.get(submittedId) !== owner) return;
    if (stored !== submittedId) {
      this.owners.delete(submittedId);
      this.owners.set(stored, owner);
      const { instance, step, index, purpose } = owner;
      if (this.running.has(instance.id)) instance.handle.ref.dispatch({ type: 'submitted', refs: [{ step, index, purpose, id: stored }] });
    }
    this.host.lookup(stored).then(
      (view) => {
        const outcome = view && outcomeOfView(view);
        if (!outcome || this.owners.get(stored) !== owner) return;
        this.owners.delete(stored);
        this.report(owner, { status: outcome.status, result: outcome.result, error: outcome.error });
      },
      (error: unknown) => this.host.logger.warn('could not look up a recovered workflow step', { id: stored, error: String(error) }),
    );
  }

  private report(owner: Owner, outcome: Omit<StepOutcome, 'step' | 'index' | 'purpose'>): void {
    const { instance, step, index, purpose } = owner;
    if (this.outbox.size === 0) queueMicrotask(() => this.flush());
    let list = this.outbox.get(instance);
    if (!list) this.outbox.set(instance, (list = []));
    list.push({ step, index, purpose, ...outcome });
  }

  private flush(): void {
    const outbox = this.outbox;
    this.outbox = new Map();
    for (const [instance, outcomes] of outbox) {
      if (this.running.has(instance.id)) instance.handle.ref.dispatch({ type: 'settled', outcomes });
    }
  }

  private finish(instance: Instance, state: WorkflowState): void {
    const view = workflowView(state, instance.definition);
    this.running.delete(instance.id);
    this.host.system.retire(instance.handle.ref.path);
    this.retainFinished(instance.id, view);
    const list = this.waiters.get(instance.id);
    if (!list) return;
    this.waiters.delete(instance.id);
    const outcome = settled(view);
    for (const w of list) outcome.then(w.resolve, w.reject);
  }

  private retainFinished(id: string, view: WorkflowView): void {
    if (this.host.retainFinished === 0) return;
    this.finished.set(id, view);
    for (const oldest of this.finished.keys()) {
      if (this.finished.size <= this.host.retainFinished) break;
      this.finished.delete(oldest);
    }
  }

  private emit(event: WorkflowEvent): void {
    for (const key of [event.type, '*'] as const) {
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const listener of set) {
        try {
          listener(event);
        } catch (error) {
          this.host.logger.error('workflow event listener threw', { event: event.type, error: String(error) });
        }
      }
    }
  }
}

/** The `waitFor` outcome of a finished instance. */
/** How `waitFor` ends for a finished instance (also a producer client's, see src/client). */
export function settled(view: WorkflowView): Promise<unknown> {
  if (view.status === 'completed') return Promise.resolve(view.result);
  if (view.status === 'cancelled') return Promise.reject(new CancelledError(`workflow ${view.id} was cancelled`));
  const error = view.error ?? { code: 'WORKFLOW_FAILED', message: 'failed', name: 'Error' };
  return Promise.reject(new WorkflowFailedError(view.id, view.failedStep ?? '(unknown)', error, view.compensationFailures));
}

function unknownWorkflow(id: string): TriageError {
  return new TriageError('UNKNOWN_WORKFLOW', `no workflow instance with id ${JSON.stringify(id)}`);
}
