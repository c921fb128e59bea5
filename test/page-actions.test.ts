import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { systemClock } from '../src/clock.ts';
import { serve, TOKEN, type Served } from './admin-support.ts';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  assert.ok(statSync(path).size > 10_000, `the screenshot ${name} has content`);
}

/** Errors the page raised or logged; a test ends asserting there were none. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => void (message.type() === 'error' && problems.push(`console: ${message.text()}`)));
  return problems;
}

describe('the admin page: charts, failures and actions in a browser', () => {
  let browser: Browser;
  let served: Served | undefined;
  let page: Page | undefined;

  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await page?.close();
    page = undefined;
    await served?.close();
    served = undefined;
  });

  test('the charts draw the series after 5 s of traffic, each with the load level strip on its time axis', async (t) => {
    served = await serve({ partitions: 4, concurrency: 4, clock: systemClock, random: Math.random });
    const s = served;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    s.rt.handle('work', async () => sleep(2), { retries: 0 });
    s.rt.handle('flaky', async () => { throw new Error('upstream said no'); }, { retries: 0 });
    const until = Date.now() + 5_500;
    // Halfway, an operator pins the level: a decision the charts mark, and an elevated stretch of the strip.
    const pin = setTimeout(() => void s.rt.coordinator?.pin('elevated'), 2_500);
    while (Date.now() < until) {
      await s.rt.submitMany([
        ...Array.from({ length: 20 }, (_, i) => ({ type: 'work', priority: (['critical', 'high', 'medium', 'low'] as const)[i % 4] })),
        { type: 'flaky', priority: 'low' },
      ]);
      await sleep(50);
    }
    clearTimeout(pin);
    // Traffic goes on while the page is read: its tiles show the last second's figures, which would be 0 once it stopped.
    // A submit still under way when the runtime stops is refused: that refusal is expected, no other.
    const steady = setInterval(() => {
      s.rt.submitMany(Array.from({ length: 20 }, () => ({ type: 'work' }))).catch((error: { code?: string }) => {
        if (error.code !== 'RUNTIME_STOPPED') throw error;
      });
    }, 50);
    t.after(() => clearInterval(steady));
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const problems = watch(page);
    await page.goto(`${s.admin.url}?refresh=500`);
    await page.locator('body[data-state="live"]').waitFor({ timeout: 10_000 });
    for (const id of ['chart-wait', 'chart-rate', 'chart-depth', 'chart-pool']) {
      const points = Number(await page.locator(`#${id} svg`).getAttribute('data-points'));
      assert.ok(points >= 5, `${id} draws ${points} points, one a second`);
    }
    const completed = (await page.locator('#chart-rate path[data-series="completed/s"]').getAttribute('d')) ?? '';
    assert.ok((completed.match(/L/g) ?? []).length >= 4, `the completed line has its points: ${completed.slice(0, 80)}`);
    const heights = await page.locator('#chart-rate path[data-series="completed/s"]').evaluate((path) => (path as unknown as { getBBox(): { height: number } }).getBBox().height);
    assert.ok(heights > 5, 'the completed line rises off the axis');
    const failedLine = (await page.locator('#chart-rate path[data-series="failed/s"]').getAttribute('d')) ?? '';
    assert.match(failedLine, /^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){3,}/);
    for (const tier of ['critical', 'high', 'medium', 'low']) {
      const wait = (await page.locator(`#chart-wait path[data-series="${tier} p99"]`).getAttribute('d')) ?? '';
      assert.match(wait, /^M/, `the ${tier} wait line is drawn`);
    }
    for (const id of ['chart-wait', 'chart-rate', 'chart-depth', 'chart-pool']) {
      assert.ok(await page.locator(`#${id} .level-band rect[data-level="elevated"]`).count() >= 1, `${id} has the load level strip on its time axis`);
      assert.ok(await page.locator(`#${id} .level-band .decision[data-action="pin"]`).count() >= 1, `${id} marks the operator's pin`);
    }
    assert.match((await page.locator('#kpi-completed b').textContent()) ?? '', /^[1-9][\d,]*$/);
    assert.match((await page.locator('#kpi-completed svg.spark path[fill="none"]').getAttribute('d')) ?? '', /^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){3,}/, 'the tile has its sparkline');
    clearInterval(steady);
    await shoot(page, 'admin-charts');
    assert.deepEqual(problems, []);
  });

  test('a failed payload is in the Failed panel and its payload page; with the token, its Retry button runs it again', async () => {
    served = await serve({ partitions: 2, handlerDefaults: { retries: 0 } }, { token: TOKEN });
    const s = served;
    let healed = false;
    s.rt.handle('invoice', async () => {
      if (!healed) throw new Error('printer on fire');
      return 'printed';
    });
    const id = await s.rt.submit({ type: 'invoice', clientId: 'accounts', priority: 'high' });
    await s.rt.idle();
    assert.equal((await s.rt.get(id))?.status, 'failed');

    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const problems = watch(page);
    await page.goto(`${s.admin.url}?refresh=300`);
    const row = page.locator(`#failed tr[data-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.match((await row.textContent()) ?? '', /invoice.*accounts.*HANDLER_FAILED.*printer on fire/);
    assert.equal(await page.locator('button[data-action]').count(), 0, 'no buttons before the token is entered');
    assert.equal(await page.locator('body').getAttribute('data-actions'), 'locked');

    await page.locator('#unlock').click();
    await page.locator('#token-input').fill(TOKEN);
    await page.locator('#token-form button[type="submit"]').click();
    const retry = row.locator('button[data-action="retry"]');
    await retry.waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate("sessionStorage.getItem('triage.admin.token')"), TOKEN);
    assert.ok(!page.url().includes(TOKEN), 'the token is never in the URL');
    await shoot(page, 'admin-failed-unlocked');

    healed = true;
    await retry.click();
    assert.match((await page.locator('#confirm-text').textContent()) ?? '', new RegExp(`Run ${id.replace('.', '\\.')} \\(invoice\\) again`));
    await page.locator('#confirm-yes').click();
    await page.locator('#toast[data-ok="true"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#toast').textContent(), `retried ${id}: it runs again`);
    assert.equal(await s.rt.waitFor(id), 'printed');
    await row.waitFor({ state: 'detached', timeout: 10_000 });

    // Another action, the same way: asked, done, its result shown.
    await page.locator('#load-actions button[data-action="pin elevated"]').click();
    assert.match((await page.locator('#confirm-text').textContent()) ?? '', /^Pin the load level at elevated\?/);
    await page.locator('#confirm-yes').click();
    await page.locator('#toast:text("load elevated (pinned)")').waitFor({ timeout: 10_000 });
    assert.equal(s.rt.admin.sources.load().pinned, true);

    await page.goto(`${s.admin.url}payloads/${id}`);
    assert.equal(await page.locator('#payload-status').textContent(), 'completed');
    const timeline = (await page.locator('#timeline').textContent()) ?? '';
    assert.match(timeline, /accepted.*attempt 1 failed.*printer on fire.*retried by an operator.*attempt 2 completed.*completed/s);
    await shoot(page, 'admin-payload-timeline');
    assert.deepEqual(problems, []);
  });

  test('with the token, a client is paused from the page (its work stays queued) and resumed from its own button', async () => {
    served = await serve({ partitions: 2 }, { token: TOKEN });
    const s = served;
    s.rt.handle('render', async (n: number) => n * 2);
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const problems = watch(page);
    await page.goto(`${s.admin.url}?refresh=300`);
    await page.locator('#unlock').click();
    await page.locator('#token-input').fill(TOKEN);
    await page.locator('#token-form button[type="submit"]').click();

    await page.locator('#pause-client').fill('studio');
    await page.locator('#load-actions button[data-action="pause client"]').click();
    assert.match((await page.locator('#confirm-text').textContent()) ?? '', /payloads of client studio\?/);
    await page.locator('#confirm-yes').click();
    await page.locator('#toast:text("paused: client studio")').waitFor({ timeout: 10_000 });
    assert.deepEqual(s.rt.paused().clients.map((c) => c.clientId), ['studio']);

    const held = await s.rt.submit({ type: 'render', data: 21, clientId: 'studio' });
    const other = await s.rt.submit({ type: 'render', data: 1, clientId: 'shop' });
    assert.equal(await s.rt.waitFor(other), 2, 'another client runs');
    await s.rt.idle();
    assert.equal((await s.rt.get(held))?.status, 'queued', 'the paused client\'s payload waits, queued');
    await page.locator('#load-detail dd:text("client studio")').waitFor({ timeout: 10_000 });

    const resume = page.locator('#resume-types button', { hasText: 'Resume client studio' });
    await resume.click();
    await page.locator('#confirm-yes').click();
    assert.equal(await s.rt.waitFor(held), 42, 'resumed, it runs');
    assert.deepEqual(s.rt.paused().clients, []);
    assert.deepEqual(problems, []);
  });

  test('the client weights are in the first paint; with the token the operator sets them from the page, and a bad one is refused and changes nothing', async () => {
    served = await serve({ partitions: 2, fairness: { weights: { studio: 3, 'shop <eu>': 2 } } }, { token: TOKEN });
    const s = served;
    const first = await s.call('/');
    assert.match(first.text, /<dt>client weights<\/dt><dd data-fact="weights">studio 3, shop &#60;eu&#62; 2, every other client 1<\/dd>/);

    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const problems = watch(page);
    await page.goto(`${s.admin.url}?refresh=300`);
    await page.locator('body[data-state="live"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#load-detail [data-fact="weights"]').textContent(), 'studio 3, shop <eu> 2, every other client 1');
    assert.equal(await page.locator('#fairness-form').count(), 0, 'no weights form while actions are locked');

    await page.locator('#unlock').click();
    await page.locator('#token-input').fill(TOKEN);
    await page.locator('#token-form button[type="submit"]').click();
    const rows = page.locator('#fairness-rows .actions-row');
    await rows.first().waitFor({ timeout: 10_000 });
    assert.deepEqual(await rows.locator('.fair-client').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value)), ['studio', 'shop <eu>']);
    assert.equal(await page.locator('#fairness-default').inputValue(), '1');

    // studio 3 → 5, shop <eu> dropped, batch added at 0.5, everyone else 2.
    await rows.nth(0).locator('.fair-weight').fill('5');
    await rows.nth(1).locator('button').click();
    await page.locator('#fairness-add').click();
    await rows.nth(1).locator('.fair-client').fill('batch');
    await rows.nth(1).locator('.fair-weight').fill('0.5');
    await page.locator('#fairness-default').fill('2');
    await page.locator('#load-actions button[data-action="set weights"]').click();
    assert.match((await page.locator('#confirm-text').textContent()) ?? '', /^Serve clients by the weights studio 5, batch 0\.5, every other client 2\?/);
    await page.locator('#confirm-yes').click();
    await page.locator('#toast[data-ok="true"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#toast').textContent(), 'client weights: studio 5, batch 0.5, every other client 2');
    assert.deepEqual(s.rt.fairness(), { weights: { studio: 5, batch: 0.5 }, defaultWeight: 2 });
    await page.locator('#load-detail [data-fact="weights"]:text-is("studio 5, batch 0.5, every other client 2")').waitFor({ timeout: 10_000 });
    await shoot(page, 'admin-fairness');

    await rows.nth(0).locator('.fair-weight').fill('0');
    await page.locator('#load-actions button[data-action="set weights"]').click();
    await page.locator('#confirm-yes').click();
    await page.locator('#toast[data-ok="false"]').waitFor({ timeout: 10_000 });
    assert.match((await page.locator('#toast').textContent()) ?? '', /^Set weights failed: BAD_REQUEST — invalid options: fairness\.weights\.studio must be a number above 0/);
    assert.deepEqual(s.rt.fairness(), { weights: { studio: 5, batch: 0.5 }, defaultWeight: 2 }, 'the refused weights changed nothing');
    // The browser logs the refused request itself; the page raised nothing.
    assert.deepEqual(problems, ['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
  });

  test('the limits panel shows each limited scope with what runs and what it holds, first paint and live; with the token the operator replaces the limits, and a bad one is refused and changes nothing', async () => {
    const rules = { types: { email: { perSecond: 50, burst: 5 } }, clients: { overrides: { 'shop <eu>': { maxRunning: 0 } } } };
    served = await serve({ partitions: 2, limits: rules }, { token: TOKEN });
    const s = served;
    const ran: string[] = [];
    s.rt.handle('work', (_data, ctx) => void ran.push(ctx.clientId));
    await s.rt.submitMany(Array.from({ length: 3 }, () => ({ type: 'work', clientId: 'shop <eu>' })));
    await s.rt.idle();
    const first = await s.call('/');
    assert.match(first.text, /<tr data-scope="client:shop &#60;eu&#62;"><td class="mono">client:shop &#60;eu&#62;<\/td><td data-col="limit">≤ 0 running<\/td><td class="num" data-col="running">0<\/td><td class="num hot" data-col="held">3<\/td>/);
    assert.match(first.text, /<dl id="limits-rules" class="facts"><dt>type email<\/dt><dd>50\/s \(burst 5\)<\/dd><dt>client shop &#60;eu&#62;<\/dt><dd>≤ 0 running<\/dd><\/dl>/);

    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const problems = watch(page);
    await page.goto(`${s.admin.url}?refresh=300`);
    await page.locator('body[data-state="live"]').waitFor({ timeout: 10_000 });
    const held = page.locator('#limits tr[data-scope="client:shop <eu>"]');
    assert.deepEqual(await held.locator('td').allTextContents(), ['client:shop <eu>', '≤ 0 running', '0', '3', '—']);
    assert.deepEqual(await page.locator('#limits tr[data-scope="type:email"] td').allTextContents().then((cells) => cells.slice(0, 4)), ['type:email', '50/s (burst 5)', '0', '0']);
    assert.equal(await page.locator('#limits-total').textContent(), '2 limited scopes · 1 holding work back');
    assert.equal(await page.locator('#limits-form').count(), 0, 'no limits form while actions are locked');

    await page.locator('#unlock').click();
    await page.locator('#token-input').fill(TOKEN);
    await page.locator('#token-form button[type="submit"]').click();
    const input = page.locator('#limits-input');
    await input.waitFor({ timeout: 10_000 });
    assert.deepEqual(JSON.parse(await input.inputValue()), rules, 'the form starts from the rules in force');

    const next = { global: { maxRunning: 4, perSecond: 100 }, clients: { default: { maxRunning: 2 } } };
    await input.fill(JSON.stringify(next));
    await page.locator('#limits-actions button[data-action="set limits"]').click();
    assert.match((await page.locator('#confirm-text').textContent()) ?? '', /^Replace every limit with these: everything ≤ 4 running, 100\/s; each client ≤ 2 running\?/);
    await page.locator('#confirm-yes').click();
    await page.locator('#toast[data-ok="true"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#toast').textContent(), 'limits: everything ≤ 4 running, 100/s; each client ≤ 2 running');
    assert.deepEqual(s.rt.limits().rules, next);
    await s.rt.idle();
    assert.deepEqual(ran, ['shop <eu>', 'shop <eu>', 'shop <eu>'], 'what the old limit held ran');
    await page.locator('#limits tr[data-scope="global"] td[data-col="limit"]:text-is("≤ 4 running, 100/s")').waitFor({ timeout: 10_000 });
    await page.locator('#limits-total:has-text("0 holding work back")').waitFor({ timeout: 10_000 });
    assert.deepEqual(await page.locator('#limits-rules dt').allTextContents(), ['everything', 'each client']);
    await shoot(page, 'admin-limits');

    await input.fill('{ "global": { "maxRuning": 1 } }');
    await page.locator('#limits-actions button[data-action="set limits"]').click();
    await page.locator('#confirm-yes').click();
    await page.locator('#toast[data-ok="false"]').waitFor({ timeout: 10_000 });
    assert.match((await page.locator('#toast').textContent()) ?? '', /^Set limits failed: BAD_REQUEST — invalid options: limits\.global\.maxRuning is not a limit field/);
    assert.deepEqual(s.rt.limits().rules, next, 'the refused limits changed nothing');

    // Not JSON: said in the page, nothing asked, nothing sent.
    await input.fill('{ "global": ');
    await page.locator('#limits-actions button[data-action="set limits"]').click();
    await page.locator('#toast', { hasText: /^the limits are not JSON/ }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#confirm').isVisible(), false);
    await page.locator('#limits-reload').click();
    assert.deepEqual(JSON.parse(await input.inputValue()), next, '"Rules in force" puts them back in the box');
    // The browser logs the refused request itself; the page raised nothing.
    assert.deepEqual(problems, ['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
  });

  test('without a token on the server there are no buttons, and the page says why', async () => {
    served = await serve({ partitions: 2, handlerDefaults: { retries: 0 } });
    const s = served;
    s.rt.handle('job', async () => { throw new Error('nope'); });
    const id = await s.rt.submit({ type: 'job' });
    await s.rt.idle();
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const problems = watch(page);
    // A token left in the tab from elsewhere changes nothing: the server has none to match.
    await page.goto(s.admin.url);
    await page.evaluate(`sessionStorage.setItem('triage.admin.token', ${JSON.stringify(TOKEN)})`);
    await page.reload();
    await page.locator('body[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.locator(`#failed tr[data-id="${id}"]`).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('body').getAttribute('data-actions'), 'off');
    assert.equal(await page.locator('button[data-action]').count(), 0);
    assert.equal(await page.locator('#unlock').count(), 0);
    assert.match((await page.locator('#actions-note').textContent()) ?? '', /Operator actions are off: this admin endpoint was started without a token/);
    assert.equal(await page.locator('#load-detail [data-fact="weights"]').textContent(), 'every client 1', 'the weights are shown');
    assert.equal(await page.locator('#fairness-form').count(), 0, 'but cannot be edited');
    assert.equal(await page.locator('#limits-rules dd').textContent(), 'none: nothing is held back', 'the limits are shown');
    assert.equal(await page.locator('#limits-form').count(), 0, 'but cannot be edited either');
    // Reading stays: the search finds it by type and status, with a link to its page.
    await page.locator('#search-form input[name="type"]').fill('job');
    await page.locator('#search-form select[name="status"]').selectOption('failed');
    await page.locator('#search-form button[type="submit"]').click();
    await page.locator(`#search-results tr[data-id="${id}"] a[href="/payloads/${encodeURIComponent(id)}"]`).waitFor({ timeout: 10_000 });
    assert.match((await page.locator('#search-info').textContent()) ?? '', /^1 shown · dead letters · 1 in all/);
    await shoot(page, 'admin-read-only');
    await page.goto(`${s.admin.url}payloads/${id}`);
    assert.equal(await page.locator('#payload-actions button').count(), 0);
    assert.match((await page.locator('main').textContent()) ?? '', /Operator actions are off/);
    assert.deepEqual(problems, []);
  });

  test('the first paint carries the numbers: the page without JavaScript shows the running payload, the pool, the failures and the ledger, aligned and paged', async () => {
    served = await serve({ partitions: 2, concurrency: 2, handlerDefaults: { retries: 0 } });
    const s = served;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    s.rt.handle('slow', async () => gate);
    s.rt.handle('broken', async () => { throw new Error('it broke'); });
    const running = await s.rt.submit({ type: 'slow', priority: 'high', clientId: 'studio' });
    const failed = await s.rt.submit({ type: 'broken' });
    await s.rt.idle();
    s.rt.coordinator?.pin('critical'); // low work goes to the ledger
    await s.rt.idle();
    await s.rt.submitMany(Array.from({ length: 12 }, () => ({ type: 'broken', priority: 'low' as const })));
    await s.rt.idle();
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1440, height: 1000 } });
    page = await context.newPage();
    try {
      await page.goto(s.admin.url);
      assert.match((await page.locator('#pool').textContent()) ?? '', /^pool 1\/2 busy/);
      assert.equal(await page.locator(`#running tr[data-id="${running}"] [data-col="tier"]`).textContent(), 'high');
      assert.equal(await page.locator(`#failed tr[data-id="${failed}"]`).count(), 1);
      assert.equal(await page.locator('#failed-badge').textContent(), '1 failed');
      assert.equal(await page.locator('#kpi-running b').textContent(), '1 / 2');
      assert.doesNotMatch((await page.locator('#updated').textContent()) ?? '', /connecting/);
      // Numbers sit under headings aligned as they are; a long ledger reason wraps instead of being cut.
      const align = (selector: string) => page!.locator(selector).first().evaluate((node) => (globalThis as unknown as { getComputedStyle(n: unknown): { textAlign: string } }).getComputedStyle(node).textAlign);
      for (const column of [2, 6, 8]) {
        assert.deepEqual([await align(`#queues thead th:nth-child(${column})`), await align(`#queues tbody td:nth-child(${column})`)], ['right', 'right']);
      }
      assert.deepEqual([await align('#running thead th:nth-child(6)'), await align(`#running tbody td:nth-child(6)`)], ['right', 'right']);
      const reason = page.locator('#ledger tbody td:last-child').first();
      assert.match((await reason.textContent()) ?? '', /skipped under critical load/);
      assert.equal(await reason.evaluate((node) => (globalThis as unknown as { getComputedStyle(n: unknown): { whiteSpace: string } }).getComputedStyle(node).whiteSpace), 'normal');
      assert.equal(await page.locator('#ledger-page').textContent(), '1–10 of 12', 'the ledger is paged, ten a page');
      await shoot(page, 'admin-first-paint-no-js');
    } finally {
      release();
      await context.close();
      page = undefined;
    }
  });
});
