/**
 * The catalogue's Hub path without a network: Playwright answers
 * https://huggingface.co/** from ../shared (ranged reads included, with the
 * CORS headers the Hub sends). Checks the header peek (two ranged reads), the
 * download with progress, the IndexedDB cache (badge, reload, load without
 * network, delete) and cancelling a download.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, screenshot, type Session } from './harness';
import { HF_DIR, need, SHARED } from './helpers';

/** Hub paths → local files: SmolLM2-135M is played by stories260K-hf (same layout, tiny). */
const FILES: Record<string, string> = {
  'HuggingFaceTB/SmolLM2-135M/resolve/main/config.json': path.join(HF_DIR, 'config.json'),
  'HuggingFaceTB/SmolLM2-135M/resolve/main/generation_config.json': path.join(HF_DIR, 'generation_config.json'),
  'HuggingFaceTB/SmolLM2-135M/resolve/main/tokenizer.json': path.join(HF_DIR, 'tokenizer.json'),
  'HuggingFaceTB/SmolLM2-135M/resolve/main/tokenizer_config.json': path.join(HF_DIR, 'tokenizer_config.json'),
  'HuggingFaceTB/SmolLM2-135M/resolve/main/model.safetensors': path.join(HF_DIR, 'model.safetensors'),
  'karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin': path.join(SHARED, 'models', 'stories260K', 'stories260K.bin'),
  'karpathy/tinyllamas/resolve/main/stories260K/tok512.bin': path.join(SHARED, 'models', 'stories260K', 'tok512.bin'),
};

const CORS = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'Content-Range, Accept-Ranges, Content-Length' };

describe('models from the Hub (served by a route handler)', () => {
  let s: Session;
  const requests: string[] = [];
  let hanging: Route | null = null;

  async function serve(route: Route) {
    const req = route.request();
    const rel = new URL(req.url()).pathname.slice(1);
    if (req.method() === 'OPTIONS') return route.fulfill({ status: 204, headers: { ...CORS, 'access-control-allow-headers': 'range', 'access-control-allow-methods': 'GET, HEAD' } });
    const range = req.headers()['range'];
    requests.push(`${req.method()} ${rel}${range ? ` ${range}` : ''}`);
    if (rel.endsWith('stories15M.bin')) {
      hanging = route; // never answered: the test cancels it
      return;
    }
    const file = FILES[rel];
    if (!file) return route.fulfill({ status: 404, headers: CORS, body: 'Entry not found' });
    const body = fs.readFileSync(file);
    const m = range && /^bytes=(\d+)-(\d+)$/.exec(range);
    if (m) {
      const [a, b] = [Number(m[1]), Math.min(Number(m[2]), body.length - 1)];
      return route.fulfill({ status: 206, headers: { ...CORS, 'content-range': `bytes ${a}-${b}/${body.length}` }, body: body.subarray(a, b + 1) });
    }
    return route.fulfill({ status: 200, headers: CORS, body });
  }

  beforeAll(async () => {
    need(...Object.values(FILES));
    s = await openApp();
    await s.page.route('https://huggingface.co/**', serve);
    await s.page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('peeks at the safetensors header with ranged reads before downloading', async () => {
    const row = s.page.getByTestId('catalogue-smollm2-135m');
    await row.getByRole('button', { name: 'Check size first' }).click();
    const peek = row.getByTestId('header-peek');
    await peek.waitFor({ timeout: 30_000 }).catch(async (e) => {
      console.log('row:', await row.textContent(), requests);
      throw e;
    });
    const text = (await peek.textContent()) ?? '';
    console.log('peek:', text.trim(), '\nrequests:', requests);
    expect(text).toContain('260,032');
    expect(text).toMatch(/F32/);
    expect(requests).toEqual(['GET HuggingFaceTB/SmolLM2-135M/resolve/main/model.safetensors bytes=0-7', expect.stringMatching(/model\.safetensors bytes=0-\d+$/)]);
  });

  it('downloads, caches and loads a Hub model', async () => {
    const row = s.page.getByTestId('catalogue-smollm2-135m');
    await row.getByRole('button', { name: 'Download and load' }).click();
    await s.page.getByTestId('model-status').getByText('260.0K parameters').waitFor({ timeout: 120_000 });
    expect(await s.page.getByTestId('model-status').textContent()).toContain('HuggingFaceTB/SmolLM2-135M');
    await row.getByTestId('cached-badge').waitFor();
    expect(await s.page.getByTestId('storage').textContent()).toMatch(/Browser storage: .* used of/);
    await screenshot(s.page, 'hub-cached');
  });

  it('a llama2.c pair from the Hub, and the cache survives a reload without network', async () => {
    await s.page.getByTestId('catalogue-stories260K').getByRole('button', { name: 'Download and load' }).click();
    // the status reads "Loading TinyStories 260K onto the GPU…" first; wait for the loaded line
    await expect
      .poll(async () => (await s.page.getByTestId('model-status').textContent()) ?? '', { timeout: 120_000 })
      .toMatch(/TinyStories 260K[\s\S]*260\.0K parameters/);

    await s.page.unroute('https://huggingface.co/**');
    await s.page.route('https://huggingface.co/**', (r) => r.abort());
    await s.page.reload();
    await s.page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    const row = s.page.getByTestId('catalogue-smollm2-135m');
    await row.getByTestId('cached-badge').waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: 'Load from cache' }).click();
    await s.page.getByTestId('model-status').getByText('HuggingFaceTB/SmolLM2-135M').waitFor({ timeout: 120_000 });

    await s.page.getByTestId('catalogue-stories260K').getByRole('button', { name: 'Delete from cache' }).click();
    await expect.poll(() => s.page.getByTestId('catalogue-stories260K').getByTestId('cached-badge').count()).toBe(0);
  });

  it('cancels a download', async () => {
    await s.page.unroute('https://huggingface.co/**');
    await s.page.route('https://huggingface.co/**', serve);
    const row = s.page.getByTestId('catalogue-stories15M');
    await row.getByRole('button', { name: 'Download and load' }).click();
    await expect.poll(() => hanging !== null, { timeout: 30_000 }).toBe(true);
    await row.getByRole('button', { name: 'Cancel' }).click();
    await row.getByText('Download cancelled.').waitFor({ timeout: 30_000 });
    expect(await row.getByTestId('cached-badge').count()).toBe(0);
  });
});
