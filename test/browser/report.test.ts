/**
 * The experiment report (issue 16 item 4), end to end on stories260K-hf: the
 * Download report button waits (with its reason) until there is something to
 * report; after a 2-step run, one blind comparison whose prompt holds a
 * <script> tag, a vote and Compare's held-out loss, the downloaded file opens
 * in Chromium on its own (file://, no server, no script in it), the prompt
 * is text, and its numbers are the page's: steps, final loss, validation
 * loss, held-out loss base vs tuned, the vote and the runs row.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, SCREENSHOTS, type Session } from './harness';
import { setUpSmokeRun } from './helpers';

const STEPS = 2;
const PROMPT = 'Write a story about <script>alert("boo")</script> a boy named Tom.';

describe('experiment report', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  const text = async (testid: string) => ((await s.page.getByTestId(testid).textContent()) ?? '').replace(/\s+/g, ' ').trim();

  it('keeps the button disabled, saying why, until there is something to report', async () => {
    const button = s.page.getByTestId('download-report');
    expect(await button.isDisabled()).toBe(true);
    expect(await text('report-why')).toMatch(/Load a model and train a run first/);
  });

  it('writes a report after a short run and a comparison that matches the page', async () => {
    const page = s.page;
    await setUpSmokeRun(page, STEPS);
    await page.getByTestId('train-start').click();
    await expect.poll(() => text('train-status'), { timeout: 150_000 }).toMatch(new RegExp(`done · step ${STEPS} of ${STEPS}.*validation loss \\d\\.\\d+`));
    const status = await text('train-status');
    const modelName = ((await page.getByTestId('model-status').locator('strong').first().textContent()) ?? '').trim();
    const modelParams = (await text('model-status')).match(/loaded: (\S+) parameters \(([\d,]+)\)/)!;
    const finalLoss = status.match(/· loss (\d+\.\d{4})/)![1];
    const valLoss = status.match(/validation loss (\d+\.\d{4})/)![1];
    console.log('page:', status);

    // one blind comparison, base vs Run 1, and a vote
    await page.getByTestId('compare-a').selectOption({ label: 'Base model (adapter off)' });
    await page.getByTestId('compare-b').selectOption({ label: 'Run 1' });
    await page.getByLabel('Blind mode').check();
    await page.getByTestId('compare-prompt').fill(PROMPT);
    await page.getByLabel('Max new tokens').fill('12');
    await page.getByTestId('compare-run').click();
    await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 120_000 }).toBe(true);
    const outA = ((await page.getByTestId('output-a').textContent()) ?? '').trim();
    await page.getByRole('group', { name: 'Which answer is better?' }).getByRole('button', { name: 'A', exact: true }).click();
    await expect.poll(() => text('win-rate'), { timeout: 30_000 }).toMatch(/Run 1 won [01] of 1 decided votes against Base model/);
    const runWon = (await text('win-rate')).includes('won 1 of 1');

    // held-out loss of both on 8 rows
    await page.getByLabel('Held-out rows to score').selectOption('8');
    await page.getByTestId('heldout-run').click();
    await expect.poll(() => text('heldout'), { timeout: 120_000 }).toMatch(/Run 1 loss \d\.\d{3}/);
    const held = [...(await text('heldout')).matchAll(/loss (\d+\.\d{3})/g)].map((m) => m[1]);
    expect(held).toHaveLength(2);
    const runHeldout = await page.getByTestId('run-row-1').getByTestId('run-heldout').textContent();

    const button = page.getByTestId('download-report');
    await expect.poll(() => button.isEnabled()).toBe(true);
    expect(await page.getByTestId('report-why').count()).toBe(0);
    const [dl] = await Promise.all([page.waitForEvent('download'), button.click()]);
    expect(dl.suggestedFilename()).toMatch(/^lima-report-\d{8}-\d{4}\.html$/);
    const file = path.join(SCREENSHOTS, '..', 'report.html');
    await dl.saveAs(file);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link|src="http/i); // self-contained
    console.log(`report: ${html.length} characters`);

    // open the file on its own, as the user would
    const view = await s.browser.newPage();
    try {
      await view.setViewportSize({ width: 1000, height: 800 });
      await view.goto(`file://${file}`);
      await view.screenshot({ path: path.join(SCREENSHOTS, 'report.png'), fullPage: true });
      const field = async (name: string) => ((await view.locator(`[data-field="${name}"]`).first().textContent()) ?? '').trim();
      expect(await view.locator('script').count()).toBe(0);
      expect(await field('model-name')).toBe(modelName);
      expect(await field('model-params')).toBe(modelParams[1]);
      expect((await view.locator('section').first().textContent()) ?? '').toContain(`(${modelParams[2]})`);
      expect(await field('dataset-name')).toBe('tinystories-instruct-1k.jsonl');
      expect(await field('steps')).toBe(String(STEPS));
      expect(await field('total-steps')).toBe(String(STEPS));
      expect(await field('final-loss')).toBe(finalLoss);
      expect(await field('val-loss')).toBe(valLoss);
      expect(await field('heldout-loss-0')).toBe(held[0]);
      expect(await field('heldout-loss-1')).toBe(held[1]);
      expect(await view.locator('[data-setting="maxSteps"]').textContent()).toBe(String(STEPS));
      expect(await view.locator('[data-setting="evalEvery"]').textContent()).toBe('0');
      // the prompt is text, the vote and win rate as the page counted them
      expect(((await view.locator('[data-comparison="1"] .prompt').textContent()) ?? '').trim()).toBe(PROMPT);
      if (outA) expect((await view.locator('[data-comparison="1"]').textContent()) ?? '').toContain(outA.slice(0, 20));
      expect(await field('vote')).toBe(`vote: ${runWon ? 'Run 1' : 'Base model (adapter off)'} better`);
      expect(await field('win-rate')).toMatch(runWon ? /^100% \(21%–100%\) of 1$/ : /^0% \(0%–79%\) of 1$/);
      // the runs table: the same held-out loss as the page's row
      const row = ((await view.locator('tr[data-run="1"]').textContent()) ?? '').replace(/\s+/g, ' ');
      console.log('report runs row:', row);
      expect(row).toContain(`${STEPS} / ${STEPS}`);
      expect(row).toContain(runHeldout!.trim());
      // the loss chart has the run's points
      expect((await view.locator('svg.chart polyline.train').getAttribute('points'))!.split(' ')).toHaveLength(STEPS);
    } finally {
      await view.close();
    }
  });
});
