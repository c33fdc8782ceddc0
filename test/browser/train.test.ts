/**
 * Training in the page, end to end on stories260K-hf: a few tiny steps
 * (batch 2, max length 128), pause, reload the page and resume from the
 * IndexedDB checkpoint, finish (the fixed prompts sampled every 2 steps); then base vs tuned completions and the PEFT
 * adapter download (its keys checked).
 */
import fs from 'node:fs';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, screenshot, type Session } from './harness';
import { setUpSmokeRun } from './helpers';

const STEPS = 4;

/** The files of a downloaded zip, read by fflate (not by the page's own code path). */
function unzipNames(b: Buffer): Map<string, Buffer> {
  return new Map(Object.entries(unzipSync(new Uint8Array(b))).map(([n, d]) => [n, Buffer.from(d)]));
}

describe('training in the page', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  const status = () => s.page.getByTestId('train-status').textContent().then((t) => t ?? '');

  it('trains a few tiny steps, pauses, and resumes after a reload', async () => {
    const page = s.page;
    await setUpSmokeRun(page, STEPS);
    await page.getByLabel('Sample the fixed prompts every N steps').fill('2');
    expect(await page.getByLabel('Batch size', { exact: true }).inputValue()).toBe('2');
    expect(await page.getByLabel('Max length (tokens)').first().inputValue()).toBe('128');
    const t0 = Date.now();
    await page.getByTestId('train-start').click();
    await expect.poll(status, { timeout: 150_000 }).toMatch(/step 1 of 4/);
    console.log(`first step after ${((Date.now() - t0) / 1000).toFixed(1)} s:`, await status());
    expect(await status()).toMatch(/loss \d+\.\d+/);
    await page.getByTestId('train-pause').click();
    await expect.poll(status, { timeout: 120_000 }).toMatch(/^\s*paused/);
    const pausedAt = Number(/step (\d+)/.exec(await status())![1]);
    console.log('paused at step', pausedAt);
    await expect.poll(() => page.getByTestId('loss-chart').getAttribute('aria-label')).toContain(`${pausedAt} training steps`);
    await screenshot(page, 'train-paused');

    await page.reload();
    const resume = page.getByTestId('train-resume-saved');
    await resume.waitFor({ timeout: 60_000 });
    await resume.click();
    await expect
      .poll(status, { timeout: 240_000 })
      .toMatch(new RegExp(`done · step ${STEPS} of ${STEPS}`))
      .catch(async (e) => {
        console.log('train panel:', ((await page.locator('#train').textContent()) ?? '').replace(/\s+/g, ' ').slice(0, 1500));
        throw e;
      });
    console.log(`done after ${((Date.now() - t0) / 1000).toFixed(1)} s:`, await status());
    // the fixed prompts were sampled at step 4 (every 2 steps), greedy, as text
    const samples = page.getByTestId('train-samples');
    await expect.poll(async () => (await samples.textContent()) ?? '', { timeout: 120_000 }).toContain('step 4');
    const sampleText = ((await samples.locator('li').first().textContent()) ?? '').replace(/\s+/g, ' ');
    console.log('samples at step 4:', sampleText.slice(0, 300));
    expect(sampleText.length).toBeGreaterThan(40);
    // the chart kept the steps from before the reload
    expect(await page.getByTestId('loss-chart').getAttribute('aria-label')).toContain(`${STEPS} training steps`);
    expect(await page.getByTestId('model-status').textContent()).toMatch(/260\.0K parameters/);
    // GPU memory counted at the device: the restored adapter with its AdamW moments, and the training peak
    const memory = page.getByTestId('gpu-memory');
    await expect.poll(async () => Number(await memory.getAttribute('data-peak')), { timeout: 30_000 }).toBeGreaterThan(0);
    const memText = ((await memory.textContent()) ?? '').replace(/\s+/g, ' ').trim();
    console.log('memory after training:', memText);
    expect(memText).toMatch(/^GPU memory: weights 1\.0 MiB · adapter \d+ KiB · peak [\d.]+ (KiB|MiB) · /);
    expect(Number(await memory.getAttribute('data-adapter'))).toBeGreaterThan(0);
    expect(await status()).toMatch(/GPU memory [\d.]+ (KiB|MiB) \(peak [\d.]+ (KiB|MiB) over weights and adapter\)/);
    await screenshot(page, 'train-done');
  });

  it('compares base and the run, the adapter swapped on the same weights', async () => {
    const page = s.page;
    // the defaults: the base model vs the newest run
    expect(await page.getByTestId('compare-a').inputValue()).toBe('base');
    expect(await page.getByTestId('compare-b').locator('option:checked').textContent()).toBe('Run 1');
    await page.getByTestId('compare-prompt').fill('Write a story about a boy named Tom.');
    await page.getByLabel('Max new tokens').fill('20');
    await page.getByTestId('compare-run').click();
    await expect.poll(async () => ((await page.getByTestId('output-b').textContent()) ?? '').length, { timeout: 120_000 }).toBeGreaterThan(5);
    await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 60_000 }).toBe(true);
    const base = (await page.getByTestId('output-a').textContent()) ?? '';
    const tuned = (await page.getByTestId('output-b').textContent()) ?? '';
    console.log('base :', base, '\ntuned:', tuned);
    expect(base.length).toBeGreaterThan(5);
    await screenshot(page, 'compare');
  });

  it('blind mode hides the sides until a vote and keeps a win rate; held-out loss of base and the run', async () => {
    const page = s.page;
    await page.getByLabel('Blind mode').check();
    await page.getByLabel('Max new tokens').fill('8');
    await page.getByTestId('compare-run').click();
    await expect.poll(() => page.locator('#compare h3', { hasText: 'Model A' }).count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 120_000 }).toBe(true);
    await page.getByRole('group', { name: 'Which answer is better?' }).getByRole('button', { name: 'A', exact: true }).click();
    // the vote is kept in IndexedDB first; the tally follows it
    const rate = page.getByTestId('win-rate');
    await expect.poll(async () => (await rate.textContent()) ?? '', { timeout: 10_000 }).toMatch(/of 1 decided vote/);
    console.log(await rate.textContent());
    expect((await rate.textContent()) ?? '').toMatch(/Run 1 won [01] of 1 decided votes against Base model \(adapter off\) \(0 ties\): win rate (0|100)%, 95% interval/);
    expect(await page.locator('#compare h3', { hasText: 'Model A' }).count()).toBe(0); // revealed
    await page.getByLabel('Held-out rows to score').selectOption('8');
    const t0 = Date.now();
    await page.getByTestId('heldout-run').click();
    const held = page.getByTestId('heldout');
    await held.waitFor({ timeout: 120_000 });
    const text = (await held.textContent()) ?? '';
    console.log(text.replace(/\s+/g, ' '), `(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    expect(text).toMatch(/Base model \(adapter off\) loss \d\.\d{3}.*Run 1 loss \d\.\d{3}/s);
  });

  it('downloads the adapter in PEFT format', async () => {
    const page = s.page;
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-adapter').click()]);
    expect(dl.suggestedFilename()).toMatch(/^lora-.*\.zip$/);
    const files = unzipNames(fs.readFileSync((await dl.path())!));
    expect([...files.keys()].sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const config = JSON.parse(files.get('adapter_config.json')!.toString());
    expect(config).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16 });
    const st = files.get('adapter_model.safetensors')!;
    const n = Number(st.readBigUInt64LE(0));
    const keys = Object.keys(JSON.parse(st.subarray(8, 8 + n).toString())).filter((k) => k !== '__metadata__');
    console.log(keys.length, 'tensors, e.g.', keys[0]);
    expect(keys).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(keys).toContain('base_model.model.model.layers.4.mlp.down_proj.lora_B.weight');
    expect(keys.length).toBe(5 * 7 * 2);

    // the same zip imports back onto the model
    await page.getByTestId('import-adapter').setInputFiles((await dl.path())!);
    await page.getByText('Imported a rank-8 adapter').waitFor({ timeout: 60_000 });
  });

  it('exports the run recipe: processed JSONL and TRL/Axolotl configs', async () => {
    const page = s.page;
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-recipe').click()]);
    const files = unzipNames(fs.readFileSync((await dl.path())!));
    expect([...files.keys()].sort()).toEqual(['README.txt', 'axolotl.yaml', 'run.json', 'train.jsonl', 'train_peft.py', 'train_tokens.jsonl', 'trl_sft.yaml', 'validation.jsonl', 'validation_tokens.jsonl']);
    const rows = files.get('train.jsonl')!.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBe(950);
    expect(rows[0].prompt).toMatch(/^Instruction: .*\nResponse:$/);
    expect(rows[0].completion.length).toBeGreaterThan(10);
    const trl = files.get('trl_sft.yaml')!.toString();
    expect(trl).toContain('completion_only_loss: true');
    expect(trl).toContain('lora_r: 8');
    expect(trl).toContain('max_length: 128');
    expect(files.get('axolotl.yaml')!.toString()).toContain('train_on_inputs: false');
  });
});
