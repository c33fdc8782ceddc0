/**
 * The dataset report's details (issue 12): a JSON array's rows are named by
 * their place in the array (not "line 1"), TRL's conversational
 * prompt–completion rows are read and named, and an empty file says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, ROOT, screenshot, type Session } from './harness';
import { ALPACA, loadModelFiles, need } from './helpers';

const DIR = path.join(ROOT, 'test-results', 'dataset-report');

function write(name: string, body: string): string {
  fs.mkdirSync(DIR, { recursive: true });
  const file = path.join(DIR, name);
  fs.writeFileSync(file, body);
  return file;
}

const reportText = async (s: Session) => ((await s.page.getByTestId('dataset-report').textContent()) ?? '').replace(/\s+/g, ' ');

describe('dataset report: rows of a JSON array, TRL rows, an empty file', () => {
  let s: Session;
  beforeAll(async () => {
    need(ALPACA);
    s = await openReadyApp();
    await loadModelFiles(s.page);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('names the rows of a one-line JSON array by their place in it: errors, warnings and the sample viewer', async () => {
    const rows = fs
      .readFileSync(ALPACA, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(0, 200)
      .map((l) => JSON.parse(l) as unknown);
    // row 201 repeats row 1; row 202 is no object
    await s.page.getByTestId('dataset-input').setInputFiles(write('alpaca-200.json', JSON.stringify([...rows, rows[0], 42])));
    await expect.poll(() => reportText(s), { timeout: 120_000 }).toMatch(/201 usable rows/);
    const text = await reportText(s);
    console.log('array report:', text.slice(0, 400));
    expect(text).toContain('read as a JSON array');
    expect(text).toContain('1 row repeats an earlier row exactly (row 201 of the array)');
    const cell = s.page.getByTestId('dataset-report').locator('tr td:first-child');
    await expect.poll(() => cell.allTextContents()).toEqual(['row 202 of the array']);
    expect(text).not.toMatch(/\blines? 1\b/);
    const viewer = s.page.getByTestId('sample-viewer');
    await expect.poll(async () => (await viewer.textContent()) ?? '', { timeout: 60_000 }).toMatch(/Training row 1 of \d+ \(from row \d+ of the array\)/);
    await screenshot(s.page, 'dataset-report-json-array');
    await s.page.locator('#data').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'dataset-report-json-array-panel.png') });
  });

  it("reads TRL's conversational prompt–completion rows and names the format", async () => {
    const trl = [
      { prompt: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What color is the sky?' }], completion: [{ role: 'assistant', content: 'It is blue.' }] },
      { prompt: [{ role: 'user', content: 'Name a fruit.' }], completion: [{ role: 'assistant', content: 'A pear.' }] },
    ];
    await s.page.getByTestId('dataset-input').setInputFiles(write('trl.jsonl', trl.map((r) => JSON.stringify(r)).join('\n')));
    await expect.poll(() => reportText(s), { timeout: 120_000 }).toMatch(/2 usable rows/);
    expect(await reportText(s)).toContain('format conversational-prompt-completion (TRL conversational prompt–completion');
    await expect.poll(async () => (await s.page.getByTestId('dataset-stats').textContent()) ?? '').toMatch(/System messages\s*1 row, written into the prompt/);
    await s.page.locator('#data').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'dataset-report-trl-panel.png') });
  });

  it('says that an empty file is empty', async () => {
    await s.page.getByTestId('dataset-input').setInputFiles(write('empty.jsonl', ''));
    await expect.poll(() => reportText(s), { timeout: 120_000 }).toContain('the file is empty (0 bytes)');
    expect(await reportText(s)).not.toContain('no known training format');
    await s.page.locator('#data').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'dataset-report-empty.png') });
  });
});
