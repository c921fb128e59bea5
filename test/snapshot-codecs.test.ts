// Every stateful actor has a versioned snapshot encoding that survives a JSON round trip. States
// are taken from a live runtime under load: a pinned critical level fills the ledger, a held
// dependent sits in the graph, a workflow waits on a step, completed runs feed the analyzer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeComplexity, encodeComplexity } from '../actors/complexity/codec.ts';
import type { ComplexityState } from '../actors/complexity/state.ts';
import { decodeCoordinator, encodeCoordinator } from '../actors/coordinator/codec.ts';
import type { CoordinatorState } from '../actors/coordinator/state.ts';
import { decodeGraph, encodeGraph } from '../actors/dependency-graph/codec.ts';
import type { GraphState } from '../actors/dependency-graph/state.ts';
import { decodeWorkflow, encodeWorkflow } from '../actors/workflow/codec.ts';
import type { WorkflowState } from '../actors/workflow/state.ts';
import type { ActorSystem } from '../src/core/actor-system.ts';
import { createRuntime, defineWorkflow, silentLogger } from '../src/index.ts';
import { deferred } from './helpers.ts';

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

test('coordinator, dependency graph, workflow and analyzer states round-trip through their snapshots', async () => {
  const rt = createRuntime({ partitions: 2, concurrency: 2, logger: silentLogger });
  const gate = deferred();
  rt.handle('block', () => gate.promise);
  rt.handle('quick', (n: number) => n);
  const done = await rt.submitMany([1, 2, 3].map((n) => ({ type: 'quick', data: n, clientId: 'acme' })));
  await Promise.all(done.map((id) => rt.waitFor(id)));
  const blocker = await rt.submit({ type: 'block', priority: 'high' });
  await rt.submitMany([{ type: 'quick', data: 9, dependsOn: [blocker] }]);
  const instance = await rt.workflows.start(defineWorkflow({ name: 'wait', steps: [{ name: 'hold', handler: 'block', input: () => null }], output: () => null }), { x: 1 });
  rt.coordinator?.pin('critical');
  await rt.idle();
  await rt.submitMany(Array.from({ length: 4 }, (_, i) => ({ type: 'quick', data: i, priority: 'low' as const, deadline: Date.now() + 60_000 })));
  await rt.idle();
  // The pinned level reaches the partitions on the coordinator's next round (its interval runs on the real clock).
  for (const deadline = Date.now() + 10_000; (rt.coordinator?.ledger().total ?? 0) === 0; ) {
    if (Date.now() > deadline) throw new Error('the pinned critical level never moved low payloads to the ledger');
    await new Promise((r) => setTimeout(r, 25));
  }
  await rt.idle();

  const system = (rt as unknown as { system: ActorSystem }).system;
  const pathOf = (kind: string) => rt.tree().find((a) => a.kind === kind)?.path as string;

  const coordinator = system.stateOf(pathOf('coordinator')) as CoordinatorState;
  assert.ok(coordinator.ledger.entries.size > 0 && coordinator.decisions.size > 0, 'the ledger and decisions are not empty');
  const coordinatorBack = decodeCoordinator(json(encodeCoordinator(coordinator)));
  assert.deepEqual(encodeCoordinator(coordinatorBack), json(encodeCoordinator(coordinator)));
  assert.equal(coordinatorBack.ledger.deadlineCount, coordinator.ledger.deadlineCount);

  const graph = system.stateOf(pathOf('dependency-graph')) as GraphState;
  assert.equal(graph.nodes.size, 1, 'one payload is held on its dependency');
  const graphBack = decodeGraph(json(encodeGraph(graph)));
  assert.deepEqual(json(encodeGraph(graphBack)), json(encodeGraph(graph)));

  const workflow = system.stateOf(pathOf('workflow')) as WorkflowState;
  assert.equal(workflow.id, instance);
  assert.deepEqual(decodeWorkflow(json(encodeWorkflow(workflow))), json(workflow));

  // Costs reach the analyzer in batches; wait for the first.
  const analyzerOf = () => system.stateOf(pathOf('complexity-analyzer')) as ComplexityState;
  for (const deadline = Date.now() + 10_000; analyzerOf().observations === 0; ) {
    if (Date.now() > deadline) throw new Error('no cost ever reached the analyzer');
    await new Promise((r) => setTimeout(r, 25));
  }
  const analyzer = analyzerOf();
  assert.ok(analyzer.averages.size > 0);
  assert.deepEqual(encodeComplexity(decodeComplexity(json(encodeComplexity(analyzer)))), json(encodeComplexity(analyzer)));

  assert.throws(() => decodeGraph({ version: 2, data: encodeGraph(graph).data }), { code: 'SNAPSHOT_VERSION' });
  gate.resolve(undefined);
  await rt.stop();
});
