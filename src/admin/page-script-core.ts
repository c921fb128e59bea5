/**
 * The admin page's script, first part: helpers, the page state and the refresh loop. Runs in the
 * browser: plain ES2020, no modules, no dependencies; values go into the DOM as text only.
 */
export const CORE_SCRIPT = String.raw`
const TIERS = ['critical', 'high', 'medium', 'low'];
const TOKEN_KEY = 'triage.admin.token';
const $ = (id) => document.getElementById(id);
const state = { series: [], decisions: [], ledgerOffset: 0, failed: { items: [] }, running: { running: [] }, schedules: { schedules: [] }, pauses: { all: false, types: [], clients: [] }, fairness: { weights: {}, defaultWeight: 1 }, limits: { rules: {}, scopes: [] }, load: null, refreshing: null };
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v; else node.setAttribute(k, String(v));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
function ms(value) {
  if (value < 1) return (Math.round(value * 100) / 100) + ' ms';
  if (value < 1000) return Math.round(value) + ' ms';
  if (value < 120000) return (value / 1000).toFixed(1) + ' s';
  if (value < 7200000) return Math.round(value / 60000) + ' min';
  return (value / 3600000).toFixed(1) + ' h';
}
function num(n) { return Math.round(n).toLocaleString('en-US'); }
function clock(t) { return new Date(t).toLocaleTimeString(); }
function fill(tbody, rows) { tbody.replaceChildren(...rows); }
function emptyRow(columns, text) { return el('tr', {}, el('td', { colspan: columns, class: 'muted' }, text)); }
function tierChip(tier) { return tier ? el('span', { class: 'tier tier-' + tier }, tier) : '—'; }
function statusChip(status) { return el('span', { class: 'status status-' + status }, status); }
function payloadLink(id) { return el('a', { href: '/payloads/' + encodeURIComponent(id), class: 'mono' }, id); }
async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) {
    let message = path + ' answered ' + response.status;
    try { message = (await response.json()).error.message || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response.json();
}
function renderHeader(partitions, running, load, failed) {
  const pool = partitions.pool;
  const extra = pool.running !== pool.busy ? ' · ' + pool.running + ' running' : '';
  $('pool').textContent = 'pool ' + pool.busy + '/' + pool.size + ' busy' + extra + ' · ' + TIERS.map((t) => t[0] + pool.byTier[t]).join(' ');
  const bar = $('pool-bar').lastElementChild;
  bar.setAttribute('width', String(pool.size > 0 ? Math.min(80, Math.round((80 * pool.busy) / pool.size)) : 0));
  bar.setAttribute('fill', pool.busy >= pool.size ? '#e5484d' : '#46a758');
  $('status').textContent = partitions.status;
  $('status').dataset.status = partitions.status;
  $('load').textContent = 'load ' + load.level + (load.pinned ? ' (pinned)' : '');
  $('load').dataset.level = load.level;
  const failedTotal = failed.total === undefined ? failed.items.length : failed.total;
  $('failed-badge').textContent = num(failedTotal) + ' failed';
  $('failed-badge').dataset.count = String(failedTotal);
}
function renderKpis(partitions, running, failed) {
  const last = state.series[state.series.length - 1];
  const queued = partitions.partitions.reduce((n, p) => n + TIERS.reduce((m, t) => m + p.depth[t], 0), 0);
  const recent = state.series.slice(-10).map((p) => p.waitP99.high).filter((v) => v !== null);
  const failedTotal = failed.total === undefined ? failed.items.length : failed.total;
  const set = (id, value, bad) => { $(id).firstChild.textContent = value; $(id).className = bad ? 'kpi bad' : 'kpi'; };
  set('kpi-completed', last ? num(last.completed) : '—');
  set('kpi-failed', last ? num(last.failed) : '—', last && last.failed > 0);
  set('kpi-queued', num(queued));
  set('kpi-running', running.total + ' / ' + partitions.pool.size);
  set('kpi-wait', recent.length ? ms(Math.max(...recent)) : '—');
  set('kpi-dead', num(failedTotal), failedTotal > 0);
}
async function refresh() {
  try {
    // The cluster view reads Redis and asks every node: its failure shows in its section, not as a disconnect.
    const cluster = getJson('/api/cluster').catch((error) => ({ clustered: true, unavailable: error.message }));
    const since = state.series.length ? '?since=' + state.series[state.series.length - 1].t : '';
    const [tree, partitions, running, load, ledger, workflows, schedules, failed, series, pauses, fairness, limits] = await Promise.all([
      '/api/tree', $('all-nodes').checked ? '/api/partitions?nodes=all' : '/api/partitions', '/api/running?limit=50', '/api/load',
      '/api/ledger?limit=' + LEDGER_PAGE + '&offset=' + state.ledgerOffset, '/api/workflows?limit=20', '/api/schedules?limit=100',
      '/api/payloads?status=failed&limit=10', '/api/series' + since, '/api/pauses', '/api/fairness', '/api/limits'].map(getJson));
    Object.assign(state, { failed, running, schedules, pauses, fairness, limits, load });
    addSeries(series);
    renderHeader(partitions, running, load, failed);
    renderKpis(partitions, running, failed);
    drawCharts();
    renderQueues(partitions);
    renderRunning(running);
    renderFailed(failed);
    $('tree').replaceChildren(treeNode(tree.root));
    renderLoad(load, pauses, fairness);
    renderLimits(limits);
    renderLedger(ledger);
    renderWorkflows(workflows);
    renderSchedules(schedules);
    renderActions();
    renderCluster(await cluster);
    $('updated').textContent = 'updated ' + clock(Date.now());
    document.body.dataset.state = 'live';
  } catch (error) {
    $('updated').textContent = 'disconnected: ' + error.message;
    document.body.dataset.state = 'error';
  } finally {
    clearTimeout(state.refreshing);
    state.refreshing = setTimeout(refresh, REFRESH_MS);
  }
}
function start() {
  addSeries(JSON.parse($('initial-series').textContent));
  drawCharts();
  setupActions();
  setupSearch();
  setupLedgerPager();
  refresh();
}
`;
