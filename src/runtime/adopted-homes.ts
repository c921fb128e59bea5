/**
 * The homes of other nodes that this node runs (a cluster; see src/cluster/homes.ts): each is a
 * dependency graph and a workflow manager recovered from that home's keys. They take part in what
 * the runtime's own graph and workflows do with events (dependents released, steps advanced) and
 * answer lookups of the payloads they hold; new work always goes to this node's own home.
 */
import type { DependencyGraph } from '../../actors/dependency-graph/actor.ts';
import type { Workflows } from '../../actors/workflow/manager.ts';
import type { PayloadEvent } from '../events.ts';
import type { PayloadView } from '../payload.ts';
import type { WorkflowDefinition } from '../dsl/definition.ts';
import type { WorkflowView } from '../../actors/workflow/state.ts';

/** Finished instances of deleted homes answered for, at most. */
const FINISHED_KEPT = 1_000;

export interface HomeParts {
  readonly graph: DependencyGraph;
  readonly workflows: Workflows;
}

export class AdoptedHomes {
  private readonly homes = new Map<string, HomeParts>();
  /** Finished instances of homes that were done and deleted, kept for lookups (oldest dropped first). */
  private readonly finished = new Map<string, WorkflowView>();

  /**
   * `load` recovers a home's graph and workflows from the store and starts them; `definitions` are
   * the workflow definitions registered on this runtime, which the adopted instances run with.
   */
  constructor(
    private readonly load: (home: string, definitions: readonly WorkflowDefinition[]) => Promise<HomeParts>,
    private readonly definitions: () => readonly WorkflowDefinition[],
  ) {}

  get size(): number {
    return this.homes.size;
  }

  names(): string[] {
    return [...this.homes.keys()];
  }

  async adopt(home: string): Promise<void> {
    if (this.homes.has(home)) return;
    this.homes.set(home, await this.load(home, this.definitions()));
  }

  /**
   * Nothing held, nothing waited on, no instance running or waiting for its definition. Asked every
   * tick, it also hands on definitions registered since the adoption (their instances then resume).
   */
  idle(home: string): boolean {
    const parts = this.homes.get(home);
    if (!parts) return true;
    if (parts.workflows.waitingForDefinition > 0) parts.workflows.register(...this.definitions());
    return parts.graph.idle && parts.workflows.active === 0;
  }

  /** Stops the home's actors here (it is done, or its lease is gone and another node runs it). */
  retire(home: string): void {
    const parts = this.homes.get(home);
    if (!parts) return;
    this.homes.delete(home);
    for (const view of parts.workflows.list()) {
      if (view.finishedAt === undefined) continue;
      this.finished.set(view.id, view);
      if (this.finished.size > FINISHED_KEPT) this.finished.delete(this.finished.keys().next().value as string);
    }
    parts.graph.retire();
    parts.workflows.retire();
  }

  /** An ending event: dependents it releases, steps it completes. */
  observe(event: PayloadEvent): void {
    for (const { graph, workflows } of this.homes.values()) {
      graph.observe(event);
      workflows.observe(event);
    }
  }

  watches(id: string): boolean {
    for (const { graph, workflows } of this.homes.values()) if (graph.watches(id) || workflows.watches(id)) return true;
    return false;
  }

  /** An instance one of these homes runs or ran (also after the home was done and deleted). */
  workflow(id: string): WorkflowView | undefined {
    for (const { workflows } of this.homes.values()) {
      const view = workflows.get(id);
      if (view) return view;
    }
    return this.finished.get(id);
  }

  /** Cancels an instance that `own` (this node's own home's manager, if given) or one of these homes runs; false if none does. */
  async cancelWorkflow(id: string, own?: Workflows): Promise<boolean> {
    if (own?.get(id)) return own.cancel(id);
    for (const { workflows } of this.homes.values()) if (workflows.get(id)) return workflows.cancel(id);
    return false;
  }

  /** The view of a payload one of these homes holds or ended. */
  view(id: string): PayloadView | undefined {
    for (const { graph } of this.homes.values()) {
      const view = graph.view(id);
      if (view) return view;
    }
    return undefined;
  }

  /** The graph holding `id`, if one of these does. */
  holder(id: string): DependencyGraph | undefined {
    for (const { graph } of this.homes.values()) if (graph.holds(id)) return graph;
    return undefined;
  }
}
