/**
 * How much GPU memory LoRA training needs, predicted from a model's shape:
 *
 *   weights      the frozen weights as they are held (frozen.ts): matrices 2
 *                bytes a weight for BF16/F16 (or --store-bf16), 4 for F32, a
 *                ggml block's bytes over its weights at 8 or 4 bits (Q8_0
 *                34/32, Q4_0 18/32, a GGUF's Q4_1 20/32, Q4_K 144/256:
 *                bitsWeightBytes, bytesPerMatrixWeight); norms, biases and
 *                the RoPE tables f32
 *   adapter      the flat LoRA buffer P and the optimizer's moments (AdamW: m, v):
 *                what exists once the Trainer is made (the CLI's gpu_bytes.adapter)
 *   gradient     the flat gradient G, made at the first step and kept
 *   activations  what the fused path saves per layer for its backward (model.ts
 *                LayerActs), for every layer of one micro-batch; with activation
 *                checkpointing, every layer's input (N, d) and one layer's
 *                LayerActs, recomputed just before its backward
 *   transient    the chunked loss and one layer's backward, as tfjs's pool holds them
 *                (the loss's logits chunk: lossChunkFloats, picked from the budget
 *                by lossChunkFloatsFor)
 *
 * The page and the catalogue show these figures (src/ui/lib/hub.ts); the page
 * warns with `checkFit` and `suggestFit`. test/gpu/memory_model.test.ts holds
 * them against what the device counts (gpu/memory.ts): weights and adapter to
 * the byte, a micro-batch's peak within 15% (most within a few per cent) at
 * SmolLM2-135M's and Qwen2.5-0.5B's layer shapes and real shapes, 2 and 4
 * layers, with and without checkpointing.
 *
 * Why the transient adds up instead of taking a maximum: tfjs never frees a
 * buffer. A disposed tensor's buffer goes to a pool, keyed by exact byte size,
 * and is handed back only for a tensor of that same size, and only after the
 * next queue submit (every 15 dispatches). So within a micro-batch the device
 * holds, per size, the most buffers of that size ever alive at once, and the
 * peak is the end of the step. Measured, the step holds:
 *   - the saved activations of every layer;
 *   - the loss: three (rows, V) logits chunks (logits, shifted, exp: the one
 *     freed is not reusable before the next submit), six when there are several
 *     chunks (the next chunk starts before the submit), plus three for a last
 *     chunk of another size; six (Nt, d) row tensors of the Nt trained rows
 *     (gathered h, target rows, products, dh) and four (N, d) (final norm,
 *     last layer's output, dh scattered back, its RMSNorm backward);
 *   - one layer's backward gradients and the inputs it recomputes (N, 4·ff +
 *     5·d + 5·H·D + 4·Hkv·D) — layerBackward frees them at the layer's end and
 *     the layer below takes them from the pool, and the first layer takes
 *     three (N, d) from the loss's.
 * With checkpointing, the forward runs without saving (its temporaries are
 * one layer's worth, of the same sizes the recompute then takes from the
 * pool), so the layers cost L·(N, d) plus one layer's LayerActs.
 * Sizes that happen to coincide (SmolLM2: (N, 2·ff) = one logits chunk at
 * V = 4096) are reused and make the device hold a little less.
 *
 * Not modelled:
 *   - the pool across shapes: padBatch rounds each micro-batch's length up to a
 *     multiple of 32, and every new length allocates its own set of buffers.
 *     gpu/pool.ts evicts the old sets' buffers as a step needs room, so a run
 *     stays at its largest step's footprint: this estimate at maxLength, the
 *     longest (bench/memory.ts measures live bytes over steps of varying length);
 *   - evaluation, sampling and generation between steps (their buffers join
 *     the pool too), upload and readback staging, uniform buffers;
 *   - tensors the engine forgets to free (the test prints what a micro-batch
 *     leaves behind);
 *   - the reference path (LoRA dropout, or widths not a multiple of 4): tfjs
 *     autograd keeps far more, and the full (B, H, T, T) attention scores;
 *   - the driver's own rounding of allocations.
 */
import { BITS_FORMAT, formatBytesPerWeight, type FrozenBits } from './frozen';
import { defaultChunkRows, LOGITS_CHUNK_FLOATS } from './train/loss';

/** The parts of a model's config (config.ts ModelConfig) that decide its memory. */
export interface ModelShape {
  hiddenSize: number; // d
  intermediateSize: number; // ff
  numLayers: number; // L
  numHeads: number; // H
  numKvHeads: number; // Hkv
  headDim: number; // D
  vocabSize: number; // V
  maxPositions: number; // rows of the RoPE tables
  tieWordEmbeddings: boolean;
  attentionBias: boolean; // Qwen2's q/k/v biases
}

/** The parts of a config the memory model reads (a ModelConfig carries more). */
export function modelShape(c: ModelShape): ModelShape {
  return {
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    vocabSize: c.vocabSize,
    maxPositions: c.maxPositions,
    tieWordEmbeddings: c.tieWordEmbeddings,
    attentionBias: c.attentionBias,
  };
}

export interface MemoryQuery {
  config: ModelShape;
  /**
   * bytes per frozen matrix weight: 4 for F32, 2 for BF16/F16 checkpoints (or
   * --store-bf16), a quantized block's bytes over its weights at 8 or 4 bits
   * (frozen.ts formatBytesPerWeight: Q8_0 34/32, Q4_0 18/32, Q4_1 20/32, Q4_K 144/256)
   */
  weightBytes: number;
  rank: number;
  batchSize: number; // rows per micro-batch
  maxLength: number; // tokens per row
  /** default AdamW (two moments); SGD keeps none */
  optimizer?: 'adamw' | 'sgd';
  /** trained tokens (with a label) per micro-batch; default every token, the upper bound */
  targetTokens?: number;
  /** activation checkpointing (TrainConfig.gradientCheckpointing): each layer keeps only its input; one layer's activations are recomputed at a time */
  checkpointing?: boolean;
  /** floats per (rows, V) logits chunk of the loss (default loss.ts LOGITS_CHUNK_FLOATS; lossChunkFloatsFor picks it from a budget) */
  lossChunkFloats?: number;
}

export interface MemoryEstimate {
  weights: number; // bytes
  adapter: number;
  gradient: number;
  activations: number;
  transient: number;
  total: number;
  /** the largest single buffer the run needs (it must fit the device's binding and buffer limits) */
  largestBuffer: { bytes: number; what: string };
}

const F32 = 4;

/** Floats LayerActs keeps per token per layer (model.ts). */
export function savedFloatsPerToken(c: ModelShape, rank: number): number {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  return (
    2 * d + // x, x2 (the norms' outputs are recomputed in the backward)
    7 * rank + // x·Aᵀ of q|k|v (3r), o (r), gate|up (2r), down (r)
    q + 2 * kv + // rotated q, k and v in head layout
    c.numHeads * (c.headDim + 1) + // attention's packed (O, L); its rows are copied again in the backward
    2 * ff // gate|up (silu(gate)·up is recomputed in the backward)
  );
}

/** Floats of one layer's backward gradients and recomputed inputs, per token (model_backward.ts layerBackward). */
export function backwardFloatsPerToken(c: ModelShape): number {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  return (
    ff + 2 * ff + // dact, d(gate|up)
    4 * d + // dm, dx2, dh, dx
    3 * q + // da, dO in head layout, dq
    2 * kv + // dk, dv
    q + 2 * kv + // d(q|k|v) rows
    ff + d + q // recomputed silu(gate)·up, rmsnorm output (m, then h), attention rows
  );
}

/** Bytes of the RoPE cos and sin tables (maxPositions, D/2) f32, which the model makes at load. */
export function ropeTableBytes(c: ModelShape): number {
  return c.maxPositions * c.headDim * F32;
}

/** The frozen weights' parameters: in matrices (16-bit or f32 on the GPU) and in vectors (norms, biases: always f32). */
export function frozenParams(c: ModelShape): { matrices: number; vectors: number } {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const perLayerMatrix = (q + 2 * kv) * d + d * q + 3 * c.intermediateSize * d;
  const embed = c.vocabSize * d * (c.tieWordEmbeddings ? 1 : 2);
  return { matrices: c.numLayers * perLayerMatrix + embed, vectors: c.numLayers * (2 * d + (c.attentionBias ? q + 2 * kv : 0)) + d };
}

/** Parameters of a model of this shape, tied embeddings counted once (LlamaModel.numParams()). */
export function modelParams(c: ModelShape): number {
  const p = frozenParams(c);
  return p.matrices + p.vectors;
}

/** Bytes of the frozen weights on the GPU: LlamaModel.weightBytes() plus the RoPE tables. */
export function frozenWeightBytes(c: ModelShape, weightBytes: number): number {
  const p = frozenParams(c);
  return p.matrices * weightBytes + p.vectors * F32 + ropeTableBytes(c);
}

/**
 * Bytes per frozen matrix weight when every matrix is held at `bits`
 * (UploadOptions.frozenBits): 2 at 16 bits, Q8_0's 34/32 at 8, Q4_0's 18/32
 * at 4 (frozen.ts BITS_FORMAT; exact when every row is a whole number of
 * 32-weight blocks, as in every catalogue model). A GGUF's own Q4_1 or Q4_K
 * blocks, kept at 8 and 4 bits, take other sizes: bytesPerMatrixWeight gives
 * a loaded model's.
 */
export function bitsWeightBytes(bits: FrozenBits): number {
  return formatBytesPerWeight(BITS_FORMAT[bits]);
}

/**
 * Mean bytes per frozen matrix weight of a loaded model of shape `c` whose
 * frozen weights hold `weightBytes` on the GPU (LlamaModel.weightBytes():
 * matrices in whatever formats they took, and the f32 norms and biases), so
 * that frozenWeightBytes(c, it) is that figure plus the RoPE tables. A model
 * whose matrices differ in format (a GGUF's Q8_0 embedding beside Q4_1
 * layers) gets their mean: the per-layer buffers in largestBuffer are then
 * approximate.
 */
export function bytesPerMatrixWeight(c: ModelShape, weightBytes: number): number {
  const p = frozenParams(c);
  return p.matrices > 0 ? (weightBytes - p.vectors * F32) / p.matrices : 0;
}

/** Floats in the adapter's flat buffer P (lora_layout.ts: all seven pairs of every layer). */
export function adapterFloats(c: ModelShape, rank: number): number {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  const a = 3 * d + q + 2 * d + ff; // A: q, k, v, gate, up read d; o reads H·D; down reads ff
  const b = q + 2 * kv + d + 2 * ff + d; // B: one row per output
  return c.numLayers * rank * (a + b);
}

/**
 * Bytes the chunked loss (train/loss.ts) leaves on the device for Nt trained
 * rows of N, with `rows` rows per logits chunk (default: the loss's own choice).
 */
export function lossTransientBytes(c: ModelShape, tokens: number, targetTokens: number, rows = defaultChunkRows(Math.max(1, targetTokens), c.vocabSize)): number {
  const V = c.vocabSize;
  const d = c.hiddenSize;
  const full = Math.floor(targetTokens / rows);
  const rest = targetTokens - full * rows;
  const chunkBuffers = full === 0 ? 0 : full === 1 ? 3 : 6;
  const logits = (chunkBuffers * rows + (rest ? 3 * rest : 0)) * V;
  return (logits + 6 * targetTokens * d + 4 * tokens * d) * F32;
}

export function predictTrainingMemory(m: MemoryQuery): MemoryEstimate {
  const c = m.config;
  const N = m.batchSize * m.maxLength;
  const Nt = Math.min(N, m.targetTokens ?? N);
  const d = c.hiddenSize;
  const ff = c.intermediateSize;
  const n = adapterFloats(c, m.rank);
  const weights = frozenWeightBytes(c, m.weightBytes);
  const adapter = n * F32 * (m.optimizer === 'sgd' ? 1 : 3); // P, and AdamW's m and v
  const gradient = n * F32;
  const activations = m.checkpointing
    ? (c.numLayers * N * d + N * savedFloatsPerToken(c, m.rank)) * F32 // every layer's input, and one layer's recomputed activations
    : c.numLayers * N * savedFloatsPerToken(c, m.rank) * F32;
  // the first layer's backward takes three (N, d) buffers from the loss's pool
  const backward = N * (backwardFloatsPerToken(c) - 3 * d) * F32;
  const rows = defaultChunkRows(Math.max(1, Nt), c.vocabSize, m.lossChunkFloats);
  const transient = lossTransientBytes(c, N, Nt, rows) + backward;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const candidates: [number, string][] = [
    [N * 2 * ff * F32, `one layer's gate|up activations (${N.toLocaleString('en')} tokens × ${(2 * ff).toLocaleString('en')})`],
    [N * c.numHeads * (c.headDim + 1) * F32, `one layer's attention output (${N.toLocaleString('en')} tokens × ${c.numHeads} heads)`],
    [rows * c.vocabSize * F32, `a logits chunk (${rows} rows × ${c.vocabSize.toLocaleString('en')})`],
    [2 * ff * d * m.weightBytes, 'one layer\'s gate|up weights'],
    [(q + 2 * kv) * d * m.weightBytes, 'one layer\'s q|k|v weights'],
    [(m.optimizer === 'sgd' ? 1 : 2) * n * F32, m.optimizer === 'sgd' ? 'the adapter' : "the optimizer's moments"],
  ];
  // an f32 embedding is one tensor; a 16-bit or quantized one is split into row blocks that each fit a binding (frozen.ts)
  if (m.weightBytes >= 4) candidates.push([c.vocabSize * d * F32, `the embedding (${c.vocabSize.toLocaleString('en')} × ${d}, f32)`]);
  const [bytes, what] = candidates.reduce((a, b) => (b[0] > a[0] ? b : a));
  return { weights, adapter, gradient, activations, transient, total: weights + adapter + gradient + activations + transient, largestBuffer: { bytes, what } };
}

/** Logits-chunk sizes the loss may take, largest first: 64 MB down to 4 MB a chunk. */
export const LOSS_CHUNK_CHOICES = [LOGITS_CHUNK_FLOATS, LOGITS_CHUNK_FLOATS / 2, LOGITS_CHUNK_FLOATS / 4, LOGITS_CHUNK_FLOATS / 8, LOGITS_CHUNK_FLOATS / 16];

/**
 * The loss's logits chunk for a memory budget: the largest choice whose
 * predicted total fits `budgetBytes` (the smallest when none does; the
 * page's fit check says so). Fewer rows a chunk means more, smaller LM-head
 * matmuls, so without a budget it stays at the largest.
 */
export function lossChunkFloatsFor(q: MemoryQuery, budgetBytes?: number): number {
  if (!(budgetBytes && budgetBytes > 0)) return LOSS_CHUNK_CHOICES[0];
  for (const f of LOSS_CHUNK_CHOICES) if (predictTrainingMemory({ ...q, lossChunkFloats: f }).total <= budgetBytes) return f;
  return LOSS_CHUNK_CHOICES[LOSS_CHUNK_CHOICES.length - 1];
}

/** The estimate of a run that sizes its loss chunk to `budgetBytes`, as the Trainer does (TrainConfig.memoryBudgetBytes). */
export function predictWithinBudget(q: MemoryQuery, budgetBytes: number): MemoryEstimate {
  return predictTrainingMemory({ ...q, lossChunkFloats: q.lossChunkFloats ?? lossChunkFloatsFor(q, budgetBytes) });
}

/** What a run may use: a memory budget (browsers report no VRAM: the user says) and the device's limits. */
export interface MemoryLimits {
  budgetBytes: number;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface FitReport {
  fits: boolean;
  /** the total is over the budget */
  overBudget: boolean;
  /** the largest single buffer is over a device limit (the smaller of binding and buffer size) */
  overBuffer: boolean;
  /** the smaller of the two device limits */
  bufferLimit: number;
}

export function checkFit(e: MemoryEstimate, limits: MemoryLimits): FitReport {
  const bufferLimit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const overBudget = e.total > limits.budgetBytes;
  const overBuffer = e.largestBuffer.bytes > bufferLimit;
  return { fits: !overBudget && !overBuffer, overBudget, overBuffer, bufferLimit };
}

/**
 * The largest batch size that fits at this max length; when not even batch
 * size 1 does, the longest max length (a multiple of 32, as padBatch rounds)
 * that fits at batch size 1. Null when nothing does (the weights alone are
 * too big) or when the query already fits.
 */
export function suggestFit(q: MemoryQuery, limits: MemoryLimits): { batchSize: number; maxLength: number; estimate: MemoryEstimate } | null {
  const fits = (batchSize: number, maxLength: number) => {
    const estimate = predictWithinBudget({ ...q, batchSize, maxLength, targetTokens: undefined }, limits.budgetBytes);
    return checkFit(estimate, limits).fits ? { batchSize, maxLength, estimate } : null;
  };
  if (fits(q.batchSize, q.maxLength)) return null;
  for (let b = q.batchSize - 1; b >= 1; b--) {
    const f = fits(b, q.maxLength);
    if (f) return f;
  }
  for (let t = Math.floor((q.maxLength - 1) / 32) * 32; t >= 32; t -= 32) {
    const f = fits(1, t);
    if (f) return f;
  }
  return null;
}
