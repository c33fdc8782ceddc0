/**
 * Prompt embeddings (src/engine/curate/embed.ts) on the real stories260K:
 * batched (sorted by length, right-padded, several batches) equals one
 * prompt at a time (B = 1, no padding), and both equal the mean of the
 * float64 CPU reference's final-normed hidden states (test/helpers/cpu_reference.ts).
 * Max differences are printed. A repeated prompt is embedded once. With a
 * cache, prompts embedded before cost no dispatch and come back equal.
 */
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { embedPrompts, planBatches, type EmbeddingCache } from '../../src/engine/curate/embed';
import { countDispatches } from '../../bench/dispatches';
import { promptIds } from '../../src/engine/data';
import { initGpu } from '../../src/engine/gpu/device';
import { loadHF } from '../../src/engine/io/hf';
import { folderSource } from '../../src/engine/io/node_source';
import type { LoadedModel } from '../../src/engine/io/weights';
import { LlamaModel } from '../../src/engine/model';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { referenceForward } from '../helpers/cpu_reference';
import { sharedPath } from '../helpers/shared';

let loaded: LoadedModel;
let model: LlamaModel;
let tok: TextTokenizer;
beforeAll(async () => {
  await initGpu();
  loaded = await loadHF(folderSource(sharedPath('models/stories260K-hf')));
  model = LlamaModel.fromLoaded(loaded);
  tok = new TextTokenizer(loaded.tokenizer);
});

function prompts(): number[][] {
  const rows = fs.readFileSync(sharedPath('data/tinystories-instruct-1k.jsonl'), 'utf8').trim().split('\n').slice(0, 12).map((l) => JSON.parse(l));
  // instructions (short) and pieces of responses of several lengths, so batches pad differently
  const texts = rows.map((r, i) => (i % 3 === 0 ? r.instruction : r.response.slice(0, 20 + 17 * i)));
  const ids = texts.map((t: string) => promptIds(tok, t));
  return [...ids, [...ids[4]]]; // a repeated prompt: embedded once, returned for both
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

it('batched embeddings equal one-at-a-time and the float64 CPU mean of final hidden states', async () => {
  const ids = prompts();
  const lengths = ids.map((p) => p.length);
  const plan = planBatches(lengths.slice(0, -1), 256); // the distinct prompts' batches
  console.log(`prompt lengths ${lengths.join(', ')}; batches ${plan.map((b) => `${b.rows.length}×${b.T}`).join(', ')}`);
  expect(plan.length).toBeGreaterThan(1);
  expect(plan.some((b) => b.rows.some((r) => lengths[r] < b.T))).toBe(true); // padding does happen

  const progress: number[] = [];
  const batched = await embedPrompts(model, ids, { batchTokens: 256, onProgress: (d) => progress.push(d) });
  expect(progress[progress.length - 1]).toBe(ids.length);
  expect(batched.every((e) => e.length === model.config.hiddenSize)).toBe(true);

  let batchVsSingle = 0;
  let vsReference = 0;
  for (const [i, p] of ids.entries()) {
    // one at a time: B = 1, exactly its own length, mean taken on the host
    const h = model.hidden(tf.tensor2d([p], [1, p.length], 'int32'));
    const rows = (await h.data()) as Float32Array;
    h.dispose();
    const d = model.config.hiddenSize;
    const single = new Float64Array(d);
    for (let t = 0; t < p.length; t++) for (let j = 0; j < d; j++) single[j] += rows[t * d + j] / p.length;
    batchVsSingle = Math.max(batchVsSingle, maxAbsDiff(batched[i], single));

    const ref = referenceForward(loaded.config, loaded.weights, p).hidden;
    const refMean = new Float64Array(d);
    for (const r of ref) for (let j = 0; j < d; j++) refMean[j] += r[j] / ref.length;
    vsReference = Math.max(vsReference, maxAbsDiff(batched[i], refMean));
  }
  const scale = Math.max(...batched.flatMap((e) => Array.from(e, Math.abs)));
  console.log(`embedding max |batched − one at a time| = ${batchVsSingle.toExponential(2)}, max |batched − float64 CPU| = ${vsReference.toExponential(2)} (largest |entry| ${scale.toFixed(3)})`);
  expect(batchVsSingle).toBeLessThan(1e-4);
  expect(vsReference).toBeLessThan(1e-3);
  expect(Array.from(batched[ids.length - 1])).toEqual(Array.from(batched[4]));
  // distinct prompts get distinct embeddings
  expect(maxAbsDiff(batched[0], batched[1])).toBeGreaterThan(1e-2);
});

it('a cache serves prompts embedded before without a forward, and embeds only the new ones', async () => {
  const ids = prompts();
  const plain = await embedPrompts(model, ids, { batchTokens: 256 });
  const cache: EmbeddingCache = new Map();
  const first = await embedPrompts(model, ids.slice(0, 6), { batchTokens: 256, cache });
  expect(cache.size).toBe(6);
  let again: Float32Array[] = [];
  const progress: number[] = [];
  const none = await countDispatches(async () => {
    again = await embedPrompts(model, ids.slice(0, 6), { batchTokens: 256, cache, onProgress: (d) => progress.push(d) });
  });
  expect(none).toBe(0);
  expect(progress).toEqual([6]);
  expect(again.map((e) => Array.from(e))).toEqual(first.map((e) => Array.from(e)));
  const some = await countDispatches(async () => {
    again = await embedPrompts(model, ids, { batchTokens: 256, cache });
  });
  expect(some).toBeGreaterThan(0);
  expect(cache.size).toBe(new Set(ids.map((p) => p.join(','))).size);
  for (const [i, e] of again.entries()) expect(maxAbsDiff(e, plain[i])).toBeLessThan(1e-4); // other batch compositions: equal up to rounding
  again[0][0] += 1; // callers get copies: the cache stays as it was
  expect(cache.get(ids[0].join(','))![0]).toBe(first[0][0]);
});

it('names a prompt without tokens', async () => {
  await expect(embedPrompts(model, [[1, 2], []])).rejects.toThrow(/prompt 1 has no tokens/);
});
