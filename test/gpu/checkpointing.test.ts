/**
 * Activation checkpointing on the real stories260K (issue 14 item 1): the
 * fused step with each layer recomputed in the backward gives the loss and
 * every LoRA gradient of the plain fused step, within 1e-6 relative, in both
 * kernel flavours, and leaves no tensor behind. (A tiny random Qwen-shaped
 * model is checked the same way in model_backward.test.ts.)
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setKernelFlavor, type KernelFlavor } from '../../kernels/program';
import { LINEAR_NAMES } from '../../src/engine/config';
import type { TokenizedSample } from '../../src/engine/data/tokenize';
import { LoraAdapter } from '../../src/engine/lora';
import type { LlamaModel } from '../../src/engine/model';
import { padBatch } from '../../src/engine/train/batches';
import { fusedMicroGrads } from '../../src/engine/train/fused_grads';
import { loadStories260K } from '../helpers/stories';

/** Rows of varying length from the model's vocabulary, the first third prompt (no label). */
function samples(vocab: number): TokenizedSample[] {
  return [48, 64, 33, 57].map((length, k) => {
    const ids = Array.from({ length }, (_, t) => 3 + ((t * 29 + k * 13) % (vocab - 3)));
    const labels = ids.map((id, t) => (t < length / 3 ? -100 : id));
    return { ids, labels, line: k + 1, truncated: false, responseTokens: labels.filter((l) => l !== -100).length, boundaryMerges: 0 };
  });
}

let model: LlamaModel;
let adapter: LoraAdapter;
beforeAll(async () => {
  ({ model } = await loadStories260K());
  adapter = new LoraAdapter(model.config, { rank: 8, alpha: 16, dropout: 0, rslora: false, targets: [...LINEAR_NAMES] }, { seed: 3 });
  // B starts at zero in a fresh adapter, which would make every dA zero: draw it too
  (adapter.params as tf.Variable).assign(tf.randomNormal([adapter.layout.size], 0, 0.05, 'float32', 7));
  model.adapter = adapter;
});
afterAll(() => {
  setKernelFlavor(null);
  adapter.dispose();
  model.dispose();
});

for (const flavor of ['simple', 'tiled'] as KernelFlavor[])
  describe(`stories260K, ${flavor} kernels`, () => {
    it('checkpointed gradients equal the plain fused ones', async () => {
      setKernelFlavor(flavor);
      const batch = padBatch(samples(model.config.vocabSize), 64);
      const run = async (checkpoint: boolean) => {
        const g = tf.zeros([adapter.layout.size]);
        const before = tf.memory().numTensors;
        const loss = fusedMicroGrads(model, batch, g, false, checkpoint);
        const out = { loss: (await loss.data())[0], g: (await g.data()) as Float32Array, left: tf.memory().numTensors - before - 1 };
        tf.dispose([loss, g]);
        return out;
      };
      const plain = await run(false);
      const ckpt = await run(true);
      let maxDiff = 0;
      let maxAbs = 0;
      let zeros = 0;
      for (let i = 0; i < plain.g.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ckpt.g[i] - plain.g[i]));
        maxAbs = Math.max(maxAbs, Math.abs(plain.g[i]));
        if (plain.g[i] === 0) zeros++;
      }
      console.log(`${flavor}: loss ${ckpt.loss} vs ${plain.loss}; max |grad diff| ${maxDiff.toExponential(2)} of max |grad| ${maxAbs.toExponential(2)}; ${zeros} of ${plain.g.length} gradients exactly zero`);
      expect(zeros).toBeLessThan(plain.g.length / 100); // the comparison covers (nearly) every gradient
      expect(Math.abs(ckpt.loss - plain.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(plain.loss));
      expect(maxDiff).toBeLessThanOrEqual(1e-6 * maxAbs);
      expect(ckpt.left).toBe(0);
      expect(plain.left).toBe(0);
    });
  });
