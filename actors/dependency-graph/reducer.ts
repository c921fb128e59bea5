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
 * The state is owned by the actor and changed in place. What the journal keeps of a transition
 * (its delta) is gathered as it goes and copied out at the end, so the store never reads an object
 * a later transition changes.
 */
import type { Graph } from '@dagrejs/graphlib';
import { DependencyFailedError, type PayloadFailure } from '../../src/errors.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { DependencyOutcome, PayloadView } from '../../src/payload.ts';
import type { GraphEffect, GraphMessage, Settlement } from './messages.ts';
import {
  dropIfBare, outcomeOfView, withDependencies, type EndedPayload, type GraphState, type GraphTotals, type Registration, type RegisterReply, type WaitingNode, type Watch,
} from './state.ts';

export interface GraphEnv {
  now(): number;
  /** Ended payloads kept for `get`/`waitFor`, oldest evicted first (the runtime's `retainTerminal`). */
  readonly retainTerminal: number;
}

export interface GraphTransition {
  /** The same state object, changed in place. */
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
  return { state, effects, delta: tx.finish() };
}

class GraphTx {
  private readonly now: number;
  private readonly edges: Graph;
  /** Held payloads this transition added, changed or removed, and whether each was held before it. */
  private readonly touchedNodes = new Map<string, boolean>();
  /** Who waited on each id whose waiting list this transition changed, as it was before. */
  private readonly touchedWaits = new Map<string, string[]>();
  /** Ids whose registration bookkeeping changed: forgotten at the end once no registration needs them. */
  private readonly touchedWatch = new Set<string>();
  /** Ids that ended and whose dependents have not been told yet. */
  private readonly work: Settlement[] = [];
  private readonly endedAdded: EndedPayload[] = [];
  private endedDropped = 0;

  constructor(private readonly state: GraphState, private readonly effects: GraphEffect[], private readonly env: GraphEnv) {
    this.now = env.now();
    this.edges = state.edges;
  }

  register(registration: Registration): void {
    for (const id of registration.external) this.watchOf(id).pending++;
    const lookups = registration.external.filter((id) => this.knownOutcome(id) === undefined && !this.state.nodes.has(id));
    if (lookups.length === 0) {
      this.complete(registration, new Map());
      return;
    }
    const key = this.state.seq++;
    this.state.registrations.set(key, registration);
    this.effects.push({ kind: 'lookup', registration: key, ids: lookups });
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
    const node = this.state.nodes.get(id);
    if (!node) return false;
    this.end(node, 'cancelled', 'cancelled by request', undefined);
    return true;
  }

  /** Tells dependents about every id that ended, including payloads this transition ended (cascades). */
  drain(): void {
    for (let i = 0; i < this.work.length; i++) {
      const { id, outcome: incoming } = this.work[i] as Settlement;
      const watch = this.state.watch.get(id);
      const outcome = watch?.outcome ?? incoming; // the first report of an ending wins
      if (watch && watch.pending > 0) watch.outcome = outcome;
      const dependents = this.edges.successors(id);
      if (!dependents || dependents.length === 0) continue;
      this.touchWaits(id);
      for (const dependent of dependents) {
        this.edges.removeEdge(id, dependent);
        const node = this.state.nodes.get(dependent);
        if (!node) continue;
        this.touchNode(dependent);
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
      dropIfBare(this.edges, id);
    }
    this.work.length = 0;
  }

  /** Forgets what no registration needs any more and copies out the journal entry. */
  finish(): GraphDelta | undefined {
    for (const id of this.touchedWatch) if (this.state.watch.get(id)?.pending === 0) this.state.watch.delete(id);
    const nodes: GraphDelta['nodes'] = [];
    for (const [id, heldBefore] of this.touchedNodes) {
      const node = this.state.nodes.get(id);
      // A node added and removed in one transition never reached the journal.
      if (node) nodes.push([id, { ...node, outcomes: { ...node.outcomes } }]);
      else if (heldBefore) nodes.push([id, null]);
    }
    const watch: GraphDelta['watch'] = [];
    for (const [id, before] of this.touchedWaits) {
      const after = this.edges.successors(id) ?? [];
      if (!sameList(before, after)) watch.push([id, after.length === 0 ? null : after]);
    }
    if (nodes.length === 0 && watch.length === 0 && this.endedAdded.length === 0 && this.endedDropped === 0) return undefined;
    return { nodes, watch, ended: this.endedAdded, dropped: this.endedDropped, totals: { ...this.state.totals } };
  }

  private complete(reg: Registration, found: ReadonlyMap<string, PayloadView | undefined>): void {
    for (const id of reg.external) this.watchOf(id).pending--;
    const unknown = reg.external.filter((id) => this.knownOutcome(id) === undefined && !this.state.nodes.has(id) && found.get(id) === undefined);
    if (unknown.length > 0) {
      this.reply(reg, { ok: false, unknown });
      return;
    }
    // Every node joins its dependencies' waiting lists before any outcome is applied, so a payload
    // of this batch that ends at once (its dependency had failed) reaches dependents of this batch too.
    for (const entry of reg.waiting) {
      const { payload, partition, tier, deps, policy } = entry;
      this.touchNode(payload.id);
      this.state.nodes.set(payload.id, { payload, partition, tier, deps, remaining: deps.length, policy, outcomes: {} });
      this.state.totals.registered++;
      for (const dep of deps) {
        this.touchWaits(dep);
        this.edges.setEdge(dep, payload.id);
      }
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
    const reg = this.state.registrations.get(registration);
    if (reg) this.state.registrations.delete(registration);
    return reg;
  }

  /** An outcome this graph already knows: reported while a registration needed it, or a payload it ended. */
  private knownOutcome(id: string): DependencyOutcome | undefined {
    const watched = this.state.watch.get(id)?.outcome;
    if (watched) return watched;
    const ended = this.state.ended.get(id);
    return ended && { status: ended.status, error: ended.error };
  }

  private release(node: WaitingNode): void {
    this.unhold(node);
    this.state.totals.released++;
    this.effects.push({ kind: 'release', payload: withDependencies(node.payload, node.outcomes), partition: node.partition });
  }

  private end(node: WaitingNode, status: 'failed' | 'skipped' | 'cancelled', reason: string, error: PayloadFailure | undefined): void {
    const { payload, partition, tier } = node;
    this.unhold(node);
    this.state.totals[status]++;
    const stored: PayloadFailure = error ?? { code: status === 'cancelled' ? 'CANCELLED' : 'SKIPPED', message: reason, name: status === 'cancelled' ? 'CancelledError' : 'SkippedError' };
    if (this.env.retainTerminal > 0) this.retain({ payload, partition, tier, status, error: stored, finishedAt: this.now });
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

  /** Keeps an ended payload for `get`, dropping the oldest past `retainTerminal`. */
  private retain(ended: EndedPayload): void {
    const kept = this.state.ended;
    kept.set(ended.payload.id, ended);
    this.endedAdded.push(ended);
    for (const oldest of kept.keys()) {
      if (kept.size <= this.env.retainTerminal) break;
      kept.delete(oldest);
      this.endedDropped++;
    }
  }

  /** The graph no longer holds `node`: it leaves the waiting lists of the dependencies it still waited on. */
  private unhold(node: WaitingNode): void {
    const id = node.payload.id;
    this.touchNode(id);
    this.state.nodes.delete(id);
    if (node.remaining > 0) {
      for (const dep of node.deps) {
        if (!this.edges.hasEdge(dep, id)) continue;
        this.touchWaits(dep);
        this.edges.removeEdge(dep, id);
        dropIfBare(this.edges, dep);
      }
    }
    dropIfBare(this.edges, id);
  }

  private touchNode(id: string): void {
    if (!this.touchedNodes.has(id)) this.touchedNodes.set(id, this.state.nodes.has(id));
  }

  private touchWaits(id: string): void {
    if (!this.touchedWaits.has(id)) this.touchedWaits.set(id, this.edges.successors(id) ?? []);
  }

  private watchOf(id: string): Watch {
    this.touchedWatch.add(id);
    let watch = this.state.watch.get(id);
    if (!watch) this.state.watch.set(id, (watch = { pending: 0, outcome: undefined }));
    return watch;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
