/**
 * GPU dispatches per decoder layer, counted by wrapping the tfjs WebGPU
 * backend's runWebGPUProgram (every tfjs op and every program of ours goes
 * through it), at SmolLM2-135M's layer shape (hidden 576, 9 heads, 3 KV
 * heads, head dim 64, MLP 1536; LoRA r 8 on all seven linears).
 *
 * Per layer = count with 2 layers − count with 1 layer, so the embedding, the
 * final norm, the LM head and the loss drop out. The vocabulary is cut to
 * 4,096 (it only changes the per-model part). Each phase is run once to warm
 * up (shader compiles), then counted:
 *   decode               one KV-cache step (T = 1) of the base model, after an 8-token prefill
 *   decode_adapter       the same with the LoRA adapter on
 *   train_micro_batch    forward + backward of one micro-batch (2 rows × 32 tokens) w.r.t. the adapter
 *   optimizer            one optimizer step (AdamW) over the whole model's adapter (per model, not per layer)
 * Baseline: the composed reference path (kernel mode 'reference': tfjs ops,
 * tfjs autograd, the reference optimizer) in the same process.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../src/engine/config';
import { getBackend } from '../src/engine/gpu/device';
import { LoraAdapter } from '../src/engine/lora';
import { KVCache, LlamaModel } from '../src/engine/model';
import { setKernelMode, type KernelMode } from '../src/engine/ops/mode';
import { padBatch, type MicroBatch } from '../src/engine/train/batches';
import { targetHidden } from '../src/engine/train/evaluate';
import { fusedMicroGrads } from '../src/engine/train/fused_grads';
import { chunkedCrossEntropy } from '../src/engine/train/loss';
import { tinyWeights } from '../test/helpers/tiny_checkpoint';
import { Optimizer } from '../src/engine/train/optimizer';
import { clipByGlobalNorm, ReferenceOptimizer } from '../src/engine/train/optimizer_reference';
import type { TokenizedSample } from '../src/engine/data/tokenize';
import type { WeightMap } from '../src/engine/io/weights';
import { LINEAR_NAMES } from '../src/engine/config';
import type { FrozenBits } from '../src/engine/frozen';

export interface DispatchRow {
  name: 'dispatches_per_layer';
  phase: 'decode' | 'decode_adapter' | 'train_micro_batch' | 'optimizer';
  ours: number;
  baseline: number;
  shape: string;
}

export function smolLM2Shape(layers: number, vocab = 4096): ModelConfig {
  return {
    architecture: 'LlamaForCausalLM',
    hiddenSize: 576,
    intermediateSize: 1536,
    numLayers: layers,
    numHeads: 9,
    numKvHeads: 3,
    headDim: 64,
    vocabSize: vocab,
    maxPositions: 2048,
    rmsNormEps: 1e-5,
    ropeTheta: 100000,
    tieWordEmbeddings: true,
    attentionBias: false,
    bosTokenId: 1,
    eosTokenIds: [2],
  };
}

/** Small random weights at a config (HF names): the tests' tiny-checkpoint weights, at any shape. */
export const randomWeights = (c: ModelConfig, seed = 1): WeightMap => tinyWeights(c, seed) as WeightMap;

/** Runs fn and returns how many programs it dispatched. */
export async function countDispatches(fn: () => Promise<void> | void): Promise<number> {
  const backend = getBackend() as unknown as { runWebGPUProgram: (...a: unknown[]) => unknown };
  const original = backend.runWebGPUProgram;
  let n = 0;
  backend.runWebGPUProgram = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    backend.runWebGPUProgram = original;
  }
  return n;
}

function trainBatch(vocab: number): MicroBatch {
  const samples: TokenizedSample[] = [0, 1].map((k) => {
    const ids = Array.from({ length: 32 }, (_, t) => 3 + ((t * 37 + k * 11) % (vocab - 3)));
    return { ids, labels: ids.map((id, t) => (t < 12 ? -100 : id)) } as TokenizedSample;
  });
  return padBatch(samples, 32);
}

export interface Phases {
  decode: number;
  decode_adapter: number;
  train_micro_batch: number;
}

/** Dispatches of each phase for a model of `layers` layers (SmolLM2-135M's layer shape unless `shape` gives another), its matrices held at `frozenBits` (16: bf16). */
export async function countPhases(layers: number, mode: KernelMode, frozenBits: FrozenBits = 16, shape: (layers: number) => ModelConfig = smolLM2Shape): Promise<Phases> {
  setKernelMode(mode);
  const config = shape(layers);
  const model = LlamaModel.fromWeights(config, randomWeights(config), { frozenBits });
  const adapter = new LoraAdapter(config, { rank: 8, alpha: 16, dropout: 0, rslora: false, targets: [...LINEAR_NAMES] }, { seed: 0 });
  const decodeStep = async (withAdapter: boolean) => {
    model.adapter = withAdapter ? adapter : null;
    const cache = new KVCache(layers, 64);
    tf.dispose(model.nextLogits(tf.tensor2d([[1, 5, 9, 13, 17, 21, 25, 29]], [1, 8], 'int32'), cache));
    const step = () => {
      const l = model.nextLogits(tf.tensor2d([[7]], [1, 1], 'int32'), cache);
      l.dispose();
    };
    step(); // warm-up
    const n = await countDispatches(step);
    cache.dispose();
    return n;
  };
  const batch = trainBatch(config.vocabSize);
  model.adapter = adapter;
  const grads = tf.zeros([adapter.layout.size]);
  const trainStep = () => {
    if (mode === 'fused') tf.dispose(fusedMicroGrads(model, batch, grads, false));
    else {
      const { value, grads: g } = tf.variableGrads(() => chunkedCrossEntropy(targetHidden(model, batch), model.params.lmHead, tf.tensor1d(batch.targets, 'int32')), adapter.variables());
      tf.dispose([value, ...Object.values(g)]);
    }
  };
  trainStep(); // warm-up
  const out: Phases = {
    decode: await decodeStep(false),
    decode_adapter: await decodeStep(true),
    train_micro_batch: await countDispatches(trainStep),
  };
  grads.dispose();
  adapter.dispose();
  model.dispose();
  setKernelMode('fused');
  return out;
}

/**
 * One optimizer step over SmolLM2-135M's whole adapter (30 layers × 7 pairs):
 * ours, the fused AdamW on the flat buffer; baseline, the composed AdamW per
 * A/B tensor with global-norm clipping (the trainer's optimizer before it),
 * the mean over tokens included in both.
 */
async function optimizerCounts(): Promise<{ ours: number; baseline: number }> {
  const config = smolLM2Shape(30);
  const adapter = new LoraAdapter(config, { rank: 8, alpha: 16, dropout: 0, rslora: false, targets: [...LINEAR_NAMES] }, { seed: 0 });
  const cfg = { kind: 'adamw' as const, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const opt = new Optimizer(adapter.params, cfg, adapter.segments());
  const grads = tf.randomNormal([adapter.layout.size], 0, 1e-3, 'float32', 1);
  const fused = () => opt.step(grads, { lr: 1e-3, gradScale: 1 / 100, maxGradNorm: 1 }).then(() => undefined);
  await fused(); // warm-up
  const ours = await countDispatches(fused);
  const vars = adapter.segments().map((sg) => tf.variable(tf.zeros([sg.length])));
  const ref = new ReferenceOptimizer(vars, cfg);
  const perVar = vars.map((v) => tf.randomNormal(v.shape, 0, 1e-3, 'float32', 2));
  const composed = async () => {
    const mean = perVar.map((g) => g.div(100));
    const clipped = await clipByGlobalNorm(mean, 1);
    ref.apply(clipped.grads, 1e-3);
    tf.dispose([...mean, ...clipped.grads]);
  };
  await composed();
  const baseline = await countDispatches(composed);
  tf.dispose([grads, ...perVar, ...vars]);
  ref.dispose();
  opt.dispose();
  adapter.dispose();
  return { ours, baseline };
}

export async function benchDispatches(log: (s: string) => void = console.log): Promise<DispatchRow[]> {
  const counts: Record<KernelMode, [Phases, Phases]> = {
    fused: [await countPhases(1, 'fused'), await countPhases(2, 'fused')],
    reference: [await countPhases(1, 'reference'), await countPhases(2, 'reference')],
  };
  // 4-bit frozen weights (Q4_0 blocks, issue 23): dequantized inside the matmuls, so the same programs run
  const q4: [Phases, Phases] = [await countPhases(1, 'fused', 4), await countPhases(2, 'fused', 4)];
  const shape = 'SmolLM2-135M layer (d 576, 9/3 heads, D 64, ff 1536), LoRA r 8 on 7 linears; train 2 × 32 tokens';
  const rows: DispatchRow[] = (['decode', 'decode_adapter', 'train_micro_batch'] as const).map((phase) => ({
    name: 'dispatches_per_layer',
    phase,
    ours: counts.fused[1][phase] - counts.fused[0][phase],
    baseline: counts.reference[1][phase] - counts.reference[0][phase],
    shape,
  }));
  for (const phase of ['decode', 'decode_adapter', 'train_micro_batch'] as const)
    rows.push({ name: 'dispatches_per_layer', phase, ours: q4[1][phase] - q4[0][phase], baseline: counts.reference[1][phase] - counts.reference[0][phase], shape: `${shape}; frozen weights 4-bit (Q4_0 blocks)` });
  const opt = await optimizerCounts();
  rows.push({ name: 'dispatches_per_layer', phase: 'optimizer', ours: opt.ours, baseline: opt.baseline, shape: 'one AdamW step over the whole SmolLM2-135M adapter (30 layers × 7 LoRA pairs, r 8), per model' });
  for (const r of rows) log(`dispatches per layer, ${r.phase}: ours ${r.ours}, reference ${r.baseline} (${(r.baseline / r.ours).toFixed(1)}× fewer)`);
  return rows;
}
