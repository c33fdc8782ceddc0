/**
 * The run recipe, for when a user outgrows the browser: the processed dataset
 * as prompt/completion JSONL (exactly the text that was masked and trained,
 * after the template) and configs that train the same LoRA with TRL's
 * `trl sft` (prompt-completion datasets train on the completion only) or
 * Axolotl (`train_on_inputs: false`), and train_peft.py (plain transformers +
 * peft: the same data order, A init, loss, optimizer and schedule, so its loss
 * curve follows the browser's) with run.json (its settings) and
 * train_tokens.jsonl / validation_tokens.jsonl (the exact ids and labels).
 * A run whose frozen base was held at 4 or 8 bits (TrainConfig.frozenBits)
 * exports as QLoRA: each trainer loads the base through bitsandbytes at those
 * bits (4: nf4 with double quantization, QLoRA's; 8: LLM.int8()), and the
 * README says the base was quantized and how that differs from the browser's
 * ggml blocks.
 */
import { Document, isScalar } from 'yaml';
import { IGNORE_INDEX, type TokenizedSample } from '../engine/data';
import type { TextTokenizer } from '../engine/tokenizer';
import type { TrainConfig } from '../engine/train/trainer';
import type { SaveMemory } from './protocol';
import type { PreparedSplit } from './session';
import { TRAIN_PEFT_PY } from '#recipe-python';

/** What the recipe reads of a prepared dataset (the worker's PreparedSplit, or the CLI's). */
export type RecipeData = Pick<PreparedSplit, 'name' | 'template' | 'maxLength' | 'train' | 'validation'>;
/** The training settings it writes (the worker's ResolvedTrainSettings fits; the CLI's TrainConfig too); maxLength is the data's. */
export type RecipeSettings = Omit<TrainConfig, 'maxLength' | 'memoryBudgetBytes'> & { saveMemory?: SaveMemory };

/** The browser's exact samples, one {"input_ids", "labels"} a line, in the order of train.jsonl. */
function tokensJsonl(samples: TokenizedSample[]): string {
  return samples.map((s) => JSON.stringify({ input_ids: s.ids, labels: s.labels })).join('\n') + '\n';
}

/** run.json: every setting train_peft.py reads, under TrainConfig's names. */
function runJson(baseModel: string, d: RecipeData, s: RecipeSettings): string {
  const settings = {
    rank: s.rank,
    alpha: s.alpha,
    dropout: s.dropout,
    rslora: s.rslora,
    targets: s.targets,
    lr: s.lr,
    schedule: s.schedule,
    warmup: s.warmup,
    optimizer: s.optimizer,
    weightDecay: s.weightDecay,
    maxGradNorm: s.maxGradNorm,
    batchSize: s.batchSize,
    gradAccum: s.gradAccum,
    epochs: s.epochs,
    maxSteps: s.maxSteps,
    packing: s.packing,
    seed: s.seed,
    shuffle: s.shuffle,
    evalEvery: s.evalEvery,
    gradientCheckpointing: !!s.gradientCheckpointing,
    // the bits the browser held the frozen base at (absent: 16-bit or f32): train_peft.py loads it quantized to match
    ...(s.frozenBits ? { frozenBits: s.frozenBits } : {}),
  };
  const run = { base_model: baseModel, dataset: d.name, template: d.template, max_length: d.maxLength, train_rows: d.train.length, validation_rows: d.validation.length, settings };
  return JSON.stringify(run, null, 2) + '\n';
}

/** What the text export needs of the tokenizer. */
export type RecipeTokenizer = Pick<TextTokenizer, 'decode' | 'bosId' | 'eosIds'>;

/**
 * The rows as {"prompt", "completion"} text. Special tokens inside stay (a
 * chat template's <|im_start|> must reach TRL, Axolotl and train_peft.py as
 * written, and their tokenizers read it back as the special token); only the
 * BOS that opens the prompt and the EOS that closes the reply are left out,
 * since each of those trainers adds them itself.
 */
function toJsonl(tok: RecipeTokenizer, samples: TokenizedSample[]): string {
  return samples
    .map((s) => {
      const first = s.labels.findIndex((l) => l !== IGNORE_INDEX);
      const start = tok.bosId != null && s.ids[0] === tok.bosId ? 1 : 0;
      const last = s.ids.length - 1;
      const end = !s.truncated && last >= first && tok.eosIds.includes(s.ids[last]) ? last : s.ids.length;
      const prompt = tok.decode(s.ids.slice(start, first), false);
      // decoded after its prompt: SentencePiece drops the space of a leading '▁' (" Once" would become
      // "Once", and re-encoding the row would give other ids than the browser trained on)
      const whole = tok.decode(s.ids.slice(start, end), false);
      const completion = whole.startsWith(prompt) ? whole.slice(prompt.length) : tok.decode(s.ids.slice(first, end), false);
      return JSON.stringify({ prompt, completion });
    })
    .join('\n') + '\n';
}

/**
 * A YAML file through the `yaml` library, so that no value (a model name with
 * a colon, a quote or a `#`) can break it: `header` becomes the leading
 * comment, `notes` inline comments after the named keys. Written as YAML 1.1,
 * which TRL and Axolotl read (PyYAML): there a bare `no` is false, so strings
 * such as eval_strategy's "no" must be quoted (TRL refused `eval_strategy: no`).
 */
function yamlFile(header: string[], values: Record<string, unknown>, notes: Record<string, string>): string {
  const doc = new Document(values, { aliasDuplicateObjects: false, version: '1.1' });
  doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  for (const [key, note] of Object.entries(notes)) {
    const node = doc.get(key, true);
    if (isScalar(node)) node.comment = ` ${note}`;
  }
  return doc.toString({ lineWidth: 0 });
}

/** Whether the run's base was quantized (4 or 8 bits), and the words the configs and the README say it in. */
function quantizedBase(s: RecipeSettings): { bits: 4 | 8; trl: Record<string, unknown>; axolotl: Record<string, unknown>; note: string; readme: string } | null {
  if (s.frozenBits !== 4 && s.frozenBits !== 8) return null;
  const bits = s.frozenBits;
  const how = bits === 4 ? 'bitsandbytes nf4 with double quantization (QLoRA)' : 'bitsandbytes LLM.int8()';
  return {
    bits,
    trl: bits === 4 ? { load_in_4bit: true, bnb_4bit_quant_type: 'nf4', use_bnb_nested_quant: true } : { load_in_8bit: true },
    // Axolotl's qlora adapter loads nf4 with double quantization; its 8-bit LoRA is LLM.int8()
    axolotl: bits === 4 ? { adapter: 'qlora', load_in_4bit: true } : { adapter: 'lora', load_in_8bit: true },
    note: `the browser held the frozen base at ${bits} bits: ${how}, LoRA in f32`,
    readme:
      `The base was quantized: the browser held its frozen weights at ${bits} bits (ggml ${bits === 4 ? 'Q4_0 blocks, or the GGUF\'s own Q4_0/Q4_1/Q4_K' : 'Q8_0 blocks'}), LoRA, norms and activations in f32.\n` +
      `train_peft.py, trl_sft.yaml and axolotl.yaml load the base at ${bits} bits through ${how} (pip install bitsandbytes;\n` +
      `train_peft.py --full-precision loads it in f32). bitsandbytes' ${bits === 4 ? 'nf4' : 'int8'} is not ggml's ${bits === 4 ? 'Q4' : 'Q8_0'}: the base's weights, and the loss curve, differ from the browser's by the gap between the two quantizations.\n`,
  };
}

export function buildRecipe(baseModel: string, tok: RecipeTokenizer, d: RecipeData, s: RecipeSettings): Record<string, string> {
  const optim = s.optimizer === 'adamw' ? 'adamw_torch' : 'sgd';
  const quantized = quantizedBase(s);
  const checkpointingNote = s.saveMemory ? `recompute activations in backward (the page's Save memory: ${s.saveMemory})` : 'recompute activations in backward';
  const trl = yamlFile(
    ['TRL (https://huggingface.co/docs/trl/sft_trainer): trl sft --config trl_sft.yaml', 'Made by the LIMA playground: the same LoRA run as in the browser.'],
    {
      model_name_or_path: baseModel,
      datasets: [{ path: 'json', data_files: { train: 'train.jsonl' }, split: 'train' }],
      // `trl sft` evaluates on a "test" split, which its dataset mixture cannot take from a second file: with
      // eval_strategy steps it stopped with KeyError 'test' (validation.jsonl is there for evaluating the adapter)
      eval_strategy: 'no',
      // file order when the browser run did not shuffle (its shuffle, mulberry32, is not one TRL can draw)
      ...(s.shuffle ? {} : { train_sampling_strategy: 'sequential' }),
      output_dir: 'lima-lora',
      use_peft: true,
      ...quantized?.trl,
      lora_r: s.rank,
      lora_alpha: s.alpha,
      lora_dropout: s.dropout,
      use_rslora: s.rslora,
      lora_target_modules: s.targets,
      completion_only_loss: true,
      max_length: d.maxLength,
      packing: s.packing,
      learning_rate: s.lr,
      lr_scheduler_type: s.schedule,
      warmup_steps: s.warmup,
      optim,
      weight_decay: s.weightDecay,
      max_grad_norm: s.maxGradNorm,
      per_device_train_batch_size: s.batchSize,
      gradient_accumulation_steps: s.gradAccum,
      gradient_checkpointing: s.gradientCheckpointing,
      num_train_epochs: s.epochs,
      max_steps: s.maxSteps > 0 ? s.maxSteps : -1,
      seed: s.seed,
      bf16: false,
    },
    {
      completion_only_loss: 'prompt/completion rows: loss on the response only',
      gradient_checkpointing: checkpointingNote,
      bf16: "f32 math, as the browser (SFTConfig's default is bf16 autocast: faster on a GPU, the loss ~1e-4 off)",
      eval_strategy: 'trl sft takes no held-out file; validation.jsonl holds the held-out rows',
      ...(quantized ? { [quantized.bits === 4 ? 'load_in_4bit' : 'load_in_8bit']: quantized.note } : {}),
    },
  );
  const promptCompletion = { field_instruction: 'prompt', field_output: 'completion', format: '{instruction}', no_input_format: '{instruction}' };
  const axolotl = yamlFile(
    ['Axolotl (https://docs.axolotl.ai): axolotl train axolotl.yaml'],
    {
      base_model: baseModel,
      adapter: 'lora',
      ...quantized?.axolotl,
      lora_r: s.rank,
      lora_alpha: s.alpha,
      lora_dropout: s.dropout,
      peft_use_rslora: s.rslora,
      lora_target_modules: s.targets,
      datasets: [{ path: 'train.jsonl', ds_type: 'json', type: promptCompletion }],
      test_datasets: [{ path: 'validation.jsonl', ds_type: 'json', split: 'train', type: promptCompletion }],
      train_on_inputs: false,
      sequence_len: d.maxLength,
      sample_packing: s.packing,
      learning_rate: s.lr,
      lr_scheduler: s.schedule,
      warmup_steps: s.warmup,
      optimizer: optim,
      weight_decay: s.weightDecay,
      max_grad_norm: s.maxGradNorm,
      micro_batch_size: s.batchSize,
      gradient_accumulation_steps: s.gradAccum,
      gradient_checkpointing: s.gradientCheckpointing,
      num_epochs: s.epochs,
      ...(s.maxSteps > 0 ? { max_steps: s.maxSteps } : {}),
      seed: s.seed,
      bf16: false,
      fp16: false,
      output_dir: './lima-lora',
    },
    {
      train_on_inputs: 'loss on the response only',
      gradient_checkpointing: checkpointingNote,
      // Axolotl's bf16 default is auto: bf16 where the GPU has it, and it turned fp16 on where it found none
      bf16: 'f32 math, as the browser (true, or auto: bf16 autocast, faster on a GPU)',
      ...(quantized ? { [quantized.bits === 4 ? 'load_in_4bit' : 'load_in_8bit']: quantized.note } : {}),
    },
  );
  const readme = `LIMA playground run recipe
base model: ${baseModel}
dataset: ${d.name} (${d.train.length} training rows, ${d.validation.length} held out), template "${d.template}"

train.jsonl / validation.jsonl: {"prompt", "completion"} rows, the text after the template was applied.
The loss was computed on the completion (and the EOS that ends it) only.
${quantized?.readme ?? ''}trl_sft.yaml: trl sft --config trl_sft.yaml
axolotl.yaml: axolotl train axolotl.yaml
train_peft.py: plain transformers + peft, the same run (data order, LoRA init, loss, optimizer, schedule):
  python train_peft.py                  one GPU (--log steps.jsonl for per-step loss and tokens/s)
  accelerate launch train_peft.py       many GPUs
  python train_peft.py --tokens train_tokens.jsonl   train on the browser's exact token ids
  run.json holds the settings; train_tokens.jsonl / validation_tokens.jsonl the ids and labels the browser trained on.
`;
  return {
    'train.jsonl': toJsonl(tok, d.train),
    'validation.jsonl': toJsonl(tok, d.validation),
    'trl_sft.yaml': trl,
    'axolotl.yaml': axolotl,
    'README.txt': readme,
    'train_peft.py': TRAIN_PEFT_PY,
    'run.json': runJson(baseModel, d, s),
    'train_tokens.jsonl': tokensJsonl(d.train),
    'validation_tokens.jsonl': tokensJsonl(d.validation),
  };
}
