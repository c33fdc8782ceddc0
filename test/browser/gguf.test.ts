/**
 * A GGUF in the page (issue 22 item 1), with the real SmolLM2-135M-Instruct
 * Q4_1 (94 MB): picked in the model panel, its header shows parameters,
 * tensor types, the chat template and the GPU memory estimate the catalogue
 * rows show (with the same warning at a budget too small) before anything is
 * uploaded; the matrices stay on the GPU as the file's Q4_1 and Q8_0 blocks
 * (Frozen weights: Auto keeps a GGUF as stored; 16-bit would take bf16);
 * Load reads the File in the worker with byte progress, the
 * weights take on the device what the memory model said, and the model
 * answers through its ChatML template in Compare. It is kept in the model
 * cache as its Blob: listed, and loaded from there after a reload. A
 * truncated copy (its first 10 MB), dropped on the zone, is an error that
 * names the file, the tensor and the offset (a file that is not a GGUF at
 * all says so); Load stays disabled, and the loaded model is as it was (the
 * same device bytes) and still answers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobByteSource } from '../../src/engine/io/byte_source';
import { readGgufHeader } from '../../src/engine/io/gguf';
import { ggufSummary } from '../../src/engine/io/gguf_model';
import { frozenWeightBytes, type ModelShape } from '../../src/engine/memory_model';
import { fmtBytes } from '../../src/ui/lib/format';
import { frozenSizes } from '../../src/worker/frozen_sizes';
import { smolGguf } from '../helpers/python';
import { openReadyApp, ROOT, type Session } from './harness';

const NAME = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const squash = (t: string | null) => (t ?? '').replace(/\s+/g, ' ').trim();

/** Drops a file on the model panel's drop zone, as a DataTransfer of the File (the page never reads it whole). */
async function dropOnModelZone(page: Page, file: string): Promise<void> {
  // a throwaway input gets the File from its path (no copy through the protocol), then it is dropped
  await page.evaluate(() => {
    const i = document.createElement('input');
    i.type = 'file';
    i.id = 'drop-source';
    i.hidden = true;
    document.body.append(i);
  });
  await page.locator('#drop-source').setInputFiles(file);
  await page.evaluate(() => {
    const input = document.getElementById('drop-source') as HTMLInputElement;
    const dt = new DataTransfer();
    dt.items.add(input.files![0]);
    const zone = document.querySelector('#model [aria-label="Model files"]')!;
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    input.remove();
  });
}

/** Asks Compare for an answer (both sides are the base model) and waits for it; no error may be shown. Returns side A's text. */
async function answer(page: Page, prompt: string): Promise<string> {
  await page.getByTestId('compare-prompt').fill(prompt);
  await page.getByTestId('compare-run').click();
  await expect.poll(() => page.getByTestId('compare-stop').isEnabled(), { timeout: 10_000 }).toBe(true);
  await expect.poll(() => page.getByTestId('compare-run').isEnabled(), { timeout: 300_000 }).toBe(true);
  expect(await page.locator('#compare [role="alert"]').count()).toBe(0);
  return squash(await page.getByTestId('output-a').textContent());
}

describe('a GGUF in the model panel', () => {
  let s: Session;
  let shape: ModelShape;
  /** device bytes of the frozen weights as the file stores them (Q4_1 and Q8_0 blocks) and at 16 bits (bf16) */
  let stored: number;
  const bf16 = 271_197_440; // 258.6 MiB
  let cut: string;
  beforeAll(async () => {
    const file = smolGguf();
    const g = await ggufSummary(blobByteSource(new Blob([fs.readFileSync(file)]), NAME));
    shape = g.config;
    const h = await readGgufHeader(blobByteSource(new Blob([fs.readFileSync(file)]), NAME));
    const sizes = frozenSizes(h.tensors.filter((t) => t.shape.length === 2).map((t) => ({ type: t.typeName, rows: t.shape[0], cols: t.shape[1] })));
    expect(sizes.stored.format).toBe('Q4_1 + Q8_0');
    stored = frozenWeightBytes(shape, sizes.stored.bytes);
    expect(stored).toBe(98_673_920); // bench/memory_quantized.ts measured this on the device
    cut = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lima-gguf-')), 'SmolLM2-cut.gguf');
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 10_000_000));
    s = await openReadyApp();
    s.page.on('framenavigated', (f) => f === s.page.mainFrame() && console.log(`page navigated: ${f.url()}`));
    s.page.on('crash', () => console.log('page crashed'));
    s.page.on('worker', (w) => w.on('close', () => console.log(`worker closed: ${w.url()}`)));
  });
  afterAll(async () => {
    await s?.close();
    if (cut) fs.rmSync(path.dirname(cut), { recursive: true, force: true });
  });

  it('shows the header and the memory estimate before anything is uploaded', async () => {
    const page = s.page;
    await page.getByTestId('model-files').setInputFiles(smolGguf());
    const card = page.getByTestId('gguf-card');
    const summary = card.getByTestId('gguf-summary');
    await summary.waitFor({ timeout: 60_000 });
    const text = squash(await summary.textContent());
    const types = squash(await card.getByTestId('gguf-types').textContent());
    console.log('summary:', text, '\ntypes:', types);
    expect(text).toContain('Smollm2 135M 8k Lc100K Mix1 Ep2 · llama · 134.5M parameters (134,515,008)');
    expect(text).toContain('30 layers · hidden 576 · 9 heads (3 key/value) · vocabulary 49,152');
    expect(text).toContain('has a chat template');
    expect(types).toMatch(new RegExp(`^Tensors: Q4_1 × 210 · F32 × 61 · Q8_0 × 1\\. On the GPU the matrices are kept at 5\\.\\d-bit \\(Q4_1 \\+ Q8_0, as stored\\): about ${fmtBytes(stored).replace('.', '\\.')} for the weights\\.$`));
    expect(frozenWeightBytes(shape, 2)).toBe(bf16);
    const estimate = squash(await card.getByTestId('memory-estimate').textContent());
    console.log('estimate:', estimate);
    expect(estimate).toMatch(new RegExp(`^With your settings \\(batch \\d+ × \\d+ tokens, rank \\d+.*\\): ~[\\d.]+ (MiB|GiB) = weights ${fmtBytes(stored).replace('.', '\\.')} · adapter`));
    // 16-bit dequantizes the blocks to bf16: the card says so, and the estimate grows to it
    await page.getByTestId('frozen-16').check();
    await expect.poll(async () => squash(await card.getByTestId('gguf-types').textContent())).toContain('kept at 16-bit (bf16): about 258.6 MiB for the weights.');
    await page.getByTestId('frozen-auto').check();
    expect(await page.getByTestId('model-status').textContent()).toContain('No model loaded yet');
    expect(await card.getByTestId('gguf-load').isEnabled()).toBe(true);
    await page.locator('#model').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'gguf-header.png') });

    // a budget the weights alone do not fit: the same warning as a catalogue row
    await page.getByTestId('memory-budget').fill('0.08');
    const warning = card.getByTestId('memory-warning');
    await warning.waitFor({ timeout: 10_000 });
    console.log('warning at 0.08 GiB:', squash(await warning.textContent()));
    expect(squash(await warning.textContent())).toContain(`No setting fits: the weights alone need ${fmtBytes(stored)}.`);
    await page.getByTestId('memory-budget').fill('4');
    await expect.poll(() => card.getByTestId('memory-warning').count()).toBe(0);
  });

  it('loads it with progress, its weights as estimated, and answers through its chat template', async () => {
    const page = s.page;
    // every state the progress bar goes through
    await page.evaluate(() => {
      const w = window as unknown as { progressSeen: string[] };
      w.progressSeen = [];
      new MutationObserver(() => {
        const p = document.querySelector('[data-testid="model-progress"]');
        const seen = p ? `${p.getAttribute('aria-label')} ${p.getAttribute('value') ?? '-'}/${p.getAttribute('max') ?? '-'}` : null;
        if (seen && w.progressSeen.at(-1) !== seen) w.progressSeen.push(seen);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    const t0 = Date.now();
    await page.getByTestId('gguf-load').click();
    await page.getByTestId('model-status').getByText('parameters').waitFor({ timeout: 300_000 });
    const seconds = (Date.now() - t0) / 1000;
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
    console.log(`loaded in ${seconds.toFixed(1)} s; progress: ${seen.length} states, ${seen.slice(0, 2).join(' | ')} … ${seen.slice(-3).join(' | ')}`);
    expect(seen.some((x) => /^Reading SmolLM2-135M-Instruct\.Q4_1\.gguf [1-9]\d*\/96576768$/.test(x))).toBe(true);
    expect(seen).toContain('Reading SmolLM2-135M-Instruct.Q4_1.gguf 96576768/96576768');
    expect(seen.at(-1)).toBe('Uploading weights to the GPU -/-');
    const status = squash(await page.getByTestId('model-status').textContent());
    console.log('status:', status);
    expect(status).toContain(`${NAME} loaded: 134.5M parameters (134,515,008) · 30 layers`);
    await expect.poll(async () => Number(await page.getByTestId('gpu-memory').getAttribute('data-weights')), { timeout: 30_000 }).toBe(stored);
    expect(await page.getByTestId('gguf-card').count()).toBe(0);
    // kept in the model cache, as loaded
    const cached = page.getByTestId('cached-locals');
    await expect.poll(async () => squash(await cached.textContent()), { timeout: 60_000 }).toContain(`${NAME} · 93.8 MiB loaded load delete`);
    expect(await cached.getByRole('button', { name: `Load ${NAME}` }).isDisabled()).toBe(true);

    // through the model's own chat template (ChatML), greedy
    await page.locator('#data').getByRole('combobox', { name: /^Prompt template/ }).selectOption('model');
    await page.getByRole('button', { name: 'Use the demo dataset' }).click();
    await page.getByTestId('dataset-report').waitFor({ timeout: 120_000 });
    await page.getByLabel('Temperature').fill('0');
    await page.getByLabel('Repetition penalty').fill('1');
    await page.getByLabel('Max new tokens').fill('12');
    const t1 = Date.now();
    const text = await answer(page, 'What is the capital of France?');
    console.log(`answer in ${((Date.now() - t1) / 1000).toFixed(1)} s: ${JSON.stringify(text)}`);
    expect(text.length).toBeGreaterThan(0);
    expect(text).toContain('Paris');
    await page.locator('#compare').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'gguf-compare.png') });
  });

  it('a truncated copy says where it broke, and the loaded model stays and answers', async () => {
    const page = s.page;
    const memory = page.getByTestId('gpu-memory');
    const weights = await memory.getAttribute('data-weights');
    await dropOnModelZone(page, cut);
    const error = page.getByTestId('gguf-error');
    await error.waitFor({ timeout: 60_000 });
    const text = squash(await error.textContent());
    console.log('error:', text);
    expect(text).toBe(
      'Cannot load this file: SmolLM2-cut.gguf: is cut short: tensor "token_embd.weight" needs bytes 1785664..31866688 but the file ends at 10000000 (truncated download?)',
    );
    expect(await error.getAttribute('role')).toBe('alert');
    expect(await page.getByTestId('gguf-load').isDisabled()).toBe(true);
    expect(squash(await page.getByTestId('model-status').textContent())).toContain(`${NAME} loaded`);
    expect(await memory.getAttribute('data-weights')).toBe(weights);
    await page.locator('#model').screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'gguf-truncated.png') });
    expect(await answer(page, 'What is the capital of France?')).toContain('Paris');
    // the broken file was not cached
    expect(squash(await page.getByTestId('cached-locals').textContent())).not.toContain('SmolLM2-cut.gguf');
    // nor is a file that only has the name
    const notes = path.join(path.dirname(cut), 'notes.gguf');
    fs.writeFileSync(notes, JSON.stringify({ this: 'is not a model at all' }));
    await page.getByTestId('model-files').setInputFiles(notes);
    await expect.poll(async () => squash(await page.getByTestId('gguf-error').textContent()), { timeout: 30_000 }).toContain('Cannot load this file: notes.gguf: does not start with "GGUF"');
    console.log('not a GGUF:', squash(await page.getByTestId('gguf-error').textContent()));
    expect(squash(await page.getByTestId('model-status').textContent())).toContain(`${NAME} loaded`);
    await page.getByTestId('gguf-card').getByRole('button', { name: 'Dismiss' }).click();
    expect(await page.getByTestId('gguf-card').count()).toBe(0);
  });

  it('loads again from the model cache after a reload', async () => {
    const page = s.page;
    await page.reload();
    await page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    const load = page.getByTestId('cached-locals').getByRole('button', { name: `Load ${NAME}` });
    await load.waitFor({ timeout: 30_000 });
    const t0 = Date.now();
    await load.click();
    await page.getByTestId('model-status').getByText('parameters').waitFor({ timeout: 300_000 });
    console.log(`loaded from the cache in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(squash(await page.getByTestId('model-status').textContent())).toContain(`${NAME} loaded: 134.5M parameters`);
    await expect.poll(async () => Number(await page.getByTestId('gpu-memory').getAttribute('data-weights')), { timeout: 30_000 }).toBe(stored);
  });
});
