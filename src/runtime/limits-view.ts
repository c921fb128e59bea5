/**
 * What `runtime.limits()`, the admin page and `/metrics` show of the limits: the rules in force, and
 * for each limited scope what runs in it, the tokens its bucket holds, and how many queued payloads
 * it holds back now. The global and type scopes count what the pool holds; client and key scopes
 * count the payloads of the client FIFOs the partitions parked on them.
 */
import type { PartitionState } from '../../actors/partition/state.ts';
import type { ExecutionPool } from '../execution/pool.ts';
import type { LimitGate } from '../limits/gate.ts';
import type { Limit, LimitsOptions } from '../limits/rules.ts';

export interface LimitScopeView {
  /** `global`, `type:<handler type>`, `client:<client id>` or `key:<concurrency key>`. */
  readonly scope: string;
  readonly limit: Limit | undefined;
  /** Attempts running in the scope now. */
  readonly running: number;
  /** Starts its bucket allows now (undefined: no rate). */
  readonly tokens: number | undefined;
  /** Queued payloads it holds back now. */
  readonly held: number;
}

export interface LimitsView {
  readonly rules: LimitsOptions;
  /** Scopes with a limit that were seen (clients and keys appear once they have had work). */
  readonly scopes: readonly LimitScopeView[];
}

export function limitsView(gate: LimitGate, pool: ExecutionPool, partitions: readonly PartitionState[], now: number): LimitsView {
  const held = pool.heldByLimits();
  for (const state of partitions) {
    for (const [scope, parked] of state.limitHolds) {
      let count = 0;
      for (const { queue, clientId } of parked) {
        const fifo = queue.clientFifo(clientId);
        if (fifo?.parked) count += fifo.live;
      }
      if (count > 0) held.set(scope, (held.get(scope) ?? 0) + count);
    }
  }
  const busyByType = pool.busyByType();
  const busy = pool.currentBusy;
  const scopes = gate.usage(now).map((usage): LimitScopeView => {
    let running = usage.running;
    if (usage.scope === 'global') running = busy;
    else if (usage.scope.startsWith('type:')) running = busyByType.get(usage.scope.slice(5)) ?? 0;
    return { ...usage, running, held: held.get(usage.scope) ?? 0 };
  });
  return { rules: gate.current, scopes: scopes.sort((a, b) => b.held - a.held || a.scope.localeCompare(b.scope)) };
}
