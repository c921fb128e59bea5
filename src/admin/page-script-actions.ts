/**
 * The admin page's script, operator actions: the token (kept in this tab's sessionStorage, sent as
 * a bearer header, never in a URL), one confirmation dialog for every action, and the result shown.
 * Without a server token there are no buttons and the page says why; with one, they appear once the
 * operator unlocks them. Shared by the payload page (`payload-page.ts`).
 */
export const ACTIONS_SCRIPT = String.raw`
function tokenOf() { try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
function unlocked() { return ACTIONS && !!tokenOf(); }
function actionButton(label, question, method, path, body, kind) {
  if (!unlocked()) return null;
  const button = el('button', { class: 'btn' + (kind ? ' ' + kind : ''), type: 'button', 'data-action': label.toLowerCase() }, label);
  button.onclick = () => confirmThen(question, () => act(method, path, body, label));
  return button;
}
function confirmThen(question, then) {
  const dialog = $('confirm');
  $('confirm-text').textContent = question.charAt(0).toUpperCase() + question.slice(1);
  $('confirm-yes').onclick = () => { dialog.close(); then(); };
  $('confirm-no').onclick = () => dialog.close();
  dialog.showModal();
}
let toastTimer = null;
function toast(text, ok) {
  const box = $('toast');
  box.textContent = text;
  box.dataset.ok = String(ok);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 8000);
}
function describe(label, result) {
  if (result && result.retried === true) return 'retried ' + result.id + ': it runs again';
  if (result && typeof result.retried === 'number') return 'retried ' + result.retried + ' failed payload' + (result.retried === 1 ? '' : 's');
  if (result && result.cancelled) return 'cancelled ' + result.id;
  if (result && typeof result.rescheduled === 'number') return 'rescheduled ' + result.rescheduled + ' ledger entr' + (result.rescheduled === 1 ? 'y' : 'ies');
  if (result && result.level) return 'load ' + result.level + (result.pinned ? ' (pinned)' : '') + ', low-tier throttle ' + (result.lowThrottle === null ? 'unlimited' : result.lowThrottle + '/s');
  if (result && typeof result.all === 'boolean') return 'paused: ' + pausedText(result);
  if (result && typeof result.defaultWeight === 'number') return 'client weights: ' + weightsText(result);
  if (result && result.rules && Array.isArray(result.scopes)) return 'limits: ' + rulesText(result.rules);
  if (result && result.id && 'paused' in result) return 'schedule ' + result.id + ' ' + (result.paused ? 'paused' : 'active');
  return label + ': done';
}
async function act(method, path, body, label) {
  const headers = { accept: 'application/json', authorization: 'Bearer ' + tokenOf() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      toast('The token was refused: ' + (answer.error ? answer.error.message : 'unauthorized') + '. Actions are locked again.', false);
      drawTokenBox();
    } else if (!response.ok) toast(label + ' failed: ' + (answer.error ? answer.error.code + ' — ' + answer.error.message : 'HTTP ' + response.status), false);
    else toast(describe(label, answer), true);
  } catch (error) {
    toast(label + ' failed: ' + error.message, false);
  }
  if (typeof refresh === 'function' && document.getElementById('queues')) refresh(); else if (typeof reloadSoon === 'function') reloadSoon();
}
function drawTokenBox() {
  const box = $('token-box');
  document.body.dataset.actions = !ACTIONS ? 'off' : unlocked() ? 'unlocked' : 'locked';
  if (!ACTIONS) return;
  const button = unlocked() ? el('button', { class: 'btn', type: 'button', id: 'lock' }, 'Lock actions') : el('button', { class: 'btn', type: 'button', id: 'unlock' }, 'Unlock actions');
  button.onclick = () => {
    if (unlocked()) { sessionStorage.removeItem(TOKEN_KEY); drawTokenBox(); afterTokenChange(); return; }
    $('token-input').value = '';
    $('token-dialog').showModal();
  };
  box.replaceChildren(button);
}
function afterTokenChange() {
  state.actionsDrawn = null;
  if (typeof refresh === 'function' && document.getElementById('queues')) refresh(); else if (typeof drawPayloadActions === 'function') drawPayloadActions();
}
function setupActions() {
  drawTokenBox();
  if (!ACTIONS) return;
  $('token-cancel').onclick = () => $('token-dialog').close();
  $('token-form').onsubmit = (event) => {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    $('token-dialog').close();
    drawTokenBox();
    afterTokenChange();
  };
}
// POST /api/fairness replaces every weight at once, so the form starts from the weights in force and sends them all.
function fairnessControl() {
  const rows = el('div', { id: 'fairness-rows' });
  const addRow = (clientId, weight) => {
    const remove = el('button', { class: 'btn', type: 'button', title: 'drop this weight: the client gets the others\' weight' }, '×');
    const row = el('div', { class: 'actions-row' }, el('input', { class: 'fair-client', placeholder: 'client id' }), el('input', { class: 'fair-weight', type: 'number', min: '0', step: 'any', placeholder: 'weight' }), remove);
    row.querySelector('.fair-client').value = clientId;
    row.querySelector('.fair-weight').value = weight;
    remove.onclick = () => row.remove();
    rows.append(row);
  };
  for (const [clientId, weight] of Object.entries(state.fairness.weights)) addRow(clientId, String(weight));
  const others = el('input', { type: 'number', min: '0', step: 'any', id: 'fairness-default', title: 'the weight of every client not listed' });
  others.value = String(state.fairness.defaultWeight);
  const add = el('button', { class: 'btn', type: 'button', id: 'fairness-add' }, 'Add client');
  add.onclick = () => addRow('', '');
  const save = el('button', { class: 'btn primary', type: 'button', 'data-action': 'set weights' }, 'Set weights');
  save.onclick = () => {
    const weights = new Map();
    for (const row of rows.children) {
      const clientId = row.querySelector('.fair-client').value.trim();
      const weight = row.querySelector('.fair-weight').value;
      if (!clientId && weight === '') continue;
      if (!clientId) { toast('name the client of weight ' + weight, false); return; }
      if (weight === '') { toast('give client ' + clientId + ' a weight, a number above 0', false); return; }
      if (weights.has(clientId)) { toast('client ' + clientId + ' is listed twice', false); return; }
      weights.set(clientId, Number(weight));
    }
    if (others.value === '') { toast('give every other client a weight, a number above 0', false); return; }
    const body = { weights: Object.fromEntries(weights), defaultWeight: Number(others.value) };
    confirmThen('serve clients by the weights ' + weightsText(body) + '? Within a tier, waiting clients share the slots in proportion.', () => act('POST', '/api/fairness', body, 'Set weights'));
  };
  const form = labelled('client weights', el('div', { class: 'stack' }, rows, el('div', { class: 'actions-row' }, el('span', { class: 'muted' }, 'every other client'), others, add, save)));
  form.id = 'fairness-form';
  form.classList.add('top');
  return form;
}
function labelled(text, ...children) { return el('div', { class: 'actions-row' }, el('span', { class: 'muted' }, text), ...children); }
// The controls are drawn once per lock state (so a typed value survives the refreshes); the lists in them follow the data.
function renderActions() {
  const mode = !ACTIONS ? 'off' : unlocked() ? 'unlocked' : 'locked';
  document.body.dataset.actions = mode;
  $('actions-note').hidden = mode === 'unlocked';
  if (mode === 'locked') $('actions-note').textContent = 'Unlock actions (top right) with the operator token to get buttons.';
  if (state.actionsDrawn !== mode) {
    state.actionsDrawn = mode;
    $('load-actions').replaceChildren();
    $('ledger-actions').replaceChildren();
    $('failed-actions').replaceChildren();
    $('limits-actions').replaceChildren();
    if (mode === 'unlocked') drawControls();
  }
  if (mode !== 'unlocked') return;
  const types = [...new Set(state.failed.items.map((f) => f.type))].sort();
  const select = $('retry-type');
  const current = select.value;
  select.replaceChildren(el('option', { value: '' }, 'every type'), ...types.map((t) => el('option', { value: t }, t)));
  if (types.includes(current)) select.value = current;
  $('resume-types').replaceChildren(
    ...state.pauses.types.map((type) => actionButton('Resume ' + type, 'resume starting ' + type + ' payloads?', 'POST', '/api/resume', { type })),
    ...(state.pauses.clients || []).map((c) => {
      const what = 'client ' + c.clientId + (c.type === undefined ? '' : ' (' + c.type + ')');
      return actionButton('Resume ' + what, 'resume starting the payloads of ' + what + '?', 'POST', '/api/resume', c.type === undefined ? { clientId: c.clientId } : { clientId: c.clientId, type: c.type });
    }));
}
function drawControls() {
  const pins = ['normal', 'elevated', 'critical'].map((level) => actionButton('Pin ' + level, 'pin the load level at ' + level + '? The coordinator leaves it there until released.', 'POST', '/api/load/pin', { level }, level === 'critical' ? 'danger' : ''));
  const release = actionButton('Release', 'release the pinned load level? The coordinator decides again.', 'POST', '/api/load/release');
  const perSecond = el('input', { type: 'number', min: '0', step: '1', id: 'throttle-input', placeholder: 'starts/s' });
  const setThrottle = el('button', { class: 'btn', type: 'button' }, 'Set');
  setThrottle.onclick = () => {
    const n = Number(perSecond.value);
    if (perSecond.value === '' || !Number.isFinite(n) || n < 0) { toast('the throttle is a number of low-tier starts per second, 0 or more', false); return; }
    confirmThen('limit low-tier starts to ' + n + ' per second?', () => act('POST', '/api/throttle/low', { perSecond: n }, 'Throttle'));
  };
  const lift = actionButton('Lift', 'lift the low-tier throttle?', 'POST', '/api/throttle/low', { perSecond: null });
  const typeInput = el('input', { id: 'pause-type', placeholder: 'handler type' });
  const pauseType = el('button', { class: 'btn', type: 'button' }, 'Pause type');
  pauseType.onclick = () => {
    const type = typeInput.value.trim();
    if (!type) { toast('name the handler type to pause', false); return; }
    confirmThen('stop starting ' + type + ' payloads? Queued ones stay queued; running ones finish.', () => act('POST', '/api/pause', { type }, 'Pause'));
  };
  const clientInput = el('input', { id: 'pause-client', placeholder: 'client id' });
  const pauseClient = el('button', { class: 'btn', type: 'button', 'data-action': 'pause client' }, 'Pause client');
  pauseClient.onclick = () => {
    const clientId = clientInput.value.trim();
    const type = typeInput.value.trim();
    if (!clientId) { toast('name the client to pause', false); return; }
    const what = 'client ' + clientId + (type ? ' (only its ' + type + ' payloads)' : '');
    confirmThen('stop starting the payloads of ' + what + '? Queued ones stay queued; running ones finish.', () => act('POST', '/api/pause', type ? { clientId, type } : { clientId }, 'Pause'));
  };
  const pauseAll = actionButton('Pause everything', 'stop starting every payload? Queued work stays queued; running work finishes.', 'POST', '/api/pause', undefined, 'danger');
  const resumeAll = actionButton('Resume everything', 'lift the pause of the whole runtime?', 'POST', '/api/resume');
  $('load-actions').replaceChildren(
    labelled('level', ...pins, release),
    labelled('low-tier throttle', perSecond, setThrottle, lift),
    labelled('pause', typeInput, pauseType, clientInput, pauseClient, pauseAll, resumeAll, el('span', { id: 'resume-types', class: 'actions-row' })),
    fairnessControl());
  $('limits-actions').replaceChildren(limitsControl());
  $('ledger-actions').replaceChildren(actionButton('Reschedule all', 'reschedule every ledger entry now, whatever the load?', 'POST', '/api/ledger/reschedule'));
  const select = el('select', { id: 'retry-type' });
  const retryAll = el('button', { class: 'btn primary', type: 'button', 'data-action': 'retry-all' }, 'Retry all');
  retryAll.onclick = () => {
    const type = select.value;
    confirmThen('run again every payload that failed for good' + (type ? ' of type ' + type : '') + '?', () => act('POST', '/api/payloads/retry', type ? { type } : undefined, 'Retry all'));
  };
  $('failed-actions').replaceChildren(select, retryAll);
}
`;
