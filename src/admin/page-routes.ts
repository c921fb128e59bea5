/**
 * The two HTML pages of the admin endpoint: `/` (drawn with the current numbers, then live) and
 * `/payloads/:id`. Each response carries its own CSP nonce: only the page's inline script and style
 * run, nothing is loaded from elsewhere, and the page may talk only to this server.
 */
import { randomBytes } from 'node:crypto';
import { AdminError } from './errors.ts';
import { intParam } from './http.ts';
import { renderPage } from './page.ts';
import { LEDGER_PAGE, type PageSnapshot } from './page-rows.ts';
import { renderPayloadPage } from './payload-page.ts';
import type { AdminSources } from './sources.ts';

export interface PageContext {
  readonly sources: AdminSources;
  readonly query: URLSearchParams;
  /** The server has an operator token. */
  readonly actions: boolean;
}

type HtmlReply = { readonly status: number; readonly contentType: string; readonly text: string; readonly headers: Record<string, string> };

function html(text: string, nonce: string, status = 200): HtmlReply {
  return {
    status,
    contentType: 'text/html; charset=utf-8',
    text,
    headers: {
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      'referrer-policy': 'no-referrer',
    },
  };
}

/** What the page is first drawn with; a part that cannot be read (dead letters on a Redis that is away) is drawn empty. */
async function snapshot(sources: AdminSources): Promise<PageSnapshot> {
  const failed = await sources.search({ status: 'failed', limit: 10 }).catch(() => ({ source: 'dead-letters' as const, items: [], next: null, total: 0 }));
  const load = sources.load();
  return {
    at: Date.now(),
    partitions: sources.partitions(),
    running: sources.running(50),
    load,
    decisions: sources.decisions(10),
    ledger: sources.ledger(LEDGER_PAGE, 0),
    failed,
    workflows: sources.workflows(20),
    schedules: sources.schedules(100),
    series: sources.series(undefined),
    pauses: sources.pauses(),
    fairness: sources.fairness(),
    limits: sources.limits(),
    tree: sources.tree(),
  };
}

export async function mainPage(ctx: PageContext): Promise<HtmlReply> {
  const refreshMs = intParam(ctx.query, 'refresh', 1_000, 100, 60_000);
  const nonce = randomBytes(16).toString('base64');
  return html(renderPage({ name: ctx.sources.name, nonce, refreshMs, actions: ctx.actions, snapshot: await snapshot(ctx.sources) }), nonce);
}

export async function payloadPage(ctx: PageContext, id: string): Promise<HtmlReply> {
  const detail = await ctx.sources.payloadDetail(id);
  if (!detail) throw new AdminError('UNKNOWN_PAYLOAD', `no payload with id ${JSON.stringify(id)}`, 'id');
  const nonce = randomBytes(16).toString('base64');
  return html(renderPayloadPage({ name: ctx.sources.name, nonce, actions: ctx.actions, detail }), nonce);
}
