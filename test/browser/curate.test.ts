/**
 * Curate for quality and diversity (issue 15 item 3, page) on stories260K-hf
 * and the 1k TinyStories rows with 10 planted near-duplicates (rows 1–10
 * again, one word changed): the map has one circle per training row the
 * filters keep, the near-duplicate list names the planted pairs by line,
 * "Pick 50 diverse" makes a 50-row subset, a short run trains on it (the runs
 * table counts 50 samples and names the subset; the subset survives the
 * re-tokenization at the smoke preset's Max length), and the download holds
 * 50 rows of the file, as they were, in file order; a second run on it,
 * paused, the page reloaded and the run resumed, says it trains on the
 * subset. Screenshots of the panel.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, SCREENSHOTS, type Session } from './harness';
import { loadDataset, loadModelFiles, need, TINYSTORIES } from './helpers';

const STEPS = 2;

describe('curate the dataset', () => {
  let s: Session;
  let file: string;
  let lines: string[];
  beforeAll(async () => {
    need(TINYSTORIES);
    const original = fs.readFileSync(TINYSTORIES, 'utf8').split('\n').filter((l) => l.trim());
    const planted = original.slice(0, 10).map((l) => {
      const row = JSON.parse(l) as { instruction: string; response: string };
      return JSON.stringify({ ...row, response: row.response.replace(/\bday\b/, 'morning').replace(/\bhappy\b/, 'glad') + ' The end.' });
    });
    lines = [...original, ...planted];
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lima-curate-')), 'stories-planted.jsonl');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  const text = async (testid: string) => ((await s.page.getByTestId(testid).textContent()) ?? '').replace(/\s+/g, ' ').trim();
  let trainRows = 0;

  it('maps the training rows and lists the planted near-duplicates by line', async () => {
    const page = s.page;
    await loadModelFiles(page);
    await page.getByLabel('Held out for validation').selectOption('0.05');
    await loadDataset(page, file, '1,010');
    trainRows = Number((await page.getByText('Training rows', { exact: true }).locator('xpath=following-sibling::dd[1]').textContent())?.replace(/,/g, ''));
    expect(trainRows).toBeGreaterThan(900);

    const t0 = Date.now();
    await page.getByTestId('curate-run').click();
    await expect.poll(() => page.getByTestId('curate-stop').isEnabled(), { timeout: 20_000 }).toBe(true);
    await page.getByTestId('curate-stats').waitFor({ timeout: 240_000 });
    console.log(`curated ${trainRows} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s:`, await text('curate-stats'));
    expect(await page.getByTestId('curate-stop').isEnabled()).toBe(false);

    const stats = await text('curate-stats');
    const m = stats.match(/^([\d,]+) training rows; ([\d,]+) kept by the filters/);
    expect(m).not.toBeNull();
    expect(Number(m![1].replace(/,/g, ''))).toBe(trainRows);
    const kept = Number(m![2].replace(/,/g, ''));
    const dropped = (await page.getByTestId('curate-dropped').count()) ? await page.getByTestId('curate-dropped').locator('li').allTextContents() : [];
    const droppedRows = dropped.reduce((n, d) => n + Number(d.match(/^Dropped (\d+)/)![1]), 0);
    expect(kept).toBe(trainRows - droppedRows);
    expect(await page.getByTestId('diversity-map').locator('circle.pt').count()).toBe(kept);

    // the planted copies of lines 1–10 are lines 1001–1010; those whose pair both trains form groups
    const groups = await page.getByTestId('curate-groups').locator('li').allTextContents();
    console.log(`${groups.length} near-duplicate groups:`, groups.slice(0, 12).join(' | '));
    const planted = groups.filter((g) => /^lines (\d+), 10(0[1-9]|10)$/.test(g.trim()) && Number(g.match(/^lines (\d+)/)![1]) + 1000 === Number(g.trim().split(', ')[1]));
    expect(planted.length).toBeGreaterThanOrEqual(5);

    // hover names a row and its prompt
    const map = page.getByTestId('diversity-map');
    await map.focus();
    await page.keyboard.press('ArrowRight');
    expect(await text('map-active')).toMatch(/^line \d+ · cluster \d+: \S/);
    const clusters = await page.getByTestId('curate-clusters').locator('tbody tr').count();
    expect(clusters).toBe(8);

    // Keep one of each: the subset loses the later row of each group
    const all = await text('curate-summary');
    await page.getByTestId('curate-one-each').click();
    await expect.poll(() => text('curate-summary')).toContain('near-duplicates removed');
    const n = (t: string) => Number(t.match(/Subset: ([\d,]+) of/)![1].replace(/,/g, ''));
    expect(n(await text('curate-summary'))).toBe(n(all) - groups.reduce((k, g) => k + g.split(',').length - 1, 0));
    await page.getByTestId('curate-panel').screenshot({ path: path.join(SCREENSHOTS, 'curate-map.png') });
  });

  it('picks 50 diverse rows and trains on them', async () => {
    const page = s.page;
    await page.getByTestId('curate-n').fill('50');
    await page.getByTestId('curate-pick').click();
    await expect.poll(() => text('curate-summary'), { timeout: 240_000 }).toMatch(new RegExp(`^Subset: 50 of ${trainRows.toLocaleString('en-US')} training rows \\(50 diverse \\(k-center\\) of ${trainRows}, near-duplicates removed`));
    await page.getByTestId('curate-use').check();
    await expect.poll(() => text('curate-active')).toContain('Training uses a curated subset: 50 rows (50 diverse (k-center)');
    expect(await text('stats-subset')).toBe('trains on a curated subset of 50');

    await page.getByText('Smoke test: 3 steps').click(); // Max length 128: the rows are tokenized again, the subset stays
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Max steps (0: epochs decide)').fill(String(STEPS));
    await page.getByLabel('Validation loss every N steps').fill('0');
    await page.getByTestId('train-start').click();
    await expect
      .poll(() => text('train-status'), { timeout: 150_000 })
      .toMatch(new RegExp(`done · step ${STEPS} of ${STEPS}.*Run 1`))
      .catch(async (e) => {
        console.log('train panel:', ((await page.locator('#train').textContent()) ?? '').replace(/\s+/g, ' ').slice(0, 1500));
        throw e;
      });
    expect(await text('curate-active')).toContain('50 rows');

    const row = page.getByTestId('run-row-1');
    await expect.poll(() => row.locator('td').nth(1).textContent(), { timeout: 30_000 }).toBe('50');
    expect(await row.getByTestId('run-subset').textContent()).toMatch(new RegExp(`^subset: 50 diverse \\(k-center\\) of ${trainRows}, near-duplicates removed`));
    await page.locator('#runs').screenshot({ path: path.join(SCREENSHOTS, 'curate-runs-table.png') });
    await page.getByTestId('curate-panel').screenshot({ path: path.join(SCREENSHOTS, 'curate-subset.png') });
  });

  it('downloads the 50 rows as they were in the file, in file order', async () => {
    const page = s.page;
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('curate-download').click()]);
    expect(dl.suggestedFilename()).toBe('stories-planted-subset-50.jsonl');
    const got = fs.readFileSync((await dl.path())!, 'utf8').split('\n').filter((l) => l);
    expect(got.length).toBe(50);
    const at = got.map((l) => lines.findIndex((x) => JSON.stringify(JSON.parse(x)) === JSON.stringify(JSON.parse(l))));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(new Set(at).size).toBe(50);
  });

  it('a run on the subset, resumed after a reload, says it trains on the subset', async () => {
    const page = s.page;
    const status = async () => ((await page.getByTestId('train-status').textContent()) ?? '').replace(/\s+/g, ' ');
    await page.getByLabel('Max steps (0: epochs decide)').fill('4');
    await page.getByTestId('train-start').click();
    await expect.poll(status, { timeout: 150_000 }).toMatch(/step [1-3] of 4/);
    await page.getByTestId('train-pause').click();
    await expect.poll(status, { timeout: 120_000 }).toMatch(/^\s*paused/);

    await page.reload();
    const resume = page.getByTestId('train-resume-saved');
    await resume.waitFor({ timeout: 60_000 });
    await resume.click();
    await expect.poll(() => text('curate-active'), { timeout: 120_000 }).toMatch(new RegExp(`^Training uses a curated subset: 50 rows \\(50 diverse \\(k-center\\) of ${trainRows}`));
    await expect.poll(status, { timeout: 240_000 }).toMatch(/done · step 4 of 4/);
    expect(await page.getByTestId('curate-run').isEnabled()).toBe(false); // the page has no file to curate
    await expect.poll(() => text('curate-panel')).toContain('load the file again to curate it');
    const row = page.getByTestId('run-row-2');
    expect(await row.locator('td').nth(1).textContent()).toBe('50');
    expect(await row.getByTestId('run-subset').textContent()).toContain('subset: 50 diverse (k-center)');
    await page.getByTestId('curate-panel').screenshot({ path: path.join(SCREENSHOTS, 'curate-restored.png') });
  });
});
