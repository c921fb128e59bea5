/**
 * The parts of a home: a dependency graph and a workflow manager on the runtime's wiring, and their
 * state recovered from the home's keys — the runtime's own at boot, another node's when this node
 * adopts it (a cluster; see src/cluster/homes.ts).
 */
import { DependencyGraph, type GraphHost } from '../../actors/dependency-graph/actor.ts';
import { encodeGraph, restoreGraph } from '../../actors/dependency-graph/codec.ts';
import type { GraphState } from '../../actors/dependency-graph/state.ts';
import { encodeWorkflows, restoreWorkflows, type DurableWorkflows, type WorkflowDelta } from '../../actors/workflow/codec.ts';
import { Workflows, type WorkflowsHost } from '../../actors/workflow/manager.ts';
import type { WorkflowDefinition } from '../dsl/definition.ts';
import type { Logger } from '../execution/handlers.ts';
import { recoverActor, type RecoveredActor } from '../persistence/actor-recovery.ts';
import type { Durability } from '../persistence/durability.ts';
import { homeKeys } from '../cluster/keys.ts';
import type { HomeParts } from './adopted-homes.ts';

/** Persistence keys of the embedded runtime's graph and workflows; a cluster's are its home's (`homeKeys`). */
const GRAPH_KEY = 'dependency-graph';
const WORKFLOWS_KEY = 'workflows';

export interface HomeBuilderOptions {
  readonly graph: GraphHost;
  readonly workflows: WorkflowsHost;
  readonly durability: Durability;
  readonly retainTerminal: number;
  readonly logger: Logger;
}

export class HomeBuilder {
  constructor(private readonly options: HomeBuilderOptions) {}

  graph(): DependencyGraph {
    return new DependencyGraph(this.options.graph);
  }

  workflows(): Workflows {
    return new Workflows(this.options.workflows);
  }

  /**
   * The saved graph and workflows of a home (undefined: an embedded runtime's, under the bare keys).
   * `fresh`: a cluster node's own home, new at every start of the process: there is nothing to read.
   */
  load(home: string | undefined, fresh = false): Promise<[RecoveredActor<GraphState>, RecoveredActor<DurableWorkflows>]> {
    const { durability, retainTerminal } = this.options;
    const [graphKey, workflowsKey] = home === undefined ? [GRAPH_KEY, WORKFLOWS_KEY] : homeKeys(home);
    return Promise.all([
      recoverActor(durability, graphKey, restoreGraph, encodeGraph, fresh),
      recoverActor(durability, workflowsKey, (snapshot: Parameters<typeof restoreWorkflows>[0], deltas: WorkflowDelta[]) => restoreWorkflows(snapshot, deltas, retainTerminal), encodeWorkflows, fresh),
    ]);
  }

  /** Recovers another node's home and starts it here: what it waited on is looked up again, its instances resume. */
  async adopt(home: string, definitions: readonly WorkflowDefinition[]): Promise<HomeParts> {
    const [saved, instances] = await this.load(home);
    const graph = this.graph();
    const workflows = this.workflows().register(...definitions);
    // An actor name allows fewer characters than a node id.
    graph.start(saved.state, saved.journal, `${GRAPH_KEY}.${home.replace(/[^\w.-]/g, '-')}`);
    graph.resync();
    workflows.recover(instances.state, instances.journal);
    this.options.logger.warn('adopted the home of a node that is gone: its held dependents and workflow instances go on here', {
      home, held: saved.state.nodes.size, workflows: workflows.active,
    });
    return { graph, workflows };
  }
}
