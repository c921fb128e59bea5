import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { reduceWorkflow, type WorkflowEnv } from '../actors/workflow/reducer.ts';
import type { StepOutcome, WorkflowEffect, WorkflowMessage } from '../actors/workflow/messages.ts';
import { initialWorkflowState, type WorkflowState } from '../actors/workflow/state.ts';
import { workflow } from '../src/dsl/index.ts';

type H = { work: (n: number) => number; undo: (n: number) => boolean };
const definition = workflow<null, H>('race')
  .step('a', { handler: 'work', input: () => 0, compensate: { handler: 'undo', input: ({ result }) => result } })
  .each('b', { handler: 'work', after: ['a'], over: () => [1, 2, 3], input: ({ item }) => item, compensate: { handler: 'undo', input: ({ result }) => result } })
  .output(() => 'done');

/** An instance driven by hand: no actor system, no runtime; effects are returned for inspection. */
function harness() {
  const env: WorkflowEnv = { definition, stepsByName: new Map(definition.steps.map((s) => [s.name, s])), now: () => 0, clientId: 'c', shardKey: 'wf-1' };
  let state: WorkflowState = initialWorkflowState('wf-1', definition, null, 0);
  const send = (message: WorkflowMessage): WorkflowEffect[] => {
    const t = reduceWorkflow(state, message, env);
    state = t.state;
    return t.effects;
  };
  const kinds = (effects: WorkflowEffect[]) => effects.map((e) => (e.kind === 'submit' ? `submit ${e.purpose} ${e.step}#${e.index}` : e.kind === 'event' ? `event ${e.event.type}` : e.kind));
  const outcome = (step: string, index: number, status: StepOutcome['status'], purpose: StepOutcome['purpose'] = 'step', result?: unknown): WorkflowMessage =>
    ({ type: 'settled', outcomes: [{ step, index, purpose, status, result, ...(status !== 'completed' && { error: { code: 'X', message: status, name: 'Error' } }) }] });
  return { send, kinds, outcome, state: () => state };
}

describe('workflow reducer', () => {
  test('a step that completes after the instance began to end is compensated first, and the end waits for it', () => {
    const h = harness();
    assert.deepEqual(h.kinds(h.send({ type: 'start' })), ['event started', 'event step-started', 'submit step a#0']);
    h.send({ type: 'submitted', refs: [{ step: 'a', index: 0, purpose: 'step', id: 'pa' }] });
    assert.deepEqual(h.kinds(h.send(h.outcome('a', 0, 'completed', 'step', 10))), [
      'event step-completed', 'event step-started', 'submit step b#0', 'submit step b#1', 'submit step b#2',
    ]);
    h.send({ type: 'submitted', refs: [0, 1, 2].map((index) => ({ step: 'b', index, purpose: 'step' as const, id: `pb${index}` })) });
    h.send(h.outcome('b', 0, 'completed', 'step', 11));
    // Item 1 fails: item 2 is cancelled and undoing starts with the latest completion (b#0).
    const failing = h.send(h.outcome('b', 1, 'failed'));
    assert.deepEqual(h.kinds(failing), ['event step-failed', 'cancel', 'submit compensation b#0', 'event compensation-started']);
    assert.deepEqual((failing.find((e) => e.kind === 'cancel') as Extract<WorkflowEffect, { kind: 'cancel' }>).ids, ['pb0', 'pb1', 'pb2']);
    assert.equal(h.state().status, 'compensating');
    // The cancel came too late: item 2 completed. It is undone before a.
    assert.deepEqual(h.kinds(h.send(h.outcome('b', 2, 'completed', 'step', 12))), []);
    assert.deepEqual(h.kinds(h.send(h.outcome('b', 0, 'completed', 'compensation'))), ['event compensation-completed', 'submit compensation b#2', 'event compensation-started']);
    assert.deepEqual(h.kinds(h.send(h.outcome('b', 2, 'completed', 'compensation'))), ['event compensation-completed', 'submit compensation a#0', 'event compensation-started']);
    assert.deepEqual(h.kinds(h.send(h.outcome('a', 0, 'completed', 'compensation'))), ['event compensation-completed', 'event failed', 'finish']);
    const state = h.state();
    assert.equal(state.status, 'failed');
    assert.equal(state.failure?.step, 'b');
    assert.equal(state.outstanding, 0);
    assert.deepEqual(Object.fromEntries(Object.entries(state.steps).map(([name, s]) => [name, s.status])), { a: 'compensated', b: 'compensated' });
  });

  test('state is plain data (no functions, maps or class instances): ready to journal', () => {
    const h = harness();
    h.send({ type: 'start' });
    h.send({ type: 'submitted', refs: [{ step: 'a', index: 0, purpose: 'step', id: 'pa' }] });
    h.send(h.outcome('a', 0, 'completed', 'step', 10));
    h.send(h.outcome('b', 0, 'failed'));
    const plain = (value: unknown, path: string): void => {
      if (value === null || value === undefined || ['string', 'number', 'boolean'].includes(typeof value)) return;
      assert.ok(Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype, `${path} is not plain data`);
      for (const [key, inner] of Object.entries(value as object)) plain(inner, `${path}.${key}`);
    };
    plain(h.state(), 'state');
    const roundTripped = JSON.parse(JSON.stringify(h.state())) as WorkflowState;
    assert.deepEqual(roundTripped.steps.a?.results, [10]);
    assert.deepEqual(roundTripped.completions, [{ step: 'a', index: 0 }]);
    assert.equal(roundTripped.failure?.step, 'b');
  });
});
