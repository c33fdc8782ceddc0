/**
 * A Llama-family decoder (Llama, TinyLlama, SmolLM2, Qwen2/2.5) on tfjs.
 *
 * One readable file: the parameter table, RMSNorm, rotate-half RoPE, grouped
 * query attention and the SwiGLU MLP, with prefill and KV-cache decode.
 * References: Touvron et al. 2023 (LLaMA); HF transformers' modeling_llama.py
 * (the layout and RoPE convention we load into); Hu et al. 2021 (LoRA).
 *
 * The projections that read the same input run as one: q|k|v and gate|up are
 * stacked at load (their LoRA pairs are stacked the same way in the adapter's
 * flat buffer, lora_layout.ts). Each step of `layerForward` is one op that
 * picks our fused kernel or the composed tfjs reference (ops/mode.ts):
 * RMSNorm, a projection with its LoRA term, bias and residual add in one
 * pass, RoPE applied while splitting q|k|v into heads, attention written
 * straight to token rows, SwiGLU. Training with the fused kernels does not
 * use tfjs autograd: `layerForward` keeps what the backward needs
 * (LayerActs) and model_backward.ts runs the backward kernels, writing the
 * adapter's gradients into one flat buffer. The reference path is plain
 * composed tfjs ops, differentiated by tfjs autograd: the oracle the fused
 * path is tested against.
 */
import * as tf from '@tensorflow/tfjs';
import { linearKey, type LinearName, type ModelConfig } from './config';
import { disposeFrozen, frozenBytes, frozenShape, isPacked, maxBindingBytes, uploadFrozen, type Frozen, type FrozenBits, type PackedWeight } from './frozen';
import type { HostTensor, LoadedModel, WeightMap } from './io/weights';
import { embeddingRows, logitsFor } from './ops/frozen_matmul';
import { LORA_GROUPS, type LoraGroup, type LoraLayout } from './lora_layout';
import { attentionRows, attentionRowsFused, fusedAttentionFits } from './ops/attention';
import { fusedProjectionFits, projection, projectionFused, type LoraGroupRef, type ProjectionArgs } from './ops/linear';
import { kernelMode } from './ops/mode';
import { submitPending } from './gpu/pool';
import { rmsNorm } from './ops/norm';
import { ropeHeads, type RopeArgs } from './ops/rope';
import { swiglu } from './ops/swiglu';
import { ropeIntoCache, type HeadDims } from '../../kernels/rope_heads';

/** Parameters of one decoder layer (HF names in comments). */
/**
 * Parameters of one decoder layer (HF names in comments). Matrices are
 * Frozen (frozen.ts): f32, or the checkpoint's bf16/f16 bits packed two per
 * word; norms and biases are small and stay f32.
 */
export interface LayerParams {
  inputNorm: tf.Tensor1D; // input_layernorm.weight (d)
  postNorm: tf.Tensor1D; // post_attention_layernorm.weight (d)
  qkv: Frozen; // q_proj | k_proj | v_proj stacked: (H·D + 2·Hkv·D, d)
  qkvBias: tf.Tensor1D | null; // Qwen2: q/k/v biases stacked (H·D + 2·Hkv·D)
  o: Frozen; // o_proj (d, H·D)
  gateUp: Frozen; // gate_proj | up_proj stacked: (2·ff, d)
  down: Frozen; // down_proj (d, ff)
}

export interface ModelParams {
  embed: Frozen; // model.embed_tokens.weight (V, d)
  layers: LayerParams[];
  finalNorm: tf.Tensor1D; // model.norm.weight (d)
  lmHead: Frozen; // lm_head.weight (V, d), or embed when tied
}

export interface UploadOptions {
  /** keep 16-bit checkpoints' matrices at 16 bits on the GPU (default true; false uploads f32) */
  halves?: boolean;
  /** store f32 checkpoints' matrices as bf16 (rounds each weight to 8 mantissa bits: halves their memory, changes logits slightly) */
  storeBf16?: boolean;
  /**
   * bits of the frozen matrices on the GPU (QLoRA-style, frozen.ts): 16 = bf16
   * halves (GGUF blocks dequantized to bf16); 8 or 4 = ggml blocks (a GGUF's
   * own Q8_0/Q4_0/Q4_1/Q4_K blocks as they are; other matrices quantized on
   * load to Q8_0 or Q4_0, blockwise absmax, io/quantize.ts). Default: as the
   * file stores them (16-bit safetensors at 16 bits, a GGUF's kept blocks).
   */
  frozenBits?: FrozenBits;
  /** cap on one GPU block of a frozen matrix (default: the device's binding limit); tests force splits with it */
  blockBytes?: number;
}

/** A LoRA adapter the model can ride on: one flat buffer P laid out by `layout` (lora.ts). */
export interface AdapterProvider {
  readonly params: tf.Tensor; // P (layout.size)
  readonly layout: LoraLayout;
  readonly scale: number;
}

/**
 * Per-layer key/value cache for decoding: k, v (B, Hkv, capacity, D), filled
 * up to `length`. The capacity is fixed when the cache is made, so every
 * decode step runs with the same tensor shapes (tfjs compiles a shader per
 * shape); each step's rows are written into it in place (kernels/rope_heads.ts).
 */
export class KVCache {
  k: (tf.Tensor4D | null)[];
  v: (tf.Tensor4D | null)[];
  length = 0;
  constructor(
    numLayers: number,
    readonly capacity: number,
  ) {
    this.k = new Array(numLayers).fill(null);
    this.v = new Array(numLayers).fill(null);
  }
  /** The layer's k or v store (B, Hkv, capacity, D), made (zeros) on first use. */
  store(which: 'k' | 'v', layer: number, B: number, Hkv: number, D: number): tf.Tensor4D {
    const s = this[which];
    s[layer] ??= tf.keep(tf.zeros([B, Hkv, this.capacity, D])) as tf.Tensor4D;
    return s[layer]!;
  }
  dispose(): void {
    for (const t of [...this.k, ...this.v]) t?.dispose();
    this.k.fill(null);
    this.v.fill(null);
    this.length = 0;
  }
}

export interface ForwardOptions {
  /** absolute positions (B, T) int32; default 0..T-1 (or cache.length.. when decoding) */
  positions?: tf.Tensor2D;
  /** (B, T) int32 sample ids for packing/padding; 0 = padding (see ops/attention.ts) */
  segmentIds?: tf.Tensor2D;
  /** decode against and append to this cache (the cache keeps its tensors) */
  cache?: KVCache;
  /**
   * (B) how strongly each batch row rides the adapter: its LoRA term times
   * loraScales[b], 0 = the base model, 1 = tuned (the default for every row).
   * Base and tuned in one forward on the same weights: each row equals its
   * own forward with the adapter off or on, bit for bit.
   */
  loraScales?: number[];
}

/**
 * What one layer's backward needs from its forward (model_backward.ts), all
 * kept outside tidy. Each op keeps only what its backward cannot cheaply
 * recompute: the norms' outputs h and m, attention's output rows and
 * silu(gate)·up are one cheap pass each from what is kept here, so
 * layerBackward recomputes them just before the projection backward that
 * reads them (for dA) and frees them right after.
 */
export interface LayerActs {
  x: tf.Tensor2D; // layer input (N, d): RMSNorm 1's backward, and h = rmsnorm(x) recomputed
  xaQkv: tf.Tensor2D | null; // h·A_qkvᵀ (N, 3r): dB_qkv
  q: tf.Tensor4D; // (B, H, T, D), rotated: attention's backward
  k: tf.Tensor4D; // (B, Hkv, T, D), rotated
  v: tf.Tensor4D; // (B, Hkv, T, D)
  packed: tf.Tensor1D; // attention's (O, L) (B·H·T·(D+1)): its backward, and o_proj's input rows recomputed from O
  xaO: tf.Tensor2D | null; // a·A_oᵀ (N, r): dB_o
  x2: tf.Tensor2D; // x + o_proj(a) (N, d): RMSNorm 2's backward, and m = rmsnorm(x2) recomputed
  xaGu: tf.Tensor2D | null; // m·A_guᵀ (N, 2r): dB_gu
  gu: tf.Tensor2D; // gate|up (N, 2·ff): SwiGLU's backward, and act = silu(gate)·up recomputed
  xaDown: tf.Tensor2D | null; // act·A_downᵀ (N, r): dB_down
}

/** Per-forward context shared by every layer. */
interface ForwardContext {
  rope: Omit<RopeArgs, 'qkv'>;
  segmentIds: tf.Tensor2D | null;
  cache: KVCache | null;
  start: number;
  queryOffset: tf.Tensor1D | null;
  loraRowScale: tf.Tensor1D | null; // (N = B·T): loraScales per token row
}

export class LlamaModel {
  /** LoRA adapter applied on top of the frozen weights, when enabled */
  adapter: AdapterProvider | null = null;
  adapterEnabled = true;
  readonly ropeCos: tf.Tensor2D; // (maxPositions, D/2)
  readonly ropeSin: tf.Tensor2D;

  constructor(
    readonly config: ModelConfig,
    readonly params: ModelParams,
  ) {
    [this.ropeCos, this.ropeSin] = ropeTables(config);
  }

  /**
   * Uploads host weights (HF names) to the GPU, stacking q|k|v and gate|up.
   * Matrices that the file holds as BF16/F16 stay 16-bit on the GPU.
   * All or nothing: when a weight is missing or too large, the tensors made
   * before it are freed and the error goes on.
   */
  static fromWeights(config: ModelConfig, w: WeightMap, opts: UploadOptions = {}): LlamaModel {
    const made: (Frozen | tf.Tensor)[] = [];
    const host = (name: string) => {
      const t = w.get(name);
      if (!t) throw new Error(`weight "${name}" missing`);
      return t;
    };
    const vector = (data: Float32Array) => {
      const v = tf.tensor1d(data, 'float32');
      made.push(v);
      return v;
    };
    const matrix = (t: HostTensor, name: string, layerMatrix = true) => {
      const f = uploadFrozen(t, opts);
      made.push(f);
      if (layerMatrix && isPacked(f) && f.blocks.length > 1) throw new Error(`weight "${name}" (${t.shape}) exceeds one GPU binding (${maxBindingBytes()} bytes)`);
      return f;
    };
    try {
      const layers: LayerParams[] = [];
      for (let i = 0; i < config.numLayers; i++) {
        const p = `model.layers.${i}`;
        const parts = (names: readonly LinearName[], suffix: string) => names.map((n) => host(`${linearKey(i, n)}.${suffix}`));
        const hasBias = w.has(`${linearKey(i, 'q_proj')}.bias`);
        layers.push({
          inputNorm: vector(host(`${p}.input_layernorm.weight`).data),
          postNorm: vector(host(`${p}.post_attention_layernorm.weight`).data),
          qkv: matrix(stackRows(parts(LORA_GROUPS.qkv, 'weight')), `${p}.self_attn.qkv`),
          qkvBias: hasBias ? vector(stackRows(parts(LORA_GROUPS.qkv, 'bias')).data) : null,
          o: matrix(host(`${linearKey(i, 'o_proj')}.weight`), `${linearKey(i, 'o_proj')}.weight`),
          gateUp: matrix(stackRows(parts(LORA_GROUPS.gateUp, 'weight')), `${p}.mlp.gate_up`),
          down: matrix(host(`${linearKey(i, 'down_proj')}.weight`), `${linearKey(i, 'down_proj')}.weight`),
        });
      }
      const embed = matrix(host('model.embed_tokens.weight'), 'model.embed_tokens.weight', false);
      const lmHead = config.tieWordEmbeddings ? embed : matrix(host('lm_head.weight'), 'lm_head.weight', false);
      return new LlamaModel(config, { embed, layers, finalNorm: vector(host('model.norm.weight').data), lmHead });
    } catch (e) {
      for (const t of made) disposeFrozen(t);
      throw e;
    }
  }

  static fromLoaded(m: LoadedModel, opts: UploadOptions = {}): LlamaModel {
    return LlamaModel.fromWeights(m.config, m.weights, opts);
  }

  /** Every parameter once (the embedding appears once when tied). */
  private paramList(): (tf.Tensor | PackedWeight)[] {
    const all: (tf.Tensor | PackedWeight)[] = [this.params.embed, this.params.lmHead, this.params.finalNorm];
    for (const l of this.params.layers) all.push(l.inputNorm, l.postNorm, l.qkv, l.o, l.gateUp, l.down, ...(l.qkvBias ? [l.qkvBias] : []));
    return [...new Set(all)];
  }

  /** Number of parameters (tied embeddings counted once). */
  numParams(): number {
    return this.paramList().reduce((n, t) => n + (isPacked(t as Frozen) ? frozenShape(t as Frozen).reduce((a, b) => a * b, 1) : (t as tf.Tensor).size), 0);
  }

  /** GPU bytes the frozen weights hold (2 per parameter where packed, 4 where f32). */
  weightBytes(): number {
    return this.paramList().reduce((n, t) => n + frozenBytes(t as Frozen), 0);
  }

  /**
   * LoRA dropout while training: rate and a seed for this forward pass (each
   * adapted linear draws its own mask from seed + a counter, in q, k, v, o,
   * gate, up, down order), or null. Only the reference path takes it.
   */
  dropout: { rate: number; seed: number } | null = null;
  private dropoutCalls = 0;

  /** The adapter terms of layer `layer`'s projection group, when an adapter is on. */
  loraOf(layer: number, group: LoraGroup, rowScale: tf.Tensor1D | null = null): LoraGroupRef | null {
    const ad = this.adapterEnabled ? this.adapter : null;
    return ad ? { params: ad.params, group: ad.layout.groups[layer][group], rank: ad.layout.rank, scale: ad.scale, rowScale } : null;
  }

  /** Head shapes of a (B, T) chunk. */
  dims(B: number, T: number): HeadDims {
    return { B, T, H: this.config.numHeads, Hkv: this.config.numKvHeads, D: this.config.headDim };
  }

  /** Whether the fused kernels take every op of this model (with the current adapter); else the reference runs. */
  fusedFits(): boolean {
    const c = this.config;
    const ad = this.adapterEnabled ? this.adapter : null;
    const r = ad?.layout.rank ?? 4;
    const ok4 = [c.hiddenSize, c.intermediateSize, c.headDim, r].every((n) => n % 4 === 0);
    return kernelMode() === 'fused' && ok4 && fusedAttentionFits(c.headDim);
  }

  /**
   * One projection: (residual +) x·Wᵀ + bias + LoRA, fused or reference.
   * With `acts`, stores the adapter's x·Aᵀ there (the backward's dB needs it).
   */
  private project(args: ProjectionArgs, acts: LayerActs | null, xaKey: 'xaQkv' | 'xaO' | 'xaGu' | 'xaDown'): tf.Tensor2D {
    const drop = this.dropout && this.dropout.rate > 0 && args.lora ? this.dropout : null;
    if (drop && acts) throw new Error('LoRA dropout runs on the reference path only');
    if (drop) {
      const loraInputs = args.lora!.group.outs.map(() => tf.dropout(args.x, drop.rate, undefined, drop.seed + this.dropoutCalls++) as tf.Tensor2D);
      return projection({ ...args, loraInputs });
    }
    if (!acts) return projection(args);
    if (!fusedProjectionFits(args.x.shape[1], args.lora)) throw new Error('fused training needs widths and rank that are multiples of 4');
    const { y, xa } = projectionFused(args);
    acts[xaKey] = xa;
    return y;
  }

  /**
   * One decoder layer on x (N = B·T, d). With `acts` (fused training), the
   * intermediates the backward reads and does not recompute are stored
   * there (LayerActs); the caller owns them.
   */
  private layerForward(x: tf.Tensor2D, i: number, ctx: ForwardContext, dims: HeadDims, acts: LayerActs | null): tf.Tensor2D {
    const l = this.params.layers[i];
    const eps = this.config.rmsNormEps;
    const { B, Hkv, D } = dims;
    // --- attention block ---
    const h = rmsNorm(x, l.inputNorm, eps); // (N, d)
    const qkv = this.project({ x: h, w: l.qkv, bias: l.qkvBias, lora: this.loraOf(i, 'qkv', ctx.loraRowScale) }, acts, 'xaQkv'); // (N, H·D + 2·Hkv·D)
    const rope = { ...ctx.rope, qkv };
    const q = ropeHeads(rope, 'q'); // (B, H, T, D), rotated
    let k: tf.Tensor4D;
    let v: tf.Tensor4D;
    if (ctx.cache) {
      // this chunk's rows go into the cache in place; attention reads the whole store
      k = ctx.cache.store('k', i, B, Hkv, D);
      v = ctx.cache.store('v', i, B, Hkv, D);
      ropeIntoCache(qkv, ctx.rope.positions, ctx.rope.cos, ctx.rope.sin, dims, 'k', k, ctx.start);
      ropeIntoCache(qkv, ctx.rope.positions, ctx.rope.cos, ctx.rope.sin, dims, 'v', v, ctx.start);
    } else {
      k = ropeHeads(rope, 'k'); // (B, Hkv, T, D), rotated
      v = ropeHeads(rope, 'v'); // (B, Hkv, T, D)
    }
    const attnArgs = { q, k, v, segmentIds: ctx.segmentIds, queryOffset: ctx.queryOffset };
    let a: tf.Tensor2D; // (N, H·D)
    if (acts) {
      const r = attentionRowsFused(attnArgs);
      a = r.rows;
      Object.assign(acts, { x, q, k, v, packed: r.packed });
    } else a = attentionRows(attnArgs);
    const x2 = this.project({ x: a, w: l.o, lora: this.loraOf(i, 'o', ctx.loraRowScale), residual: x }, acts, 'xaO'); // x + o_proj(a)
    // --- SwiGLU MLP block ---
    const m = rmsNorm(x2, l.postNorm, eps);
    const gu = this.project({ x: m, w: l.gateUp, lora: this.loraOf(i, 'gateUp', ctx.loraRowScale) }, acts, 'xaGu'); // (N, 2·ff)
    const act = swiglu(gu); // silu(gate)·up (N, ff)
    const x3 = this.project({ x: act, w: l.down, lora: this.loraOf(i, 'down', ctx.loraRowScale), residual: x2 }, acts, 'xaDown'); // x2 + down_proj(act)
    if (acts) {
      Object.assign(acts, { x2, gu });
      // the backward reads q, k, v in head layout, not the qkv rows, and recomputes h, a, m and act (LayerActs)
      tf.dispose([h, qkv, a, m, act]);
    } else tf.dispose([h, qkv, q, a, x2, m, gu, act, ...(ctx.cache ? [] : [k, v])]);
    return x3;
  }

  private context(B: number, T: number, opts: ForwardOptions): ForwardContext {
    const { cache } = opts;
    const start = cache?.length ?? 0;
    if (cache && start + T > cache.capacity) throw new Error(`KV cache holds ${cache.capacity} positions; ${start + T} needed`);
    this.dropoutCalls = 0;
    // default positions start.., built on the host: an upload, not a dispatch
    const positions = opts.positions
      ? (opts.positions.reshape([B * T]) as tf.Tensor1D)
      : tf.tensor1d(Int32Array.from({ length: B * T }, (_, n) => start + (n % T)), 'int32');
    return {
      rope: { positions, cos: this.ropeCos, sin: this.ropeSin, dims: this.dims(B, T) },
      segmentIds: cache ? null : opts.segmentIds ?? null,
      cache: cache ?? null,
      start,
      queryOffset: cache ? tf.tensor1d([start], 'int32') : null,
      loraRowScale: this.rowScales(B, T, opts.loraScales),
    };
  }

  /** loraScales (B) spread over the B·T token rows (an upload, not a dispatch), or null. */
  private rowScales(B: number, T: number, scales: number[] | undefined): tf.Tensor1D | null {
    if (!scales) return null;
    if (scales.length !== B) throw new Error(`loraScales has ${scales.length} entries for a batch of ${B} rows`);
    return tf.tensor1d(Float32Array.from({ length: B * T }, (_, n) => scales[Math.floor(n / T)]), 'float32');
  }

  /**
   * Runs the decoder on token ids (B, T) and returns the final-normed hidden
   * states (B, T, d). With a cache, appends this chunk's keys/values to it.
   * Differentiable by tfjs autograd in reference mode.
   */
  hidden(ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const c = this.config;
    const [B, T] = ids.shape;
    const out = tf.tidy(() => {
      const ctx = this.context(B, T, opts);
      const dims = this.dims(B, T);
      let x = embeddingRows(this.params.embed, ids.reshape([B * T]) as tf.Tensor1D); // (N, d)
      for (let i = 0; i < c.numLayers; i++) {
        const next = this.layerForward(x, i, ctx, dims, null);
        x.dispose(); // the layer's input dies with it: the peak holds one layer's temporaries
        x = next;
      }
      return rmsNorm(x, this.params.finalNorm, c.rmsNormEps).reshape([B, T, c.hiddenSize]) as tf.Tensor3D;
    });
    if (opts.cache) opts.cache.length += T;
    return out;
  }

  /**
   * Fused training forward: final-normed hidden rows (N, d), the last
   * layer's output, and every layer's LayerActs, all kept for
   * model_backward.ts (which disposes them). With `checkpoint` (activation
   * checkpointing), each layer keeps only its input (acts[i].x; the rest
   * is recomputed by `recomputeActs` during the backward): a layer then
   * costs N·d floats until its backward instead of LayerActs' 11 tensors.
   */
  forwardTrain(ids: tf.Tensor2D, positions: tf.Tensor2D, segmentIds: tf.Tensor2D, checkpoint = false): { h: tf.Tensor2D; last: tf.Tensor2D; acts: LayerActs[]; positions: tf.Tensor1D } {
    const c = this.config;
    const [B, T] = ids.shape;
    const ctx = this.context(B, T, { positions, segmentIds });
    const dims = this.dims(B, T);
    const acts: LayerActs[] = [];
    let x = tf.tidy(() => embeddingRows(this.params.embed, ids.reshape([B * T]) as tf.Tensor1D));
    for (let i = 0; i < c.numLayers; i++) {
      const a = (checkpoint ? { x } : {}) as LayerActs;
      x = this.layerForward(x, i, ctx, dims, checkpoint ? null : a);
      acts.push(a);
      if (checkpoint) submitPending(); // the next layer reuses this one's freed temporaries (gpu/pool.ts)
    }
    const h = rmsNorm(x, this.params.finalNorm, c.rmsNormEps);
    return { h, last: x, acts, positions: ctx.rope.positions };
  }

  /** Layer i's LayerActs recomputed from its saved input x (activation checkpointing); the caller disposes them (x included). */
  recomputeActs(x: tf.Tensor2D, i: number, positions: tf.Tensor1D, segmentIds: tf.Tensor2D): LayerActs {
    const [B, T] = segmentIds.shape;
    const grid = positions.reshape([B, T]) as tf.Tensor2D;
    const ctx = this.context(B, T, { positions: grid, segmentIds });
    const a = {} as LayerActs;
    this.layerForward(x, i, ctx, this.dims(B, T), a).dispose(); // its output is the next layer's saved input
    tf.dispose([grid, ctx.rope.positions]); // views of `positions`
    return a;
  }

  /** Logits (N, V) for hidden rows (N, d). */
  logitsOf(h: tf.Tensor2D): tf.Tensor2D {
    return logitsFor(h, this.params.lmHead);
  }

  /** Logits (B, T, V) for every position: for scoring short texts; training uses a chunked loss instead. */
  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const h = this.hidden(ids, opts);
      const [B, T, d] = h.shape;
      return this.logitsOf(h.reshape([B * T, d])).reshape([B, T, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  /** Logits (B, V) of the last position only, appending to the cache: prefill and decode both use this. loraScales as in ForwardOptions. */
  nextLogits(ids: tf.Tensor2D, cache: KVCache, loraScales?: number[]): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.hidden(ids, { cache, loraScales });
      const [B, T, d] = h.shape;
      const last = T === 1 ? (h.reshape([B, d]) as tf.Tensor2D) : (h.slice([0, T - 1, 0], [B, 1, d]).reshape([B, d]) as tf.Tensor2D);
      return this.logitsOf(last);
    });
  }

  dispose(): void {
    for (const t of [...this.paramList(), this.ropeCos, this.ropeSin]) disposeFrozen(t as Frozen);
  }
}

/**
 * Row-stacks host matrices (or vectors): q|k|v, gate|up. Keeps GGUF blocks
 * when every part is of one ggml type (rows are whole blocks, so the blocks
 * stack as the rows do), and 16-bit bits when every part has them in one
 * format; the other forms are made on first read.
 */
function stackRows(parts: HostTensor[]): HostTensor {
  const rows = parts.reduce((n, p) => n + p.shape[0], 0);
  const shape = parts[0].shape.length === 2 ? [rows, parts[0].shape[1]] : [rows];
  const cat = <A extends Float32Array | Uint16Array | Uint8Array>(arrays: A[], make: (n: number) => A): A => {
    const out = make(arrays.reduce((n, a) => n + a.length, 0));
    let off = 0;
    for (const a of arrays) out.set(a, off), (off += a.length);
    return out;
  };
  let f32: Float32Array | null = null;
  const data = () => (f32 ??= cat(parts.map((p) => p.data), (n) => new Float32Array(n)));
  const type = parts[0].gguf?.type;
  if (type && shape.length === 2 && parts.every((p) => p.gguf?.type === type)) {
    let half: HostTensor['half'] | null = null;
    const halves = () => {
      if (half === null) {
        const hs = parts.map((p) => p.half);
        half = hs.every((h) => h && h.format === hs[0]!.format) ? { format: hs[0]!.format, bits: cat(hs.map((h) => h!.bits), (n) => new Uint16Array(n)) } : undefined;
      }
      return half;
    };
    return { shape, gguf: { type, blocks: cat(parts.map((p) => p.gguf!.blocks), (n) => new Uint8Array(n)) }, get data() { return data(); }, get half() { return halves(); } };
  }
  const format = parts[0].half?.format;
  if (format && parts.every((p) => p.half?.format === format)) {
    const bits = cat(parts.map((p) => p.half!.bits), (n) => new Uint16Array(n));
    return { shape, half: { format, bits }, get data() { return data(); } };
  }
  return { shape, data: data() };
}

/** cos/sin tables (maxPositions, D/2) for RoPE with inv_freq_j = theta^(-2j/D), as HF computes them. */
function ropeTables(c: ModelConfig): [tf.Tensor2D, tf.Tensor2D] {
  const half = c.headDim / 2;
  const cos = new Float32Array(c.maxPositions * half);
  const sin = new Float32Array(c.maxPositions * half);
  for (let j = 0; j < half; j++) {
    const invFreq = Math.fround(1 / Math.pow(c.ropeTheta, (2 * j) / c.headDim));
    for (let p = 0; p < c.maxPositions; p++) {
      const angle = Math.fround(p * invFreq);
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return [tf.tensor2d(cos, [c.maxPositions, half]), tf.tensor2d(sin, [c.maxPositions, half])];
}
