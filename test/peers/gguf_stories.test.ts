/**
 * stories260K written as a GGUF by gguf-py, the way llama.cpp converts a Llama
 * (test/peers/make_stories_gguf.py: q/k rows permuted for its RoPE, F32, the
 * SentencePiece vocabulary of tok512.bin as a "llama" tokenizer), read back by
 * the engine: the same config, every tensor bit for bit, the same token ids and
 * logits as the HF folder, and the shared ground truth's greedy text through
 * `cli generate --model FILE.gguf`. Then broken copies of it: each load fails
 * with a message that names the file and where it broke.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../src/engine/gpu/device';
import { loadModelPath } from '../../src/engine/io/node_load';
import { readSafetensors } from '../../src/engine/io/safetensors';
import type { LoadedModel } from '../../src/engine/io/weights';
import { LlamaModel } from '../../src/engine/model';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { peerPython } from '../helpers/python';
import { referenceCases, sharedPath } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '../..');
let dir: string;
let gguf: string;
let fromGguf: LoadedModel;
let fromHf: LoadedModel;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stories-gguf-'));
  gguf = path.join(dir, 'stories260K.gguf');
  const r = spawnSync(peerPython(), [path.join(__dirname, 'make_stories_gguf.py'), '--hf', sharedPath('models/stories260K-hf'), '--tokenizer', sharedPath('models/stories260K/tok512.bin'), '--out', gguf], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`make_stories_gguf.py failed (${r.status ?? r.signal}):\n${r.stderr.slice(-3000)}`);
  fromGguf = await loadModelPath(gguf);
  fromHf = await loadModelPath(sharedPath('models/stories260K-hf'));
});

describe('stories260K as a llama.cpp-style GGUF loads as the HF folder does', () => {
  it('same config and every tensor bit for bit (q/k rows back in HF order)', () => {
    const { eosTokenIds: _a, ...cg } = fromGguf.config;
    const { eosTokenIds: _b, ...ch } = fromHf.config;
    expect({ ...cg, rmsNormEps: Math.fround(cg.rmsNormEps) }).toEqual({ ...ch, rmsNormEps: Math.fround(ch.rmsNormEps) });
    expect([...fromGguf.weights.keys()].sort()).toEqual([...fromHf.weights.keys()].sort());
    for (const [name, t] of fromHf.weights) {
      const g = fromGguf.weights.get(name)!;
      expect(g.shape, name).toEqual(t.shape);
      expect(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name).toBe(true);
    }
  });

  it('same token ids (SentencePiece from tokenizer.ggml.*) and BOS', () => {
    const a = new TextTokenizer(fromGguf.tokenizer), b = new TextTokenizer(fromHf.tokenizer);
    const texts = ['Once upon a time', 'Tom and Lily went to the park.', '  two spaces', 'numbers 123 and ü', 'line\nbreak', 'Zebra! Why?', ''];
    for (const s of texts) expect(a.encodePrompt(s), s).toEqual(b.encodePrompt(s));
    expect(a.bosId).toBe(1);
    expect(a.eosIds).toEqual([2]);
    expect(a.decode(a.encode('Once upon a time, Lily'))).toBe('Once upon a time, Lily');
  });

  it('same logits, bit for bit', async () => {
    await initGpu();
    const ids = new TextTokenizer(fromHf.tokenizer).encodePrompt('Once upon a time, there was a');
    const run = async (m: LoadedModel) => {
      const model = LlamaModel.fromLoaded(m);
      const t = tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')));
      const d = (await t.data()) as Float32Array;
      t.dispose();
      model.dispose();
      return d;
    };
    expect(Buffer.from((await run(fromGguf)).buffer).equals(Buffer.from((await run(fromHf)).buffer))).toBe(true);
  });

  it('cli generate --model FILE.gguf gives the shared ground truth greedy text', () => {
    const ref = referenceCases()[0];
    const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'generate', '--model', gguf, '--prompt', ref.prompt, '--max-new-tokens', '12', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.prompt_ids).toEqual(ref.prompt_ids);
    expect(out.ids).toEqual(ref.greedy_ids_first60.slice(0, 12));
  });
});

describe('an adapter trained on a GGUF base', () => {
  it('exports as PEFT with HF module names', () => {
    const out = path.join(dir, 'run');
    const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'train', '--model', gguf, '--data', sharedPath('data/tinystories-instruct-1k.jsonl'), '--out', out, '--max-steps', '2', '--targets', 'q_proj,v_proj', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg.peft_type).toBe('LORA');
    expect([...cfg.target_modules].sort()).toEqual(['q_proj', 'v_proj'].sort());
    const names = [...readSafetensors(new Uint8Array(fs.readFileSync(path.join(out, 'adapter_model.safetensors'))), 'adapter').tensors.keys()];
    expect(names.length).toBe(fromHf.config.numLayers * 2 * 2);
    for (const n of names) expect(n).toMatch(/^base_model\.model\.model\.layers\.\d+\.self_attn\.(q|v)_proj\.lora_[AB]\.weight$/);
  });
});

describe('a broken GGUF is an error that says where it broke', () => {
  const copy = (name: string, edit: (b: Buffer) => Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, edit(fs.readFileSync(gguf)));
    return p;
  };
  /** byte offset of the value after metadata key or tensor name `s` (its u64 length + bytes) */
  const after = (b: Buffer, s: string) => b.indexOf(Buffer.from(s)) + s.length;

  it('truncated: names the tensor cut off and the byte ranges', async () => {
    const p = copy('cut.gguf', (b) => b.subarray(0, Math.floor(b.length * 0.6)));
    await expect(loadModelPath(p)).rejects.toThrow(/cut\.gguf: is cut short: tensor "[^"]+" needs bytes \d+\.\.\d+ but the file ends at \d+ \(truncated download\?\)/);
  });

  it('cut inside the header: names what was being read', async () => {
    const p = copy('header.gguf', (b) => b.subarray(0, 300));
    await expect(loadModelPath(p)).rejects.toThrow(/header\.gguf: is cut short: reading metadata "[^"]+" needs bytes \d+\.\.\d+ but the file has 300/);
  });

  it('not a GGUF, or GGUF version 1', async () => {
    await expect(loadModelPath(copy('v1.gguf', (b) => (b.writeUInt32LE(1, 4), b)))).rejects.toThrow(/v1\.gguf: is GGUF version 1/);
    const fake = path.join(dir, 'fake.gguf');
    fs.writeFileSync(fake, 'GGUF' + 'x'.repeat(40));
    await expect(loadModelPath(fake)).rejects.toThrow(/fake\.gguf: is GGUF version \d+; versions 2 and 3 are read/);
  });

  it('a tensor type the engine does not read: names the tensor and its type', async () => {
    // token_embd.weight's info: name, u32 n_dims (2), u64 ne[2], u32 type: make it Q2_K (10)
    const p = copy('q2k.gguf', (b) => (b.writeUInt32LE(10, after(b, 'token_embd.weight') + 4 + 16), b));
    await expect(loadModelPath(p)).rejects.toThrow(/q2k\.gguf: tensor "token_embd\.weight" is ggml Q2_K, which is not read/);
  });

  it('an architecture the engine does not run', async () => {
    const p = copy('arch.gguf', (b) => (b.write('mamba', after(b, 'general.architecture') + 4 + 8, 'latin1'), b));
    await expect(loadModelPath(p)).rejects.toThrow(/arch\.gguf: general\.architecture is "mamba"; the engine runs "llama" and "qwen2" models/);
  });
});
