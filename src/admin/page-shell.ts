/** What every admin page shares: the document around its body, the confirm and token dialogs, the toast. */
import { escapeHtml, h, raw } from './html.ts';
import { STYLE } from './page-style.ts';

/** The confirmation every action asks for, and the operator-token form (the token stays in the tab's session storage). */
export const dialogs = () => raw(`<dialog id="confirm"><h3 id="confirm-title">Confirm</h3><p id="confirm-text"></p><div class="actions-row"><button class="btn" type="button" id="confirm-no">Cancel</button><button class="btn primary" type="button" id="confirm-yes">Confirm</button></div></dialog>
<dialog id="token-dialog"><h3>Operator token</h3><p class="muted">Kept in this tab's session storage only; sent as a bearer header with each action, never in a URL.</p><form id="token-form" method="dialog"><input type="password" id="token-input" autocomplete="off" size="36" placeholder="token"><div class="actions-row"><button class="btn" type="button" id="token-cancel">Cancel</button><button class="btn primary" type="submit">Unlock</button></div></form></dialog>`);

/** Where an action's result is shown. */
export const toast = () => h('div', { id: 'toast', role: 'status', 'aria-live': 'polite', hidden: true });

/** A whole page: its title, the shared style under the request's CSP nonce, and its body. */
export function pageDocument(title: string, nonce: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
${bodyHtml}
</html>
`;
}
