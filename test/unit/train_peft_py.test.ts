/**
 * train_peft.py (src/worker/train_peft.py) against the engine, with the
 * standard-library Python only (test/peers runs it on torch): the script and
 * bench/torch_baseline.py compile, and the text the recipe writes is the .py
 * file's, through both imports (`?raw` for the page and the kit, the Node
 * read for tsx); `--plan` gives the rows of each step as
 * Trainer.samplesOfStep does (a Trainer over a stub model: its constructor and
 * samplesOfStep need no GPU), the lr as lrMultiplier, and the first values of
 * each LoRA A as a real LoraAdapter draws them (tfjs's CPU backend); its
 * tokenize_row, given a toy greedy tokenizer, makes the ids and labels that
 * tokenizeSegments makes with the same tokenizer (boundary merge, truncation
 * included); the recipe's run.json and *_tokens.jsonl hold the run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { configToHF, type LinearName, type ModelConfig } from '../../src/engine/config';
import { tokenizeSegments, IGNORE_INDEX, type SegmentTokenizer, type TokenizedSample } from '../../src/engine/data/tokenize';
import { LoraAdapter } from '../../src/engine/lora';
import type { LlamaModel } from '../../src/engine/model';
import { lrMultiplier } from '../../src/engine/train/schedule';
import { DEFAULT_TRAIN_CONFIG, Trainer, type TrainConfig } from '../../src/engine/train/trainer';
import { buildRecipe, type RecipeData } from '../../src/worker/recipe';
import { TRAIN_PEFT_PY } from '#recipe-python';
import { TRAIN_PEFT_PY as RAW_IMPORT } from '../../src/worker/recipe_python';
import { TRAIN_PEFT_PY as NODE_READ } from '../../src/worker/recipe_python.node';
import { PYTHON } from '../helpers/python';

const root = path.resolve(__dirname, '../..');

// o_proj's input (heads·headDim = 64) differs from hidden (48): the script must take head_dim from config.json
const MODEL: ModelConfig = {
  architecture: 'LlamaForCausalLM', hiddenSize: 48, intermediateSize: 80, numLayers: 3, numHeads: 4, numKvHeads: 2, headDim: 16,
  vocabSize: 64, maxPositions: 128, rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: true, attentionBias: false, bosTokenId: 1, eosTokenIds: [2],
};

/** A toy tokenizer: greedy longest match over a fixed vocabulary; " O" merges across a "Response: " | "Once" boundary. */
const PIECES = ['<unk>', '<s>', '</s>', ' O', 'Once', ': ', 'Response', 'upon', ...'abcdefghijklmnopqrstuvwxyzHORWT:.,!? \n'.split('')];
function greedy(text: string): number[] {
  const ids: number[] = [];
  for (let i = 0; i < text.length; ) {
    let best = -1;
    for (let p = 3; p < PIECES.length; p++) if (text.startsWith(PIECES[p], i) && (best < 0 || PIECES[p].length > PIECES[best].length)) best = p;
    if (best < 0) throw new Error(`no piece for ${JSON.stringify(text[i])}`);
    ids.push(best);
    i += PIECES[best].length;
  }
  return ids;
}
const toyTok: SegmentTokenizer = { encode: greedy, bosId: 1, bosToken: '<s>', eosIds: [2] };
const decode = (ids: number[]) => ids.map((i) => PIECES[i]).join(''); // keeps <s> and </s>: the recipe must leave out the opening BOS and closing EOS itself

const PAIRS: [string, string][] = [
  ['Write a story.\nResponse: ', 'Once upon a time'],
  ['Tell me.\nResponse:', ' Once a cat sat.'],
  ['Hi!\n', 'wow'],
  ['Response: ', 'Once upon a time there was a dog who ran and ran and ran far away.'], // truncated at maxLength
  ['q?\n', 'yes, it is.'],
  ['a\n', 'b'],
  ['tell a tale\n', 'Once upon a time.'],
  ['z\n', 'zz'],
  ['Response: ', 'Oh.'],
  ['w\n', 'Why not?'],
  ['k\n', 'ok'],
];
const MAX_LENGTH = 40;

function sample(prompt: string, reply: string): TokenizedSample {
  const { ids, labels, boundaryMerges } = tokenizeSegments(toyTok, [
    { kind: 'text', text: prompt, train: false },
    { kind: 'text', text: reply, train: true },
    { kind: 'eos' },
  ]);
  const truncated = ids.length > MAX_LENGTH;
  ids.length = Math.min(ids.length, MAX_LENGTH);
  labels.length = ids.length;
  return { ids, labels, line: 0, truncated, boundaryMerges, responseTokens: labels.filter((l) => l !== IGNORE_INDEX).length };
}

const train = PAIRS.map(([p, r]) => sample(p, r));
const validation = [sample('v\n', 'Once.')];
const data: RecipeData = { name: 'toy', template: 'alpaca', maxLength: MAX_LENGTH, train, validation };

/** The recipe written to a fresh folder, with a model folder holding only config.json. */
function writeRecipe(settings: TrainConfig): { dir: string; model: string; files: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-peft-'));
  const files = buildRecipe('toy-org/toy-model', { decode, bosId: toyTok.bosId, eosIds: toyTok.eosIds }, data, settings);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const model = path.join(dir, 'model');
  fs.mkdirSync(model);
  fs.writeFileSync(path.join(model, 'config.json'), JSON.stringify(configToHF(MODEL)));
  return { dir, model, files };
}

interface Plan {
  rows: number;
  steps_per_epoch: number;
  total_steps: number;
  steps: { step: number; micro: number[][]; lr: number }[];
  lora_a: Record<string, number[]>;
  base_quantization: Record<string, unknown> | null;
}

function runPlan(dir: string, model: string, n: number): Plan {
  const out = execFileSync(PYTHON, [path.join(dir, 'train_peft.py'), '--model', model, '--plan', String(n)], { encoding: 'utf8' });
  return JSON.parse(out) as Plan;
}

// the Trainer's constructor reads only the config and the weights' bytes (for the loss chunk); samplesOfStep needs no model
const stubModel = { config: MODEL, params: { layers: [], embed: {} }, weightBytes: () => 0 } as unknown as LlamaModel;

describe('train_peft.py', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('compiles, and so does bench/torch_baseline.py; the recipe\'s text is the .py file, through either import', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-peft-'));
    const file = path.join(root, 'src/worker/train_peft.py');
    for (const f of [file, path.join(root, 'bench/torch_baseline.py')]) {
      execFileSync(PYTHON, ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)', f, path.join(dir, 'c.pyc')]);
    }
    const text = fs.readFileSync(file, 'utf8');
    expect(text.startsWith('#!/usr/bin/env python3\n')).toBe(true);
    expect(RAW_IMPORT).toBe(text);
    expect(NODE_READ).toBe(text);
    expect(TRAIN_PEFT_PY).toBe(text);
  });

  const cases: [string, Partial<TrainConfig>][] = [
    // 11 rows, 6 a step: steps of 6 and 5 rows (micro-batches 3+3, 3+2), three epochs, each its own shuffle
    ['shuffled, gradAccum 2, short last step, 3 epochs, cosine + warmup', { batchSize: 3, gradAccum: 2, epochs: 3, shuffle: true, seed: 5, schedule: 'cosine', warmup: 2, lr: 3e-3 }],
    ['file order, maxSteps past an epoch, linear', { batchSize: 2, gradAccum: 1, maxSteps: 9, shuffle: false, seed: 1, schedule: 'linear', warmup: 0, lr: 1e-2 }],
    ['fractional epochs, batch 4 × accum 3, constant', { batchSize: 4, gradAccum: 3, epochs: 2.5, shuffle: true, seed: 123456789, schedule: 'constant', warmup: 3, lr: 2e-4 }],
  ];
  for (const [title, over] of cases) {
    it(`--plan: rows and lr of each step as the Trainer (${title})`, () => {
      const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...over, maxLength: MAX_LENGTH };
      const { dir, model } = writeRecipe(config);
      const trainer = new Trainer(stubModel, train, validation, config);
      const plan = runPlan(dir, model, 100);
      expect(plan.rows).toBe(train.length);
      expect(plan.steps_per_epoch).toBe(trainer.stepsPerEpoch);
      expect(plan.total_steps).toBe(trainer.totalSteps);
      expect(plan.steps.length).toBe(trainer.totalSteps);
      for (let k = 0; k < trainer.totalSteps; k++) {
        const ours = trainer.samplesOfStep(k).map((m) => m.map((s) => train.indexOf(s)));
        expect(plan.steps[k].micro, `step ${k + 1}`).toEqual(ours);
        const lr = config.lr * lrMultiplier(config.schedule, k, config.warmup, trainer.totalSteps);
        expect(Math.abs(plan.steps[k].lr - lr)).toBeLessThanOrEqual(1e-15 * Math.max(1, lr));
      }
      if (config.shuffle) expect(plan.steps[0].micro).not.toEqual(plan.steps[trainer.stepsPerEpoch].micro); // epochs differ
      trainer.adapter.params.dispose();
      trainer.optimizer.dispose();
    });
  }

  it('--plan: LoRA A init equals LoraAdapter (targets in the run order, o_proj and down_proj fan-ins)', async () => {
    const targets: LinearName[] = ['v_proj', 'q_proj', 'down_proj', 'o_proj', 'up_proj'];
    const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, rank: 3, targets, seed: 42, maxLength: MAX_LENGTH };
    const { dir, model } = writeRecipe(config);
    const plan = runPlan(dir, model, 1);
    const adapter = new LoraAdapter(MODEL, { rank: 3, alpha: 16, dropout: 0, rslora: false, targets }, { seed: 42 });
    const p = await adapter.params.data();
    const keys = [...adapter.pairs.keys()];
    expect(Object.keys(plan.lora_a).sort()).toEqual([...keys].sort());
    for (const [key, pair] of adapter.pairs) {
      const want = Array.from(p.subarray(pair.slot.a, pair.slot.a + 8));
      expect(plan.lora_a[key], key).toEqual(want); // f32 values, exactly
    }
    expect(plan.lora_a['model.layers.2.mlp.up_proj'].some((v) => v !== 0)).toBe(true);
    adapter.params.dispose();
  });

  it('--plan: the base loads as the browser held it: bitsandbytes nf4 with double quantization at 4 bits, LLM.int8() at 8, f32 at 16 or unsaid', () => {
    const quantization = (frozenBits?: 16 | 8 | 4) => {
      const { dir, model } = writeRecipe({ ...DEFAULT_TRAIN_CONFIG, maxLength: MAX_LENGTH, ...(frozenBits ? { frozenBits } : {}) });
      return runPlan(dir, model, 1).base_quantization;
    };
    expect(quantization(4)).toEqual({ load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true, bnb_4bit_compute_dtype: 'float32' });
    expect(quantization(8)).toEqual({ load_in_8bit: true });
    expect(quantization(16)).toBeNull();
    expect(quantization()).toBeNull();
  });

  it('tokenize_row makes the browser\'s ids and labels from the recipe\'s prompt/completion text (toy tokenizer)', () => {
    const { dir } = writeRecipe({ ...DEFAULT_TRAIN_CONFIG, maxLength: MAX_LENGTH });
    const py = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("tp", sys.argv[1]); tp = importlib.util.module_from_spec(spec); spec.loader.exec_module(tp)
PIECES = json.loads(sys.argv[3])
class Tok:
    bos_token_id, bos_token, eos_token_id = 1, "<s>", 2
    def __call__(self, text, add_special_tokens=False):
        ids, i = [], 0
        while i < len(text):
            best = max((p for p in range(3, len(PIECES)) if text.startswith(PIECES[p], i)), key=lambda p: len(PIECES[p]))
            ids.append(best); i += len(PIECES[best])
        return {"input_ids": ids}
rows = tp.tokenized_rows(Tok(), sys.argv[2], int(sys.argv[4]))
theirs = tp.read_jsonl(sys.argv[2].replace("train.jsonl", "train_tokens.jsonl"))
print(json.dumps({"rows": rows, "match": tp.compare_tokens(rows, theirs)}))
`;
    const out = JSON.parse(execFileSync(PYTHON, ['-c', py, path.join(dir, 'train_peft.py'), path.join(dir, 'train.jsonl'), JSON.stringify(PIECES), String(MAX_LENGTH)], { encoding: 'utf8' }));
    expect(train.some((s) => s.boundaryMerges > 0)).toBe(true); // the continuation path is exercised
    expect(train.some((s) => s.truncated)).toBe(true);
    expect(out.rows).toEqual(train.map((s) => ({ input_ids: s.ids, labels: s.labels })));
    expect(out.match).toEqual([train.length, train.length]);
  });

  it('the recipe writes the script, run.json and the exact token rows', () => {
    const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, lr: 5e-4, gradAccum: 2, packing: true, targets: ['q_proj', 'v_proj'], maxLength: 999 };
    const { files } = writeRecipe(config);
    expect(files['train_peft.py']).toBe(TRAIN_PEFT_PY);
    const rows = (name: string) => files[name].trim().split('\n').map((l) => JSON.parse(l));
    expect(rows('train_tokens.jsonl')).toEqual(train.map((s) => ({ input_ids: s.ids, labels: s.labels })));
    expect(rows('validation_tokens.jsonl')).toEqual(validation.map((s) => ({ input_ids: s.ids, labels: s.labels })));
    expect(rows('train.jsonl').length).toBe(train.length); // the same order, row for row
    const run = JSON.parse(files['run.json']);
    expect(run).toMatchObject({ base_model: 'toy-org/toy-model', dataset: 'toy', template: 'alpaca', max_length: MAX_LENGTH, train_rows: train.length, validation_rows: 1 });
    const { maxLength: _m, memoryBudgetBytes: _b, ...rest } = config;
    expect(run.settings).toEqual({ ...rest, gradientCheckpointing: false });
    expect(files['README.txt']).toMatch(/python train_peft\.py/);
    expect(files['README.txt']).toMatch(/accelerate launch train_peft\.py/);
  });
});
