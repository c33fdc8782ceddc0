/**
 * Greedy generation for many prompts at once: prompts of equal token length
 * share one KV cache and one forward per step (B rows), so evaluating a
 * held-out set costs (distinct prompt lengths) × (new tokens) forwards rather
 * than (prompts) × (new tokens). Rows that reach a stop id keep being computed
 * until the whole group is done, but their output ends at the stop id.
 * Greedy only: identical to generate() at temperature 0 for each prompt.
 */
import * as tf from '@tensorflow/tfjs';
import { generationCache } from './generate';
import type { LlamaModel } from './model';
import { argmax } from './sampling';

export interface BatchGenerateOptions {
  maxNewTokens: number;
  stopIds: number[];
  /** called after each group with the number of prompts finished */
  onProgress?: (done: number, total: number) => void;
}

/** Greedy continuations (without the stop id) of every prompt, in input order. */
export async function generateGreedyBatch(model: LlamaModel, prompts: number[][], opts: BatchGenerateOptions): Promise<number[][]> {
  const stop = new Set(opts.stopIds);
  const out: number[][] = prompts.map(() => []);
  const byLength = new Map<number, number[]>();
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`generateGreedyBatch: prompt ${i} is empty`);
    byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]);
  });
  const V = model.config.vocabSize;
  let done = 0;
  for (const [T, rows] of byLength) {
    const maxNew = Math.min(opts.maxNewTokens, model.config.maxPositions - T);
    const cache = generationCache(model, T, maxNew);
    const finished = rows.map(() => false);
    try {
      let input: number[][] = rows.map((i) => prompts[i]);
      for (let step = 0; step < maxNew && finished.some((f) => !f); step++) {
        const ids = tf.tensor2d(input, [rows.length, input[0].length], 'int32');
        const logitsT = model.nextLogits(ids, cache);
        ids.dispose();
        const logits = (await logitsT.data()) as Float32Array;
        logitsT.dispose();
        input = rows.map((i, r) => {
          const next = argmax(logits.subarray(r * V, (r + 1) * V));
          if (!finished[r]) {
            if (stop.has(next)) finished[r] = true;
            else out[i].push(next);
          }
          return [next];
        });
      }
    } finally {
      cache.dispose();
    }
    done += rows.length;
    opts.onProgress?.(done, prompts.length);
  }
  return out;
}
