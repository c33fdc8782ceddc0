/**
 * What tests compare between two uploads of the same model (f32 vs 16-bit
 * halves vs ggml blocks, whole vs split): the logits of one prompt and the
 * fused LoRA gradients of one fixed micro-batch under a fixed rank-4 adapter.
 */
import * as tf from '@tensorflow/tfjs';
import { LoraLayout } from '../../src/engine/lora_layout';
import type { LlamaModel } from '../../src/engine/model';
import { padBatch } from '../../src/engine/train/batches';
import { fusedMicroGrads } from '../../src/engine/train/fused_grads';
import type { TokenizedSample } from '../../src/engine/data/tokenize';

/** Logits (1, T, V) of `ids`, flat. */
export async function promptLogits(model: LlamaModel, ids: number[]): Promise<Float32Array> {
  return (await tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'))).data()) as Float32Array;
}

/** The fused LoRA gradient (the adapter's flat buffer) of two rows of 14 and 19 tokens, the first 6 of each masked, under a fixed rank-4 adapter (scale 2). */
export async function fixedLoraGrads(model: LlamaModel): Promise<Float32Array> {
  const layout = new LoraLayout(model.config, 4);
  const p = Float32Array.from({ length: layout.size }, (_, i) => Math.sin(i * 0.37) * 0.1);
  const params = tf.tensor1d(p);
  model.adapter = { params, layout, scale: 2 };
  const samples = [0, 1].map((k) => {
    const s = Array.from({ length: 14 + k * 5 }, (_, t) => 3 + ((t * 29 + k) % 500));
    return { ids: s, labels: s.map((v, t) => (t < 6 ? -100 : v)) } as TokenizedSample;
  });
  const g = tf.zeros([layout.size]);
  tf.dispose(fusedMicroGrads(model, padBatch(samples, 64), g, false));
  const out = (await g.data()) as Float32Array;
  tf.dispose([g, params]);
  model.adapter = null;
  return out;
}
