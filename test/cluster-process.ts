/** Drives a test cluster node in a child process (test/fixtures/cluster-node.ts) over its stdin and stdout. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Commands, type Message } from './json-lines.ts';
import { dropPrefix, freshPrefix } from './redis-support.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/cluster-node.ts', import.meta.url));

export class NodeProcess {
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly commands: Commands;

  constructor(readonly prefix: string, readonly nodeId: string, readonly leaseTtlMs: number, homeTtlMs?: number) {
    const args = [FIXTURE, prefix, nodeId, String(leaseTtlMs), ...(homeTtlMs === undefined ? [] : [String(homeTtlMs)])];
    this.child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let markReady: () => void;
    let failReady: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => { markReady = resolve; failReady = reject; });
    // Rejected only for whoever awaits it (a node refused at start exits before it is ready).
    this.ready.catch(() => {});
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => {
      // No answer comes any more: commands still waiting fail now instead of at their timeout.
      this.commands.failAll(`${nodeId} exited`);
      failReady(new Error(`${nodeId} exited with code ${code} before it was ready`));
      resolve(code);
    }));
    this.commands = new Commands(this.child, nodeId, (message) => {
      if (message.ready) markReady();
    });
  }

  /** Sends a command; resolves with the node's answer (rejects on an error answer). */
  send<T = Message>(command: Message, timeoutMs?: number): Promise<T> {
    return this.commands.send<T>(command, timeoutMs);
  }

  /** The node's process id, as its handler starts record it. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Stops the node through its runtime (`stop({ drain })`) and waits for the process to exit. */
  async stop(drain = false): Promise<void> {
    void this.commands.send({ cmd: 'stop', drain }).catch(() => {});
    await this.exited;
  }

  kill(): Promise<number | null> {
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** Runs `fn` on a fresh prefix; every node process it spawns (pushed on `spawned`) is killed after, and the prefix dropped. */
export function withNodeProcesses(label: string, fn: (prefix: string, spawned: NodeProcess[]) => Promise<void>): () => Promise<void> {
  return async () => {
    const prefix = freshPrefix(label);
    const spawned: NodeProcess[] = [];
    try {
      await fn(prefix, spawned);
    } finally {
      await Promise.all(spawned.map((n) => n.kill()));
      await dropPrefix(prefix);
    }
  };
}
