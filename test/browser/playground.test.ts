/**
 * The playground's path without training: load stories260K-hf from files,
 * read the tinystories JSONL (report, stats, sample viewer), mix alpaca-1k
 * into it at a chosen share, a hostile JSONL
 * renders inertly with a line-numbered report, and base vs tuned compare
 * (base only, before any adapter). Screenshots at 1280, 1920 and 1024.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, ROOT, screenshot, type Session } from './harness';
import { ALPACA, loadModelFiles, need, TINYSTORIES } from './helpers';

describe('playground: model, dataset, compare', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('loads stories260K-hf from its five files and shows name and parameters', async () => {
    await loadModelFiles(s.page);
    const status = (await s.page.getByTestId('model-status').textContent()) ?? '';
    console.log('model status:', status.trim());
    expect(status).toMatch(/260\.\dK parameters/);
    expect(status).toContain('local model');
    // GPU memory counted at the device: the f32 weights (260,032 parameters × 4 bytes, plus RoPE tables), no adapter yet
    const memory = s.page.getByRole('group', { name: 'GPU memory, counted on the device' });
    await memory.waitFor({ timeout: 60_000 });
    const text = ((await memory.textContent()) ?? '').replace(/\s+/g, ' ').trim();
    console.log('memory line:', text);
    expect(text).toMatch(/^GPU memory: weights 1\.0 MiB · adapter 0 B · peak \d+(\.\d)? (B|KiB|MiB) · /);
    const weights = Number(await memory.getAttribute('data-weights'));
    expect(weights).toBeGreaterThanOrEqual(260_032 * 4);
    expect(weights).toBeLessThan(260_032 * 4 * 3);
    await s.page.locator('#model').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'model-panel-memory.png') });
  });

  it('reads the tinystories JSONL: report, stats, split and the coloured sample', async () => {
    await s.page.getByTestId('dataset-input').setInputFiles(TINYSTORIES);
    const report = s.page.getByTestId('dataset-report');
    await report.waitFor({ timeout: 120_000 });
    const text = (await report.textContent()) ?? '';
    console.log('report:', text.replace(/\s+/g, ' ').slice(0, 200));
    expect(text).toMatch(/1,000\s+usable rows/);
    expect(text).toContain('instruction-response');
    const stats = (await s.page.getByTestId('dataset-stats').textContent()) ?? '';
    expect(stats).toMatch(/Training rows\s*900/);
    expect(stats).toMatch(/Held out\s*100/);
    // the sample viewer shows prompt tokens, response tokens and the EOS
    const viewer = s.page.getByTestId('sample-viewer');
    await expect.poll(() => viewer.locator('.tokens .tok.response').count()).toBeGreaterThan(10);
    expect(await viewer.locator('.tokens .tok.prompt').count()).toBeGreaterThan(3);
    expect(await viewer.locator('.tokens .tok.eos').count()).toBe(1);
    await screenshot(s.page, 'playground-1280-dataset');
    await s.page.locator('#data').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'dataset-panel.png') });
  });

  it('mixes a second dataset into training at the chosen share; held-out rows stay from the first', async () => {
    const page = s.page;
    need(ALPACA);
    await page.getByText('Mix in a second dataset').click();
    await page.getByTestId('dataset-mix-input').setInputFiles(ALPACA);
    const stats = page.getByTestId('dataset-stats');
    // default share 25%: 900 tinystories rows + 300 alpaca rows
    await expect.poll(async () => (await stats.textContent()) ?? '', { timeout: 120_000 }).toMatch(/Training rows\s*1,200 \(300 mixed in\)/);
    expect((await stats.textContent()) ?? '').toMatch(/Held out\s*100/);
    await page.getByTestId('dataset-mix-ratio').fill('0.5');
    await page.getByTestId('dataset-mix-ratio').dispatchEvent('change');
    await expect.poll(async () => (await stats.textContent()) ?? '', { timeout: 120_000 }).toMatch(/Training rows\s*1,800 \(900 mixed in\)/);
    await screenshot(page, 'playground-mixed-dataset');
    await page.locator('details.mix').getByRole('button', { name: 'Remove' }).click();
    await expect.poll(async () => (await stats.textContent()) ?? '', { timeout: 120_000 }).toMatch(/Training rows\s*900\b/);
    expect((await stats.textContent()) ?? '').not.toContain('mixed in');
  });

  it('reports broken lines by number and renders HTML in the data as text', async () => {
    const rows = [
      JSON.stringify({ instruction: 'Write a story about <img src=x onerror="window.__pwned=1">.', response: 'Once upon a time <b>bold</b> and <script>window.__pwned=2</script>.' }),
      '{"instruction": "broken", "response": ',
      'not json at all',
      JSON.stringify({ instruction: 'Say hi.', response: '<img src=x onerror="window.__pwned=3">' }),
      JSON.stringify([1, 2, 3]),
      JSON.stringify({ instruction: 'Only an instruction.' }),
      JSON.stringify({ instruction: 'Write about Tom.', response: 'Once upon a time, Tom.' }),
    ].join('\n');
    const file = path.join(ROOT, 'test-results', 'hostile.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, rows);
    await s.page.getByTestId('dataset-input').setInputFiles(file);
    const report = s.page.getByTestId('dataset-report');
    await expect.poll(async () => (await report.textContent()) ?? '', { timeout: 60_000 }).toMatch(/3\s+usable rows/);
    const text = (await report.textContent()) ?? '';
    console.log('hostile report:', text.replace(/\s+/g, ' '));
    for (const line of ['2', '3', '5', '6']) expect(await report.locator('tr td:first-child', { hasText: new RegExp(`^line ${line}$`) }).count()).toBe(1);
    // the sample viewer shows the markup literally, and no element was created from it
    const viewer = s.page.getByTestId('sample-viewer');
    const seen: string[] = [];
    for (const i of [1, 2]) {
      await expect.poll(async () => (await viewer.textContent()) ?? '').toContain(`Training row ${i} of 2`);
      seen.push((await viewer.locator('.tokens').textContent()) ?? '');
      await viewer.getByRole('button', { name: 'Next sample' }).click();
    }
    await viewer.getByLabel('Split').selectOption('validation');
    await expect.poll(async () => (await viewer.textContent()) ?? '').toContain('Held-out row 1 of 1');
    seen.push((await viewer.locator('.tokens').textContent()) ?? '');
    const all = seen.join('\n');
    expect(all).toContain('<img src=x onerror=');
    expect(all).toContain('<b>bold</b>');
    expect(await s.page.locator('main img').count()).toBe(0);
    expect(await s.page.locator('main b').count()).toBe(0);
    expect(await s.page.locator('main script').count()).toBe(0);
    expect(await s.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned ?? 0)).toBe(0);
    await screenshot(s.page, 'playground-hostile-dataset');
  });

  it('compares base and tuned: the base answers, the tuned side says there is no adapter yet', async () => {
    await s.page.getByTestId('dataset-input').setInputFiles(TINYSTORIES);
    await expect.poll(async () => (await s.page.getByTestId('dataset-report').textContent()) ?? '', { timeout: 120_000 }).toMatch(/1,000\s+usable rows/);
    await s.page.getByTestId('compare-prompt').fill('Write a story about a girl named Amy.');
    await s.page.getByLabel('Max new tokens').fill('24');
    await s.page.getByTestId('compare-run').click();
    await expect.poll(async () => ((await s.page.getByTestId('output-a').textContent()) ?? '').length, { timeout: 120_000 }).toBeGreaterThan(10);
    await expect.poll(() => s.page.getByTestId('compare-run').isEnabled(), { timeout: 120_000 }).toBe(true);
    console.log('base output:', await s.page.getByTestId('output-a').textContent());
    await expect.poll(() => s.page.getByText('No adapter yet').count()).toBeGreaterThan(0);
    // generating raised the peak above the weights (activations, KV cache, tfjs's pool)
    await expect.poll(async () => Number(await s.page.getByTestId('gpu-memory').getAttribute('data-peak')), { timeout: 30_000 }).toBeGreaterThan(0);
    console.log('memory after generating:', ((await s.page.getByTestId('gpu-memory').textContent()) ?? '').replace(/\s+/g, ' ').trim());
  });

  it('reaches every main control with the keyboard alone, with a visible focus ring', async () => {
    const page = s.page;
    const wanted = ['model-files', 'dataset-input', 'train-start', 'compare-prompt'];
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.locator('body').focus();
    const seen: string[] = [];
    const rings: Record<string, string> = {};
    for (let i = 0; i < 400 && !wanted.every((w) => seen.includes(w)); i++) {
      await page.keyboard.press('Tab');
      const at = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el) return null;
        const id = el.dataset.testid ?? '';
        // a file input is invisible inside its label, which draws the ring (:focus-within)
        const ringOf = el instanceof HTMLInputElement && el.type === 'file' ? el.parentElement! : el;
        const st = getComputedStyle(ringOf);
        return { id, ring: `${st.outlineStyle} ${st.outlineWidth}` };
      });
      if (at?.id && !seen.includes(at.id)) {
        seen.push(at.id);
        rings[at.id] = at.ring;
      }
    }
    console.log('reached by Tab, in order:', seen.join(', '), rings);
    for (const w of wanted) {
      expect(seen).toContain(w);
      expect(rings[w]).not.toMatch(/^none|0px$/);
    }
    // and a focused button works from the keyboard: Enter on "Run both" starts a comparison
    const before = (await page.getByTestId('output-a').textContent()) ?? '';
    await page.getByTestId('compare-prompt').fill('');
    await page.getByTestId('compare-prompt').focus();
    await page.keyboard.type('Tom had a red ball.');
    await page.getByTestId('compare-run').focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(async () => {
        const t = (await page.getByTestId('output-a').textContent()) ?? '';
        return t !== before && t.length > 10;
      }, { timeout: 120_000 })
      .toBe(true);
    await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 120_000 }).toBe(true);
  });

  it('lays out at projector and small widths', async () => {
    for (const [w, h] of [
      [1920, 1080],
      [1024, 768],
    ]) {
      await s.page.setViewportSize({ width: w, height: h });
      await screenshot(s.page, `playground-${w}`);
      const overflow = await s.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `horizontal overflow at ${w}px`).toBeLessThanOrEqual(0);
    }
    await s.page.setViewportSize({ width: 1280, height: 900 });
  });
});
