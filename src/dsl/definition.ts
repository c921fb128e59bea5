/**
 * A workflow definition as the engine runs it, and its validation. Definitions are checked when
 * they are built (that is, when their module is loaded): every problem is collected and reported
 * at once in a WorkflowDefinitionError naming the step and the field. `defineWorkflow` takes the
 * untyped form (JavaScript callers, generated definitions); the typed builder in builder.ts ends
 * here too.
 */
import { Graph } from '@dagrejs/graphlib';
import { WorkflowDefinitionError, type WorkflowProblem } from '../errors.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';
import { backoffProblems } from '../options.ts';
import { TIERS } from '../payload.ts';
import { cyclePaths } from './cycles.ts';
import { isInputSchema, parseInput, type InputSchema } from './input.ts';
import type { EachSpec, HandlerTypes, StepOptions, StepSpec } from './types.ts';

/** What a mapping function sees at run time. */
export interface RuntimeScope {
  readonly input: unknown;
  readonly results: Readonly<Record<string, unknown>>;
  readonly item?: unknown;
  readonly index?: number;
  readonly result?: unknown;
}

export type ScopeFn<T> = (scope: RuntimeScope) => T;

export interface CompensationDefinition {
  readonly handler: string;
  readonly input: ScopeFn<unknown>;
  readonly options: StepOptions;
}

export interface StepDefinition {
  readonly name: string;
  /** `step` submits one payload; `each` one per item of `over`. */
  readonly kind: 'step' | 'each';
  readonly handler: string;
  readonly after: readonly string[];
  readonly input: ScopeFn<unknown>;
  readonly over: ScopeFn<readonly unknown[]> | undefined;
  readonly when: ScopeFn<boolean> | undefined;
  readonly optional: boolean;
  readonly options: StepOptions;
  readonly compensate: CompensationDefinition | undefined;
}

/** Marks a value as a workflow definition (how `triage run` finds it among a module's exports). */
export const WORKFLOW_DEFINITION = 'triage.workflow' as const;

export interface WorkflowDefinition<I = unknown, O = unknown> {
  readonly kind: typeof WORKFLOW_DEFINITION;
  readonly name: string;
  readonly description: string | undefined;
  /** An input to run it with when none is given (`triage run` without `--input`). */
  readonly sample: I | undefined;
  /** The schema every instance's input is checked against at start; undefined = not checked. */
  readonly input: InputSchema<I> | undefined;
  /** In a topological order (declaration order where the graph allows). */
  readonly steps: readonly StepDefinition[];
  readonly output: (scope: RuntimeScope) => O;
  /** Every handler type its steps and compensations use. */
  readonly handlerTypes: readonly string[];
}

/** The untyped form `defineWorkflow` validates. */
export interface RawWorkflow {
  readonly name: unknown;
  readonly description?: unknown;
  readonly sample?: unknown;
  /** A valibot schema of the input. */
  readonly input?: unknown;
  readonly steps: unknown;
  readonly output: unknown;
}

const WORKFLOW_FIELDS = { name: true, description: true, sample: true, input: true, steps: true, output: true } as const satisfies KnownFields<RawWorkflow>;
const STEP_OPTION_FIELDS = { priority: true, complexity: true, timeout: true, retries: true, backoff: true, tags: true } as const satisfies KnownFields<StepOptions>;
type AnyStep = StepSpec<unknown, unknown, HandlerTypes, string, never> & EachSpec<unknown, unknown, HandlerTypes, string, never, unknown>;
/** A step's fields: the typed specs' (`over` is a fan-out's), and the `name` and `kind` the builder adds. */
const STEP_FIELDS = {
  ...STEP_OPTION_FIELDS, name: true, kind: true, handler: true, after: true, input: true, over: true, when: true, optional: true, compensate: true,
} as const satisfies KnownFields<AnyStep & { name: string; kind: string }>;
const COMPENSATION_FIELDS = { ...STEP_OPTION_FIELDS, handler: true, input: true } as const satisfies KnownFields<NonNullable<AnyStep['compensate']>>;
const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;
const WORKFLOW = '(workflow)';

export function isWorkflowDefinition(value: unknown): value is WorkflowDefinition {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === WORKFLOW_DEFINITION;
}

/** Validates a workflow and returns it compiled and frozen; throws WorkflowDefinitionError listing every problem. */
export function defineWorkflow<I = unknown, O = unknown>(raw: RawWorkflow): WorkflowDefinition<I, O> {
  const problems: WorkflowProblem[] = [];
  const report = (step: string, field: string, problem: string) => void problems.push({ step, field, problem });
  for (const p of unknownFields(raw, WORKFLOW_FIELDS, '', 'is not a workflow field')) report(WORKFLOW, p.field, p.problem);
  const name = typeof raw.name === 'string' && raw.name.length > 0 ? raw.name : (report(WORKFLOW, 'name', 'must be a non-empty string'), '(unnamed)');
  if (raw.description !== undefined && typeof raw.description !== 'string') report(WORKFLOW, 'description', 'must be a string');
  if (raw.sample !== undefined && !jsonSafe(raw.sample)) report(WORKFLOW, 'sample', 'must be JSON-serialisable');
  if (raw.input !== undefined && !isInputSchema(raw.input)) report(WORKFLOW, 'input', 'must be a synchronous valibot schema, e.g. v.object({ … })');
  else if (raw.input !== undefined && raw.sample !== undefined) {
    const checked = parseInput(raw.input, raw.sample);
    if (!checked.ok) for (const p of checked.problems) report(WORKFLOW, p.field === '(input)' ? 'sample' : `sample.${p.field}`, `does not match the input schema: ${p.problem}`);
  }
  if (typeof raw.output !== 'function') report(WORKFLOW, 'output', 'must be a function of { input, results }');
  const rawSteps: unknown[] = Array.isArray(raw.steps) ? raw.steps : [];
  if (!Array.isArray(raw.steps) || raw.steps.length === 0) report(WORKFLOW, 'steps', 'must list at least one step');

  const names = new Set<string>();
  rawSteps.forEach((s, i) => {
    const stepName = (s as { name?: unknown } | null)?.name;
    if (typeof stepName !== 'string' || !STEP_NAME.test(stepName)) report(`#${i}`, 'name', 'must start with a letter or _ and use only letters, digits, _ . - (at most 100)');
    else if (stepName === '__proto__') report(stepName, 'name', 'is reserved');
    else if (names.has(stepName)) report(stepName, 'name', 'is used by another step');
    else names.add(stepName);
  });
  const steps = rawSteps.map((s, i) => compileStep(s, i, names, report));

  const graph = new Graph();
  for (const step of steps) graph.setNode(step.name);
  // Edges point from a step to the steps it runs after, so a printed cycle reads "runs after".
  for (const step of steps) for (const dep of step.after) if (names.has(dep)) graph.setEdge(step.name, dep);
  const order = new Map<string, number>();
  steps.forEach((s, i) => order.has(s.name) || order.set(s.name, i));
  for (const path of cyclePaths(graph, (step) => order.get(step) ?? 0)) {
    report(path[0] as string, 'after', `forms a cycle: ${path.join(' → ')} (→ reads "runs after")`);
  }
  if (problems.length > 0) throw new WorkflowDefinitionError(name, problems);

  const handlerTypes = new Set<string>();
  for (const step of steps) {
    handlerTypes.add(step.handler);
    if (step.compensate) handlerTypes.add(step.compensate.handler);
  }
  return Object.freeze({
    kind: WORKFLOW_DEFINITION,
    name,
    description: raw.description as string | undefined,
    sample: raw.sample as I | undefined,
    input: raw.input as InputSchema<I> | undefined,
    steps: Object.freeze(topological(steps)),
    output: raw.output as (scope: RuntimeScope) => O,
    handlerTypes: Object.freeze([...handlerTypes]),
  });
}

type Report = (step: string, field: string, problem: string) => void;

function compileStep(raw: unknown, index: number, names: ReadonlySet<string>, report: Report): StepDefinition {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const name = typeof s.name === 'string' ? s.name : `#${index}`;
  if (typeof raw !== 'object' || raw === null) report(name, 'step', 'must be an object');
  for (const p of unknownFields(s, STEP_FIELDS, '', 'is not a step field')) report(name, p.field, p.problem);
  const kind = s.kind === undefined ? 'step' : s.kind;
  if (kind !== 'step' && kind !== 'each') report(name, 'kind', 'must be step or each');
  if (typeof s.handler !== 'string' || s.handler.length === 0) report(name, 'handler', 'must be a handler type (a non-empty string)');
  if (typeof s.input !== 'function') report(name, 'input', 'must be a function of { input, results }');
  if (kind === 'each' && typeof s.over !== 'function') report(name, 'over', 'must be a function returning the items to fan out over');
  if (kind !== 'each' && s.over !== undefined) report(name, 'over', 'is only for fan-out steps (each)');
  if (s.when !== undefined && typeof s.when !== 'function') report(name, 'when', 'must be a function returning a boolean');
  if (s.optional !== undefined && typeof s.optional !== 'boolean') report(name, 'optional', 'must be a boolean');

  const after: string[] = [];
  if (s.after !== undefined && !Array.isArray(s.after)) report(name, 'after', 'must be an array of step names');
  else for (const [j, dep] of ((s.after as unknown[] | undefined) ?? []).entries()) {
    if (typeof dep !== 'string' || !names.has(dep)) report(name, `after[${j}]`, `names no step of this workflow (${JSON.stringify(dep)})`);
    else if (after.includes(dep)) report(name, `after[${j}]`, `repeats ${JSON.stringify(dep)}`);
    else after.push(dep);
  }
  const options = stepOptions(s, name, '', report);

  let compensate: CompensationDefinition | undefined;
  if (s.compensate !== undefined) {
    const c = (typeof s.compensate === 'object' && s.compensate !== null ? s.compensate : {}) as Record<string, unknown>;
    if (typeof s.compensate !== 'object' || s.compensate === null) report(name, 'compensate', 'must be an object with handler and input');
    for (const p of unknownFields(c, COMPENSATION_FIELDS, 'compensate', 'is not a compensation field')) report(name, p.field, p.problem);
    if (typeof c.handler !== 'string' || c.handler.length === 0) report(name, 'compensate.handler', 'must be a handler type (a non-empty string)');
    if (typeof c.input !== 'function') report(name, 'compensate.input', 'must be a function of { input, results, result }');
    compensate = { handler: c.handler as string, input: c.input as ScopeFn<unknown>, options: stepOptions(c, name, 'compensate.', report) };
  }
  return {
    name,
    kind: kind === 'each' ? 'each' : 'step',
    handler: s.handler as string,
    after,
    input: s.input as ScopeFn<unknown>,
    over: s.over as ScopeFn<readonly unknown[]> | undefined,
    when: s.when as ScopeFn<boolean> | undefined,
    optional: s.optional === true,
    options,
    compensate,
  };
}

/** Payload options, checked against the ranges submit enforces so a bad option fails at load, not mid-run. */
function stepOptions(s: Record<string, unknown>, step: string, prefix: string, report: Report): StepOptions {
  const range = (field: string, min: number, max: number, integer: boolean) => {
    const v = s[field];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      report(step, prefix + field, `must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got ${JSON.stringify(v)}`);
    }
  };
  if (typeof s.priority === 'string') {
    if (!(TIERS as readonly string[]).includes(s.priority)) report(step, `${prefix}priority`, `must be 1–10 or one of ${TIERS.join('|')}, got ${JSON.stringify(s.priority)}`);
  } else range('priority', 1, 10, true);
  range('complexity', 1, 10, false);
  range('timeout', 1, 2_147_483_647, false);
  range('retries', 0, 1000, true);
  for (const p of backoffProblems(s.backoff, `${prefix}backoff`)) report(step, p.field, p.problem);
  if (s.tags !== undefined && (!Array.isArray(s.tags) || !s.tags.every((t) => typeof t === 'string' && t.length > 0))) {
    report(step, `${prefix}tags`, 'must be an array of non-empty strings');
  }
  const options: Record<string, unknown> = {};
  for (const key of Object.keys(STEP_OPTION_FIELDS)) if (s[key] !== undefined) options[key] = s[key];
  return options as StepOptions;
}

/** Kahn's algorithm, taking ready steps in declaration order, so the order is stable and readable. */
function topological(steps: readonly StepDefinition[]): StepDefinition[] {
  const placed = new Set<string>();
  const out: StepDefinition[] = [];
  while (out.length < steps.length) {
    const next = steps.find((s) => !placed.has(s.name) && s.after.every((d) => placed.has(d)));
    if (!next) break; // unreachable once cycles are rejected
    placed.add(next.name);
    out.push(next);
  }
  return out;
}

function jsonSafe(value: unknown): boolean {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}
