/**
 * Base and tuned in one batch (src/engine/generate_pair.ts) equal two
 * sequential generate() calls, adapter off then on, token for token, on the
 * real stories260K with a random non-zero adapter (so base ≠ tuned):
 * greedy, sampled with a seed, one row stopping early; on both kernel
 * flavours. The per-row-scale forward (loraScales [0, 1]) equals the
 * adapter-off and adapter-on forwards row by row: bit for bit on the fused
 * kernels; on the composed tfjs reference to float rounding (tf.matMul sums
 * a batch of 2·T rows in another order than one of T). And the dispatches
 * per decoded token of the pair against two sequential runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { LlamaModel } from '../../src/engine/model';
import { generate, type GenerateOptions } from '../../src/engine/generate';
import { generatePair } from '../../src/engine/generate_pair';
import { DEFAULT_LORA, LoraAdapter } from '../../src/engine/lora';
import { countDispatches } from '../../bench/dispatches';
import { setKernelMode } from '../../src/engine/ops/mode';
import type { TextTokenizer } from '../../src/engine/tokenizer';
import { setKernelFlavor } from '../../kernels/program';
import { loadStories260K } from '../helpers/stories';
import { maxDiff } from './kernels/helpers';

let model: LlamaModel;
let tok: TextTokenizer;
let adapter: LoraAdapter;
beforeAll(async () => {
  ({ model, tok } = await loadStories260K());
  adapter = new LoraAdapter(model.config, DEFAULT_LORA, { seed: 3 });
  // B is zero at init (tuned = base): give every A and B random values so the sides differ
  const p = tf.tidy(() => tf.randomNormal([adapter.layout.size], 0, 0.08, 'float32', 11));
  adapter.params.assign(p as tf.Tensor1D);
  p.dispose();
  model.adapter = adapter;
});
afterAll(() => {
  setKernelFlavor(null);
  setKernelMode('fused');
});

const prompt = () => tok.encodePrompt('Once upon a time, there was a little girl');

type Settings = Omit<GenerateOptions, 'onToken' | 'signal'>;

/** Base (adapter off) then tuned (adapter on), one generate() each: today's Compare. */
async function sequential(ids: number[], opts: Settings): Promise<number[][]> {
  const out: number[][] = [];
  for (const on of [false, true]) {
    model.adapterEnabled = on;
    out.push((await generate(model, ids, opts)).ids);
  }
  model.adapterEnabled = true;
  return out;
}

const settings: Record<string, Settings> = {
  greedy: { temperature: 0, maxNewTokens: 24 },
  'sampled (seed 7, temperature 0.9)': { temperature: 0.9, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 7, maxNewTokens: 24 },
};

const paths = [
  { name: 'fused, tiled', mode: 'fused', flavor: 'tiled' },
  { name: 'fused, simple', mode: 'fused', flavor: 'simple' },
  { name: 'reference', mode: 'reference', flavor: null },
] as const;

/** On the fused kernels bit for bit; the reference's tf.matMul rounds differently at another batch size. */
const exact = (mode: string) => mode === 'fused';

for (const path of paths)
  describe(`generatePair (${path.name})`, () => {
    beforeAll(() => {
      setKernelMode(path.mode);
      setKernelFlavor(path.flavor);
    });

    it('the loraScales [0, 1] forward equals the adapter-off and adapter-on forwards row by row', async () => {
      const ids = prompt();
      const T = ids.length;
      const one = tf.tensor2d([ids], [1, T], 'int32');
      const two = tf.tensor2d([ids, ids], [2, T], 'int32');
      model.adapterEnabled = false;
      const base = model.forward(one);
      model.adapterEnabled = true;
      const tuned = model.forward(one);
      const both = model.forward(two, { loraScales: [0, 1] });
      const [row0, row1] = tf.split(both, 2, 0);
      const d0 = await maxDiff(row0, base);
      const d1 = await maxDiff(row1, tuned);
      const apart = await maxDiff(base, tuned);
      console.log(`generate_pair ${path.name}: forward row 0 vs adapter off max|Δ| ${d0.abs}, row 1 vs adapter on ${d1.abs} (base vs tuned differ by ${apart.abs.toFixed(3)})`);
      if (exact(path.mode)) {
        expect(d0.abs).toBe(0);
        expect(d1.abs).toBe(0);
      } else {
        expect(d0.rel).toBeLessThan(1e-5);
        expect(d1.rel).toBeLessThan(1e-5);
      }
      expect(apart.abs).toBeGreaterThan(0.1);
      tf.dispose([one, two, base, tuned, both, row0, row1]);
    });

    // generation on the fused kernels (what Compare runs); the reference path is slow on SwiftShader and not bitwise at batch 2
    if (exact(path.mode))
    for (const [name, opts] of Object.entries(settings))
      it(`${name}: the pair equals two sequential generate() calls token for token`, async () => {
        const ids = prompt();
        const [base, tuned] = await sequential(ids, opts);
        const streamed: number[][] = [[], []];
        const pair = await generatePair(model, ids, [0, 1], { ...opts, onToken: (row, id) => void streamed[row].push(id) });
        console.log(`generate_pair ${path.name} ${name}:\n  base  ${JSON.stringify(tok.decode(pair[0].ids))}\n  tuned ${JSON.stringify(tok.decode(pair[1].ids))}`);
        expect(pair[0].ids).toEqual(base);
        expect(pair[1].ids).toEqual(tuned);
        expect(streamed).toEqual([base, tuned]);
        expect(base).not.toEqual(tuned);
      });

    if (exact(path.mode))
    it('a row that reaches a stop id ends there while the other goes on', async () => {
      const ids = prompt();
      const greedy = settings.greedy;
      const [base] = await sequential(ids, greedy);
      const stopIds = [...model.config.eosTokenIds, base[4]]; // the base side stops at its 5th token
      const [b, t] = await sequential(ids, { ...greedy, stopIds });
      const ended: { row: number; tokens: number; at: number }[] = [];
      let streamed = 0;
      const pair = await generatePair(model, ids, [0, 1], {
        ...greedy,
        stopIds,
        onToken: () => void streamed++,
        onEnd: (row, r) => void ended.push({ row, tokens: r.ids.length, at: streamed }),
      });
      expect(pair.map((r) => r.ids)).toEqual([b, t]);
      expect(pair[0].stopReason).toBe('eos');
      expect(pair[0].ids.length).toBeLessThan(pair[1].ids.length);
      // the early row is reported ended while the other still streams
      expect(ended.map((e) => [e.row, e.tokens])).toEqual([[0, b.length], [1, t.length]]);
      expect(ended[0].at).toBeLessThan(streamed);
    });
  });

describe('dispatches per decoded token', () => {
  beforeAll(() => {
    setKernelMode('fused');
    setKernelFlavor(null);
  });

  it('the pair costs about one tuned run, not base + tuned', async () => {
    const count = (fn: () => Promise<unknown>) => countDispatches(async () => void (await fn()));
    const ids = prompt();
    // no stop id, so every run decodes exactly `n` tokens; per token = (count at 9 − count at 1) / 8
    const opts = (n: number): Settings => ({ temperature: 0, maxNewTokens: n, stopIds: [] });
    await generatePair(model, ids, [0, 1], opts(2)); // warm-up: shader compiles
    await sequential(ids, opts(2));
    const perToken = async (fn: (o: Settings) => Promise<unknown>) => ((await count(() => fn(opts(9)))) - (await count(() => fn(opts(1))))) / 8;
    const pair = await perToken((o) => generatePair(model, ids, [0, 1], o));
    const seq = await perToken((o) => sequential(ids, o));
    const t0 = performance.now();
    await generatePair(model, ids, [0, 1], opts(24));
    const tPair = performance.now() - t0;
    const t1 = performance.now();
    await sequential(ids, opts(24));
    const tSeq = performance.now() - t1;
    console.log(
      `generate_pair dispatches per decoded token (${model.config.numLayers} layers): pair ${pair}, two sequential runs ${seq} (ratio ${(pair / seq).toFixed(2)}); ` +
        `24 tokens each side: pair ${tPair.toFixed(0)} ms, sequential ${tSeq.toFixed(0)} ms`,
    );
    expect(pair).toBeLessThan(seq);
  });
});
