/**
 * Claims: starts journalled ahead of their grant, so that on Redis a granted payload can run at
 * once instead of holding its slot while its start entry travels.
 *
 * A claim says of a queued payload "this one may start": its journal entry records it as running
 * with its next attempt, so recovery reruns it (and counts it in `recovery.rerun`) exactly as if it
 * had started. In memory it stays queued, in FIFO order, at the front of its queue. When a grant
 * reaches a payload whose claim is stored, the run needs nothing more from the store and starts
 * after the turn; its start entry (start time, attempt) follows like any entry. A payload without
 * a stored claim starts as before, once the grant's entry is stored.
 *
 * How many a queue claims follows how many of its payloads ended together recently (a slot's worth
 * of turnover): a queue whose work never ends, or that never ran, claims nothing. Any later entry
 * that writes a claimed record (cancelled, skipped into the ledger, moved, …) overrides its claim,
 * so the claim is dropped in memory at the same moment.
 */
import type { Tier } from '../../src/payload.ts';
import type { PartitionState, PayloadRecord } from './state.ts';

export interface Claims {
  /** Claimed queued ids → seq of the journal entry carrying the claim. */
  readonly ids: Map<string, number>;
  /** Claims held per tier and handler type. */
  readonly held: Record<Tier, Record<string, number>>;
  /** Claims each tier and handler type should hold: the most of its payloads that ended in one transition. */
  readonly target: Record<Tier, Record<string, number>>;
  /**
   * Per tier and handler type, the place in its queue's order of pushes after the last claimed
   * payload: claims are taken in serving order, so the next walk starts there instead of passing
   * over the claims still held (mailbox.ts `walk`).
   */
  readonly from: Record<Tier, Record<string, number>>;
  /** Seq of the last journal entry the store acknowledged (the actor keeps it). */
  stored: number;
  /**
   * Seq of the next journal entry (the actor keeps it): a transition that claims is always
   * journalled, so its claims are stamped with it as they are made.
   */
  next: number;
}

export const noClaims = (): Claims => ({
  ids: new Map(),
  held: { critical: {}, high: {}, medium: {}, low: {} },
  target: { critical: {}, high: {}, medium: {}, low: {} },
  from: { critical: {}, high: {}, medium: {}, low: {} },
  stored: 0,
  next: 1,
});

/**
 * Takes the record's claim away (it starts, or an entry writes it otherwise). Returns whether the
 * claim was stored: only then may its run start before the transition's own entry is.
 */
export function dropClaim(claims: Claims, record: PayloadRecord): boolean {
  const seq = claims.ids.get(record.id);
  if (seq === undefined) return false;
  claims.ids.delete(record.id);
  const held = claims.held[record.tier];
  held[record.type] = (held[record.type] ?? 1) - 1;
  return seq <= claims.stored;
}

/** `ended` payloads of this tier and type ended in one transition: the queue claims as many ahead. */
export function raiseTarget(claims: Claims, tier: Tier, type: string, ended: number, cap: number): void {
  const target = claims.target[tier];
  const wanted = Math.min(cap, ended);
  if ((target[type] ?? 0) < wanted) target[type] = wanted;
}

/** How far past the claims already held a refill looks for unclaimed heads (tombstones, holes). */
const WALK_SLACK = 64;

/**
 * Tops every queue with a target up to it, in serving order from its front. Returns the ids claimed,
 * which the transition's journal entry carries.
 */
export function claimAhead(state: PartitionState): string[] | undefined {
  const { claims } = state;
  let claimed: string[] | undefined;
  for (const tier in claims.target) {
    const targets = claims.target[tier as Tier];
    for (const type in targets) {
      const held = claims.held[tier as Tier][type] ?? 0;
      const need = Math.min(targets[type] ?? 0, state.queued[tier as Tier][type] ?? 0) - held;
      if (need <= 0) continue;
      const queue = state.queues[tier as Tier].get(type);
      if (!queue) continue;
      // Claims sit at the front of the serving order: the walk starts after the last one taken.
      const from = claims.from[tier as Tier];
      let taken = 0;
      let next = from[type] ?? 0;
      // Past many clients the walk starts from every front again and passes over what is held.
      queue.walk(held + need + WALK_SLACK, (record, order) => {
        if (claims.ids.has(record.id)) return true;
        claims.ids.set(record.id, claims.next);
        (claimed ??= []).push(record.id);
        next = order + 1;
        return ++taken < need;
      }, next);
      from[type] = next;
      claims.held[tier as Tier][type] = held + taken;
    }
  }
  return claimed;
}
