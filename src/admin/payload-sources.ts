/**
 * The admin's newer reads of a Runtime: the series ring, payload search, one payload's detail with
 * its timeline, and the running attempts as the pool has them (so the page's "busy" and its running
 * rows are one truth, not two counts taken at different moments of an attempt's end).
 */
import type { Runtime } from '../runtime.ts';
import { payloadDetail } from './payload-detail.ts';
import { searchPayloads } from './payload-search.ts';
import type { PayloadInspector } from './payload-views.ts';
import type { SeriesRing } from './series.ts';
import type { AdminPlugins, AdminSources } from './sources.ts';

export interface AdminParts {
  readonly series: SeriesRing;
  readonly inspector: PayloadInspector;
}

type PayloadSources = Pick<AdminSources, 'series' | 'search' | 'payloadDetail' | 'running'>;

export function payloadSources(runtime: Runtime, plugins: () => AdminPlugins, parts: AdminParts, base: Pick<AdminSources, 'failed' | 'decisions'>): PayloadSources {
  const { inspector } = parts;
  const now = () => runtime.options.clock.now();
  return {
    series(since) {
      const points = parts.series.list(since);
      const from = points[0]?.t ?? now();
      return {
        at: now(),
        intervalMs: parts.series.intervalMs,
        capacity: parts.series.capacity,
        points,
        decisions: base.decisions(200).filter((d) => d.at >= from - parts.series.intervalMs),
      };
    },
    search: (query) => searchPayloads(query, { inspector, get: (id) => runtime.get(id), failed: (q) => base.failed(q) }),
    async payloadDetail(id) {
      const view = await runtime.get(id);
      if (!view) return undefined;
      const record = inspector.record(id);
      // A workflow's step payloads carry the instance id as their shard key.
      const shardKey = record?.shardKey;
      const workflow = shardKey === undefined ? undefined : await plugins().workflows?.get(shardKey);
      return payloadDetail({ view, record, attempts: inspector.attempts(id), workflow, now: now(), recording: inspector.recording() });
    },
    running(limit) {
      const at = now();
      const all = [...inspector.running()].sort((a, b) => a.startedAt - b.startedAt);
      return {
        at,
        total: all.length,
        running: all.slice(0, limit).map(({ order, startedAt }) => ({
          id: order.id, type: order.handlerType, clientId: order.clientId, partition: order.partition, tier: order.tier, attempt: order.attempt,
          startedAt, runningMs: Math.max(0, at - startedAt),
        })),
      };
    },
  };
}
