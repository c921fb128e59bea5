/**
 * Operator pauses: a handler type, a client (or one handler type of a client), or the whole
 * runtime stops being started. A type or the whole runtime is held at the execution pool's grant
 * decision (one check per demand entry): the queued payloads stay in their partitions' queues —
 * queued, counted, journalled as before — and are simply not granted slots. The pool never sees
 * clients, so a client is held inside each partition (actors/partition/holds.ts): its queued
 * payloads are kept out of the FIFOs the pool is offered, still queued and counted. Running ones
 * finish; nothing is failed. Resuming lets the pool grant them at once.
 */
import type { ClientHold } from '../../actors/partition/holds.ts';
import type { PartitionState } from '../../actors/partition/state.ts';
import { ValidationError, type FieldProblem } from '../errors.ts';
import { TIERS } from '../payload.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';

export interface PauseTarget {
  /** A handler type; with `clientId`, only that client's payloads of it. Without either, the whole runtime. */
  readonly type?: string;
  /** A client: its payloads (of `type`, or of every type). */
  readonly clientId?: string;
}

const PAUSE_FIELDS = { type: true, clientId: true } as const satisfies KnownFields<PauseTarget>;

export interface PauseView {
  /** The whole runtime is paused. */
  readonly all: boolean;
  /** Handler types paused one by one. */
  readonly types: readonly string[];
  /** Clients paused, each whole (no `type`) or for one handler type. */
  readonly clients: readonly ClientHold[];
}

export class Pauses {
  private all = false;
  private readonly types = new Set<string>();
  /** `clientId` → `'*'` (every type) or the types paused; kept in the order set. */
  private readonly clients = new Map<string, '*' | Set<string>>();

  /** `changed`: a type or the whole runtime was resumed (the pool grants again); `clientsChanged`: tell every partition the clients held. */
  constructor(private readonly changed: () => void, private readonly clientsChanged: (holds: readonly ClientHold[]) => void = () => {}) {}

  /** Whether `type` is held (the hot path: a boolean and, while a type is paused, one Set lookup). */
  held(type: string): boolean {
    return this.all || (this.types.size > 0 && this.types.has(type));
  }

  pause(target: PauseTarget = {}): PauseView {
    const { type, clientId } = checked(target);
    if (clientId !== undefined) {
      const current = this.clients.get(clientId);
      if (current === '*') return this.view();
      if (type === undefined) this.clients.set(clientId, '*');
      else if (current === undefined) this.clients.set(clientId, new Set([type]));
      else current.add(type);
      this.clientsChanged(this.clientHolds());
    } else if (type === undefined) this.all = true;
    else this.types.add(type);
    return this.view();
  }

  /** Lifts exactly what `pause(target)` set: resuming a client whole lifts its type pauses too. */
  resume(target: PauseTarget = {}): PauseView {
    const { type, clientId } = checked(target);
    if (clientId !== undefined) {
      const current = this.clients.get(clientId);
      if (current === undefined) return this.view();
      if (type === undefined || current === '*') {
        if (type !== undefined) return this.view(); // a client paused whole is resumed whole
        this.clients.delete(clientId);
      } else {
        current.delete(type);
        if (current.size === 0) this.clients.delete(clientId);
      }
      this.clientsChanged(this.clientHolds());
      return this.view();
    }
    if (type === undefined) this.all = false;
    else this.types.delete(type);
    this.changed();
    return this.view();
  }

  /** The clients held, for a partition's `hold` message (also one spawned later). */
  clientHolds(): ClientHold[] {
    const holds: ClientHold[] = [];
    for (const [clientId, types] of this.clients) {
      if (types === '*') holds.push({ clientId });
      else for (const type of types) holds.push({ clientId, type });
    }
    return holds;
  }

  /** Queues (partition × tier × type) with queued payloads a pause holds, for the gauge. */
  heldQueues(states: Iterable<PartitionState>): number {
    if (!this.all && this.types.size === 0 && this.clients.size === 0) return 0;
    let held = 0;
    for (const state of states) {
      for (const tier of TIERS) {
        const pooled = state.queued[tier];
        for (const [type, count] of Object.entries(pooled)) if (count > 0 && this.held(type)) held++;
        // A client's held payloads of a type no type pause counts already.
        for (const [type, count] of Object.entries(state.holds.counts[tier])) if (count > 0 && !((pooled[type] ?? 0) > 0 && this.held(type))) held++;
      }
    }
    return held;
  }

  view(): PauseView {
    return { all: this.all, types: [...this.types].sort(), clients: this.clientHolds() };
  }
}

function checked(target: PauseTarget): PauseTarget {
  if (typeof target !== 'object' || target === null) throw new ValidationError([{ field: 'target', problem: 'must be an object' }]);
  const problems: FieldProblem[] = unknownFields(target, PAUSE_FIELDS, '', 'is not a pause field (type, clientId)');
  if (target.type !== undefined && (typeof target.type !== 'string' || target.type.length === 0)) problems.push({ field: 'type', problem: 'must be a non-empty string' });
  if (target.clientId !== undefined && (typeof target.clientId !== 'string' || target.clientId.length === 0 || target.clientId.length > 512)) problems.push({ field: 'clientId', problem: 'must be a non-empty string of at most 512 characters' });
  if (problems.length > 0) throw new ValidationError(problems);
  return target;
}
