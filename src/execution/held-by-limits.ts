/**
 * What the global and per-type limits hold back of the pool's waiting demand: for the coordinator
 * (held work is not load) and the limits view. A limit's room now is shared out over the demand
 * entries in turn; what each entry has beyond it is held, by the scope that binds.
 */
import type { LimitGate } from '../limits/gate.ts';
import type { Tier } from '../payload.ts';
import type { DemandIndex, IndexedDemand } from './demand-index.ts';

/** The pool's demand and counts, as the limits read them. */
export interface LimitedDemand {
  readonly demand: DemandIndex;
  readonly limits: LimitGate;
  readonly busy: number;
  readonly busyByType: ReadonlyMap<string, number>;
  readonly now: number;
}

/** Waiting payloads the limits hold, by the tier they are served as; undefined when none. */
export function heldByTier(pool: LimitedDemand): Record<Tier, number> | undefined {
  let held: Record<Tier, number> | undefined;
  eachHeld(pool, (indexed, waiting) => {
    (held ??= { critical: 0, high: 0, medium: 0, low: 0 })[indexed.entry.serveAs] += waiting;
  });
  return held;
}

/** Waiting payloads the limits hold, by the limit's scope (`global`, `type:<t>`). */
export function heldByScope(pool: LimitedDemand): Map<string, number> {
  const held = new Map<string, number>();
  eachHeld(pool, (_, waiting, scope) => held.set(scope, (held.get(scope) ?? 0) + waiting));
  return held;
}

function eachHeld(pool: LimitedDemand, visit: (indexed: IndexedDemand, held: number, scope: string) => void): void {
  const { demand, limits, busy, busyByType, now } = pool;
  if (!limits.bounded) return;
  const taken = new Map<string, number>();
  for (const indexed of demand.entries()) {
    const waiting = demand.available(indexed);
    if (waiting <= 0) continue;
    const type = indexed.entry.handlerType;
    const { room, scope } = limits.poolShare(type, busy, busyByType.get(type) ?? 0, now, taken);
    if (scope === undefined) continue;
    const starts = Math.min(room, waiting);
    if (starts > 0) {
      taken.set(`type:${type}`, (taken.get(`type:${type}`) ?? 0) + starts);
      taken.set('global', (taken.get('global') ?? 0) + starts);
    }
    if (waiting > starts) visit(indexed, waiting - starts, scope);
  }
}
