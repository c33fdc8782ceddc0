/** Shared steps of the playground's browser tests (fixtures from ../shared). */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { ROOT } from './harness';

export const SHARED = path.resolve(ROOT, '..', 'shared');
export const HF_DIR = path.join(SHARED, 'models', 'stories260K-hf');
export const HF_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => path.join(HF_DIR, f));
export const TINYSTORIES = path.join(SHARED, 'data', 'tinystories-instruct-1k.jsonl');
export const ALPACA = path.join(SHARED, 'data', 'alpaca-1k.jsonl');

export function need(...files: string[]): void {
  for (const f of files) if (!fs.existsSync(f)) throw new Error(`missing fixture ${f} (the tests read ../shared beside the repository)`);
}

/** Picks the five stories260K-hf files with the model-files input and waits for the status. */
export async function loadModelFiles(page: Page): Promise<void> {
  need(...HF_FILES);
  await page.getByTestId('model-files').setInputFiles(HF_FILES);
  await page.getByTestId('model-status').getByText('parameters').waitFor({ timeout: 120_000 });
}

/** Picks a dataset file and waits until the report counts `rows` usable rows. */
export async function loadDataset(page: Page, file: string, rows: string): Promise<void> {
  need(file);
  await page.getByTestId('dataset-input').setInputFiles(file);
  await page.getByTestId('dataset-report').getByText(`${rows} usable rows`, { exact: false }).waitFor({ timeout: 120_000 });
}

/**
 * stories260K and the 1,000 TinyStories rows (5% held out), the 3-step smoke
 * preset cut to `steps` steps with validation only at the end, and the
 * Advanced settings left open: ready for Train.
 */
export async function setUpSmokeRun(page: Page, steps: number): Promise<void> {
  await loadModelFiles(page);
  await page.getByLabel('Held out for validation').selectOption('0.05');
  await loadDataset(page, TINYSTORIES, '1,000');
  await page.getByText('Smoke test: 3 steps').click();
  await page.getByText('Advanced settings').click();
  await page.getByLabel('Max steps (0: epochs decide)').fill(String(steps));
  await page.getByLabel('Validation loss every N steps').fill('0'); // still scored once, at the end
}

/** Fills Compare's instruction, runs both sides and waits until they are done; no error may be shown. */
export async function compareBoth(page: Page, prompt: string): Promise<void> {
  await page.getByTestId('compare-prompt').fill(prompt);
  await page.getByTestId('compare-run').click();
  await expect.poll(() => page.getByTestId('compare-stop').isEnabled(), { timeout: 10_000 }).toBe(false);
  await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 180_000 }).toBe(true);
  expect(await page.locator('#compare [role="alert"]').count()).toBe(0);
}

/** Compare in blind mode: picks run `a` and run `b` by label, runs both on `prompt` and waits until both answers are in, their sides still hidden ("Model A"). */
export async function blindCompare(page: Page, a: string, b: string, prompt: string, maxNewTokens: number): Promise<void> {
  await page.getByTestId('compare-a').selectOption({ label: a });
  await page.getByTestId('compare-b').selectOption({ label: b });
  await page.getByLabel('Blind mode').check();
  await page.getByTestId('compare-prompt').fill(prompt);
  await page.getByLabel('Max new tokens').fill(String(maxNewTokens));
  await page.getByTestId('compare-run').click();
  await expect.poll(() => page.locator('#compare h3', { hasText: 'Model A' }).count(), { timeout: 10_000 }).toBe(1);
  await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 120_000 }).toBe(true);
}
