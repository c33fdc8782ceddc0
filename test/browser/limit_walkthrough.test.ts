/**
 * The LIMIT walkthrough panel (issue 11 part 4): its buttons wait for a model;
 * with stories260K-hf loaded each loads its built-in dataset
 * (public/demo/limit-*.jsonl) as the demo dataset loads, and the dataset
 * report shows its 200 rows under the button's name. A screenshot of the panel.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, SCREENSHOTS, type Session } from './harness';
import { loadModelFiles } from './helpers';

const SETS = [
  { id: 'open', style: 'Stories (open-ended)', name: 'limit-open (200 stories)', format: 'instruction-response' },
  { id: 'qa', style: 'Questions (short answers)', name: 'limit-qa (200 short answers)', format: 'instruction-response' },
  { id: 'mix', style: 'Mix', name: 'limit-mix (100 stories + 100 answers)', format: 'instruction-response' },
];

describe('LIMIT walkthrough', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('shows the panel with its buttons disabled until a model is loaded', async () => {
    const panel = s.page.getByRole('region', { name: /LIMIT walkthrough/ });
    await panel.waitFor();
    expect(await panel.textContent()).toContain('Jha et al. 2023');
    for (const set of SETS) expect(await s.page.getByTestId(`limit-load-${set.id}`).isDisabled()).toBe(true);
    await expect.poll(() => panel.getByRole('status').textContent()).toContain('Load a model');
  });

  it('loads each built-in dataset: 200 rows under its name', async () => {
    const page = s.page;
    await loadModelFiles(page);
    for (const set of SETS) {
      const button = page.getByRole('button', { name: `${set.style}: ${set.name}`, exact: true });
      await expect.poll(() => button.isEnabled(), { timeout: 30_000 }).toBe(true);
      await button.click();
      // the walkthrough says so once the worker's report is of this file
      await expect.poll(() => page.getByTestId('limit-walkthrough').getByRole('status').textContent(), { timeout: 60_000 }).toContain(`Loaded ${set.name}`);
      expect(await button.getAttribute('aria-pressed')).toBe('true');
      const report = ((await page.getByTestId('dataset-report').textContent()) ?? '').replace(/\s+/g, ' ');
      const file = (await page.locator('#data').getByText(/^File: /).textContent()) ?? '';
      console.log(`${set.id}: ${file} · ${report.trim()}`);
      expect(report).toContain('200 usable rows');
      expect(report).toContain(`format ${set.format}`);
      expect(file).toBe(`File: ${set.name}`);
    }
    await page.getByTestId('limit-walkthrough').screenshot({ path: path.join(SCREENSHOTS, 'limit-walkthrough.png') });
  });
});
