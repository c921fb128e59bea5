/**
 * Calls through the mail streams of the cluster bus: a lookup or cancel on whichever node owns a
 * payload's partition, and questions to one node. The caller's own mail brings the answers. A
 * cluster node and a producer client (src/client) make the same calls; only a node can answer them.
 */
import { TriageError } from '../errors.ts';
import type { ClusterBus } from './bus.ts';
import type { RemoteOp } from './served-partitions.ts';

/** What one node can be asked: its actor tree or stats, a workflow instance's view, to cancel or start one (`arg`: its id, or the start as JSON). */
export type NodeOp = 'tree' | 'stats' | 'workflow' | 'cancel-workflow' | 'start-workflow';

/** The mail that calls and answers travel as. */
export type CallMail =
  | { readonly k: 'call'; readonly req: string; readonly from: string; readonly partition: number; readonly op: RemoteOp; readonly id: string }
  | { readonly k: 'ask-node'; readonly req: string; readonly from: string; readonly op: NodeOp; readonly arg?: string }
  | { readonly k: 'answer'; readonly req: string; readonly ok: boolean; readonly value?: unknown };

export interface RemoteCallsOptions {
  /** The caller: its mail stream receives the answers. */
  readonly from: string;
  bus(): ClusterBus | undefined;
  /** The node holding the partition's lease now (undefined while it is free). */
  holder(partition: number): Promise<string | undefined>;
  /** Answers a call for a partition the caller serves itself; undefined when it does not (or it left meanwhile). */
  local?(partition: number, op: RemoteOp, id: string, waitMs: number): Promise<{ value: unknown } | undefined>;
  readonly callTimeoutMs: number;
}

export class RemoteCalls {
  private readonly pending = new Map<string, (answer: { ok: boolean; value?: unknown }) => void>();
  private seq = 0;

  constructor(private readonly options: RemoteCallsOptions) {}

  /**
   * A lookup or cancel on the partition's owner, wherever it is. While the partition changes hands
   * there is no one to answer: the call tries again until `callTimeoutMs`.
   */
  async call(partition: number, op: RemoteOp, id: string): Promise<unknown> {
    const { from, callTimeoutMs } = this.options;
    const deadline = Date.now() + callTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const owner = await this.options.holder(partition).catch(() => undefined);
      if (owner === from) {
        // A partition that leaves while it answers is asked again wherever it goes.
        const answered = await this.options.local?.(partition, op, id, Math.max(50, deadline - Date.now()));
        if (answered) return answered.value;
      } else if (owner) {
        const answer = await this.request(owner, (req) => ({ k: 'call', req, from, partition, op, id }), Math.min(2_000, Math.max(50, deadline - Date.now())));
        if (answer.ok) return answer.value;
      }
      if (Date.now() >= deadline) throw new TriageError('CLUSTER_UNREACHABLE', `no node answered for partition ${partition} within ${callTimeoutMs} ms`);
      await new Promise((r) => setTimeout(r, Math.min(25 * attempt, 250)));
    }
  }

  /** Asks node `node` about itself; rejects after `timeoutMs`. */
  async askNode(node: string, op: NodeOp, timeoutMs = 2_000, arg?: string): Promise<unknown> {
    const answer = await this.request(node, (req) => ({ k: 'ask-node', req, from: this.options.from, op, ...(arg === undefined ? {} : { arg }) }), timeoutMs);
    if (!answer.ok) throw new TriageError('CLUSTER_UNREACHABLE', `node ${node} did not answer within ${timeoutMs} ms`);
    return answer.value;
  }

  /** An answer arrived in the caller's mail. */
  answered(mail: Extract<CallMail, { k: 'answer' }>): void {
    this.pending.get(mail.req)?.({ ok: mail.ok, value: mail.value });
  }

  /** Every call still waiting ends now, unanswered (the caller stops). */
  failAll(): void {
    for (const settle of this.pending.values()) settle({ ok: false });
    this.pending.clear();
  }

  private request(node: string, build: (req: string) => CallMail, timeoutMs: number): Promise<{ ok: boolean; value?: unknown }> {
    const req = `${this.options.from}:${++this.seq}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle({ ok: false }), timeoutMs);
      const settle = (answer: { ok: boolean; value?: unknown }) => {
        clearTimeout(timer);
        this.pending.delete(req);
        resolve(answer);
      };
      this.pending.set(req, settle);
      const bus = this.options.bus();
      if (bus) bus.send(node, build(req));
      else settle({ ok: false });
    });
  }
}
