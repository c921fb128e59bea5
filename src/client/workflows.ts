/**
 * A producer client's workflow calls. An instance runs in a node's home, so `start` asks a live
 * node to start it (one that has the workflow registered); `get`, `cancel` and `waitFor` go to the
 * node running the instance's home, as a node's own calls for an instance elsewhere do.
 */
import type { Redis } from 'ioredis';
import { settled, START_FIELDS, type StartOptions } from '../../actors/workflow/manager.ts';
import { FINISHED_WORKFLOW, type WorkflowView } from '../../actors/workflow/state.ts';
import type { ClusterKeys } from '../cluster/keys.ts';
import { Leases } from '../cluster/leases.ts';
import type { RemoteCalls } from '../cluster/remote-calls.ts';
import { cancelWorkflowOn, findWorkflow, type NodeAsker } from '../cluster/workflow-calls.ts';
import { OptionsError, RuntimeStoppedError, TriageError, type ErrorCode } from '../errors.ts';
import { unknownFields } from '../known-fields.ts';

export interface ClientWorkflowsDeps {
  readonly calls: RemoteCalls;
  readonly keys: ClusterKeys;
  client(): Redis;
  stopped(): boolean;
}

/** How often `waitFor` reads an instance: from the first, doubling up to the last. */
const POLL_MS = [50, 1_000] as const;

export class ClientWorkflows {
  private readonly asker: NodeAsker;
  private homes: Leases<string> | undefined;

  constructor(private readonly deps: ClientWorkflowsDeps) {
    this.asker = {
      nodeId: '',
      homeHolder: async (home) => (await this.homeLeases().holder(home))?.node,
      askNode: (node, op, timeoutMs, arg) => deps.calls.askNode(node, op, timeoutMs, arg),
      liveNodes: async () => (await deps.client().zrangebyscore(deps.keys.members, Date.now(), '+inf')).map((id) => ({ id })),
    };
  }

  /**
   * Starts an instance of the workflow registered under `name` (a definition's name) on a live
   * node; resolves with its id once that node has journalled it. Rejects with the node's error
   * (`UNKNOWN_WORKFLOW` when no live node has it registered, `INVALID_INPUT`, …).
   */
  async start(name: string | { readonly name: string }, input: unknown, options: StartOptions = {}): Promise<string> {
    this.refuseIfStopped();
    const unknown = unknownFields(options, START_FIELDS, '', 'is not a start option');
    if (unknown.length > 0) throw new OptionsError(unknown);
    const workflow = typeof name === 'string' ? name : name.name;
    const nodes = await this.asker.liveNodes();
    if (nodes.length === 0) throw new TriageError('CLUSTER_UNREACHABLE', 'no live node to start a workflow on');
    const arg = JSON.stringify({ name: workflow, input, ...(options.clientId === undefined ? {} : { clientId: options.clientId }) });
    let last: TriageError | undefined;
    // Nodes need not all register the same workflows: the first that has it starts it.
    for (const { id } of nodes) {
      const answer = (await this.deps.calls.askNode(id, 'start-workflow', 5_000, arg).catch((error: unknown) => ({ error: { code: 'CLUSTER_UNREACHABLE', message: String(error) } }))) as { id?: string; error?: { code: string; message: string } };
      if (answer.id !== undefined) return answer.id;
      last = new TriageError((answer.error?.code ?? 'CLUSTER_UNREACHABLE') as ErrorCode, answer.error?.message ?? `node ${id} did not start it`);
      if (last.code !== 'UNKNOWN_WORKFLOW' && last.code !== 'CLUSTER_UNREACHABLE') throw last;
    }
    throw last!;
  }

  /** The instance's status and steps from the node running it; undefined if no node knows it. */
  get(id: string): Promise<WorkflowView | undefined> {
    this.refuseIfStopped();
    return findWorkflow(this.asker, id);
  }

  /** Cancels a running instance where it runs; false if it had ended or no node runs it. */
  cancel(id: string): Promise<boolean> {
    this.refuseIfStopped();
    return cancelWorkflowOn(this.asker, id);
  }

  /** Resolves with the instance's result; rejects with WorkflowFailedError, CancelledError, or UNKNOWN_WORKFLOW. */
  async waitFor<O = unknown>(id: string): Promise<O> {
    let seen = false;
    for (let pause: number = POLL_MS[0]; ; pause = Math.min(pause * 2, POLL_MS[1])) {
      this.refuseIfStopped();
      const view = await this.get(id).catch((error: unknown) => {
        // A node that did not answer may run it: ask again.
        if (error instanceof TriageError && error.code === 'CLUSTER_UNREACHABLE') return null;
        throw error;
      });
      // Once seen, an instance no node shows is between homes (its node died, it is not adopted yet).
      if (view === undefined && !seen) throw new TriageError('UNKNOWN_WORKFLOW', `no workflow instance with id ${JSON.stringify(id)}`);
      if (view) seen = true;
      if (view && FINISHED_WORKFLOW.has(view.status)) return settled(view) as Promise<O>;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  private homeLeases(): Leases<string> {
    return (this.homes ??= new Leases<string>(this.deps.client(), this.deps.keys.homeLease));
  }

  private refuseIfStopped(): void {
    if (this.deps.stopped()) throw new RuntimeStoppedError();
  }
}
