/**
 * The one place that touches nact. nact's typings have holes (untyped persistence context, a typo'd
 * type parameter), and its runtime swallows faults and drops messages to stopped actors silently;
 * this module gives the rest of Triage a small typed surface that reports both.
 *
 * An actor here is a reducer `(state, message) => nextState`; effects it asks for are performed by
 * the caller-supplied `afterMessage` hook, outside the reducer.
 *
 * Each actor keeps its own FIFO mailbox. nact runs every message it is given on a turn of its own
 * and builds a context for it, so it is given one `drain` message whenever an actor's mailbox has
 * work and none is pending; the drain processes queued messages one at a time, in order, while the
 * runtime's turn budget (turn-budget.ts: one budget for all actors and batches in a turn of the
 * event loop) has time, and otherwise leaves the rest to the start of the next turn, so no turn of
 * the event loop runs long however many actors have work.
 */
import nact from 'nact';
import { Mailbox } from './mailbox.ts';
import { TurnBudget } from './turn-budget.ts';

/** What nact carries: "process your mailbox". */
const DRAIN = Object.freeze({ drain: true });

interface NactRef {
  readonly path: unknown;
}
interface NactModule {
  start(options?: { name?: string }): NactRef;
  spawn<S, M>(
    parent: NactRef,
    f: (state: S, message: M, ctx: unknown) => S | Promise<S>,
    name: string,
    properties?: { initialState?: S; onCrash?: (msg: M, error: unknown, ctx: { resume: unknown }) => unknown },
  ): NactRef;
  dispatch(actor: NactRef, message: unknown): void;
  stop(actor: NactRef): void;
}
const { start, spawn, dispatch, stop } = nact as unknown as NactModule;

export interface ActorBehaviour<S, M> {
  /** Pure transition. Must not await or perform I/O. */
  readonly receive: (state: S, message: M) => S;
  /** Runs after each transition with the committed state (effects, reporting). */
  readonly afterMessage?: (state: S, message: M) => void;
  /** A short summary of the state for the live actor tree. */
  readonly summarize?: (state: S) => Record<string, unknown>;
}

export interface ActorRef<M> {
  readonly path: string;
  readonly kind: string;
  dispatch(message: M): void;
}

export interface ActorInfo {
  readonly path: string;
  readonly kind: string;
  /** Messages dispatched but not yet processed. */
  readonly mailbox: number;
  readonly processed: number;
  readonly summary: Record<string, unknown>;
}

export interface ActorSystemHooks {
  /** A message sent to an actor that has stopped (nact would drop it silently). */
  onDeadLetter?(path: string, message: unknown): void;
  /** A reducer threw; the actor keeps its previous state and goes on with the next message. */
  onFault?(path: string, error: unknown, message: unknown): void;
}

interface Cell {
  readonly kind: string;
  state: unknown;
  readonly mailbox: Mailbox<unknown>;
  /** A drain message is with nact, this cell's drain is running, or it waits for the next turn's budget. */
  drainPending: boolean;
  /** Messages dispatched and not yet processed. */
  inFlight: number;
  processed: number;
  stopped: boolean;
  /** Retire once the mailbox is empty (short-lived actors, e.g. one per workflow instance). */
  retiring: boolean;
  ref: NactRef | undefined;
  readonly summarize: ((state: never) => Record<string, unknown>) | undefined;
}

export class ActorSystem {
  private readonly root: NactRef;
  private readonly cells = new Map<string, Cell>();
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** Engine work per turn of the event loop, shared by every actor here (and the runtime's batches). */
  readonly budget = new TurnBudget();

  constructor(readonly name: string, private readonly hooks: ActorSystemHooks = {}) {
    this.root = start({ name });
  }

  spawn<S, M>(name: string, kind: string, initialState: S, behaviour: ActorBehaviour<S, M>): ActorRef<M> {
    const path = `/${this.name}/${name}`;
    if (this.cells.has(path)) throw new Error(`actor ${path} already exists`);
    const cell: Cell = {
      kind, state: initialState, mailbox: new Mailbox<unknown>(), drainPending: false, inFlight: 0, processed: 0,
      stopped: false, retiring: false, ref: undefined, summarize: behaviour.summarize as Cell['summarize'],
    };
    this.cells.set(path, cell);
    const processOne = (message: M): void => {
      try {
        const next = behaviour.receive(cell.state as S, message);
        cell.state = next;
        behaviour.afterMessage?.(next, message);
      } catch (error) {
        this.hooks.onFault?.(path, error, message);
      } finally {
        cell.processed++;
        cell.inFlight--;
        if (cell.retiring && cell.inFlight === 0) this.retireNow(path, cell);
        this.messageDone();
      }
    };
    const { budget } = this;
    const drain = (): undefined => {
      let processed = 0;
      while (cell.mailbox.length > 0 && !cell.stopped && budget.hasTime()) {
        processOne(cell.mailbox.shift() as M);
        processed++;
      }
      // The rest waits for the next turn, resumed by the budget; the drain stays pending meanwhile.
      if (cell.mailbox.length > 0 && !cell.stopped) budget.defer(drain, processed > 0);
      else cell.drainPending = false;
      return undefined;
    };
    let ref: NactRef;
    try {
      ref = spawn(this.root, drain, name, { initialState: undefined });
    } catch (error) {
      this.cells.delete(path); // a name nact refuses leaves nothing behind
      throw error;
    }
    cell.ref = ref;
    const system = this;
    return {
      path,
      kind,
      dispatch(message: M) {
        if (cell.stopped) {
          system.hooks.onDeadLetter?.(path, message);
          return;
        }
        cell.inFlight++;
        system.inFlight++;
        cell.mailbox.push(message);
        if (!cell.drainPending) system.scheduleDrain(cell);
      },
    };
  }

  private scheduleDrain(cell: Cell): void {
    cell.drainPending = true;
    if (cell.ref) dispatch(cell.ref, DRAIN);
  }

  /**
   * Stops one actor once its mailbox is empty (at once if it is): it leaves the tree, and later
   * messages to it are reported as dead letters. Messages already queued are still processed.
   */
  retire(path: string): void {
    const cell = this.cells.get(path);
    if (!cell || cell.stopped) return;
    cell.retiring = true;
    if (cell.inFlight === 0) this.retireNow(path, cell);
  }

  private retireNow(path: string, cell: Cell): void {
    cell.stopped = true;
    this.cells.delete(path);
    if (cell.ref) stop(cell.ref);
  }

  /**
   * Resolves once no actor named `name` is left: one retiring finishes its mailbox first, for at
   * most `graceMs`; after that it is stopped where it stands (its owner has moved on from it).
   */
  async retired(name: string, graceMs = 1_000): Promise<void> {
    const path = `/${this.name}/${name}`;
    const deadline = Date.now() + graceMs;
    for (let cell = this.cells.get(path); cell; cell = this.cells.get(path)) {
      if (Date.now() > deadline) return this.retireNow(path, cell);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Every actor with its mailbox length and state summary: the live actor tree. */
  tree(): ActorInfo[] {
    return [...this.cells.entries()].map(([path, cell]) => ({
      path,
      kind: cell.kind,
      mailbox: cell.inFlight,
      processed: cell.processed,
      summary: cell.summarize ? cell.summarize(cell.state as never) : {},
    }));
  }

  /** An actor's last committed state (read-only), e.g. to snapshot it; undefined for an unknown path. */
  stateOf(path: string): unknown {
    return this.cells.get(path)?.state;
  }

  /** Resolves once no actor has an unprocessed message. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get pendingMessages(): number {
    return this.inFlight;
  }

  stop(): void {
    for (const cell of this.cells.values()) cell.stopped = true;
    stop(this.root);
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private messageDone(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
