/**
 * Host it anywhere: `vite build` served by a plain static server under a
 * sub-path (/course/lima/, as on a university page or a GitHub Pages project
 * site). The page, its engine worker, the kernels, the built-in stories260K
 * and the demo dataset must all resolve from there; nothing may be asked for
 * at the site's root. Then the quick demo trains two steps on the served page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshot } from './harness';
import { openHostedPage, type HostedPage, type StaticSite } from './static_site';

const PREFIX = '/course/lima/';

describe('the built page, hosted under a sub-path', () => {
  let hosted: HostedPage;
  let site: StaticSite;
  let page: Page;
  let errors: string[];
  beforeAll(async () => {
    hosted = await openHostedPage(PREFIX);
    ({ site, page, errors } = hosted);
  });
  afterAll(async () => {
    await hosted?.close();
  });

  const status = () => page.getByTestId('train-status').textContent().then((t) => t ?? '');

  it('loads from the sub-path and runs the quick demo there', async () => {
    await page.goto(site.url);
    // the engine worker started from the sub-path and found the GPU
    await page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    await page.getByTestId('catalogue-stories260K').getByTestId('load-bundled').click();
    await page.getByTestId('model-status').getByText('parameters').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('model-status').textContent()).toMatch(/TinyStories 260K.*260\.0K parameters/);
    await page.getByRole('button', { name: 'Use the demo dataset' }).click();
    await page.getByTestId('dataset-report').getByText('400 usable rows').waitFor({ timeout: 120_000 });
    await page.getByText('Quick demo: stories260K, 60 steps').click();
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Max steps (0: epochs decide)').fill('2');
    await page.getByLabel('Validation loss every N steps').fill('0');
    await page.getByLabel('Sample the fixed prompts every N steps').fill('0');
    await page.getByTestId('train-start').click();
    await expect.poll(status, { timeout: 240_000 }).toMatch(/done · step 2 of 2/);
    console.log('train status:', (await status()).replace(/\s+/g, ' ').trim());
    expect(await status()).toMatch(/loss \d+\.\d+/);

    // everything the page asked for came from under the sub-path
    console.log('requests:', [...new Set(site.requests)].join(' '));
    expect(site.requests.filter((p) => !p.startsWith(PREFIX))).toEqual([]);
    expect(site.requests).toContain(`${PREFIX}demo/tinystories-instruct-400.jsonl`);
    expect(site.requests).toContain(`${PREFIX}models/stories260K/stories260K.bin`);
    expect(site.requests).toContain(`${PREFIX}models/stories260K/tok512.bin`);
    expect(site.requests.some((p) => /^\/course\/lima\/assets\/engine\.worker-[\w-]+\.js$/.test(p))).toBe(true);
    expect(errors).toEqual([]);
    await screenshot(page, 'hosting-subpath-trained');
  });
});
