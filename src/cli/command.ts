/** The shape of one `triage` subcommand. Each lives in its own file under commands/. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

export interface Command {
  readonly name: string;
  /** One line for `triage --help`. */
  readonly summary: string;
  /** Full text for `triage <name> --help`. */
  readonly usage: string;
  /** Resolves with the process exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class UsageError extends Error {}
