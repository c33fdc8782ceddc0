/**
 * Golden test: stories260K in both layouts reproduces ../shared ground truth
 * (llama2.c run.c greedy text, PyTorch prompt ids, greedy ids and logits), and
 * the two layouts give the same logits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../src/engine/gpu/device';
import { loadModelPath } from '../../src/engine/io/node_load';
import { LlamaModel } from '../../src/engine/model';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { generate } from '../../src/engine/generate';
import { referenceCases, sharedPath } from '../helpers/shared';

const LAYOUTS = {
  hf: () => loadModelPath(sharedPath('models/stories260K-hf')),
  llama2c: () => loadModelPath(sharedPath('models/stories260K/stories260K.bin'), sharedPath('models/stories260K/tok512.bin')),
};

async function allLogits(model: LlamaModel, ids: number[]): Promise<Float32Array> {
  const t = tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')));
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

const models: Partial<Record<keyof typeof LAYOUTS, { model: LlamaModel; tok: TextTokenizer }>> = {};

beforeAll(async () => {
  await initGpu();
  for (const [name, load] of Object.entries(LAYOUTS)) {
    const loaded = await load();
    models[name as keyof typeof LAYOUTS] = { model: LlamaModel.fromLoaded(loaded), tok: new TextTokenizer(loaded.tokenizer) };
  }
});

for (const layout of Object.keys(LAYOUTS) as (keyof typeof LAYOUTS)[]) {
  describe(`stories260K (${layout} layout) reproduces the shared ground truth`, () => {
    for (const c of referenceCases()) {
      it(`"${c.prompt}": prompt ids, logits, greedy ids and text`, async () => {
        const { model, tok } = models[layout]!;
        const ids = tok.encodePrompt(c.prompt);
        expect(ids).toEqual(c.prompt_ids);
        const V = model.config.vocabSize;
        const logits = await allLogits(model, ids);
        const last = Array.from(logits.slice((ids.length - 1) * V, (ids.length - 1) * V + c.last_logits_head.length));
        const diff = Math.max(...last.map((v, i) => Math.abs(v - c.last_logits_head[i])));
        console.log(`[${layout}] ${c.prompt}: max |logit - reference| = ${diff.toExponential(2)}`);
        expect(diff).toBeLessThan(1e-4);
        // run.c prints `steps` tokens after BOS: the prompt's and then the generated ones
        const res = await generate(model, ids, { temperature: 0, maxNewTokens: c.steps - ids.length + 1 });
        expect(res.ids.slice(0, 60)).toEqual(c.greedy_ids_first60.slice(0, Math.min(60, res.ids.length)));
        expect(res.ids.length).toBeGreaterThanOrEqual(Math.min(60, c.steps - ids.length));
        expect(tok.decode([...ids, ...res.ids])).toBe(c.text);
      });
    }
  });
}

describe('both layouts are one model', () => {
  it('gives the same logits at every position of a 40-token text', async () => {
    const { model: hf, tok } = models.hf!;
    const ids = tok.encodePrompt('Once upon a time, there was a little dog named Max. He liked to run.');
    const a = await allLogits(hf, ids);
    const b = await allLogits(models.llama2c!.model, ids);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    console.log(`hf vs llama2c: ${ids.length} positions, max |logit diff| = ${max.toExponential(2)}`);
    expect(a.length).toBe(ids.length * 512);
    expect(max).toBeLessThan(1e-4);
  });
});
