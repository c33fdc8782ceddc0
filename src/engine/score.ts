/** Next-token negative log-likelihoods of a token sequence under the model. */
import * as tf from '@tensorflow/tfjs';
import type { LlamaModel } from './model';

/**
 * losses[i] = −log p(ids[i+1] | ids[0..i]) for i = 0..n−2, computed in one
 * forward pass (log-softmax over the vocabulary in f32).
 */
export async function scoreIds(model: LlamaModel, ids: number[]): Promise<number[]> {
  if (ids.length < 2) return [];
  if (ids.length > model.config.maxPositions) throw new Error(`text is ${ids.length} tokens; the model's context is ${model.config.maxPositions}`);
  const nll = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')); // (1, n, V)
    const n = ids.length - 1;
    const logp = tf.logSoftmax(logits.slice([0, 0, 0], [1, n, -1]).reshape([n, -1])); // (n, V)
    const targets = tf.oneHot(tf.tensor1d(ids.slice(1), 'int32'), model.config.vocabSize);
    return logp.mul(targets).sum(1).neg();
  });
  const out = Array.from(await nll.data());
  nll.dispose();
  return out;
}
