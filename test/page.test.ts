import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { deferred, type Deferred } from './helpers.ts';
import { serve } from './admin-support.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

describe('the admin page in a browser', () => {
  let browser: Browser;

  before(async () => {
    if (!existsSync(CHROMIUM)) assert.fail(`${CHROMIUM} is missing: install Debian's "chromium" package (apt-get install chromium); .ci/run does this`);
    // playwright-core gives each launch a fresh temporary profile; no browser is downloaded.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
  });

  test('shows a running payload with its partition and tier, the queues, the tree and the load, and refreshes live', async () => {
    const s = await serve({ partitions: 4, concurrency: 1 });
    const gates = new Map<string, Deferred<void>>();
    const gateOf = (key: string) => gates.get(key) ?? (gates.set(key, deferred<void>()), gates.get(key) as Deferred<void>);
    s.rt.handle('render', async (data: { key: string }) => gateOf(data.key).promise);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => void (message.type() === 'error' && problems.push(`console: ${message.text()}`)));
    try {
      const running = await s.rt.submit({ type: 'render', priority: 'high', clientId: 'studio', data: { key: 'first' } });
      await s.rt.idle();
      const queued = await s.rt.submitMany([
        { type: 'render', priority: 'medium', data: { key: 'second' } },
        { type: 'render', priority: 'medium', data: { key: 'third' } },
      ]);
      await s.rt.idle();
      s.clock.advance(1_200);
      const view = await s.rt.get(running);

      const response = await page.goto(`${s.admin.url}?refresh=200`);
      assert.equal(response?.status(), 200);
      assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'nonce-[^']+'/);

      const row = page.locator(`#running tr[data-id="${running}"]`);
      await row.waitFor({ timeout: 10_000 });
      assert.equal(await row.locator('[data-col="partition"]').textContent(), `p${view!.partition}`);
      assert.equal(await row.locator('[data-col="tier"]').textContent(), 'high');
      assert.match((await row.textContent()) ?? '', /studio/);

      for (const id of queued) {
        const { partition } = (await s.rt.get(id))!;
        const cell = page.locator(`#queues tr[data-partition="${partition}"] td[data-tier="medium"]`);
        assert.match((await cell.textContent()) ?? '', /^[12] \(1\.2 s\)$/);
      }
      const name = s.rt.options.name;
      assert.equal(await page.locator(`#tree li[data-path="/${name}"]`).count(), 1);
      for (let p = 0; p < 4; p++) assert.equal(await page.locator(`#tree li[data-path="/${name}/partition-${p}"]`).count(), 1);
      assert.equal(await page.locator('#load').textContent(), 'load normal');
      assert.equal(await page.locator('#ledger tbody').textContent(), 'empty');
      assert.match((await page.locator('#pool').textContent()) ?? '', /^pool 1\/1 busy/);

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = `${ARTIFACTS}admin-page.png`;
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000, 'the screenshot has content');

      // Live: the first payload finishes, the next medium one starts; the page follows without a reload.
      gateOf('first').resolve();
      await row.waitFor({ state: 'detached', timeout: 10_000 });
      const nextStarted = await Promise.any(queued.map((id) => page.locator(`#running tr[data-id="${id}"]`).waitFor({ timeout: 10_000 }).then(() => id)));
      assert.equal(await page.locator(`#running tr[data-id="${nextStarted}"] [data-col="tier"]`).textContent(), 'medium');
      assert.deepEqual(problems, []);
    } finally {
      for (const key of ['first', 'second', 'third']) gateOf(key).resolve();
      await page.close();
      await s.close();
    }
  });

  test('says so when the runtime goes away', async () => {
    const s = await serve();
    const page = await browser.newPage();
    try {
      await page.goto(`${s.admin.url}?refresh=100`);
      await page.locator('body[data-state="live"]').waitFor({ timeout: 10_000 });
      await s.close(); // stops the runtime and closes the admin server
      await page.locator('body[data-state="error"]').waitFor({ timeout: 10_000 });
      assert.match((await page.locator('#updated').textContent()) ?? '', /^disconnected: /);
    } finally {
      await page.close();
      await s.close();
    }
  });
});
