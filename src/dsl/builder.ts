/**
 * The typed workflow builder. Each `step`/`each` call adds a named step and returns a builder whose
 * type knows that step's result, so later steps' `input` functions are checked against the results
 * they read and the handler they feed; `output` ends the definition and validates it.
 *
 *   workflow<OrderInput, typeof handlers>('order', { input: OrderInput, sample })
 *     .step('reserve', { handler: 'inventory.reserve', input: ({ input }) => ({ sku: input.sku }) })
 *     .step('charge', { handler: 'payment.charge', after: ['reserve'], input: ({ results }) => … })
 *     .output(({ results }) => results.charge);
 */
import { WorkflowDefinitionError } from '../errors.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';
import { defineWorkflow, type WorkflowDefinition } from './definition.ts';
import type { InputSchema } from './input.ts';
import type { EachSpec, HandlerName, HandlerTypes, OutputOf, Scope, StepSpec } from './types.ts';

export interface WorkflowOptions<I> {
  /**
   * The input's schema (valibot): every instance's input is checked against it at start, each
   * problem naming its field. Declare `I` as `v.InferOutput<typeof schema>`; TypeScript checks the two agree.
   */
  readonly input?: InputSchema<I>;
  /** An input to run the workflow with when none is given (`triage run` without `--input`); checked against `input`. */
  readonly sample?: I;
  readonly description?: string;
}

const WORKFLOW_OPTION_FIELDS = { input: true, sample: true, description: true } as const satisfies KnownFields<WorkflowOptions<unknown>>;

type Condition<I, R, A extends keyof R> = { readonly when: (scope: Scope<I, Pick<R, A>>) => boolean };
type Added<R, N extends string, V> = R & { readonly [K in N]: V };

export class WorkflowBuilder<I, R, H extends HandlerTypes> {
  /** @internal */
  constructor(
    private readonly name: string,
    private readonly options: WorkflowOptions<I>,
    private readonly steps: readonly Record<string, unknown>[],
  ) {}

  /** A step that may not run (`when`): its result may be undefined. */
  step<const N extends string, T extends HandlerName<H>, const A extends keyof R & string = never>(
    name: N,
    spec: StepSpec<I, R, H, T, A> & Condition<I, R, A>,
  ): WorkflowBuilder<I, Added<R, N, OutputOf<H, T> | undefined>, H>;
  /** A step whose failure does not fail the workflow (`optional: true`): its result may be undefined. */
  step<const N extends string, T extends HandlerName<H>, const A extends keyof R & string = never>(
    name: N,
    spec: StepSpec<I, R, H, T, A> & { readonly optional: true },
  ): WorkflowBuilder<I, Added<R, N, OutputOf<H, T> | undefined>, H>;
  /** A step: one payload of type `handler`, with data from `input`, once the steps in `after` have ended. */
  step<const N extends string, T extends HandlerName<H>, const A extends keyof R & string = never>(
    name: N,
    spec: StepSpec<I, R, H, T, A>,
  ): WorkflowBuilder<I, Added<R, N, OutputOf<H, T>>, H>;
  step(name: string, spec: object): unknown {
    return this.add(name, 'step', spec);
  }

  /** A fan-out that may not run (`when`). */
  each<const N extends string, T extends HandlerName<H>, X, const A extends keyof R & string = never>(
    name: N,
    spec: EachSpec<I, R, H, T, A, X> & Condition<I, R, A>,
  ): WorkflowBuilder<I, Added<R, N, OutputOf<H, T>[] | undefined>, H>;
  /** A fan-out whose items may fail without failing the workflow: a failed item's result is undefined. */
  each<const N extends string, T extends HandlerName<H>, X, const A extends keyof R & string = never>(
    name: N,
    spec: EachSpec<I, R, H, T, A, X> & { readonly optional: true },
  ): WorkflowBuilder<I, Added<R, N, Array<OutputOf<H, T> | undefined>>, H>;
  /**
   * A fan-out: one payload per item of `over`, all in parallel; the step ends when every item has
   * (fan-in), and its result is the items' results in order.
   */
  each<const N extends string, T extends HandlerName<H>, X, const A extends keyof R & string = never>(
    name: N,
    spec: EachSpec<I, R, H, T, A, X>,
  ): WorkflowBuilder<I, Added<R, N, OutputOf<H, T>[]>, H>;
  each(name: string, spec: object): unknown {
    return this.add(name, 'each', spec);
  }

  /** Ends the definition with the workflow's result, and validates it (throws WorkflowDefinitionError). */
  output<O>(fn: (scope: Scope<I, R>) => O): WorkflowDefinition<I, O> {
    return defineWorkflow<I, O>({
      name: this.name,
      description: this.options.description,
      sample: this.options.sample,
      input: this.options.input,
      steps: this.steps,
      output: fn,
    });
  }

  private add(name: string, kind: 'step' | 'each', spec: object): WorkflowBuilder<I, never, H> {
    return new WorkflowBuilder(this.name, this.options, [...this.steps, { ...spec, name, kind }]);
  }
}

/**
 * Starts a workflow definition. `I` is its input type; `H` the handlers it uses, by type
 * (`typeof handlers` from a handlers module imported with `import type`).
 */
export function workflow<I = unknown, H extends HandlerTypes = HandlerTypes>(name: string, options: WorkflowOptions<I> = {}): WorkflowBuilder<I, {}, H> {
  // Refused here, where the options are given: the builder passes on only the fields it knows.
  const unknown = unknownFields(options, WORKFLOW_OPTION_FIELDS, '', 'is not a workflow option');
  if (unknown.length > 0) throw new WorkflowDefinitionError(typeof name === 'string' ? name : '(unnamed)', unknown.map((p) => ({ step: '(workflow)', ...p })));
  return new WorkflowBuilder<I, {}, H>(name, options, []);
}
