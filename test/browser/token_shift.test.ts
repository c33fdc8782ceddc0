/**
 * Compare's "What changed, token by token" (issue 15 item 1, URIAL's token
 * shift) on stories260K-hf after a short run: base vs Run 1, then the run's
 * answer coloured by shift class from the ids the comparison generated. The
 * coloured tokens read back as the answer shown, the summary's shares add up
 * to 100%, the legend and the most-shifted list render and the list counts a
 * second answer; a comparison of Run 1 with itself leaves the button off with
 * its reason, and so does blind mode until the vote. Screenshot of the view.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, SCREENSHOTS, type Session } from './harness';
import { compareBoth, setUpSmokeRun } from './helpers';

const STEPS = 4;

describe('token shift in Compare', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  const text = async (testid: string) => ((await s.page.getByTestId(testid).textContent()) ?? '').replace(/\s+/g, ' ').trim();

  /** clicks the button and waits for the view of the run's answer; returns the tokens' texts */
  async function analyse(): Promise<string[]> {
    const page = s.page;
    await expect.poll(() => page.getByTestId('shift-run').isEnabled(), { timeout: 10_000 }).toBe(true);
    await page.getByTestId('shift-run').click();
    await page.getByTestId('shift-summary').waitFor({ timeout: 120_000 });
    await expect.poll(() => page.getByTestId('shift-run').isEnabled(), { timeout: 120_000 }).toBe(true);
    return page.getByTestId('shift-token').locator('.piece').allTextContents();
  }

  it('trains a short run', async () => {
    const page = s.page;
    expect(await page.getByTestId('shift-run').isEnabled()).toBe(false);
    expect(await text('shift-blocker')).toBe('Run a comparison of the base model and a run first.');
    await setUpSmokeRun(page, STEPS);
    await page.getByLabel('Learning rate', { exact: true }).fill('0.02'); // enough change in 4 steps to see shifted tokens
    await page.getByTestId('train-start').click();
    await expect.poll(() => text('train-status'), { timeout: 150_000 }).toMatch(new RegExp(`done · step ${STEPS} of ${STEPS}.*Run 1`));
    await expect.poll(() => page.getByTestId('compare-b').inputValue(), { timeout: 30_000 }).toBe('run:1');
  });

  it("shows Run 1's answer coloured by shift class, summarised, with the most-shifted tokens", async () => {
    const page = s.page;
    expect(await page.getByTestId('compare-a').inputValue()).toBe('base');
    await page.getByLabel('Temperature').fill('0'); // greedy, as URIAL decodes
    await page.getByLabel('Max new tokens').fill('24');
    await compareBoth(s.page, 'Write a story about a girl named Amy.');
    const answer = (await page.getByTestId('output-b').textContent()) ?? '';
    console.log('base:', await page.getByTestId('output-a').textContent(), '\nrun 1:', answer);
    expect(answer.length).toBeGreaterThan(5);

    const t0 = Date.now();
    const pieces = await analyse();
    console.log(`analysed ${pieces.length} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s:`, JSON.stringify(pieces));
    const cut = (await page.getByTestId('shift-answer').locator('.cut').allTextContents()).join('');
    expect(pieces.join('') + cut).toBe(answer);
    expect(await page.getByTestId('shift-answer').textContent()).toBe(answer); // nothing between the tokens
    expect(pieces.length).toBeGreaterThan(3);

    const summary = await text('shift-summary');
    console.log('summary:', summary);
    const m = summary.match(/Run 1's answer, (\d+) tokens: unshifted (\d+)% \((\d+)\) · marginal (\d+)% \((\d+)\) · shifted (\d+)% \((\d+)\)\./);
    expect(m).not.toBeNull();
    const [n, pu, cu, pm, cm, ps, cs] = m!.slice(1).map(Number);
    expect(n).toBe(pieces.length);
    expect(pu + pm + ps).toBe(100);
    expect(cu + cm + cs).toBe(n);
    // the classes on the page are the counts in the summary
    for (const [cls, c] of [['unshifted', cu], ['marginal', cm], ['shifted', cs]] as const) expect(await page.getByTestId('shift-answer').locator(`.stok.${cls}`).count()).toBe(c);
    if (cs) expect(summary).toMatch(/\d+ of the \d+ shifted tokens \(\d+%\) sit in the first quarter of the answer, which holds \d+% of its tokens\./);
    else expect(summary).toContain('No token is shifted.');

    const legend = await text('shift-legend');
    expect(legend).toContain("unshifted: the base model's first choice");
    expect(legend).toContain('marginal: its second or third');
    expect(legend).toContain('shifted: ranked lower');
    // each token's figures: on hover (title) and on focus (the live detail line)
    const title = (await page.getByTestId('shift-token').first().getAttribute('title')) ?? '';
    expect(title).toMatch(/: (unshifted|marginal|shifted) · base rank \d+ · p base [\d.e-]+ · p tuned [\d.e-]+ · KL \d+\.\d{3} nats · base model's top 3: “.*” [\d.e-]+, “.*” [\d.e-]+, “.*” [\d.e-]+$/);
    await page.getByTestId('shift-token').first().focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => text('shift-detail')).toMatch(new RegExp(`^Token 2 of ${n}: .* base rank \\d+`));
    // a token the base model ranks first has rank 1 in its figures
    const firstUnshifted = page.getByTestId('shift-answer').locator('.stok.unshifted').first();
    if (cu) expect(await firstUnshifted.getAttribute('title')).toContain('base rank 1 ');

    const top = await text('shift-top');
    console.log('top:', top);
    expect(top).toContain('Most shifted tokens so far (1 answer analysed)');
    // one entry per shifted text, most frequent first, adding up to the shifted count
    const items = (await page.getByTestId('shift-top').locator('li').allTextContents()).map((t) => t.trim());
    const counts = items.map((t) => Number(t.match(/ ×(\d+)$/)?.[1]));
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(counts).toEqual([...counts].sort((x, y) => y - x));
    const sum = counts.reduce((a, b) => a + b, 0);
    if (items.length < 15) expect(sum).toBe(cs); // the whole list: every shifted token counted once
    else expect(sum).toBeLessThanOrEqual(cs);
    await page.locator('#compare').screenshot({ path: path.join(SCREENSHOTS, 'token-shift.png') });
  });

  it('counts a second answer in the most-shifted list', async () => {
    const page = s.page;
    await compareBoth(s.page, 'Write a story about a boy named Tom.');
    expect(await page.getByTestId('shift-summary').count()).toBe(0); // the view was the last comparison's
    await analyse();
    await expect.poll(() => text('shift-top')).toContain('(2 answers analysed)');
  });

  it('is off, with its reason, when both sides are the same run', async () => {
    const page = s.page;
    await page.getByTestId('compare-a').selectOption({ label: 'Run 1' });
    await page.getByLabel('Max new tokens').fill('4');
    await compareBoth(s.page, 'Write a story about a cat.');
    expect(await page.getByTestId('shift-run').isEnabled()).toBe(false);
    expect(await text('shift-blocker')).toBe('Both sides are the same model: compare the base model with a run.');
  });

  it('waits for the vote in blind mode (naming the tuned side would give it away)', async () => {
    const page = s.page;
    await page.getByTestId('compare-a').selectOption({ label: 'Base model (adapter off)' });
    await page.getByLabel('Blind mode').check();
    await compareBoth(s.page, 'Write a story about a dog.');
    expect(await page.getByTestId('shift-run').isEnabled()).toBe(false);
    expect(await text('shift-blocker')).toBe('Vote first: naming the tuned side would give the blind test away.');
    await page.getByRole('group', { name: 'Which answer is better?' }).getByRole('button', { name: 'Tie', exact: true }).click();
    await expect.poll(() => page.getByTestId('shift-run').isEnabled()).toBe(true);
  });
});
