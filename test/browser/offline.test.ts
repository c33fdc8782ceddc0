/**
 * The demo needs no network: the built page (served under a sub-path by a
 * plain static server) is opened once, its Workbox service worker precaches
 * the app shell, the engine worker with its kernels, the demo dataset and the
 * built-in stories260K; then offline, a reload opens the page and the quick
 * demo loads, trains and compares base and tuned without one request reaching
 * the server. Last, a new build: the page says an update is ready, and taking
 * it replaces the cache (the new page then opens offline).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { Plugin } from 'vite';
import { screenshot } from './harness';
import { buildSite, openHostedPage, type HostedPage, type StaticSite } from './static_site';

const PREFIX = '/course/lima/';

/** A second build that differs from the first: a marker in index.html. */
const stamp: Plugin = { name: 'test-build-stamp', transformIndexHtml: (html) => html.replace('</head>', '<meta name="lima-build" content="second" /></head>') };

describe('offline: the demo from the service worker cache', () => {
  let hosted: HostedPage;
  let dist: string;
  let site: StaticSite;
  let browser: BrowserContext;
  let page: Page;
  let errors: string[];
  beforeAll(async () => {
    hosted = await openHostedPage(PREFIX);
    ({ dist, site, browser, page, errors } = hosted);
  });
  afterAll(async () => {
    await hosted?.close();
  });

  const status = () => page.getByTestId('train-status').textContent().then((t) => t ?? '');
  const controlled = () => page.evaluate(() => navigator.serviceWorker.controller?.state ?? null);

  it('opened once, reopens offline and runs the quick demo to a trained comparison', async () => {
    await page.goto(site.url);
    await page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    // installed (everything precached) and controlling this page
    await page.getByTestId('offline-ready').waitFor({ timeout: 120_000 });
    await expect.poll(controlled, { timeout: 60_000 }).toBe('activated');

    // offline twice over: the browser's network emulation, and the server dropping every connection
    await browser.setOffline(true);
    site.down = true;
    const before = site.requests.length;
    await page.reload();
    await page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    expect(await page.evaluate(() => navigator.onLine)).toBe(false);

    await page.getByTestId('catalogue-stories260K').getByTestId('load-bundled').click();
    await page.getByTestId('model-status').getByText('parameters').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('model-status').textContent()).toMatch(/TinyStories 260K.*260\.0K parameters/);
    await page.getByRole('button', { name: 'Use the demo dataset' }).click();
    await page.getByTestId('dataset-report').getByText('400 usable rows').waitFor({ timeout: 120_000 });
    await page.getByText('Quick demo: stories260K, 60 steps').click();
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Max steps (0: epochs decide)').fill('3');
    await page.getByLabel('Validation loss every N steps').fill('0');
    await page.getByLabel('Sample the fixed prompts every N steps').fill('0');
    await page.getByTestId('train-start').click();
    await expect.poll(status, { timeout: 300_000 }).toMatch(/done · step 3 of 3/);
    console.log('train status:', (await status()).replace(/\s+/g, ' ').trim());

    // base vs the run, on the same weights
    expect(await page.getByTestId('compare-a').inputValue()).toBe('base');
    expect(await page.getByTestId('compare-b').locator('option:checked').textContent()).toBe('Run 1');
    await page.getByTestId('compare-prompt').fill('Write a story about a girl named Amy.');
    await page.getByLabel('Max new tokens').fill('16');
    await page.getByTestId('compare-run').click();
    await expect.poll(async () => ((await page.getByTestId('output-b').textContent()) ?? '').length, { timeout: 120_000 }).toBeGreaterThan(5);
    await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 60_000 }).toBe(true);
    console.log('base :', await page.getByTestId('output-a').textContent(), '\ntuned:', await page.getByTestId('output-b').textContent());
    expect(((await page.getByTestId('output-a').textContent()) ?? '').length).toBeGreaterThan(5);

    // nothing the page or its worker asked for went to the server. Only the browser's own update
    // check of the service worker script (which Chromium's offline emulation does not cover) knocked,
    // and was dropped.
    const knocked = site.requests.slice(before);
    console.log('requests while offline (all dropped):', knocked.join(' ') || 'none');
    expect(knocked.filter((p) => !/^\/course\/lima\/(sw|workbox-[\w-]+)\.js$/.test(p))).toEqual([]);
    expect(errors).toEqual([]);
    await screenshot(page, 'offline-demo-compared');
  });

  it('a new build: the page says an update is ready, and taking it replaces the cache', async () => {
    await browser.setOffline(false);
    site.down = false;
    await buildSite(dist, [stamp]);
    await page.reload(); // the browser checks sw.js on navigation and finds the new one
    const banner = page.getByTestId('update-ready');
    await banner.waitFor({ timeout: 120_000 });
    expect(await banner.textContent()).toContain('A new version of the playground is ready');
    await screenshot(page, 'offline-update-ready');
    expect(await page.locator('meta[name="lima-build"]').count()).toBe(0); // still the old page
    await banner.getByRole('button', { name: 'Reload to update' }).click();
    await expect.poll(() => page.locator('meta[name="lima-build"]').count().catch(() => 0), { timeout: 60_000 }).toBe(1);
    // the new build is what the cache now holds: offline, it opens
    await browser.setOffline(true);
    site.down = true;
    await page.reload();
    await page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    expect(await page.locator('meta[name="lima-build"]').count()).toBe(1);
    const caches = await page.evaluate(async () => {
      const names = await self.caches.keys();
      const all: string[] = [];
      for (const n of names) for (const r of await (await self.caches.open(n)).keys()) all.push(new URL(r.url).pathname + new URL(r.url).search);
      return { names, all };
    });
    console.log('caches:', caches.names, caches.all.length, 'entries');
    // the cache holds exactly the new build's precache manifest (read from its sw.js): the old entries were replaced
    const manifest = [...fs.readFileSync(`${dist}/sw.js`, 'utf8').matchAll(/url:"([^"]+)"/g)].map((m) => PREFIX + m[1]).sort();
    expect(manifest.length).toBeGreaterThan(10);
    expect(caches.names).toHaveLength(1);
    expect(caches.all.map((u) => u.replace(/\?__WB_REVISION__=\w+$/, '')).sort()).toEqual(manifest);
    expect(caches.all.some((u) => u.startsWith(`${PREFIX}models/stories260K/stories260K.bin`))).toBe(true);
    await screenshot(page, 'offline-after-update');
    await browser.setOffline(false);
    site.down = false;
  });
});
