/**
 * llama2.c checkpoints (Karpathy's `model.bin`, legacy version 0) → the
 * engine's Hugging Face in-memory layout.
 *
 * Format (llama2.c `export.py` legacy_export, read by `run.c`
 * read_checkpoint / memory_map_weights), all little-endian:
 *
 *   int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *     (vocab_size < 0: the classifier is untied and stored at the end)
 *   f32 token_embedding_table (vocab, dim)
 *   f32 rms_att_weight        (L, dim)
 *   f32 wq                    (L, n_heads*hs, dim)     nn.Linear [out, in]
 *   f32 wk                    (L, n_kv_heads*hs, dim)
 *   f32 wv                    (L, n_kv_heads*hs, dim)
 *   f32 wo                    (L, dim, n_heads*hs)
 *   f32 rms_ffn_weight        (L, dim)
 *   f32 w1                    (L, hidden_dim, dim)     gate
 *   f32 w2                    (L, dim, hidden_dim)     down
 *   f32 w3                    (L, hidden_dim, dim)     up
 *   f32 rms_final_weight      (dim)
 *   f32 freq_cis_real, freq_cis_imag (seq_len, hs/2) each — unused, skipped
 *   f32 wcls                  (vocab, dim)             only when vocab_size < 0
 *
 * llama2.c rotates interleaved pairs (q[2i], q[2i+1]); the engine uses HF's
 * rotate-half convention (q[i], q[i + hs/2]). We reorder q/k rows exactly as
 * HF's convert_llama_weights_to_hf.py `permute` does, so the stories260K
 * checkpoint comes out bit-identical to ../shared/models/stories260K-hf.
 */
import type { ModelConfig } from '../config';
import { LoadError, type HostTensor, type LoadedModel, type WeightMap } from './weights';
import { parseLlama2cTokenizer } from './llama2c_tokenizer';

const HEADER_INTS = 7;
const HEADER_BYTES = HEADER_INTS * 4;
/** llama2.c version 1/2 exports start with this int32 ("ak42"). */
const VERSIONED_MAGIC = 0x616b3432;

interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number; // absolute value
  sharedClassifier: boolean; // the header's vocab_size was positive
  seqLen: number;
}

function readHeader(bytes: Uint8Array, fileName: string): Llama2cHeader {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new LoadError(
      fileName,
      `is ${bytes.byteLength} bytes, shorter than the ${HEADER_BYTES}-byte llama2.c header; not a llama2.c checkpoint`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const h = Array.from({ length: HEADER_INTS }, (_, i) => view.getInt32(i * 4, true));
  if (h[0] === VERSIONED_MAGIC) {
    throw new LoadError(
      fileName,
      `is a versioned llama2.c export (magic "ak42", version ${view.getInt32(4, true)}); only the legacy ` +
        'version 0 format (export.py --version 0, as in the tinyllamas releases) is supported',
    );
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = h;
  const fields = `dim=${dim} hidden_dim=${hiddenDim} n_layers=${nLayers} n_heads=${nHeads} n_kv_heads=${nKvHeads} vocab_size=${vocab} seq_len=${seqLen}`;
  const bad = (why: string) => new LoadError(fileName, `llama2.c header is not valid (${why}); header: ${fields}`);
  const positive: [string, number][] = [
    ['dim', dim], ['hidden_dim', hiddenDim], ['n_layers', nLayers], ['n_heads', nHeads],
    ['n_kv_heads', nKvHeads], ['seq_len', seqLen],
  ];
  for (const [name, v] of positive) if (v <= 0) throw bad(`${name} must be positive`);
  if (vocab === 0) throw bad('vocab_size must be non-zero');
  if (dim % nHeads !== 0) throw bad(`n_heads ${nHeads} does not divide dim ${dim}`);
  if (nHeads % nKvHeads !== 0) throw bad(`n_kv_heads ${nKvHeads} does not divide n_heads ${nHeads}`);
  if ((dim / nHeads) % 2 !== 0) throw bad(`head size ${dim / nHeads} is odd; RoPE needs pairs`);
  return {
    dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen,
    vocabSize: Math.abs(vocab),
    sharedClassifier: vocab > 0,
  };
}

/**
 * Rows of a q or k projection [nHeads*hs, cols] from llama2.c's interleaved
 * RoPE order to HF's rotate-half order. HF's converter:
 *   w.view(n_heads, hs/2, 2, cols).transpose(1, 2).reshape(n_heads*hs, cols)
 * so new row (h, half, i) = old row (h, i, half), i.e. h*hs + half*hs/2 + i ← h*hs + 2i + half.
 */
export function permuteRopeRows(w: Float32Array, nHeads: number, headSize: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const halfHs = headSize / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let half = 0; half < 2; half++) {
      for (let i = 0; i < halfHs; i++) {
        const dst = (h * headSize + half * halfHs + i) * cols;
        const src = (h * headSize + 2 * i + half) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** Parses a legacy (version 0) llama2.c `model.bin` into HF names and layout. */
export function parseLlama2cCheckpoint(
  bytes: Uint8Array,
  fileName: string,
): { config: ModelConfig; weights: WeightMap } {
  const hd = readHeader(bytes, fileName);
  const { dim, hiddenDim, nLayers: L, nHeads, nKvHeads, vocabSize: V, seqLen } = hd;
  const hs = dim / nHeads;
  const qDim = nHeads * hs;
  const kvDim = nKvHeads * hs;

  // Float counts in file order; `null` names are skipped (RoPE tables).
  const sections: [string | null, number][] = [
    ['token_embedding_table', V * dim],
    ['rms_att_weight', L * dim],
    ['wq', L * qDim * dim],
    ['wk', L * kvDim * dim],
    ['wv', L * kvDim * dim],
    ['wo', L * dim * qDim],
    ['rms_ffn_weight', L * dim],
    ['w1', L * hiddenDim * dim],
    ['w2', L * dim * hiddenDim],
    ['w3', L * hiddenDim * dim],
    ['rms_final_weight', dim],
    [null, seqLen * (hs / 2)], // freq_cis_real
    [null, seqLen * (hs / 2)], // freq_cis_imag
  ];
  if (!hd.sharedClassifier) sections.push(['wcls', V * dim]);
  const floats = sections.reduce((n, [, c]) => n + c, 0);
  const expected = HEADER_BYTES + 4 * floats;
  if (bytes.byteLength !== expected) {
    const cls = hd.sharedClassifier ? 'tied classifier' : 'untied classifier (negative vocab_size)';
    let hint = '';
    if (bytes.byteLength < expected) hint = '; the file is truncated or the header is wrong';
    else if (hd.sharedClassifier && bytes.byteLength === expected + 4 * V * dim) {
      hint = `; the extra ${4 * V * dim} bytes are exactly one (vocab, dim) classifier, but vocab_size is positive (tied)`;
    } else hint = '; llama2.c checkpoints have no trailing data, so the header does not describe this file';
    throw new LoadError(
      fileName,
      `size mismatch: the llama2.c header (dim ${dim}, hidden_dim ${hiddenDim}, ${L} layers, ${nHeads} heads, ` +
        `${nKvHeads} kv heads, vocab ${V}, seq_len ${seqLen}, ${cls}) implies ${expected} bytes, ` +
        `but the file is ${bytes.byteLength} bytes${hint}`,
    );
  }

  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new LoadError(fileName, 'llama2.c files are little-endian; this host is big-endian and not supported');
  }
  // One aligned little-endian copy of the payload; tensors below are views into it
  // (except q/k, which are permuted into fresh arrays).
  const payload = new Float32Array(floats);
  new Uint8Array(payload.buffer).set(bytes.subarray(HEADER_BYTES, expected));
  const raw = new Map<string, Float32Array>();
  let off = 0;
  for (const [name, count] of sections) {
    if (name) raw.set(name, payload.subarray(off, off + count));
    off += count;
  }
  const sec = (name: string) => raw.get(name)!;
  /** The i-th of L equal slices of a per-layer stacked section. */
  const layer = (name: string, i: number) => {
    const a = sec(name);
    const n = a.length / L;
    return a.subarray(i * n, (i + 1) * n);
  };

  const weights: WeightMap = new Map();
  const put = (name: string, shape: number[], data: Float32Array) => weights.set(name, { shape, data } satisfies HostTensor);
  put('model.embed_tokens.weight', [V, dim], sec('token_embedding_table'));
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    put(`${p}.input_layernorm.weight`, [dim], layer('rms_att_weight', i));
    put(`${p}.self_attn.q_proj.weight`, [qDim, dim], permuteRopeRows(layer('wq', i), nHeads, hs, dim));
    put(`${p}.self_attn.k_proj.weight`, [kvDim, dim], permuteRopeRows(layer('wk', i), nKvHeads, hs, dim));
    put(`${p}.self_attn.v_proj.weight`, [kvDim, dim], layer('wv', i));
    put(`${p}.self_attn.o_proj.weight`, [dim, qDim], layer('wo', i));
    put(`${p}.post_attention_layernorm.weight`, [dim], layer('rms_ffn_weight', i));
    put(`${p}.mlp.gate_proj.weight`, [hiddenDim, dim], layer('w1', i));
    put(`${p}.mlp.down_proj.weight`, [dim, hiddenDim], layer('w2', i));
    put(`${p}.mlp.up_proj.weight`, [hiddenDim, dim], layer('w3', i));
  }
  put('model.norm.weight', [dim], sec('rms_final_weight'));
  if (!hd.sharedClassifier) put('lm_head.weight', [V, dim], sec('wcls'));

  const config: ModelConfig = {
    architecture: 'LlamaForCausalLM',
    hiddenSize: dim,
    intermediateSize: hiddenDim,
    numLayers: L,
    numHeads: nHeads,
    numKvHeads: nKvHeads,
    headDim: hs,
    vocabSize: V,
    maxPositions: seqLen,
    rmsNormEps: 1e-5, // llama2.c run.c rmsnorm
    ropeTheta: 10000, // run.c: powf(10000.0f, head_dim / (float)head_size)
    tieWordEmbeddings: hd.sharedClassifier,
    attentionBias: false,
    bosTokenId: 1,
    // llama2.c models are trained with BOS as the document delimiter; run.c stops at BOS.
    eosTokenIds: [2, 1],
  };
  return { config, weights };
}

/**
 * A llama2.c checkpoint plus its tokenizer.bin as a LoadedModel.
 * The tokenizer is required: llama2.c files carry no vocabulary.
 */
export function loadLlama2c(
  model: { name: string; bytes: Uint8Array },
  tokenizer: { name: string; bytes: Uint8Array } | null,
): LoadedModel {
  const { config, weights } = parseLlama2cCheckpoint(model.bytes, model.name);
  if (!tokenizer) {
    throw new LoadError(model.name, 'llama2.c checkpoint needs its tokenizer.bin: pass --tokenizer');
  }
  const files = parseLlama2cTokenizer(tokenizer.bytes, config.vocabSize, tokenizer.name, model.name);
  return { config, weights, tokenizer: files, source: { format: 'llama2c', name: model.name } };
}
