/**
 * Operator pauses: a handler type, or the whole runtime, stops being started. The seam is the
 * execution pool's grant decision (one check per demand entry): a paused type's queued payloads
 * stay in their partitions' queues — queued, counted, journalled as before — and are simply not
 * granted slots; running ones finish. Resuming lets the pool grant them at once. Nothing is failed
 * or moved, so a pause costs nothing per payload and needs no partition state.
 */
import type { PartitionState } from '../../actors/partition/state.ts';
import { ValidationError, type FieldProblem } from '../errors.ts';
import { TIERS } from '../payload.ts';

export interface PauseTarget {
  /** A handler type; without it, the whole runtime. */
  readonly type?: string;
}

export interface PauseView {
  /** The whole runtime is paused. */
  readonly all: boolean;
  /** Handler types paused one by one. */
  readonly types: readonly string[];
}

export class Pauses {
  private all = false;
  private readonly types = new Set<string>();

  constructor(private readonly changed: () => void) {}

  /** Whether `type` is held (the hot path: a boolean and, while a type is paused, one Set lookup). */
  held(type: string): boolean {
    return this.all || (this.types.size > 0 && this.types.has(type));
  }

  pause(target: PauseTarget = {}): PauseView {
    const { type } = checked(target);
    if (type === undefined) this.all = true;
    else this.types.add(type);
    return this.view();
  }

  resume(target: PauseTarget = {}): PauseView {
    const { type } = checked(target);
    if (type === undefined) this.all = false;
    else this.types.delete(type);
    this.changed();
    return this.view();
  }

  /** Queues (partition × tier × type) with queued payloads a pause holds, for the gauge. */
  heldQueues(states: Iterable<PartitionState>): number {
    if (!this.all && this.types.size === 0) return 0;
    let held = 0;
    for (const state of states) {
      for (const tier of TIERS) for (const [type, count] of Object.entries(state.queued[tier])) if (count > 0 && this.held(type)) held++;
    }
    return held;
  }

  view(): PauseView {
    return { all: this.all, types: [...this.types].sort() };
  }
}

function checked(target: PauseTarget): PauseTarget {
  const problems: FieldProblem[] = [];
  if (typeof target !== 'object' || target === null) throw new ValidationError([{ field: 'target', problem: 'must be an object' }]);
  for (const key of Object.keys(target)) if (key !== 'type') problems.push({ field: key.slice(0, 64), problem: 'is not a pause field (type)' });
  if (target.type !== undefined && (typeof target.type !== 'string' || target.type.length === 0)) problems.push({ field: 'type', problem: 'must be a non-empty string' });
  if (problems.length > 0) throw new ValidationError(problems);
  return target;
}
