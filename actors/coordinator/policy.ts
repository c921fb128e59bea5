/**
 * The coordinator's decisions, each a function of its state and the round's signals that records
 * what it did, and why, in a `Plan` (effects plus decisions); make-up and expiry take their
 * entries out of the ledger in place.
 */
import { PROCESS_SIGNALS, SIGNAL_NAMES, type LoadLevel, type LoadSignals } from '../../src/load/levels.ts';
import { MANAGED_TIERS, type CompiledCoordinator, type CompiledPool, type TierMode } from '../../src/load/options.ts';
import type { Decision } from '../../src/load/system-events.ts';
import { tierSlotLimit, type CompiledOptions } from '../../src/options.ts';
import { TIERS } from '../../src/payload.ts';
import type { PartitionMessage } from '../partition/messages.ts';
import type { Ledger, LedgerEntry } from './ledger.ts';
import type { CoordinatorEffect } from './messages.ts';
import { levelOf, type CoordinatorState } from './state.ts';

export interface CoordinatorEnv {
  readonly options: CompiledCoordinator;
  readonly pool: CompiledPool;
  readonly runtime: Pick<CompiledOptions, 'maxWait' | 'tierCapacity' | 'reservedShare' | 'reservedFor'>;
  readonly partitions: number;
}

export class Plan {
  readonly effects: CoordinatorEffect[] = [];
  readonly decisions: Decision[] = [];
  constructor(readonly at: number) {}

  decide(decision: Omit<Decision, 'at'>): void {
    const full: Decision = { at: this.at, ...decision };
    this.decisions.push(full);
    this.effects.push({ kind: 'decision', decision: full });
  }

  send(partition: number, message: PartitionMessage): void {
    this.effects.push({ kind: 'send', partition, message });
  }

  broadcast(partitions: number, message: PartitionMessage): void {
    for (let p = 0; p < partitions; p++) this.send(p, message);
  }
}

/** Sends degrade / restore for every tier whose mode at `level` differs from what partitions have. */
export function planModes(state: CoordinatorState, env: CoordinatorEnv, plan: Plan): CoordinatorState['modes'] {
  const level = levelOf(state);
  const wanted = env.options.modes[level];
  let modes = state.modes;
  for (const tier of MANAGED_TIERS) {
    const mode: TierMode = wanted[tier];
    if (modes[tier] === mode) continue;
    modes = { ...modes, [tier]: mode };
    if (mode === 'normal') {
      plan.broadcast(env.partitions, { type: 'restore', tier });
      plan.decide({ action: 'restore', level, tier, reason: `load is ${level}: ${tier} runs normally again` });
    } else {
      plan.broadcast(env.partitions, { type: 'degrade', tier, mode });
      const what = mode === 'skip' ? 'due payloads are skipped into the ledger' : 'payloads run degraded';
      plan.decide({ action: 'degrade', level, tier, mode, reason: `load is ${level}${causeOf(state)}: ${tier} ${what}` });
    }
  }
  return modes;
}

/**
 * Elevate: while some partition's high tier overflows (its oldest payload has waited a share of
 * high's maxWait) and slots stand free that the reservation keeps from lower tiers (so high is held
 * back by something else, such as a per-type limit), partitions with medium work and no high work
 * of their own serve their medium tier as high, putting the idle reserved slots to use. It ends
 * when no high tier overflows any more.
 */
export function planElevation(state: CoordinatorState, env: CoordinatorEnv, plan: Plan): readonly number[] {
  const level = levelOf(state);
  if (env.options.elevate === false) return state.elevated;
  const limit = env.options.elevate.highWaitRatio * env.runtime.maxWait.high;
  const overflowing = state.reports.filter((r) => r && r.depth.high > 0 && r.oldestWait.high >= limit).map((r) => r?.partition as number);
  const elevated = new Set(state.elevated);
  if (overflowing.length === 0) {
    for (const p of elevated) {
      plan.send(p, { type: 'elevate', tier: 'medium', as: 'medium' });
      plan.decide({ action: 'unelevate', level, tier: 'medium', partition: p, reason: 'no high tier overflows any more' });
    }
    return elevated.size === 0 ? state.elevated : [];
  }
  const { pool } = state;
  const lowerBusy = TIERS.slice(TIERS.indexOf(env.runtime.reservedFor) + 1).reduce((n, t) => n + pool.byTier[t], 0);
  const lowerRoom = Math.max(0, tierSlotLimit(env.runtime, pool.size, 'medium') - lowerBusy);
  const reservedIdle = pool.size - pool.busy - lowerRoom;
  if (reservedIdle <= 0) return state.elevated;
  for (const report of state.reports) {
    if (!report || elevated.has(report.partition) || report.depth.medium === 0 || report.depth.high > 0 || report.depth.critical > 0) continue;
    elevated.add(report.partition);
    plan.send(report.partition, { type: 'elevate', tier: 'medium', as: 'high' });
    plan.decide({
      action: 'elevate', level, tier: 'medium', partition: report.partition,
      reason: `high overflows in partition ${overflowing.join(', ')} while ${reservedIdle} reserved slot(s) stand idle: medium served as high`,
    });
  }
  return elevated.size === state.elevated.length ? state.elevated : [...elevated];
}

/**
 * Transfer: per tier, when the hottest partition holds at least `hotShare` of the tier's capacity,
 * move a bounded batch to the coldest partition that has the tier nearly empty and runs less than
 * its share of the slots. Both sides change through their reducers (transfer-out, transfer-in).
 */
export function planTransfers(state: CoordinatorState, env: CoordinatorEnv, plan: Plan): void {
  const { transfer } = env.options;
  if (transfer === false || env.partitions < 2) return;
  const level = levelOf(state);
  const fairShare = Math.max(1, state.pool.size / env.partitions);
  for (const tier of TIERS) {
    const capacity = env.runtime.tierCapacity[tier];
    let hot: { partition: number; depth: number } | undefined;
    let cold: { partition: number; depth: number; load: number } | undefined;
    for (const r of state.reports) {
      if (!r) continue;
      const depth = r.depth[tier];
      if (depth >= transfer.hotShare * capacity && (!hot || depth > hot.depth)) hot = { partition: r.partition, depth };
      const load = r.running + r.depth.critical + r.depth.high + r.depth.medium + r.depth.low;
      if (depth <= transfer.coldShare * capacity && load < fairShare && (!cold || load < cold.load)) cold = { partition: r.partition, depth, load };
    }
    if (!hot || !cold || hot.partition === cold.partition) continue;
    const count = Math.min(transfer.batchSize, Math.floor((hot.depth - cold.depth) / 2));
    if (count <= 0) continue;
    plan.send(hot.partition, { type: 'transfer-out', tier, to: cold.partition, max: count });
    plan.decide({
      action: 'transfer', level, tier, partition: hot.partition, to: cold.partition, count,
      reason: `${tier} of partition ${hot.partition} holds ${hot.depth} of ${capacity}; partition ${cold.partition} is idle`,
    });
  }
}

/** The pool's target size: grow on deep queues while the process has headroom, shrink when idle or the process is overloaded. */
export function planPool(state: CoordinatorState, env: CoordinatorEnv, plan: Plan, queued: number): Pick<CoordinatorState, 'poolTarget' | 'poolChangedAt' | 'poolCheckedAt'> {
  const { min, max, step, checkIntervalMs, cooldownMs, scaleUpQueuePerSlot, scaleDownBusyShare } = env.pool;
  const unchanged = { poolTarget: state.poolTarget, poolChangedAt: state.poolChangedAt, poolCheckedAt: state.poolCheckedAt };
  const at = plan.at;
  if (min === max || at - state.poolCheckedAt < checkIntervalMs) return unchanged;
  const checked = { ...unchanged, poolCheckedAt: at };
  if (at - state.poolChangedAt < cooldownMs) return checked;
  const size = state.poolTarget;
  const delta = Math.max(1, Math.round(size * step));
  const level = levelOf(state);
  const processHot = processSignalAbove(state.signals, env, 'elevated');
  let target = size;
  let reason = '';
  if (level === 'critical' && processSignalAbove(state.signals, env, 'critical') !== undefined) {
    target = Math.max(min, size - delta);
    reason = `the process itself is overloaded (${processSignalAbove(state.signals, env, 'critical')}): fewer slots`;
  } else if (queued / size >= scaleUpQueuePerSlot && processHot === undefined) {
    target = Math.min(max, size + delta);
    reason = `${queued} queued for ${size} slots and the process has headroom: more slots`;
  } else if (queued === 0 && state.pool.busy < scaleDownBusyShare * size) {
    target = Math.max(min, size - delta);
    reason = `nothing queued and ${state.pool.busy} of ${size} slots busy: fewer slots`;
  }
  if (target === size) return checked;
  plan.effects.push({ kind: 'resize', size: target });
  plan.decide({ action: 'scale', level, size: target, reason });
  return { poolTarget: target, poolChangedAt: at, poolCheckedAt: at };
}

/**
 * Make-up: at `normal`, reschedule ledger entries oldest first, only as many as keep queued work
 * under `maxBacklogMs` of pool time (measured with the pool's mean run time), at most `batchSize`
 * per round. The make-up can therefore never queue more than a fraction of a second of work, well
 * under the backlog that raises the level; and it pauses the moment the level leaves `normal`.
 */
export function planMakeup(state: CoordinatorState, env: CoordinatorEnv, plan: Plan, queued: number, force = false): void {
  const { ledger } = state;
  if (ledger.size === 0) return;
  const level = levelOf(state);
  if (!force && level !== 'normal') return;
  const { makeup } = env.options;
  const { meanRunMs, size } = state.pool;
  const target = meanRunMs > 0 ? Math.floor((makeup.maxBacklogMs * size) / meanRunMs) : size;
  const room = force ? ledger.size : Math.min(makeup.batchSize, target - queued);
  if (room <= 0) return;
  const taken = ledger.take(room, plan.at);
  sendByPartition(plan, taken.due, (entries) => ({ type: 'reschedule', entries, boost: makeup.boost, force }));
  sendByPartition(plan, taken.expired, (entries) => ({ type: 'expire', entries }));
  if (taken.due.length > 0) {
    const why = force ? 'an operator asked to reschedule the ledger now' : `load is normal; ${queued} queued, room for ${room} within ${makeup.maxBacklogMs} ms of pool time`;
    plan.decide({ action: 'makeup', level, count: taken.due.length, reason: `${why}; priority +${makeup.boost}; ${ledger.size} left in the ledger` });
  }
  if (taken.expired.length > 0) plan.decide({ action: 'expire', level, count: taken.expired.length, reason: 'deadline passed while in the ledger' });
}

/**
 * Most ledger entries one round expires, and one message to a partition carries (reschedules and
 * expiries alike): each is a partition's turn of ~2–3 µs per payload, so a slice stays within a
 * turn's budget whatever the ledger holds; what is left goes in the next rounds or messages.
 */
export const RELIEF_SLICE = 512;
const EXPIRED_PER_ROUND = 8 * RELIEF_SLICE;

/** Ledger entries whose deadline has passed are expired (the client is told by the partition), a bounded number a round. */
export function planExpiry(ledger: Ledger, level: LoadLevel, plan: Plan): void {
  const expired = ledger.takeExpired(plan.at, EXPIRED_PER_ROUND);
  if (expired.length === 0) return;
  sendByPartition(plan, expired, (entries) => ({ type: 'expire', entries }));
  plan.decide({ action: 'expire', level, count: expired.length, reason: 'deadline passed while in the ledger' });
}

function sendByPartition(plan: Plan, entries: readonly LedgerEntry[], build: (entries: LedgerEntry[]) => PartitionMessage): void {
  const byPartition = new Map<number, LedgerEntry[]>();
  for (const entry of entries) {
    const list = byPartition.get(entry.partition);
    if (list) list.push(entry);
    else byPartition.set(entry.partition, [entry]);
  }
  for (const [partition, list] of byPartition) {
    for (let from = 0; from < list.length; from += RELIEF_SLICE) plan.send(partition, build(list.length <= RELIEF_SLICE ? list : list.slice(from, from + RELIEF_SLICE)));
  }
}

function processSignalAbove(signals: LoadSignals, env: CoordinatorEnv, level: 'elevated' | 'critical'): string | undefined {
  for (const name of SIGNAL_NAMES) if (PROCESS_SIGNALS.has(name) && signals[name] >= env.options.thresholds[name][level]) return name;
  return undefined;
}

function causeOf(state: CoordinatorState): string {
  if (state.pinned) return ' (pinned by an operator)';
  const cause = state.levels.cause;
  return cause ? ` (${cause} ${round(state.signals[cause])})` : '';
}

export const round = (n: number): number => Math.round(n * 100) / 100;
