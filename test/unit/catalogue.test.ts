/**
 * The catalogue (models/catalogue.json): every entry has the fields the page
 * reads, a published shape that agrees with itself (head counts, the
 * parameter count its `params` and `sizeBytes` state), and a memory figure
 * that is the memory model's at its recommended settings (nothing
 * hand-written). Also the memory model's pure parts: the adapter's size
 * equals LoraLayout's, and the fit check and its suggestion.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/engine/config';
import { configFromHF } from '../../src/engine/config';
import { LoraLayout } from '../../src/engine/lora_layout';
import { adapterFloats, checkFit, LOSS_CHUNK_CHOICES, lossChunkFloatsFor, predictTrainingMemory, predictWithinBudget, suggestFit, type ModelShape } from '../../src/engine/memory_model';
import { CATALOGUE, entryQuery, recommendedEstimate } from '../../src/ui/lib/hub';
import { sharedPath } from '../helpers/shared';

const raw = JSON.parse(fs.readFileSync(new URL('../../models/catalogue.json', import.meta.url), 'utf8')) as { about: string; models: Record<string, unknown>[] };

/** Parameters of a Llama-family model of this shape (tied embeddings once). */
function paramsOf(c: ModelShape): number {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const layer = 2 * d + (q + 2 * kv) * d + (c.attentionBias ? q + 2 * kv : 0) + q * d + 3 * c.intermediateSize * d;
  return c.numLayers * layer + c.vocabSize * d * (c.tieWordEmbeddings ? 1 : 2) + d;
}

/** "260K", "135M", "1.1B" */
const parseParams = (s: string) => Number(s.slice(0, -1)) * { K: 1e3, M: 1e6, B: 1e9 }[s.slice(-1) as 'K' | 'M' | 'B'];

const asConfig = (s: ModelShape): ModelConfig => ({ ...s, architecture: 'LlamaForCausalLM', rmsNormEps: 1e-5, ropeTheta: 1e4, bosTokenId: 1, eosTokenIds: [2] });

describe('models/catalogue.json', () => {
  it('says what its fields mean, and no entry carries a hand-written memory figure', () => {
    expect(raw.about).toMatch(/shape/);
    expect(raw.about).toMatch(/memory_model/);
    expect(raw.about).not.toMatch(/memoryMB/);
    for (const m of raw.models) expect(m).not.toHaveProperty('memoryMB');
    expect(new Set(CATALOGUE.map((e) => e.id)).size).toBe(CATALOGUE.length);
  });

  for (const e of CATALOGUE)
    it(`${e.id}: parses, its shape is consistent, its figure is the memory model's`, () => {
      expect(e.name && e.repo && e.licence && e.note).toBeTruthy();
      expect(['hf', 'llama2c']).toContain(e.format);
      expect(['F32', 'BF16', 'F16']).toContain(e.dtype);
      expect(e.files.length).toBeGreaterThan(0);
      const s = e.shape;
      for (const k of ['hiddenSize', 'intermediateSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'vocabSize', 'maxPositions'] as const)
        expect(Number.isInteger(s[k]) && s[k] > 0, `${k} = ${s[k]}`).toBe(true);
      expect(typeof s.tieWordEmbeddings).toBe('boolean');
      expect(typeof s.attentionBias).toBe('boolean');
      expect(s.numHeads % s.numKvHeads).toBe(0);
      expect(s.numHeads * s.headDim).toBe(s.hiddenSize); // true of every model listed
      const r = e.recommended;
      expect(r.maxLength).toBeLessThanOrEqual(s.maxPositions);
      expect(r.rank > 0 && r.batchSize > 0).toBe(true);

      // the shape gives the parameters the entry states, and the download size at its dtype
      const params = paramsOf(s);
      expect(Math.abs(params / parseParams(e.params) - 1), `${params} parameters vs "${e.params}"`).toBeLessThan(0.03);
      const bytes = params * (e.dtype === 'F32' ? 4 : 2);
      expect(Math.abs(bytes / e.sizeBytes - 1), `${bytes} bytes of weights vs sizeBytes ${e.sizeBytes}`).toBeLessThan(0.03);

      // the figure the row shows is the memory model's at the recommended settings
      const figure = recommendedEstimate(e);
      const model = predictTrainingMemory({ config: s, weightBytes: e.dtype === 'F32' ? 4 : 2, rank: r.rank, batchSize: r.batchSize, maxLength: r.maxLength, optimizer: 'adamw' });
      expect(figure).toEqual(model);
      expect(figure.total).toBe(figure.weights + figure.adapter + figure.gradient + figure.activations + figure.transient);
      console.log(`${e.id}: ${(figure.total / 2 ** 30).toFixed(2)} GiB at batch ${r.batchSize} × ${r.maxLength}, r ${r.rank} (weights ${(figure.weights / 2 ** 20).toFixed(0)} MiB, largest buffer ${(figure.largestBuffer.bytes / 2 ** 20).toFixed(0)} MiB: ${figure.largestBuffer.what})`);
    });

  it("stories260K's shape is the fixture's (its llama2.c header and its HF config)", () => {
    const e = CATALOGUE.find((x) => x.id === 'stories260K')!;
    const header = new Int32Array(new Uint8Array(fs.readFileSync(sharedPath('models/stories260K/stories260K.bin'))).slice(0, 28).buffer);
    const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = Array.from(header);
    expect([e.shape.hiddenSize, e.shape.intermediateSize, e.shape.numLayers, e.shape.numHeads, e.shape.numKvHeads, e.shape.vocabSize, e.shape.maxPositions]).toEqual([dim, hidden, layers, heads, kvHeads, Math.abs(vocab), seqLen]);
    const hf = configFromHF(JSON.parse(fs.readFileSync(sharedPath('models/stories260K-hf/config.json'), 'utf8')));
    for (const k of Object.keys(e.shape) as (keyof ModelShape)[]) expect(e.shape[k], k).toBe(hf[k]);
  });
});

describe('memory model, pure parts', () => {
  it("the adapter's floats are LoraLayout's", () => {
    for (const e of CATALOGUE) for (const r of [4, 16]) expect(adapterFloats(e.shape, r)).toBe(new LoraLayout(asConfig(e.shape), r).size);
  });

  it('checkFit and suggestFit: the largest batch size that fits, then a shorter max length', () => {
    const e = CATALOGUE.find((x) => x.id === 'smollm2-135m')!;
    // the loss chunk held at its largest: the budget would otherwise shrink it (checked at the end)
    const q = { ...entryQuery(e, { rank: 8, batchSize: 8, maxLength: 512, optimizer: 'adamw' }), lossChunkFloats: LOSS_CHUNK_CHOICES[0] };
    const big = { budgetBytes: 2 ** 40, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 31 };
    expect(checkFit(predictTrainingMemory(q), big).fits).toBe(true);
    expect(suggestFit(q, big)).toBeNull();

    const at = (b: number, t = 512) => predictTrainingMemory({ ...q, batchSize: b, maxLength: t }).total;
    const budget = { ...big, budgetBytes: (at(3) + at(4)) / 2 };
    const fit = checkFit(predictTrainingMemory(q), budget);
    expect(fit).toMatchObject({ fits: false, overBudget: true, overBuffer: false });
    expect(suggestFit(q, budget)).toMatchObject({ batchSize: 3, maxLength: 512 });

    const tight = { ...big, budgetBytes: (at(1, 192) + at(1, 224)) / 2 };
    expect(suggestFit(q, tight)).toMatchObject({ batchSize: 1, maxLength: 192 });
    expect(suggestFit(q, { ...big, budgetBytes: predictTrainingMemory(q).weights })).toBeNull(); // the weights alone fill it

    // batch 16: one layer's (N, 2·ff) activations (100 MB) outgrow a logits chunk (≤ 64 MB); a binding limit just below them
    const q16 = { ...q, batchSize: 16 };
    const est = predictTrainingMemory(q16);
    expect(est.largestBuffer.what).toMatch(/gate\|up activations/);
    const narrow = { ...big, maxStorageBufferBindingSize: est.largestBuffer.bytes - 1 };
    expect(checkFit(est, narrow)).toMatchObject({ fits: false, overBudget: false, overBuffer: true });
    expect(suggestFit(q16, narrow)).toMatchObject({ batchSize: 15, maxLength: 512 });

    // a run sizes its loss chunk to the budget (lossChunkFloatsFor): smaller chunks let a bigger batch fit
    const free = { ...q, lossChunkFloats: undefined };
    expect(lossChunkFloatsFor(free, budget.budgetBytes)).toBeLessThan(LOSS_CHUNK_CHOICES[0]);
    expect(predictWithinBudget({ ...free, batchSize: 3 }, budget.budgetBytes).total).toBeLessThanOrEqual(budget.budgetBytes);
    expect(suggestFit(free, budget)!.batchSize).toBeGreaterThan(3);
    expect(lossChunkFloatsFor(free, big.budgetBytes)).toBe(LOSS_CHUNK_CHOICES[0]);
  });
});
