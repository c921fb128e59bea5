/**
 * `triage inspect [url]`: the actor tree, queues, running payloads, load level and ledger of a
 * running Triage, read from its admin endpoint and drawn in the terminal; `--watch` redraws.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { ActorNode, LedgerView, LoadView, CoordinatorDecision, PartitionsView, RunningView, TreeView } from '../../admin/sources.ts';
import { TIERS } from '../../payload.ts';
import { EXIT, UsageError, type CliIo, type Command } from '../command.ts';

export interface Snapshot {
  readonly partitions: PartitionsView;
  readonly tree: TreeView;
  readonly running: RunningView;
  readonly load: LoadView & { readonly decisions: readonly CoordinatorDecision[] };
  readonly ledger: LedgerView;
}

const usage = `usage: triage inspect [url] [options]

Shows the actor tree, the queues per partition and tier, the running payloads, the load level and
the ledger of a running Triage, read from its admin endpoint.

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
  const [partitions, tree, running, load, ledger] = await Promise.all([
    getJson<PartitionsView>(base, 'api/partitions'),
    getJson<TreeView>(base, 'api/tree'),
    getJson<RunningView>(base, 'api/running?limit=20'),
    getJson<Snapshot['load']>(base, 'api/load'),
    getJson<LedgerView>(base, 'api/ledger?limit=10'),
  ]);
  return { partitions, tree, running, load, ledger };
}

const duration = (ms: number) => (ms < 1_000 ? `${Math.round(ms)} ms` : ms < 120_000 ? `${(ms / 1_000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`);

/** Left-aligned columns, two spaces apart. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

function actorLines(node: ActorNode, depth: number, out: string[]): void {
  const name = depth === 0 ? node.path : node.path.slice(node.path.lastIndexOf('/') + 1);
  let line = `${'  '.repeat(depth)}${name}  ${node.kind}`;
  if (node.kind !== 'system' && node.kind !== 'group') {
    line += `  mailbox ${node.mailbox}  msgs ${node.processed}`;
    const s = node.summary as { depth?: Record<string, number>; running?: number; oldestWait?: Record<string, number> };
    if (s.depth) line += `  ${TIERS.map((t) => `${t[0]}${s.depth?.[t] ?? 0}`).join(' ')}  running ${s.running ?? 0}`;
    const oldest = s.oldestWait ? Math.max(...TIERS.map((t) => s.oldestWait?.[t] ?? 0)) : 0;
    if (oldest > 0) line += `  oldest ${duration(oldest)}`;
    // Other actors (coordinator, dependency graph, …): their scalar summary fields.
    if (!s.depth) line += Object.entries(node.summary).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => `  ${k} ${String(v)}`).join('');
  }
  out.push(line);
  for (const child of node.children) actorLines(child, depth + 1, out);
}

export function renderSnapshot(s: Snapshot, now = new Date()): string {
  const { pool } = s.partitions;
  const out = [
    `Triage ${s.tree.root.path.slice(1)} — ${s.partitions.status} · load ${s.load.level}${s.load.pinned ? ' (pinned)' : ''} · pool ${pool.busy}/${pool.size} busy (${TIERS.map((t) => `${t[0]}${pool.byTier[t]}`).join(' ')}) · ${now.toLocaleTimeString()}`,
    '',
    'QUEUES  depth (oldest wait)',
  ];
  const rows: string[][] = [['partition', ...TIERS, 'running', 'delayed']];
  let idle = 0;
  for (const p of s.partitions.partitions) {
    const depth = TIERS.reduce((n, t) => n + p.depth[t], 0);
    if (depth === 0 && p.running === 0 && p.delayed === 0) {
      idle++;
      continue;
    }
    rows.push([`p${p.partition}`, ...TIERS.map((t) => (p.depth[t] === 0 ? '·' : `${p.depth[t]} (${duration(p.oldestWait[t])})`)), String(p.running), String(p.delayed)]);
  }
  out.push(...table(rows));
  if (idle > 0) out.push(`… ${idle} idle partition${idle === 1 ? '' : 's'} not shown`);
  out.push('', `RUNNING  ${s.running.total}`);
  if (s.running.running.length > 0) {
    out.push(...table([
      ['payload', 'type', 'client', 'partition', 'tier', 'attempt', 'for'],
      ...s.running.running.map((r) => [r.id, r.type, r.clientId, `p${r.partition}`, r.tier, String(r.attempt), duration(r.runningMs)]),
    ]));
  }
  out.push('', `ACTORS  ${s.tree.actors}`);
  actorLines(s.tree.root, 0, out);
  out.push('', `LEDGER  ${s.ledger.total} entr${s.ledger.total === 1 ? 'y' : 'ies'}`);
  for (const e of s.ledger.entries) out.push(`  ${e.id}  ${e.type}  ${e.kind}  ${e.tier}  ${e.reason}`);
  if (s.load.decisions.length > 0) {
    out.push('', 'DECISIONS');
    for (const d of s.load.decisions) out.push(`  ${new Date(d.at).toLocaleTimeString()}  ${d.action} → ${d.level}: ${d.reason}`);
  }
  return `${out.join('\n')}\n`;
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
        const text = options.json ? `${JSON.stringify(snapshot)}\n` : renderSnapshot(snapshot);
        io.stdout.write(options.watch && !options.json && io.stdout.isTTY ? `\x1b[H\x1b[2J${text}` : text);
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
