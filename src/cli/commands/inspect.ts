/**
 * `triage inspect [url]`: the status line, queues, running payloads, failures, workflows, ledger and
 * actor tree of a running Triage, read from its admin endpoint and drawn in the terminal (drawing:
 * inspect-render.ts); `--watch` redraws in place.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { PayloadPage } from '../../admin/payload-views.ts';
import type { LedgerView, PartitionsView, RunningView, TreeView, WorkflowsView } from '../../admin/sources.ts';
import { EXIT, UsageError, type CliIo, type Command } from '../command.ts';
import { renderSnapshot, type Snapshot } from './inspect-render.ts';

export { renderSnapshot, type Snapshot } from './inspect-render.ts';

const usage = `usage: triage inspect [url] [options]

Shows the status line (with the failed count), the queues per partition and tier, the running
payloads, the newest failures, the workflows, the ledger, the coordinator's decisions and the actor
tree of a running Triage, read from its admin endpoint. On a terminal the frame fits the window: a
long list is cut with "… N more", and under --watch the status line stays on top.

arguments:
  url                   admin endpoint    env TRIAGE_ADMIN_URL    default http://127.0.0.1:7070/

options:
  --watch               redraw until interrupted (SIGINT/SIGTERM)
  --interval <ms>       time between redraws with --watch            default 1000
  --count <n>           with --watch, stop after n redraws
  --json                print the raw JSON (one line per redraw)
  --help                show this help

exit codes: 0 shown · 1 the endpoint could not be reached or answered an error · 2 bad usage
`;

class FetchError extends Error {}

async function getJson<T>(base: URL, path: string): Promise<T> {
  const url = new URL(path, base);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new FetchError(`cannot reach ${base.href}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new FetchError(`${url.href} answered ${response.status} with something that is not JSON: is this a Triage admin endpoint?`);
  }
  if (!response.ok) {
    const message = (body as { error?: { message?: string } }).error?.message ?? 'no error message';
    throw new FetchError(`${url.href} answered ${response.status}: ${message}`);
  }
  return body as T;
}

export async function fetchSnapshot(base: URL): Promise<Snapshot> {
  const [partitions, tree, running, load, ledger, workflows, failed] = await Promise.all([
    getJson<PartitionsView>(base, 'api/partitions'),
    getJson<TreeView>(base, 'api/tree'),
    getJson<RunningView>(base, 'api/running?limit=50'),
    getJson<Snapshot['load']>(base, 'api/load'),
    getJson<LedgerView>(base, 'api/ledger?limit=50'),
    getJson<WorkflowsView>(base, 'api/workflows?limit=50'),
    getJson<PayloadPage>(base, 'api/payloads?status=failed&limit=20'),
  ]);
  return { partitions, tree, running, load, ledger, workflows, failed };
}

export function parseInspectArgs(args: string[], env: NodeJS.ProcessEnv): { url: URL; watch: boolean; intervalMs: number; count: number | undefined; json: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: { watch: { type: 'boolean' }, interval: { type: 'string' }, count: { type: 'string' }, json: { type: 'boolean' } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`expected at most one url, got ${positionals.length}: ${positionals.join(' ')}`);
  let raw = positionals[0] ?? (env['TRIAGE_ADMIN_URL'] || 'http://127.0.0.1:7070/');
  if (!raw.includes('://')) raw = `http://${raw}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${JSON.stringify(positionals[0] ?? raw)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`the url must be http or https, got ${url.protocol}`);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  const whole = (flag: string, value: string | undefined, min: number): number | undefined => {
    if (value === undefined) return undefined;
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
    return n;
  };
  const intervalMs = whole('--interval', values.interval, 100) ?? 1_000;
  const count = whole('--count', values.count, 1);
  if (!values.watch && (values.interval !== undefined || count !== undefined)) throw new UsageError('--interval and --count go with --watch');
  return { url, watch: values.watch === true, intervalMs, count, json: values.json === true };
}

export const inspect: Command = {
  name: 'inspect',
  summary: 'show the actor tree and queues of a running Triage (--watch to refresh)',
  usage,
  async run(args, io: CliIo) {
    const options = parseInspectArgs(args, io.env);
    const frame = async (): Promise<boolean> => {
      try {
        const snapshot = await fetchSnapshot(options.url);
        const { stdout } = io;
        // On a terminal the frame fits it; a pipe gets every line.
        const fit = stdout.isTTY && stdout.columns && stdout.rows ? { columns: stdout.columns, rows: stdout.rows } : undefined;
        const text = options.json ? `${JSON.stringify(snapshot)}\n` : renderSnapshot(snapshot, new Date(), fit);
        // Redrawn in place from the top: each line cleared to its end, then what is below the frame.
        io.stdout.write(options.watch && !options.json && stdout.isTTY ? `\x1b[H${text.replace(/\n/g, '\x1b[K\n')}\x1b[J` : text);
        return true;
      } catch (error) {
        if (!(error instanceof FetchError)) throw error;
        io.stderr.write(`triage inspect: ${error.message}\n`);
        return false;
      }
    };
    if (!options.watch) return (await frame()) ? EXIT.ok : EXIT.failed;

    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      let ok = false;
      for (let n = 1; !stop.signal.aborted; n++) {
        ok = await frame();
        if (options.count !== undefined && n >= options.count) break;
        if (!options.json && !io.stdout.isTTY) io.stdout.write('\n');
        await sleep(options.intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
      }
      return ok ? EXIT.ok : EXIT.failed;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
