/**
 * Decode and training throughput, fused path vs the composed reference path
 * (kernel mode 'reference': tfjs ops and tfjs autograd), measured in the same
 * process so the ratio means something on a noisy machine.
 *
 *   decode     tokens/s of KV-cache steps (T = 1) after a 16-token prefill, each step reading its logits back
 *   train      tokens/s of Trainer.step() (forward + backward + optimizer), one micro-batch of B × T tokens
 * Models: stories260K (the real checkpoint) and a SmolLM2-135M-shaped random
 * model in BF16 (its real config; `layers` cuts the depth for a quicker run).
 * Each measurement follows one warm-up (shader compiles).
 */
import * as tf from '@tensorflow/tfjs';
import { loadModelPath } from '../src/engine/io/node_load';
import { KVCache, LlamaModel } from '../src/engine/model';
import { setKernelMode, type KernelMode } from '../src/engine/ops/mode';
import { DEFAULT_TRAIN_CONFIG, Trainer } from '../src/engine/train/trainer';
import type { TokenizedSample } from '../src/engine/data/tokenize';
import { toBf16Bits } from '../src/engine/frozen';
import { randomWeights, smolLM2Shape } from './dispatches';

export interface ThroughputRow {
  name: 'throughput';
  model: string;
  phase: 'decode' | 'train';
  ours_tokens_per_s: number;
  baseline_tokens_per_s: number;
  speedup: number;
  shape: string;
}

async function decodeRate(model: LlamaModel, steps: number): Promise<number> {
  const run = async () => {
    const cache = new KVCache(model.config.numLayers, 64);
    const ids = Array.from({ length: 16 }, (_, i) => 3 + ((i * 37) % 200));
    const first = model.nextLogits(tf.tensor2d([ids], [1, 16], 'int32'), cache);
    await first.data();
    first.dispose();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      const l = model.nextLogits(tf.tensor2d([[5 + i]], [1, 1], 'int32'), cache);
      await l.data();
      l.dispose();
    }
    const rate = (steps / (performance.now() - t0)) * 1000;
    cache.dispose();
    return rate;
  };
  await run();
  return run();
}

async function trainRate(model: LlamaModel, B: number, T: number): Promise<number> {
  const V = model.config.vocabSize;
  const samples: TokenizedSample[] = Array.from({ length: B * 2 }, (_, k) => {
    const ids = Array.from({ length: T }, (_, t) => 3 + ((t * 31 + k * 7) % Math.min(V - 3, 500)));
    return { ids, labels: ids.map((id, t) => (t < T / 3 ? -100 : id)) } as TokenizedSample;
  });
  const trainer = new Trainer(model, samples, [], { ...DEFAULT_TRAIN_CONFIG, batchSize: B, maxLength: T, maxSteps: 2, warmup: 0, shuffle: false });
  await trainer.step(); // warm-up
  const t0 = performance.now();
  await trainer.step();
  const rate = ((B * T) / (performance.now() - t0)) * 1000;
  trainer.dispose();
  model.adapter = null;
  return rate;
}

async function measure(name: string, model: LlamaModel, opts: { decodeSteps: number; B: number; T: number }, log: (s: string) => void): Promise<ThroughputRow[]> {
  const rates: Record<KernelMode, { decode: number; train: number }> = { fused: { decode: 0, train: 0 }, reference: { decode: 0, train: 0 } };
  for (const mode of ['reference', 'fused'] as KernelMode[]) {
    setKernelMode(mode);
    rates[mode].decode = await decodeRate(model, opts.decodeSteps);
    rates[mode].train = await trainRate(model, opts.B, opts.T);
    log(`  ${name} [${mode}]: decode ${rates[mode].decode.toFixed(2)} tok/s, train ${rates[mode].train.toFixed(1)} tok/s`);
  }
  setKernelMode('fused');
  const shape = `${model.config.numLayers} layers; decode ${opts.decodeSteps} steps after a 16-token prefill; train batch ${opts.B} × ${opts.T}, LoRA r 8 on 7 linears, AdamW`;
  return (['decode', 'train'] as const).map((phase) => ({
    name: 'throughput',
    model: name,
    phase,
    ours_tokens_per_s: rates.fused[phase],
    baseline_tokens_per_s: rates.reference[phase],
    speedup: rates.fused[phase] / rates.reference[phase],
    shape,
  }));
}

export async function benchThroughput(opts: { smolLayers?: number; smolVocab?: number; log?: (s: string) => void } = {}): Promise<ThroughputRow[]> {
  const log = opts.log ?? console.log;
  const rows: ThroughputRow[] = [];
  const stories = LlamaModel.fromLoaded(await loadModelPath(new URL('../../shared/models/stories260K-hf', import.meta.url).pathname));
  rows.push(...(await measure('stories260K', stories, { decodeSteps: 16, B: 8, T: 128 }, log)));
  stories.dispose();
  const config = smolLM2Shape(opts.smolLayers ?? 30, opts.smolVocab ?? 49152);
  const w = randomWeights(config);
  for (const t of w.values()) if (t.shape.length === 2) t.half = { format: 'bf16', bits: toBf16Bits(t.data) }; // as the Hub ships it
  const smol = LlamaModel.fromWeights(config, w);
  rows.push(...(await measure(`SmolLM2-135M-shaped (BF16, vocab ${config.vocabSize})`, smol, { decodeSteps: 4, B: 2, T: 64 }, log)));
  smol.dispose();
  for (const r of rows) log(`${r.model} ${r.phase}: fused ${r.ours_tokens_per_s.toFixed(2)} tok/s vs reference ${r.baseline_tokens_per_s.toFixed(2)} tok/s = ${r.speedup.toFixed(2)}x`);
  return rows;
}
