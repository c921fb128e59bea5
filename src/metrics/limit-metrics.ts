/**
 * The limits' gauges: what each limit holds back queued and what runs in its scope, read when
 * scraped. Client and key scopes come and go with the traffic, so only the busiest few get a
 * series of their own; the rest are summed under `limit="other"` (bounded cardinality).
 */
import { Gauge, type Registry } from 'prom-client';
import type { LimitsView } from '../runtime/limits-view.ts';

/** Most client or key scopes with a series of their own. */
export const LIMIT_SERIES = 20;

export function defineLimitMetrics(registry: Registry, limits: () => LimitsView): void {
  const held: Gauge = new Gauge({
    name: 'triage_limit_held_payloads',
    help: 'Queued payloads a rate or concurrency limit holds back now, by limit (global, type:<t>, client:<id>, key:<k>)',
    labelNames: ['limit'],
    registers: [registry],
    collect: () => {
      held.reset();
      for (const [scope, value] of series(limits(), 'held')) held.set({ limit: scope }, value);
    },
  });
  const running: Gauge = new Gauge({
    name: 'triage_limit_running',
    help: 'Attempts running now in a limited scope, by limit',
    labelNames: ['limit'],
    registers: [registry],
    collect: () => {
      running.reset();
      for (const [scope, value] of series(limits(), 'running')) running.set({ limit: scope }, value);
    },
  });
}

/** The global and type scopes each, the busiest client and key scopes each, the rest as `other`. */
function series(view: LimitsView, field: 'held' | 'running'): Map<string, number> {
  const out = new Map<string, number>();
  const keyed: Array<[string, number]> = [];
  for (const scope of view.scopes) {
    if (scope.scope === 'global' || scope.scope.startsWith('type:')) out.set(scope.scope, scope[field]);
    else if (scope.held > 0 || scope.running > 0) keyed.push([scope.scope, scope[field]]);
  }
  keyed.sort((a, b) => b[1] - a[1]);
  keyed.forEach(([scope, value], i) => {
    if (i < LIMIT_SERIES) out.set(scope, value);
    else out.set('other', (out.get('other') ?? 0) + value);
  });
  return out;
}
