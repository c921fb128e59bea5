/**
 * Runs each section of the bench in a Node process of its own and merges what they print: the
 * heap one section leaves (a million queued payloads, BullMQ's clients, 100,000 timers) and the
 * code it compiled would otherwise weigh on the next section's stalls and latencies, so a section
 * measures the same in a full run as alone (`--only=x`).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface SectionOutput {
  readonly rows: unknown[];
  readonly result: Record<string, unknown>;
  /** Share of the machine's CPU time the hypervisor gave to others while the section ran (0–1; undefined off Linux). */
  readonly stolen: number | undefined;
}

/** The machine's CPU time so far, all cores: [stolen, total], in clock ticks (Linux's /proc/stat); undefined elsewhere. */
function cpuTicks(): [number, number] | undefined {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/).slice(1, 9).map(Number);
    return [fields[7] as number, fields.reduce((a, b) => a + b, 0)];
  } catch {
    return undefined;
  }
}

/** Runs `run.ts --only=<section>` with the other flags as given; its JSON line is parsed. */
export async function runSection(section: string, flags: readonly string[]): Promise<SectionOutput> {
  const script = process.argv[1] as string;
  const before = cpuTicks();
  const child = spawn(process.execPath, [...process.execArgv, script, `--only=${section}`, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const after = cpuTicks();
  const stolen = before && after && after[1] > before[1] ? (after[0] - before[0]) / (after[1] - before[1]) : undefined;
  const json = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !json.startsWith('{')) throw new Error(`bench section ${section} failed (exit ${code})`);
  const { rows, bench: _bench, quick: _quick, machine: _machine, ...result } = JSON.parse(json) as { rows: unknown[]; [key: string]: unknown };
  return { rows, result, stolen };
}
