/**
 * A workflow's input schema: a valibot schema, declared with the definition
 * (`workflow<Input, typeof handlers>('order', { input: OrderInput })`, where
 * `type Input = v.InferOutput<typeof OrderInput>`), so the type the steps' mappings see is the type
 * the schema checks. An instance's input is checked before anything starts: every problem is
 * listed at once, each naming its field, and nothing is changed.
 */
import * as v from 'valibot';
import type { FieldProblem } from '../errors.ts';

/** A synchronous valibot schema whose output is the workflow's input type `I`. */
export type InputSchema<I = unknown> = v.GenericSchema<unknown, I>;

/** True for a synchronous valibot schema (an async one could not be checked before `start` returns). */
export function isInputSchema(value: unknown): value is InputSchema {
  const schema = value as { kind?: unknown; async?: unknown; '~run'?: unknown } | null;
  return typeof schema === 'object' && schema !== null && schema.kind === 'schema' && schema.async === false && typeof schema['~run'] === 'function';
}

/** The field an issue is about, as a dotted path (`lines.0.qty`); `(input)` for the input as a whole. */
const fieldOf = (issue: v.BaseIssue<unknown>) => v.getDotPath(issue) ?? '(input)';

const OBJECT_SCHEMAS = new Set(['object', 'strict_object', 'loose_object', 'object_with_rest']);

/** valibot's message, in plainer words for the two an object schema gives most. */
function problemOf(issue: v.BaseIssue<unknown>): string {
  if (OBJECT_SCHEMAS.has(issue.type) && issue.path !== undefined) {
    if (issue.expected === 'never') return 'is not a field of this input';
    if (issue.received === 'undefined' && issue.expected?.startsWith('"')) return 'is required';
  }
  return issue.message;
}

/** Every problem of `input` against `schema`, or the schema's output (defaults and transforms applied). */
export function parseInput<I>(schema: InputSchema<I>, input: unknown): { ok: true; value: I } | { ok: false; problems: FieldProblem[] } {
  const result = v.safeParse(schema, input);
  if (result.success) return { ok: true, value: result.output };
  return { ok: false, problems: result.issues.map((issue) => ({ field: fieldOf(issue), problem: problemOf(issue) })) };
}
