/**
 * The LoRA instruction-tuning loop, one optimizer step at a time so a caller
 * (CLI, worker) can report progress, pause, checkpoint and resume.
 *
 * Loss: mean next-token NLL over all trained (response + EOS) tokens of the
 * effective batch (batchSize × gradAccum samples). Each micro-batch
 * contributes the gradient of its loss *sum*, one flat buffer G at the
 * adapter's layout offsets (lora_layout.ts); the summed G goes to the fused
 * optimizer, which divides it by the effective batch's token count and clips
 * it on the GPU, so accumulation equals one big batch exactly.
 *
 * Data order: epoch e visits the training set in shuffled(indices, seed + e)
 * order; step k takes the next batchSize × gradAccum samples. Everything
 * random (order, init, dropout) derives from the seed and the step, so a run
 * restored from a checkpoint continues exactly as an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';
import { LINEAR_NAMES, type LinearName } from '../config';
import { shuffled } from '../data/split';
import type { TokenizedSample } from '../data/tokenize';
import { LoraAdapter, type LoraConfig } from '../lora';
import type { LlamaModel } from '../model';
import { packBatch, padBatch, type MicroBatch } from './batches';
import { evaluate, targetHidden, type EvalResult } from './evaluate';
import { chunkedCrossEntropy, defaultChunkRows } from './loss';
import { bytesPerMatrixWeight, lossChunkFloatsFor } from '../memory_model';
import type { FrozenBits } from '../frozen';
import { fusedMicroGrads, fusedTrainingFits } from './fused_grads';
import { withKernelMode } from '../ops/mode';
import { poolStep } from '../gpu/pool';
import { Optimizer, type OptimizerKind, type OptimizerState } from './optimizer';
import { lrMultiplier, type ScheduleKind } from './schedule';

export interface TrainConfig {
  rank: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  targets: LinearName[];
  lr: number;
  schedule: ScheduleKind;
  warmup: number; // optimizer steps of linear warmup
  optimizer: OptimizerKind;
  weightDecay: number;
  maxGradNorm: number; // 0 = no clipping
  batchSize: number; // samples per micro-batch
  gradAccum: number; // micro-batches per optimizer step
  epochs: number;
  maxSteps: number; // 0 = run `epochs` epochs
  maxLength: number; // tokens per sample (data is truncated to it) and per packed row
  packing: boolean;
  seed: number;
  shuffle: boolean;
  evalEvery: number; // optimizer steps between validation passes; 0 = only at the end
  /** keep only each layer's input in the forward and recompute the layer in the backward (less memory, one more forward) */
  gradientCheckpointing?: boolean;
  /** GPU memory the run may use (bytes; the page's budget, the CLI's --memory-budget): the loss's logits chunk is sized to it (memory_model.ts lossChunkFloatsFor) */
  memoryBudgetBytes?: number;
  /**
   * the bits the frozen base was held at on the GPU (UploadOptions.frozenBits,
   * or what a GGUF's kept blocks are: 4 for Q4_0/Q4_1/Q4_K, 8 for Q8_0);
   * absent: 16-bit or f32, unquantized. The caller says it (the CLI from what
   * it uploaded, the page from its choice); the run records it and the recipe
   * loads the base quantized to match (train_peft.py: bitsandbytes 4- or 8-bit)
   */
  frozenBits?: FrozenBits;
}

/** Defaults follow the recipe in ../shared/README.md (LoRA r 8, alpha 16, all 7 linears, AdamW 1e-2, cosine, warmup 20). */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  rank: 8,
  alpha: 16,
  dropout: 0,
  rslora: false,
  targets: [...LINEAR_NAMES],
  lr: 1e-2,
  schedule: 'cosine',
  warmup: 20,
  optimizer: 'adamw',
  weightDecay: 0,
  maxGradNorm: 1,
  batchSize: 16,
  gradAccum: 1,
  epochs: 3,
  maxSteps: 0,
  maxLength: 512,
  packing: false,
  seed: 0,
  shuffle: true,
  evalEvery: 0,
};

export interface StepReport {
  step: number; // optimizer steps done, after this one
  totalSteps: number;
  epoch: number; // fractional epochs done
  loss: number; // mean NLL per trained token of this step's effective batch
  lr: number;
  gradNorm: number; // before clipping
  tokens: number; // trained tokens in this step
  tokensPerSec: number; // all tokens processed (incl. prompt) per second
  etaSec: number;
}

export interface TrainCheckpoint {
  version: 1;
  config: TrainConfig;
  step: number;
  trainSize: number;
  adapter: Record<string, { a: Float32Array; b: Float32Array }>;
  optimizer: OptimizerState;
  history: StepReport[];
}

export function loraConfigOf(c: TrainConfig): LoraConfig {
  return { rank: c.rank, alpha: c.alpha, dropout: c.dropout, rslora: c.rslora, targets: c.targets };
}

export function validateConfig(c: TrainConfig): void {
  const pos = (k: keyof TrainConfig) => {
    if (!(Number(c[k]) > 0)) throw new Error(`train config: ${k} must be > 0 (got ${c[k]})`);
  };
  (['rank', 'alpha', 'lr', 'batchSize', 'gradAccum', 'maxLength'] as const).forEach(pos);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`train config: dropout must be in [0, 1) (got ${c.dropout})`);
  if (c.maxSteps <= 0 && !(c.epochs > 0)) throw new Error('train config: need epochs > 0 or maxSteps > 0');
  if (!c.targets.length) throw new Error('train config: no target modules');
  for (const t of c.targets) if (!LINEAR_NAMES.includes(t)) throw new Error(`train config: unknown target module "${t}" (known: ${LINEAR_NAMES.join(', ')})`);
  if (c.frozenBits !== undefined && ![16, 8, 4].includes(c.frozenBits)) throw new Error(`train config: frozenBits must be 16, 8 or 4 (got ${c.frozenBits})`);
}

export class Trainer {
  readonly adapter: LoraAdapter;
  readonly optimizer: Optimizer;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  history: StepReport[] = [];
  private stepIndex = 0;
  private orders = new Map<number, number[]>();
  private elapsedMs = 0; // time spent in step() by this instance
  private stepsTimed = 0;
  /** the fused path's gradient buffer G (layout.size), reused every step */
  private gradBuffer: tf.Tensor1D | null = null;
  /** floats per logits chunk of the loss, from the memory budget */
  readonly lossChunkFloats: number;

  constructor(
    readonly model: LlamaModel,
    readonly train: TokenizedSample[],
    readonly validation: TokenizedSample[],
    readonly config: TrainConfig,
    adapter?: LoraAdapter,
  ) {
    validateConfig(config);
    if (train.length === 0) throw new Error('no training samples');
    this.adapter = adapter ?? new LoraAdapter(model.config, loraConfigOf(config), { seed: config.seed });
    model.adapter = this.adapter;
    model.adapterEnabled = true;
    this.optimizer = new Optimizer(
      this.adapter.params,
      { kind: config.optimizer, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: config.weightDecay },
      this.adapter.segments(),
    );
    this.lossChunkFloats = lossChunkFloatsFor(
      {
        config: model.config,
        // the mean bytes per matrix weight the model really holds (f32, 16-bit halves or ggml blocks)
        weightBytes: bytesPerMatrixWeight(model.config, model.weightBytes()),
        rank: config.rank,
        batchSize: config.batchSize,
        maxLength: config.maxLength,
        optimizer: config.optimizer,
        checkpointing: !!config.gradientCheckpointing,
      },
      config.memoryBudgetBytes,
    );
    const perStep = config.batchSize * config.gradAccum;
    this.stepsPerEpoch = Math.ceil(train.length / perStep);
    this.totalSteps = config.maxSteps > 0 ? config.maxSteps : Math.ceil(config.epochs * this.stepsPerEpoch);
  }

  /** optimizer steps done */
  get stepsDone(): number {
    return this.stepIndex;
  }

  get done(): boolean {
    return this.stepIndex >= this.totalSteps;
  }

  private order(epoch: number): number[] {
    let o = this.orders.get(epoch);
    if (!o) {
      const idx = this.train.map((_, i) => i);
      o = this.config.shuffle ? shuffled(idx, this.config.seed + epoch) : idx;
      this.orders.clear(); // keep only the current epoch
      this.orders.set(epoch, o);
    }
    return o;
  }

  /** The micro-batches (lists of samples) of optimizer step `k`. */
  samplesOfStep(k: number): TokenizedSample[][] {
    const { batchSize: B, gradAccum: G } = this.config;
    const epoch = Math.floor(k / this.stepsPerEpoch);
    const within = k % this.stepsPerEpoch;
    const order = this.order(epoch);
    const picked = order.slice(within * B * G, (within + 1) * B * G).map((i) => this.train[i]);
    const micro: TokenizedSample[][] = [];
    for (let i = 0; i < picked.length; i += B) micro.push(picked.slice(i, i + B));
    return micro;
  }

  /**
   * The NLL sum over a micro-batch's targets, and its gradient w.r.t. the
   * adapter's flat parameters P added to `acc` (the sum over earlier
   * micro-batches of this step; null for the first): one flat (layout.size)
   * tensor with every dA/dB at its layout offset, zero for linears that are
   * not targets.
   * Fused path (fused_grads.ts): the explicit backward writes dA/dB straight
   * into one persistent G, accumulating in place. Otherwise (reference kernel
   * mode, LoRA dropout, shapes the kernels do not take): tfjs autograd over
   * the composed reference ops, P sliced inside the tape, one add per extra
   * micro-batch. The caller sets model.dropout.
   */
  private microGrads(batch: MicroBatch, acc: tf.Tensor1D | null): { lossSum: tf.Scalar; grads: tf.Tensor1D } {
    const chunkRows = defaultChunkRows(Math.max(1, batch.tokens), this.model.config.vocabSize, this.lossChunkFloats);
    if (fusedTrainingFits(this.model, this.config.dropout)) {
      this.gradBuffer ??= tf.keep(tf.zeros([this.adapter.layout.size])) as tf.Tensor1D;
      const lossSum = fusedMicroGrads(this.model, batch, this.gradBuffer, acc !== null, !!this.config.gradientCheckpointing, chunkRows);
      return { lossSum, grads: this.gradBuffer };
    }
    const P = this.adapter.params;
    const { value, grads } = withKernelMode('reference', () =>
      tf.variableGrads(() => {
        const h = targetHidden(this.model, batch);
        return chunkedCrossEntropy(h, this.model.params.lmHead, tf.tensor1d(batch.targets, 'int32'), chunkRows);
      }, [P]),
    );
    const g = grads[P.name] as tf.Tensor1D;
    if (!acc) return { lossSum: value, grads: g }; // the first micro-batch's G as it is
    const sum: tf.Tensor1D = acc.add(g);
    acc.dispose();
    g.dispose();
    return { lossSum: value, grads: sum };
  }

  /** One micro-batch: its loss sum and G summed into acc, with this micro-batch's dropout. */
  private microStep(samples: TokenizedSample[], microIndex: number, acc: tf.Tensor1D | null) {
    const batch = this.config.packing ? packBatch(samples, this.config.maxLength) : padBatch(samples, this.config.maxLength);
    this.model.dropout = this.config.dropout > 0 ? { rate: this.config.dropout, seed: (this.config.seed * 1_000_003 + this.stepIndex * 131 + microIndex) * 97 } : null;
    try {
      return { ...this.microGrads(batch, acc), tokens: batch.tokens, processed: batch.rows * batch.length };
    } finally {
      this.model.dropout = null;
    }
  }

  /** Runs one optimizer step. */
  async step(): Promise<StepReport> {
    if (this.done) throw new Error('training is finished');
    poolStep(); // tfjs's pool: sizes this step does not use may be evicted for ones it does (gpu/pool.ts)
    const t0 = performance.now();
    let acc: tf.Tensor1D | null = null; // G: the gradient of the loss sum, summed over micro-batches
    const losses: tf.Scalar[] = [];
    let tokens = 0;
    let processed = 0;
    const micro = this.samplesOfStep(this.stepIndex);
    for (let m = 0; m < micro.length; m++) {
      const r = this.microStep(micro[m], m, acc);
      acc = r.grads;
      losses.push(r.lossSum);
      tokens += r.tokens;
      processed += r.processed;
    }
    const lrNow = this.config.lr * lrMultiplier(this.config.schedule, this.stepIndex, this.config.warmup, this.totalSteps);
    let gradNorm = 0;
    if (acc && tokens > 0) {
      gradNorm = await this.optimizer.step(acc, { lr: lrNow, gradScale: 1 / tokens, maxGradNorm: this.config.maxGradNorm });
    }
    if (acc !== this.gradBuffer) acc?.dispose(); // the fused path's G persists across steps
    let lossSum = 0;
    for (const l of losses) {
      lossSum += (await l.data())[0];
      l.dispose();
    }
    this.stepIndex += 1;
    const ms = performance.now() - t0;
    this.elapsedMs += ms;
    this.stepsTimed += 1;
    const report: StepReport = {
      step: this.stepIndex,
      totalSteps: this.totalSteps,
      epoch: this.stepIndex / this.stepsPerEpoch,
      loss: tokens ? lossSum / tokens : NaN,
      lr: lrNow,
      gradNorm,
      tokens,
      tokensPerSec: (processed / ms) * 1000,
      etaSec: ((this.elapsedMs / this.stepsTimed) * (this.totalSteps - this.stepIndex)) / 1000,
    };
    this.history.push(report);
    return report;
  }

  /** Mean loss / perplexity on samples (default: the validation set), with the adapter as it is now. */
  evaluate(samples: TokenizedSample[] = this.validation, onProgress?: (done: number, total: number) => void): Promise<EvalResult> {
    return evaluate(this.model, samples, { batchSize: this.config.batchSize, maxLength: this.config.maxLength, onProgress });
  }

  async checkpoint(): Promise<TrainCheckpoint> {
    const host = await this.adapter.toHost();
    const adapter: TrainCheckpoint['adapter'] = {};
    for (const [k, v] of host) adapter[k] = { a: v.a, b: v.b };
    return {
      version: 1,
      config: { ...this.config },
      step: this.stepIndex,
      trainSize: this.train.length,
      adapter,
      optimizer: await this.optimizer.save(),
      history: this.history.map((h) => ({ ...h })),
    };
  }

  static restore(model: LlamaModel, train: TokenizedSample[], validation: TokenizedSample[], ckpt: TrainCheckpoint): Trainer {
    if (ckpt.version !== 1) throw new Error(`checkpoint version ${ckpt.version} is not supported`);
    if (ckpt.trainSize !== train.length) throw new Error(`checkpoint was made with ${ckpt.trainSize} training samples; this data has ${train.length}`);
    const adapter = new LoraAdapter(model.config, loraConfigOf(ckpt.config), { tensors: new Map(Object.entries(ckpt.adapter)) });
    const t = new Trainer(model, train, validation, ckpt.config, adapter);
    t.optimizer.restore(ckpt.optimizer);
    t.stepIndex = ckpt.step;
    t.history = ckpt.history.map((h) => ({ ...h }));
    return t;
  }

  dispose(): void {
    this.gradBuffer?.dispose();
    this.gradBuffer = null;
    this.optimizer.dispose();
  }
}
