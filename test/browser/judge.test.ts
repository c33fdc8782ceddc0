/**
 * The model judge in the page (issue 11 part 3), on stories260K-hf: a 2-step
 * smoke run, one blind vote base vs run 1 in Compare, then stories260K-hf
 * loaded a second time as the judge from its files. The two picks answer the
 * first held-out instructions, the judge compares each pair in both orders.
 * stories260K is not instruction-tuned, so most of its verdicts are expected
 * unparsed: the test asserts that the page counts what it got honestly (every
 * pair judged twice, ties and unparsed apart from the decided pairs, the same
 * counts in the result line, the per-pair table and the runs table), not
 * what the judge decided. Then Stop ends a long run without a result, and a
 * judge comes from the Hub (a route handler serving stories260K-hf's files).
 * Screenshot of the panel.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, SCREENSHOTS, type Session } from './harness';
import { HF_DIR, HF_FILES, setUpSmokeRun } from './helpers';

const STEPS = 2;
const PAIRS = 3;
const BASE = 'Base model (adapter off)';

describe('model judge: load, answer, judge in both orders, beside the votes', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  const text = async (testid: string) => ((await s.page.getByTestId(testid).textContent()) ?? '').replace(/\s+/g, ' ').trim();

  it('trains a smoke run and takes one blind vote, base vs run 1', async () => {
    const page = s.page;
    await setUpSmokeRun(page, STEPS);
    await page.getByTestId('train-start').click();
    await expect.poll(() => text('train-status'), { timeout: 150_000 }).toMatch(new RegExp(`done · step ${STEPS} of ${STEPS}.*Run 1`));
    await expect.poll(async () => (await page.getByTestId('compare-b').inputValue()), { timeout: 30_000 }).toBe('run:1');
    await page.getByLabel('Blind mode').check();
    await page.getByTestId('compare-prompt').fill('Write a story about a boy named Tom.');
    await page.getByLabel('Max new tokens').fill('12');
    await page.getByTestId('compare-run').click();
    await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 120_000 }).toBe(true);
    await page.getByRole('group', { name: 'Which answer is better?' }).getByRole('button', { name: 'Tie', exact: true }).click();
    await expect.poll(() => text('win-rate')).toMatch(/won 0 of 0 decided votes .*\(1 ties\)/);
  });

  it('loads stories260K-hf as the judge from files, beside the model under test', async () => {
    const page = s.page;
    // the judge's controls wait for a judge
    expect(await page.getByTestId('judge-run').isEnabled()).toBe(false);
    await page.getByTestId('judge-files').setInputFiles(HF_FILES);
    await expect.poll(() => text('judge-status'), { timeout: 120_000 }).toMatch(/^Judge: local judge, [\d.]+K parameters · \d+ layers · context 512 · weights [\d.]+ (KiB|MiB) \(f32\) on the GPU beside the model under test · no chat template/);
    expect(await text('judge-no-template')).toContain('has no chat template');
    // the model under test is still the one loaded in step 1
    expect(await text('model-status')).toMatch(/stories260K-hf|local model/);
    expect(await text('judge-noisy')).toMatch(/A small judge is noisy\. A 0\.5B judge's verdicts are close to chance/);
  });

  it(`judges ${PAIRS} pairs base vs run 1 in both orders and shows the counts as they are`, async () => {
    const page = s.page;
    expect(await page.getByTestId('judge-a').inputValue()).toBe('base');
    expect(await page.getByTestId('judge-b').inputValue()).toBe('run:1');
    await page.getByTestId('judge-count').fill(String(PAIRS));
    await page.getByTestId('judge-tokens').fill('8');
    expect(await text('judge-panel')).toContain(`Both models answer the first ${PAIRS} held-out instructions of tinystories-instruct-1k.jsonl`);
    const t0 = Date.now();
    await page.getByTestId('judge-run').click();
    // progress while it works, then the result
    await page.locator('#judge progress').waitFor({ timeout: 30_000 });
    await page.getByTestId('judge-result').waitFor({ timeout: 300_000 });
    console.log(`judged in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const line = await text('judge-result');
    console.log(line);
    const m = line.match(/^Judge: Run 1 beat Base model \(adapter off\) in (\d+) of (\d+) decided pairs? \((\d+) ties?, (\d+) unparsed\)(.*)/);
    expect(m, line).not.toBeNull();
    const [wins, decided, ties, unparsed] = m!.slice(1, 5).map(Number);
    expect(decided + ties + unparsed).toBe(PAIRS);
    expect(wins).toBeLessThanOrEqual(decided);
    if (decided === 0) expect(m![5]).toContain('no decided pair, so no win rate');
    else expect(m![5]).toMatch(/win rate \d+%, 95% interval \d+%–\d+% \(Wilson\)/);
    const replies = line.match(new RegExp(`${PAIRS} pairs judged in both orders by local judge \\(${2 * PAIRS} replies, (\\d+) unparsed\\)`));
    expect(replies, line).not.toBeNull();
    const unparsedReplies = Number(replies![1]);
    // an unparsed pair has at least one unparsed reply, at most two
    expect(unparsedReplies).toBeGreaterThanOrEqual(unparsed);
    expect(unparsedReplies).toBeLessThanOrEqual(2 * unparsed);

    // the per-pair table holds the same counts: both verdicts per pair, each with the judge's raw reply
    await page.getByText('Every pair: the answers and both verdicts').click();
    const rows = page.getByTestId('judge-pairs').locator('tbody tr');
    expect(await rows.count()).toBe(PAIRS);
    let unparsedCells = 0;
    const outcomes: string[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const cells = (await rows.nth(i).locator('td').allTextContents()).map((c) => c.trim());
      console.log(`pair ${i + 1}:`, JSON.stringify(cells));
      expect(cells[0].length).toBeGreaterThan(10); // the held-out instruction
      expect(cells[1].length + cells[2].length).toBeGreaterThan(0); // the two answers
      for (const c of [3, 4]) {
        // the verdict, then the judge's reply as generated
        const verdict = (await rows.nth(i).locator('td').nth(c).locator('[data-verdict]').textContent()) ?? '';
        expect(['Base model (adapter off)', 'Run 1', 'tie', 'unparsed']).toContain(verdict);
        expect(cells[c].slice(verdict.length)).toMatch(/^(“.+”|\(empty reply\))$/s);
        if (verdict === 'unparsed') unparsedCells++;
      }
      outcomes.push(cells[5]);
    }
    expect(unparsedCells).toBe(unparsedReplies);
    expect(outcomes.filter((o) => o === 'unparsed').length).toBe(unparsed);
    expect(outcomes.filter((o) => o === 'tie').length).toBe(ties);
    expect(outcomes.filter((o) => o === 'Run 1').length).toBe(wins);

    // people, the same pair, the same definition: the one blind vote was a tie
    expect(await text('judge-human')).toBe(`People: Run 1 won 0 of 0 decided blind votes against ${BASE} (1 tie).`);

    // the runs table: the judge's result for run 1 against base
    const cell = await page.getByTestId('run-row-1').getByTestId('run-judge').textContent();
    expect((cell ?? '').replace(/\s+/g, ' ').trim()).toBe(decided ? `${Math.round((100 * wins) / decided)}% of ${decided}` : `${ties} ties · ${unparsed} unparsed`);

    await page.locator('#judge').screenshot({ path: path.join(SCREENSHOTS, 'judge-panel.png') });
  });

  it('stops a long run without a result', async () => {
    const page = s.page;
    await page.getByTestId('judge-tokens').fill('200');
    await page.getByTestId('judge-count').fill('10');
    await page.getByTestId('judge-run').click();
    await page.locator('#judge progress').waitFor({ timeout: 30_000 });
    await page.getByTestId('judge-stop').click();
    await expect.poll(async () => (await page.locator('#judge [role=alert]').textContent()) ?? '', { timeout: 120_000 }).toMatch(/^Stopped: no result/);
    // the previous result stays; the controls are back
    expect(await text('judge-result')).toMatch(/^Judge: Run 1 beat Base model/);
    await expect.poll(() => page.getByTestId('judge-run').isEnabled()).toBe(true);
    await page.locator('#judge').screenshot({ path: path.join(SCREENSHOTS, 'judge-stopped.png') });
  });

  it('downloads a judge from the Hub into the model cache; a missing repository is named', async () => {
    const page = s.page;
    const CORS = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'Content-Length' };
    const asked: string[] = [];
    await page.route('https://huggingface.co/**', (route) => {
      const rel = new URL(route.request().url()).pathname.slice(1);
      asked.push(rel);
      const m = /^test\/tiny-judge\/resolve\/main\/(.+)$/.exec(rel);
      const file = m && path.join(HF_DIR, m[1]);
      if (!file || !fs.existsSync(file)) return route.fulfill({ status: 404, headers: CORS, body: 'Entry not found' });
      return route.fulfill({ status: 200, headers: CORS, body: fs.readFileSync(file) });
    });
    await page.getByTestId('judge-hub-repo').fill('not a repo');
    await page.getByTestId('judge-hub-load').click();
    await expect.poll(async () => (await page.locator('#judge [role=alert]').textContent()) ?? '').toMatch(/"not a repo" is not a Hub repository: write it as owner\/name/);

    await page.getByTestId('judge-hub-repo').fill('test/missing');
    await page.getByTestId('judge-hub-load').click();
    await expect
      .poll(async () => (await page.locator('#judge [role=alert]').textContent()) ?? '', { timeout: 30_000 })
      .toMatch(/^Could not download the judge test\/missing: https:\/\/huggingface\.co\/test\/missing\/resolve\/main\/config\.json answered 404/);

    await page.getByTestId('judge-hub-repo').fill('https://huggingface.co/test/tiny-judge');
    await page.getByTestId('judge-hub-load').click();
    await expect.poll(() => text('judge-status'), { timeout: 120_000 }).toMatch(/^Judge: test\/tiny-judge, [\d.]+K parameters/);
    expect(await page.locator('#judge [role=alert]').count()).toBe(0);
    // every file a judge is read from, the optional ones included (stories260K-hf has them all)
    expect(asked.filter((a) => a.startsWith('test/tiny-judge/')).sort()).toEqual(
      ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => `test/tiny-judge/resolve/main/${f}`),
    );
    // kept in the model cache: offered there, and loaded from it without the Hub
    await expect.poll(() => page.getByTestId('judge-cached').locator('option', { hasText: 'test/tiny-judge' }).count(), { timeout: 30_000 }).toBe(1);
    asked.length = 0;
    await page.getByTestId('judge-hub-load').click();
    // the button may still read enabled right after the click: wait for the status the load ends with
    await expect.poll(() => text('judge-status'), { timeout: 120_000 }).toMatch(/^Judge: test\/tiny-judge, [\d.]+K parameters/);
    await expect.poll(() => page.getByTestId('judge-hub-load').isEnabled(), { timeout: 30_000 }).toBe(true);
    expect(asked).toEqual([]);
    await page.unroute('https://huggingface.co/**');
  });
});
