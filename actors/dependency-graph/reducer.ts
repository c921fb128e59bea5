/**
 * The dependency graph's transitions: pure `(state, message, env) → { state, effects }`.
 *
 * A payload is held until every dependency has ended. When one ends without completing, the
 * payload's policy decides: `fail` and `skip` end it at once (and that ending cascades to its own
 * dependents), `continue` counts the dependency as ended. When the last dependency ends the
 * payload is released to its partition with the outcomes attached (`ctx.dependencies`).
 *
 * Registering is two steps because dependencies outside the batch must be looked up in their
 * partitions: `register` marks them watched (so their terminal events are built and forwarded
 * from then on) and asks for lookups; `looked-up` accepts or rejects the batch. An id that ended
 * between the two is known either from its event (kept in `watch[id].outcome` while a
 * registration needs it) or from the lookup, so nothing waits on a dependency that has ended.
 *
 * Like the partition reducer, a transition edits local drafts and hands the changed fields to
 * immer once at the end.
 */
import { Immer } from 'immer';
import type { PQueue, PMap } from '../../src/collections/index.ts';
import { DependencyFailedError, type PayloadFailure } from '../../src/errors.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { DependencyOutcome, PayloadView } from '../../src/payload.ts';
import type { GraphEffect, GraphMessage, Settlement } from './messages.ts';
import {
  outcomeOfView, withDependencies, type EndedPayload, type GraphState, type GraphTotals, type Registration, type RegisterReply, type WaitingNode, type Watch,
} from './state.ts';

const { produce } = new Immer({ autoFreeze: true });

export interface GraphEnv {
  now(): number;
  /** Ended payloads kept for `get`/`waitFor`, oldest evicted first (the runtime's `retainTerminal`). */
  readonly retainTerminal: number;
}

export interface GraphTransition {
  readonly state: GraphState;
  readonly effects: GraphEffect[];
  /** What the journal keeps of this transition; undefined when nothing durable changed. */
  readonly delta: GraphDelta | undefined;
}

/**
 * One journal entry: held payloads added or changed (null: removed), watched ids' waiting lists
 * (null: nobody waits any more), payloads the graph ended, and how many old ended ones retention
 * dropped (always the oldest). Registrations in flight are not durable: their submits were not
 * accepted yet.
 */
export interface GraphDelta {
  readonly nodes: Array<[string, WaitingNode | null]>;
  readonly watch: Array<[string, readonly string[] | null]>;
  readonly ended: EndedPayload[];
  readonly dropped: number;
  readonly totals: GraphTotals;
}

export function reduceGraph(state: GraphState, message: GraphMessage, env: GraphEnv): GraphTransition {
  const effects: GraphEffect[] = [];
  const tx = new GraphTx(state, effects, env);
  switch (message.type) {
    case 'register':
      tx.register({ waiting: message.waiting, external: message.external, reply: message.reply });
      break;
    case 'looked-up':
      tx.lookedUp(message.registration, message.found);
      break;
    case 'lookup-failed':
      tx.lookupFailed(message.registration, message.error);
      break;
    case 'settled':
      for (const s of message.settlements) tx.settle(s);
      break;
    case 'cancel': {
      const held = tx.cancel(message.id);
      effects.push({ kind: 'reply', deliver: () => message.reply(held) });
      break;
    }
  }
  tx.drain();
  const changes = tx.changes(state);
  return { state: produce(state, (draft) => void Object.assign(draft, changes)), effects, delta: tx.delta };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type NodeDraft = Mutable<WaitingNode> & { outcomes: Record<string, DependencyOutcome> };
type WatchDraft = Mutable<Watch> & { dependents: string[] };

class GraphTx {
  private seq: number;
  private nodes: PMap<WaitingNode>;
  private watch: PMap<Watch>;
  private registrations: PMap<Registration>;
  private ended: PMap<EndedPayload>;
  private retained: PQueue<string>;
  private readonly totals: Mutable<GraphTotals>;
  private readonly now: number;
  /** Nodes changed in this transition (null: removed); written back once, so a node's outcomes are copied once per transition. */
  private readonly nodeDrafts = new Map<string, NodeDraft | null>();
  private readonly watchDrafts = new Map<string, WatchDraft>();
  /** Ids that ended and whose dependents have not been told yet. */
  private readonly work: Settlement[] = [];
  private readonly endedAdded: EndedPayload[] = [];
  private endedDropped = 0;
  /** Set by `changes()`. */
  delta: GraphDelta | undefined;

  constructor(base: GraphState, private readonly effects: GraphEffect[], private readonly env: GraphEnv) {
    this.now = env.now();
    this.seq = base.seq;
    this.nodes = base.nodes;
    this.watch = base.watch;
    this.registrations = base.registrations;
    this.ended = base.ended;
    this.retained = base.retained;
    this.totals = { ...base.totals };
  }

  changes(base: GraphState): Partial<Mutable<GraphState>> {
    const nodeDelta: GraphDelta['nodes'] = [];
    const watchDelta: GraphDelta['watch'] = [];
    if (this.nodeDrafts.size > 0) {
      const nodes = this.nodes.asTransient();
      for (const [id, draft] of this.nodeDrafts) {
        if (draft) nodes.set(id, draft);
        else nodes.delete(id);
        // A node added and removed in one transition never reached the journal.
        if (draft || base.nodes.has(id)) nodeDelta.push([id, draft]);
      }
      this.nodes = nodes.persistent();
    }
    if (this.watchDrafts.size > 0) {
      const watch = this.watch.asTransient();
      for (const [id, draft] of this.watchDrafts) {
        // An entry lives while someone waits on it or a registration in flight may need it.
        if (draft.dependents.length === 0 && draft.pending === 0) watch.delete(id);
        else watch.set(id, draft);
        const before = base.watch.get(id)?.dependents ?? [];
        if (!sameList(before, draft.dependents)) watchDelta.push([id, draft.dependents.length === 0 ? null : draft.dependents]);
      }
      this.watch = watch.persistent();
    }
    if (nodeDelta.length > 0 || watchDelta.length > 0 || this.endedAdded.length > 0 || this.endedDropped > 0) {
      this.delta = { nodes: nodeDelta, watch: watchDelta, ended: this.endedAdded, dropped: this.endedDropped, totals: { ...this.totals } };
    }
    const changed: Partial<Mutable<GraphState>> = {};
    if (this.seq !== base.seq) changed.seq = this.seq;
    if (this.nodes !== base.nodes) changed.nodes = this.nodes;
    if (this.watch !== base.watch) changed.watch = this.watch;
    if (this.registrations !== base.registrations) changed.registrations = this.registrations;
    if (this.ended !== base.ended) changed.ended = this.ended;
    if (this.retained !== base.retained) changed.retained = this.retained;
    const t = base.totals;
    const n = this.totals;
    if (n.registered !== t.registered || n.released !== t.released || n.failed !== t.failed || n.skipped !== t.skipped || n.cancelled !== t.cancelled) changed.totals = n;
    return changed;
  }

  register(registration: Registration): void {
    for (const id of registration.external) this.watchOf(id).pending++;
    const lookups = registration.external.filter((id) => this.knownOutcome(id) === undefined && !this.holds(id));
    if (lookups.length === 0) {
      this.complete(registration, new Map());
      return;
    }
    const key = String(this.seq++);
    this.registrations = this.registrations.set(key, registration);
    this.effects.push({ kind: 'lookup', registration: Number(key), ids: lookups });
  }

  lookedUp(registration: number, found: ReadonlyMap<string, PayloadView | undefined>): void {
    const reg = this.takeRegistration(registration);
    if (reg) this.complete(reg, found);
  }

  lookupFailed(registration: number, error: unknown): void {
    const reg = this.takeRegistration(registration);
    if (!reg) return;
    for (const id of reg.external) this.watchOf(id).pending--;
    this.reply(reg, { ok: false, error });
  }

  settle(settlement: Settlement): void {
    this.work.push(settlement);
  }

  cancel(id: string): boolean {
    const node = this.node(id);
    if (!node) return false;
    this.end(node, 'cancelled', 'cancelled by request', undefined);
    return true;
  }

  /** Tells dependents about every id that ended, including payloads this transition ended (cascades). */
  drain(): void {
    for (let i = 0; i < this.work.length; i++) {
      const { id, outcome: incoming } = this.work[i] as Settlement;
      const watch = this.watchDraft(id);
      if (!watch) continue;
      const outcome = watch.outcome ?? incoming; // the first report of an ending wins
      if (watch.pending > 0) watch.outcome = outcome;
      const dependents = watch.dependents;
      watch.dependents = [];
      for (const dependent of dependents) {
        const node = this.node(dependent);
        if (!node) continue; // ended earlier through another dependency
        node.outcomes[id] = outcome;
        node.remaining--;
        if (outcome.status !== 'completed' && node.policy !== 'continue') {
          const reason = `dependency ${id} ${outcome.status}`;
          if (node.policy === 'fail') this.end(node, 'failed', reason, DependencyFailedError.failure(id, outcome.status, outcome.error));
          else this.end(node, 'skipped', reason, undefined);
        } else if (node.remaining === 0) {
          this.release(node);
        }
      }
    }
    this.work.length = 0;
  }

  private complete(reg: Registration, found: ReadonlyMap<string, PayloadView | undefined>): void {
    for (const id of reg.external) this.watchOf(id).pending--;
    const unknown = reg.external.filter((id) => this.knownOutcome(id) === undefined && !this.holds(id) && found.get(id) === undefined);
    if (unknown.length > 0) {
      this.reply(reg, { ok: false, unknown });
      return;
    }
    // Every node joins its dependencies' waiting lists before any outcome is applied, so a payload
    // of this batch that ends at once (its dependency had failed) reaches dependents of this batch too.
    for (const entry of reg.waiting) {
      const { payload, partition, tier, deps, policy } = entry;
      this.nodeDrafts.set(payload.id, { payload, partition, tier, deps, remaining: deps.length, policy, outcomes: {} });
      this.totals.registered++;
      for (const dep of deps) this.watchOf(dep).dependents.push(payload.id);
    }
    for (const id of reg.external) {
      const view = found.get(id);
      const outcome = this.knownOutcome(id) ?? (view && outcomeOfView(view));
      if (outcome) this.work.push({ id, outcome });
    }
    this.reply(reg, { ok: true });
  }

  private reply(reg: Registration, result: RegisterReply): void {
    this.effects.push({ kind: 'reply', deliver: () => reg.reply(result) });
  }

  private takeRegistration(registration: number): Registration | undefined {
    const key = String(registration);
    const reg = this.registrations.get(key);
    if (reg) this.registrations = this.registrations.delete(key);
    return reg;
  }

  /** An outcome this graph already knows: reported while a registration needed it, or a payload it ended. */
  private knownOutcome(id: string): DependencyOutcome | undefined {
    const watched = this.watchDraft(id)?.outcome;
    if (watched) return watched;
    const ended = this.ended.get(id);
    return ended && { status: ended.status, error: ended.error };
  }

  private release(node: NodeDraft): void {
    this.nodeDrafts.set(node.payload.id, null);
    this.totals.released++;
    this.effects.push({ kind: 'release', payload: withDependencies(node.payload, node.outcomes), partition: node.partition });
  }

  private end(node: NodeDraft, status: 'failed' | 'skipped' | 'cancelled', reason: string, error: PayloadFailure | undefined): void {
    const { payload, partition, tier } = node;
    this.nodeDrafts.set(payload.id, null);
    this.totals[status]++;
    const stored: PayloadFailure = error ?? { code: status === 'cancelled' ? 'CANCELLED' : 'SKIPPED', message: reason, name: status === 'cancelled' ? 'CancelledError' : 'SkippedError' };
    if (this.env.retainTerminal > 0) {
      const ended: EndedPayload = { payload, partition, tier, status, error: stored, finishedAt: this.now };
      this.ended = this.ended.set(payload.id, ended);
      this.retained = this.retained.push(payload.id);
      this.endedAdded.push(ended);
      while (this.retained.size > this.env.retainTerminal) {
        this.ended = this.ended.delete(this.retained.peek() as string);
        this.retained = this.retained.shift();
        this.endedDropped++;
      }
    }
    const event: PayloadEvent = {
      type: status,
      id: payload.id,
      clientId: payload.clientId,
      payloadType: payload.type,
      partition,
      tier,
      at: this.now,
      attempt: undefined,
      result: undefined,
      error: status === 'failed' ? stored : undefined,
      progress: undefined,
      reason: status === 'failed' ? undefined : reason,
      retryAt: undefined,
    };
    this.effects.push({ kind: 'event', event });
    this.work.push({ id: payload.id, outcome: { status, error: stored } });
  }

  private holds(id: string): boolean {
    const drafted = this.nodeDrafts.get(id);
    return drafted === undefined ? this.nodes.has(id) : drafted !== null;
  }

  private node(id: string): NodeDraft | undefined {
    const drafted = this.nodeDrafts.get(id);
    if (drafted !== undefined) return drafted ?? undefined;
    const node = this.nodes.get(id);
    if (!node) return undefined;
    const draft: NodeDraft = { ...node, outcomes: { ...node.outcomes } };
    this.nodeDrafts.set(id, draft);
    return draft;
  }

  private watchDraft(id: string): WatchDraft | undefined {
    const drafted = this.watchDrafts.get(id);
    if (drafted) return drafted;
    const watch = this.watch.get(id);
    if (!watch) return undefined;
    const draft: WatchDraft = { dependents: [...watch.dependents], pending: watch.pending, outcome: watch.outcome };
    this.watchDrafts.set(id, draft);
    return draft;
  }

  private watchOf(id: string): WatchDraft {
    let draft = this.watchDraft(id);
    if (!draft) this.watchDrafts.set(id, (draft = { dependents: [], pending: 0, outcome: undefined }));
    return draft;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
