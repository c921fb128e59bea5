/**
 * The admin page's panels rendered on the server, so the first paint (and `curl`) carries the
 * current numbers. The page's script draws the same markup from the JSON endpoints afterwards
 * (`page-script-panels.ts`); the two keep the same ids, classes and data attributes.
 */
import { TIERS } from '../payload.ts';
import { clockTime, count, duration, h, raw, type Markup } from './html.ts';
import type { PayloadPage } from './payload-views.ts';
import type { LimitsView } from '../runtime/limits-view.ts';
import type { ActorNode, CoordinatorDecision, FairnessView, LedgerView, LoadView, PartitionsView, PausesView, RunningView, SchedulesView, SeriesView, TreeView, WorkflowsView } from './sources.ts';

export const LEDGER_PAGE = 10;

/** What the page is first drawn with. */
export interface PageSnapshot {
  readonly at: number;
  readonly partitions: PartitionsView;
  readonly running: RunningView;
  readonly load: LoadView;
  readonly decisions: readonly CoordinatorDecision[];
  readonly ledger: LedgerView;
  readonly failed: PayloadPage;
  readonly workflows: WorkflowsView;
  readonly schedules: SchedulesView;
  readonly series: SeriesView;
  readonly pauses: PausesView;
  readonly fairness: FairnessView;
  readonly limits: LimitsView;
  readonly tree: TreeView;
}

const tierChip = (tier: string | undefined) => (tier ? h('span', { class: `tier tier-${tier}` }, tier) : '—');
const statusChip = (status: string) => h('span', { class: `status status-${status}` }, status);
const payloadLink = (id: string) => h('a', { href: `/payloads/${encodeURIComponent(id)}`, class: 'mono' }, id);
const emptyRow = (columns: number, text: string) => h('tr', {}, h('td', { colspan: columns, class: 'muted' }, text));

export function poolText(pool: PartitionsView['pool']): string {
  const extra = pool.running !== pool.busy ? ` · ${pool.running} running` : '';
  return `pool ${pool.busy}/${pool.size} busy${extra} · ${TIERS.map((t) => `${t[0]}${pool.byTier[t]}`).join(' ')}`;
}

export const loadText = (load: LoadView): string => `load ${load.level}${load.pinned ? ' (pinned)' : ''}`;

export function queueRows(view: PartitionsView): { rows: Markup[]; idle: number } {
  const rows: Markup[] = [];
  let idle = 0;
  for (const p of view.partitions) {
    const depth = TIERS.reduce((n, t) => n + p.depth[t], 0);
    if (depth === 0 && p.running === 0 && p.delayed === 0) {
      idle++;
      continue;
    }
    const done = p.totals.completed + p.totals.failed + p.totals.cancelled + p.totals.skipped;
    rows.push(h('tr', { 'data-partition': p.partition }, h('td', {}, `p${p.partition}`),
      TIERS.map((tier) => {
        const wait = p.oldestWait[tier];
        const cls = p.depth[tier] === 0 ? 'num' : wait > 5_000 ? 'num very-hot' : 'num hot';
        return h('td', { class: cls, 'data-tier': tier }, p.depth[tier] === 0 ? '·' : `${p.depth[tier]} (${duration(wait)})`);
      }),
      h('td', { class: 'num', 'data-col': 'running' }, p.running), h('td', { class: 'num' }, p.delayed), h('td', { class: 'num' }, count(done))));
  }
  return { rows, idle };
}

export const runningRows = (view: RunningView): Markup[] => view.running.length === 0 ? [emptyRow(8, 'nothing running')] : view.running.map((r) =>
  h('tr', { 'data-id': r.id }, h('td', { 'data-col': 'id' }, payloadLink(r.id)), h('td', {}, r.type), h('td', {}, r.clientId),
    h('td', { 'data-col': 'partition' }, `p${r.partition}`), h('td', { 'data-col': 'tier' }, tierChip(r.tier)),
    h('td', { class: 'num' }, r.attempt), h('td', { class: 'num' }, duration(r.runningMs)), h('td', { class: 'act' })));

export const failedRows = (page: PayloadPage): Markup[] => page.items.length === 0 ? [emptyRow(8, 'no payload failed for good')] : page.items.map((f) =>
  h('tr', { 'data-id': f.id, 'data-type': f.type }, h('td', { class: 'num' }, f.finishedAt === undefined ? '—' : clockTime(f.finishedAt)),
    h('td', {}, payloadLink(f.id)), h('td', {}, f.type), h('td', {}, f.clientId), h('td', { class: 'num' }, f.attempts),
    h('td', {}, h('code', {}, f.error?.code ?? '—')), h('td', { class: 'wrap error' }, f.error?.message ?? ''), h('td', { class: 'act' })));

export const ledgerRows = (view: LedgerView): Markup[] => view.entries.length === 0 ? [emptyRow(6, 'empty')] : view.entries.map((e) =>
  h('tr', { 'data-id': e.id }, h('td', {}, payloadLink(e.id)), h('td', {}, e.type), h('td', {}, e.kind), h('td', {}, tierChip(e.tier)),
    h('td', { class: 'num' }, clockTime(e.at)), h('td', { class: 'wrap' }, e.reason)));

export const ledgerPageText = (view: LedgerView, offset: number): string =>
  view.total === 0 ? '' : `${offset + 1}–${offset + view.entries.length} of ${count(view.total)}`;

export const workflowRows = (view: WorkflowsView): Markup[] => view.instances.length === 0 ? [emptyRow(4, 'none')] : view.instances.map((w) =>
  h('tr', { 'data-instance': w.id }, h('td', { class: 'mono' }, w.id), h('td', {}, w.workflow), h('td', {}, statusChip(w.status)),
    h('td', { class: 'num' }, `${w.steps.completed}/${w.steps.total}`)));

export const scheduleRows = (view: SchedulesView): Markup[] => view.schedules.length === 0 ? [emptyRow(7, 'none')] : view.schedules.map((s) =>
  h('tr', { 'data-schedule': s.id }, h('td', {}, s.id), h('td', {}, s.timing + (s.timezone ? ` (${s.timezone})` : '')), h('td', {}, s.type),
    h('td', {}, s.paused ? 'paused' : 'active'), h('td', { 'data-col': 'next' }, s.nextAt === null ? '—' : clockTime(s.nextAt)),
    h('td', {}, Number.isFinite(s.lastTick) && s.lastTick > 0 ? clockTime(s.lastTick) : '—'), h('td', { class: 'act' })));

/** What is paused, in words: everything, or the types and clients held. */
export function pausedText(pauses: PausesView): string {
  if (pauses.all) return 'everything';
  const held = [...pauses.types, ...pauses.clients.map((c) => `client ${c.clientId}${c.type === undefined ? '' : ` (${c.type})`}`)];
  return held.length > 0 ? held.join(', ') : 'nothing';
}

/** The client weights in force, in words: the clients weighted, then everyone else. */
export function weightsText(fairness: FairnessView): string {
  const weighted = Object.entries(fairness.weights).map(([clientId, weight]) => `${clientId} ${weight}`);
  return weighted.length === 0 ? `every client ${fairness.defaultWeight}` : `${weighted.join(', ')}, every other client ${fairness.defaultWeight}`;
}

export function loadFacts(load: LoadView, pauses: PausesView, fairness: FairnessView): Markup[] {
  return [
    h('dt', {}, 'level'), h('dd', {}, load.level + (load.pinned ? ', pinned by an operator' : '')),
    h('dt', {}, 'low-tier throttle'), h('dd', {}, load.lowThrottle === null ? 'unlimited' : `${load.lowThrottle} starts/s`),
    h('dt', {}, 'paused'), h('dd', {}, pausedText(pauses)),
    h('dt', {}, 'client weights'), h('dd', { 'data-fact': 'weights' }, weightsText(fairness)),
    h('dt', {}, 'since'), h('dd', {}, load.since === undefined ? '—' : clockTime(load.since)),
  ];
}

export const decisionItems = (decisions: readonly CoordinatorDecision[]): Markup[] => decisions.length === 0 ? [h('li', { class: 'muted' }, 'none yet')] :
  decisions.map((d) => h('li', {}, h('time', {}, clockTime(d.at)), ` ${d.action} → `, h('span', { class: `level-${d.level}` }, d.level), `: ${d.reason}`));

/** The figures of the tiles: the latest second of the series, the queues and the dead letters. */
export function kpis(s: PageSnapshot): Array<{ id: string; label: string; value: string; bad?: boolean }> {
  const last = s.series.points.at(-1);
  const queued = s.partitions.partitions.reduce((n, p) => n + TIERS.reduce((m, t) => m + p.depth[t], 0), 0);
  const recent = s.series.points.slice(-10).map((p) => p.waitP99.high).filter((v): v is number => v !== null);
  return [
    { id: 'kpi-completed', label: 'completed / s', value: last ? count(last.completed) : '—' },
    { id: 'kpi-failed', label: 'failed / s', value: last ? count(last.failed) : '—', bad: (last?.failed ?? 0) > 0 },
    { id: 'kpi-queued', label: 'queued', value: count(queued) },
    { id: 'kpi-running', label: 'running / slots', value: `${s.running.total} / ${s.partitions.pool.size}` },
    { id: 'kpi-wait', label: 'high wait p99 (10 s)', value: recent.length ? duration(Math.max(...recent)) : '—' },
    { id: 'kpi-dead', label: 'failed for good', value: count(s.failed.total ?? s.failed.items.length), bad: (s.failed.total ?? 0) > 0 },
  ];
}

function summaryText(summary: Record<string, unknown>): string {
  const s = summary as { depth?: Record<string, number>; oldestWait?: Record<string, number>; running?: number };
  if (!s.depth) return Object.entries(summary).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => `${k} ${String(v)}`).join(' · ');
  const oldest = Math.max(...TIERS.map((t) => s.oldestWait?.[t] ?? 0));
  return `${TIERS.map((t) => `${t[0]}${s.depth?.[t] ?? 0}`).join(' ')} · running ${s.running ?? 0}${oldest > 0 ? ` · oldest ${duration(oldest)}` : ''}`;
}

export function treeItem(node: ActorNode): Markup {
  const leaf = node.kind !== 'system' && node.kind !== 'group';
  return h('li', { 'data-path': node.path }, h('span', {}, h('b', {}, node.path.split('/').pop() ?? ''), ' ', h('span', { class: 'kind' }, node.kind),
    leaf ? [` · mailbox ${node.mailbox} · ${count(node.processed)} msgs`, raw('<br>'), h('span', { class: 'muted' }, summaryText(node.summary))] : ''),
    node.children.length ? h('ul', {}, node.children.map(treeItem)) : '');
}
