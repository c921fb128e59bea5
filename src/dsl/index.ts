/**
 * The workflow DSL: the only module a workflow definition imports (plus `import type` of its
 * handlers). Definitions are plain typed values; the engine runs them with
 * `runtime.workflows.start(definition, input)` and `triage run` runs a definition file.
 */
export { workflow, WorkflowBuilder, type WorkflowOptions } from './builder.ts';
export {
  defineWorkflow, isWorkflowDefinition, WORKFLOW_DEFINITION,
  type WorkflowDefinition, type StepDefinition, type CompensationDefinition, type RawWorkflow, type RuntimeScope,
} from './definition.ts';
export { isInputSchema, parseInput, type InputSchema } from './input.ts';
/** valibot, for input schemas: `import { workflow, v } from 'triage'`. */
export * as v from 'valibot';
export type { HandlerTypes, InputOf, OutputOf, Scope, ItemScope, StepOptions, StepSpec, EachSpec, CompensationSpec } from './types.ts';
