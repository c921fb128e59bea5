/** Drives a test cluster node in a child process (test/fixtures/cluster-node.ts) over its stdin and stdout. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/cluster-node.ts', import.meta.url));

export class NodeProcess {
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly answers = new Map<number, (answer: Record<string, unknown>) => void>();
  private seq = 0;

  constructor(readonly prefix: string, readonly nodeId: string, readonly leaseTtlMs: number) {
    this.child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, prefix, nodeId, String(leaseTtlMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let markReady: () => void;
    this.ready = new Promise((resolve) => { markReady = resolve; });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    let buffer = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // not ours
        }
        if (message.ready) markReady!();
        const answer = typeof message.seq === 'number' ? this.answers.get(message.seq) : undefined;
        if (answer) {
          this.answers.delete(message.seq as number);
          answer(message);
        }
      }
    });
  }

  /** Sends a command; resolves with the node's answer (rejects on an error answer). */
  send<T = Record<string, unknown>>(command: Record<string, unknown>): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.answers.set(seq, (answer) => (answer.error ? reject(new Error(`${this.nodeId}: ${String(answer.error)}`)) : resolve(answer as T)));
      this.child.stdin!.write(`${JSON.stringify({ ...command, seq })}\n`);
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Stops the node through its runtime (`stop({ drain })`) and waits for the process to exit. */
  async stop(drain = false): Promise<void> {
    this.child.stdin!.write(`${JSON.stringify({ cmd: 'stop', drain, seq: ++this.seq })}\n`);
    await this.exited;
  }

  kill(): Promise<number | null> {
    this.child.kill('SIGKILL');
    return this.exited;
  }
}
