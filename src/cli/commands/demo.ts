/**
 * `triage start --demo`: the main job's mixed workload wave after wave, and one album workflow per
 * wave (so the Workflows panel has instances). Progress is one status line: on a terminal it is
 * redrawn in place (the admin URL first, then per tier what ran and its wait p50/p99); on a pipe,
 * one line per wave.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TierReport } from '../../../examples/main-job.ts';
import type { Runtime } from '../../runtime.ts';
import type { StatusLine } from '../status-line.ts';

const REDRAW_MS = 250;

const ms = (value: number) => (value < 10 ? value.toFixed(1) : value.toFixed(0));

/** Per tier: how many ran (and failed), and their wait p50/p99 in ms. */
export function tierSummary(report: readonly TierReport[]): string {
  return report.map((r) => `${r.tier} ${r.ran}${r.failed > 0 ? ` (${r.failed} failed)` : ''} ${ms(r.waitP50)}/${ms(r.waitP99)}`).join(', ');
}

export interface DemoOptions {
  readonly signal: AbortSignal;
  readonly status: StatusLine;
  readonly adminUrl: string;
  readonly warn: (line: string) => void;
  /** A whole line of output (stdout). */
  readonly print: (line: string) => void;
}

/** Runs waves until `signal` aborts. The runtime has the main job's handlers registered. */
export async function runDemo(runtime: Runtime, { signal, status, adminUrl, warn, print }: DemoOptions): Promise<void> {
  const { submitMainJob, trackTiers } = await import('../../../examples/main-job.ts');
  const { albumWorkflow, albumOfWave } = await import('../../../examples/album-workflow.ts');
  let albums = 0;
  for (let wave = 1; !signal.aborted; wave++) {
    const tracker = trackTiers(runtime);
    const line = (prefix: string) => `${prefix} · wave ${wave} · ran, wait p50/p99 ms: ${tierSummary(tracker.report())} · albums ${albums}`;
    // The admin URL leads, so a narrow terminal cuts the tiers, never the URL.
    const ticker = status.live ? setInterval(() => status.show(line(adminUrl)), REDRAW_MS) : undefined;
    const ids: string[] = [];
    try {
      const album = runtime.workflows.start(albumWorkflow, albumOfWave(wave)).then((id) => runtime.workflows.waitFor(id));
      await submitMainJob(runtime, 1, (accepted) => {
        tracker.note(accepted);
        ids.push(...accepted);
      });
      await Promise.allSettled(ids.map((id) => runtime.waitFor(id)));
      await album.then(() => void albums++, (error: unknown) => warn(`triage start: demo album of wave ${wave} failed: ${(error as Error).message}`));
      if (signal.aborted) return;
      if (status.live) status.show(line(adminUrl));
      else print(line('triage: demo'));
      await sleep(1_000, undefined, { signal });
    } catch (error) {
      if (signal.aborted || runtime.state !== 'running') return;
      warn(`triage start: demo wave failed: ${(error as Error).message}`);
      await sleep(3_000, undefined, { signal }).catch(() => undefined);
    } finally {
      clearInterval(ticker);
      tracker.off();
    }
  }
}
