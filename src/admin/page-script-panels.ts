/**
 * The admin page's script, the panels: queues, running, failed, actor tree, cluster, load, ledger
 * (paged), workflows, schedules. Same markup as the server's first paint (`page-rows.ts`).
 */
export const PANELS_SCRIPT = String.raw`
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
      el('td', { class: 'num' }, num(p.totals.completed + p.totals.failed + p.totals.cancelled + p.totals.skipped)));
    rows.push(row);
  }
  fill($('queues').tBodies[0], rows);
  $('idle').textContent = idle === 0 ? '' : idle + ' idle partition' + (idle === 1 ? '' : 's') + ' not shown';
}
function renderRunning(view) {
  fill($('running').tBodies[0], view.running.length === 0 ? [emptyRow(8, 'nothing running')] : view.running.map((r) => el('tr', { 'data-id': r.id },
    el('td', { 'data-col': 'id' }, payloadLink(r.id)), el('td', {}, r.type), el('td', {}, r.clientId),
    el('td', { 'data-col': 'partition' }, 'p' + r.partition), el('td', { 'data-col': 'tier' }, tierChip(r.tier)),
    el('td', { class: 'num' }, r.attempt), el('td', { class: 'num' }, ms(r.runningMs)),
    el('td', { class: 'act' }, actionButton('Cancel', 'cancel payload ' + r.id + ' (' + r.type + ')? Its handler\'s signal fires.', 'POST', '/api/payloads/' + encodeURIComponent(r.id) + '/cancel', undefined, 'danger')))));
  $('running-total').textContent = view.total > view.running.length ? view.running.length + ' of ' + view.total : String(view.total);
}
function renderFailed(view) {
  $('failed-total').textContent = num(view.total === undefined ? view.items.length : view.total) + ' failed for good · newest ' + view.items.length;
  fill($('failed').tBodies[0], view.items.length === 0 ? [emptyRow(8, 'no payload failed for good')] : view.items.map((f) => el('tr', { 'data-id': f.id, 'data-type': f.type },
    el('td', { class: 'num' }, f.finishedAt === undefined ? '—' : clock(f.finishedAt)), el('td', {}, payloadLink(f.id)), el('td', {}, f.type), el('td', {}, f.clientId),
    el('td', { class: 'num' }, f.attempts), el('td', {}, el('code', {}, f.error ? f.error.code : '—')), el('td', { class: 'wrap error' }, f.error ? f.error.message : ''),
    el('td', { class: 'act' }, actionButton('Retry', 'run ' + f.id + ' (' + f.type + ') again, as a new attempt of the same id?', 'POST', '/api/payloads/' + encodeURIComponent(f.id) + '/retry', undefined, 'primary')))));
}
function summaryText(summary) {
  if (!summary || !summary.depth) return Object.entries(summary || {}).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => k + ' ' + v).join(' · ');
  const depths = TIERS.map((t) => t[0] + summary.depth[t]).join(' ');
  const oldest = Math.max(...TIERS.map((t) => summary.oldestWait[t]));
  return depths + ' · running ' + summary.running + (oldest > 0 ? ' · oldest ' + ms(oldest) : '');
}
function treeNode(node) {
  const label = el('span', {}, el('b', {}, node.path.split('/').pop()), ' ', el('span', { class: 'kind' }, node.kind));
  if (node.kind !== 'system' && node.kind !== 'group') label.append(' · mailbox ' + node.mailbox + ' · ' + num(node.processed) + ' msgs', el('br'), el('span', { class: 'muted' }, summaryText(node.summary)));
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
    el('b', {}, a.path.split('/').pop()), ' ', el('span', { class: 'kind' }, a.kind), ' · mailbox ' + a.mailbox + ' ', el('span', { class: 'muted' }, summaryText(a.summary))))));
  return box;
}
function renderCluster(view) {
  $('cluster-section').hidden = !view.clustered;
  $('all-nodes-box').hidden = !view.clustered;
  if (!view.clustered) return;
  if (view.node) { $('node').hidden = false; $('node').textContent = 'node ' + view.node; }
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
      el('td', { class: 'num' }, info ? info.pid : '—'), el('td', {}, info ? ms(Math.max(0, Date.now() - info.startedAt)) : 'gone'), el('td', {}, admin));
  }));
  const leased = new Set(view.owners.map((o) => o.partition));
  const unowned = Array.from({ length: view.partitions }, (_, p) => p).filter((p) => !leased.has(p));
  const orphans = (view.homes || []).filter((h) => !h.node).map((h) => h.home);
  $('cluster-unowned').textContent = [unowned.length ? 'no owner (moving): ' + ranges(unowned) : '', orphans.length ? 'homes waiting to be adopted: ' + orphans.join(', ') : ''].filter(Boolean).join(' · ');
  $('cluster-summary').textContent = view.nodes.length + ' node' + (view.nodes.length === 1 ? '' : 's') + ' · ' + leased.size + '/' + view.partitions + ' partitions leased' + (view.leader ? ' · leader ' + view.leader : ' · no leader yet');
  $('cluster-trees').replaceChildren(...Object.entries(view.trees).map(([id, tree]) => nodeTree(id, tree)));
}
function pausedText(pauses) {
  if (pauses.all) return 'everything';
  const held = [...pauses.types, ...(pauses.clients || []).map((c) => 'client ' + c.clientId + (c.type === undefined ? '' : ' (' + c.type + ')'))];
  return held.length ? held.join(', ') : 'nothing';
}
function weightsText(fairness) {
  const weighted = Object.entries(fairness.weights).map(([clientId, weight]) => clientId + ' ' + weight);
  return weighted.length === 0 ? 'every client ' + fairness.defaultWeight : weighted.join(', ') + ', every other client ' + fairness.defaultWeight;
}
function renderLoad(load, pauses, fairness) {
  $('load-detail').replaceChildren(el('dt', {}, 'level'), el('dd', {}, load.level + (load.pinned ? ', pinned by an operator' : '')),
    el('dt', {}, 'low-tier throttle'), el('dd', {}, load.lowThrottle === null || load.lowThrottle === undefined ? 'unlimited' : load.lowThrottle + ' starts/s'),
    el('dt', {}, 'paused'), el('dd', {}, pausedText(pauses)),
    el('dt', {}, 'client weights'), el('dd', { 'data-fact': 'weights' }, weightsText(fairness)),
    el('dt', {}, 'since'), el('dd', {}, load.since ? clock(load.since) : '—'));
  $('decisions').replaceChildren(...(load.decisions.length ? load.decisions.map((d) => el('li', {}, el('time', {}, clock(d.at)), ' ' + d.action + ' → ', el('span', { class: 'level-' + d.level }, d.level), ': ' + d.reason))
    : [el('li', { class: 'muted' }, 'none yet')]));
}
function renderLedger(ledger) {
  if (ledger.total > 0 && state.ledgerOffset >= ledger.total) { state.ledgerOffset = Math.max(0, Math.floor((ledger.total - 1) / LEDGER_PAGE) * LEDGER_PAGE); }
  $('ledger-total').textContent = num(ledger.total) + ' skipped or degraded, oldest first';
  fill($('ledger').tBodies[0], ledger.entries.length ? ledger.entries.map((e) => el('tr', { 'data-id': e.id }, el('td', {}, payloadLink(e.id)), el('td', {}, e.type), el('td', {}, e.kind),
    el('td', {}, tierChip(e.tier)), el('td', { class: 'num' }, clock(e.at)), el('td', { class: 'wrap' }, e.reason))) : [emptyRow(6, 'empty')]);
  $('ledger-page').textContent = ledger.total === 0 ? '' : (state.ledgerOffset + 1) + '–' + (state.ledgerOffset + ledger.entries.length) + ' of ' + num(ledger.total);
  $('ledger-prev').disabled = state.ledgerOffset === 0;
  $('ledger-next').disabled = state.ledgerOffset + LEDGER_PAGE >= ledger.total;
}
function setupLedgerPager() {
  const go = (delta) => { state.ledgerOffset = Math.max(0, state.ledgerOffset + delta); getJson('/api/ledger?limit=' + LEDGER_PAGE + '&offset=' + state.ledgerOffset).then(renderLedger, () => undefined); };
  $('ledger-prev').onclick = () => go(-LEDGER_PAGE);
  $('ledger-next').onclick = () => go(LEDGER_PAGE);
}
function renderWorkflows(view) {
  $('workflows-total').textContent = num(view.total);
  fill($('workflows').tBodies[0], view.instances.length ? view.instances.map((w) => el('tr', { 'data-instance': w.id }, el('td', { class: 'mono' }, w.id), el('td', {}, w.workflow), el('td', {}, statusChip(w.status)),
    el('td', { class: 'num' }, w.steps.completed + '/' + w.steps.total))) : [emptyRow(4, 'none')]);
}
function renderSchedules(view) {
  $('schedules-total').textContent = num(view.total);
  const when = (t) => (t === null || t === undefined || !Number.isFinite(t) || t <= 0 ? '—' : clock(t));
  fill($('schedules').tBodies[0], view.schedules.length ? view.schedules.map((s) => el('tr', { 'data-schedule': s.id },
    el('td', {}, s.id), el('td', {}, s.timing + (s.timezone ? ' (' + s.timezone + ')' : '')), el('td', {}, s.type),
    el('td', {}, s.paused ? 'paused' : 'active'), el('td', { 'data-col': 'next' }, when(s.nextAt)), el('td', {}, when(s.lastTick)),
    el('td', { class: 'act' }, s.paused
      ? actionButton('Resume', 'resume schedule ' + s.id + '? It fires from now on.', 'POST', '/api/schedules/' + encodeURIComponent(s.id) + '/resume')
      : actionButton('Pause', 'pause schedule ' + s.id + '? It does not fire until resumed.', 'POST', '/api/schedules/' + encodeURIComponent(s.id) + '/pause')))) : [emptyRow(7, 'none')]);
}
`;
