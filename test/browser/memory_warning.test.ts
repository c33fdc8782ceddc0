/**
 * The catalogue's memory estimate and warning (src/ui/state/memory.svelte.ts):
 * every row shows the memory model's estimate for the chosen training
 * settings in parts; with a budget too small, the row warns (a status region,
 * with words, not colour alone) and suggests the largest batch size that
 * fits; "Use it" takes the suggestion into the settings and the warning goes;
 * a settings change brings it back. No download is needed for any of it.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, ROOT, screenshot, type Session } from './harness';

describe('memory warning before a download', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('warns in the row when the budget cannot hold training, suggests a batch size, and takes it', async () => {
    const page = s.page;
    const row = page.getByTestId('catalogue-stories260K');
    const estimate = row.getByTestId('memory-estimate');
    const text = async (l: ReturnType<typeof page.getByTestId>) => ((await l.textContent()) ?? '').replace(/\s+/g, ' ').trim();
    // the default 4 GiB budget holds the tiny model at the quick preset (batch 8 × 512)
    expect(await text(estimate)).toMatch(/^With your settings \(batch 8 × 512 tokens, rank 8\): ~[\d.]+ MiB = weights [\d.]+ (KiB|MiB) · adapter [\d.]+ (KiB|MiB) · activations [\d.]+ MiB/);
    expect(await row.getByTestId('memory-warning').count()).toBe(0);
    const total = Number(await estimate.getAttribute('data-total'));
    console.log('estimate:', await text(estimate));

    // a budget of 0.1 GiB (102 MiB): below the ~136 MiB estimate
    await page.getByTestId('memory-budget').fill('0.1');
    const warning = row.getByTestId('memory-warning');
    await warning.waitFor({ timeout: 10_000 });
    const w = await text(warning);
    console.log('warning:', w);
    expect(total).toBeGreaterThan(0.1 * 2 ** 30);
    expect(w).toMatch(/^⚠ May not fit: needs ~[\d.]+ MiB, more than your 102\.4 MiB budget\. Batch size (\d) fits \(~[\d.]+ MiB\)\. Use batch size \d$/);
    const suggested = Number(/Batch size (\d+) fits/.exec(w)![1]);
    expect(suggested).toBeGreaterThan(0);
    expect(suggested).toBeLessThan(8);
    // announced: the warning sits in a polite live region
    const region = row.getByTestId('memory-warning-region');
    expect(await region.getAttribute('role')).toBe('status');
    // the big models warn too
    await page.getByTestId('catalogue-qwen2.5-0.5b').getByTestId('memory-warning').waitFor();
    await page.locator('#model').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'memory-warning.png') });

    // "Use batch size N": the batch size goes into the training settings, the estimate follows, the warning goes
    await warning.getByRole('button', { name: `Use batch size ${suggested}` }).click();
    await expect.poll(() => text(estimate)).toContain(`batch ${suggested} × 512 tokens`);
    expect(await row.getByTestId('memory-warning').count()).toBe(0);
    await page.getByText('Advanced settings').click();
    const trainPanel = page.getByRole('region', { name: 'Train' });
    expect(await trainPanel.getByLabel('Batch size', { exact: true }).inputValue()).toBe(String(suggested));

    // a settings change re-checks: a longer max length brings the warning back
    await trainPanel.getByLabel('Max length (tokens)').fill('1024');
    await row.getByTestId('memory-warning').waitFor({ timeout: 10_000 });
    console.log('after max length 1024:', await text(row.getByTestId('memory-warning')));
    await screenshot(page, 'memory-warning-page');
  });
});
