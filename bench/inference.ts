/**
 * Inference throughput of a real model: prefill tokens/s (one forward over a
 * prompt) and decode tokens/s (KV-cache steps), fused kernels vs the composed
 * reference path, measured in the same process.
 */
import * as tf from '@tensorflow/tfjs';
import { KVCache, LlamaModel } from '../src/engine/model';
import { kernelMode, setKernelMode, type KernelMode } from '../src/engine/ops/mode';

export interface InferenceRow {
  name: string;
  shape: string;
  mode: KernelMode;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
}

async function measure(model: LlamaModel, promptLen: number, decodeSteps: number): Promise<[number, number]> {
  const ids = Array.from({ length: promptLen }, (_, i) => 3 + ((i * 37) % (model.config.vocabSize - 3)));
  const run = async () => {
    const cache = new KVCache(model.config.numLayers, Math.ceil((promptLen + decodeSteps) / 64) * 64);
    const t0 = performance.now();
    const first = model.nextLogits(tf.tensor2d([ids], [1, promptLen], 'int32'), cache);
    await first.data();
    first.dispose();
    const t1 = performance.now();
    for (let i = 0; i < decodeSteps; i++) {
      const l = model.nextLogits(tf.tensor2d([[5 + (i % 50)]], [1, 1], 'int32'), cache);
      await l.data();
      l.dispose();
    }
    const t2 = performance.now();
    cache.dispose();
    return [(promptLen / (t1 - t0)) * 1000, (decodeSteps / (t2 - t1)) * 1000] as [number, number];
  };
  await run(); // warm-up: compiles every shader for these shapes
  return run();
}

export async function benchInference(model: LlamaModel, name: string, promptLen = 128, decodeSteps = 32): Promise<InferenceRow[]> {
  const before = kernelMode();
  const rows: InferenceRow[] = [];
  for (const mode of ['reference', 'fused'] as KernelMode[]) {
    setKernelMode(mode);
    const [prefill, decode] = await measure(model, promptLen, decodeSteps);
    rows.push({ name, shape: `prompt ${promptLen}, ${decodeSteps} decode steps`, mode, prefill_tokens_per_s: prefill, decode_tokens_per_s: decode });
  }
  setKernelMode(before);
  return rows;
}
