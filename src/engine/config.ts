/**
 * The model configuration the engine runs on: a Llama-family decoder
 * (Llama, TinyLlama, SmolLM2, Qwen2/2.5), read from a Hugging Face
 * `config.json` or built from a llama2.c header.
 */

export type Architecture = 'LlamaForCausalLM' | 'Qwen2ForCausalLM';
export const SUPPORTED_ARCHITECTURES: Architecture[] = ['LlamaForCausalLM', 'Qwen2ForCausalLM'];

export interface ModelConfig {
  architecture: Architecture;
  hiddenSize: number; // d_model, e.g. 576 for SmolLM2-135M
  intermediateSize: number; // MLP hidden width (SwiGLU)
  numLayers: number;
  numHeads: number; // query heads
  numKvHeads: number; // key/value heads (GQA when < numHeads)
  headDim: number; // usually hiddenSize / numHeads; Qwen/Gemma-style configs may set it
  vocabSize: number;
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  /** Qwen2 puts a bias on q/k/v projections; Llama has none unless attention_bias is set */
  attentionBias: boolean;
  bosTokenId: number | null;
  /** every id that ends generation (config + generation_config) */
  eosTokenIds: number[];
}

export class ConfigError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ConfigError';
  }
}

function ids(v: unknown): number[] {
  if (v == null) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is number => typeof x === 'number');
}

/** Reads an HF config.json (already parsed). `generation` is generation_config.json when present. */
export function configFromHF(
  cfg: Record<string, unknown>,
  generation: Record<string, unknown> | null = null,
  file = 'config.json',
): ModelConfig {
  const archs = cfg.architectures;
  const arch = Array.isArray(archs) ? String(archs[0]) : undefined;
  if (!arch) throw new ConfigError(file, 'has no "architectures" field; cannot tell which model this is');
  if (!SUPPORTED_ARCHITECTURES.includes(arch as Architecture)) {
    throw new ConfigError(
      file,
      `architecture "${arch}" is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
    );
  }
  const num = (key: string, fallback?: number): number => {
    const v = cfg[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (v === undefined && fallback !== undefined) return fallback;
    throw new ConfigError(file, `field "${key}" is ${v === undefined ? 'missing' : `not a number (${JSON.stringify(v)})`}`);
  };
  const hiddenSize = num('hidden_size');
  const numHeads = num('num_attention_heads');
  const numKvHeads = num('num_key_value_heads', numHeads);
  const headDim = typeof cfg.head_dim === 'number' ? cfg.head_dim : hiddenSize / numHeads;
  if (!Number.isInteger(headDim)) throw new ConfigError(file, `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  if (numHeads % numKvHeads !== 0) throw new ConfigError(file, `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ConfigError(file, `hidden_act "${String(act)}" is not supported (only silu)`);
  const rs = cfg.rope_scaling as { rope_type?: string; type?: string } | null | undefined;
  const ropeType = rs ? rs.rope_type ?? rs.type : undefined;
  if (ropeType && ropeType !== 'default') throw new ConfigError(file, `rope_scaling "${ropeType}" is not supported`);
  const eos = [...ids(cfg.eos_token_id), ...ids(generation?.eos_token_id)];
  const bos = ids(generation?.bos_token_id ?? cfg.bos_token_id)[0] ?? null;
  return {
    architecture: arch as Architecture,
    hiddenSize,
    intermediateSize: num('intermediate_size'),
    numLayers: num('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: num('vocab_size'),
    maxPositions: num('max_position_embeddings', 2048),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    tieWordEmbeddings: cfg.tie_word_embeddings === undefined ? false : Boolean(cfg.tie_word_embeddings),
    attentionBias: arch === 'Qwen2ForCausalLM' ? true : Boolean(cfg.attention_bias),
    bosTokenId: bos,
    eosTokenIds: [...new Set(eos)],
  };
}

/** The HF config.json for a ModelConfig (used when we write checkpoints). */
export function configToHF(c: ModelConfig): Record<string, unknown> {
  return {
    architectures: [c.architecture],
    model_type: c.architecture === 'Qwen2ForCausalLM' ? 'qwen2' : 'llama',
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxPositions,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: c.architecture === 'Qwen2ForCausalLM' ? undefined : c.attentionBias,
    hidden_act: 'silu',
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    torch_dtype: 'float32',
  };
}

/** Parameter names in HF layout for one layer (the model's parameter table). */
export const LINEAR_NAMES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LinearName = (typeof LINEAR_NAMES)[number];

export function linearKey(layer: number, name: LinearName): string {
  const block = name.endsWith('_proj') && ['gate_proj', 'up_proj', 'down_proj'].includes(name) ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${name}`;
}

/** [out, in] of each linear layer. */
export function linearShape(c: ModelConfig, name: LinearName): [number, number] {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  switch (name) {
    case 'q_proj': return [q, c.hiddenSize];
    case 'k_proj': return [kv, c.hiddenSize];
    case 'v_proj': return [kv, c.hiddenSize];
    case 'o_proj': return [c.hiddenSize, q];
    case 'gate_proj': return [c.intermediateSize, c.hiddenSize];
    case 'up_proj': return [c.intermediateSize, c.hiddenSize];
    case 'down_proj': return [c.hiddenSize, c.intermediateSize];
  }
}
