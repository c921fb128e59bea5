/**
 * The admin page: HTML drawn on the server with the current numbers (so the first paint, `curl` and
 * a screenshot show data), then refreshed live by its inline script. No build step, no external
 * assets: the charts are SVG the script draws. Everything from the runtime is escaped on the server
 * and set as text (`textContent`) in the browser, since payload types and client ids come from clients.
 */
import { clockTime, count, escapeHtml, h, jsonForScript, raw } from './html.ts';
import {
  decisionItems, failedRows, treeItem, kpis, LEDGER_PAGE, ledgerPageText, ledgerRows, loadFacts, loadText, poolText, queueRows, runningRows, scheduleRows, workflowRows, type PageSnapshot,
} from './page-rows.ts';
import { limitsSection } from './page-limits.ts';
import { ACTIONS_SCRIPT } from './page-script-actions.ts';
import { CHARTS_SCRIPT } from './page-script-charts.ts';
import { CORE_SCRIPT } from './page-script-core.ts';
import { LIMITS_SCRIPT } from './page-script-limits.ts';
import { PANELS_SCRIPT } from './page-script-panels.ts';
import { SEARCH_SCRIPT } from './page-script-search.ts';
import { dialogs, pageDocument, toast } from './page-shell.ts';

export interface PageOptions {
  readonly name: string;
  /** Per-response CSP nonce: only the page's own inline script and style run. */
  readonly nonce: string;
  readonly refreshMs: number;
  /** The server has a token: operator actions can be unlocked in the page. */
  readonly actions: boolean;
  readonly snapshot: PageSnapshot;
}

export const ACTIONS_OFF_REASON = 'Operator actions are off: this admin endpoint was started without a token (triage start --token-file <path>, or TRIAGE_ADMIN_TOKEN). The page only reads.';

const th = (label: string, num = false) => h('th', num ? { class: 'num' } : {}, label);
const table = (id: string, heads: ReturnType<typeof th>[], rows: unknown[]) => h('div', { class: 'scroll' }, h('table', { id }, h('thead', {}, h('tr', {}, heads)), h('tbody', {}, rows as never)));

export function renderPage({ name, nonce, refreshMs, actions, snapshot: s }: PageOptions): string {
  const queues = queueRows(s.partitions);
  const pool = s.partitions.pool;
  const failedTotal = s.failed.total ?? s.failed.items.length;
  const body = h('body', { 'data-state': 'loading', 'data-actions': actions ? 'locked' : 'off' },
    h('header', { class: 'top' },
      h('h1', {}, h('a', { href: '/' }, 'Triage'), ' ', h('span', { id: 'name' }, name)),
      h('span', { class: 'pill', id: 'node', hidden: true }),
      h('span', { class: 'pill', id: 'status', 'data-status': s.partitions.status }, s.partitions.status),
      h('span', { class: 'pill', id: 'load', 'data-level': s.load.level }, loadText(s.load)),
      h('span', { class: 'meter' }, raw(poolBar(pool.busy, pool.size)), h('span', { id: 'pool' }, poolText(pool))),
      h('a', { class: 'pill bad', id: 'failed-badge', href: '#failed-section', 'data-count': failedTotal }, `${count(failedTotal)} failed`),
      h('span', { class: 'spacer' }),
      h('span', { id: 'updated', class: 'muted' }, `as of ${clockTime(s.at)} UTC`),
      h('span', { id: 'token-box' }, actions ? '' : h('span', { class: 'pill', title: ACTIONS_OFF_REASON }, 'read-only'))),
    h('main', {},
      h('section', { class: 'wide kpis', id: 'kpis' }, kpis(s).map((k) => h('div', { class: k.bad ? 'kpi bad' : 'kpi', id: k.id }, h('b', {}, k.value), h('span', {}, k.label),
        raw('<svg class="spark" viewBox="0 0 120 26" preserveAspectRatio="none" aria-hidden="true"></svg>')))),
      h('section', { class: 'wide', id: 'charts' },
        h('h2', {}, 'Last 15 minutes', h('small', { class: 'muted', id: 'charts-span' }, `${s.series.points.length} s of history, one point a second`),
          h('span', { class: 'legend', id: 'level-legend' })),
        h('div', { class: 'charts-grid' },
          chart('chart-wait', 'Wait p50 / p99 per tier'), chart('chart-rate', 'Completed and failed per second'),
          chart('chart-depth', 'Queue depth per tier'), chart('chart-pool', 'Pool: busy slots and size')),
        h('noscript', {}, raw(`<style nonce="${nonce}">#charts .charts-grid { display: none; }</style>`),
          h('p', { class: 'note' }, 'The charts are drawn by the page\'s script; the numbers above and below are current as of this page.'))),
      h('section', { class: 'wide', id: 'failed-section' },
        h('h2', {}, 'Failed', h('small', { class: 'muted', id: 'failed-total' }, `${count(failedTotal)} failed for good · newest ${s.failed.items.length}`), h('span', { id: 'failed-actions', class: 'actions-row' }),
          h('a', { href: '#search-section', id: 'failed-all', class: 'muted' }, 'all of them in Find payloads ›')),
        table('failed', [th('failed at', true), th('payload'), th('type'), th('client'), th('attempts', true), th('code'), th('error'), th('')], failedRows(s.failed))),
      h('section', { class: 'wide' }, h('h2', {}, 'Running now', h('small', { class: 'muted', id: 'running-total' }, runningTotal(s))),
        table('running', [th('payload'), th('type'), th('client'), th('partition'), th('tier'), th('attempt', true), th('for', true), th('')], runningRows(s.running))),
      h('section', { class: 'wide' }, h('h2', {}, 'Queues', h('small', { class: 'muted' }, 'per partition and tier: depth (oldest wait)'),
        h('label', { id: 'all-nodes-box', class: 'muted', hidden: true }, raw('<input type="checkbox" id="all-nodes">'), ' every node\'s partitions')),
        table('queues', [th('partition'), th('critical', true), th('high', true), th('medium', true), th('low', true), th('running', true), th('delayed', true), th('done', true)], queues.rows),
        h('p', { id: 'idle', class: 'muted' }, queues.idle === 0 ? '' : `${queues.idle} idle partition${queues.idle === 1 ? '' : 's'} not shown`)),
      limitsSection(s.limits),
      h('section', {}, h('h2', {}, 'Load and operator actions'),
        h('dl', { id: 'load-detail', class: 'facts' }, loadFacts(s.load, s.pauses, s.fairness)),
        h('p', { id: 'actions-note', class: actions ? 'note' : 'note off' }, actions ? 'Unlock actions (top right) with the operator token to get buttons.' : ACTIONS_OFF_REASON),
        h('div', { id: 'load-actions' }),
        h('h3', {}, 'Decisions'), h('ul', { id: 'decisions', class: 'list' }, decisionItems(s.decisions))),
      h('section', {}, h('h2', {}, 'Ledger', h('small', { class: 'muted', id: 'ledger-total' }, `${count(s.ledger.total)} skipped or degraded, oldest first`), h('span', { id: 'ledger-actions', class: 'actions-row' })),
        table('ledger', [th('payload'), th('type'), th('kind'), th('tier'), th('at', true), th('reason')], ledgerRows(s.ledger)),
        h('div', { class: 'pager' }, h('span', { id: 'ledger-page', class: 'muted' }, ledgerPageText(s.ledger, 0)),
          h('button', { class: 'btn', id: 'ledger-prev', type: 'button', disabled: true }, '‹ newer'),
          h('button', { class: 'btn', id: 'ledger-next', type: 'button', disabled: s.ledger.total <= LEDGER_PAGE }, 'older ›'))),
      h('section', { class: 'wide', id: 'search-section' }, h('h2', {}, 'Find payloads', h('small', { class: 'muted' }, 'over the dead letters (status failed) or what this process retains')),
        h('form', { class: 'search', id: 'search-form' },
          raw('<input name="id" placeholder="id" size="16"><input name="type" placeholder="type"><input name="clientId" placeholder="client"><input name="tag" placeholder="tag">'),
          h('select', { name: 'status' }, h('option', { value: '' }, 'any status'),
            ['queued', 'running', 'delayed', 'deferred', 'completed', 'failed', 'cancelled', 'skipped', 'expired'].map((v) => h('option', { value: v }, v))),
          h('button', { class: 'btn primary', type: 'submit' }, 'Search'), h('span', { id: 'search-info', class: 'muted' })),
        table('search-results', [th('payload'), th('type'), th('client'), th('status'), th('tier'), th('attempts', true), th('ended', true), th('error')], []),
        h('div', { class: 'pager' }, h('button', { class: 'btn', id: 'search-more', type: 'button', hidden: true }, 'next page ›'))),
      h('section', {}, h('h2', {}, 'Workflows', h('small', { class: 'muted', id: 'workflows-total' }, count(s.workflows.total))),
        table('workflows', [th('instance'), th('workflow'), th('status'), th('steps', true)], workflowRows(s.workflows))),
      h('section', {}, h('h2', {}, 'Schedules', h('small', { class: 'muted', id: 'schedules-total' }, count(s.schedules.total))),
        table('schedules', [th('schedule'), th('timing'), th('type'), th('state'), th('next fire'), th('last tick'), th('')], scheduleRows(s.schedules))),
      h('section', {}, h('h2', {}, 'Actor tree'), h('ul', { id: 'tree', class: 'tree' }, treeItem(s.tree.root))),
      h('section', { id: 'cluster-section', hidden: true }, h('h2', {}, 'Cluster', h('small', { class: 'muted', id: 'cluster-summary' })),
        table('cluster', [th('node'), th('partitions'), th('owned', true), th('homes'), th('pid', true), th('up'), th('admin')], []),
        h('p', { id: 'cluster-unowned', class: 'muted' }), h('div', { id: 'cluster-trees', class: 'trees' }))),
    dialogs(),
    toast(),
    h('script', { type: 'application/json', id: 'initial-series' }, raw(jsonForScript(s.series))),
    h('script', { nonce }, raw(`const REFRESH_MS = ${Math.floor(refreshMs)};\nconst ACTIONS = ${actions};\nconst LEDGER_PAGE = ${LEDGER_PAGE};\n${CORE_SCRIPT}${CHARTS_SCRIPT}${PANELS_SCRIPT}${LIMITS_SCRIPT}${SEARCH_SCRIPT}${ACTIONS_SCRIPT}\nstart();\n`)));
  return pageDocument(`Triage · ${name}`, nonce, body.html);
}

function runningTotal(s: PageSnapshot): string {
  return s.running.total > s.running.running.length ? `${s.running.running.length} of ${s.running.total}` : String(s.running.total);
}

function chart(id: string, title: string) {
  return h('figure', { class: 'chart', id }, h('figcaption', {}, title, h('span', { class: 'legend' })), raw('<svg viewBox="0 0 600 170" role="img"></svg>'));
}

/** The pool meter as SVG (the CSP allows no style attributes). */
export function poolBar(busy: number, size: number): string {
  const width = size > 0 ? Math.min(80, Math.round((80 * busy) / size)) : 0;
  return `<svg id="pool-bar" width="80" height="8" viewBox="0 0 80 8" aria-hidden="true"><rect width="80" height="8" rx="4" fill="#2e333d"/><rect width="${width}" height="8" rx="4" fill="${busy >= size ? '#e5484d' : '#46a758'}"/></svg>`;
}

