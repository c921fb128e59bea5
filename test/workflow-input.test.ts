// A workflow's input schema: declared with the definition, its type the steps' input type, checked
// at start with every problem named and nothing started.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defineWorkflow, v, workflow, WorkflowDefinitionError, WorkflowInputError } from '../src/index.ts';
import { setup } from './helpers.ts';

const handlers = { greet: (who: { name: string; times: number }) => `hello ${who.name}`.repeat(who.times) };

const Greeting = v.strictObject({ name: v.pipe(v.string(), v.nonEmpty()), times: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1) });
type Greeting = v.InferOutput<typeof Greeting>;

const greeting = workflow<Greeting, typeof handlers>('greeting', { input: Greeting, sample: { name: 'Ada', times: 1 } })
  .step('say', { handler: 'greet', input: ({ input }) => ({ name: input.name, times: input.times }) })
  .output(({ results }) => results.say);

describe('workflow input schema', () => {
  test('an input the schema refuses is rejected with INVALID_INPUT naming every field, and nothing starts', async (t) => {
    const { rt } = setup();
    t.after(() => rt.stop());
    const ran: unknown[] = [];
    rt.handle('greet', (who: Greeting) => void ran.push(who));
    const error = await rt.workflows.start(greeting, { times: 0, extra: true } as unknown as Greeting).then(
      () => assert.fail('started'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkflowInputError, String(error));
    assert.equal(error.code, 'INVALID_INPUT');
    assert.deepEqual(error.problems.map((p) => p.field).sort(), ['extra', 'name', 'times']);
    assert.deepEqual(error.problems.find((p) => p.field === 'name'), { field: 'name', problem: 'is required' });
    assert.deepEqual(error.problems.find((p) => p.field === 'extra'), { field: 'extra', problem: 'is not a field of this input' });
    assert.match(error.message, /^invalid input for workflow "greeting": /);
    assert.deepEqual(rt.workflows.list(), [], 'no instance was created');
    assert.deepEqual(ran, []);
  });

  test('an accepted input runs as the schema outputs it (its defaults applied)', async (t) => {
    const { rt } = setup();
    t.after(() => rt.stop());
    rt.handle('greet', handlers.greet);
    const id = await rt.workflows.start(greeting, { name: 'Ada' } as Greeting);
    assert.equal(await rt.workflows.waitFor(id), 'hello Ada');
  });

  test('the definition refuses a sample the schema refuses, and an input that is not a valibot schema', () => {
    assert.throws(
      () => workflow<Greeting, typeof handlers>('bad-sample', { input: Greeting, sample: { name: '', times: 2 } })
        .step('say', { handler: 'greet', input: ({ input }) => input })
        .output(({ results }) => results.say),
      (error: unknown) => error instanceof WorkflowDefinitionError && error.problems.some((p) => p.step === '(workflow)' && p.field === 'sample.name' && /does not match the input schema/.test(p.problem)),
    );
    assert.throws(
      () => defineWorkflow({ name: 'not-a-schema', input: { name: 'string' }, steps: [{ name: 'a', handler: 'greet', input: () => 1 }], output: () => 1 }),
      (error: unknown) => error instanceof WorkflowDefinitionError && error.problems.some((p) => p.field === 'input' && /valibot schema/.test(p.problem)),
    );
  });

  test('the schema and the input type the steps see must agree (compile-time)', () => {
    const Numbered = v.object({ n: v.number() });
    // @ts-expect-error the schema's output ({ n: number }) is not the declared input type ({ n: string })
    const mismatch = workflow<{ n: string }, typeof handlers>('mismatch', { input: Numbered });
    assert.ok(mismatch);
    workflow<v.InferOutput<typeof Numbered>, typeof handlers>('typed', { input: Numbered })
      // @ts-expect-error input.n is a number: it does not fit the handler's name (a string)
      .step('say', { handler: 'greet', input: ({ input }) => ({ name: input.n, times: 1 }) });
  });
});
