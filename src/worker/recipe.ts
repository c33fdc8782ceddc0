/**
 * The run recipe, for when a user outgrows the browser: the processed dataset
 * as prompt/completion JSONL (exactly the text that was masked and trained,
 * after the template) and configs that train the same LoRA with TRL's
 * `trl sft` (prompt-completion datasets train on the completion only) or
 * Axolotl (`train_on_inputs: false`).
 */
import { Document, isScalar } from 'yaml';
import { IGNORE_INDEX, type TokenizedSample } from '../engine/data';
import type { TextTokenizer } from '../engine/tokenizer';
import type { ResolvedTrainSettings } from './protocol';
import type { PreparedSplit } from './session';

function toJsonl(tok: TextTokenizer, samples: TokenizedSample[]): string {
  return samples
    .map((s) => {
      const first = s.labels.findIndex((l) => l !== IGNORE_INDEX);
      const prompt = tok.decode(s.ids.slice(0, first));
      const completion = tok.decode(s.ids.slice(first));
      return JSON.stringify({ prompt, completion });
    })
    .join('\n') + '\n';
}

/**
 * A YAML file through the `yaml` library, so that no value (a model name with
 * a colon, a quote or a `#`) can break it: `header` becomes the leading
 * comment, `notes` inline comments after the named keys.
 */
function yamlFile(header: string[], values: Record<string, unknown>, notes: Record<string, string>): string {
  const doc = new Document(values, { aliasDuplicateObjects: false });
  doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  for (const [key, note] of Object.entries(notes)) {
    const node = doc.get(key, true);
    if (isScalar(node)) node.comment = ` ${note}`;
  }
  return doc.toString({ lineWidth: 0 });
}

export function buildRecipe(baseModel: string, tok: TextTokenizer, d: PreparedSplit, s: ResolvedTrainSettings): Record<string, string> {
  const optim = s.optimizer === 'adamw' ? 'adamw_torch' : 'sgd';
  const checkpointingNote = `recompute activations in backward (the page's Save memory: ${s.saveMemory})`;
  const trl = yamlFile(
    ['TRL (https://huggingface.co/docs/trl/sft_trainer): trl sft --config trl_sft.yaml', 'Made by the LIMA playground: the same LoRA run as in the browser.'],
    {
      model_name_or_path: baseModel,
      datasets: [{ path: 'json', data_files: { train: 'train.jsonl' }, split: 'train' }],
      eval_strategy: s.evalEvery > 0 ? 'steps' : 'no',
      output_dir: 'lima-lora',
      use_peft: true,
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
    },
    { completion_only_loss: 'prompt/completion rows: loss on the response only', gradient_checkpointing: checkpointingNote },
  );
  const promptCompletion = { field_instruction: 'prompt', field_output: 'completion', format: '{instruction}', no_input_format: '{instruction}' };
  const axolotl = yamlFile(
    ['Axolotl (https://docs.axolotl.ai): axolotl train axolotl.yaml'],
    {
      base_model: baseModel,
      adapter: 'lora',
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
      output_dir: './lima-lora',
    },
    { train_on_inputs: 'loss on the response only', gradient_checkpointing: checkpointingNote },
  );
  const readme = `LIMA playground run recipe
base model: ${baseModel}
dataset: ${d.name} (${d.train.length} training rows, ${d.validation.length} held out), template "${d.template}"

train.jsonl / validation.jsonl: {"prompt", "completion"} rows, the text after the template was applied.
The loss was computed on the completion (and the EOS that ends it) only.
trl_sft.yaml: trl sft --config trl_sft.yaml
axolotl.yaml: axolotl train axolotl.yaml
`;
  return {
    'train.jsonl': toJsonl(tok, d.train),
    'validation.jsonl': toJsonl(tok, d.validation),
    'trl_sft.yaml': trl,
    'axolotl.yaml': axolotl,
    'README.txt': readme,
  };
}
