/**
 * Writes tiny random Hugging Face checkpoints to a temp folder, in every
 * layout variant the loader must take: Llama or Qwen2 (q/k/v biases), tied or
 * untied embeddings, GQA, explicit head_dim, F32/F16/BF16, single file or a
 * sharded index.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configToHF, LINEAR_NAMES, linearKey, linearShape, type ModelConfig } from '../../src/engine/config';
import { writeSafetensors, type WritableTensor } from '../../src/engine/io/safetensors';
import { Rng } from '../../src/engine/rng';
import { sharedPath } from './shared';

export interface TinyOptions {
  arch?: 'LlamaForCausalLM' | 'Qwen2ForCausalLM';
  tied?: boolean;
  dtype?: 'F32' | 'F16' | 'BF16';
  shards?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  hidden?: number;
  layers?: number;
  seed?: number;
}

export function tinyConfig(o: TinyOptions = {}): ModelConfig {
  const heads = o.heads ?? 4;
  const headDim = o.headDim ?? 8;
  return {
    architecture: o.arch ?? 'LlamaForCausalLM',
    hiddenSize: o.hidden ?? 32,
    intermediateSize: 48,
    numLayers: o.layers ?? 2,
    numHeads: heads,
    numKvHeads: o.kvHeads ?? 2,
    headDim,
    vocabSize: 512, // the stories260K tokenizer's vocabulary, so the folder has a real tokenizer
    maxPositions: 128,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: o.tied ?? true,
    attentionBias: (o.arch ?? 'LlamaForCausalLM') === 'Qwen2ForCausalLM',
    bosTokenId: 1,
    eosTokenIds: [2],
  };
}

/** Random weights (HF names), values rounded to the storage dtype so every layout holds the same numbers. */
export function tinyWeights(c: ModelConfig, seed = 1): Map<string, WritableTensor> {
  const rng = new Rng(seed);
  const m = new Map<string, WritableTensor>();
  const rand = (shape: number[], scale: number, offset = 0) => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + (rng.next() * 2 - 1) * scale),
  });
  m.set('model.embed_tokens.weight', rand([c.vocabSize, c.hiddenSize], 0.5));
  for (let i = 0; i < c.numLayers; i++) {
    m.set(`model.layers.${i}.input_layernorm.weight`, rand([c.hiddenSize], 0.2, 1));
    m.set(`model.layers.${i}.post_attention_layernorm.weight`, rand([c.hiddenSize], 0.2, 1));
    for (const n of LINEAR_NAMES) {
      const [o, inp] = linearShape(c, n);
      m.set(`${linearKey(i, n)}.weight`, rand([o, inp], 1 / Math.sqrt(inp)));
      if (c.attentionBias && (n === 'q_proj' || n === 'k_proj' || n === 'v_proj')) m.set(`${linearKey(i, n)}.bias`, rand([o], 0.3));
    }
  }
  m.set('model.norm.weight', rand([c.hiddenSize], 0.2, 1));
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', rand([c.vocabSize, c.hiddenSize], 0.5));
  return m;
}

/** Writes the checkpoint folder and returns its path. */
export function writeTinyCheckpoint(o: TinyOptions = {}): { dir: string; config: ModelConfig; weights: Map<string, WritableTensor> } {
  const c = tinyConfig(o);
  const weights = tinyWeights(c, o.seed ?? 1);
  const dtype = o.dtype ?? 'F32';
  for (const t of weights.values()) t.dtype = dtype;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-tiny-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(configToHF(c), null, 2));
  const names = [...weights.keys()];
  const shards = o.shards ?? 1;
  if (shards === 1) {
    fs.writeFileSync(path.join(dir, 'model.safetensors'), writeSafetensors(weights));
  } else {
    const map: Record<string, string> = {};
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = new Map(names.filter((_, i) => i % shards === s).map((n) => [n, weights.get(n)!]));
      for (const n of part.keys()) map[n] = file;
      fs.writeFileSync(path.join(dir, file), writeSafetensors(part));
    }
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }));
  }
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(sharedPath(`models/stories260K-hf/${f}`), path.join(dir, f));
  return { dir, config: c, weights };
}
