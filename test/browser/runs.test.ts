/**
 * Runs in the page (issue 11 part 1), on stories260K-hf: the one run a
 * version-1 database kept becomes run 1 (and is deleted, with confirmation);
 * two short runs with different learning rates are both listed with their
 * held-out loss; one is renamed; run 1 vs run 2 in blind mode takes one vote
 * (each side's adapter swapped onto the same base weights); base and runs are scored on a small multiple-choice file (src/engine/eval);
 * the results table exports as CSV. Screenshots of the runs table and the
 * compare panel.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, ROOT, SCREENSHOTS, type Session } from './harness';
import { blindCompare, setUpSmokeRun } from './helpers';

const STEPS = 2;

describe('runs: kept, listed, renamed, compared, exported', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  const status = () => s.page.getByTestId('train-status').textContent().then((t) => t ?? '');
  const table = () => s.page.getByTestId('runs-table');
  /** a table row's cells, one space between them */
  const cells = async (row: ReturnType<Session['page']['getByTestId']>) => (await row.locator('th, td').allTextContents()).map((c) => c.replace(/\s+/g, ' ').trim()).join(' ');

  it('turns the run a version-1 database kept into run 1, and deletes it after a confirmation', async () => {
    const page = s.page;
    // the page holds the database open at version 2: deleting it makes the page let go (idb's blocking), then write version 1's layout
    await page.evaluate(async () => {
      await new Promise<void>((ok, bad) => {
        const del = indexedDB.deleteDatabase('lima-playground');
        del.onsuccess = () => ok();
        del.onerror = () => bad(del.error);
      });
      await new Promise<void>((ok, bad) => {
        const open = indexedDB.open('lima-playground', 1);
        open.onupgradeneeded = () => {
          const d = open.result;
          d.createObjectStore('files');
          d.createObjectStore('models');
          const runs = d.createObjectStore('runs');
          const step = (n: number) => ({ step: n, totalSteps: 3, epoch: 0, loss: 3 - n / 10, lr: 1e-3, gradNorm: 1, tokensPerSec: 1, etaSec: 0 });
          runs.put({ modelId: 'local:old model', modelName: 'old model', datasetName: 'old.jsonl', step: 3, totalSteps: 3, savedAt: 1 }, 'meta');
          runs.put(
            {
              settings: { lr: 1e-3 },
              datasetName: 'old.jsonl',
              template: 'plain',
              report: { format: 'instruction-response', mixed: 0 },
              train: [{}, {}, {}],
              validation: [{}],
              heldOutPrompts: [],
              checkpoint: null,
              steps: [step(1), step(2), step(3)],
              evals: [{ step: 3, loss: 2.25, perplexity: Math.exp(2.25) }],
            },
            'data',
          );
        };
        open.onsuccess = () => (open.result.close(), ok());
        open.onerror = () => bad(open.error);
      });
    });
    await page.reload();
    await page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    const row = page.getByTestId('run-row-1');
    await row.waitFor({ timeout: 30_000 });
    const text = await cells(row);
    console.log('migrated row:', text);
    expect(text).toMatch(/^Run 1 old\.jsonl 3 3 \/ 3 2\.700 2\.250 9\.49 – – – Rename Delete$/);
    await page.getByRole('button', { name: 'Delete Run 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Run 1?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await row.count()).toBe(1);
    await page.getByRole('button', { name: 'Delete Run 1' }).click();
    await page.getByTestId('confirm-delete').click();
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(0);
  });

  it('trains two short runs; both are listed with their held-out loss', async () => {
    const page = s.page;
    await setUpSmokeRun(page, STEPS);
    const t0 = Date.now();
    for (const [i, lr] of [
      [1, '0.002'],
      [2, '0.02'],
    ] as const) {
      await page.getByLabel('Learning rate', { exact: true }).fill(lr);
      await page.getByTestId('train-start').click();
      await expect
        .poll(status, { timeout: 150_000 })
        .toMatch(new RegExp(`done · step ${STEPS} of ${STEPS}.*validation loss \\d\\.\\d+.*Run ${i}`, 's'));
      await expect.poll(async () => (await page.getByTestId(`run-row-${i}`).getByTestId('run-heldout').textContent()) ?? '', { timeout: 30_000 }).toMatch(/^\d\.\d{3}$/);
      console.log(`run ${i} done after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    expect(await page.getByRole('button', { name: 'Start a new run' }).count()).toBe(1);
    expect(await table().locator('tbody tr').count()).toBe(2);
    const rows = [await cells(page.getByTestId('run-row-1')), await cells(page.getByTestId('run-row-2'))];
    console.log('table:', rows);
    for (const r of rows) expect(r).toMatch(new RegExp(`^Run \\d tinystories-instruct-1k\\.jsonl 950 ${STEPS} / ${STEPS} \\d\\.\\d{3} \\d\\.\\d{3} \\d+\\.\\d{2} – – – Rename Delete$`));
    // one bar chart per metric (no votes yet: no win-rate chart)
    for (const m of ['trainLoss', 'heldoutLoss', 'perplexity']) expect(await page.getByTestId(`chart-${m}`).locator('rect').count()).toBe(2);
    expect(await page.getByTestId('chart-winRate').count()).toBe(0);
  });

  it('renames a run from the keyboard', async () => {
    const page = s.page;
    await page.getByRole('button', { name: 'Rename Run 2' }).click();
    const input = page.getByLabel('New name for Run 2');
    await expect.poll(() => input.evaluate((el) => el === document.activeElement)).toBe(true);
    // Escape leaves the name as it was
    await input.fill('never mind');
    await input.press('Escape');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Rename Run 2');
    await page.keyboard.press('Enter'); // the focused Rename button, from the keyboard
    await expect.poll(() => input.evaluate((el) => el === document.activeElement)).toBe(true);
    await input.fill('Hot LR 0.02');
    await input.press('Enter');
    await expect.poll(async () => (await page.getByTestId('run-row-2').locator('th').textContent()) ?? '').toContain('Hot LR 0.02');
    // focus goes back to the row's Rename button
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Rename Hot LR 0.02');
  });

  it('compares run 1 vs run 2 in blind mode and keeps the vote', async () => {
    const page = s.page;
    await blindCompare(page, 'Run 1', 'Hot LR 0.02', 'Write a story about a boy named Tom.', 12);
    const a = (await page.getByTestId('output-a').textContent()) ?? '';
    const b = (await page.getByTestId('output-b').textContent()) ?? '';
    console.log('run 1:', a, '\nrun 2:', b);
    expect(a.length).toBeGreaterThan(5);
    expect(b.length).toBeGreaterThan(5);
    await page.locator('#compare').screenshot({ path: path.join(SCREENSHOTS, 'runs-compare-blind.png') });
    await page.getByRole('group', { name: 'Which answer is better?' }).getByRole('button', { name: 'A', exact: true }).click();
    const rate = page.getByTestId('win-rate');
    await expect.poll(async () => (await rate.textContent()) ?? '').toMatch(/Hot LR 0\.02 won [01] of 1 decided votes against Run 1 \(0 ties\): win rate (0|100)%, 95% interval/);
    expect(await page.locator('#compare h3', { hasText: 'Model A' }).count()).toBe(0); // revealed
    // the table counts the vote for both runs, one won and one lost
    const wins = await Promise.all([1, 2].map(async (i) => ((await page.getByTestId(`run-row-${i}`).locator('td').nth(7).textContent()) ?? '').replace(/\s+/g, ' ').trim()));
    console.log('win rates:', wins);
    expect(wins.sort()).toEqual(['0% of 1', '100% of 1']);
    expect(await page.getByTestId('chart-winRate').locator('rect').count()).toBe(2);
    await page.locator('#compare').screenshot({ path: path.join(SCREENSHOTS, 'runs-compare-voted.png') });
    await page.locator('#runs').screenshot({ path: path.join(SCREENSHOTS, 'runs-table.png') });
  });

  it('scores the base model and both runs on a multiple-choice file', async () => {
    const page = s.page;
    const file = path.join(ROOT, 'test-results', 'mc-3.jsonl');
    const items = [
      { question: 'Once upon a time, there was a little girl named Lily.', choices: ['Tom', 'Lily', 'Max'], answer: 1 },
      { question: 'Tom had a red ball. He liked to play with his', choices: ['ball', 'car'], answer: 'A' },
      { question: 'The sun was', choices: ['hot', 'blue', 'sad'], answer: 0 },
      { question: 'broken row' },
    ];
    fs.writeFileSync(file, items.map((i) => JSON.stringify(i)).join('\n'));
    await page.getByTestId('mc-input').setInputFiles(file);
    await expect.poll(async () => (await page.locator('#runs').textContent()) ?? '').toContain('mc-3.jsonl');
    const t0 = Date.now();
    await page.getByTestId('mc-run').click();
    const base = page.getByTestId('mc-base');
    await base.waitFor({ timeout: 150_000 });
    console.log(((await base.textContent()) ?? '').replace(/\s+/g, ' '), `(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    expect((await base.textContent()) ?? '').toMatch(/Base model on mc-3\.jsonl: acc \d+\.\d% ?, acc_norm \d+\.\d% over 3 items \(1 row of the file not usable\)\./);
    for (const i of [1, 2]) await expect.poll(async () => ((await page.getByTestId(`run-row-${i}`).getByTestId('run-mc').textContent()) ?? '').trim()).toMatch(/^\d+% \(\d+%\)$/);
    expect(await page.getByTestId('chart-mcAcc').locator('rect').count()).toBeGreaterThanOrEqual(0);
    await page.locator('#runs').screenshot({ path: path.join(SCREENSHOTS, 'runs-table-mc.png') });
  });

  it('exports the table as CSV', async () => {
    const page = s.page;
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-csv').click()]);
    expect(dl.suggestedFilename()).toBe('lima-runs.csv');
    const lines = fs.readFileSync((await dl.path())!, 'utf8').trim().split('\r\n');
    console.log(lines.join('\n'));
    const header = lines[0].split(',');
    expect(header.slice(0, 11)).toEqual(['run', 'name', 'model', 'dataset', 'samples', 'steps', 'total_steps', 'state', 'final_train_loss', 'heldout_loss', 'heldout_perplexity']);
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
    expect(rows.map((r) => [r.run, r.name, r.dataset, r.samples, r.steps, r.state])).toEqual([
      ['1', 'Run 1', 'tinystories-instruct-1k.jsonl', '950', String(STEPS), 'done'],
      ['2', 'Hot LR 0.02', 'tinystories-instruct-1k.jsonl', '950', String(STEPS), 'done'],
    ]);
    for (const r of rows) {
      expect(Number(r.heldout_loss)).toBeGreaterThan(0);
      expect(Number(r.heldout_perplexity)).toBeCloseTo(Math.exp(Number(r.heldout_loss)), 2);
    }
    expect(rows.map((r) => Number(r.votes_won) + Number(r.votes_lost))).toEqual([1, 1]);
    expect(rows.map((r) => [r.mc_set, r.mc_items])).toEqual([
      ['mc-3.jsonl', '3'],
      ['mc-3.jsonl', '3'],
    ]);
    for (const r of rows) expect(Number(r.mc_acc)).toBeGreaterThanOrEqual(0);
  });
});
