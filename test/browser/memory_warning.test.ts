/**
 * The catalogue's memory estimate and warning (src/ui/state/memory.svelte.ts):
 * every row shows the memory model's estimate for the chosen training
 * settings in parts; with a budget too small, the row warns (a status region,
 * with words, not colour alone) and suggests the largest batch size that
 * fits; "Use it" takes the suggestion into the settings and the warning goes;
 * a settings change brings it back. No download is needed for any of it.
 * Save memory (activation checkpointing, src/ui/lib/save_memory.ts) is a
 * labelled select, Auto by default: with a budget that holds the run only
 * with checkpointing, the row says Save memory is on and does not warn;
 * switched Off, the warning comes, with the way back. Then, with stories260K
 * loaded, Auto is resolved when a run starts and the Trainer gets
 * gradientCheckpointing (read back from the run's IndexedDB checkpoint).
 */
import path from 'node:path';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictTrainingMemory } from '../../src/engine/memory_model';
import { CATALOGUE, entryQuery } from '../../src/ui/lib/hub';
import { openReadyApp, ROOT, screenshot, type Session } from './harness';
import { loadDataset, loadModelFiles, TINYSTORIES } from './helpers';

/** stories260K's estimates (bytes) with and without checkpointing (the quick preset: batch 8 × 512). */
function stories260K(batchSize = 8, maxLength = 512): { without: number; with: number } {
  const q = entryQuery(CATALOGUE.find((e) => e.id === 'stories260K')!, { rank: 8, batchSize, maxLength, optimizer: 'adamw' });
  const r = { without: predictTrainingMemory(q).total, with: predictTrainingMemory({ ...q, checkpointing: true }).total };
  expect(r.with).toBeLessThan(r.without);
  return r;
}
/** A budget (GiB) halfway between the two: it holds the run only with checkpointing. */
const checkpointingOnlyBudget = (batchSize = 8, maxLength = 512) => {
  const e = stories260K(batchSize, maxLength);
  return Number(((e.without + e.with) / 2 / 2 ** 30).toFixed(4));
};

describe('memory warning before a download', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });
  const text = async (l: Locator) => ((await l.textContent()) ?? '').replace(/\s+/g, ' ').trim();

  it('warns in the row when the budget cannot hold training, suggests a batch size, and takes it', async () => {
    const page = s.page;
    const row = page.getByTestId('catalogue-stories260K');
    const estimate = row.getByTestId('memory-estimate');
    // the default 4 GiB budget holds the tiny model at the quick preset (batch 8 × 512)
    expect(await text(estimate)).toMatch(/^With your settings \(batch 8 × 512 tokens, rank 8\): ~[\d.]+ MiB = weights [\d.]+ (KiB|MiB) · adapter [\d.]+ (KiB|MiB) · activations [\d.]+ MiB/);
    expect(await row.getByTestId('memory-warning').count()).toBe(0);
    const total = Number(await estimate.getAttribute('data-total'));
    console.log('estimate:', await text(estimate));

    // Save memory: a labelled select in the advanced settings, Auto by default, with a description of what it costs
    await page.getByText('Advanced settings').click();
    const trainPanel = page.getByRole('region', { name: 'Train' });
    const save = trainPanel.getByLabel('Save memory: recompute activations during backward');
    expect(await save.inputValue()).toBe('auto');
    expect(await save.evaluate((el) => el.tagName)).toBe('SELECT');
    const described = (await save.getAttribute('aria-describedby'))!.split(' ');
    const help = await page.locator(`#${described[0]}`).textContent();
    expect(help).toMatch(/one more forward pass per step, roughly a third more time,\s+for far less activation memory/);
    expect(await save.locator('option').allTextContents()).toEqual(['Auto', 'On', 'Off']);

    // a budget that holds the run only with checkpointing: Auto turns it on, the row says so and does not warn
    const budget = checkpointingOnlyBudget();
    await page.getByTestId('memory-budget').fill(String(budget));
    const note = row.getByTestId('save-memory-note');
    await note.waitFor({ timeout: 10_000 });
    const n = await text(note);
    console.log(`budget ${budget} GiB, note:`, n);
    expect(n).toMatch(/^Save memory is on \(auto\): without it this needs ~[\d.]+ MiB, over your [\d.]+ MiB budget\./);
    expect(await row.getByTestId('memory-warning').count()).toBe(0);
    expect(await text(estimate)).toMatch(/^With your settings \(batch 8 × 512 tokens, rank 8, Save memory on\): ~[\d.]+ MiB/);
    expect(Number(await estimate.getAttribute('data-total'))).toBeLessThan(budget * 2 ** 30);
    expect(total).toBeGreaterThan(budget * 2 ** 30);
    await trainPanel.locator('details.advanced').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'save-memory-settings.png') });
    await row.screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'save-memory-auto-row.png') });

    // Off: the same budget warns, suggests a smaller batch, and offers Save memory back
    await save.selectOption('off');
    const warning = row.getByTestId('memory-warning');
    await warning.waitFor({ timeout: 10_000 });
    expect(await row.getByTestId('save-memory-note').count()).toBe(0);
    const w = await text(warning);
    console.log('warning with Save memory off:', w);
    expect(w).toMatch(/^⚠ May not fit: needs ~[\d.]+ MiB, more than your [\d.]+ MiB budget\. Batch size (\d) fits \(~[\d.]+ MiB\)\. Use batch size \d Or, with Save memory \(recompute activations\), these settings fit \(~[\d.]+ MiB\)\. Use Save memory: Auto$/);
    const suggested = Number(/Batch size (\d+) fits/.exec(w)![1]);
    expect(suggested).toBeGreaterThan(0);
    expect(suggested).toBeLessThan(8);
    // announced: the warning sits in a polite live region
    const region = row.getByTestId('memory-warning-region');
    expect(await region.getAttribute('role')).toBe('status');
    await row.screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'save-memory-off-row.png') });
    // the way back: "Use Save memory: Auto" sets the select to Auto and the warning goes
    await warning.getByRole('button', { name: 'Use Save memory: Auto' }).click();
    await expect.poll(() => save.inputValue()).toBe('auto');
    await note.waitFor({ timeout: 10_000 });
    expect(await row.getByTestId('memory-warning').count()).toBe(0);

    // a budget below even the estimate with checkpointing: Auto's on and the row still warns
    const small = Number(((0.7 * stories260K().with) / 2 ** 30).toFixed(4));
    await page.getByTestId('memory-budget').fill(String(small));
    await warning.waitFor({ timeout: 10_000 });
    // the big models warn too
    await page.getByTestId('catalogue-qwen2.5-0.5b').getByTestId('memory-warning').waitFor();
    await page.locator('#model').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'memory-warning.png') });
    // with Off, the suggestion is the largest batch that fits without checkpointing
    await save.selectOption('off');
    await expect.poll(async () => text(warning)).toMatch(/Use batch size \d$/);
    const w2 = await text(warning);
    console.log(`warning at ${small} GiB, Save memory off:`, w2);
    expect(w2).toMatch(/^⚠ May not fit: needs ~[\d.]+ MiB, more than your [\d.]+ MiB budget\. Batch size (\d) fits \(~[\d.]+ MiB\)\. Use batch size \d$/);
    const smaller = Number(/Batch size (\d+) fits/.exec(w2)![1]);

    // "Use batch size N": the batch size goes into the training settings, the estimate follows, the warning goes
    await warning.getByRole('button', { name: `Use batch size ${smaller}` }).click();
    await expect.poll(() => text(estimate)).toContain(`batch ${smaller} × 512 tokens`);
    expect(await row.getByTestId('memory-warning').count()).toBe(0);
    expect(await trainPanel.getByLabel('Batch size', { exact: true }).inputValue()).toBe(String(smaller));

    // a settings change re-checks: a longer max length brings the warning back
    await trainPanel.getByLabel('Max length (tokens)').fill('1024');
    await row.getByTestId('memory-warning').waitFor({ timeout: 10_000 });
    console.log('after max length 1024:', await text(row.getByTestId('memory-warning')));
    await screenshot(page, 'memory-warning-page');
  });

  it('resolves Auto for the loaded model when a run starts: the Trainer gets gradientCheckpointing', async () => {
    const page = s.page;
    await loadModelFiles(page); // stories260K-hf: the catalogue's stories260K, from files
    await loadDataset(page, TINYSTORIES, '1,000');
    await page.getByText('Smoke test: 3 steps').click(); // batch 2 × 128, Save memory back to Auto
    const trainPanel = page.getByRole('region', { name: 'Train' });
    await trainPanel.getByLabel('Validation loss every N steps').fill('0');
    expect(await trainPanel.getByLabel('Save memory: recompute activations during backward').inputValue()).toBe('auto');
    const now = trainPanel.getByTestId('save-memory-now');
    expect(await text(now)).toMatch(/^Auto: off for .+\. It needs ~[\d.]+ MiB, within your [\d.]+ MiB budget\.$/);
    await page.getByTestId('memory-budget').fill(String(checkpointingOnlyBudget(2, 128)));
    await expect.poll(() => text(now)).toMatch(/^Auto: on for .+\. Without it training needs ~[\d.]+ MiB, over your [\d.]+ MiB budget; with it ~[\d.]+ MiB\.$/);
    console.log('loaded model:', await text(now));
    await trainPanel.locator('details.advanced fieldset', { hasText: 'Memory' }).screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'save-memory-loaded.png') });

    await page.getByTestId('train-start').click();
    const status = () => text(page.getByTestId('train-status'));
    await expect.poll(status, { timeout: 300_000 }).toMatch(/step 1 of 3/);
    await page.getByTestId('train-pause').click();
    await expect.poll(status, { timeout: 120_000 }).toMatch(/^paused/);
    // the run's checkpoint (worker/db.ts: runData, by run id): the page's choice in its settings, the boolean in the Trainer's config
    const saved = await page.evaluate(
      () =>
        new Promise<{ saveMemory: unknown; settings: unknown; trainer: unknown; keys: string[] }>((resolve, reject) => {
          const open = indexedDB.open('lima-playground');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction('runData').objectStore('runData').getAll();
            get.onerror = () => reject(get.error);
            get.onsuccess = () => {
              const d = get.result[get.result.length - 1]; // the run just started (keys are run ids, ascending)
              open.result.close();
              resolve({ saveMemory: d.settings.saveMemory, settings: d.settings.gradientCheckpointing, trainer: d.checkpoint.config.gradientCheckpointing, keys: Object.keys(d.checkpoint.config) });
            };
          };
        }),
    );
    console.log('saved run:', JSON.stringify(saved));
    expect(saved).toMatchObject({ saveMemory: 'auto', settings: true, trainer: true });
    expect(saved.keys).not.toContain('saveMemory'); // the page's choice stays on the page side
  });
});
