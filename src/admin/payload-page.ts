/**
 * `/payloads/:id`: one payload's page, drawn on the server — its facts, its timeline (accepted, each
 * attempt with its duration and error, progress, checkpoint, the end), its dependencies and its
 * workflow — with cancel or retry for an operator who unlocked actions. While it is not finished the
 * page reloads itself every two seconds.
 */
import { TERMINAL_STATUSES } from '../payload.ts';
import { duration, escapeHtml, h, raw } from './html.ts';
import { ACTIONS_OFF_REASON } from './page.ts';
import { ACTIONS_SCRIPT } from './page-script-actions.ts';
import { dialogs, pageDocument, toast } from './page-shell.ts';
import type { PayloadDetail, TimelineEntry } from './payload-views.ts';

export interface PayloadPageOptions {
  readonly name: string;
  readonly nonce: string;
  readonly actions: boolean;
  readonly detail: PayloadDetail;
}

const isoTime = (at: number) => new Date(at).toISOString().replace('T', ' ').slice(0, 23);

function entry(e: TimelineEntry, start: number) {
  const bad = e.error !== undefined || /failed|cancelled|expired|skipped/.test(e.label);
  return h('li', { 'data-kind': e.kind, 'data-ok': e.kind === 'ended' || e.kind === 'attempt' ? String(!bad) : undefined },
    h('time', { datetime: new Date(e.at).toISOString(), title: isoTime(e.at) }, `+${duration(Math.max(0, e.at - start))}`),
    h('b', {}, e.label), e.durationMs === undefined ? '' : h('span', { class: 'muted' }, ` · took ${duration(e.durationMs)}`),
    e.detail === undefined ? '' : h('pre', { class: 'value' }, e.detail),
    e.error ? h('div', { class: 'errbox' }, h('code', {}, e.error.code), ` ${e.error.message}`) : '');
}

export function renderPayloadPage({ name, nonce, actions, detail }: PayloadPageOptions): string {
  const p = detail.payload;
  const finished = TERMINAL_STATUSES.has(p.status);
  const facts: Array<[string, unknown]> = [
    ['status', h('span', { class: `status status-${p.status}`, id: 'payload-status' }, p.status)], ['type', p.type], ['client', p.clientId],
    ['tier', h('span', { class: `tier tier-${p.tier}` }, p.tier)], ['priority', p.priority], ['complexity', p.complexity], ['partition', `p${p.partition}`],
    ['attempts', p.attempts], ['accepted', `${isoTime(p.submittedAt)} UTC`],
  ];
  if (p.finishedAt !== undefined) facts.push(['ended', `${isoTime(p.finishedAt)} UTC (${duration(p.finishedAt - p.submittedAt)} after it was accepted)`]);
  if (detail.deadline !== undefined) facts.push(['deadline', `${isoTime(detail.deadline)} UTC`]);
  if (detail.tags.length > 0) facts.push(['tags', detail.tags.join(', ')]);
  if (detail.idempotencyKey !== undefined) facts.push(['idempotency key', h('code', {}, detail.idempotencyKey)]);
  if (detail.concurrencyKey !== undefined) facts.push(['concurrency key', h('code', {}, detail.concurrencyKey)]);
  if (p.heldBy !== undefined) facts.push(['held by limit', h('code', {}, p.heldBy)]);
  if (p.degraded) facts.push(['degraded', 'ran with reduced resources under load']);
  const start = p.submittedAt;
  const body = h('body', { 'data-actions': actions ? 'locked' : 'off', 'data-status': p.status },
    h('header', { class: 'top' }, h('h1', {}, h('a', { href: '/' }, 'Triage'), ' ', h('span', {}, name)), h('span', { class: 'pill mono' }, p.id),
      h('span', { class: 'spacer' }), h('a', { class: 'pill', href: '/' }, '← all payloads'),
      h('span', { id: 'token-box' }, actions ? '' : h('span', { class: 'pill', title: ACTIONS_OFF_REASON }, 'read-only'))),
    h('main', {},
      h('section', {}, h('h2', {}, 'Payload', h('span', { id: 'payload-actions', class: 'actions-row' })),
        h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v as never)])),
        actions ? '' : h('p', { class: 'note off' }, ACTIONS_OFF_REASON),
        detail.notes.map((n) => h('p', { class: 'note' }, n))),
      h('section', {}, h('h2', {}, 'Timeline', h('small', { class: 'muted' }, 'times after acceptance; hover for the clock')),
        h('ol', { class: 'timeline', id: 'timeline' }, detail.timeline.map((e) => entry(e, start)))),
      h('section', {}, h('h2', {}, 'Dependencies'), detail.dependencies.length === 0 ? h('p', { class: 'muted' }, p.status === 'waiting' ? 'waiting for its dependencies to end' : 'none')
        : h('table', { id: 'dependencies' }, h('tbody', {}, detail.dependencies.map((d) => h('tr', {}, h('td', {}, h('a', { href: `/payloads/${encodeURIComponent(d.id)}`, class: 'mono' }, d.id)), h('td', {}, h('span', { class: `status status-${d.status}` }, d.status))))))),
      h('section', {}, h('h2', {}, 'Workflow'), detail.workflow === null ? h('p', { class: 'muted' }, 'not a workflow step') : h('dl', { class: 'facts', id: 'workflow' },
        h('dt', {}, 'instance'), h('dd', {}, h('a', { href: `/api/workflows/${encodeURIComponent(detail.workflow.id)}`, class: 'mono' }, detail.workflow.id)),
        h('dt', {}, 'workflow'), h('dd', {}, detail.workflow.workflow), h('dt', {}, 'step'), h('dd', {}, detail.workflow.step ?? '—'),
        h('dt', {}, 'status'), h('dd', {}, detail.workflow.status))),
      h('section', { class: 'wide' }, h('h2', {}, 'Data'), detail.data === undefined ? h('p', { class: 'muted' }, 'held by another node') : detail.data === null ? h('p', { class: 'muted' }, 'none') : h('pre', { class: 'value' }, detail.data),
        detail.checkpoint === undefined ? '' : [h('h3', {}, 'Last checkpoint'), h('pre', { class: 'value' }, detail.checkpoint)])),
    dialogs(),
    toast(),
    h('script', { nonce }, raw(`const ACTIONS = ${actions};\nconst PAYLOAD = ${JSON.stringify({ id: p.id, type: p.type, status: p.status, finished }).replace(/</g, '\\u003c')};\n${PAGE_SCRIPT}${ACTIONS_SCRIPT}\nsetupActions();\ndrawPayloadActions();\nscheduleReload();\n`)));
  return pageDocument(`${p.id} · Triage · ${name}`, nonce, body.html);
}

/** The payload page's own script: its two buttons and the reload while it is unfinished. */
const PAGE_SCRIPT = String.raw`
const TOKEN_KEY = 'triage.admin.token';
const state = {};
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) { if (k === 'class') node.className = v; else node.setAttribute(k, String(v)); }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
function drawPayloadActions() {
  const buttons = [];
  if (!PAYLOAD.finished) buttons.push(actionButton('Cancel', 'cancel payload ' + PAYLOAD.id + ' (' + PAYLOAD.type + ')?', 'POST', '/api/payloads/' + encodeURIComponent(PAYLOAD.id) + '/cancel', undefined, 'danger'));
  if (PAYLOAD.status === 'failed') buttons.push(actionButton('Retry', 'run ' + PAYLOAD.id + ' (' + PAYLOAD.type + ') again, as a new attempt of the same id?', 'POST', '/api/payloads/' + encodeURIComponent(PAYLOAD.id) + '/retry', undefined, 'primary'));
  $('payload-actions').replaceChildren(...buttons.filter(Boolean));
}
let reloadTimer = null;
function reloadSoon() { clearTimeout(reloadTimer); reloadTimer = setTimeout(() => location.reload(), 1200); }
function scheduleReload() {
  if (PAYLOAD.finished) return;
  reloadTimer = setTimeout(function again() {
    if (document.querySelector('dialog[open]')) { reloadTimer = setTimeout(again, 2000); return; }
    location.reload();
  }, 2000);
}
`;
