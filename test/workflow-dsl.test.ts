import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defineWorkflow, isWorkflowDefinition, workflow, WorkflowDefinitionError, type WorkflowDefinition } from '../src/index.ts';
import { setup } from './helpers.ts';

const handlers = {
  fetch: (url: string) => ({ url, bytes: url.length }),
  parse: (page: { url: string; bytes: number }) => ({ words: page.bytes * 2 }),
  sum: (counts: readonly number[]) => counts.reduce((a, b) => a + b, 0),
  undo: (what: string) => what,
};

const definitionError = (build: () => unknown): WorkflowDefinitionError => {
  try {
    build();
  } catch (error) {
    assert.ok(error instanceof WorkflowDefinitionError, String(error));
    return error;
  }
  return assert.fail('expected a WorkflowDefinitionError');
};

describe('workflow definitions', () => {
  test('the builder produces a frozen definition in topological order with every handler type it needs', () => {
    const def = workflow<{ urls: string[] }, typeof handlers>('crawl', { sample: { urls: ['a'] }, description: 'count words' })
      .each('pages', { handler: 'fetch', over: ({ input }) => input.urls, input: ({ item }) => item, compensate: { handler: 'undo', input: ({ item }) => item } })
      .each('parsed', { handler: 'parse', after: ['pages'], over: ({ results }) => results.pages, input: ({ item }) => item })
      .step('total', { handler: 'sum', after: ['parsed'], input: ({ results }) => results.parsed.map((p) => p.words) })
      .output(({ results }) => results.total);
    assert.ok(isWorkflowDefinition(def));
    assert.ok(Object.isFrozen(def));
    assert.equal(def.name, 'crawl');
    assert.deepEqual(def.sample, { urls: ['a'] });
    assert.deepEqual(def.steps.map((s) => [s.name, s.kind, s.after]), [['pages', 'each', []], ['parsed', 'each', ['pages']], ['total', 'step', ['parsed']]]);
    assert.deepEqual([...def.handlerTypes].sort(), ['fetch', 'parse', 'sum', 'undo']);
    assert.equal(isWorkflowDefinition({ name: 'x' }), false);
  });

  test('steps declared out of order are run in a topological order', () => {
    const def = defineWorkflow({
      name: 'unordered',
      steps: [
        { name: 'c', handler: 'sum', after: ['b'], input: () => [] },
        { name: 'b', handler: 'sum', after: ['a'], input: () => [] },
        { name: 'a', handler: 'sum', input: () => [] },
        { name: 'd', handler: 'sum', input: () => [] },
      ],
      output: () => null,
    });
    assert.deepEqual(def.steps.map((s) => s.name), ['a', 'b', 'c', 'd']);
  });

  test('every problem is reported at once, each naming the step and the field', () => {
    const error = definitionError(() => defineWorkflow({
      name: 'broken',
      sample: { big: 1n },
      steps: [
        { name: 'a', handler: 'fetch', after: ['c'], input: () => 'x' },
        { name: 'b', handler: '', after: ['a', 'ghost', 'a'], input: 'not a function', priority: 'urgent', retries: -1, retry: 3 },
        { name: 'c', handler: 'parse', after: ['b'], input: () => null, compensate: { handler: 'undo' }, timeout: 0 },
        { name: 'a', handler: 'sum', input: () => [] },
        { name: 'fan', kind: 'each', handler: 'fetch', input: () => 'x', complexity: 11, tags: [''] },
        { name: 'bad name!', handler: 'sum', input: () => [] },
        { name: 'self', handler: 'sum', after: ['self'], input: () => [], when: true },
      ],
      output: undefined,
    }));
    assert.equal(error.code, 'INVALID_WORKFLOW');
    const found = new Set(error.problems.map((p) => `${p.step} ${p.field}`));
    for (const expected of [
      '(workflow) sample', '(workflow) output', 'b handler', 'b input', 'b after[1]', 'b after[2]', 'b priority', 'b retries', 'b retry',
      'c compensate.input', 'c timeout', 'a name', 'fan over', 'fan complexity', 'fan tags', '#5 name', 'self when', 'a after', 'self after',
    ]) assert.ok(found.has(expected), `missing problem for ${expected}: ${error.message}`);
    const cycle = error.problems.find((p) => p.step === 'a' && p.field === 'after');
    assert.match(cycle?.problem ?? '', /cycle: a → c → b → a/);
    assert.match(error.problems.find((p) => p.step === 'self' && p.field === 'after')?.problem ?? '', /cycle: self → self/);
    assert.match(error.message, /step "b" after\[1\] names no step of this workflow \("ghost"\)/);
  });

  test('the builder validates too: a reference to a later or unknown step is caught at load', () => {
    const error = definitionError(() =>
      workflow<{ n: number }, typeof handlers>('typo')
        .step('first', { handler: 'fetch', input: () => 'x' })
        .step('second', { handler: 'parse', after: ['frist' as 'first'], input: ({ results }) => results.first })
        .output(() => 1),
    );
    assert.deepEqual(error.problems.map((p) => [p.step, p.field]), [['second', 'after[0]']]);
  });

  test('starting a definition whose handlers are not registered names the steps', async () => {
    const { rt } = setup();
    rt.handle('fetch', handlers.fetch);
    const def: WorkflowDefinition = workflow<string, typeof handlers>('needs')
      .step('get', { handler: 'fetch', input: ({ input }) => input, compensate: { handler: 'undo', input: () => 'x' } })
      .step('words', { handler: 'parse', after: ['get'], input: ({ results }) => results.get })
      .output(({ results }) => results.words);
    const error = await rt.workflows.start(def, 'u').then(() => assert.fail('should reject'), (e: unknown) => e);
    assert.ok(error instanceof WorkflowDefinitionError);
    assert.deepEqual(error.problems.map((p) => [p.step, p.field]), [['get', 'compensate.handler'], ['words', 'handler']]);
    await assert.rejects(rt.workflows.start({ name: 'fake' } as never, 1), WorkflowDefinitionError);
    assert.deepEqual(rt.workflows.list(), [], 'nothing started');
    await rt.stop();
  });
});
