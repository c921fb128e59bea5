/**
 * The admin page's Limits panel as the server draws it: every limited scope with its limit, what
 * runs in it and the queued payloads it holds back now, and the rules in force in words. The
 * page's script redraws the same markup from `GET /api/limits` (`page-script-limits.ts`).
 */
import { count, h, type Markup } from './html.ts';
import type { Limit, LimitsOptions } from '../limits/rules.ts';
import type { LimitsView } from '../runtime/limits-view.ts';

/** A limit in words: "≤ 3 running, 50/s (burst 5)". */
export function limitText(limit: Limit | undefined): string {
  if (limit === undefined) return 'no limit';
  const parts: string[] = [];
  if (limit.maxRunning !== undefined) parts.push(`≤ ${limit.maxRunning} running`);
  if (limit.perSecond !== undefined) parts.push(`${limit.perSecond}/s${limit.burst === undefined ? '' : ` (burst ${limit.burst})`}`);
  return parts.join(', ');
}

/** The rules in force, one [what, limit] pair per rule, in the order they are written. */
export function rulePairs(rules: LimitsOptions): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (rules.global) pairs.push(['everything', limitText(rules.global)]);
  for (const [type, limit] of Object.entries(rules.types ?? {})) pairs.push([`type ${type}`, limitText(limit)]);
  if (rules.clients?.default) pairs.push(['each client', limitText(rules.clients.default)]);
  for (const [clientId, limit] of Object.entries(rules.clients?.overrides ?? {})) pairs.push([`client ${clientId}`, limitText(limit)]);
  if (rules.keys?.default) pairs.push(['each concurrency key', limitText(rules.keys.default)]);
  for (const [key, limit] of Object.entries(rules.keys?.overrides ?? {})) pairs.push([`key ${key}`, limitText(limit)]);
  return pairs;
}

export function limitsSummary(view: LimitsView): string {
  const holding = view.scopes.filter((s) => s.held > 0).length;
  return `${view.scopes.length} limited scope${view.scopes.length === 1 ? '' : 's'} · ${holding} holding work back`;
}

export const limitRows = (view: LimitsView): Markup[] => view.scopes.length === 0
  ? [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'no limited scope yet: clients and keys appear once they have work'))]
  : view.scopes.map((s) => h('tr', { 'data-scope': s.scope }, h('td', { class: 'mono' }, s.scope), h('td', { 'data-col': 'limit' }, limitText(s.limit)),
    h('td', { class: 'num', 'data-col': 'running' }, s.running), h('td', { class: s.held > 0 ? 'num hot' : 'num', 'data-col': 'held' }, count(s.held)),
    h('td', { class: 'num' }, s.tokens === undefined ? '—' : Math.floor(s.tokens))));

export function ruleFacts(rules: LimitsOptions): Markup[] {
  const pairs = rulePairs(rules);
  if (pairs.length === 0) return [h('dt', {}, 'rules'), h('dd', {}, 'none: nothing is held back')];
  return pairs.flatMap(([what, limit]) => [h('dt', {}, what), h('dd', {}, limit)]);
}

/** The whole panel; its form (`#limits-actions`) is drawn by the script once actions are unlocked. */
export function limitsSection(view: LimitsView): Markup {
  const th = (label: string, num = false) => h('th', num ? { class: 'num' } : {}, label);
  return h('section', { class: 'wide', id: 'limits-section' },
    h('h2', {}, 'Limits', h('small', { class: 'muted', id: 'limits-total' }, limitsSummary(view))),
    h('div', { class: 'scroll' }, h('table', { id: 'limits' },
      h('thead', {}, h('tr', {}, th('scope'), th('limit'), th('running', true), th('held', true), th('starts allowed now', true))),
      h('tbody', {}, limitRows(view)))),
    h('h3', {}, 'Rules in force'),
    h('dl', { id: 'limits-rules', class: 'facts' }, ruleFacts(view.rules)),
    h('div', { id: 'limits-actions' }));
}
