/**
 * The coordinator as the admin server's `CoordinatorSource`: load level, decisions, ledger and the
 * operator actions, each action answering once the coordinator has applied it.
 */
import type { CoordinatorHandle } from '../../actors/coordinator/actor.ts';
import type { CoordinatorSource, LoadView } from '../admin/sources.ts';

export function coordinatorSource(coordinator: CoordinatorHandle): CoordinatorSource {
  const load = (): LoadView => ({
    level: coordinator.level(),
    pinned: coordinator.pinned(),
    lowThrottle: coordinator.lowThrottle() ?? null,
    since: coordinator.decisions().some((d) => d.action === 'level' || d.action === 'pin') ? coordinator.since() : undefined,
  });
  const applied = async (): Promise<LoadView> => {
    await coordinator.sync();
    return load();
  };
  return {
    load,
    decisions: (limit) => coordinator.decisions(limit).reverse(),
    ledger(limit, offset = 0) {
      const { total, entries } = coordinator.ledger(limit, offset);
      return {
        total,
        entries: entries.map((e) => ({ id: e.id, type: e.type, clientId: e.clientId, partition: e.partition, tier: e.tier, kind: 'skipped' as const, at: e.skippedAt, reason: e.reason })),
      };
    },
    pin(level) {
      coordinator.pin(level);
      return applied();
    },
    release() {
      coordinator.release();
      return applied();
    },
    async reschedule() {
      const rescheduled = coordinator.rescheduleNow();
      await coordinator.sync();
      return { rescheduled };
    },
    setLowThrottle(perSecond) {
      coordinator.setLowThrottle(perSecond ?? undefined);
      return applied();
    },
  };
}
