/**
 * Workflow instances on other nodes, for a cluster node and a producer client alike. An instance id
 * names the home that runs it (`withHome`): the node holding that home's lease is asked; while the
 * home waits to be adopted, every live node is.
 */
import type { WorkflowView } from '../../actors/workflow/state.ts';
import { homeOfId } from '../core/ids.ts';
import { TriageError } from '../errors.ts';
import type { NodeOp } from './remote-calls.ts';

/** Who can be asked, and how. */
export interface NodeAsker {
  /** The asker's own node id (a client's: one no node has). */
  readonly nodeId: string;
  /** The node running a home now (its lease holder), or undefined while no node holds it. */
  homeHolder(home: string): Promise<string | undefined>;
  askNode(node: string, op: NodeOp, timeoutMs: number, arg?: string): Promise<unknown>;
  /** The live nodes. */
  liveNodes(): Promise<readonly { readonly id: string }[]>;
}

/** The instance's view from the node running its home; undefined when no node knows it. Rejects (`CLUSTER_UNREACHABLE`) when a node that may run it did not answer. */
export async function findWorkflow(asker: NodeAsker, id: string): Promise<WorkflowView | undefined> {
  const runner = await runnerOf(asker, id);
  if (runner === asker.nodeId) return undefined; // its home is the asker's, and it is not in it: forgotten after it ended
  if (runner) return ((await asker.askNode(runner, 'workflow', 2_000, id)) ?? undefined) as WorkflowView | undefined;
  const { answers, silent } = await askOthers(asker, 'workflow', 2_000, id);
  const view = answers.find((v) => v !== undefined && v !== null) as WorkflowView | undefined;
  if (view || silent.length === 0) return view;
  throw new TriageError('CLUSTER_UNREACHABLE', `workflow ${id}: node ${silent.join(', ')} did not answer`);
}

/** Cancels the instance on the node running it; false if no node runs it. */
export async function cancelWorkflowOn(asker: NodeAsker, id: string): Promise<boolean> {
  const runner = await runnerOf(asker, id);
  if (runner === asker.nodeId) return false;
  if (runner) return (await asker.askNode(runner, 'cancel-workflow', 5_000, id)) === true;
  const { answers } = await askOthers(asker, 'cancel-workflow', 5_000, id);
  return answers.some((cancelled) => cancelled === true);
}

/** The node running the home named in an instance id; undefined when the id names none or no node holds it. */
async function runnerOf(asker: NodeAsker, id: string): Promise<string | undefined> {
  const home = homeOfId(id);
  return home === undefined ? undefined : asker.homeHolder(home);
}

/** Asks every other live node at once; `silent`: the nodes that did not answer in time. */
async function askOthers(asker: NodeAsker, op: NodeOp, timeoutMs: number, arg: string): Promise<{ answers: unknown[]; silent: string[] }> {
  const others = (await asker.liveNodes()).filter((node) => node.id !== asker.nodeId);
  const silent: string[] = [];
  const answers = await Promise.all(others.map((node) => asker.askNode(node.id, op, timeoutMs, arg).catch(() => void silent.push(node.id))));
  return { answers, silent };
}
