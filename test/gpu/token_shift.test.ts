/**
 * The token shift (src/engine/eval/token_shift.ts) against a float64 CPU
 * computation of the same formulas from the two models' own logits (adapter
 * off, adapter on, one forward each), on stories260K with a random non-zero
 * adapter, for answers the tuned model wrote greedily: base rank of the
 * chosen token, both probabilities, KL(p_tuned ‖ p_base) and the base top-3.
 * Chunking the positions changes nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { LlamaModel } from '../../src/engine/model';
import { generate } from '../../src/engine/generate';
import { DEFAULT_LORA, LoraAdapter } from '../../src/engine/lora';
import { shiftClass, summarizeShift, tokenShift, topShifted, type ShiftToken } from '../../src/engine/eval/token_shift';
import type { TextTokenizer } from '../../src/engine/tokenizer';
import { loadStories260K } from '../helpers/stories';

let model: LlamaModel;
let tok: TextTokenizer;
beforeAll(async () => {
  ({ model, tok } = await loadStories260K());
  const adapter = new LoraAdapter(model.config, DEFAULT_LORA, { seed: 5 });
  const p = tf.tidy(() => tf.randomNormal([adapter.layout.size], 0, 0.06, 'float32', 21));
  adapter.params.assign(p as tf.Tensor1D);
  p.dispose();
  model.adapter = adapter;
});

/** Log-softmax in float64. */
function logSoftmax64(row: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return Float64Array.from(row, (v) => v - lse);
}

/** The same quantities from each model's own (T, V) logits, in float64. */
async function reference(prompt: number[], answer: number[]): Promise<ShiftToken[]> {
  const seq = [...prompt, ...answer].slice(0, prompt.length + answer.length - 1);
  const V = model.config.vocabSize;
  const logitsOf = async (on: boolean) => {
    model.adapterEnabled = on;
    const ids = tf.tensor2d([seq], [1, seq.length], 'int32');
    const l = model.forward(ids);
    const data = (await l.data()) as Float32Array;
    tf.dispose([ids, l]);
    model.adapterEnabled = true;
    return data;
  };
  const base = await logitsOf(false);
  const tuned = await logitsOf(true);
  return answer.map((id, i) => {
    const t = prompt.length - 1 + i;
    const lb = logSoftmax64(base.subarray(t * V, (t + 1) * V));
    const lt = logSoftmax64(tuned.subarray(t * V, (t + 1) * V));
    let rank = 1;
    let kl = 0;
    for (let v = 0; v < V; v++) {
      if (lb[v] > lb[id]) rank++;
      kl += Math.exp(lt[v]) * (lt[v] - lb[v]);
    }
    const order = [...lb.keys()].sort((x, y) => lb[y] - lb[x]).slice(0, 3);
    return { id, baseRank: rank, pBase: Math.exp(lb[id]), pTuned: Math.exp(lt[id]), kl, baseTop: order.map((v) => ({ id: v, p: Math.exp(lb[v]) })) };
  });
}

const PROMPTS = ['Once upon a time, there was a little girl', 'Tom had a red ball. He', 'The little cat'];

describe('token shift', () => {
  for (const text of PROMPTS)
    it(`matches a float64 computation on the tuned answer to "${text}"`, async () => {
      const prompt = tok.encodePrompt(text);
      const answer = (await generate(model, prompt, { temperature: 0, maxNewTokens: 24 })).ids;
      expect(answer.length).toBeGreaterThan(5);
      const ours = await tokenShift(model, prompt, answer);
      const ref = await reference(prompt, answer);
      expect(ours.map((t) => t.id)).toEqual(answer);
      let dp = 0;
      let dkl = 0;
      for (let i = 0; i < answer.length; i++) {
        expect(ours[i].baseRank).toBe(ref[i].baseRank);
        dp = Math.max(dp, Math.abs(ours[i].pBase - ref[i].pBase), Math.abs(ours[i].pTuned - ref[i].pTuned));
        dkl = Math.max(dkl, Math.abs(ours[i].kl - ref[i].kl));
        expect(ours[i].baseTop.map((x) => x.id)).toEqual(ref[i].baseTop.map((x) => x.id));
        ours[i].baseTop.forEach((x, j) => expect(x.p).toBeCloseTo(ref[i].baseTop[j].p, 5));
      }
      // greedy under the tuned model: its chosen token is the tuned top choice, so p_tuned is the largest tuned probability
      const s = summarizeShift(ours);
      console.log(`token shift "${text}": ${answer.length} tokens, max |Δp| ${dp.toExponential(2)}, max |Δkl| ${dkl.toExponential(2)}; unshifted ${s.unshifted.toFixed(2)} marginal ${s.marginal.toFixed(2)} shifted ${s.shifted.toFixed(2)}`);
      expect(dp).toBeLessThan(1e-5);
      expect(dkl).toBeLessThan(1e-4);
      expect(s.unshifted + s.marginal + s.shifted).toBeCloseTo(1, 10);
      expect(ours.some((t) => t.baseRank > 1)).toBe(true); // the random adapter does shift some tokens
    });

  it('gives the same figures in chunks of 5 positions as in one chunk', async () => {
    const prompt = tok.encodePrompt(PROMPTS[0]);
    const answer = (await generate(model, prompt, { temperature: 0, maxNewTokens: 17 })).ids;
    const one = await tokenShift(model, prompt, answer);
    const chunked = await tokenShift(model, prompt, answer, { chunk: 5 });
    expect(chunked).toEqual(one);
  });

  it('classes by base rank and counts the most-shifted texts', () => {
    expect([1, 2, 3, 4, 50].map(shiftClass)).toEqual(['unshifted', 'marginal', 'marginal', 'shifted', 'shifted']);
    const t = (baseRank: number): ShiftToken => ({ id: 0, baseRank, pBase: 0, pTuned: 0, kl: 0, baseTop: [] });
    const top = topShifted([
      { tokens: [t(9), t(1), t(5)], texts: ['Sure', ' the', ' Here'] },
      { tokens: [t(7), t(2)], texts: ['Sure', ' ok'] },
    ]);
    expect(top).toEqual([{ text: 'Sure', count: 2 }, { text: ' Here', count: 1 }]);
    const s = summarizeShift([t(9), t(1), t(5), t(2)]);
    expect(s).toEqual({ n: 4, unshifted: 0.25, marginal: 0.25, shifted: 0.5, meanShiftedPosition: 1, meanPosition: 1.5 });
  });

  it('refuses a model without an adapter and a too-long text', async () => {
    const adapter = model.adapter;
    model.adapter = null;
    await expect(tokenShift(model, [1], [2])).rejects.toThrow(/no adapter/);
    model.adapter = adapter;
    const long = Array.from({ length: model.config.maxPositions + 1 }, () => 5);
    await expect(tokenShift(model, [1], long)).rejects.toThrow(/context is/);
  });
});
