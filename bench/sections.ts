/**
 * Runs each section of the bench in a Node process of its own and merges what they print: the
 * heap one section leaves (a million queued payloads, BullMQ's clients, 100,000 timers) and the
 * code it compiled would otherwise weigh on the next section's stalls and latencies, so a section
 * measures the same in a full run as alone (`--only=x`).
 */
import { spawn } from 'node:child_process';

export interface SectionOutput {
  readonly rows: unknown[];
  readonly result: Record<string, unknown>;
}

/** Runs `run.ts --only=<section>` with the other flags as given; its JSON line is parsed. */
export async function runSection(section: string, flags: readonly string[]): Promise<SectionOutput> {
  const script = process.argv[1] as string;
  const child = spawn(process.execPath, [...process.execArgv, script, `--only=${section}`, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const json = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !json.startsWith('{')) throw new Error(`bench section ${section} failed (exit ${code})`);
  const { rows, bench: _bench, quick: _quick, machine: _machine, ...result } = JSON.parse(json) as { rows: unknown[]; [key: string]: unknown };
  return { rows, result };
}
