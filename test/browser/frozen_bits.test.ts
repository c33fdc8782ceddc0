/**
 * The Frozen weights choice in the model panel (issue 23: QLoRA in a tab,
 * src/ui/lib/frozen_bits.ts): a labelled radio group (Auto, 16-bit, 8-bit,
 * 4-bit), Auto by default, arrow keys move the choice, and the choice is kept
 * across a reload. Catalogue rows show the memory estimate at 16, 8 and 4
 * bits and mark the one a load gets: at a budget that holds Qwen2.5-1.5B's
 * run only at 4 bits (computed from the memory model here), Auto picks 4-bit
 * and says why, while stories260K stays as it is stored (f32: it fits, and
 * rounding it would change the demo for nothing); a fixed choice moves the
 * estimate to its bits. With 4-bit chosen, the built-in stories260K loads as
 * Q4_0 blocks (its weights take what the memory model says, far less than
 * f32), the panel offers to reload it when the choice changes, and Compare
 * answers over the 4-bit base; 3 smoke steps train over it and the run
 * records its bits. A setup link's frozen=8 loads its model at 8 bits.
 */
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frozenWeightBytes } from '../../src/engine/memory_model';
import { fmtBytes } from '../../src/ui/lib/format';
import { decideFrozenBits, tryResidency } from '../../src/ui/lib/frozen_bits';
import { CATALOGUE, entryQuery } from '../../src/ui/lib/hub';
import { entrySizes } from '../../src/ui/lib/model_basis';
import { openReadyApp, screenshot, SCREENSHOTS, type Session } from './harness';
import { compareBoth } from './helpers';

const GiB = 2 ** 30;
const squash = (t: string | null) => (t ?? '').replace(/\s+/g, ' ').trim();
const text = async (l: Locator) => squash(await l.textContent());
// the setup link's training settings: small enough that a 1.5B model's run is mostly its weights
const SETTINGS = { rank: 8, batchSize: 1, maxLength: 128, optimizer: 'adamw' as const };
const qwen = CATALOGUE.find((e) => e.id === 'qwen2.5-1.5b-instruct')!;
const stories = CATALOGUE.find((e) => e.id === 'stories260K')!;

/** A budget (GiB) between Qwen2.5-1.5B's run at 4 bits and at 8 bits, Save memory on at both (the least each can take). */
function fourBitOnlyBudget(): number {
  const base = entryQuery(qwen, SETTINGS);
  const roomy = { budgetBytes: 64 * GiB, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 31 };
  const total = (bits: 8 | 4) => tryResidency(bits, entrySizes(qwen), base, 'on', roomy).save.with.total;
  const budget = Number(((total(4) + total(8)) / 2 / GiB).toFixed(3));
  // the page's own rule at that budget picks 4 bits (the loss chunk shrinks with the budget; the pick must not move)
  const d = decideFrozenBits('auto', entrySizes(qwen), base, 'auto', { ...roomy, budgetBytes: budget * GiB });
  expect(d.residency).toBe(4);
  expect(d.noneFits).toBe(false);
  return budget;
}

/** The row's estimate at each choice of its table, in its order (residency → total bytes), and which one is picked. */
async function bitsTable(row: Locator): Promise<{ order: string[]; totals: Record<string, number>; picked: string }> {
  const spans = row.getByTestId('memory-bits').locator('[data-bits]');
  const order: string[] = [];
  const totals: Record<string, number> = {};
  let picked = '';
  for (const s of await spans.all()) {
    const bits = (await s.getAttribute('data-bits'))!;
    order.push(bits);
    totals[bits] = Number(await s.getAttribute('data-total'));
    if ((await s.getAttribute('data-picked')) === 'true') picked = bits;
  }
  return { order, totals, picked };
}

const estimateTotal = async (row: Locator) => Number(await row.getByTestId('memory-estimate').getAttribute('data-total'));

async function choose(page: Page, bits: 'auto' | 16 | 8 | 4): Promise<void> {
  await page.getByTestId(`frozen-${bits}`).check();
}

describe('Frozen weights: 16-bit / 8-bit / 4-bit / Auto', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
    await s.page.goto(`${s.url}?rank=${SETTINGS.rank}&batch=${SETTINGS.batchSize}&maxLength=${SETTINGS.maxLength}`);
    await s.page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('is a labelled radio group, Auto by default, moved by the arrow keys and kept across a reload', async () => {
    const page = s.page;
    const group = page.getByRole('group', { name: 'Frozen weights on the GPU' });
    const radios = group.getByRole('radio');
    expect(await radios.count()).toBe(4);
    for (const [name, checked] of [['Auto', true], ['16-bit', false], ['8-bit', false], ['4-bit', false]] as const)
      expect(await group.getByRole('radio', { name }).isChecked(), name).toBe(checked);
    // described: what it does, and what 4-bit costs in quality
    const described = (await group.getAttribute('aria-describedby'))!.split(' ');
    expect(await text(page.locator(`#${described[0]}`))).toMatch(/quantized on upload to 8-bit \(Q8_0\) or 4-bit \(Q4_0\) blocks/);
    const quality = await text(page.locator(`#${described[1]}`));
    console.log('quality note:', quality);
    expect(quality).toMatch(/^4-bit keeps 16 levels per block of 32 weights/);

    await group.getByRole('radio', { name: 'Auto' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await group.getByRole('radio', { name: '16-bit' }).isChecked()).toBe(true);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await group.getByRole('radio', { name: '4-bit' }).isChecked()).toBe(true);
    await page.reload();
    await page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    expect(await page.getByRole('group', { name: 'Frozen weights on the GPU' }).getByRole('radio', { name: '4-bit' }).isChecked()).toBe(true);
    await choose(page, 'auto');
  });

  it('Auto picks 4-bit for Qwen2.5-1.5B at a small budget and says why; stories260K stays as stored', async () => {
    const page = s.page;
    const budget = fourBitOnlyBudget();
    await page.getByTestId('memory-budget').fill(String(budget));
    const row = page.getByTestId(`catalogue-${qwen.id}`);
    await expect.poll(async () => (await bitsTable(row)).picked, { timeout: 10_000 }).toBe('4');
    const { order, totals } = await bitsTable(row);
    console.log(`budget ${budget} GiB; Qwen2.5-1.5B at 16/8/4 bits:`, order.map((b) => `${(totals[b] / GiB).toFixed(2)} GiB`).join(' / '));
    expect(order).toEqual(['16', '8', '4']);
    expect(totals['16']).toBeGreaterThan(totals['8']);
    expect(totals['8']).toBeGreaterThan(budget * GiB);
    expect(totals['4']).toBeLessThan(budget * GiB);
    const reason = await text(row.getByTestId('frozen-auto-reason'));
    console.log('reason:', reason);
    expect(reason).toMatch(/^Auto: 4-bit \(~[\d.]+ [GM]iB\), the most bits that fit your [\d.]+ [GM]iB budget: 16-bit needs ~[\d.]+ GiB, 8-bit needs ~[\d.]+ [GM]iB\.$/);
    expect(await text(row.getByTestId('memory-estimate'))).toMatch(/^With your settings \(batch 1 × 128 tokens, rank 8, 4-bit frozen weights(, Save memory on)?\): ~/);
    expect(await estimateTotal(row)).toBe(totals['4']);
    expect(await row.getByTestId('memory-warning').count()).toBe(0);
    // the weights the estimate counts: the memory model's at Q4_0's 18 bytes per 32 weights
    expect(await text(row.getByTestId('memory-estimate'))).toContain(`= weights ${fmtBytes(frozenWeightBytes(qwen.shape, 18 / 32))} ·`);

    const tiny = page.getByTestId(`catalogue-${stories.id}`);
    const t = await bitsTable(tiny);
    expect(t.order).toEqual(['stored', '16', '8', '4']);
    expect(t.picked).toBe('stored');
    expect(await tiny.getByTestId('frozen-auto-reason').count()).toBe(0); // its first try fits: the ✓ says it
    expect(await text(tiny.getByTestId('memory-bits'))).toMatch(/^At 32-bit \(f32, as stored\) ~[\d.]+ [KM]iB ✓ · 16-bit ~/);
    expect(await text(tiny.getByTestId('memory-estimate'))).not.toContain('frozen weights');
    await screenshot(page, 'frozen-bits-page');
    await page.locator('#model').screenshot({ path: path.join(SCREENSHOTS, 'frozen-bits-model-panel.png') });
    await page.locator('#model fieldset.frozen').screenshot({ path: path.join(SCREENSHOTS, 'frozen-bits-choice.png') });
    await row.screenshot({ path: path.join(SCREENSHOTS, 'frozen-bits-qwen-row.png') });
  });

  it('the estimates follow a fixed choice; one that does not fit warns and points to Auto', async () => {
    const page = s.page;
    const row = page.getByTestId(`catalogue-${qwen.id}`);
    const { totals } = await bitsTable(row);
    for (const bits of [16, 8, 4] as const) {
      await choose(page, bits);
      await expect.poll(() => estimateTotal(row), { timeout: 10_000 }).toBe(totals[String(bits)]);
      expect((await bitsTable(row)).picked).toBe(String(bits));
      expect(await row.getByTestId('frozen-auto-reason').count()).toBe(0);
    }
    await choose(page, 16);
    const warning = row.getByTestId('memory-warning');
    await warning.waitFor({ timeout: 10_000 });
    expect(await text(warning.getByTestId('frozen-hint'))).toMatch(/^At 4-bit frozen weights these settings fit \(~[\d.]+ [GM]iB\)\.$/);
    await warning.getByRole('button', { name: 'Use Frozen weights: Auto' }).click();
    await expect.poll(() => row.getByTestId('memory-warning').count(), { timeout: 10_000 }).toBe(0);
    expect(await page.getByTestId('frozen-auto').isChecked()).toBe(true);
  });

  it('loads stories260K at 4 bits as Q4_0 blocks, offers a reload when the choice changes, and Compare answers over the 4-bit base', async () => {
    const page = s.page;
    await page.getByTestId('memory-budget').fill('4');
    await choose(page, 4);
    const status = page.getByTestId('model-status');
    await page.getByTestId(`catalogue-${stories.id}`).getByTestId('load-bundled').click();
    await status.getByText('parameters').waitFor({ timeout: 120_000 });
    console.log('status:', await text(status));
    expect(await text(page.getByTestId('model-frozen'))).toMatch(/^Q4_0, 4\.\d+ bits a weight$/);
    // the device's bytes are the memory model's at the mean bytes a weight of Q4_0 rows (the 172-wide down_proj padded to 192)
    const weights4 = Number(await page.getByTestId('gpu-memory').getAttribute('data-weights'));
    const q4 = frozenWeightBytes(stories.shape, meanBytes(stories, 4));
    const f32 = frozenWeightBytes(stories.shape, 4);
    console.log(`weights at 4 bits: ${weights4} B on the device, ${q4} B by the memory model; f32 ${f32} B`);
    expect(Math.abs(weights4 - q4)).toBeLessThanOrEqual(64); // each block's bytes rounded up to whole 4-byte words
    expect(weights4).toBeLessThan(f32 / 2);
    expect(await page.getByTestId('frozen-reload').count()).toBe(0); // the choice is what is loaded

    await compareBoth(page, 'Once upon a time');
    const a = await text(page.getByTestId('output-a'));
    console.log('4-bit base answers:', a);
    expect(a.length).toBeGreaterThan(5);

    // a 4-bit base trains: the smoke preset's 3 steps, the run records the bits (TrainConfig.frozenBits), and the tuned side answers
    await page.getByRole('button', { name: 'Use the demo dataset' }).click();
    await page.getByTestId('dataset-report').waitFor({ timeout: 120_000 });
    await page.getByText('Smoke test: 3 steps').click();
    await page.getByTestId('train-start').click();
    const trainStatus = () => text(page.getByTestId('train-status'));
    await expect.poll(trainStatus, { timeout: 300_000 }).toMatch(/done · step 3 of 3/);
    console.log('trained:', await trainStatus());
    const saved = await page.evaluate(
      () =>
        new Promise<unknown>((resolve, reject) => {
          const open = indexedDB.open('lima-playground');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction('runData').objectStore('runData').getAll();
            get.onerror = () => reject(get.error);
            get.onsuccess = () => {
              const d = get.result[get.result.length - 1];
              open.result.close();
              resolve(d.settings.frozenBits);
            };
          };
        }),
    );
    expect(saved).toBe(4);
    await compareBoth(page, 'Once upon a time');
    const b = await text(page.getByTestId('output-b'));
    console.log('tuned over the 4-bit base:', b);
    expect(b.length).toBeGreaterThan(5);

    // Auto would keep it as stored: the panel says so and offers the reload, which gives the f32 upload
    await choose(page, 'auto');
    const offer = page.getByTestId('frozen-reload');
    await offer.waitFor({ timeout: 10_000 });
    console.log('offer:', await text(offer));
    expect(await text(offer)).toMatch(/^TinyStories 260K is on the GPU as Q4_0, 4\.\d+ bits a weight; with this choice it would load at 32-bit \(f32, as stored\)/);
    expect(await text(offer)).toContain('(the adapter on the GPU is dropped; saved runs stay in the list)');
    await page.locator('#model fieldset.frozen').screenshot({ path: path.join(SCREENSHOTS, 'frozen-bits-reload-offer.png') });
    await offer.getByRole('button', { name: 'Reload TinyStories 260K at 32-bit (f32, as stored)' }).click();
    await expect.poll(() => text(page.getByTestId('model-frozen')), { timeout: 120_000 }).toBe('f32, 32 bits a weight');
    await expect.poll(async () => Number(await page.getByTestId('gpu-memory').getAttribute('data-weights')), { timeout: 30_000 }).toBe(f32);
    expect(await page.getByTestId('frozen-reload').count()).toBe(0);
    await screenshot(page, 'frozen-bits-loaded');
  });

  it('a setup link sets the choice before its model loads: ?model=stories260K&frozen=8', async () => {
    const page = s.page;
    await page.goto(`${s.url}?model=stories260K&frozen=8`);
    await page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    await expect.poll(() => text(page.getByTestId('model-frozen')), { timeout: 120_000 }).toMatch(/^Q8_0, 8\.\d+ bits a weight$/);
    expect(await page.getByTestId('frozen-8').isChecked()).toBe(true);
  });
});

/** Mean bytes a weight of an entry's matrices quantized at `bits` (Q8_0/Q4_0, rows padded to whole 32-weight blocks), as the upload lays them out. */
function meanBytes(e: typeof stories, bits: 8 | 4): number {
  const c = e.shape;
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  const block = bits === 8 ? 34 : 18;
  const mats: [number, number][] = [[c.vocabSize, d]];
  for (let i = 0; i < c.numLayers; i++) mats.push([q + 2 * kv, d], [d, q], [2 * ff, d], [d, ff]);
  const bytes = mats.reduce((n, [r, k]) => n + r * Math.ceil(k / 32) * block, 0);
  return bytes / mats.reduce((n, [r, k]) => n + r * k, 0);
}
