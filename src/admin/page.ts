/**
 * The admin page: plain HTML with inline CSS and JS, no build step, no external assets. It polls
 * the JSON endpoints and redraws. Everything from the runtime goes into the DOM as text
 * (`textContent`), never as markup, since payload types and client ids come from clients.
 */

export interface PageOptions {
  readonly name: string;
  /** Per-response CSP nonce: only the page's own inline script and style run. */
  readonly nonce: string;
  readonly refreshMs: number;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderPage({ name, nonce, refreshMs }: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Triage · ${escapeHtml(name)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body data-state="loading">
<header>
  <h1>Triage <span id="name">${escapeHtml(name)}</span></h1>
  <span class="pill" id="node" hidden></span>
  <span class="pill" id="status">…</span>
  <span class="pill" id="load" data-level="normal">load …</span>
  <span id="pool">pool …</span>
  <span id="updated" class="muted">connecting…</span>
</header>
<main>
  <section class="wide" id="cluster-section" hidden><h2>Cluster <small class="muted" id="cluster-summary"></small></h2>
    <table id="cluster"><thead><tr><th>node</th><th>partitions</th><th>owned</th><th>homes</th><th>pid</th><th>up</th><th>admin</th></tr></thead><tbody></tbody></table>
    <p id="cluster-unowned" class="muted"></p>
    <div id="cluster-trees" class="trees"></div></section>
  <section class="wide"><h2>Queues <small class="muted">per partition and tier: depth (oldest wait)</small>
    <label id="all-nodes-box" class="muted" hidden><input type="checkbox" id="all-nodes"> every node's partitions</label></h2>
    <table id="queues"><thead><tr><th>partition</th><th>critical</th><th>high</th><th>medium</th><th>low</th><th>running</th><th>delayed</th><th>done</th></tr></thead><tbody></tbody></table>
    <p id="idle" class="muted"></p></section>
  <section class="wide"><h2>Running now <small class="muted" id="running-total"></small></h2>
    <table id="running"><thead><tr><th>payload</th><th>type</th><th>client</th><th>partition</th><th>tier</th><th>attempt</th><th>for</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Actor tree</h2><ul id="tree" class="tree"></ul></section>
  <section><h2>Load</h2><dl id="load-detail"></dl><h3>Decisions</h3><ul id="decisions" class="list"></ul>
    <h2>Ledger <small class="muted" id="ledger-total"></small></h2>
    <table id="ledger"><thead><tr><th>payload</th><th>type</th><th>kind</th><th>tier</th><th>reason</th></tr></thead><tbody></tbody></table>
    <h2>Workflows <small class="muted" id="workflows-total"></small></h2>
    <table id="workflows"><thead><tr><th>instance</th><th>workflow</th><th>status</th><th>steps</th></tr></thead><tbody></tbody></table></section>
  <section class="wide"><h2>Schedules <small class="muted" id="schedules-total"></small></h2>
    <table id="schedules"><thead><tr><th>schedule</th><th>timing</th><th>type</th><th>state</th><th>next fire</th><th>last tick</th></tr></thead><tbody></tbody></table></section>
</main>
<script nonce="${nonce}">
const REFRESH_MS = ${Math.floor(refreshMs)};
${SCRIPT}
</script>
</body>
</html>
`;
}

const STYLE = `
:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f5f6f8; }
header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; padding: .8rem 1.2rem; background: #1d2330; color: #fff; }
h1 { font-size: 1.2rem; margin: 0; } h2 { font-size: 1rem; margin: .2rem 0 .6rem; } h3 { font-size: .9rem; margin: .8rem 0 .3rem; }
main { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; padding: 1rem 1.2rem; }
section { background: #fff; border-radius: 6px; padding: .8rem 1rem; box-shadow: 0 1px 2px #0002; overflow: auto; }
section.wide { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #e4e6ea; white-space: nowrap; }
td.num { text-align: right; } td.hot { background: #ffe9c7; } td.very-hot { background: #ffc9c2; }
.pill { padding: .1rem .6rem; border-radius: 1rem; background: #3a4356; }
#load[data-level="elevated"] { background: #b7791f; } #load[data-level="critical"] { background: #c53030; }
body[data-state="error"] #updated { color: #feb2b2; }
.muted { color: #8a93a6; font-weight: normal; } header .muted { color: #aab3c5; }
.tree, .tree ul { list-style: none; padding-left: 1rem; margin: 0; } .tree li { margin: .15rem 0; }
.kind { color: #5a67d8; } .list { padding-left: 1.2rem; margin: 0; }
tr.self td:first-child { font-weight: bold; } .error { color: #c53030; }
.trees { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: .4rem 1.2rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; margin: 0; } dt { color: #8a93a6; }
`;

// Runs in the browser: plain ES2020, no modules, no dependencies.
const SCRIPT = String.raw`
const TIERS = ['critical', 'high', 'medium', 'low'];
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v; else node.setAttribute(k, String(v));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
function ms(value) {
  if (value < 1000) return Math.round(value) + ' ms';
  if (value < 120000) return (value / 1000).toFixed(1) + ' s';
  return Math.round(value / 60000) + ' min';
}
function fill(tbody, rows) { tbody.replaceChildren(...rows); }
async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) throw new Error(path + ' answered ' + response.status);
  return response.json();
}
function renderQueues(view) {
  const rows = [];
  let idle = 0;
  for (const p of view.partitions) {
    const depth = TIERS.reduce((n, t) => n + p.depth[t], 0);
    if (depth === 0 && p.running === 0 && p.delayed === 0) { idle++; continue; }
    const row = el('tr', { 'data-partition': p.partition }, el('td', {}, 'p' + p.partition + (p.node ? ' @' + p.node : '')));
    for (const tier of TIERS) {
      const wait = p.oldestWait[tier];
      const cls = p.depth[tier] === 0 ? 'num' : wait > 5000 ? 'num very-hot' : 'num hot';
      row.append(el('td', { class: cls, 'data-tier': tier }, p.depth[tier] === 0 ? '·' : p.depth[tier] + ' (' + ms(wait) + ')'));
    }
    row.append(el('td', { class: 'num', 'data-col': 'running' }, p.running), el('td', { class: 'num' }, p.delayed),
      el('td', { class: 'num' }, p.totals.completed + p.totals.failed + p.totals.cancelled + p.totals.skipped));
    rows.push(row);
  }
  fill($('queues').tBodies[0], rows);
  $('idle').textContent = idle === 0 ? '' : idle + ' idle partition' + (idle === 1 ? '' : 's') + ' not shown';
  const pool = view.pool;
  $('pool').textContent = 'pool ' + pool.busy + '/' + pool.size + ' busy · ' + TIERS.map((t) => t[0] + pool.byTier[t]).join(' ');
  $('status').textContent = view.status;
}
function renderRunning(view) {
  fill($('running').tBodies[0], view.running.map((r) => el('tr', { 'data-id': r.id },
    el('td', { 'data-col': 'id' }, r.id), el('td', {}, r.type), el('td', {}, r.clientId),
    el('td', { 'data-col': 'partition' }, 'p' + r.partition), el('td', { 'data-col': 'tier' }, r.tier),
    el('td', { class: 'num' }, r.attempt), el('td', { class: 'num' }, ms(r.runningMs)))));
  $('running-total').textContent = view.total > view.running.length ? view.running.length + ' of ' + view.total : String(view.total);
}
function summaryText(summary) {
  if (!summary || !summary.depth) return Object.entries(summary || {}).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => k + ' ' + v).join(' · ');
  const depths = TIERS.map((t) => t[0] + summary.depth[t]).join(' ');
  const oldest = Math.max(...TIERS.map((t) => summary.oldestWait[t]));
  return depths + ' · running ' + summary.running + (oldest > 0 ? ' · oldest ' + ms(oldest) : '');
}
function treeNode(node) {
  const label = el('span', {}, el('b', {}, node.path.split('/').pop()), ' ', el('span', { class: 'kind' }, node.kind));
  if (node.kind !== 'system' && node.kind !== 'group') label.append(' · mailbox ' + node.mailbox + ' · ' + node.processed + ' msgs', el('br'), el('span', { class: 'muted' }, summaryText(node.summary)));
  const item = el('li', { 'data-path': node.path }, label);
  if (node.children.length) item.append(el('ul', {}, ...node.children.map(treeNode)));
  return item;
}
function ranges(numbers) {
  const parts = [];
  for (let i = 0; i < numbers.length; i++) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++;
    parts.push(j === i ? String(numbers[i]) : numbers[i] + '–' + numbers[j]);
    i = j;
  }
  return parts.join(', ');
}
function nodeTree(id, tree) {
  const box = el('div', { 'data-node': id }, el('h3', {}, id, ' ', el('small', { class: 'muted' }, Array.isArray(tree) ? tree.length + ' actors' : 'no answer')));
  if (!Array.isArray(tree)) box.append(el('p', { class: 'error' }, tree.error));
  else box.append(el('ul', { class: 'tree' }, ...tree.map((a) => el('li', { 'data-path': a.path },
    el('b', {}, a.path.split('/').pop()), ' ', el('span', { class: 'kind' }, a.kind), ' · mailbox ' + a.mailbox + ' ',
    el('span', { class: 'muted' }, summaryText(a.summary))))));
  return box;
}
function renderCluster(view) {
  $('cluster-section').hidden = !view.clustered;
  $('all-nodes-box').hidden = !view.clustered;
  if (!view.clustered) return;
  if (view.node) {
    $('node').hidden = false;
    $('node').textContent = 'node ' + view.node;
  }
  if (view.unavailable) {
    // Stale rows would claim an ownership that may have moved on.
    $('cluster-summary').textContent = 'unavailable: ' + view.unavailable;
    fill($('cluster').tBodies[0], []);
    $('cluster-unowned').textContent = '';
    $('cluster-trees').replaceChildren();
    return;
  }
  const owned = new Map(view.nodes.map((n) => [n.id, []]));
  for (const o of view.owners) {
    if (!owned.has(o.node)) owned.set(o.node, []); // a lease outliving its node, until it expires
    owned.get(o.node).push(o.partition);
  }
  const infoOf = new Map(view.nodes.map((n) => [n.id, n]));
  // A home not named after its holder is one adopted from a node that is gone.
  const homesOf = (id) => (view.homes || []).filter((h) => h.node === id).map((h) => h.home.startsWith(id + '.') ? 'own' : 'adopted ' + h.home);
  fill($('cluster').tBodies[0], [...owned].map(([id, partitions]) => {
    const info = infoOf.get(id);
    const admin = info && /^https?:\/\//.test(info.adminUrl || '') ? el('a', { href: info.adminUrl }, info.adminUrl) : '—';
    return el('tr', { 'data-node': id, class: id === view.node ? 'self' : '' },
      el('td', {}, id + (id === view.node ? ' (this node)' : '') + (id === view.leader ? ' · leader' : '')), el('td', { 'data-col': 'partitions' }, ranges(partitions) || '—'),
      el('td', { class: 'num', 'data-col': 'owned' }, partitions.length), el('td', { 'data-col': 'homes' }, homesOf(id).join(', ') || '—'),
      el('td', { class: 'num' }, info ? info.pid : '—'),
      el('td', {}, info ? ms(Math.max(0, Date.now() - info.startedAt)) : 'gone'), el('td', {}, admin));
  }));
  const leased = new Set(view.owners.map((o) => o.partition));
  const unowned = Array.from({ length: view.partitions }, (_, p) => p).filter((p) => !leased.has(p));
  const orphans = (view.homes || []).filter((h) => !h.node).map((h) => h.home);
  $('cluster-unowned').textContent = [unowned.length ? 'no owner (moving): ' + ranges(unowned) : '', orphans.length ? 'homes waiting to be adopted: ' + orphans.join(', ') : ''].filter(Boolean).join(' · ');
  $('cluster-summary').textContent = view.nodes.length + ' node' + (view.nodes.length === 1 ? '' : 's') + ' · ' + leased.size + '/' + view.partitions + ' partitions leased' + (view.leader ? ' · leader ' + view.leader : ' · no leader yet');
  $('cluster-trees').replaceChildren(...Object.entries(view.trees).map(([id, tree]) => nodeTree(id, tree)));
}
function renderLoad(load, ledger, workflows) {
  $('load').textContent = 'load ' + load.level + (load.pinned ? ' (pinned)' : '');
  $('load').dataset.level = load.level;
  $('load-detail').replaceChildren(el('dt', {}, 'level'), el('dd', {}, load.level + (load.pinned ? ', pinned' : '')),
    el('dt', {}, 'low-tier throttle'), el('dd', {}, load.lowThrottle === null || load.lowThrottle === undefined ? 'unlimited' : load.lowThrottle + ' starts/s'),
    el('dt', {}, 'since'), el('dd', {}, load.since ? new Date(load.since).toLocaleTimeString() : '—'));
  $('decisions').replaceChildren(...(load.decisions.length ? load.decisions.map((d) => el('li', {}, new Date(d.at).toLocaleTimeString() + ' ' + d.action + ' → ' + d.level + ': ' + d.reason)) : [el('li', { class: 'muted' }, 'none yet')]));
  $('ledger-total').textContent = String(ledger.total);
  fill($('ledger').tBodies[0], ledger.entries.length ? ledger.entries.map((e) => el('tr', {}, el('td', {}, e.id), el('td', {}, e.type), el('td', {}, e.kind), el('td', {}, e.tier), el('td', {}, e.reason)))
    : [el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'empty'))]);
  $('workflows-total').textContent = String(workflows.total);
  fill($('workflows').tBodies[0], workflows.instances.length ? workflows.instances.map((w) => el('tr', {}, el('td', {}, w.id), el('td', {}, w.workflow), el('td', {}, w.status), el('td', {}, w.steps.completed + '/' + w.steps.total)))
    : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'none'))]);
}
function renderSchedules(view) {
  $('schedules-total').textContent = String(view.total);
  const when = (t) => (t === null || t === undefined || !Number.isFinite(t) ? '—' : new Date(t).toLocaleString());
  fill($('schedules').tBodies[0], view.schedules.length ? view.schedules.map((s) => el('tr', { 'data-schedule': s.id },
    el('td', {}, s.id), el('td', {}, s.timing + (s.timezone ? ' (' + s.timezone + ')' : '')), el('td', {}, s.type),
    el('td', {}, s.paused ? 'paused' : 'active'), el('td', { 'data-col': 'next' }, when(s.nextAt)), el('td', {}, when(s.lastTick))))
    : [el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'none'))]);
}
async function refresh() {
  try {
    // The cluster view reads Redis and asks every node: its failure shows in its section, not as a disconnect.
    const cluster = getJson('/api/cluster').catch((error) => ({ clustered: true, unavailable: error.message }));
    const [tree, partitions, running, load, ledger, workflows, schedules] = await Promise.all(
      ['/api/tree', $('all-nodes').checked ? '/api/partitions?nodes=all' : '/api/partitions', '/api/running?limit=50', '/api/load', '/api/ledger?limit=50', '/api/workflows?limit=20', '/api/schedules?limit=100'].map(getJson));
    renderQueues(partitions);
    renderRunning(running);
    $('tree').replaceChildren(treeNode(tree.root));
    renderLoad(load, ledger, workflows);
    renderSchedules(schedules);
    renderCluster(await cluster);
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    document.body.dataset.state = 'live';
  } catch (error) {
    $('updated').textContent = 'disconnected: ' + error.message;
    document.body.dataset.state = 'error';
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
`;
