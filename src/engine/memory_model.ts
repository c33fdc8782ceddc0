/**
 * How much GPU memory a model needs, predicted from its config: the frozen
 * weights (at the checkpoint's precision, frozen.ts), the LoRA adapter with
 * its gradient and AdamW moments, and the activations of one training
 * micro-batch on the fused path (what model.ts's LayerActs keep per layer,
 * plus the transient peak of the chunked loss and of one layer's backward).
 * The page and the catalogue show these figures; test/gpu/memory_model.test.ts
 * holds them against what the device counts (gpu/memory.ts).
 *
 * Not modelled: tfjs's pool of freed buffers (it keeps every size it has
 * seen; `poolSlack` is a measured allowance, not a law) and the driver's own
 * rounding of allocations.
 */
import type { ModelConfig } from './config';
import { LoraLayout } from './lora_layout';
import { LOGITS_CHUNK_FLOATS } from './train/loss';

export interface MemoryQuery {
  config: ModelConfig;
  /** bytes per frozen matrix weight: 2 for BF16/F16 checkpoints (or --store-bf16), 4 for F32 */
  weightBytes: 2 | 4;
  rank: number;
  batchSize: number;
  maxLength: number;
}

export interface MemoryEstimate {
  weights: number; // frozen weights, bytes
  adapter: number; // P, its gradient and two AdamW moments
  activations: number; // saved per-layer activations of one micro-batch
  transient: number; // the loss's logits chunks, one layer's backward temporaries
  total: number;
}

/** Floats LayerActs keeps per token per layer (model.ts). */
export function savedFloatsPerToken(c: ModelConfig, rank: number): number {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  return (
    4 * d + // x, h = norm(x), x2, m = norm(x2)
    7 * rank + // x·Aᵀ of q|k|v (3r), o (r), gate|up (2r), down (r)
    q + 2 * kv + // rotated q, k and v in head layout
    c.numHeads * (c.headDim + 1) + // attention's packed (O, L)
    q + // attention output rows
    2 * ff + // gate|up
    ff // silu(gate)·up
  );
}

export function frozenWeightBytes(c: ModelConfig, weightBytes: 2 | 4): number {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const perLayerMatrix = (q + 2 * kv) * d + d * q + 3 * c.intermediateSize * d;
  const embed = c.vocabSize * d * (c.tieWordEmbeddings ? 1 : 2);
  const vectors = c.numLayers * (2 * d + (c.attentionBias ? q + 2 * kv : 0)) + d;
  const rope = c.maxPositions * c.headDim * 4; // cos and sin tables, f32
  return (c.numLayers * perLayerMatrix + embed) * weightBytes + vectors * 4 + rope;
}

export function predictTrainingMemory(m: MemoryQuery): MemoryEstimate {
  const c = m.config;
  const tokens = m.batchSize * m.maxLength;
  const weights = frozenWeightBytes(c, m.weightBytes);
  const adapter = new LoraLayout(c, m.rank).size * 4 * 4; // P, G, m, v
  const activations = c.numLayers * tokens * savedFloatsPerToken(c, m.rank) * 4;
  // the loss: two (rows, V) chunks at a time (≤ the chunk budget), its dh (tokens, d) twice;
  // a layer's backward: about four (tokens, ff)-sized temporaries alive at once
  const logits = 2 * Math.min(tokens * c.vocabSize, LOGITS_CHUNK_FLOATS) * 4;
  const layer = tokens * (4 * c.intermediateSize + 2 * c.hiddenSize) * 4;
  const transient = logits + 2 * tokens * c.hiddenSize * 4 + layer;
  return { weights, adapter, activations, transient, total: weights + adapter + activations + transient };
}
