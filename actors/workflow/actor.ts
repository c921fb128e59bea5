/**
 * One workflow instance as an actor: the reducer from reducer.ts, wired to the edge the manager
 * provides. Spawned when an instance starts and retired when it ends.
 */
import type { ActorRef, ActorSystem } from '../../src/core/actor-system.ts';
import type { WorkflowEffect, WorkflowMessage } from './messages.ts';
import { reduceWorkflow, type WorkflowEnv } from './reducer.ts';
import { resolvedCount, type WorkflowState } from './state.ts';

export interface WorkflowHandle {
  readonly ref: ActorRef<WorkflowMessage>;
  /** The last committed state (read-only). */
  state(): WorkflowState;
}

export function spawnWorkflow(
  system: ActorSystem,
  initial: WorkflowState,
  env: WorkflowEnv,
  perform: (effects: readonly WorkflowEffect[], state: WorkflowState) => void,
): WorkflowHandle {
  let committed = initial;
  let effects: WorkflowEffect[] = [];
  // An actor name allows fewer characters than an instance id (whose home may hold '@' and ':').
  const ref = system.spawn<WorkflowState, WorkflowMessage>(`workflow-${initial.id.replace(/[^\w.-]/g, '-')}`, 'workflow', initial, {
    receive(state, message) {
      const transition = reduceWorkflow(state, message, env);
      effects = transition.effects;
      return transition.state;
    },
    afterMessage(state) {
      committed = state;
      const todo = effects;
      effects = [];
      perform(todo, state);
    },
    summarize: (state) => ({
      workflow: state.workflow,
      status: state.status,
      done: resolvedCount(state, env.definition),
      total: env.definition.steps.length,
      outstanding: state.outstanding,
    }),
  });
  return { ref, state: () => committed };
}
