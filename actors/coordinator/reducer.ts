/**
 * The coordinator's transitions: `(state, message, env) → { state, effects }`, the control state
 * replaced (immer), the ledger changed in place (it is the coordinator's own, and a message is
 * handled whole before the next). A round is decided when the last partition's report arrives:
 * signals → level (with hysteresis, unless pinned) → tier modes → elevation → transfers → pool
 * size → expiry → make-up. Operator actions (pin, release, reschedule now, throttle) apply at once
 * with the latest signals.
 */
import { Immer } from 'immer';
import { LEVEL_RANK, nextLevel, type LoadLevel } from '../../src/load/levels.ts';
import type { CoordinatorEffect, CoordinatorMessage } from './messages.ts';
import { Plan, planElevation, planExpiry, planMakeup, planModes, planPool, planTransfers, round, type CoordinatorEnv } from './policy.ts';
import { roundSignals } from './signals.ts';
import { levelOf, type CoordinatorState } from './state.ts';

const { produce } = new Immer({ autoFreeze: true });

export interface CoordinatorTransition {
  readonly state: CoordinatorState;
  readonly effects: CoordinatorEffect[];
}

type Changes = { -readonly [K in keyof CoordinatorState]?: CoordinatorState[K] };

export function reduceCoordinator(state: CoordinatorState, message: CoordinatorMessage, env: CoordinatorEnv): CoordinatorTransition {
  const at = 'at' in message ? message.at : state.roundAt;
  const plan = new Plan(at);
  const deadlineBefore = state.ledger.nextDeadline();
  let rearm = false;
  let changes: Changes = {};
  switch (message.type) {
    case 'round':
      changes = { round: message.round, roundAt: message.at, awaiting: env.partitions, process: message.process, pool: message.pool };
      break;
    case 'report': {
      const reports = state.reports.slice();
      reports[message.load.partition] = message.load;
      changes = { reports };
      if (message.round === state.round && state.awaiting > 0) {
        changes.awaiting = state.awaiting - 1;
        if (changes.awaiting === 0) changes = decideRound({ ...state, ...changes }, env, plan);
      }
      break;
    }
    case 'skipped':
      state.ledger.add(message.entries);
      break;
    case 'unledger':
      state.ledger.cancel(message.ledgerIds);
      break;
    case 'pin': {
      const levels = { level: message.level, since: at, calmSince: undefined, quietSince: undefined, cause: undefined };
      plan.decide({ action: 'pin', level: message.level, from: levelOf(state), reason: `an operator pinned the level to ${message.level}` });
      changes = applyLevel({ ...state, pinned: message.level, levels }, env, plan, levelOf(state));
      changes.pinned = message.level;
      changes.levels = levels;
      break;
    }
    case 'release':
      if (state.pinned === undefined) break;
      plan.decide({ action: 'release', level: state.pinned, reason: 'an operator released the pinned level; the signals decide again, with hysteresis' });
      changes = { pinned: undefined };
      break;
    case 'reschedule-now':
      planMakeup(state, env, plan, 0, true);
      break;
    case 'throttle':
      plan.effects.push({ kind: 'throttle', perSecond: message.perSecond });
      plan.decide({
        action: 'throttle', level: levelOf(state), tier: 'low', size: message.perSecond,
        reason: message.perSecond === undefined ? 'low-tier starts no longer throttled' : `low tier limited to ${message.perSecond} starts per second`,
      });
      changes = { lowThrottle: message.perSecond };
      break;
    case 'expire-due':
      planExpiry(state.ledger, levelOf(state), plan);
      rearm = true; // its timer fired: what a bounded round left due needs another
      break;
    case 'restore': {
      const { saved } = message;
      if (!saved) break;
      // Tier modes are not restored: partitions start in normal mode, and the first round sends what the level asks for.
      changes = { levels: saved.levels, pinned: saved.pinned, lowThrottle: saved.lowThrottle, decisions: saved.decisions, decisionsTotal: saved.decisionsTotal };
      const level = saved.pinned ?? saved.levels.level;
      if (level !== levelOf(state)) plan.effects.push({ kind: 'level', level });
      if (saved.lowThrottle !== state.lowThrottle) plan.effects.push({ kind: 'throttle', perSecond: saved.lowThrottle });
      break;
    }
  }
  if (plan.decisions.length > 0) Object.assign(changes, keepDecisions(state, plan, env));
  const deadlineAfter = state.ledger.nextDeadline();
  if (deadlineAfter !== deadlineBefore || (rearm && deadlineAfter !== undefined)) plan.effects.push({ kind: 'wake', at: deadlineAfter });
  const next = Object.keys(changes).length === 0 ? state : produce(state, (draft) => void Object.assign(draft, changes));
  return { state: next, effects: plan.effects };
}

/** Every partition has reported: decide the round. */
function decideRound(state: CoordinatorState, env: CoordinatorEnv, plan: Plan): Changes {
  const { signals, arrivals, queued, throughput, completed } = roundSignals(state, env.runtime);
  const before = levelOf(state);
  const levels = state.pinned === undefined ? nextLevel(state.levels, signals, env.options, plan.at) : state.levels;
  const next: CoordinatorState = { ...state, signals, arrivals, levels };
  const after = levelOf(next);
  if (after !== before) {
    const cause = levels.cause;
    const reason = LEVEL_RANK[after] > LEVEL_RANK[before] && cause !== undefined && after !== 'normal'
      ? `${cause} at ${round(signals[cause])} reached its ${after} threshold (${env.options.thresholds[cause][after]})`
      : `every signal stayed under ${env.options.exitRatio} × its ${after === 'normal' ? 'elevated' : 'critical'} threshold for ${env.options.stepDownAfterMs} ms`;
    plan.decide({ action: 'level', level: after, from: before, signals, reason });
  }
  return { reports: state.reports, awaiting: 0, signals, arrivals, levels, throughput, completed, ...applyLevel(next, env, plan, before, queued) };
}

/** What follows from the level in force: modes, elevation, transfers, pool, expiry, make-up. */
function applyLevel(state: CoordinatorState, env: CoordinatorEnv, plan: Plan, before: LoadLevel, queued = queuedOf(state)): Changes {
  const level = levelOf(state);
  if (level !== before) plan.effects.push({ kind: 'level', level });
  const modes = planModes(state, env, plan);
  const elevated = planElevation(state, env, plan);
  planTransfers(state, env, plan);
  const pool = planPool(state, env, plan, queued);
  planExpiry(state.ledger, level, plan);
  planMakeup(state, env, plan, queued);
  return { modes, elevated, ...pool };
}

function queuedOf(state: CoordinatorState): number {
  let n = 0;
  for (const r of state.reports) if (r) n += r.depth.critical + r.depth.high + r.depth.medium + r.depth.low;
  return n;
}

function keepDecisions(state: CoordinatorState, plan: Plan, env: CoordinatorEnv): Changes {
  let decisions = state.decisions;
  for (const d of plan.decisions) decisions = decisions.push(d);
  while (decisions.size > env.options.decisionsKept) decisions = decisions.shift();
  return { decisions, decisionsTotal: state.decisionsTotal + plan.decisions.length };
}
