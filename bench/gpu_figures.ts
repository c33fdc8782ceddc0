/**
 * The figures issue 10 asks of a real GPU, for our engine (the PyTorch side is
 * bench/torch_baseline.py, run on the same machine with the same shapes):
 *
 *   npx tsx bench/gpu_figures.ts [--models smollm2-135m,qwen2.5-0.5b] [--flavours tiled,simple]
 *       [--layers N] [--batch 4] [--len 256] [--steps 3] [--prefill 256] [--decode 64]
 *       [--lima 16x416] [--top 12] [--out figures.jsonl]
 *
 * For each model (random weights at the real config, matrices in BF16 as the
 * Hub ships them) and each kernel flavour:
 *   train     processed tokens/s of Trainer.step() (forward + backward + AdamW,
 *             LoRA r 8 on all 7 linears, 2/3 of each row trained), one
 *             micro-batch of batch × len, mean of `steps` steps after a warm-up
 *   prefill   tokens/s of one prefill-token forward into a KV cache (logits read back)
 *   decode    tokens/s of KV-cache steps (T = 1) after that prefill, each step
 *             reading its logits back, as greedy generation does
 *   kernels   GPU time per program of one training micro-batch (forward +
 *             backward, the fused path Trainer takes) from timestamp queries
 *   lima      the LIMA run's projected wall time: mean step time at the LIMA
 *             shape (rows × tokens, e.g. 16 × 416: ~400-token rows padded to
 *             the 32-token bucket) × the steps of 1,000 rows × 3 epochs
 * Each figure is one JSON line on stdout (and in --out), with the adapter's
 * description, so a line means something on its own. Every measurement comes
 * after a warm-up of the same shapes (shader compiles are not counted).
 * On SwiftShader pass --layers 1 and small shapes: it is the kit's check, not a figure.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initGpu, type GpuInfo } from '../src/engine/gpu/device';
import { KVCache, LlamaModel } from '../src/engine/model';
import { toBf16Bits } from '../src/engine/frozen';
import { DEFAULT_TRAIN_CONFIG, Trainer } from '../src/engine/train/trainer';
import { padBatch } from '../src/engine/train/batches';
import { fusedMicroGrads } from '../src/engine/train/fused_grads';
import { defaultChunkRows } from '../src/engine/train/loss';
import type { TokenizedSample } from '../src/engine/data/tokenize';
import { kernelFlavor, setKernelFlavor, type KernelFlavor } from '../kernels/program';
import { num } from '../src/cli/args';
import { randomWeights } from './dispatches';
import { timePrograms } from './program_profile';
import { realConfig, fullDepth, REAL_MODEL_IDS, type RealModelId } from '../test/helpers/real_checkpoints';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'smollm2-135m,qwen2.5-0.5b' },
    flavours: { type: 'string', default: 'tiled,simple' },
    layers: { type: 'string' },
    batch: { type: 'string', default: '4' },
    len: { type: 'string', default: '256' },
    steps: { type: 'string', default: '3' },
    prefill: { type: 'string', default: '256' },
    decode: { type: 'string', default: '64' },
    lima: { type: 'string', default: '16x416' },
    'lima-rows': { type: 'string', default: '1000' },
    'lima-epochs': { type: 'string', default: '3' },
    top: { type: 'string', default: '12' },
    out: { type: 'string' },
  },
});

const int = (flag: string, v: string) => num(v, flag, 0, (n) => Number.isInteger(n) && n > 0);
const models = values.models!.split(',').map((m) => m.trim()) as RealModelId[];
for (const m of models) if (!REAL_MODEL_IDS.includes(m)) throw new Error(`--models: "${m}" is not one of ${REAL_MODEL_IDS.join(', ')}`);
const flavours = values.flavours!.split(',').map((f) => f.trim()) as KernelFlavor[];
for (const f of flavours) if (f !== 'tiled' && f !== 'simple') throw new Error(`--flavours: "${f}" is not tiled or simple`);
const B = int('batch', values.batch!);
const T = int('len', values.len!);
const steps = int('steps', values.steps!);
const prefill = int('prefill', values.prefill!);
const decode = int('decode', values.decode!);
const [limaB, limaT] = values.lima!.split('x').map((v) => int('lima', v));
const limaRows = int('lima-rows', values['lima-rows']!);
const limaEpochs = int('lima-epochs', values['lima-epochs']!);
const top = int('top', values.top!);

let info: GpuInfo;
const out = values.out ? fs.openSync(values.out, 'w') : null;
function emit(row: Record<string, unknown>): void {
  const line = JSON.stringify({ ...row, adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim(), software: info.software });
  console.log(line);
  if (out !== null) fs.writeSync(out, line + '\n');
}

/** B rows of T synthetic ids, the first third of each row masked (a prompt), the rest trained. */
function samples(rows: number, len: number, vocab: number): TokenizedSample[] {
  return Array.from({ length: rows }, (_, k) => {
    const ids = Array.from({ length: len }, (_, t) => 3 + ((t * 31 + k * 7) % Math.min(vocab - 3, 30000)));
    return { ids, labels: ids.map((id, t) => (t < len / 3 ? -100 : id)) } as TokenizedSample;
  });
}

/** Mean seconds of a Trainer.step() at rows × len, after one warm-up step. */
async function stepSeconds(model: LlamaModel, rows: number, len: number, n: number): Promise<number> {
  const trainer = new Trainer(model, samples(rows * (n + 1), len, model.config.vocabSize), [], {
    ...DEFAULT_TRAIN_CONFIG,
    batchSize: rows,
    maxLength: len,
    maxSteps: n + 1,
    warmup: 0,
    shuffle: false,
  });
  try {
    await trainer.step(); // compiles the shaders of these shapes
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await trainer.step();
    return (performance.now() - t0) / 1000 / n;
  } finally {
    trainer.dispose();
    model.adapter = null;
  }
}

async function inferenceRates(model: LlamaModel): Promise<{ prefill: number; decode: number }> {
  const ids = Array.from({ length: prefill }, (_, i) => 3 + ((i * 37) % 2000));
  const run = async () => {
    const cache = new KVCache(model.config.numLayers, prefill + decode + 1);
    const t0 = performance.now();
    const first = model.nextLogits(tf.tensor2d([ids], [1, prefill], 'int32'), cache);
    await first.data();
    first.dispose();
    const t1 = performance.now();
    for (let i = 0; i < decode; i++) {
      const l = model.nextLogits(tf.tensor2d([[5 + i]], [1, 1], 'int32'), cache);
      await l.data();
      l.dispose();
    }
    const t2 = performance.now();
    cache.dispose();
    return { prefill: (prefill / (t1 - t0)) * 1000, decode: (decode / (t2 - t1)) * 1000 };
  };
  await run();
  return run();
}

/** An own program's name without its compile-time parameters: attention_forward_D64_BC32_… → attention_forward. */
function programName(key: string): string {
  const kept: string[] = [];
  for (const part of key.split('_')) {
    if (/^[A-Z]|\d|true$|false$/.test(part)) break;
    kept.push(part);
  }
  return kept.join('_') || key;
}

/** GPU ms per program of one fused training micro-batch (forward + backward), from timestamp queries. */
async function kernelTimes(model: LlamaModel): Promise<{ totalMs: number; dispatches: number; top: { program: string; count: number; ms: number }[] }> {
  const trainer = new Trainer(model, samples(B, T, model.config.vocabSize), [], { ...DEFAULT_TRAIN_CONFIG, batchSize: B, maxLength: T, maxSteps: 1, warmup: 0, shuffle: false });
  const batch = padBatch(trainer.samplesOfStep(0)[0], T);
  const grads = tf.zeros([trainer.adapter.layout.size]);
  const chunk = defaultChunkRows(batch.tokens, model.config.vocabSize, trainer.lossChunkFloats);
  const once = () => fusedMicroGrads(model, batch, grads, false, false, chunk);
  try {
    const warm = once();
    await warm.data();
    warm.dispose();
    let loss: tf.Scalar | null = null;
    const t = await timePrograms(
      () => {
        loss = once();
      },
      (p) => (p.constructor.name === 'Object' ? programName(p.shaderKey ?? '') : p.constructor.name),
    );
    await loss!.data();
    loss!.dispose();
    return { totalMs: t.kernelMs, dispatches: t.runs.length, top: t.byName.slice(0, top).map(({ name, count, ms }) => ({ program: name, count, ms })) };
  } finally {
    grads.dispose();
    trainer.dispose();
    model.adapter = null;
  }
}

info = await initGpu();
console.error(`GPU: ${info.vendor} ${info.architecture} (${info.description})${info.software ? ' [software]' : ''}; features ${info.features.join(',')}`);
for (const id of models) {
  const layers = values.layers ? int('layers', values.layers) : fullDepth(id);
  const config = realConfig(id, layers);
  const t0 = performance.now();
  const w = randomWeights(config);
  for (const t of w.values()) if (t.shape.length === 2) t.half = { format: 'bf16', bits: toBf16Bits(t.data) };
  const model = LlamaModel.fromWeights(config, w);
  w.clear();
  console.error(`${id}: ${layers} layers, random BF16 weights, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const base = { model: id, layers, weights: 'bf16 (random, real config)' };
  for (const flavour of flavours) {
    setKernelFlavor(flavour);
    const f = { ...base, flavour: kernelFlavor() };
    const s = await stepSeconds(model, B, T, steps);
    emit({ figure: 'train', ...f, batch: B, len: T, step_s: s, tokens_per_s: (B * T) / s, trained_tokens_per_s: (B * (T - Math.ceil(T / 3))) / s });
    const r = await inferenceRates(model);
    emit({ figure: 'prefill', ...f, tokens: prefill, tokens_per_s: r.prefill });
    emit({ figure: 'decode', ...f, after_prefill: prefill, tokens: decode, tokens_per_s: r.decode });
    const k = await kernelTimes(model);
    emit({ figure: 'kernels', ...f, batch: B, len: T, gpu_ms: k.totalMs, dispatches: k.dispatches, top: k.top });
    const ls = await stepSeconds(model, limaB, limaT, Math.min(steps, 2));
    const limaSteps = limaEpochs * Math.ceil(limaRows / limaB);
    emit({ figure: 'lima', ...f, batch: limaB, len: limaT, rows: limaRows, epochs: limaEpochs, steps: limaSteps, step_s: ls, projected_s: ls * limaSteps });
  }
  setKernelFlavor(null);
  model.dispose();
}
if (out !== null) fs.closeSync(out);
process.exit(0);
