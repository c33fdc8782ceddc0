/**
 * Compare's Input box on Alpaca (alpaca-1k.jsonl, 392 of its 1,000 rows have
 * an `input`): choosing a held-out prompt whose row has an input fills the
 * Instruction and the Input boxes with that row's fields, Raw text hides the
 * Input box (raw mode sends the instruction alone), and a comparison with
 * the input goes through the worker. Screenshot of the filled boxes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, screenshot, SCREENSHOTS, type Session } from './harness';
import { ALPACA, loadModelFiles, need } from './helpers';

describe("Compare's Input box", () => {
  let s: Session;
  beforeAll(async () => {
    need(ALPACA);
    s = await openReadyApp();
    await loadModelFiles(s.page);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("fills the Input box from a held-out Alpaca row's input", async () => {
    const page = s.page;
    await page.getByLabel('Held out for validation').selectOption('0.05');
    await page.getByTestId('dataset-input').setInputFiles(ALPACA);
    const select = page.getByTestId('compare-heldout');
    await select.waitFor({ timeout: 120_000 });
    const rows = fs
      .readFileSync(ALPACA, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { instruction: string; input: string });
    const options = await select.locator('option').count();
    let found = -1;
    for (let i = 0; i < options - 1 && found < 0; i++) {
      await select.selectOption(String(i));
      if ((await page.getByTestId('compare-input').inputValue()) !== '') found = i;
    }
    expect(found).toBeGreaterThanOrEqual(0);
    const instruction = await page.getByTestId('compare-prompt').inputValue();
    const input = await page.getByTestId('compare-input').inputValue();
    // the row's own fields: its instruction and its input
    expect(rows.some((r) => r.instruction === instruction && r.input === input)).toBe(true);
    expect(await select.locator('option').nth(found + 1).textContent()).toBe(instruction.length > 70 ? instruction.slice(0, 70) + '…' : instruction);
    expect(await page.getByLabel('Input (optional)').inputValue()).toBe(input); // labelled
    console.log(`held-out prompt ${found + 1}: ${JSON.stringify(instruction)} with input ${JSON.stringify(input)}`);
    await screenshot(page, 'compare-heldout-input');
    await page.locator('#compare .ask').screenshot({ path: path.join(SCREENSHOTS, 'compare-heldout-input-boxes.png') });

    // raw text sends the instruction alone: no Input box
    const raw = page.getByLabel('Raw text (no prompt template)');
    await raw.check();
    await expect.poll(() => page.getByTestId('compare-input').count()).toBe(0);
    await raw.uncheck();
    await expect.poll(() => page.getByTestId('compare-input').inputValue()).toBe(input);

    // a comparison with the input goes through (only the base model: nothing trained)
    await page.getByLabel('Max new tokens').fill('8');
    await page.getByTestId('compare-run').click();
    await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 120_000 }).toBe(true);
    expect(await page.locator('#compare [role=alert]').count()).toBe(0);
    await expect.poll(() => page.locator('#compare p', { hasText: / tokens · [\d.]+ tok\/s · / }).count(), { timeout: 30_000 }).toBe(1);
  });
});
