/**
 * Loads a Hugging Face model folder (config.json, model.safetensors or a
 * sharded model.safetensors.index.json, tokenizer.json, tokenizer_config.json,
 * generation_config.json) from any FileSource into host weights.
 * Fetching bytes (disk, dropped files, the Hub, IndexedDB) is the source's job.
 */
import { configFromHF, ConfigError, linearKey, linearShape, LINEAR_NAMES, type ModelConfig } from '../config';
import { readSafetensors } from './safetensors';
import { LoadError, type FileSource, type LoadedModel, type WeightMap } from './weights';

async function readJson(src: FileSource, file: string, required: true): Promise<Record<string, unknown>>;
async function readJson(src: FileSource, file: string, required: false): Promise<Record<string, unknown> | null>;
async function readJson(src: FileSource, file: string, required: boolean): Promise<Record<string, unknown> | null> {
  const bytes = await src.read(file);
  if (!bytes) {
    if (required) throw new LoadError(file, `missing from ${src.name}`);
    return null;
  }
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes));
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v;
  } catch (e) {
    throw new LoadError(file, `is not valid JSON (${(e as Error).message})`);
  }
}

/** Names of the safetensors files that hold the weights. */
async function weightFiles(src: FileSource): Promise<string[]> {
  const index = await readJson(src, 'model.safetensors.index.json', false);
  if (index) {
    const map = index.weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== 'object') throw new LoadError('model.safetensors.index.json', 'has no "weight_map"');
    return [...new Set(Object.values(map))].sort();
  }
  return ['model.safetensors'];
}

/** Every tensor the engine needs, with its shape. */
export function expectedTensors(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  for (let i = 0; i < c.numLayers; i++) {
    m.set(`model.layers.${i}.input_layernorm.weight`, [c.hiddenSize]);
    m.set(`model.layers.${i}.post_attention_layernorm.weight`, [c.hiddenSize]);
    for (const name of LINEAR_NAMES) {
      m.set(`${linearKey(i, name)}.weight`, linearShape(c, name));
      if (c.attentionBias && (name === 'q_proj' || name === 'k_proj' || name === 'v_proj')) {
        m.set(`${linearKey(i, name)}.bias`, [linearShape(c, name)[0]]);
      }
    }
  }
  m.set('model.norm.weight', [c.hiddenSize]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, c.hiddenSize]);
  return m;
}

/** Checks that `weights` holds exactly what the config needs; `fileOf` names the file for messages. */
export function checkWeights(c: ModelConfig, weights: WeightMap, fileOf: (name: string) => string): void {
  for (const [name, shape] of expectedTensors(c)) {
    const t = weights.get(name);
    if (!t) {
      const hint = name === 'lm_head.weight' ? ' (config says tie_word_embeddings is false)' : '';
      throw new LoadError(fileOf(name), `tensor "${name}" is missing${hint}`);
    }
    if (t.shape.join() !== shape.join()) {
      const what = name === 'model.embed_tokens.weight' || name === 'lm_head.weight' ? ' (vocab or hidden size mismatch with config.json)' : '';
      throw new LoadError(fileOf(name), `tensor "${name}" has shape [${t.shape}] but config.json implies [${shape}]${what}`);
    }
  }
}

export async function loadHF(src: FileSource): Promise<LoadedModel> {
  const cfgJson = await readJson(src, 'config.json', true);
  const gen = await readJson(src, 'generation_config.json', false);
  let config: ModelConfig;
  try {
    config = configFromHF(cfgJson, gen);
  } catch (e) {
    if (e instanceof ConfigError) throw new LoadError('config.json', e.message.replace(/^config\.json: /, ''));
    throw e;
  }
  const tokenizerJson = await readJson(src, 'tokenizer.json', false);
  if (!tokenizerJson) {
    throw new LoadError('tokenizer.json', `missing from ${src.name}; the engine needs the fast-tokenizer file tokenizer.json`);
  }
  const tokenizerConfig = (await readJson(src, 'tokenizer_config.json', false)) ?? {};

  const weights: WeightMap = new Map();
  const origin = new Map<string, string>();
  const files = await weightFiles(src);
  for (const file of files) {
    const bytes = await src.read(file);
    if (!bytes) throw new LoadError(file, `missing from ${src.name}`);
    const { tensors } = readSafetensors(bytes, file);
    for (const [name, t] of tensors) {
      if (name.includes('rotary_emb.inv_freq')) continue; // recomputed from rope_theta
      weights.set(name, t);
      origin.set(name, file);
    }
  }
  checkWeights(config, weights, (n) => origin.get(n) ?? files[0]);

  // Vocabulary: the tokenizer may be smaller than the embedding (padded vocab, as Qwen2.5 has), never larger.
  const addedMax = Math.max(-1, ...((tokenizerJson.added_tokens as { id: number }[] | undefined) ?? []).map((t) => t.id));
  const vocab = (tokenizerJson.model as { vocab?: Record<string, number> | unknown[] } | undefined)?.vocab;
  const tokVocab = Math.max(addedMax + 1, Array.isArray(vocab) ? vocab.length : vocab ? Object.keys(vocab).length : 0);
  if (tokVocab > config.vocabSize) {
    throw new LoadError('tokenizer.json', `has ${tokVocab} tokens but config.json's vocab_size is ${config.vocabSize}: tokenizer and model do not match`);
  }
  return { config, weights, tokenizer: { tokenizerJson, tokenizerConfig }, source: { format: 'hf', name: src.name } };
}
