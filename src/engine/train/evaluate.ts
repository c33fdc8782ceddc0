/**
 * Evaluation: next-token NLL on the trained (response) tokens of samples,
 * without gradients, chunked over rows so full (T × vocab) logits are never
 * held at once. Gives the mean response-token loss, perplexity, and per-sample
 * loss sums.
 */
import * as tf from '@tensorflow/tfjs';
import type { TokenizedSample } from '../data/tokenize';
import type { LlamaModel } from '../model';
import { padBatch, type MicroBatch } from './batches';
import { embeddingRows, logitsFor } from '../ops/frozen_matmul';

export interface EvalResult {
  loss: number; // mean NLL per trained token
  perplexity: number;
  tokens: number;
  examples: { lossSum: number; tokens: number }[]; // in input order
}

/** Final-normed hidden rows (N, d) of a batch's target positions. */
export function targetHidden(model: LlamaModel, batch: MicroBatch): tf.Tensor2D {
  return tf.tidy(() => {
    const { rows: B, length: T } = batch;
    const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
    const h = model.hidden(ids, {
      positions: tf.tensor2d(batch.positions, [B, T], 'int32'),
      segmentIds: tf.tensor2d(batch.segments, [B, T], 'int32'),
    }); // (B, T, d)
    return tf.gather(h.reshape([B * T, model.config.hiddenSize]), tf.tensor1d(batch.targetIndex, 'int32')) as tf.Tensor2D;
  });
}

/** NLL of every target of a batch (N floats), rows of logits computed `chunk` at a time. */
export async function batchTokenNll(model: LlamaModel, batch: MicroBatch, chunkFloats = 8 << 20): Promise<Float32Array> {
  const out = new Float32Array(batch.tokens);
  if (batch.tokens === 0) return out;
  const h = targetHidden(model, batch);
  const V = model.config.vocabSize;
  const rowsPerChunk = Math.max(1, Math.floor(chunkFloats / V));
  for (let r0 = 0; r0 < batch.tokens; r0 += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, batch.tokens - r0);
    const nll = tf.tidy(() => {
      const hc = h.slice([r0, 0], [n, -1]);
      const logits = logitsFor(hc, model.params.lmHead); // (n, V)
      const target = tf.tensor1d(batch.targets.subarray(r0, r0 + n), 'int32');
      const picked = tf.sum(hc.mul(embeddingRows(model.params.lmHead, target)), 1); // target logits (n)
      return tf.logSumExp(logits, 1).sub(picked);
    });
    out.set((await nll.data()) as Float32Array, r0);
    nll.dispose();
  }
  h.dispose();
  return out;
}

export async function evaluate(
  model: LlamaModel,
  samples: TokenizedSample[],
  opts: { batchSize?: number; maxLength?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<EvalResult> {
  const bs = opts.batchSize ?? 8;
  const maxLength = opts.maxLength ?? model.config.maxPositions;
  const examples: EvalResult['examples'] = [];
  let sum = 0;
  let tokens = 0;
  const prev = model.dropout;
  model.dropout = null;
  try {
    for (let i = 0; i < samples.length; i += bs) {
      const group = samples.slice(i, i + bs);
      const batch = padBatch(group, maxLength);
      const nll = await batchTokenNll(model, batch);
      // targets are in row order; attribute each to its row (= example)
      const per = group.map(() => ({ lossSum: 0, tokens: 0 }));
      batch.targetIndex.forEach((flat, k) => {
        const e = per[Math.floor(flat / batch.length)];
        e.lossSum += nll[k];
        e.tokens += 1;
      });
      for (const e of per) {
        examples.push(e);
        sum += e.lossSum;
        tokens += e.tokens;
      }
      opts.onProgress?.(Math.min(i + bs, samples.length), samples.length);
    }
  } finally {
    model.dropout = prev;
  }
  const loss = tokens ? sum / tokens : NaN;
  return { loss, perplexity: Math.exp(loss), tokens, examples };
}
