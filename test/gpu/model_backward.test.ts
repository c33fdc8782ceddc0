/**
 * The fused training path (model.forwardTrain + model_backward.ts, gradients
 * written into the adapter's flat buffer) against tfjs autograd of the
 * composed reference path, on tiny random models: Llama and Qwen2 (q/k/v
 * bias), GQA ratios 2 and 3, padded and packed batches, every LoRA pair
 * random (so every gradient is non-zero), both kernel flavours. Then
 * accumulation (second micro-batch adds), non-target pairs (exact zeros), and
 * central finite differences of the reference loss on a few coordinates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../src/engine/gpu/device';
import { LINEAR_NAMES, type LinearName } from '../../src/engine/config';
import { LoraLayout } from '../../src/engine/lora_layout';
import { LlamaModel } from '../../src/engine/model';
import { setKernelMode } from '../../src/engine/ops/mode';
import { packBatch, padBatch, type MicroBatch } from '../../src/engine/train/batches';
import { targetHidden } from '../../src/engine/train/evaluate';
import { fusedMicroGrads } from '../../src/engine/train/fused_grads';
import { chunkedCrossEntropy } from '../../src/engine/train/loss';
import { setKernelFlavor, type KernelFlavor } from '../../kernels/program';
import { tinyConfig, tinyWeights, type TinyOptions } from '../helpers/tiny_checkpoint';
import type { TokenizedSample } from '../../src/engine/data/tokenize';

beforeAll(async () => {
  await initGpu();
});
afterAll(() => {
  setKernelFlavor(null);
  setKernelMode('fused');
});

function makeModel(o: TinyOptions, rank: number, targets: readonly LinearName[] = LINEAR_NAMES, seed = 3) {
  const config = tinyConfig(o);
  const model = LlamaModel.fromWeights(config, tinyWeights(config, seed) as never);
  const layout = new LoraLayout(config, rank);
  // random A and B on the targets, zeros elsewhere (as LoraAdapter lays them out)
  const p = new Float32Array(layout.size);
  let s = seed * 7919;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.4;
  for (const { name, slot } of layout.entries()) {
    if (!targets.includes(name)) continue;
    for (let i = 0; i < rank * slot.in; i++) p[slot.a + i] = rnd();
    for (let i = 0; i < slot.out * rank; i++) p[slot.b + i] = rnd();
  }
  const params = tf.variable(tf.tensor1d(p), true, `p${seed}_${Math.random()}`);
  model.adapter = { params, layout, scale: 2 };
  return { model, params, layout };
}

function samples(n: number, seed: number): TokenizedSample[] {
  return Array.from({ length: n }, (_, k) => {
    const len = 9 + ((k * 5 + seed) % 13);
    const ids = Array.from({ length: len }, (_, t) => 3 + ((t * 31 + k * 17 + seed) % 500));
    const labels = ids.map((id, t) => (t < len / 2 ? -100 : id)); // response-only: the second half
    return { ids, labels } as TokenizedSample;
  });
}

async function referenceGrads(model: LlamaModel, params: tf.Variable, batch: MicroBatch): Promise<{ loss: number; g: Float32Array }> {
  setKernelMode('reference');
  const { value, grads } = tf.variableGrads(() => {
    const h = targetHidden(model, batch);
    return chunkedCrossEntropy(h, model.params.lmHead, tf.tensor1d(batch.targets, 'int32'));
  }, [params]);
  const out = { loss: (await value.data())[0], g: (await grads[params.name].data()) as Float32Array };
  tf.dispose([value, grads[params.name]]);
  setKernelMode('fused');
  return out;
}

function compare(ours: Float32Array, ref: Float32Array): { abs: number; max: number } {
  let abs = 0;
  let max = 0;
  for (let i = 0; i < ref.length; i++) {
    abs = Math.max(abs, Math.abs(ours[i] - ref[i]));
    max = Math.max(max, Math.abs(ref[i]));
  }
  return { abs, max };
}

const CASES: [string, TinyOptions, number, boolean][] = [
  ['Llama GQA 4:2, rank 4, padded', {}, 4, false],
  ['Qwen2 (bias) GQA 6:2, rank 8, packed', { arch: 'Qwen2ForCausalLM', heads: 6, kvHeads: 2, headDim: 8, hidden: 48 }, 8, true],
  ['Llama MHA head_dim 16, 3 layers, rank 4, padded', { heads: 4, kvHeads: 4, headDim: 16, layers: 3 }, 4, false],
];

// SwiftShader runs the tiled kernels' barriers slowly: the tiled flavour takes the Qwen (bias, GQA 3, packed) case
for (const flavor of ['simple', 'tiled'] as KernelFlavor[])
  describe(`fused training backward vs tfjs autograd of the reference (${flavor})`, () => {
    beforeAll(() => setKernelFlavor(flavor));
    for (const [name, opts, rank, packed] of flavor === 'simple' ? CASES : CASES.filter((c) => c[3])) {
      it(name, async () => {
        const { model, params, layout } = makeModel(opts, rank);
        const data = samples(4, 1);
        const batch = packed ? packBatch(data, 64) : padBatch(data, 64);
        const ref = await referenceGrads(model, params, batch);
        const grads = tf.zeros([layout.size]);
        const lossT = fusedMicroGrads(model, batch, grads, false);
        const loss = (await lossT.data())[0];
        const d = compare((await grads.data()) as Float32Array, ref.g);
        console.log(`${flavor} ${name}: loss ${loss.toFixed(6)} vs ${ref.loss.toFixed(6)}; max |grad diff| ${d.abs.toExponential(2)} (max |grad| ${d.max.toExponential(2)})`);
        expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.loss)));
        expect(d.max).toBeGreaterThan(1e-3);
        expect(d.abs).toBeLessThan(2e-5 * Math.max(1, d.max));
        tf.dispose([lossT, grads, params]);
        model.dispose();
      });
    }
  });

describe('fused training gradients: accumulation, non-targets, finite differences', () => {
  it('accumulate adds the second micro-batch; non-target pairs get exact zeros', async () => {
    const targets: LinearName[] = ['q_proj', 'v_proj', 'down_proj'];
    const { model, params, layout } = makeModel({ heads: 6, kvHeads: 2, headDim: 8, hidden: 48 }, 4, targets);
    const b1 = padBatch(samples(3, 2), 64);
    const b2 = padBatch(samples(2, 5), 64);
    const r1 = await referenceGrads(model, params, b1);
    const r2 = await referenceGrads(model, params, b2);
    const grads = tf.fill([layout.size], 123); // overwritten, not added to, by the first micro-batch
    tf.dispose(fusedMicroGrads(model, b1, grads, false));
    tf.dispose(fusedMicroGrads(model, b2, grads, true));
    const g = (await grads.data()) as Float32Array;
    const sum = r1.g.map((v, i) => v + r2.g[i]);
    const d = compare(g, sum);
    console.log(`accumulated: max |diff| ${d.abs.toExponential(2)} (max |grad| ${d.max.toExponential(2)})`);
    expect(d.abs).toBeLessThan(2e-5 * Math.max(1, d.max));
    for (const { name, slot } of layout.entries()) {
      if (targets.includes(name)) continue;
      const aZero = g.subarray(slot.a, slot.a + 4 * slot.in).every((v) => v === 0);
      const bZero = g.subarray(slot.b, slot.b + slot.out * 4).every((v) => v === 0);
      expect(aZero && bZero, `${name} gradient is not exactly zero`).toBe(true);
    }
    tf.dispose([grads, params]);
    model.dispose();
  });

  it('activation checkpointing (recompute each layer in the backward) gives the same gradients', async () => {
    const { model, params, layout } = makeModel({ arch: 'Qwen2ForCausalLM', heads: 6, kvHeads: 2, headDim: 8, hidden: 48, layers: 3 }, 4);
    const batch = packBatch(samples(4, 7), 64);
    const run = async (checkpoint: boolean) => {
      const g = tf.zeros([layout.size]);
      const before = tf.memory().numTensors;
      const loss = fusedMicroGrads(model, batch, g, false, checkpoint);
      const out = { loss: (await loss.data())[0], g: (await g.data()) as Float32Array, leaked: tf.memory().numTensors - before - 1 };
      tf.dispose([loss, g]);
      return out;
    };
    const plain = await run(false);
    const ckpt = await run(true);
    const d = compare(ckpt.g, plain.g);
    console.log(`checkpointing: loss ${ckpt.loss} vs ${plain.loss}; max |grad diff| ${d.abs.toExponential(2)} (max |grad| ${d.max.toExponential(2)}); tensors left ${ckpt.leaked} vs ${plain.leaked}`);
    expect(ckpt.loss).toBe(plain.loss);
    expect(d.abs).toBeLessThanOrEqual(1e-6 * Math.max(1, d.max));
    expect(ckpt.leaked).toBe(0);
    expect(plain.leaked).toBe(0);
    tf.dispose(params);
    model.dispose();
  });

  it('central finite differences of the loss agree with the fused gradient', async () => {
    const { model, params, layout } = makeModel({}, 4);
    const batch = padBatch(samples(2, 3), 64);
    const grads = tf.zeros([layout.size]);
    tf.dispose(fusedMicroGrads(model, batch, grads, false));
    const g = (await grads.data()) as Float32Array;
    const p0 = (await params.data()) as Float32Array;
    const lossAt = async (p: Float32Array) => {
      params.assign(tf.tensor1d(p));
      setKernelMode('reference');
      const l = tf.tidy(() => chunkedCrossEntropy(targetHidden(model, batch), model.params.lmHead, tf.tensor1d(batch.targets, 'int32')));
      setKernelMode('fused');
      const v = (await l.data())[0];
      l.dispose();
      return v;
    };
    // a few A and B coordinates of several layers and groups
    const s0 = layout.slot(0, 'q_proj');
    const s1 = layout.slot(1, 'down_proj');
    const s2 = layout.slot(1, 'up_proj');
    const coords = [s0.a + 3, s0.b + 5, s1.a + 7, s1.b + 2, s2.b + 11];
    const eps = 1e-2;
    for (const i of coords) {
      const up = Float32Array.from(p0);
      const dn = Float32Array.from(p0);
      up[i] += eps;
      dn[i] -= eps;
      const num = ((await lossAt(up)) - (await lossAt(dn))) / (2 * eps);
      console.log(`coordinate ${i}: finite difference ${num.toExponential(4)}, fused ${g[i].toExponential(4)}`);
      expect(Math.abs(num - g[i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(num)));
    }
    tf.dispose([grads, params]);
    model.dispose();
  });
});
