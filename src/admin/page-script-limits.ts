/**
 * The admin page's script, the Limits panel: the limited scopes and the rules in force, from
 * `GET /api/limits` (same markup as the server's first paint, `page-limits.ts`), and, unlocked, the
 * form that replaces the limits through `POST /api/limits`.
 */
export const LIMITS_SCRIPT = String.raw`
function limitText(limit) {
  if (!limit) return 'no limit';
  const parts = [];
  if (limit.maxRunning !== undefined) parts.push('≤ ' + limit.maxRunning + ' running');
  if (limit.perSecond !== undefined) parts.push(limit.perSecond + '/s' + (limit.burst === undefined ? '' : ' (burst ' + limit.burst + ')'));
  return parts.join(', ');
}
function rulePairs(rules) {
  const pairs = [];
  const clients = rules.clients || {};
  const keys = rules.keys || {};
  if (rules.global) pairs.push(['everything', limitText(rules.global)]);
  for (const [type, limit] of Object.entries(rules.types || {})) pairs.push(['type ' + type, limitText(limit)]);
  if (clients.default) pairs.push(['each client', limitText(clients.default)]);
  for (const [clientId, limit] of Object.entries(clients.overrides || {})) pairs.push(['client ' + clientId, limitText(limit)]);
  if (keys.default) pairs.push(['each concurrency key', limitText(keys.default)]);
  for (const [key, limit] of Object.entries(keys.overrides || {})) pairs.push(['key ' + key, limitText(limit)]);
  return pairs;
}
function rulesText(rules) {
  const pairs = rulePairs(rules);
  return pairs.length ? pairs.map(([what, limit]) => what + ' ' + limit).join('; ') : 'none';
}
function renderLimits(view) {
  const holding = view.scopes.filter((s) => s.held > 0).length;
  $('limits-total').textContent = view.scopes.length + ' limited scope' + (view.scopes.length === 1 ? '' : 's') + ' · ' + holding + ' holding work back';
  fill($('limits').tBodies[0], view.scopes.length === 0 ? [emptyRow(5, 'no limited scope yet: clients and keys appear once they have work')] : view.scopes.map((s) => el('tr', { 'data-scope': s.scope },
    el('td', { class: 'mono' }, s.scope), el('td', { 'data-col': 'limit' }, limitText(s.limit)), el('td', { class: 'num', 'data-col': 'running' }, s.running),
    el('td', { class: s.held > 0 ? 'num hot' : 'num', 'data-col': 'held' }, num(s.held)), el('td', { class: 'num' }, s.tokens === undefined ? '—' : Math.floor(s.tokens)))));
  const pairs = rulePairs(view.rules);
  $('limits-rules').replaceChildren(...(pairs.length ? pairs.flatMap(([what, limit]) => [el('dt', {}, what), el('dd', {}, limit)])
    : [el('dt', {}, 'rules'), el('dd', {}, 'none: nothing is held back')]));
}
// POST /api/limits replaces every limit at once, so the form holds them all, starting from the rules in force.
function limitsControl() {
  const input = el('textarea', { id: 'limits-input', rows: '8', cols: '60', spellcheck: 'false', 'aria-label': 'the limits, as JSON' });
  const load = () => { input.value = JSON.stringify(state.limits.rules, null, 2); };
  load();
  const reload = el('button', { class: 'btn', type: 'button', id: 'limits-reload', title: 'put the rules in force back in the box' }, 'Rules in force');
  reload.onclick = load;
  const save = el('button', { class: 'btn primary', type: 'button', 'data-action': 'set limits' }, 'Set limits');
  save.onclick = () => {
    let body;
    try { body = JSON.parse(input.value.trim() || '{}'); } catch (error) { toast('the limits are not JSON: ' + error.message, false); return; }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) { toast('the limits are one JSON object: { "global", "types", "clients", "keys" }', false); return; }
    confirmThen('replace every limit with these: ' + rulesText(body) + '? What a limit holds waits queued; running work finishes.', () => act('POST', '/api/limits', body, 'Set limits'));
  };
  const form = el('div', { class: 'stack', id: 'limits-form' },
    el('span', { class: 'muted' }, 'limits as JSON: global, types { <type>: limit }, clients and keys { default, overrides { <id>: limit } }; a limit is { perSecond, burst, maxRunning }'),
    input, el('div', { class: 'actions-row' }, reload, save));
  return form;
}
`;
