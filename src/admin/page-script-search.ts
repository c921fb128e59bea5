/**
 * The admin page's script, finding payloads: the search form posts nothing; it reads
 * `/api/payloads?…` and pages on with the answer's cursor.
 */
export const SEARCH_SCRIPT = String.raw`
function searchQuery(form, cursor) {
  const params = new URLSearchParams();
  for (const name of ['id', 'type', 'clientId', 'tag', 'status']) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  params.set('limit', '25');
  if (cursor) params.set('cursor', cursor);
  return '/api/payloads?' + params.toString();
}
function searchRows(items) {
  return items.map((r) => el('tr', { 'data-id': r.id }, el('td', {}, payloadLink(r.id)), el('td', {}, r.type), el('td', {}, r.clientId), el('td', {}, statusChip(r.status)),
    el('td', {}, tierChip(r.tier)), el('td', { class: 'num' }, r.attempts), el('td', { class: 'num' }, r.finishedAt ? clock(r.finishedAt) : '—'),
    el('td', { class: 'wrap error' }, r.error ? r.error.code + ': ' + r.error.message : '')));
}
function setupSearch() {
  const form = $('search-form');
  const body = $('search-results').tBodies[0];
  let next = null;
  let shown = 0;
  const run = async (cursor) => {
    try {
      const page = await getJson(searchQuery(form, cursor));
      const rows = searchRows(page.items);
      if (cursor) body.append(...rows); else { body.replaceChildren(...rows); shown = 0; }
      shown += page.items.length;
      next = page.next;
      $('search-more').hidden = !next;
      const from = page.source === 'dead-letters' ? 'dead letters' : page.source === 'id' ? 'by id' : 'retained records';
      $('search-info').textContent = shown + ' shown · ' + from + (page.total !== undefined ? ' · ' + num(page.total) + ' in all' : '') + (page.scanned !== undefined ? ' · ' + num(page.scanned) + ' looked at' : '');
      if (shown === 0) body.replaceChildren(emptyRow(8, 'nothing matches'));
    } catch (error) {
      $('search-info').textContent = 'search failed: ' + error.message;
    }
  };
  form.onsubmit = (event) => { event.preventDefault(); run(null); };
  $('search-more').onclick = () => { if (next) run(next); };
  $('failed-all').onclick = () => { form.reset(); form.elements.status.value = 'failed'; run(null); };
}
`;
