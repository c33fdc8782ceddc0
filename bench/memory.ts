/**
 * Training memory at the catalogue's real shapes (random weights, BF16 as
 * published; test/helpers/real_checkpoints.ts), counted at the device
 * (src/engine/gpu/memory.ts: every buffer created and not destroyed, tfjs's
 * pool included), and the memory model's figure beside each measurement.
 *
 *   train_device_peak_bytes  one model at `layers` layers, LoRA r 8 on all seven
 *                            linears, AdamW, batches of `batch` × `len` tokens
 *                            (the first quarter of each row prompt, the rest
 *                            trained), `steps` optimizer steps; the device's
 *                            peak, weights included. ours: activation
 *                            checkpointing on/off as the row says, the bounded
 *                            pool (gpu/pool.ts), the loss chunk from the budget;
 *                            baseline: the path before issue 14 in the same
 *                            process (no checkpointing, tfjs's unbounded pool,
 *                            64 MB logits chunks)
 *   train_live_after_step    live device bytes after each of `steps` steps whose
 *                            batches vary in length (up to `len`), ours with
 *                            checkpointing vs the baseline
 *   memory_model_full_depth  the memory model at the model's full depth for the
 *                            issue's targets (SmolLM2-135M 8 × 512, Qwen2.5-0.5B
 *                            4 × 512, checkpointing on), with the chunk the
 *                            budget gives
 *
 * On SwiftShader a step at real vocabularies is slow (the LM head alone is
 * Nt × V × d × 6 flops: Qwen2.5's V = 151,936), so the defaults are small
 * batches; pass --batch/--len/--steps for more (--steps 0 skips the peak rows).
 */
import type { TokenizedSample } from '../src/engine/data/tokenize';
import { gpuMemory, resetGpuPeak, uploadTensors } from '../src/engine/gpu/memory';
import { releasePooledBuffers, setPoolBounded } from '../src/engine/gpu/pool';
import { loadModelPath } from '../src/engine/io/node_load';
import { lossChunkFloatsFor, predictTrainingMemory, type MemoryQuery } from '../src/engine/memory_model';
import { LlamaModel } from '../src/engine/model';
import { LOGITS_CHUNK_FLOATS } from '../src/engine/train/loss';
import { DEFAULT_TRAIN_CONFIG, Trainer, type TrainConfig } from '../src/engine/train/trainer';
import { fullDepth, realCheckpoint, realConfig, type RealModelId } from '../test/helpers/real_checkpoints';

const RANK = 8;
/** the laptop targets: memory budget and batch at full depth */
export const TARGETS: Record<string, { budget: number; batch: number; len: number }> = {
  'smollm2-135m': { budget: 1.5e9, batch: 8, len: 512 },
  'qwen2.5-0.5b': { budget: 2.5e9, batch: 4, len: 512 },
};

export interface MemoryRow {
  name: 'train_device_peak_bytes';
  model: RealModelId;
  layers: number;
  batch: number;
  len: number;
  checkpointing: boolean;
  /** device peak, weights included */
  ours: number;
  baseline: number;
  /** resident frozen weights (in both) */
  weights: number;
  /** the memory model's total for the same query */
  predicted: number;
  ours_tokens_per_s: number;
  baseline_tokens_per_s: number;
}

export interface LiveRow {
  name: 'train_live_after_step';
  model: RealModelId;
  layers: number;
  batch: number;
  lengths: number[];
  ours: number[];
  baseline: number[];
  /** device peak over the run, weights included */
  ours_peak: number;
  baseline_peak: number;
  weights: number;
}

export interface FullDepthRow {
  name: 'memory_model_full_depth';
  model: RealModelId;
  layers: number;
  batch: number;
  len: number;
  checkpointing: boolean;
  budget: number;
  loss_chunk_floats: number;
  predicted: number;
  weights: number;
  activations: number;
  transient: number;
}

/** `rows` samples of `length` tokens (the first quarter prompt, the rest trained). */
function samples(rows: number, length: number, vocab: number, salt = 0): TokenizedSample[] {
  return Array.from({ length: rows }, (_, k) => {
    const ids = Array.from({ length }, (_, t) => 3 + ((t * 37 + (k + salt) * 11) % (vocab - 3)));
    const labels = ids.map((id, t) => (t < Math.floor(length / 4) ? -100 : id));
    return { ids, labels, line: k + 1, truncated: false, responseTokens: labels.filter((l) => l !== -100).length, boundaryMerges: 0 };
  });
}

interface Variant {
  checkpointing: boolean;
  bounded: boolean;
  budget?: number;
}

/** Trains `data` for its steps with one variant; the device peak and live bytes after each step. */
async function run(model: LlamaModel, data: TokenizedSample[], batch: number, len: number, v: Variant): Promise<{ peak: number; lives: number[]; tokensPerSec: number }> {
  setPoolBounded(v.bounded);
  releasePooledBuffers();
  resetGpuPeak();
  const steps = Math.ceil(data.length / batch);
  const config: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    rank: RANK,
    batchSize: batch,
    maxLength: len,
    maxSteps: steps,
    warmup: 0,
    shuffle: false,
    gradientCheckpointing: v.checkpointing,
    memoryBudgetBytes: v.budget,
  };
  const trainer = new Trainer(model, data, [], config);
  uploadTensors(trainer.adapter, trainer.optimizer);
  const lives: number[] = [];
  let tokensPerSec = 0;
  while (!trainer.done) {
    const r = await trainer.step();
    lives.push(gpuMemory().live);
    tokensPerSec = r.tokensPerSec; // the last step's: shaders compiled by then
  }
  const peak = gpuMemory().peak;
  trainer.dispose();
  trainer.adapter.dispose();
  model.adapter = null;
  setPoolBounded(true);
  return { peak, lives, tokensPerSec };
}

function query(id: RealModelId, layers: number, batch: number, len: number, checkpointing: boolean, lossChunkFloats?: number): MemoryQuery {
  return { config: realConfig(id, layers), weightBytes: 2, rank: RANK, batchSize: batch, maxLength: len, optimizer: 'adamw', checkpointing, lossChunkFloats };
}

export interface MemoryBenchOptions {
  models?: RealModelId[];
  layers?: number[];
  batch?: number;
  len?: number;
  steps?: number;
  /** lengths of the varying-length run (default none) */
  liveLengths?: number[];
  log: (s: string) => void;
}

export async function benchMemory(o: MemoryBenchOptions): Promise<(MemoryRow | LiveRow | FullDepthRow)[]> {
  const rows: (MemoryRow | LiveRow | FullDepthRow)[] = [];
  const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  for (const id of o.models ?? (['smollm2-135m', 'qwen2.5-0.5b'] as RealModelId[])) {
    const target = TARGETS[id];
    const batch = o.batch ?? (id === 'qwen2.5-0.5b' ? 1 : 2);
    const len = o.len ?? 64;
    const steps = o.steps ?? 2;
    for (const layers of o.layers ?? [2, 4]) {
      const ck = realCheckpoint(id, { layers });
      const model = LlamaModel.fromLoaded(await loadModelPath(ck.modelPath));
      releasePooledBuffers();
      const before = gpuMemory().live;
      uploadTensors(model);
      const weights = gpuMemory().live - before;
      const data = samples(batch * steps, len, ck.config.vocabSize);
      const base = steps > 0 ? await run(model, data, batch, len, { checkpointing: false, bounded: false, budget: undefined }) : null;
      for (const checkpointing of base ? [false, true] : []) {
        const ours = await run(model, data, batch, len, { checkpointing, bounded: true, budget: target?.budget });
        const chunk = lossChunkFloatsFor(query(id, layers, batch, len, checkpointing), target?.budget);
        const predicted = predictTrainingMemory({ ...query(id, layers, batch, len, checkpointing, chunk), targetTokens: data[0].responseTokens * batch }).total;
        const row: MemoryRow = {
          name: 'train_device_peak_bytes',
          model: id,
          layers,
          batch,
          len,
          checkpointing,
          ours: ours.peak,
          baseline: base!.peak,
          weights,
          predicted,
          ours_tokens_per_s: ours.tokensPerSec,
          baseline_tokens_per_s: base!.tokensPerSec,
        };
        o.log(
          `${id} L${layers} ${batch}×${len} checkpointing ${checkpointing ? 'on ' : 'off'}: device peak ${MB(ours.peak)} (baseline ${MB(base!.peak)}, ${(ours.peak / base!.peak).toFixed(2)}x), ` +
            `above weights ${MB(ours.peak - weights)} vs ${MB(base!.peak - weights)}; memory model ${MB(predicted)} (${((ours.peak / predicted - 1) * 100).toFixed(1)}%); ` +
            `${ours.tokensPerSec.toFixed(1)} vs ${base!.tokensPerSec.toFixed(1)} tok/s`,
        );
        rows.push(row);
      }
      if (o.liveLengths?.length) {
        // one step per length: every row of a step has that length
        const data = o.liveLengths.flatMap((l, k) => samples(batch, l, ck.config.vocabSize, k));
        const maxLen = Math.max(...o.liveLengths);
        const b = await run(model, data, batch, maxLen, { checkpointing: false, bounded: false });
        const ours = await run(model, data, batch, maxLen, { checkpointing: true, bounded: true, budget: target?.budget });
        const row: LiveRow = { name: 'train_live_after_step', model: id, layers, batch, lengths: o.liveLengths, ours: ours.lives, baseline: b.lives, ours_peak: ours.peak, baseline_peak: b.peak, weights };
        o.log(
          `${id} L${layers} ${batch} rows, live after each step (lengths ${o.liveLengths.join(', ')}): ours ${ours.lives.map(MB).join(', ')}; baseline ${b.lives.map(MB).join(', ')}; ` +
            `peak above weights ${MB(ours.peak - weights)} vs ${MB(b.peak - weights)}`,
        );
        rows.push(row);
      }
      model.dispose();
      releasePooledBuffers();
    }
    if (target) {
      const full = fullDepth(id);
      const q = query(id, full, target.batch, target.len, true);
      const chunk = lossChunkFloatsFor(q, target.budget);
      const p = predictTrainingMemory({ ...q, lossChunkFloats: chunk });
      const row: FullDepthRow = {
        name: 'memory_model_full_depth',
        model: id,
        layers: full,
        batch: target.batch,
        len: target.len,
        checkpointing: true,
        budget: target.budget,
        loss_chunk_floats: chunk,
        predicted: p.total,
        weights: p.weights,
        activations: p.activations,
        transient: p.transient,
      };
      const off = predictTrainingMemory({ ...q, checkpointing: false, lossChunkFloats: LOGITS_CHUNK_FLOATS }).total;
      o.log(`${id} full depth (${full} layers) ${target.batch}×${target.len}, checkpointing on: memory model ${MB(p.total)} (budget ${MB(target.budget)}, logits chunk ${chunk} floats); without checkpointing, 64 MB chunks: ${MB(off)}`);
      rows.push(row);
    }
  }
  return rows;
}
