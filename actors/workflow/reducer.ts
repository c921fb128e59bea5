/**
 * A workflow instance's transitions: pure `(state, message, env) → { state, effects }`.
 *
 * A step is submitted once every step in its `after` list is resolved; its data comes from the
 * definition's `input` function over the workflow input and the results so far (definitions are
 * plain code, run here like a reducer: synchronously, and they must not perform I/O). When a step
 * fails (and is not optional) or the instance is cancelled, outstanding steps are cancelled and
 * the compensations of completed steps run one at a time, latest completion first; the instance
 * ends once they have run and every outstanding step payload has ended.
 *
 * State is worked on in local copies and handed to immer once. Results are not frozen: they are
 * handler data that flows on to other handlers, which may mutate their input.
 */
import { Immer } from 'immer';
import type { StepDefinition, WorkflowDefinition } from '../../src/dsl/definition.ts';
import type { WorkflowEffect, WorkflowMessage } from './messages.ts';
import type { WorkflowState } from './state.ts';
import { WorkflowTx } from './transaction.ts';

const { produce } = new Immer({ autoFreeze: false });

export interface WorkflowEnv {
  readonly definition: WorkflowDefinition;
  /** Step lookup by name. */
  readonly stepsByName: ReadonlyMap<string, StepDefinition>;
  now(): number;
  /** Client and shard key of every payload of this instance (one shard key: all steps on one partition). */
  readonly clientId: string;
  readonly shardKey: string;
}

export interface WorkflowTransition {
  readonly state: WorkflowState;
  readonly effects: WorkflowEffect[];
}

export function reduceWorkflow(state: WorkflowState, message: WorkflowMessage, env: WorkflowEnv): WorkflowTransition {
  const effects: WorkflowEffect[] = [];
  const tx = new WorkflowTx(state, effects, env);
  switch (message.type) {
    case 'start':
      tx.emit('started', undefined);
      tx.advance();
      break;
    case 'submitted':
      for (const ref of message.refs) tx.submitted(ref);
      break;
    case 'settled':
      for (const outcome of message.outcomes) tx.settled(outcome);
      tx.advance();
      break;
    case 'resume':
      tx.resume();
      break;
    case 'cancel': {
      const cancelled = tx.cancel();
      effects.push({ kind: 'reply', deliver: () => message.reply(cancelled) });
      break;
    }
  }
  tx.maybeFinishEnding();
  return { state: produce(state, (draft) => void Object.assign(draft, tx.changes(state))), effects };
}
