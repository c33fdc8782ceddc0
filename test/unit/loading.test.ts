/** Loading HF folders: what is accepted, and how bad inputs are reported (file + problem). */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromHF } from '../../src/engine/config';
import { loadHF } from '../../src/engine/io/hf';
import { loadModelPath } from '../../src/engine/io/node_load';
import { folderSource } from '../../src/engine/io/node_source';
import { writeSafetensors } from '../../src/engine/io/safetensors';
import { writeTinyCheckpoint } from '../helpers/tiny_checkpoint';
import { sharedPath } from '../helpers/shared';

const editJson = (dir: string, file: string, edit: (j: Record<string, unknown>) => void) => {
  const p = path.join(dir, file);
  const j = JSON.parse(fs.readFileSync(p, 'utf8'));
  edit(j);
  fs.writeFileSync(p, JSON.stringify(j));
};

describe('HF folder loading', () => {
  it('reads stories260K-hf: config, EOS ids from generation_config, tokenizer', async () => {
    const m = await loadHF(folderSource(sharedPath('models/stories260K-hf')));
    expect(m.config).toMatchObject({ hiddenSize: 64, numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8, vocabSize: 512, tieWordEmbeddings: true });
    expect(m.config.eosTokenIds).toEqual([2, 1]);
    expect(m.weights.has('lm_head.weight')).toBe(false);
  });

  it('reads a sharded BF16 Qwen2 checkpoint with biases', async () => {
    const { dir } = writeTinyCheckpoint({ arch: 'Qwen2ForCausalLM', tied: false, dtype: 'BF16', shards: 3 });
    const m = await loadHF(folderSource(dir));
    expect(m.config.architecture).toBe('Qwen2ForCausalLM');
    expect(m.config.attentionBias).toBe(true);
    expect(m.weights.get('model.layers.1.self_attn.k_proj.bias')!.shape).toEqual([16]);
    expect(m.weights.get('lm_head.weight')!.shape).toEqual([512, 32]);
  });

  it('reports a missing tokenizer.json', async () => {
    const { dir } = writeTinyCheckpoint();
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    await expect(loadHF(folderSource(dir))).rejects.toThrow(/^tokenizer\.json: missing from .*tokenizer\.json/);
  });

  it('reports an unknown architecture by name', async () => {
    const { dir } = writeTinyCheckpoint();
    editJson(dir, 'config.json', (j) => (j.architectures = ['GPT2LMHeadModel']));
    await expect(loadHF(folderSource(dir))).rejects.toThrow(/config\.json: architecture "GPT2LMHeadModel" is not supported; supported: LlamaForCausalLM, Qwen2ForCausalLM/);
  });

  it('reports a vocabulary mismatch between config and weights', async () => {
    const { dir } = writeTinyCheckpoint();
    editJson(dir, 'config.json', (j) => (j.vocab_size = 600));
    await expect(loadHF(folderSource(dir))).rejects.toThrow(/model\.safetensors: tensor "model\.embed_tokens\.weight" has shape \[512,32\] but config\.json implies \[600,32\] \(vocab/);
  });

  it('reports a tokenizer larger than the model vocabulary', async () => {
    const { dir } = writeTinyCheckpoint();
    editJson(dir, 'tokenizer.json', (j) => (j.added_tokens as object[]).push({ id: 700, content: '<extra>', special: true }));
    await expect(loadHF(folderSource(dir))).rejects.toThrow(/tokenizer\.json: has 701 tokens but config\.json's vocab_size is 512/);
  });

  it('reports a missing tensor, naming its shard', async () => {
    const { dir, weights } = writeTinyCheckpoint({ tied: false });
    weights.delete('lm_head.weight');
    fs.writeFileSync(path.join(dir, 'model.safetensors'), writeSafetensors(weights));
    await expect(loadHF(folderSource(dir))).rejects.toThrow(/model\.safetensors: tensor "lm_head\.weight" is missing \(config says tie_word_embeddings is false\)/);
  });

  it('reports a missing shard and a truncated weights file', async () => {
    const { dir } = writeTinyCheckpoint({ shards: 2 });
    fs.rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    await expect(loadHF(folderSource(dir))).rejects.toThrow(/^model-00002-of-00002\.safetensors: missing/);
    const one = writeTinyCheckpoint();
    const p = path.join(one.dir, 'model.safetensors');
    fs.writeFileSync(p, fs.readFileSync(p).subarray(0, 5000));
    await expect(loadHF(folderSource(one.dir))).rejects.toThrow(/^model\.safetensors: .*(truncated|header lies)/);
  });

  it('reports a config.json that is not JSON, and one with a field of the wrong type', async () => {
    const { dir } = writeTinyCheckpoint();
    fs.writeFileSync(path.join(dir, 'config.json'), '{"architectures": [');
    await expect(loadHF(folderSource(dir))).rejects.toThrow(/^config\.json: is not valid JSON/);
    expect(() => configFromHF({ architectures: ['LlamaForCausalLM'], hidden_size: '64' })).toThrow(/config\.json: field "hidden_size" is not a number/);
  });

  it('reports a llama2.c checkpoint without its tokenizer, and a missing path', async () => {
    const dir = fs.mkdtempSync('/tmp/lima-l2c-');
    fs.copyFileSync(sharedPath('models/stories260K/stories260K.bin'), path.join(dir, 'model.bin'));
    await expect(loadModelPath(path.join(dir, 'model.bin'))).rejects.toThrow(/tokenizer/);
    await expect(loadModelPath('/nonexistent/model')).rejects.toThrow(/\/nonexistent\/model: no such file or folder/);
  });
});
