/**
 * A Llama-family decoder (Llama, TinyLlama, SmolLM2, Qwen2/2.5) on tfjs.
 *
 * One readable file: the parameter table, RMSNorm, rotate-half RoPE, grouped
 * query attention and the SwiGLU MLP, with prefill and KV-cache decode.
 * References: Touvron et al. 2023 (LLaMA); HF transformers' modeling_llama.py
 * (the layout and RoPE convention we load into); Hu et al. 2021 (LoRA).
 *
 * Every linear layer goes through `linear()` (ops/linear.ts) so a LoRA adapter
 * can ride on the frozen weights, and attention through `causalAttention()`
 * (ops/attention.ts): both switch between our fused WGSL kernels and the
 * composed tfjs reference (ops/mode.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { LINEAR_NAMES, linearKey, type LinearName, type ModelConfig } from './config';
import type { LoadedModel, WeightMap } from './io/weights';
import { causalAttention } from './ops/attention';
import { linear, type LoraWeights } from './ops/linear';
import { rmsNorm } from './ops/norm';

/** Parameters of one decoder layer (HF names in comments). */
export interface LayerParams {
  inputNorm: tf.Tensor1D; // input_layernorm.weight (d)
  postNorm: tf.Tensor1D; // post_attention_layernorm.weight (d)
  linears: Record<LinearName, tf.Tensor2D>; // (out, in) each, see config.linearShape
  biases: Partial<Record<LinearName, tf.Tensor1D>>; // Qwen2: q/k/v biases
}

export interface ModelParams {
  embed: tf.Tensor2D; // model.embed_tokens.weight (V, d)
  layers: LayerParams[];
  finalNorm: tf.Tensor1D; // model.norm.weight (d)
  lmHead: tf.Tensor2D; // lm_head.weight (V, d), or embed when tied
}

/** Anything that can hand out a LoRA adapter for a linear layer (see lora.ts). */
export interface AdapterProvider {
  /** LoRA weights for `model.layers.{layer}.{block}.{name}`, or null if that layer has none */
  lora(layer: number, name: LinearName): LoraWeights | null;
}

/**
 * Per-layer key/value cache for decoding: k, v (B, Hkv, capacity, D), filled
 * up to `length`. The capacity is fixed when the cache is made, so every
 * decode step runs with the same tensor shapes (tfjs compiles a shader per
 * shape; a cache that grew by concatenation would compile new ones each step).
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
  /** Writes `x` (B, Hkv, T, D) at rows [length, length + T) of `layer`'s k or v, given the one-hot placement (B, Hkv, capacity, T). */
  write(which: 'k' | 'v', layer: number, x: tf.Tensor4D, place: tf.Tensor4D, keepRows: tf.Tensor4D): tf.Tensor4D {
    const store = this[which];
    const [B, Hkv, , D] = x.shape;
    const old = store[layer] ?? tf.zeros([B, Hkv, this.capacity, D]);
    // old rows where nothing is written, plus placement · x (a (C, T) x (T, D) matmul per head)
    const next = tf.keep(old.mul(keepRows).add(tf.matMul(place, x))) as tf.Tensor4D;
    old.dispose();
    store[layer] = next;
    return next;
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
}

export class LlamaModel {
  /** LoRA adapter applied on top of the frozen weights, when enabled */
  adapter: AdapterProvider | null = null;
  adapterEnabled = true;
  private readonly ropeCos: tf.Tensor2D; // (maxPositions, D/2)
  private readonly ropeSin: tf.Tensor2D;

  constructor(
    readonly config: ModelConfig,
    readonly params: ModelParams,
  ) {
    [this.ropeCos, this.ropeSin] = ropeTables(config);
  }

  /** Uploads host weights (HF names) to the GPU. */
  static fromWeights(config: ModelConfig, w: WeightMap): LlamaModel {
    const get = (name: string) => {
      const t = w.get(name);
      if (!t) throw new Error(`weight "${name}" missing`);
      return tf.tensor(t.data, t.shape, 'float32');
    };
    const layers: LayerParams[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `model.layers.${i}`;
      const linears = {} as Record<LinearName, tf.Tensor2D>;
      const biases: Partial<Record<LinearName, tf.Tensor1D>> = {};
      for (const name of LINEAR_NAMES) {
        linears[name] = get(`${linearKey(i, name)}.weight`) as tf.Tensor2D;
        if (w.has(`${linearKey(i, name)}.bias`)) biases[name] = get(`${linearKey(i, name)}.bias`) as tf.Tensor1D;
      }
      layers.push({
        inputNorm: get(`${p}.input_layernorm.weight`) as tf.Tensor1D,
        postNorm: get(`${p}.post_attention_layernorm.weight`) as tf.Tensor1D,
        linears,
        biases,
      });
    }
    const embed = get('model.embed_tokens.weight') as tf.Tensor2D;
    const lmHead = config.tieWordEmbeddings ? embed : (get('lm_head.weight') as tf.Tensor2D);
    return new LlamaModel(config, { embed, layers, finalNorm: get('model.norm.weight') as tf.Tensor1D, lmHead });
  }

  static fromLoaded(m: LoadedModel): LlamaModel {
    return LlamaModel.fromWeights(m.config, m.weights);
  }

  /** Every parameter tensor once (the embedding appears once when tied). */
  private paramTensors(): tf.Tensor[] {
    const all: tf.Tensor[] = [this.params.embed, this.params.lmHead, this.params.finalNorm];
    for (const l of this.params.layers) all.push(l.inputNorm, l.postNorm, ...Object.values(l.linears), ...Object.values(l.biases));
    return [...new Set(all)];
  }

  /** Number of parameters (tied embeddings counted once). */
  numParams(): number {
    return this.paramTensors().reduce((n, t) => n + t.size, 0);
  }

  private lora(layer: number, name: LinearName): LoraWeights | null {
    return this.adapter && this.adapterEnabled ? this.adapter.lora(layer, name) : null;
  }

  /**
   * LoRA dropout while training: rate and a seed for this forward pass (each
   * adapter input draws its own mask from seed + a counter), or null.
   */
  dropout: { rate: number; seed: number } | null = null;
  private dropoutCalls = 0;

  private proj(x: tf.Tensor2D, layer: number, name: LinearName): tf.Tensor2D {
    const l = this.params.layers[layer];
    const lora = this.lora(layer, name);
    const loraInput = lora && this.dropout && this.dropout.rate > 0 ? tf.dropout(x, this.dropout.rate, undefined, this.dropout.seed + this.dropoutCalls++) : null;
    return linear({ x, w: l.linears[name], bias: l.biases[name] ?? null, lora, loraInput: loraInput as tf.Tensor2D | null });
  }

  /**
   * Runs the decoder on token ids (B, T) and returns the final-normed hidden
   * states (B, T, d). With a cache, appends this chunk's keys/values to it.
   */
  hidden(ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    const c = this.config;
    const [B, T] = ids.shape;
    const { cache, segmentIds } = opts;
    const H = c.numHeads;
    const Hkv = c.numKvHeads;
    const D = c.headDim;
    const start = cache?.length ?? 0;
    this.dropoutCalls = 0;
    const out = tf.tidy(() => {
      const positions = opts.positions ?? (tf.range(0, T, 1, 'int32').add(tf.tensor1d([start], 'int32')).reshape([1, T]).add(tf.zeros([B, 1], 'int32')) as tf.Tensor2D);
      const cos = tf.gather(this.ropeCos, positions).reshape([B, 1, T, D / 2]) as tf.Tensor4D;
      const sin = tf.gather(this.ropeSin, positions).reshape([B, 1, T, D / 2]) as tf.Tensor4D;
      // where this chunk goes in the cache: one-hot placement (B, Hkv, C, T), built once for
      // every layer's k and v; rows kept (1, 1, C, 1); offset (1)
      let slot: { place: tf.Tensor4D; keepRows: tf.Tensor4D; offset: tf.Tensor1D } | null = null;
      if (cache) {
        if (start + T > cache.capacity) throw new Error(`KV cache holds ${cache.capacity} positions; ${start + T} needed`);
        const offset = tf.tensor1d([start], 'int32');
        const rows = tf.range(0, cache.capacity, 1, 'int32').reshape([cache.capacity, 1]);
        const place = tf.equal(rows, tf.range(0, T, 1, 'int32').add(offset).reshape([1, T])).toFloat() as tf.Tensor2D;
        const keepRows = tf.scalar(1).sub(place.sum(1)).reshape([1, 1, cache.capacity, 1]) as tf.Tensor4D;
        slot = { place: place.reshape([1, 1, cache.capacity, T]).tile([B, Hkv, 1, 1]) as tf.Tensor4D, keepRows, offset };
      }
      let x = tf.gather(this.params.embed, ids).reshape([B * T, c.hiddenSize]) as tf.Tensor2D; // (B*T, d)
      for (let i = 0; i < c.numLayers; i++) {
        const l = this.params.layers[i];
        // --- attention block ---
        const h = rmsNorm(x, l.inputNorm, c.rmsNormEps);
        const heads = (y: tf.Tensor2D, n: number) => y.reshape([B, T, n, D]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // (B, n, T, D)
        const q = applyRope(heads(this.proj(h, i, 'q_proj'), H), cos, sin);
        let k = applyRope(heads(this.proj(h, i, 'k_proj'), Hkv), cos, sin);
        let v = heads(this.proj(h, i, 'v_proj'), Hkv);
        if (cache && slot) {
          k = cache.write('k', i, k, slot.place, slot.keepRows); // (B, Hkv, capacity, D)
          v = cache.write('v', i, v, slot.place, slot.keepRows);
        }
        const a = causalAttention({ q, k, v, segmentIds: cache ? null : segmentIds ?? null, queryOffset: slot?.offset ?? null }); // (B, H, T, D)
        const merged = a.transpose([0, 2, 1, 3]).reshape([B * T, H * D]) as tf.Tensor2D;
        x = x.add(this.proj(merged, i, 'o_proj'));
        // --- SwiGLU MLP block ---
        const m = rmsNorm(x, l.postNorm, c.rmsNormEps);
        const gate = this.proj(m, i, 'gate_proj'); // (B*T, ff)
        const gated = gate.mul(tf.sigmoid(gate)).mul(this.proj(m, i, 'up_proj')) as tf.Tensor2D; // silu(gate) · up
        x = x.add(this.proj(gated, i, 'down_proj'));
      }
      return rmsNorm(x, this.params.finalNorm, c.rmsNormEps).reshape([B, T, c.hiddenSize]) as tf.Tensor3D;
    });
    if (cache) cache.length += T;
    return out;
  }

  /** Logits (N, V) for hidden rows (N, d). */
  logitsOf(h: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(h, this.params.lmHead, false, true);
  }

  /** Logits (B, T, V) for every position: for scoring short texts; training uses a chunked loss instead. */
  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const h = this.hidden(ids, opts);
      const [B, T, d] = h.shape;
      return this.logitsOf(h.reshape([B * T, d])).reshape([B, T, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  /** Logits (B, V) of the last position only, appending to the cache: prefill and decode both use this. */
  nextLogits(ids: tf.Tensor2D, cache: KVCache): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.hidden(ids, { cache });
      const [B, T, d] = h.shape;
      const last = h.slice([0, T - 1, 0], [B, 1, d]).reshape([B, d]) as tf.Tensor2D;
      return this.logitsOf(last);
    });
  }

  dispose(): void {
    for (const t of [...this.paramTensors(), this.ropeCos, this.ropeSin]) t.dispose();
  }
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

/** Rotate-half RoPE (Su et al. 2021) on x (B, n, T, D) with cos/sin (B, 1, T, D/2). */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [x1, x2] = tf.split(x, 2, 3);
    return tf.concat([x1.mul(cos).sub(x2.mul(sin)), x2.mul(cos).add(x1.mul(sin))], 3) as tf.Tensor4D;
  });
}
