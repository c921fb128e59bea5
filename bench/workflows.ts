/**
 * Section (w) of `npm run bench`: what chaining costs. Each shape runs `instances` workflow
 * instances at once with no-op handlers, so the time is the engine's own: instances/s, and the
 * gate cost per edge — the time beyond running the same number of no-op payloads without any
 * chaining (submitted in bulk), divided by the edges the gates released.
 */
import { createRuntime, defineWorkflow, silentLogger, workflow, type Runtime, type RuntimeScope, type WorkflowDefinition } from '../src/index.ts';

export interface ShapeResult {
  readonly instances: number;
  readonly payloads: number;
  /** Step-to-step dependencies released per run (the gates). */
  readonly edges: number;
  readonly seconds: number;
  readonly instancesPerSecond: number;
  /** The same payloads, unchained, submitted in bulk. */
  readonly baselineSeconds: number;
  readonly gateMicrosPerEdge: number;
}

export interface WorkflowBenchResult {
  readonly chain: ShapeResult;
  readonly fanout: ShapeResult;
  /** The same chain built with `dependsOn` instead of a workflow: the dependency graph's gate. */
  readonly dependsOnChain: ShapeResult;
}

type Noop = { noop: (n: number) => number };
const runtimeOptions = { partitions: 16, concurrency: 100, logger: silentLogger, retainTerminal: 1_000 } as const;

/** Built with the untyped form: a chain's length is a parameter, which the typed builder cannot follow. */
function chainOf(steps: number): WorkflowDefinition<number, number> {
  return defineWorkflow<number, number>({
    name: `chain-${steps}`,
    steps: Array.from({ length: steps }, (_, i) => ({
      name: `s${i}`,
      handler: 'noop',
      after: i === 0 ? [] : [`s${i - 1}`],
      input: ({ input, results }: RuntimeScope) => (i === 0 ? input : results[`s${i - 1}`]),
    })),
    output: ({ results }: RuntimeScope) => results[`s${steps - 1}`],
  });
}

function fanOutOf(width: number): WorkflowDefinition<number, number> {
  return workflow<number, Noop>(`fan-${width}`)
    .step('start', { handler: 'noop', input: ({ input }) => input })
    .each('fan', { handler: 'noop', after: ['start'], over: ({ results }) => Array.from({ length: width }, (_, i) => results.start + i), input: ({ item }) => item })
    .step('join', { handler: 'noop', after: ['fan'], input: ({ results }) => results.fan.length })
    .output(({ results }) => results.join);
}

function fresh(): Runtime {
  const runtime = createRuntime(runtimeOptions);
  runtime.handle('noop', (n: number) => n);
  return runtime;
}

/** `payloads` no-op payloads submitted in chunks, unchained: the floor a gate adds to. */
async function baseline(payloads: number): Promise<number> {
  const runtime = fresh();
  let done = 0;
  const finished = new Promise<void>((resolve) => runtime.events.on('completed', () => void (++done === payloads && resolve())));
  const started = performance.now();
  for (let offset = 0; offset < payloads; offset += 1_000) {
    void runtime.submitMany(Array.from({ length: Math.min(1_000, payloads - offset) }, (_, i) => ({ type: 'noop', data: i })));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await runtime.stop();
  return seconds;
}

async function timeWorkflows(definition: WorkflowDefinition<number, number>, instances: number): Promise<number> {
  const runtime = fresh();
  const started = performance.now();
  const ids = await Promise.all(Array.from({ length: instances }, (_, i) => runtime.workflows.start(definition, i)));
  await Promise.all(ids.map((id) => runtime.workflows.waitFor(id)));
  const seconds = (performance.now() - started) / 1000;
  await runtime.stop();
  return seconds;
}

async function timeDependsOnChains(instances: number, steps: number): Promise<number> {
  const runtime = fresh();
  let done = 0;
  const total = instances * steps;
  const finished = new Promise<void>((resolve) => runtime.events.on('completed', () => void (++done === total && resolve())));
  const started = performance.now();
  for (let i = 0; i < instances; i++) {
    void runtime.submitMany(Array.from({ length: steps }, (_, s) => ({ type: 'noop', data: s, ref: `s${s}`, ...(s > 0 && { dependsOn: [`s${s - 1}`] }) })));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await runtime.stop();
  return seconds;
}

function shape(instances: number, payloads: number, edges: number, seconds: number, baselineSeconds: number): ShapeResult {
  return {
    instances,
    payloads,
    edges,
    seconds,
    instancesPerSecond: instances / seconds,
    baselineSeconds,
    gateMicrosPerEdge: (Math.max(0, seconds - baselineSeconds) / edges) * 1e6,
  };
}

export async function workflowBench(opts: { instances: number; chainSteps: number; fanout: number }): Promise<WorkflowBenchResult> {
  const { instances, chainSteps, fanout } = opts;
  const chainPayloads = instances * chainSteps;
  const chainEdges = instances * (chainSteps - 1);
  const chainBase = await baseline(chainPayloads);
  const chain = shape(instances, chainPayloads, chainEdges, await timeWorkflows(chainOf(chainSteps), instances), chainBase);

  const fanPayloads = instances * (fanout + 2);
  const fanEdges = instances * fanout * 2; // start → each item, each item → join
  const fanBase = await baseline(fanPayloads);
  const fan = shape(instances, fanPayloads, fanEdges, await timeWorkflows(fanOutOf(fanout), instances), fanBase);

  const dependsOnChain = shape(instances, chainPayloads, chainEdges, await timeDependsOnChains(instances, chainSteps), chainBase);
  return { chain, fanout: fan, dependsOnChain };
}
