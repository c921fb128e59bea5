/**
 * `triage inspect`'s drawing: the status line first, then the queues, running payloads, failures,
 * workflows, ledger, decisions and the actor tree. On a terminal the whole frame fits it: each
 * section keeps a few lines, the rest are shared out in order, a cut list ends with "… N more",
 * and no line is wider than the terminal — so under --watch the status line stays on top.
 */
import type { ActorNode, CoordinatorDecision, LedgerView, LoadView, PartitionsView, RunningView, TreeView, WorkflowsView } from '../../admin/sources.ts';
import type { PayloadPage } from '../../admin/payload-views.ts';
import { TIERS } from '../../payload.ts';

export interface Snapshot {
  readonly partitions: PartitionsView;
  readonly tree: TreeView;
  readonly running: RunningView;
  readonly load: LoadView & { readonly decisions: readonly CoordinatorDecision[] };
  readonly ledger: LedgerView;
  readonly workflows: WorkflowsView;
  /** The newest dead letters, and how many there are. */
  readonly failed: PayloadPage;
}

/** The terminal's size; without it (a pipe) everything is printed. */
export interface Fit {
  readonly columns: number;
  readonly rows: number;
}

/** Lines each section keeps, its title included, before the rest are shared out. */
const KEPT = 4;

interface Section {
  readonly title: string;
  /** A table's heading row: shown whenever any item is. */
  readonly head?: string;
  readonly lines: readonly string[];
  /** A closing remark ("3 idle partitions not shown"), shown when there is room. */
  readonly tail?: string;
  /** What the lines are of, when cut: "… 12 more <noun>". */
  readonly noun: string;
  /** Items the view held beyond the lines (the endpoint sent a page of them). */
  readonly beyond: number;
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

export function statusLine(s: Snapshot, now: Date): string {
  const { pool } = s.partitions;
  const failed = s.failed.total ?? s.failed.items.length;
  return `Triage ${s.tree.root.path.slice(1)} — ${s.partitions.status} · load ${s.load.level}${s.load.pinned ? ' (pinned)' : ''} · ${failed} failed · pool ${pool.busy}/${pool.size} busy (${TIERS.map((t) => `${t[0]}${pool.byTier[t]}`).join(' ')}) · ${now.toLocaleTimeString()}`;
}

function sections(s: Snapshot): Section[] {
  const queueRows: string[][] = [['partition', ...TIERS, 'running', 'delayed']];
  let idle = 0;
  for (const p of s.partitions.partitions) {
    const depth = TIERS.reduce((n, t) => n + p.depth[t], 0);
    if (depth === 0 && p.running === 0 && p.delayed === 0) {
      idle++;
      continue;
    }
    queueRows.push([`p${p.partition}`, ...TIERS.map((t) => (p.depth[t] === 0 ? '·' : `${p.depth[t]} (${duration(p.oldestWait[t])})`)), String(p.running), String(p.delayed)]);
  }
  const [queueHead, ...queues] = table(queueRows);
  const idleNote = idle > 0 ? `… ${idle} idle partition${idle === 1 ? '' : 's'} not shown` : undefined;
  const [runningHead, ...running] = table([
    ['payload', 'type', 'client', 'partition', 'tier', 'attempt', 'for'],
    ...s.running.running.map((r) => [r.id, r.type, r.clientId, `p${r.partition}`, r.tier, String(r.attempt), duration(r.runningMs)]),
  ]);
  const failed = s.failed.items.length === 0 ? [] : table(s.failed.items.map((f) => [
    `  ${f.id}`, f.type, f.clientId, f.finishedAt === undefined ? '' : new Date(f.finishedAt).toLocaleTimeString(), f.error ? `${f.error.code}: ${f.error.message}` : '',
  ]));
  const workflows = s.workflows.instances.map((w) => `  ${w.id}  ${w.workflow}  ${w.status}  ${w.steps.completed}/${w.steps.total} steps${w.steps.failed ? `  ${w.steps.failed} failed` : ''}`);
  const actors: string[] = [];
  actorLines(s.tree.root, 0, actors);
  const failedTotal = s.failed.total ?? s.failed.items.length;
  return [
    { title: 'QUEUES  depth (oldest wait)', head: queueHead, lines: queues, ...(idleNote ? { tail: idleNote } : {}), noun: 'busy partitions', beyond: 0 },
    { title: `RUNNING  ${s.running.total}`, head: runningHead, lines: running, noun: 'running', beyond: s.running.total - s.running.running.length },
    { title: `FAILED  ${failedTotal} failed for good, newest first`, lines: failed, noun: 'failed', beyond: failedTotal - s.failed.items.length },
    { title: `WORKFLOWS  ${s.workflows.total}`, lines: workflows, noun: 'instances', beyond: s.workflows.total - s.workflows.instances.length },
    { title: `LEDGER  ${s.ledger.total} entr${s.ledger.total === 1 ? 'y' : 'ies'}`, lines: s.ledger.entries.map((e) => `  ${e.id}  ${e.type}  ${e.kind}  ${e.tier}  ${e.reason}`), noun: 'entries', beyond: s.ledger.total - s.ledger.entries.length },
    { title: s.load.decisions.length ? 'DECISIONS' : 'DECISIONS  none', lines: s.load.decisions.map((d) => `  ${new Date(d.at).toLocaleTimeString()}  ${d.action} → ${d.level}: ${d.reason}`), noun: 'decisions', beyond: 0 },
    { title: `ACTORS  ${s.tree.actors}`, lines: actors, noun: 'actors', beyond: 0 },
  ];
}

/** Lines a section asks for: its lines, and one saying how many more the endpoint holds. */
const need = (x: Section) => (x.lines.length > 0 && x.head !== undefined ? 1 : 0) + x.lines.length + (x.beyond > 0 || x.tail !== undefined ? 1 : 0);

/** How many body lines each section shows in `rows` lines (the blank line and title before each not counted here). */
function share(all: readonly Section[], rows: number): number[] {
  const shown = all.map(() => 0);
  let left = rows - all.length * 2;
  for (const cap of [KEPT - 1, Number.POSITIVE_INFINITY]) {
    for (let i = 0; i < all.length && left > 0; i++) {
      const take = Math.min(need(all[i] as Section), cap) - (shown[i] as number);
      if (take <= 0) continue;
      const given = Math.min(take, left);
      shown[i] = (shown[i] as number) + given;
      left -= given;
    }
  }
  return shown;
}

const clip = (line: string, columns: number) => (line.length <= columns ? line : `${line.slice(0, Math.max(0, columns - 1))}…`);

export function renderSnapshot(s: Snapshot, now = new Date(), fit?: Fit): string {
  const all = sections(s);
  const out = [statusLine(s, now)];
  // One line is left for the cursor, so the status line never scrolls off a terminal.
  const shown = fit ? share(all, fit.rows - 2) : all.map(need);
  all.forEach((section, i) => {
    let room = shown[i] as number;
    out.push('', section.title);
    if (room >= need(section)) {
      if (section.lines.length > 0 && section.head !== undefined) out.push(section.head);
      out.push(...section.lines);
      if (section.beyond > 0) out.push(`  … ${section.beyond} more ${section.noun}`);
      else if (section.tail !== undefined) out.push(section.tail);
      return;
    }
    if (room === 0) return;
    if (section.lines.length > 0 && section.head !== undefined && room >= 2) {
      out.push(section.head);
      room--;
    }
    const kept = Math.max(0, room - 1);
    out.push(...section.lines.slice(0, kept), `  … ${section.lines.length - kept + section.beyond} more ${section.noun}`);
  });
  const lines = fit ? out.slice(0, Math.max(1, fit.rows - 1)).map((line) => clip(line, fit.columns)) : out;
  return `${lines.join('\n')}\n`;
}
