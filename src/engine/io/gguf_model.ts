/**
 * A GGUF file (llama.cpp, Ollama, LM Studio) as a LoadedModel: the config
 * from `llama.*` / `qwen2.*` metadata, llama.cpp's tensor names mapped to
 * HF's, and the tokenizer from `tokenizer.ggml.*` (gguf_tokenizer.ts).
 *
 * Weights are read tensor by tensor (each tensor's bytes once, never the
 * whole file) and kept as the file's blocks; a matrix is dequantized when it
 * is uploaded (ggml_quants.ts, exact as ggml) and, like a BF16 safetensors
 * checkpoint, kept at bf16 on the GPU (the dequantized values rounded to
 * nearest even); `halves: false` uploads the exact f32 values instead.
 * F16/BF16 tensors keep their own bits; F32 ones stay f32.
 *
 * llama.cpp's converter (convert_hf_to_gguf.py LlamaModel.permute) reorders
 * the rows of q_proj and k_proj of `llama` models for its interleaved RoPE;
 * we undo it on the blocks, as transformers' GGUF loader does
 * (LlamaTensorProcessor._reverse_permute_weights): within each head of D
 * rows, file row 2i + s holds HF row s·D/2 + i. Without it greedy text is
 * garbage while logits look plausible. Qwen2 files are not permuted.
 */
import { configFromHF, ConfigError, type ModelConfig } from '../config';
import type { ByteSource } from './byte_source';
import { readGgufHeader, readGgufTensorBytes, type GgufHeader, type GgufTensorInfo, type GgufValue } from './gguf';
import { dequantize, typeNameOf, type GgmlTypeName } from './ggml_quants';
import { ggufTokenizer } from './gguf_tokenizer';
import { checkWeights } from './hf';
import { toBf16Bits } from '../frozen';
import { LoadError, type HostTensor, type LoadedModel, type WeightMap } from './weights';

const ARCHITECTURES: Record<string, 'LlamaForCausalLM' | 'Qwen2ForCausalLM'> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM' };

/** llama.cpp's per-layer tensor names (llama-arch.cpp LLM_TENSOR_NAMES) → HF's. */
const LAYER_TENSORS: Record<string, string> = {
  attn_norm: 'input_layernorm',
  ffn_norm: 'post_attention_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};

/** The HF name of a GGUF tensor, or null when a Llama/Qwen2 decoder has no such tensor. */
export function hfTensorName(name: string): string | null {
  if (name === 'token_embd.weight') return 'model.embed_tokens.weight';
  if (name === 'output_norm.weight') return 'model.norm.weight';
  if (name === 'output.weight') return 'lm_head.weight';
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  if (!m || !(m[2] in LAYER_TENSORS)) return null;
  return `model.layers.${m[1]}.${LAYER_TENSORS[m[2]]}.${m[3]}`;
}

/** The HF config.json a GGUF's metadata describes (then read by configFromHF, with its checks). */
export function ggufConfig(h: GgufHeader, file: string): ModelConfig {
  const meta = h.metadata;
  const arch = meta.get('general.architecture');
  if (typeof arch !== 'string' || !(arch in ARCHITECTURES)) {
    throw new LoadError(file, `general.architecture is ${JSON.stringify(arch)}; the engine runs "llama" and "qwen2" models`);
  }
  const key = (k: string) => meta.get(`${arch}.${k}`);
  const num = (k: string, required = true): number | undefined => {
    const v = key(k);
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LoadError(file, `metadata "${arch}.${k}" is ${v === undefined ? 'missing' : `not a number (${JSON.stringify(v)})`}`);
    return v;
  };
  const scaling = key('rope.scaling.type');
  if (scaling !== undefined && scaling !== 'none') throw new LoadError(file, `${arch}.rope.scaling.type is ${JSON.stringify(scaling)}; only plain RoPE is supported`);
  if (h.tensors.some((t) => t.name === 'rope_freqs.weight')) throw new LoadError(file, 'has rope_freqs.weight (Llama 3.1-style RoPE scaling), which the engine does not support');
  const hidden = num('embedding_length')!;
  const heads = num('attention.head_count')!;
  const headDim = num('attention.key_length', false) ?? hidden / heads;
  const ropeDim = num('rope.dimension_count', false);
  if (ropeDim !== undefined && ropeDim !== headDim) throw new LoadError(file, `${arch}.rope.dimension_count ${ropeDim} is not the head size ${headDim}; partial RoPE is not supported`);
  const embd = h.tensors.find((t) => t.name === 'token_embd.weight');
  if (!embd) throw new LoadError(file, 'has no tensor "token_embd.weight" (the token embedding)');
  const tokens = meta.get('tokenizer.ggml.tokens');
  const eos = meta.get('tokenizer.ggml.eos_token_id');
  const cfg: Record<string, unknown> = {
    architectures: [ARCHITECTURES[arch]],
    hidden_size: hidden,
    intermediate_size: num('feed_forward_length'),
    num_hidden_layers: num('block_count'),
    num_attention_heads: heads,
    num_key_value_heads: num('attention.head_count_kv', false) ?? heads,
    head_dim: headDim,
    vocab_size: num('vocab_size', false) ?? embd.shape[0] ?? (Array.isArray(tokens) ? tokens.length : undefined),
    max_position_embeddings: num('context_length'),
    rms_norm_eps: num('attention.layer_norm_rms_epsilon'),
    rope_theta: num('rope.freq_base', false) ?? 10000,
    tie_word_embeddings: !h.tensors.some((t) => t.name === 'output.weight'),
    attention_bias: h.tensors.some((t) => t.name === 'blk.0.attn_q.bias'),
    bos_token_id: meta.get('tokenizer.ggml.bos_token_id'),
    eos_token_id: eos,
  };
  try {
    return configFromHF(cfg, null, file);
  } catch (e) {
    if (e instanceof ConfigError) throw new LoadError(file, e.message.replace(`${file}: `, ''));
    throw e;
  }
}

/** Rows of a q/k matrix put back from llama.cpp's interleaved order into HF's rotate-half order (per head of D rows). */
export function unpermuteRows(blocks: Uint8Array, rows: number, heads: number): Uint8Array {
  const D = rows / heads;
  const rowBytes = blocks.byteLength / rows;
  const out = new Uint8Array(blocks.byteLength);
  for (let r = 0; r < rows; r++) {
    const h = Math.floor(r / D), s = Math.floor((r % D) / (D / 2)), i = r % (D / 2);
    const from = h * D + 2 * i + s;
    out.set(blocks.subarray(from * rowBytes, (from + 1) * rowBytes), r * rowBytes);
  }
  return out;
}

/** A host tensor over a GGUF tensor's blocks: f32 and bf16 made from them on first read. */
function blockTensor(shape: number[], type: GgmlTypeName, blocks: Uint8Array): HostTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  let f32: Float32Array | null = null;
  let half: HostTensor['half'];
  const values = () => {
    if (!f32) {
      f32 = new Float32Array(count);
      dequantize(type, blocks, count, f32);
    }
    return f32;
  };
  return {
    shape,
    gguf: { type, blocks },
    get data() {
      return values();
    },
    get half() {
      if (type === 'F32' || shape.length !== 2) return undefined;
      if (!half) {
        if (type === 'F16' || type === 'BF16') {
          const bits = new Uint16Array(count);
          new Uint8Array(bits.buffer).set(blocks);
          half = { format: type === 'F16' ? 'f16' : 'bf16', bits };
        } else {
          // round the dequantized values to bf16 without keeping their f32 copy
          const tmp = f32 ?? new Float32Array(count);
          if (!f32) dequantize(type, blocks, count, tmp);
          half = { format: 'bf16', bits: toBf16Bits(tmp) };
        }
      }
      return half;
    },
  };
}

export interface GgufLoadOptions {
  /** bytes of tensor data read so far, of `total` */
  onProgress?: (read: number, total: number) => void;
}

/** Reads a GGUF model: header, every tensor the config needs (checked), the tokenizer. */
export async function loadGguf(src: ByteSource, opts: GgufLoadOptions = {}): Promise<LoadedModel> {
  const h = await readGgufHeader(src);
  const config = ggufConfig(h, src.name);
  const tokenizer = ggufTokenizer(h.metadata, src.name);
  const arch = config.architecture;
  const wanted: [GgufTensorInfo, string][] = [];
  for (const t of h.tensors) {
    const hf = hfTensorName(t.name);
    if (!hf) throw new LoadError(src.name, `has tensor "${t.name}", which is not part of a ${arch} decoder the engine runs`);
    if (t.bytes === null) {
      throw new LoadError(src.name, `tensor "${t.name}" is ggml ${t.typeName}, which is not read; F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K are (re-quantize the file with llama-quantize)`);
    }
    wanted.push([t, hf]);
  }
  const total = wanted.reduce((n, [t]) => n + t.bytes!, 0);
  let read = 0;
  opts.onProgress?.(0, total);
  const weights: WeightMap = new Map();
  for (const [t, hf] of wanted) {
    let blocks = await readGgufTensorBytes(src, t);
    // own the bytes (a source may hand out views of a larger buffer) and undo llama.cpp's q/k row order
    if (arch === 'LlamaForCausalLM' && /\.(q_proj|k_proj)\./.test(hf)) {
      const heads = hf.includes('q_proj') ? config.numHeads : config.numKvHeads;
      blocks = unpermuteRows(blocks, t.shape[0], heads);
    } else blocks = blocks.slice();
    weights.set(hf, blockTensor(t.shape, typeNameOf(t.type), blocks));
    read += t.bytes!;
    opts.onProgress?.(read, total);
  }
  checkWeights(config, weights, () => src.name);
  return { config, weights, tokenizer, source: { format: 'gguf', name: src.name } };
}

/** What a GGUF holds, from its header alone (the page's memory estimate before a load). */
export async function ggufSummary(src: ByteSource): Promise<{ config: ModelConfig; tensorBytes: number; types: Record<string, number>; meta: Map<string, GgufValue> }> {
  const h = await readGgufHeader(src);
  const config = ggufConfig(h, src.name);
  const types: Record<string, number> = {};
  for (const t of h.tensors) types[t.typeName] = (types[t.typeName] ?? 0) + 1;
  return { config, tensorBytes: h.tensors.reduce((n, t) => n + (t.bytes ?? 0), 0), types, meta: h.metadata };
}
