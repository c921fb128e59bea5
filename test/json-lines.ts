/**
 * The line protocol between a test or bench process and the node processes it drives: one JSON
 * object per line each way. A command carries a `seq`; the node answers with the same `seq` (and
 * `error` when the command failed). Other lines a node prints (its ready line, notices) go to the
 * driver's listener.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export type Message = Record<string, unknown>;

/** Calls `handle` with every JSON line of `stream`; lines that are not JSON are skipped. */
export function onJsonLines(stream: Readable, handle: (message: Message) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line.trim()) continue;
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        continue; // not a protocol line
      }
      handle(message);
    }
  });
}

/** The driver's side: sends commands to a child and pairs its answers with them by `seq`. */
export class Commands {
  private readonly answers = new Map<number, (answer: Message) => void>();
  private seq = 0;

  constructor(private readonly child: ChildProcess, private readonly name: string, onOther: (message: Message) => void = () => {}) {
    onJsonLines(child.stdout!, (message) => {
      const answer = typeof message.seq === 'number' ? this.answers.get(message.seq) : undefined;
      if (!answer) return onOther(message);
      this.answers.delete(message.seq as number);
      answer(message);
    });
  }

  /** Resolves with the child's answer; rejects when it answers with `error`, or not within `timeoutMs`. */
  send<T = Message>(command: Message, timeoutMs = 45_000): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answers.delete(seq);
        reject(new Error(`${this.name}: no answer to ${JSON.stringify(command).slice(0, 80)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.answers.set(seq, (answer) => {
        clearTimeout(timer);
        if (answer.error) reject(new Error(`${this.name}: ${String(answer.error)}`));
        else resolve(answer as T);
      });
      this.child.stdin!.write(`${JSON.stringify({ ...command, seq })}\n`);
    });
  }

  /** Answers every command still waiting with `error` (the child is gone). */
  failAll(error: string): void {
    for (const answer of this.answers.values()) answer({ error });
    this.answers.clear();
  }
}

/** The node's side: runs each command from stdin and prints its answer (or its error) with the command's `seq`. */
export function serveCommands(perform: (command: Message) => Promise<unknown>): void {
  const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  onJsonLines(process.stdin, (command) => {
    perform(command).then(
      (value) => out({ seq: command.seq, ...(value as object) }),
      (error: unknown) => out({ seq: command.seq, error: String(error) }),
    );
  });
}
