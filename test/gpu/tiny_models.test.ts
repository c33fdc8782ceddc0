/**
 * Tiny random HF checkpoints in every layout variant, loaded from disk and run
 * on the GPU, against a plain float64 CPU implementation of the same math.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../src/engine/gpu/device';
import { loadHF } from '../../src/engine/io/hf';
import { folderSource } from '../../src/engine/io/node_source';
import { LlamaModel } from '../../src/engine/model';
import { generate } from '../../src/engine/generate';
import { argmax } from '../../src/engine/sampling';
import { referenceLogits } from '../helpers/cpu_reference';
import { writeTinyCheckpoint, type TinyOptions } from '../helpers/tiny_checkpoint';

const VARIANTS: [string, TinyOptions][] = [
  ['Llama, tied, F32, GQA 4:2', {}],
  ['Qwen2 (q/k/v bias), untied, BF16, 3 shards', { arch: 'Qwen2ForCausalLM', tied: false, dtype: 'BF16', shards: 3 }],
  ['Llama, untied, F16, MHA, head_dim 16 != hidden/heads', { tied: false, dtype: 'F16', heads: 4, kvHeads: 4, headDim: 16 }],
  ['Llama, GQA 6:2 (ratio 3), 3 layers', { heads: 6, kvHeads: 2, headDim: 8, hidden: 48, layers: 3 }],
  ['Qwen2, GQA 7:1 (ratio 7), tied', { arch: 'Qwen2ForCausalLM', heads: 7, kvHeads: 1, headDim: 8, hidden: 56 }],
];

beforeAll(async () => {
  await initGpu();
});

describe('tiny random checkpoints: GPU path equals a CPU reference', () => {
  for (const [name, opts] of VARIANTS) {
    it(name, async () => {
      const { dir } = writeTinyCheckpoint(opts);
      const loaded = await loadHF(folderSource(dir));
      const model = LlamaModel.fromLoaded(loaded);
      const ids = [1, 45, 300, 7, 99, 511, 260, 3, 128, 42, 17];
      const want = referenceLogits(loaded.config, loaded.weights, ids);
      const got = await tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'))).data();
      let maxDiff = 0;
      let maxRef = 0;
      const V = loaded.config.vocabSize;
      for (let t = 0; t < ids.length; t++)
        for (let v = 0; v < V; v++) {
          maxDiff = Math.max(maxDiff, Math.abs(got[t * V + v] - want[t][v]));
          maxRef = Math.max(maxRef, Math.abs(want[t][v]));
        }
      console.log(`${name}: max |gpu - cpu| = ${maxDiff.toExponential(2)} (logits up to ${maxRef.toFixed(2)})`);
      expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, maxRef));

      // KV-cache decoding gives the same greedy tokens as re-running the whole sequence
      const res = await generate(model, ids.slice(0, 4), { maxNewTokens: 6, stopIds: [] });
      const seq = ids.slice(0, 4);
      for (let s = 0; s < 6; s++) {
        const full = tf.tidy(() => model.forward(tf.tensor2d([seq], [1, seq.length], 'int32')));
        const d = await full.data();
        full.dispose();
        seq.push(argmax(d.slice((seq.length - 1) * V, seq.length * V)));
      }
      expect(res.ids).toEqual(seq.slice(4));
      model.dispose();
    });
  }
});

describe('fused kernels vs the composed reference, whole model', () => {
  // gradients of the fused training path: test/gpu/model_backward.test.ts
  it('gives the same logits with an adapter on (padded batch with segments)', async () => {
    const { setKernelMode, kernelMode } = await import('../../src/engine/ops/mode');
    const { LoraAdapter } = await import('../../src/engine/lora');
    const { LINEAR_NAMES } = await import('../../src/engine/config');
    const { dir } = writeTinyCheckpoint({ arch: 'Qwen2ForCausalLM', heads: 6, kvHeads: 2, headDim: 8, hidden: 48 });
    const loaded = await loadHF(folderSource(dir));
    const model = LlamaModel.fromLoaded(loaded);
    const adapter = new LoraAdapter(model.config, { rank: 4, alpha: 8, dropout: 0, rslora: false, targets: [...LINEAR_NAMES] }, { seed: 1 });
    tf.tidy(() => adapter.params.assign(tf.randomNormal(adapter.params.shape, 0, 0.1, 'float32', 1)));
    model.adapter = adapter;
    const B = 2;
    const T = 37; // not a tile multiple
    const ids = tf.tensor2d(Array.from({ length: B * T }, (_, i) => (i * 7919) % 512), [B, T], 'int32');
    const seg = tf.tensor2d(Array.from({ length: B * T }, (_, i) => (i % T < (i < T ? 30 : 37) ? 1 : 0)), [B, T], 'int32'); // row 0 padded after 30
    const run = async (mode: 'fused' | 'reference') => {
      setKernelMode(mode);
      return (await tf.tidy(() => model.forward(ids, { segmentIds: seg })).data()) as Float32Array;
    };
    const before = kernelMode();
    const f = await run('fused');
    const r = await run('reference');
    setKernelMode(before);
    let dl = 0;
    // compare logits on non-padded positions only (padding rows are defined to differ: no keys to attend)
    for (let b = 0; b < B; b++)
      for (let t = 0; t < (b === 0 ? 30 : 37); t++)
        for (let v = 0; v < 512; v++) dl = Math.max(dl, Math.abs(f[(b * T + t) * 512 + v] - r[(b * T + t) * 512 + v]));
    console.log(`fused vs reference: max |logit diff| ${dl.toExponential(2)}`);
    expect(dl).toBeLessThan(1e-4);
    adapter.dispose();
    model.dispose();
  });
});
