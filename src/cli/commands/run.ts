/**
 * `triage run <workflow.ts> [--input '<json>']`: loads a workflow definition file and runs one
 * instance on the embedded default runtime, showing progress on stderr and printing the result as
 * JSON on stdout.
 *
 * A definition file imports only the DSL (and `import type` for its handlers), so the code that
 * runs its steps lives in a sibling handlers module: `<name>.handlers.ts` next to `<name>.ts`,
 * exporting `handlers` (payload type → handler) and optionally `handlerOptions` (payload type →
 * HandlerOptions). `--handlers <file>` names another module.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isWorkflowDefinition, type WorkflowDefinition } from '../../dsl/definition.ts';
import { parseInput } from '../../dsl/input.ts';
import { WorkflowDefinitionError, WorkflowFailedError, WorkflowLoadError } from '../../errors.ts';
import { stderrLogger, type Handler, type HandlerOptions } from '../../execution/handlers.ts';
import { createRuntime } from '../../runtime.ts';
import { EXIT, UsageError, type CliIo, type Command } from '../command.ts';
import { importUserModule } from '../module-loader.ts';
import { Progress } from './run-progress.ts';

const usage = `usage: triage run <workflow.ts> [--input '<json>'] [--handlers <file>] [--concurrency <n>]

Runs one instance of the workflow defined in <workflow.ts> on the embedded runtime and prints its
result as JSON. Without --input, the workflow's declared sample input is used.

  --input <json>       the workflow input
  --handlers <file>    the handlers module (default: <workflow>.handlers.ts next to the file)
  --concurrency <n>    execution slots (default 32)

exit status: 0 completed, 1 failed or could not load, 2 bad usage or an input the workflow's schema refuses
`;

interface RunArgs {
  readonly file: string;
  readonly input: string | undefined;
  readonly handlers: string | undefined;
  readonly concurrency: number | undefined;
}

function parseArgs(args: readonly string[]): RunArgs {
  let file: string | undefined;
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('--')) {
      if (file !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
      file = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!['input', 'handlers', 'concurrency'].includes(name)) throw new UsageError(`unknown option --${name}`);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags.set(name, value);
  }
  if (file === undefined) throw new UsageError('which workflow file? e.g. triage run workflows/etl.ts');
  const concurrencyText = flags.get('concurrency');
  const concurrency = concurrencyText === undefined ? undefined : Number(concurrencyText);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) throw new UsageError('--concurrency must be a whole number ≥ 1');
  return { file, input: flags.get('input'), handlers: flags.get('handlers'), concurrency };
}

/**
 * By its code, not `instanceof`: a workflow file that imports a project's own copy of triage gets
 * that copy's error classes.
 */
function isDefinitionError(error: unknown): error is WorkflowDefinitionError {
  return (error as { code?: unknown } | null)?.code === 'INVALID_WORKFLOW' && Array.isArray((error as { problems?: unknown }).problems);
}

async function loadDefinition(path: string): Promise<WorkflowDefinition> {
  const module = await importUserModule(path);
  if (isWorkflowDefinition(module.default)) return module.default;
  const named = Object.entries(module).filter(([, value]) => isWorkflowDefinition(value));
  if (named.length === 1) return (named[0] as [string, WorkflowDefinition])[1];
  if (named.length > 1) throw new WorkflowLoadError(path, `it exports several workflows (${named.map(([n]) => n).join(', ')}); export the one to run as default`);
  throw new WorkflowLoadError(path, 'it exports no workflow definition (export default workflow(…)…output(…))');
}

interface HandlerModule {
  readonly handlers: Readonly<Record<string, Handler>>;
  readonly options: Readonly<Record<string, HandlerOptions>>;
}

async function loadHandlers(workflowPath: string, explicit: string | undefined): Promise<HandlerModule> {
  // Beside the workflow file, with its extension: flow.ts → flow.handlers.ts, flow.js → flow.handlers.js.
  const path = explicit === undefined ? join(dirname(workflowPath), basename(workflowPath).replace(/(\.[cm]?[jt]s)?$/, '.handlers$1')) : resolve(explicit);
  if (!existsSync(path)) throw new WorkflowLoadError(path, 'no handlers module here; it exports `handlers` (or name one with --handlers)');
  const module = await importUserModule(path);
  const handlers = module.handlers;
  if (typeof handlers !== 'object' || handlers === null || !Object.values(handlers).every((h) => typeof h === 'function')) {
    throw new WorkflowLoadError(path, 'it must export `handlers`: an object of handler functions by payload type');
  }
  const options = (module.handlerOptions ?? {}) as Record<string, HandlerOptions>;
  return { handlers: handlers as Record<string, Handler>, options };
}

function inputOf(text: string | undefined, definition: WorkflowDefinition): unknown {
  if (text === undefined) {
    if (definition.sample === undefined) throw new UsageError(`workflow ${JSON.stringify(definition.name)} declares no sample input; pass --input '<json>'`);
    return definition.sample;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--input is not valid JSON: ${(error as Error).message}`);
  }
}

/** The step (or steps) a payload of `handler` belongs to, for a retry line: only this workflow runs on the runtime. */
function stepsRunning(definition: WorkflowDefinition, handler: string): string {
  const steps = definition.steps.filter((s) => s.handler === handler).map((s) => s.name);
  const undoing = definition.steps.filter((s) => s.compensate?.handler === handler).map((s) => `compensation of ${s.name}`);
  const names = [...steps, ...undoing];
  return names.length === 0 ? handler : `${names.map((n) => JSON.stringify(n)).join(' or ')} (${handler})`;
}

function describeFailure(error: unknown): string {
  if (error instanceof WorkflowFailedError) {
    const lines = [`failed at step ${JSON.stringify(error.step)}: ${error.failure.message} [${error.failure.code}]`];
    for (const [step, failure] of Object.entries(error.compensationFailures)) lines.push(`  compensation of ${JSON.stringify(step)} failed too: ${failure.message}`);
    return lines.join('\n');
  }
  if (isDefinitionError(error)) {
    return [`invalid workflow ${JSON.stringify(error.workflow)}:`, ...error.problems.map((p) => `  step ${JSON.stringify(p.step)} ${p.field}: ${p.problem}`)].join('\n');
  }
  const code = (error as { code?: unknown }).code;
  return `${(error as Error).message ?? String(error)}${typeof code === 'string' ? ` [${code}]` : ''}`;
}

async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  const path = resolve(parsed.file);
  let definition: WorkflowDefinition;
  let module: HandlerModule;
  try {
    definition = await loadDefinition(path);
    module = await loadHandlers(path, parsed.handlers);
  } catch (error) {
    if (!(error instanceof WorkflowLoadError || isDefinitionError(error))) throw error;
    io.stderr.write(`triage run: ${describeFailure(error)}\n`);
    return EXIT.failed;
  }
  const input = inputOf(parsed.input, definition);
  // Checked here too, before a runtime starts, so a bad --input fails at once with its fields named.
  const checked = definition.input === undefined ? undefined : parseInput(definition.input, input);
  if (checked !== undefined && !checked.ok) {
    io.stderr.write(`triage run: invalid input for workflow ${JSON.stringify(definition.name)} [INVALID_INPUT]\n${checked.problems.map((p) => `  ${p.field}: ${p.problem}\n`).join('')}`);
    return EXIT.usage;
  }

  const runtime = createRuntime({ logger: stderrLogger, ...(parsed.concurrency !== undefined && { concurrency: parsed.concurrency }) });
  const stderr = io.stderr as CliIo['stderr'] & { isTTY?: boolean; columns?: number };
  const progress = new Progress({ write: (text) => stderr.write(text), tty: stderr.isTTY === true, columns: stderr.columns !== undefined && stderr.columns > 0 ? stderr.columns : 80 }, definition.name);
  try {
    for (const [type, handler] of Object.entries(module.handlers)) runtime.handle(type, handler, module.options[type]);
    runtime.workflows.on('*', (event) => progress.update(event));
    runtime.events.on('retrying', (event) => progress.retry(stepsRunning(definition, event.payloadType), event));
    const id = await runtime.workflows.start(definition, input);
    const result = await runtime.workflows.waitFor(id);
    progress.clear();
    io.stdout.write(`${JSON.stringify(result, null, 2) ?? 'null'}\n`);
    return EXIT.ok;
  } catch (error) {
    progress.clear();
    const subject = isDefinitionError(error) ? '' : `workflow ${JSON.stringify(definition.name)} `;
    io.stderr.write(`triage run: ${subject}${describeFailure(error)}\n`);
    return EXIT.failed;
  } finally {
    await runtime.stop();
  }
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run a workflow file (workflows/<name>.ts) and print its result as JSON',
  usage,
  run,
};
