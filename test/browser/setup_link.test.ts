/**
 * A link that sets the stage: the page opened with ?model=…&data=…&preset=…
 * and two settings lists what the link chose, names the bad parameter, loads
 * the built-in stories260K (no download) and the demo dataset, and takes the
 * settings; "Copy link to this setup" gives the same link back. A link to a
 * Hub model asks before downloading it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { launch, screenshot, SCREENSHOTS, startServer } from './harness';

describe('setup links', () => {
  let server: ViteDevServer;
  let url: string;
  let browser: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  beforeAll(async () => {
    ({ server, url } = await startServer());
    browser = await launch();
    await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (e) => errors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('opens a link: shows its choices, names the bad parameter, loads model and data, takes the settings; copies it back', async () => {
    const hub: string[] = [];
    page.on('request', (r) => /huggingface\.co/.test(r.url()) && hub.push(r.url()));
    await page.goto(`${url}?model=stories260K&data=demo&preset=quick&lr=0.001&steps=20&rank=banana`);
    const chose = page.getByTestId('link-chose');
    await chose.waitFor({ timeout: 60_000 });
    const text = ((await chose.textContent()) ?? '').replace(/\s+/g, ' ');
    console.log('link chose:', text);
    expect(text).toContain('model: TinyStories 260K');
    expect(text).toContain('dataset: TinyStories instructions (demo, 400 rows)');
    expect(text).toContain('preset: Quick demo: stories260K, 60 steps');
    expect(text).toContain('lr: 0.001');
    expect(text).toContain('steps: 20');
    const problems = page.getByTestId('link-problems');
    expect(((await problems.textContent()) ?? '').replace(/\s+/g, ' ')).toContain('"rank" must be a number, got "banana"');
    // the built-in model loads by itself (no download), then the dataset is prepared for it
    await expect.poll(async () => (await page.getByTestId('model-status').textContent()) ?? '', { timeout: 120_000 }).toMatch(/TinyStories 260K.*260\.0K parameters/);
    await page.getByTestId('dataset-report').getByText('400 usable rows').waitFor({ timeout: 120_000 });
    await page.getByText('Advanced settings').click();
    expect(await page.getByRole('spinbutton', { name: 'Learning rate' }).inputValue()).toBe('0.001');
    expect(await page.getByLabel('Max steps (0: epochs decide)').inputValue()).toBe('20');
    expect(await page.getByLabel('Rank r').inputValue()).toBe('8'); // the bad value left the preset's
    expect(hub).toEqual([]);
    await screenshot(page, 'setup-link-opened');

    // change one more setting, then copy: the link carries all of it
    await page.getByLabel('Batch size', { exact: true }).fill('4');
    await page.getByTestId('copy-setup-link').click();
    const out = page.getByTestId('setup-link-url');
    await out.waitFor();
    const copied = await out.inputValue();
    console.log('copied link:', copied);
    expect(copied).toBe(`${url}?model=stories260K&data=demo&preset=quick&lr=0.001&steps=20&batch=4`);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(copied);
    await page.getByTestId('setup-link').screenshot({ path: `${SCREENSHOTS}/setup-link-panel.png` });
    expect(errors).toEqual([]);
  });

  it('a link to a Hub model asks before the download', async () => {
    const hub: string[] = [];
    page.on('request', (r) => /huggingface\.co|githubusercontent/.test(r.url()) && hub.push(r.url()));
    await page.goto(`${url}?model=stories15M&preset=lima`);
    const ask = page.getByTestId('link-pending');
    await ask.waitFor({ timeout: 60_000 });
    expect(((await ask.textContent()) ?? '').replace(/\s+/g, ' ')).toMatch(/The link chose TinyStories 15M, a [\d.]+ MiB download from the Hugging Face Hub/);
    expect(await ask.getByRole('button', { name: 'Download and load it' }).isEnabled()).toBe(true);
    expect(await page.getByRole('radio', { name: /LIMA-style/ }).isChecked()).toBe(true);
    expect(await page.getByTestId('link-problems').count()).toBe(0);
    expect(hub).toEqual([]);
    await ask.getByRole('button', { name: 'Not now' }).click();
    await expect.poll(() => ask.count()).toBe(0);
    await screenshot(page, 'setup-link-asks');
    expect(errors).toEqual([]);
  });
});
