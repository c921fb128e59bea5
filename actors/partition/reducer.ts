/**
 * The partition's transitions: pure `(state, message, env) → { state, effects }`. Everything the
 * outside world must do (start a handler, answer a caller, emit an event) is returned as an effect
 * and performed by the actor wrapper after the state is committed.
 *
 * A transition works on plain local copies of the fields it touches and hands them to immer once at
 * the end: immer still produces the next state (structural sharing, frozen result), but the hot
 * path pays for one draft write per field per message instead of a proxy trap per payload.
 */
import { Immer } from 'immer';
import type { PartitionEffect, PartitionMessage } from './messages.ts';
import type { PartitionEnv } from './env.ts';
import { viewOf, type PartitionState } from './state.ts';
import { PartitionTx } from './lifecycle.ts';

// A private instance: the engine's settings never leak into an application's own use of immer.
const { produce } = new Immer({ autoFreeze: true });

export type { HandlerPolicy, PartitionEnv, PartitionLoadEnv } from './env.ts';

export interface Transition {
  readonly state: PartitionState;
  readonly effects: PartitionEffect[];
  /** Ids whose record was written or dropped: what a journal entry of this transition must carry. */
  readonly touched: ReadonlySet<string>;
}

const UNTOUCHED: ReadonlySet<string> = new Set();

export function reducePartition(state: PartitionState, message: PartitionMessage, env: PartitionEnv): Transition {
  const effects: PartitionEffect[] = [];
  if (message.type === 'get' || message.type === 'cancel') {
    // A transferred payload's lookups follow it to the partition that owns it now.
    const movedTo = state.records.get(message.id)?.movedTo;
    if (movedTo !== undefined) return { state, effects: [{ kind: 'forward', to: movedTo, message }], touched: UNTOUCHED };
  }
  if (message.type === 'get') {
    const record = state.records.get(message.id);
    const view = record && viewOf(record, state.index);
    effects.push({ kind: 'reply', deliver: () => message.reply(view) });
    return { state, effects, touched: UNTOUCHED };
  }
  if (message.type === 'report') return { state, effects, touched: UNTOUCHED }; // the actor wrapper sends it
  const tx = new PartitionTx(state, effects, env);
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
    case 'rollback':
      for (const id of message.ids) tx.rollback(id);
      break;
    case 'degrade':
      tx.setMode(message.tier, message.mode);
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
  return { state: produce(state, (draft) => void Object.assign(draft, tx.changes(state))), effects, touched: tx.touched };
}
