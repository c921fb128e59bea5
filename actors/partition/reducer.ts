/**
 * The partition's transitions: `(state, message, env) → { state, effects }`. The state is the
 * partition's own and is changed in place (the actor runs one message at a time); everything the
 * outside world must do (start a handler, answer a caller, emit an event) is returned as an effect,
 * data performed by the actor wrapper once the transition is done (and, when durable, journalled).
 */
import type { PartitionEffect, PartitionMessage } from './messages.ts';
import type { PartitionEnv } from './env.ts';
import { limitHoldOf, viewOf, type PartitionState, type PayloadRecord } from './state.ts';
import type { TypeQueue } from './mailbox.ts';
import { PartitionTx } from './lifecycle.ts';

export type { HandlerPolicy, PartitionEnv, PartitionLoadEnv } from './env.ts';

export interface Transition {
  readonly state: PartitionState;
  readonly effects: PartitionEffect[];
  /** Records this transition created (only when journalled; see `MailboxTx.added`). */
  readonly added: readonly PayloadRecord[];
  /** The partition's seq when it began: what `added` holds has a seq at or past it. */
  readonly firstSeq: number;
  /** Ids of the other records written or dropped: what a journal entry of this transition must carry (only when journalled). */
  readonly touched: ReadonlySet<string>;
  /** Of the touched, the records whose fields fixed at submit changed (journalled whole; the others as patches). */
  readonly created: ReadonlySet<string>;
  /** Journalled only: the queues it pushed into, and the ids it queued again (`MailboxTx.pushed`). */
  readonly pushed: readonly TypeQueue<PayloadRecord>[];
  readonly requeued: readonly string[];
  /** Claiming only: the ids it claimed (claims.ts), which its journal entry carries. */
  readonly claimed: readonly string[];
  /** Journalled only: ids it started and completed (see `MailboxTx.started`). */
  readonly started: readonly string[];
  readonly completed: readonly string[];
  /** Journalled only: seqs of the ended records dropped from retention (see `MailboxTx.evicted`). */
  readonly evicted: readonly number[];
}

const UNTOUCHED: ReadonlySet<string> = new Set();
const NONE_QUEUED: readonly string[] = [];
const NONE_PUSHED: readonly TypeQueue<PayloadRecord>[] = [];
const NONE_ADDED: readonly PayloadRecord[] = [];
const NONE_EVICTED: readonly number[] = [];

/**
 * `journaled`: track what changed for a journal entry (the in-memory default journals nothing).
 * `claiming`: journal starts ahead of their grants (claims.ts; durable in one process).
 */
export function reducePartition(state: PartitionState, message: PartitionMessage, env: PartitionEnv, journaled = false, claiming = false): Transition {
  const effects: PartitionEffect[] = [];
  if (message.type === 'get' || message.type === 'cancel') {
    // A transferred payload's lookups follow it to the partition that owns it now.
    const movedTo = state.records.get(message.id)?.movedTo;
    if (movedTo !== undefined) return { state, effects: [{ kind: 'forward', to: movedTo, message }], added: NONE_ADDED, firstSeq: state.seq, touched: UNTOUCHED, created: UNTOUCHED, pushed: NONE_PUSHED, requeued: NONE_QUEUED, claimed: NONE_QUEUED, started: NONE_QUEUED, completed: NONE_QUEUED, evicted: NONE_EVICTED };
  }
  if (message.type === 'get') {
    const record = state.records.get(message.id);
    const view = record && viewOf(record, state.index, limitHoldOf(state, record));
    effects.push({ kind: 'reply', deliver: () => message.reply(view) });
    return { state, effects, added: NONE_ADDED, firstSeq: state.seq, touched: UNTOUCHED, created: UNTOUCHED, pushed: NONE_PUSHED, requeued: NONE_QUEUED, claimed: NONE_QUEUED, started: NONE_QUEUED, completed: NONE_QUEUED, evicted: NONE_EVICTED };
  }
  if (message.type === 'report') return { state, effects, added: NONE_ADDED, firstSeq: state.seq, touched: UNTOUCHED, created: UNTOUCHED, pushed: NONE_PUSHED, requeued: NONE_QUEUED, claimed: NONE_QUEUED, started: NONE_QUEUED, completed: NONE_QUEUED, evicted: NONE_EVICTED }; // the actor wrapper sends it
  const tx = new PartitionTx(state, effects, env, journaled, journaled && claiming);
  switch (message.type) {
    case 'enqueue':
      tx.enqueue(message.batch);
      break;
    case 'grant':
      tx.grant(message.grants);
      break;
    case 'outcomes':
      for (const outcome of message.outcomes) tx.outcome(outcome);
      break;
    case 'cancel': {
      const result = tx.cancel(message.id);
      effects.push({ kind: 'reply', deliver: () => message.reply(result) });
      break;
    }
    case 'tick':
      tx.sweep();
      break;
    case 'revive': {
      const results = tx.revive(message.letters);
      effects.push({ kind: 'reply', deliver: () => message.reply(results) });
      break;
    }
    case 'hold':
      tx.setHolds(message.clients);
      break;
    case 'unpark':
      tx.unpark(message.scopes);
      break;
    case 'unclaim':
      tx.unclaim();
      break;
    case 'rollback':
      if (message.reverts) tx.revert(message.reverts);
      for (const id of message.ids) tx.rollback(id);
      break;
    case 'degrade':
      tx.setMode(message.tier, message.mode, message.continued === true);
      break;
    case 'restore':
      tx.setMode(message.tier, 'normal');
      break;
    case 'elevate':
      tx.serve(message.tier, message.as);
      break;
    case 'transfer-out':
      tx.transferOut(message.tier, message.to, message.max);
      break;
    case 'transfer-in':
      tx.transferIn(message.records);
      break;
    case 'reschedule':
      tx.reschedule(message.entries, message.boost, message.force === true);
      break;
    case 'expire':
      tx.expire(message.entries);
      break;
  }
  tx.admitParked();
  tx.flushLedger();
  const claimed = tx.claimAhead() ?? NONE_QUEUED;
  return {
    state, effects, added: tx.added ?? NONE_ADDED, firstSeq: tx.firstSeq, touched: tx.touched ?? UNTOUCHED, created: tx.created ?? UNTOUCHED, pushed: tx.pushed ?? NONE_PUSHED, requeued: tx.requeued ?? NONE_QUEUED, claimed,
    started: tx.started ?? NONE_QUEUED, completed: tx.completed ?? NONE_QUEUED, evicted: tx.evicted ?? NONE_EVICTED,
  };
}
