/**
 * The LIMIT walkthrough panel (issue 11 part 4): its buttons wait for a model;
 * with stories260K-hf loaded each loads its built-in dataset
 * (public/demo/limit-*.jsonl) as the demo dataset loads, and the dataset
 * report shows its 200 rows under the button's name. A screenshot of the panel.
 * The filter step (issue 24): limit-mix trained unfiltered and k-center
 * diverse, each a run from its own button with the same settings, read in
 * both paradigms from the runs table's rows (held-out loss and multiple
 * choice; one blind vote); the judge-filtered arm waits for a judge, and with
 * stories260K as the judge (no digit among its likeliest tokens: every row
 * unscored) it says that no row scores >= 1 instead of training.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, SCREENSHOTS, type Session } from './harness';
import { blindCompare, HF_FILES, loadModelFiles } from './helpers';

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

  const text = async (testid: string) => ((await s.page.getByTestId(testid).textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const cells = async (arm: string) => (await s.page.getByTestId(`limit-arm-${arm}`).locator('td').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());

  async function trainArm(arm: string, run: number): Promise<void> {
    const page = s.page;
    await page.getByTestId(`limit-train-${arm}`).click();
    await expect
      .poll(() => text('train-status'), { timeout: 150_000 })
      .toMatch(new RegExp(`done · step 2 of 2.*Run ${run}`))
      .catch(async (e) => {
        console.log('filter step:', await text('limit-filter'), '\ntrain panel:', ((await page.locator('#train').textContent()) ?? '').replace(/\s+/g, ' ').slice(0, 1500));
        throw e;
      });
    await expect.poll(() => cells(arm), { timeout: 30_000 }).toContainEqual(expect.stringMatching(new RegExp(`^Run ${run} `)));
  }

  it('filter step: trains limit-mix unfiltered and k-center diverse, and reads both in both paradigms; the judge arm waits for scores', async () => {
    const page = s.page;
    const step = page.getByTestId('limit-filter');
    await page.getByText('Smoke test: 3 steps').click(); // before the arms: a new Max length prepares the rows again
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Max steps (0: epochs decide)').fill('2');
    await page.getByLabel('Validation loss every N steps').fill('0'); // still scored once, at the end

    // no judge yet: the judge arm says what it needs
    expect(await page.getByTestId('limit-train-judge').isDisabled()).toBe(true);
    expect(await page.getByTestId('limit-train-judge').getAttribute('title')).toMatch(/^Load a judge in the Model judge panel and score the rows/);
    const trainRows = Number((await page.getByText('Training rows', { exact: true }).locator('xpath=following-sibling::dd[1]').textContent())?.replace(/,/g, ''));
    expect(await text('limit-arm-all')).toContain(`every training row (${trainRows})`);

    await trainArm('all', 1);
    expect((await cells('all'))[0]).toBe(`Run 1 ${trainRows} rows, 2 of 2 steps`);
    await trainArm('diverse', 2); // no judge scores yet: N of step 2's "Pick N diverse" (50)
    const diverse = await cells('diverse');
    expect(diverse[0]).toBe('Run 2 50 rows, 2 of 2 steps');
    // the runs table names the subset the step chose
    expect(await page.getByTestId('run-row-2').getByTestId('run-subset').textContent()).toMatch(new RegExp(`^subset: 50 diverse \\(k-center\\) of ${trainRows}`));
    expect(await page.getByTestId('run-row-1').getByTestId('run-subset').count()).toBe(0);

    // benchmark paradigm: held-out loss from each run's end, then multiple choice from the step's button
    for (const arm of ['all', 'diverse']) expect((await cells(arm))[1]).toMatch(/^\d+\.\d{3}$/);
    await page.getByTestId('limit-filter-mc').click();
    await expect.poll(async () => (await cells('diverse'))[2], { timeout: 240_000 }).toMatch(/^\d+% of \d+$/);
    expect((await cells('all'))[2]).toMatch(/^\d+% of \d+$/);
    // preference paradigm: one blind vote, Run 1 vs Run 2, counted for both
    expect((await cells('all'))[3]).toBe('no votes');
    await blindCompare(page, 'Run 1', 'Run 2', 'Write a story about a boy named Tom.', 12);
    await page.getByRole('group', { name: 'Which answer is better?' }).getByRole('button', { name: 'A', exact: true }).click();
    await expect.poll(async () => [(await cells('all'))[3], (await cells('diverse'))[3]].sort()).toEqual(['0% (0 of 1)', '100% (1 of 1)']);
    expect((await cells('all'))[4]).toBe('not judged');
    const leaders = await page.getByTestId('limit-filter-leaders').locator('li').allTextContents();
    console.log('filter step:', JSON.stringify(await Promise.all(['all', 'diverse'].map(cells))), leaders);
    expect(leaders).toHaveLength(4);
    expect(leaders[0]).toMatch(/^Best held-out loss \(benchmark\): (Unfiltered|k-center diverse|a tie)$/);
    expect(leaders[2]).toMatch(/^Best blind-vote win rate \(preference\): (Unfiltered|k-center diverse)$/);
    expect(leaders[3]).toBe('Best judge win rate vs base (preference): needs two of them measured');

    // a judge that scores no row: the judge arm says so and trains nothing
    await page.getByTestId('judge-files').setInputFiles(HF_FILES);
    await expect.poll(() => text('judge-status'), { timeout: 120_000 }).toMatch(/^Judge: local judge/);
    await page.getByTestId('quality-run').click();
    await page.getByTestId('quality-stats').waitFor({ timeout: 300_000 });
    const stats = await text('quality-stats');
    const scored = Number(stats.match(/^local judge scored (\d+) of/)![1]);
    console.log('judge on limit-mix:', stats);
    await page.getByTestId('quality-threshold').fill('1');
    if (scored === 0) {
      await expect.poll(() => page.getByTestId('limit-train-judge').getAttribute('title')).toBe('No row scores ≥ 1: lower the threshold in step 2.');
      expect(await page.getByTestId('limit-train-judge').isDisabled()).toBe(true);
      expect(await text('limit-arm-judge')).toContain('not trained yet: No row scores ≥ 1');
    } else {
      await trainArm('judge', 3);
      expect(await page.getByTestId('run-row-3').getByTestId('run-subset').textContent()).toContain(`scoring ≥ 1 by the judge local judge`);
    }
    await step.scrollIntoViewIfNeeded();
    await step.screenshot({ path: path.join(SCREENSHOTS, 'limit-filter-step.png') });
  });
});
